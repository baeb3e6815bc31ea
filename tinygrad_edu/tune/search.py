"""Cross-validation and grid search: many small trainings, scheduled by a real engine.

The course notes choose the learning rate "using cross validation": for each candidate setting,
train on k - 1 folds of the training data and measure the loss on the fold left out, k times,
and keep the setting whose mean validation loss is lowest. Every (setting, fold) pair is one
independent trial, seeded from the sweep's seed and the trial's index, so a sweep gives the same
numbers on one core, on two worker processes, or on a Dask or Ray cluster, in whatever order the
trials finish.

Everything is checked before the first trial starts: the grid, the data, k against the number
of samples per class, the training options, the engine, and one call of ``build`` (that it
returns ``(model, loss_fn, optimizer)``).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Any

from tqdm.auto import tqdm

from ..data.loader import paired_samples
from ..errors import InvalidArgumentError
from ..nn.init import as_generator
from ..tensor import get_default_dtype
from .engines import check_backend, lost_trial, run_trials
from .folds import make_folds
from .grid import expand_grid
from .results import SCORES, SearchResult
from .trial import FitOptions, Trial, TrialResult, call_build, takes_rng, train_on, trial_seed

__all__ = ["TuneWarning", "cross_validate", "grid_search"]


class TuneWarning(UserWarning):
    """Something about a sweep worth telling that does not stop it (trials not reproducible)."""


def _check_seed(seed: Any, op: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgumentError(f"{op}: seed must be a non-negative int; got {seed!r}")
    return seed


def _check_build(build: Any, first: dict[str, Any], seed: int, op: str) -> None:
    """``build`` is callable and returns (model, loss_fn, optimizer) for the first setting."""
    if not callable(build):
        raise InvalidArgumentError(
            f"{op}: build must be a function build(**params) returning (model, loss_fn, "
            f"optimizer); got {type(build).__name__}"
        )
    if not takes_rng(build):
        warnings.warn(
            f"{op}: build takes no rng= argument, so the trials' initial weights come from "
            "wherever build gets them; give build an rng parameter and pass it to the model "
            "(MLP(..., rng=rng)) to make every trial reproducible",
            TuneWarning,
            stacklevel=4,  # the caller of grid_search or cross_validate
        )
    call_build(build, first, as_generator(seed), op)  # raises a clear error for a wrong return


def _bar_text(best: float, score: str, failed: int) -> dict[str, str]:
    shown = {f"best {score}": "–" if math.isnan(best) else f"{best:.4g}"}
    if failed:
        shown["failed"] = str(failed)
    return shown


def _sweep(
    op: str,
    build: Any,
    settings: list[dict[str, Any]],
    X: Any,
    y: Any,
    k: int,
    backend: str,
    client: Any,
    seed: int,
    n_jobs: int | None,
    score: str,
    refit: bool,
    progress: bool,
    stratify: bool | None,
    fit_kwargs: dict[str, Any],
) -> SearchResult:
    # ---- validate everything before any trial starts
    X, y = paired_samples(X, y, op)
    if len(X) == 0:
        raise InvalidArgumentError(f"{op}: X and y hold no samples")
    seed = _check_seed(seed, op)
    if score not in SCORES:
        raise InvalidArgumentError(
            f"{op}: score must be one of {', '.join(map(repr, SCORES))}; got {score!r}"
        )
    options = FitOptions.from_kwargs(fit_kwargs, op)
    folds = make_folds(y, k, seed, stratify, op)
    check_backend(backend, client, n_jobs, (build, settings, options), op)
    _check_build(build, settings[0], seed, op)

    trials: list[Trial] = []
    for s, params in enumerate(settings):  # settings outer, folds inner: the trial index
        for f, (train_idx, val_idx) in enumerate(folds):
            i = len(trials)
            trials.append(Trial(i, s, params, f, trial_seed(seed, i), train_idx, val_idx))
    result = SearchResult(
        settings, [], k=int(k), seed=seed, score=score, backend=backend,
        fit_options=options.describe(),
    )  # fmt: skip

    # ---- run, streaming the results back as the trials finish
    start = time.perf_counter()
    higher = SCORES[score]
    best, failed = math.nan, 0
    finished: list[TrialResult] = []
    bar = tqdm(total=len(trials), desc=op, unit="trial", disable=not progress, dynamic_ncols=True)
    stream = run_trials(
        trials, X, y, build, options, get_default_dtype(), backend, client, n_jobs
    )
    try:
        for trial in stream:
            finished.append(trial)
            value = trial.val_loss if score == "val_loss" else trial.val_accuracy
            if not trial.ok:
                failed += 1
            elif value is not None and (
                math.isnan(best) or (value > best if higher else value < best)
            ):
                best = value
            bar.set_postfix(_bar_text(best, score, failed), refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        result.interrupted = True
        print(
            f"\n{op}: interrupted; returning the {len(finished)} of {len(trials)} trials that "
            "finished",
            file=sys.stderr,
        )
    except Exception as exc:
        # The engine itself broke (a worker process died, so joblib stops the whole batch):
        # keep what finished, and record every other trial as lost with the engine's error.
        done = {t.index for t in finished}
        finished += [lost_trial(t, exc) for t in trials if t.index not in done]
        warnings.warn(
            f"{op}: the {backend!r} engine stopped after {len(done)} of {len(trials)} trials "
            f"({type(exc).__name__}: {exc}); the others are recorded as failed",
            TuneWarning,
            stacklevel=3,
        )
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        bar.close()
    result.trials = sorted(finished, key=lambda t: t.index)
    result.elapsed = time.perf_counter() - start

    if refit and not result.interrupted:
        _refit(result, build, X, y, options)
    return result


def _refit(
    result: SearchResult, build: Any, X: Any, y: Any, options: FitOptions
) -> None:
    """Train the best setting on all the data; its seed follows the trials' seeds."""
    params = result.best_params
    rng = as_generator(trial_seed(result.seed, len(result.settings) * result.k))
    preprocessor = options.make_preprocessor()
    X_all = X if preprocessor is None else preprocessor.fit_transform(X)
    model, history = train_on(build, params, X_all, y, options, rng, op="refit")
    result.best_model, result.best_history, result.preprocessor = model, history, preprocessor


