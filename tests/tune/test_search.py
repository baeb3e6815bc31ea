"""grid_search and cross_validate in this process: what a trial computes, failures, results."""

import json
import math
import threading
import warnings

import numpy as np
import pytest
from conftest import make_build, trial_numbers

from tinygrad_edu.data import DataLoader, Standardizer, Whitener
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import Linear
from tinygrad_edu.nn.init import as_generator
from tinygrad_edu.optim import SGD
from tinygrad_edu.train import accuracy, fit
from tinygrad_edu.tune import (
    SearchResult,
    TuneWarning,
    cross_validate,
    grid_search,
    make_folds,
    trial_seed,
)


def sweep(build, X, y, grid=None, **kwargs):
    options = {"k": 3, "epochs": 4, "backend": "sequential", "progress": False, **kwargs}
    grid = {"lr": [0.01, 0.3]} if grid is None else grid
    return grid_search(build, grid, X, y, **options)


# ----------------------------------------------------------------------------- what a trial is


def test_a_trial_is_fit_on_the_training_folds_measured_on_the_held_out_one(build, blobs):
    X, y = blobs
    result = cross_validate(
        lambda rng: build(0.3, rng), X, y, k=3, seed=5, epochs=3, batch_size=16
    )
    assert [t.index for t in result.trials] == [0, 1, 2]
    for i, (train, val) in enumerate(make_folds(y, 3, 5)):
        rng = as_generator(trial_seed(5, i))
        model, loss_fn, optimizer = build(0.3, rng)
        loader = DataLoader(X[train], y[train], 16, rng=rng)
        history = fit(model, loss_fn, optimizer, loader, 3, val_data=(X[val], y[val]),
                      progress=False)  # fmt: skip
        trial = result.trials[i]
        assert trial.seed == trial_seed(5, i)
        assert trial.val_loss == history.epochs[-1]["val_loss"]
        assert trial.val_accuracy == accuracy(model, X[val], y[val])
        assert trial.history.losses == history.losses
    row = result.table[0]
    losses = [t.val_loss for t in result.trials]
    assert row["val_loss"] == losses
    assert row["mean_val_loss"] == pytest.approx(np.mean(losses), rel=1e-12)
    assert row["std_val_loss"] == pytest.approx(np.std(losses), rel=1e-12)


@pytest.mark.parametrize(
    "preprocess, fresh",
    [
        ("standardize", Standardizer),
        ("whiten", Whitener),
        (Whitener("zca"), lambda: Whitener("zca")),
    ],
    ids=["standardize", "whiten", "a Whitener"],
)
def test_the_preprocessing_sees_the_training_folds_only(blobs, preprocess, fresh):
    X, y = blobs
    seen = {"train": [], "eval": []}

    def build(rng):
        layer = Linear(2, 3, rng=rng)

        def model(x):
            seen["train" if layer.training else "eval"].append(np.array(x.data))
            return layer(x)

        model.train, model.eval, model.training = layer.train, layer.eval, True
        return model, cross_entropy, SGD(layer.parameters(), lr=0.1)

    cross_validate(
        build, X, y, k=3, epochs=1, batch_size=None, shuffle=False, preprocess=preprocess
    )
    folds = make_folds(y, 3, 0)
    # fit also tries the model on two validation samples before training: keep whole folds
    evals = [x for x in seen["eval"] if len(x) in {len(val) for _, val in folds}]
    for f, (train, val) in enumerate(folds):
        scaler = fresh().fit(X[train])
        np.testing.assert_allclose(seen["train"][f], scaler.transform(X[train]), rtol=1e-6)
        # the validation fold is scaled with the training fold's statistics, not its own
        np.testing.assert_allclose(evals[f], scaler.transform(X[val]), rtol=1e-6)
        assert abs(evals[f].mean(axis=0)).max() > 1e-3


def test_same_seed_same_numbers_another_seed_other_numbers(build, blobs):
    X, y = blobs
    a, b = sweep(build, X, y, seed=1), sweep(build, X, y, seed=1)
    assert trial_numbers(a) == trial_numbers(b)
    assert trial_numbers(a) != trial_numbers(sweep(build, X, y, seed=2))


# ----------------------------------------------------------------------------- the best setting


def test_best_params_have_the_lowest_mean_validation_loss(build, blobs):
    X, y = blobs
    result = sweep(build, X, y, grid={"lr": [1e-4, 0.03, 0.3], "momentum": [0.0, 0.9]})
    means = [row["mean_val_loss"] for row in result.table]
    assert len(means) == 6
    assert result.best_index == int(np.argmin(means))
    assert result.best_params == result.settings[int(np.argmin(means))]
    assert result.best_score == min(means)
    by_accuracy = sweep(build, X, y, grid={"lr": [1e-4, 0.03, 0.3]}, score="val_accuracy")
    accs = [row["mean_val_accuracy"] for row in by_accuracy.table]
    assert by_accuracy.best_index == int(np.argmax(accs))


