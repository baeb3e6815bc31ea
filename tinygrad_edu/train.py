"""The training loop: mini-batch gradient descent with progress, validation and a history.

One step is the course's loop: forward, loss, backward, update,

    w <- w - eta dL/dw   (or whatever rule the optimiser follows)

and one epoch is one pass over the loader. :func:`fit` records the loss of every step and the
metrics of every epoch in a :class:`History` that can be saved as JSON and plotted.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .atomic import atomic_write
from .autograd import no_grad, outside
from .checks import REAL_KINDS
from .errors import InvalidArgumentError, ShapeError, TinygradEduError
from .jit import Jit
from .tensor import Tensor

__all__ = ["History", "TrainingWarning", "accuracy", "evaluate", "fit", "predict", "write_json"]


class TrainingWarning(UserWarning):
    """Training stopped or went wrong in a way worth telling (a NaN loss)."""


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as JSON to ``path``, atomically (a temporary file, then a rename).

    A reader never sees half a file, and a crash leaves the previous file intact. History files
    and sweep results (``tinygrad_edu.tune``) are written through here.
    """
    atomic_write(path, lambda f: json.dump(data, f, indent=1), text=True)


@dataclass
class History:
    """What happened during :func:`fit`.

    Attributes:
        losses: the training loss of every step, in order.
        epochs: one dict per epoch: ``epoch`` (1-based), ``loss`` (mean training loss),
            ``accuracy`` (training accuracy, or None for regression), ``val_loss``,
            ``val_accuracy`` (None without validation data) and ``lr`` (the rate used).
        stop_reason: why training ended early, or None when it ran all epochs.

    The per-epoch series are attributes too, one value per epoch: ``epoch_losses``,
    ``accuracies``, ``val_losses``, ``val_accuracies`` and ``lrs``.

    Example:
        >>> h = History(losses=[0.9, 0.5], epochs=[{"epoch": 1, "loss": 0.7, "lr": 0.1}])
        >>> h.lrs, h.epoch_losses
        ([0.1], [0.7])
        >>> h
        History(2 steps, 1 epoch, last loss 0.5)
    """

    losses: list[float] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason is not None

    @property
    def epoch_losses(self) -> list[float]:
        """The mean training loss of each epoch."""
        return self._series("loss")

    @property
    def accuracies(self) -> list[float | None]:
        """The training accuracy of each epoch (None for regression)."""
        return self._series("accuracy")

    @property
    def val_losses(self) -> list[float | None]:
        """The validation loss after each epoch (None without validation data)."""
        return self._series("val_loss")

    @property
    def val_accuracies(self) -> list[float | None]:
        """The validation accuracy after each epoch (None without validation data)."""
        return self._series("val_accuracy")

    @property
    def lrs(self) -> list[float]:
        """The learning rate used in each epoch."""
        return self._series("lr")

    def _series(self, name: str) -> list[Any]:
        return [epoch.get(name) for epoch in self.epochs]

    def __repr__(self) -> str:
        n, e = len(self.losses), len(self.epochs)
        parts = [f"{n} step{'s' * (n != 1)}", f"{e} epoch{'s' * (e != 1)}"]
        if self.losses:
            parts.append(f"last loss {self.losses[-1]:.4g}")
        val = [v for v in self.val_losses if v is not None]
        if val:
            parts.append(f"last val_loss {val[-1]:.4g}")
        if self.stop_reason is not None:
            parts.append(f"stopped: {self.stop_reason}")
        return f"History({', '.join(parts)})"

    def metric(self, name: str) -> list[Any]:
        """One per-epoch metric as a list, e.g. ``history.metric("val_accuracy")``."""
        known = {key for epoch in self.epochs for key in epoch}
        if self.epochs and name not in known:
            raise InvalidArgumentError(
                f"History.metric: no metric {name!r}; recorded metrics are {sorted(known)}"
            )
        return self._series(name)

    def to_dict(self) -> dict[str, Any]:
        return {"losses": self.losses, "epochs": self.epochs, "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(list(d["losses"]), list(d["epochs"]), d.get("stop_reason"))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the history as JSON, atomically (a temporary file, then a rename; an existing
        file keeps its permissions).

        NaN losses are written as ``NaN`` (Python's json reads them back).
        """
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        with open(path) as f:
            return cls.from_dict(json.load(f))


def _is_classification(out: np.ndarray, y: np.ndarray) -> bool:
    """Whether accuracy makes sense: class scores, or labels that can only be classes.

    Integer labels are classes. Float labels count as classes when they are integral and the
    model gives one score per class, or when they are all in {-1, 0, 1} (binary labels);
    otherwise (say targets 2.0 and 4.0 for a single output) it is regression.
    """
    if y.dtype.kind in "iub":
        return True
    if y.dtype.kind != "f":
        return False
    if out.ndim == 2 and out.shape[1] > 1:
        return y.ndim == 2 or bool(np.all(np.mod(y, 1) == 0))
    return bool(np.all(np.isin(y, (-1.0, 0.0, 1.0))))


def _correct(out: np.ndarray, y: np.ndarray, threshold: float) -> int:
    """How many predictions match the labels.

    Several outputs per sample: the class with the largest score (argmax). One output: class
    1 where it exceeds ``threshold`` (0 for logits and scores, 0.5 for probabilities), else 0,
    or -1 when the labels are in {-1, +1}.
    """
    if out.ndim == 2 and out.shape[1] > 1:
        if y.ndim == 2:  # one-hot or probability labels
            y = y.argmax(axis=1)
        return int(np.sum(out.argmax(axis=1) == y))
    scores = out.reshape(len(y))
    low = -1 if np.min(y) < 0 else 0
    return int(np.sum(np.where(scores > threshold, 1, low) == y.reshape(len(y))))


def predict(model: Any, X: Any) -> np.ndarray:
    """The model's output on X in eval mode, recording nothing; the mode is restored."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            return model(Tensor(X)).data
    finally:
        if was_training:
            model.train()


def accuracy(model: Any, X: Any, y: Any, threshold: float = 0.0) -> float:
    """Fraction of samples the model classifies correctly (in eval mode, without a graph).

    Args:
        model: a callable (usually a Module) mapping a Tensor of inputs to scores.
        X: inputs, one sample per row.
        y: integer class labels (N,), one-hot labels (N, C), or {0, 1} / {-1, +1} labels for
            a model with one output.
        threshold: for one-output models, the score above which class 1 is predicted.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.train import accuracy
        >>> W = Tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> accuracy(lambda x: x @ W, np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
        0.5
    """
    X = X.data if isinstance(X, Tensor) else np.asarray(X)
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    if len(X) != len(y):
        raise ShapeError(f"accuracy: X has {len(X)} samples but y has {len(y)}")
    if len(y) == 0:
        raise ShapeError("accuracy: no samples")
    return _correct(predict(model, X), y, threshold) / len(y)


def evaluate(model: Any, loss_fn: Any, X: Any, y: Any) -> tuple[float, float | None]:
    """Loss and accuracy (None for regression) of the model on (X, y), in eval mode."""
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    out = predict(model, X.data if isinstance(X, Tensor) else X)
    with no_grad():
        loss = float(loss_fn(Tensor(out), y).item())
    acc = _correct(out, y, 0.0) / len(y) if _is_classification(out, y) else None
    return loss, acc


class _NonFiniteLoss(Exception):
    """Raised inside a compiled step before its update, as fit stops before it eagerly."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.value = value


def _check_finite_loss(loss: np.ndarray) -> np.ndarray:
    value = float(loss)
    if not math.isfinite(value):
        raise _NonFiniteLoss(value)
    return loss


def _compiled_step(model: Any, loss_fn: Any, optimizer: Any) -> Jit:
    """fit's step as one function for jit: forward, loss, the finite check, update."""

    def training_step(xb: Any, yb: np.ndarray) -> tuple[Tensor, Tensor]:
        out = model(xb if isinstance(xb, Tensor) else Tensor(xb))
        loss = loss_fn(out, yb)
        outside(_check_finite_loss, loss.data)  # on every replay too, before the update
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, out

    return Jit(training_step, announce=False)  # a smaller last batch is expected


def fit(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    loader: Any,
    epochs: int,
    val_data: tuple[Any, Any] | None = None,
    scheduler: Any = None,
    progress: bool = True,
    jit: bool = False,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; return the :class:`History`.

    Each step: forward the batch, ``loss = loss_fn(output, y_batch)``, zero the gradients,
    ``loss.backward()``, ``optimizer.step()``. After each epoch: the validation loss and
    accuracy on ``val_data`` (in eval mode), then ``scheduler.step()`` (schedules count epochs).

    A loss that becomes NaN or infinite stops training at once, before the update that would
    spread it into the weights, with a :class:`TrainingWarning` that says where and what to try;
    ``history.stop_reason`` keeps the message.

    Args:
        model: a Module (or any callable of a Tensor; ``train()``/``eval()`` used if present).
        loss_fn: ``loss_fn(output, y_batch) -> one-element Tensor``, e.g. ``cross_entropy``.
        optimizer: an optimiser over the model's parameters. Newton gets the second-order
            graph it needs (``backward(create_graph=True)``).
        loader: an iterable of ``(X_batch, y_batch)`` with ``len()``, e.g. a DataLoader.
        epochs: number of passes over the loader (a positive int).
        val_data: ``(X_val, y_val)`` evaluated after every epoch.
        scheduler: a learning-rate schedule stepped once per epoch.
        progress: show a tqdm progress bar with the live loss and accuracy.
        jit: compile the training step with :func:`tinygrad_edu.jit` (recorded on the first
            steps, then replayed as a numpy program): the same History, faster on small
            models. A step jit cannot replay runs eagerly, with a warning saying why.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.train import fit
        >>> class Line:
        ...     def __init__(self): self.w = Tensor([0.0], requires_grad=True)
        ...     def __call__(self, x): return x * self.w
        >>> class GD:
        ...     def __init__(self, params, lr): self.params, self.lr = params, lr
        ...     def zero_grad(self): [setattr(p, "grad", None) for p in self.params]
        ...     def step(self): [np.subtract(p.data, self.lr * p.grad, out=p.data)
        ...                      for p in self.params]
        >>> model = Line()
        >>> X = np.linspace(-1, 1, 8).astype(np.float32); y = 3 * X
        >>> mse = lambda out, y: ((out - y) ** 2).mean()
        >>> history = fit(model, mse, GD([model.w], 0.5), [(X, y)], epochs=50, progress=False)
        >>> round(float(model.w.data[0]), 3)
        3.0
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise InvalidArgumentError(f"fit: epochs must be a positive integer; got {epochs!r}")
    _check_fit_arguments(model, loss_fn, optimizer, loader, val_data, scheduler)
    create_graph = type(optimizer).__name__ == "Newton"  # it differentiates the gradient
    compiled = _compiled_step(model, loss_fn, optimizer) if jit and not create_graph else None
    history = History()
    total = epochs * len(loader) if hasattr(loader, "__len__") else None
    bar = tqdm(total=total, disable=not progress, unit="step", dynamic_ncols=True)
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            if hasattr(model, "train"):
                model.train()
            lr = getattr(optimizer, "lr", None)
            loss_sum, correct, seen, classification = 0.0, 0, 0, True
            for step, (xb, yb) in enumerate(loader, start=1):
                yb = yb.data if isinstance(yb, Tensor) else np.asarray(yb)
                if compiled is not None:  # the whole step, the update included
                    try:
                        loss, out = compiled(xb if isinstance(xb, Tensor) else np.asarray(xb), yb)
                        value = float(loss.item())
                    except _NonFiniteLoss as stop:
                        value = stop.value
                else:
                    out = model(xb if isinstance(xb, Tensor) else Tensor(xb))
                    loss = loss_fn(out, yb)
                    value = float(loss.item())
                if not math.isfinite(value):
                    history.stop_reason = (
                        f"the training loss became {value} at epoch {epoch}, step {step}; "
                        "training stopped before the update. Try a smaller learning rate, "
                        "standardised inputs, or a numerically stable loss (cross_entropy on "
                        "logits rather than log of softmax)."
                    )
                    warnings.warn(history.stop_reason, TrainingWarning, stacklevel=2)
                    return history
                if compiled is None:
                    optimizer.zero_grad()
                    loss.backward(create_graph=create_graph)
                    optimizer.step()
                history.losses.append(value)
                loss_sum += value * len(yb)
                seen += len(yb)
                classification = classification and _is_classification(out.data, yb)
                if classification:
                    correct += _correct(out.data, yb, 0.0)
                shown = {"loss": f"{value:.4f}"}
                if classification:
                    shown["acc"] = f"{correct / seen:.3f}"
                bar.set_postfix(shown, refresh=False)
                bar.update(1)
            if seen == 0:
                raise InvalidArgumentError("fit: the loader yielded no batches")
            record: dict[str, Any] = {
                "epoch": epoch,
                "loss": loss_sum / seen,
                "accuracy": correct / seen if classification else None,
                "val_loss": None,
                "val_accuracy": None,
                "lr": lr,
            }
            if val_data is not None:
                record["val_loss"], record["val_accuracy"] = evaluate(model, loss_fn, *val_data)
                if record["val_accuracy"] is not None:
                    bar.set_postfix(
                        {
                            "loss": f"{record['loss']:.4f}",
                            "val_acc": f"{record['val_accuracy']:.3f}",
                        },
                        refresh=False,
                    )
            history.epochs.append(record)
            if scheduler is not None:
                scheduler.step()
    except BaseException as exc:
        # The epochs already trained are not lost with the error (or a Ctrl-C): the History
        # so far rides on the exception, as ``exc.history``.
        history.stop_reason = f"fit stopped at epoch {epoch} by {type(exc).__name__}: {exc}"
        try:
            exc.history = history  # type: ignore[attr-defined]
            exc.add_note(
                f"fit: the History of the {len(history.epochs)} finished epoch(s) and "
                f"{len(history.losses)} step(s) is kept as this exception's .history"
            )
        except AttributeError:  # an exception type that takes no attributes
            pass
        raise
    finally:
        bar.close()
    return history


def _check_fit_arguments(
    model: Any, loss_fn: Any, optimizer: Any, loader: Any, val_data: Any, scheduler: Any
) -> None:
    """Everything fit can check before training, so that a bad argument fails at once and
    not after a whole epoch of training."""
    for name, value in (("model", model), ("loss_fn", loss_fn)):
        if not callable(value):
            raise InvalidArgumentError(
                f"fit: {name} must be callable; got {type(value).__name__}"
            )
    for method in ("zero_grad", "step"):
        if not callable(getattr(optimizer, method, None)):
            raise InvalidArgumentError(
                f"fit: optimizer must have {method}() (an optimiser from tinygrad_edu.optim); "
                f"got {type(optimizer).__name__}"
            )
    if not hasattr(loader, "__iter__"):
        raise InvalidArgumentError(
            f"fit: loader must be an iterable of (X_batch, y_batch), e.g. a DataLoader; got "
            f"{type(loader).__name__}"
        )
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise InvalidArgumentError(
            f"fit: scheduler must be a schedule with a step() method, such as "
            f"StepDecay(optimizer, step_size, factor) from tinygrad_edu.optim.schedules; got "
            f"{scheduler!r:.60}"
        )
    if val_data is None:
        return
    if not isinstance(val_data, (tuple, list)) or len(val_data) != 2:
        raise InvalidArgumentError(
            f"fit: val_data must be a pair (X_val, y_val); got {type(val_data).__name__}"
        )
    X, y = (v.data if isinstance(v, Tensor) else np.asarray(v) for v in val_data)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y) or len(y) == 0:
        raise ShapeError(
            f"fit: val_data needs one label per sample and at least one sample; X_val has "
            f"shape {X.shape}, y_val has shape {y.shape}"
        )
    if X.dtype.kind not in REAL_KINDS or y.dtype.kind not in REAL_KINDS:
        raise InvalidArgumentError(
            f"fit: val_data must hold real numbers; got dtypes {X.dtype} and {y.dtype}"
        )
    # A dry run on two samples (eval mode, nothing recorded): a val_data that does not fit
    # the model or the loss fails now. Only if that fails is the whole set tried (a loss may
    # need every sample), so a working val_data costs two samples' evaluation here.
    try:
        evaluate(model, loss_fn, X[:2], y[:2])
    except TinygradEduError:
        try:
            evaluate(model, loss_fn, X, y)
        except TinygradEduError as exc:
            raise type(exc)(
                f"fit: val_data (X_val of shape {X.shape}, y_val of shape {y.shape}) does not "
                f"fit the model or the loss: {exc}"
            ) from None