def grid_search(
    build: Any,
    grid: Any,
    X: Any,
    y: Any,
    k: int = 5,
    backend: str = "processes",
    client: Any = None,
    seed: int = 0,
    n_jobs: int | None = None,
    score: str = "val_loss",
    refit: bool = False,
    progress: bool = True,
    stratify: bool | None = None,
    **fit_kwargs: Any,
) -> SearchResult:
    """Cross-validate every setting of ``grid``; return the trials, the table and the best.

    Each (setting, fold) pair is one trial: the preprocessing (if any) is fitted on the
    training folds only, ``build(**setting, rng=generator)`` makes a fresh model, loss and
    optimiser, :func:`~tinygrad_edu.train.fit` trains it, and the held-out fold gives the
    validation loss and accuracy after the last epoch. A trial that fails (an exception, a
    loss that becomes NaN) is recorded with its error and the sweep goes on; Ctrl-C stops it
    and returns the trials that finished (``result.interrupted`` is then True).

    Args:
        build: ``build(**params)`` returns ``(model, loss_fn, optimizer)``. Give it an ``rng``
            parameter and pass it to the model (``MLP(sizes, rng=rng)``): the sweep passes each
            trial's own Generator, which also shuffles the trial's mini-batches.
        grid: a dict of lists ``{"lr": [0.01, 0.1]}`` (every combination) or a list of them.
        X: inputs, one sample per row.
        y: targets; integer class labels make stratified folds.
        k: the number of folds (>= 2, and at most the samples of the smallest class).
        backend: "processes" (joblib loky workers, the default), "threads", "dask", "ray", or
            "sequential" (in this process).
        client: for "dask", a ``distributed.Client`` or a scheduler address (None starts a
            LocalCluster for the sweep); for "ray", a cluster address (None: the running or a
            new local Ray).
        seed: the folds and every trial's seed derive from it.
        n_jobs: workers for "processes"/"threads" (None or -1: every core), the size of the
            LocalCluster or local Ray started when no client is given.
        score: "val_loss" (the lowest mean wins) or "val_accuracy" (the highest wins).
        refit: train the best setting again on all of X, y: ``result.best_model`` (and
            ``result.preprocessor`` for new inputs); not after an interrupted sweep.
        progress: a tqdm bar over the trials, with the best score so far.
        stratify: stratified folds; None: exactly when ``y`` holds integer class labels.
        **fit_kwargs: how each trial trains: ``epochs`` (10), ``batch_size`` (32; None for
            the whole training fold), ``shuffle`` (True), ``preprocess`` (None,
            "standardize", "whiten", or an unfitted Standardizer or Whitener).

    Worker processes receive ``build`` pickled by cloudpickle: a function of your script or
    notebook is sent by value, one of an installed module by reference (the workers must be
    able to import it). A script whose sweep starts a Dask LocalCluster must guard its top
    level with ``if __name__ == "__main__":``, as Python's "spawn" start method requires;
    joblib's loky workers and Ray need no such guard.

    Returns:
        A :class:`~tinygrad_edu.tune.SearchResult`.

    Raises:
        InvalidArgumentError: bad input, found before any trial starts: an empty grid or a
            value that is not a list, k larger than a class, a build that does not return
            ``(model, loss_fn, optimizer)``, an unknown backend or option, ...
        ImportError: the backend's package is not installed (the message names the extra).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import make_blobs
        >>> from tinygrad_edu.losses import cross_entropy
        >>> from tinygrad_edu.nn import Linear
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.tune import grid_search
        >>> def build(lr, rng):
        ...     model = Linear(2, 3, rng=rng)
        ...     return model, cross_entropy, SGD(model.parameters(), lr=lr)
        >>> X, y = make_blobs(n_samples=60, centers=3, rng=0)
        >>> result = grid_search(build, {"lr": [1e-4, 0.5]}, X, y, k=3, epochs=5,
        ...                      backend="sequential", progress=False)
        >>> result.best_params
        {'lr': 0.5}
    """
    op = "grid_search"
    settings = expand_grid(grid, op)
    return _sweep(
        op, build, settings, X, y, k, backend, client, seed, n_jobs, score, refit, progress,
        stratify, fit_kwargs,
    )  # fmt: skip


