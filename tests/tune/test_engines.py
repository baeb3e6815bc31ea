"""The same sweep through every real engine gives the same numbers, trial for trial.

joblib's loky processes, a Dask LocalCluster of two worker processes (as a Client and as a
scheduler address), a LocalCluster started by the sweep itself, and Ray: each against the same
sweep run in this process.
"""

import math

import numpy as np
import pytest
from conftest import make_build, trial_numbers

import tinygrad_edu
from tinygrad_edu.tune import TuneWarning, grid_search, make_folds, trial_seed
from tinygrad_edu.tune.engines import run_trials
from tinygrad_edu.tune.trial import FitOptions, Trial

GRID = {"lr": [0.01, 0.3, 3.0], "momentum": [0.0, 0.9]}


def sweep(build, X, y, **kwargs):
    options = {"k": 3, "epochs": 3, "seed": 11, "progress": False, "preprocess": "standardize"}
    return grid_search(build, GRID, X, y, **{**options, **kwargs})


@pytest.fixture
def reference(mlp_build, blobs):
    return trial_numbers(sweep(mlp_build, *blobs, backend="sequential"))


def test_the_order_the_trials_run_in_changes_no_number(mlp_build, blobs):
    X, y = blobs
    trials = [
        Trial(i, i // 2, {"lr": lr}, i % 2, trial_seed(3, i), train, val)
        for i, (lr, (train, val)) in enumerate(
            (lr, fold) for lr in (0.03, 0.3) for fold in make_folds(y, 2, 3)
        )
    ]
    options = FitOptions(epochs=2)

    def run(order):
        results = run_trials(order, X, y, mlp_build, options, np.float32, backend="sequential")
        return sorted(
            ((r.index, r.val_loss, tuple(r.history.losses)) for r in results), key=lambda r: r[0]
        )

    assert run(trials) == run(trials[::-1]) == run(trials[1::2] + trials[::2])


def test_threads_give_the_sequential_numbers(mlp_build, blobs, reference):
    assert trial_numbers(sweep(mlp_build, *blobs, backend="threads", n_jobs=2)) == reference


def test_joblib_processes_give_the_sequential_numbers(mlp_build, blobs, reference):
    result = sweep(mlp_build, *blobs, backend="processes", n_jobs=2)
    assert result.backend == "processes"
    assert trial_numbers(result) == reference
    assert len(reference) == 18 and all(r[2] == "ok" for r in reference)


def test_worker_processes_train_in_the_callers_default_dtype(mlp_build, blobs):
    tinygrad_edu.set_default_dtype(np.float64)  # the conftest fixture restores float32
    in_process = sweep(mlp_build, *blobs, backend="sequential")
    in_workers = sweep(mlp_build, *blobs, backend="processes", n_jobs=2)
    assert trial_numbers(in_workers) == trial_numbers(in_process)
    tinygrad_edu.set_default_dtype(np.float32)
    assert trial_numbers(sweep(mlp_build, *blobs, backend="sequential")) != trial_numbers(
        in_process
    )


def test_a_trial_failing_in_a_worker_process_is_recorded(blobs):
    good = make_build()

    def build(lr, rng, momentum=0.0):
        if lr > 1:
            raise ValueError("rate too large for this test")
        return good(lr, rng, momentum)

    result = sweep(build, *blobs, backend="processes", n_jobs=2)
    failed = [t for t in result.trials if t.status == "failed"]
    assert len(failed) == 6 and {t.params["lr"] for t in failed} == {3.0}
    assert all("ValueError: rate too large for this test" in t.error for t in failed)
    assert all(math.isfinite(t.val_loss) for t in result.trials if t.params["lr"] < 1)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_sequential_numbers(mlp_build, blobs, reference):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        with distributed.Client(cluster) as client:
            result = sweep(mlp_build, *blobs, backend="dask", client=client)
            assert trial_numbers(result) == reference
            # the client is the caller's: the sweep leaves it open
            assert client.status == "running"
        by_address = sweep(mlp_build, *blobs, backend="dask", client=cluster.scheduler_address)
        assert trial_numbers(by_address) == reference
    finally:
        cluster.close()


@pytest.mark.slow
def test_dask_without_a_client_starts_and_closes_its_own_cluster(mlp_build, blobs, reference):
    pytest.importorskip("distributed")
    result = sweep(mlp_build, *blobs, backend="dask", n_jobs=2)
    assert trial_numbers(result) == reference


@pytest.mark.slow
def test_ray_gives_the_sequential_numbers(mlp_build, blobs, reference):
    try:
        import ray
    except ImportError:
        pytest.skip(
            "Ray is not installed here (pip install 'tinygrad_edu[ray]'); the Ray engine is "
            "then untested"
        )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = sweep(mlp_build, *blobs, backend="ray")
        assert trial_numbers(result) == reference
        assert ray.is_initialized()  # the caller's Ray stays up
    finally:
        ray.shutdown()


def test_a_worker_process_that_dies_loses_its_trials_not_the_finished_ones(blobs):
    good = make_build()

    def build(lr, rng, momentum=0.0):
        model, loss_fn, optimizer = good(lr, rng, momentum)
        if lr > 1:

            def crash(x):
                import os

                os._exit(3)  # the worker process dies in the middle of its trial

            return crash, loss_fn, optimizer
        return model, loss_fn, optimizer

    with pytest.warns(TuneWarning, match="'processes' engine stopped after .* trials"):
        result = sweep(build, *blobs, backend="processes", n_jobs=2)
    assert len(result.trials) == 18  # every trial is accounted for
    lost = [t for t in result.trials if t.status == "failed"]
    assert {t.params["lr"] for t in lost} >= {3.0}
    assert all("the engine lost the trial" in t.error for t in lost)
    assert all(t.ok for t in result.trials if t not in lost)