def test_refit_trains_the_best_setting_on_all_the_data(build, blobs):
    X, y = blobs
    result = sweep(build, X, y, grid={"lr": [1e-4, 0.3]}, refit=True, preprocess="standardize")
    assert result.best_params == {"lr": 0.3}
    assert len(result.best_history.epochs) == 4
    assert len(result.best_history.losses) == 4 * math.ceil(60 / 32)
    np.testing.assert_allclose(result.preprocessor.transform(X).mean(axis=0), 0, atol=1e-5)
    assert accuracy(result.best_model, result.preprocessor.transform(X), y) > 0.8
    assert sweep(build, X, y).best_model is None


# ----------------------------------------------------------------------------- failures


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(blobs):
    X, y = blobs
    good = make_build()

    def build(lr, rng):
        if lr > 1:
            raise RuntimeError(f"no such rate {lr}")
        return good(lr, rng)

    result = sweep(build, X, y, grid={"lr": [0.3, 5.0]})
    assert len(result.trials) == 6
    failed = [t for t in result.trials if t.setting == 1]
    assert all(t.status == "failed" and "RuntimeError: no such rate 5.0" in t.error
               for t in failed)  # fmt: skip
    assert all(math.isnan(t.val_loss) for t in failed)
    assert result.table[1]["failed"] == 3 and not result.table[1]["complete"]
    assert result.table[1]["val_loss"] == [None, None, None]
    assert result.best_params == {"lr": 0.3}
    assert len(result.errors()) == 3


def test_a_nan_loss_is_a_diverged_trial_with_fits_reason(blobs):
    X, y = blobs
    good = make_build()

    def build(lr, rng, poison=False):
        model, loss_fn, optimizer = good(lr, rng)
        if poison:
            return model, (lambda out, target: loss_fn(out, target) * math.nan), optimizer
        return model, loss_fn, optimizer

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a diverged trial warns nothing: it is in the result
        result = sweep(build, X, y, grid={"lr": [0.1], "poison": [False, True]})
    poisoned = [t for t in result.trials if t.params["poison"]]
    assert [t.status for t in poisoned] == ["diverged"] * 3
    assert all("loss became nan at epoch 1, step 1" in t.error for t in poisoned)
    assert result.best_params == {"lr": 0.1, "poison": False}


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_no_setting_without_failure_means_no_best(blobs):
    X, y = blobs
    good = make_build()

    def build(lr, rng):
        model, _, optimizer = good(lr, rng)
        return model, (lambda out, target: (out * math.inf).sum()), optimizer

    result = sweep(build, X, y, grid={"lr": [0.1]})
    with pytest.raises(InvalidArgumentError, match="no setting .* there is no best one"):
        result.best_params  # noqa: B018
    assert "lr=0.1" in result.format_table()


def test_ctrl_c_returns_the_trials_that_finished(blobs):
    X, y = blobs
    good = make_build()
    calls = []

    def build(lr, rng):
        calls.append(lr)
        if len(calls) == 4:  # the dry run, then trials 0 and 1, then Ctrl-C in trial 2
            raise KeyboardInterrupt
        return good(lr, rng)

    result = sweep(build, X, y, grid={"lr": [0.1, 0.3]})
    assert result.interrupted
    assert [t.index for t in result.trials] == [0, 1]
    assert result.table[0]["folds_done"] == 2 and not result.table[0]["complete"]
    assert result.best_params == {"lr": 0.1}  # the best among what finished


# ----------------------------------------------------------------------------- bad input first


def counting(build):
    calls = []

    def counted(**params):
        calls.append(params)
        return build(**params)

    return counted, calls