def cross_validate(
    build: Any,
    X: Any,
    y: Any,
    k: int = 5,
    *,
    backend: str = "sequential",
    client: Any = None,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool = False,
    stratify: bool | None = None,
    **fit_kwargs: Any,
) -> SearchResult:
    """k-fold cross-validation of one model: ``build()`` trained k times, each fold held out once.

    The same trials as one setting of :func:`grid_search` (``build`` takes no hyperparameters
    but may take ``rng``), run in this process by default: ``result.table[0]`` holds the mean
    and spread of the validation loss and accuracy and their per-fold values.

    Args:
        build: ``build()`` (or ``build(rng)``) returns ``(model, loss_fn, optimizer)``.
        X, y, k, backend, client, seed, n_jobs, progress, stratify: as for
            :func:`grid_search` (here the default backend is "sequential").
        **fit_kwargs: ``epochs``, ``batch_size``, ``shuffle``, ``preprocess``, as for
            :func:`grid_search`.

    Example:
        >>> from tinygrad_edu.data import make_blobs
        >>> from tinygrad_edu.losses import cross_entropy
        >>> from tinygrad_edu.nn import Linear
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.tune import cross_validate
        >>> def build(rng):
        ...     model = Linear(2, 3, rng=rng)
        ...     return model, cross_entropy, SGD(model.parameters(), lr=0.5)
        >>> X, y = make_blobs(n_samples=60, centers=3, rng=0)
        >>> row = cross_validate(build, X, y, k=3, epochs=5, preprocess="standardize").table[0]
        >>> len(row["val_loss"]), row["mean_val_accuracy"] > 0.9
        (3, True)
    """
    return _sweep(
        "cross_validate", build, [{}], X, y, k, backend, client, seed, n_jobs, "val_loss",
        False, progress, stratify, fit_kwargs,
    )  # fmt: skip
