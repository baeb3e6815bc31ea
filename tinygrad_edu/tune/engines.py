"""The engines that run a sweep's trials, each yielding results as the trials finish.

* ``"sequential"``: one after another in this process (no extra dependency; for debugging and
  as the baseline of the benchmark).
* ``"threads"``: joblib's thread pool. Threads share one interpreter, so only the numpy calls
  run in parallel: worth it for tiny trials, where starting processes would cost more.
* ``"processes"`` (the default of :func:`~tinygrad_edu.tune.grid_search`): joblib's ``loky``
  worker processes on this machine (``pip install 'tinygrad_edu[tune]'``).
* ``"dask"``: a Dask ``distributed.Client``, given as ``client=`` (connected to a
  ``LocalCluster`` or to a real scheduler), or a scheduler address such as
  ``"tcp://10.0.0.1:8786"``; without one, a ``LocalCluster`` is started for the sweep and closed
  after it (``pip install 'tinygrad_edu[dask]'``).
* ``"ray"``: Ray tasks, on the Ray instance already initialised, on the cluster at the address
  given as ``client=``, or on a local Ray started for the sweep and shut down after it
  (``pip install 'tinygrad_edu[ray]'``; the test suite runs it when Ray is installed, as the
  dev extra does).

Every engine runs the same :func:`~tinygrad_edu.tune.trial.run_trial` on the same arguments, so
the numbers do not depend on the engine. Closing the iterator (or Ctrl-C while it waits)
cancels the trials that have not finished and releases what the engine started.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from .trial import FitOptions, Trial, TrialResult, run_trial

__all__ = ["BACKENDS", "check_backend", "lost_trial", "run_trials"]

BACKENDS = ("sequential", "threads", "processes", "dask", "ray")
_EXTRA = {"threads": "tune", "processes": "tune", "dask": "dask", "ray": "ray"}
_MODULE = {"threads": "joblib", "processes": "joblib", "dask": "distributed", "ray": "ray"}


def _import(backend: str, op: str) -> Any:
    name = _MODULE[backend]
    try:
        return __import__(name)
    except ImportError:
        raise ImportError(
            f"{op}: backend={backend!r} needs {name}, which is not installed; install it with "
            f"pip install 'tinygrad_edu[{_EXTRA[backend]}]' (or pip install {name})"
        ) from None


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError:  # joblib carries its own copy
        from joblib.externals import cloudpickle
    return cloudpickle


def check_backend(
    backend: Any, client: Any, n_jobs: Any, payload: Any, op: str
) -> None:
    """Everything about the engine that can be checked before a trial starts.

    The backend's name, its package being installed, ``client`` fitting the backend,
    ``n_jobs``, and (for engines in other processes) that ``payload``, what every task
    carries (build and the grid's values), can be sent there.
    """
    if backend not in BACKENDS:
        raise InvalidArgumentError(
            f"{op}: unknown backend {backend!r}; choose one of {', '.join(map(repr, BACKENDS))}"
        )
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0
        or n_jobs < -1
    ):
        raise InvalidArgumentError(
            f"{op}: n_jobs must be a positive int, -1 (every core) or None; got {n_jobs!r}"
        )
    if client is not None and backend not in ("dask", "ray"):
        raise InvalidArgumentError(
            f"{op}: client= is for backend='dask' or 'ray'; got backend={backend!r}. Pass "
            "backend='dask' with a distributed.Client, or leave client out"
        )
    if backend == "sequential":
        return
    module = _import(backend, op)
    if backend == "dask" and client is not None and not isinstance(client, str):
        if not isinstance(client, module.Client):
            raise InvalidArgumentError(
                f"{op}: client must be a distributed.Client or a scheduler address such as "
                f"'tcp://127.0.0.1:8786'; got {type(client).__name__}"
            )
    if backend == "ray" and client is not None and not isinstance(client, str):
        raise InvalidArgumentError(
            f"{op}: for backend='ray', client is the address of a Ray cluster (a string such "
            f"as 'auto' or 'ray://host:10001'); got {type(client).__name__}"
        )
    if backend in ("processes", "dask", "ray"):
        try:
            _cloudpickle().dumps(payload)
        except Exception as exc:
            raise InvalidArgumentError(
                f"{op}: build or a value of the grid cannot be sent to worker processes "
                f"({type(exc).__name__}: {exc}); keep open files, locks and the like out of "
                "them, or use backend='threads' or 'sequential'"
            ) from None


def lost_trial(trial: Trial, exc: BaseException) -> TrialResult:
    """The result of a trial whose task itself failed (a worker died, a lost connection)."""
    return TrialResult(
        trial.index, trial.setting, trial.params, trial.fold, trial.seed, "failed",
        error=f"the engine lost the trial: {type(exc).__name__}: {exc}",
    )  # fmt: skip


def _joblib(
    trials: Sequence[Trial], args: tuple[Any, ...], backend: str, n_jobs: int | None
) -> Iterator[TrialResult]:
    from joblib import Parallel, delayed

    parallel = Parallel(
        n_jobs=-1 if n_jobs is None else n_jobs,
        backend="loky" if backend == "processes" else "threading",
        return_as="generator_unordered",
    )
    results = parallel(delayed(run_trial)(trial, *args) for trial in trials)
    try:
        yield from results
    finally:
        results.close()  # joblib aborts the trials not yet finished


def _dask(
    trials: Sequence[Trial], args: tuple[Any, ...], client: Any, n_jobs: int | None
) -> Iterator[TrialResult]:
    from distributed import Client, LocalCluster, as_completed

    owned: list[Any] = []
    if client is None:
        workers = (os.cpu_count() or 1) if n_jobs in (None, -1) else int(n_jobs)
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
        owned += [client, cluster]
    elif isinstance(client, str):
        client = Client(client)
        owned.append(client)
    futures: dict[Any, Trial] = {}
    try:
        X, y, *rest = args
        # the data travels to every worker once, not once per trial
        X_f, y_f = client.scatter([X, y], broadcast=True)
        for trial in trials:
            future = client.submit(run_trial, trial, X_f, y_f, *rest, pure=False)
            futures[future] = trial
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:
                yield lost_trial(futures[future], exc)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        for thing in owned:
            thing.close()


def _ray(
    trials: Sequence[Trial], args: tuple[Any, ...], address: str | None, n_jobs: int | None
) -> Iterator[TrialResult]:
    import ray

    started = False
    if not ray.is_initialized():
        cpus = None if n_jobs in (None, -1) or address is not None else int(n_jobs)
        ray.init(
            address=address, num_cpus=cpus, include_dashboard=False, log_to_driver=False,
            configure_logging=False,
        )  # fmt: skip
        started = True
    pending: list[Any] = []
    try:
        remote = ray.remote(num_cpus=1)(run_trial)
        X, y, *rest = args
        X_ref, y_ref = ray.put(X), ray.put(y)
        refs = {remote.remote(trial, X_ref, y_ref, *rest): trial for trial in trials}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield ray.get(ref)
                except Exception as exc:
                    yield lost_trial(refs[ref], exc)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started:
            ray.shutdown()


def run_trials(
    trials: Sequence[Trial],
    X: np.ndarray,
    y: np.ndarray,
    build: Any,
    options: FitOptions,
    dtype: Any,
    backend: str = "processes",
    client: Any = None,
    n_jobs: int | None = None,
) -> Iterator[TrialResult]:
    """Run every trial on ``backend``; yield each :class:`TrialResult` as soon as it is done.

    The order of the results is the order the trials finish in (sort by ``index`` for the
    order of the grid). Call :func:`check_backend` first: this function assumes valid input.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.losses import cross_entropy
        >>> from tinygrad_edu.nn import Linear
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.tune.engines import run_trials
        >>> from tinygrad_edu.tune.trial import FitOptions, Trial
        >>> def build(lr, rng):
        ...     model = Linear(1, 2, rng=rng)
        ...     return model, cross_entropy, SGD(model.parameters(), lr=lr)
        >>> X, y = np.array([[-1.0], [-2.0], [1.0], [2.0]]), np.array([0, 0, 1, 1])
        >>> trial = Trial(0, 0, {"lr": 0.5}, 0, 7, np.array([0, 2]), np.array([1, 3]))
        >>> [r.status for r in run_trials([trial], X, y, build, FitOptions(epochs=3),
        ...                               np.float32, backend="sequential")]
        ['ok']
    """
    args = (X, y, build, options, dtype)
    if backend == "sequential":
        return (run_trial(trial, *args) for trial in trials)
    if backend in ("threads", "processes"):
        return _joblib(trials, args, backend, n_jobs)
    if backend == "dask":
        return _dask(trials, args, client, n_jobs)
    return _ray(trials, args, client, n_jobs)