@pytest.mark.parametrize(
    "returned, words",
    [
        (lambda m, o: m, ["must return a tuple (model, loss_fn, optimizer)", "got MLP"]),
        (lambda m, o: (m, o), ["got a tuple of 2"]),
        (lambda m, o: (m, cross_entropy, "sgd"), ["optimizer of type str", "step()"]),
        (lambda m, o: (m, "mse", o), ["loss_fn of type str"]),
        (lambda m, o: (None, cross_entropy, o), ["model of type NoneType"]),
    ],
)
def test_a_build_returning_the_wrong_thing_fails_before_any_trial(blobs, returned, words):
    X, y = blobs
    good = make_build()

    def wrong(lr, rng):
        model, _, optimizer = good(lr, rng)
        return returned(model, optimizer)

    build, calls = counting(wrong)
    with pytest.raises(InvalidArgumentError) as info:
        sweep(build, X, y)
    assert "build(**{'lr': 0.01})" in str(info.value)
    for word in words:
        assert word in str(info.value)
    assert len(calls) == 1  # only the check; no trial ran


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"grid": {}}, "empty"),
        ({"grid": {"lr": 0.1}}, "must be a list"),
        ({"k": 30}, "class 0 has only 20; use k <= 20"),
        ({"k": 1}, "k .* must be an int >= 2"),
        ({"epochs": 0}, "epochs must be a positive int"),
        ({"batch_size": 0}, "batch_size must be a positive int or None"),
        ({"preprocess": "normalise"}, "preprocess must be None, one of"),
        ({"epoch": 3}, "unknown keyword argument.* epoch; .* takes batch_size, epochs"),
        ({"backend": "spark"}, "unknown backend 'spark'"),
        ({"backend": "processes", "client": object()}, "client= is for backend='dask'"),
        ({"backend": "dask", "client": object()}, "must be a distributed.Client"),
        ({"score": "loss"}, "score must be one of"),
        ({"seed": -1}, "seed must be a non-negative int"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"stratify": "yes"}, "stratify must be True, False or None"),
    ],
)
def test_bad_input_is_refused_before_any_trial(build, blobs, kwargs, match):
    X, y = blobs
    counted, calls = counting(build)
    grid = kwargs.pop("grid", {"lr": [0.1]})
    with pytest.raises(InvalidArgumentError, match=match):
        sweep(counted, X, y, grid=grid, **kwargs)
    assert calls == []


def test_a_build_that_cannot_reach_worker_processes_is_refused(blobs):
    X, y = blobs
    good = make_build()
    lock = threading.Lock()

    def build(lr, rng):
        with lock:
            return good(lr, rng)

    with pytest.raises(InvalidArgumentError, match="cannot be sent to worker processes"):
        sweep(build, X, y, backend="processes")
    assert len(sweep(build, X, y, backend="threads").trials) == 6  # threads share the lock


def test_mismatched_data_is_refused(build):
    with pytest.raises(ValueError, match="same number of samples"):
        sweep(build, np.zeros((5, 2)), np.zeros(4, dtype=int))


def test_a_build_without_rng_is_warned_about(blobs):
    X, y = blobs
    good = make_build()
    with pytest.warns(TuneWarning, match="no rng= argument"):
        sweep(lambda lr: good(lr, 0), X, y, grid={"lr": [0.1]})


# ----------------------------------------------------------------------------- files and text


def test_json_round_trip_keeps_table_best_and_histories(build, blobs, tmp_path):
    X, y = blobs
    result = sweep(build, X, y, grid={"lr": [0.3, 50.0]})
    path = tmp_path / "sweep.json"
    result.save(path)
    data = json.loads(path.read_text())
    assert data["best_index"] == result.best_index
    assert data["fit_options"] == {"epochs": 4, "batch_size": 32, "shuffle": True,
                                   "preprocess": None}  # fmt: skip
    loaded = SearchResult.load(path)
    assert trial_numbers(loaded) == trial_numbers(result)
    assert loaded.table == result.table
    assert loaded.best_params == result.best_params
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.json"]  # no temporary file left


def test_the_text_table_has_a_row_per_setting_and_marks_the_best(build, blobs):
    X, y = blobs
    text = str(sweep(build, X, y, grid={"lr": [1e-4, 0.3]}))
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[3].startswith("| * | lr=0.3 |") and lines[2].startswith("|  | lr=0.0001 |")


def test_the_progress_bar_counts_trials_and_shows_the_best_score(build, blobs, capsys):
    X, y = blobs
    result = sweep(build, X, y, grid={"lr": [1e-4, 0.3]}, progress=True)
    err = capsys.readouterr().err
    assert "grid_search" in err and "6/6" in err
    best_trial = min(t.val_loss for t in result.trials)
    assert f"best val_loss={best_trial:.4g}" in err


def test_regression_targets_have_no_accuracy_and_plain_folds():
    from tinygrad_edu.losses import mse_loss
    from tinygrad_edu.nn import Linear

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2)).astype(np.float32)
    y = (X @ np.array([[2.0], [-1.0]], dtype=np.float32)).astype(np.float32)

    def build(lr, rng):
        model = Linear(2, 1, rng=rng)
        return model, mse_loss, SGD(model.parameters(), lr=lr)

    result = sweep(build, X, y, grid={"lr": [1e-3, 0.1]}, epochs=20)
    assert [row["mean_val_accuracy"] for row in result.table] == [None, None]
    assert result.best_params == {"lr": 0.1}
    assert result.table[1]["mean_val_loss"] < 0.1 * result.table[0]["mean_val_loss"]
