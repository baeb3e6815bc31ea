"""One trial of a sweep: train one setting on one fold and measure it on the held-out fold.

:func:`run_trial` is the unit of work every engine runs (in this process, in a thread, in a
worker process, on a Dask or Ray worker). It is a plain module-level function of picklable
arguments, it never raises for a failing trial (the error is part of its result), and all its
randomness comes from the trial's own seed, so the same trial gives the same numbers wherever
and whenever it runs.

Inside a trial, in order: the preprocessing (a Standardizer or Whitener) is fitted on the
training fold only and applied to both folds, so no statistic of the validation fold leaks into
training; ``build(**params, rng=generator)`` makes the model, loss and optimiser; a DataLoader
shuffles the training fold with the same generator; :func:`tinygrad_edu.train.fit` trains with
the validation fold as ``val_data``.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import DataLoader, Standardizer, Whitener
from ..errors import InvalidArgumentError
from ..nn.init import as_generator
from ..tensor import get_default_dtype, set_default_dtype
from ..train import History, TrainingWarning, fit

__all__ = ["FitOptions", "Trial", "TrialResult", "run_trial", "trial_seed"]

PREPROCESS = ("standardize", "whiten", "pca", "zca")


def trial_seed(seed: int, index: int) -> int:
    """The seed of trial ``index`` of a sweep seeded with ``seed``: independent streams.

    Example:
        >>> from tinygrad_edu.tune import trial_seed
        >>> trial_seed(0, 3) == trial_seed(0, 3), trial_seed(0, 3) == trial_seed(0, 4)
        (True, False)
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 1)


@dataclass(frozen=True)
class FitOptions:
    """How every trial trains (the ``**fit_kwargs`` of the sweep functions).

    Attributes:
        epochs: passes over the training fold.
        batch_size: samples per mini-batch; None trains on the whole fold at once.
        shuffle: reshuffle the training fold every epoch.
        preprocess: None, "standardize" (a Standardizer), "whiten"/"pca"/"zca" (a Whitener),
            or an unfitted Standardizer or Whitener to copy; fitted on each training fold only.
    """

    epochs: int = 10
    batch_size: int | None = 32
    shuffle: bool = True
    preprocess: Any = None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any], op: str) -> FitOptions:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise InvalidArgumentError(
                f"{op}: unknown keyword argument(s) {', '.join(unknown)}; the trials' training "
                f"takes {', '.join(sorted(known))}"
            )
        options = cls(**kwargs)
        e = options.epochs
        if isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 1:
            raise InvalidArgumentError(f"{op}: epochs must be a positive int; got {e!r}")
        b = options.batch_size
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1):
            raise InvalidArgumentError(
                f"{op}: batch_size must be a positive int or None (the whole fold); got {b!r}"
            )
        p = options.preprocess
        if not (p is None or p in PREPROCESS or isinstance(p, (Standardizer, Whitener))):
            raise InvalidArgumentError(
                f"{op}: preprocess must be None, one of {', '.join(map(repr, PREPROCESS))}, or "
                f"an unfitted Standardizer or Whitener; got {p!r}"
            )
        return options

    def make_preprocessor(self) -> Standardizer | Whitener | None:
        """A fresh, unfitted preprocessor for one training set (None without preprocessing)."""
        p = self.preprocess
        if p is None:
            return None
        if p == "standardize":
            return Standardizer()
        if isinstance(p, str):
            return Whitener(method="pca" if p == "whiten" else p)
        return copy.deepcopy(p)

    def describe(self) -> dict[str, Any]:
        """The options as JSON-friendly values."""
        p = self.preprocess
        return {
            "epochs": int(self.epochs),
            "batch_size": None if self.batch_size is None else int(self.batch_size),
            "shuffle": bool(self.shuffle),
            "preprocess": p if p is None or isinstance(p, str) else repr(p),
        }


@dataclass(frozen=True)
class Trial:
    """What one task needs besides the data: which setting, which fold, which seed."""

    index: int
    setting: int
    params: dict[str, Any]
    fold: int
    seed: int
    train_idx: np.ndarray
    val_idx: np.ndarray


@dataclass
class TrialResult:
    """The outcome of one (setting, fold) trial.

    Attributes:
        index: the trial's index in the sweep (settings outer, folds inner).
        setting: index of the setting in the expanded grid.
        params: the setting's hyperparameters.
        fold: the validation fold.
        seed: the trial's seed (from the sweep's seed and ``index``).
        status: "ok", "diverged" (the loss became NaN or infinite) or "failed" (an exception).
        error: what went wrong, or None.
        val_loss: the validation loss after the last epoch (NaN unless ok).
        val_accuracy: the validation accuracy after the last epoch (None for regression).
        train_loss: the mean training loss of the last epoch.
        time: seconds the trial took (preprocessing, building and training).
        history: the :class:`History` of ``fit`` (None when it never started).
    """

    index: int
    setting: int
    params: dict[str, Any]
    fold: int
    seed: int
    status: str
    error: str | None = None
    val_loss: float = math.nan
    val_accuracy: float | None = None
    train_loss: float = math.nan
    time: float = 0.0
    history: History | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "history"}
        d["params"] = jsonable(self.params)
        d["history"] = None if self.history is None else self.history.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialResult:
        d = dict(d)
        history = d.pop("history", None)
        return cls(**d, history=None if history is None else History.from_dict(history))


def jsonable(value: Any) -> Any:
    """Hyperparameter values as JSON can hold them (anything else by its repr)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return repr(value)


def takes_rng(build: Any) -> bool:
    """Whether ``build`` accepts an ``rng`` keyword (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == "rng" and p.kind is not p.POSITIONAL_ONLY)
        for p in parameters
    )


def check_built(built: Any, params: dict[str, Any], op: str) -> tuple[Any, Any, Any]:
    """``build``'s return value as (model, loss_fn, optimizer), or a clear error."""
    call = f"build(**{params!r})"
    if not isinstance(built, tuple) or len(built) != 3:
        got = f"a tuple of {len(built)}" if isinstance(built, tuple) else type(built).__name__
        raise InvalidArgumentError(
            f"{op}: {call} must return a tuple (model, loss_fn, optimizer); got {got}. "
            "For example: return model, cross_entropy, SGD(model.parameters(), lr=lr)"
        )
    model, loss_fn, optimizer = built
    if not callable(model):
        raise InvalidArgumentError(
            f"{op}: {call} returned a model of type {type(model).__name__}, which cannot be "
            "called; the first item must be a Module (or a callable of a Tensor)"
        )
    if not callable(loss_fn):
        raise InvalidArgumentError(
            f"{op}: {call} returned a loss_fn of type {type(loss_fn).__name__}, which cannot be "
            "called; the second item must be a loss such as tinygrad_edu.losses.cross_entropy"
        )
    missing = [m for m in ("step", "zero_grad") if not callable(getattr(optimizer, m, None))]
    if missing:
        raise InvalidArgumentError(
            f"{op}: {call} returned an optimizer of type {type(optimizer).__name__} without "
            f"{' and '.join(m + '()' for m in missing)}; the third item must be an optimiser "
            "such as SGD(model.parameters(), lr=lr)"
        )
    return model, loss_fn, optimizer


def call_build(build: Any, params: dict[str, Any], rng: np.random.Generator, op: str) -> Any:
    """``build(**params, rng=rng)`` (without ``rng`` when build takes none), checked."""
    built = build(**params, rng=rng) if takes_rng(build) else build(**params)
    return check_built(built, params, op)


def train_on(
    build: Any,
    params: dict[str, Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    options: FitOptions,
    rng: np.random.Generator,
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
    op: str = "grid_search",
) -> tuple[Any, History]:
    """Build a model for ``params`` and train it on (X_train, y_train): (model, history)."""
    model, loss_fn, optimizer = call_build(build, params, rng, op)
    batch = len(X_train) if options.batch_size is None else int(options.batch_size)
    loader = DataLoader(X_train, y_train, batch, shuffle=options.shuffle, rng=rng)
    with warnings.catch_warnings():
        # a diverging trial is an expected outcome of a sweep: it is recorded, not warned
        warnings.simplefilter("ignore", TrainingWarning)
        history = fit(
            model, loss_fn, optimizer, loader, int(options.epochs), val_data=val_data,
            progress=False,
        )  # fmt: skip
    return model, history


def run_trial(
    trial: Trial, X: np.ndarray, y: np.ndarray, build: Any, options: FitOptions, dtype: Any
) -> TrialResult:
    """Run one trial and return its :class:`TrialResult`; never raises for the trial's own
    failures (an exception or a diverging loss is recorded in the result).

    ``dtype`` is the caller's default float dtype: worker processes start with the library's
    default, so it is set here for the trial and restored afterwards.
    """
    start = time.perf_counter()
    result = TrialResult(trial.index, trial.setting, trial.params, trial.fold, trial.seed, "ok")
    previous = get_default_dtype()
    try:
        set_default_dtype(dtype)
        rng = as_generator(trial.seed)
        X_train, y_train = X[trial.train_idx], y[trial.train_idx]
        X_val, y_val = X[trial.val_idx], y[trial.val_idx]
        preprocessor = options.make_preprocessor()
        if preprocessor is not None:
            X_train = preprocessor.fit_transform(X_train)  # the training fold's statistics only
            X_val = preprocessor.transform(X_val)
        _, history = train_on(
            build, trial.params, X_train, y_train, options, rng, (X_val, y_val)
        )
        result.history = history
        if history.stop_reason is not None:
            result.status, result.error = "diverged", history.stop_reason
        else:
            last = history.epochs[-1]
            result.train_loss = float(last["loss"])
            result.val_accuracy = last["val_accuracy"]
            val_loss = float(last["val_loss"])
            if math.isfinite(val_loss):
                result.val_loss = val_loss
            else:
                result.status = "diverged"
                result.error = f"the validation loss is {val_loss} after the last epoch"
    except Exception as exc:  # a failing trial is a result; the sweep goes on
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]
        )
    finally:
        set_default_dtype(previous)
    result.time = time.perf_counter() - start
    return result
