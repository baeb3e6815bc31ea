"""Losses composed from tensor operations: no loss has a backward formula of its own.

Notation, as in the course notes: a model's outputs (predictions, logits z, scores s) are
differentiable Tensors; targets and labels (t, y) are constants. Each loss computes one value
per sample (or per element), then reduces it:

* ``reduction="mean"`` (the default): the average over samples, the usual training loss;
* ``reduction="sum"``: the total;
* ``reduction="none"``: the per-sample values themselves.

Every function accepts Tensors, numpy arrays or nested lists, and returns a Tensor.

Shapes are checked strictly: a prediction of shape (N, 1) against a target of shape (N,)
would broadcast to an (N, N) matrix of every prediction against every target, a loss that
trains without complaint and learns nothing useful. Such pairs raise :class:`ShapeError`.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu import Tensor
    >>> from tinygrad_edu.losses import cross_entropy
    >>> z = Tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]], requires_grad=True)
    >>> loss = cross_entropy(z, np.array([0, 1]))
    >>> loss.backward()
    >>> round(loss.item(), 4)
    0.1324
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import ops
from .autograd import current_recorder, made_outside, outside, repeatable, scoped, skip_recording
from .checks import REAL_KINDS, array_or_object
from .errors import DTypeError, InvalidArgumentError, ShapeError
from .tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "max_margin_loss",
    "mse_loss",
    "multiclass_hinge_loss",
    "nll_loss",
]

REDUCTIONS = ("mean", "sum", "none")

# The floor for p and 1 - p inside binary_cross_entropy's logs: -ln(1e-12) ~ 27.63 is the
# largest loss one element can contribute.
BCE_EPS = 1e-12

# Targets outside [0, 1] are usually {-1, +1} labels meant for a margin loss.
_TARGET_HINT = " Labels in {-1, +1} belong to hinge_loss; map them with t = (y + 1) / 2."

# ----------------------------------------------------------------------------- helpers


def _check_reduction(reduction: Any, op: str) -> None:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        valid = ", ".join(repr(r) for r in REDUCTIONS)
        raise InvalidArgumentError(
            f"{op}: unknown reduction {reduction!r}; expected one of {valid}"
        )


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    """Apply ``reduction`` to the per-sample losses (the one place reductions happen)."""
    _check_reduction(reduction, op)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.size == 0:
        raise ShapeError(
            f"{op}: the mean over an empty batch (per-sample losses of shape {loss.shape}) is "
            "undefined; pass at least one sample, or use reduction='sum'"
        )
    return loss.mean()


def _as_tensor(x: Any, op: str, what: str, like: Tensor | None = None) -> Tensor:
    """A differentiable input as a Tensor: Tensors as they are, arrays and lists wrapped.

    Arrays meeting a Tensor (``like``) take its dtype, so a float64 numpy target does not turn
    a float32 model's loss into float64.
    """
    if isinstance(x, Tensor):
        return x
    data = array_or_object(x)
    if data.dtype.kind not in REAL_KINDS:
        raise DTypeError(
            f"{op}: {what} must be a Tensor, a numeric numpy array or a (nested) list of "
            f"numbers; got {type(x).__name__} {x!r:.60}"
        )
    if like is not None:
        data = data.astype(like.dtype, copy=False)
    return Tensor(data)


def _constant(x: Any, dtype: Any, op: str, what: str) -> np.ndarray:
    """Targets and labels: a plain numpy array of ``dtype`` (a Tensor's data; no gradient)."""
    try:
        return np.asarray(x.data if isinstance(x, Tensor) else x, dtype=dtype)
    except (TypeError, ValueError):
        raise DTypeError(
            f"{op}: {what} must be numbers (a Tensor, a numeric numpy array or a list); got "
            f"{type(x).__name__} {x!r:.60}"
        ) from None


@repeatable
def _labels_array(x: Any, op: str) -> np.ndarray:
    """Labels as given (Tensor data, array or list), keeping their dtype for checking."""
    values = array_or_object(x.data if isinstance(x, Tensor) else x)
    if values.dtype.kind not in REAL_KINDS:
        raise DTypeError(f"{op}: labels must be numbers (an array, list or Tensor); got {x!r:.60}")
    return values


def _check_same_shape(a: tuple[int, ...], b: tuple[int, ...], op: str, names: str) -> None:
    """Refuse elementwise pairs whose shapes differ, instead of broadcasting them silently."""
    if a == b:
        return
    first, second = names.split(" and ")
    hint = ""
    if len(a) == len(b) + 1 and a[-1] == 1 and a[:-1] == b:
        hint = f" Reshape one of them: {second}.reshape(-1, 1) or {first}.reshape(-1)."
    elif len(b) == len(a) + 1 and b[-1] == 1 and b[:-1] == a:
        hint = f" Reshape one of them: {first}.reshape(-1, 1) or {second}.reshape(-1)."
    raise ShapeError(
        f"{op}: {first} has shape {a} but {second} has shape {b}; they must have the same "
        f"shape, because broadcasting would silently pair the wrong elements.{hint}"
    )


def _check_unit_interval(values: np.ndarray, op: str, what: str, hint: str = "") -> None:
    """Values in [0, 1] (NaN fails too); the message shows the first offenders."""
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        shown = _show(values[bad])
        raise InvalidArgumentError(
            f"{op}: {what} must lie in [0, 1]; got {shown} ({int(bad.sum())} of {values.size} "
            f"values outside).{hint}"
        )


def _check_margin(margin: Any, op: str) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{op}: margin must be a number >= 0; got {margin!r}")
    if not (math.isfinite(margin) and margin >= 0):
        raise InvalidArgumentError(f"{op}: margin must be a finite number >= 0; got {margin}")
    return float(margin)


def _show(values: np.ndarray, limit: int = 5) -> str:
    """The first few distinct values, for an error message."""
    distinct = np.unique(values.reshape(-1))
    text = ", ".join(repr(v) for v in distinct[:limit].tolist())
    return text + (", ..." if distinct.size > limit else "")


def _class_indices(labels: np.ndarray, n_classes: int, op: str) -> np.ndarray:
    """Integer class indices checked to lie in [0, C): integer arrays, or integral floats.

    ``Tensor([0, 2])`` is float32, so integral float values are accepted; 0.5 is not.
    """
    if labels.dtype.kind == "b":
        raise DTypeError(
            f"{op}: labels are booleans; class indices must be integers in [0, {n_classes}). "
            "Convert them with labels.astype(int)."
        )
    if labels.dtype.kind == "f":
        integral = np.isfinite(labels) & (labels == np.round(labels))
        if not integral.all():
            raise InvalidArgumentError(
                f"{op}: class-index labels must be whole numbers in [0, {n_classes}); got "
                f"{_show(labels[~integral])}. Pass integer indices, or probabilities of shape "
                "(N, C) for soft labels."
            )
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if labels.ndim else ()
        hint = ""
        if labels.size and labels.min() >= 1 and labels.max() == n_classes:
            hint = " If your labels count from 1, subtract 1."
        raise InvalidArgumentError(
            f"{op}: labels must be class indices in [0, {n_classes}) for C = {n_classes} "
            f"classes; got {_show(labels[bad])} (first at position {where}).{hint}"
        )
    return labels.astype(np.intp)


def _check_class_scores(x: Tensor, op: str, what: str) -> None:
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ShapeError(
            f"{op}: {what} must have shape (N, C) (a batch) or (C,) (one sample) with C >= 1 "
            f"classes on the last axis; got shape {x.shape}"
        )


def _pick(x: Tensor, idx: np.ndarray) -> Tensor:
    """x[n, idx[n]] for each row of a 2-D ``x``, or x[idx] for a 1-D one (differentiable)."""
    if x.ndim == 1:
        return x[int(idx)]
    return x[np.arange(x.shape[0]), idx]


def _check_class_logits(x: Tensor, op: str, what: str) -> None:
    """(C,), (N, C) or (N, C, d1, ...) with C >= 1: the class axis is 1 (0 for one sample)."""
    shape = x._data.shape
    if not shape or shape[0 if len(shape) == 1 else 1] == 0:
        raise ShapeError(
            f"{op}: {what} must have shape (N, C) (a batch), (C,) (one sample) or "
            f"(N, C, d1, ...) (a value per class at every position, as PyTorch) with C >= 1 "
            f"classes; got shape {x.shape}"
        )


def _classes_last(x: Any) -> Any:
    """(N, C, d1, ..., dk) -> (N, d1, ..., dk, C); 1-D and 2-D inputs are already so."""
    if x.ndim <= 2:
        return x
    axes = (0, *range(2, x.ndim), 1)
    return x.transpose(*axes) if isinstance(x, Tensor) else x.transpose(axes)


def _rows(z: Tensor) -> Tensor:
    """``z`` of shape batch + (C,) as rows (-1, C), the form the fused row operations take."""
    return z if z.ndim == 2 else z.reshape(-1, z.shape[-1])


def _kept_indices(
    values: np.ndarray, n_classes: int, ignore_index: Any, op: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class indices with the positions labelled ``ignore_index`` set aside (PyTorch's rule).

    Returns the indices (ignored positions given class 0, to be masked out) and the boolean
    mask of the positions that count, or None when no position is ignored.
    """
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise InvalidArgumentError(f"{op}: ignore_index must be an integer; got {ignore_index!r}")
    ignored = values == ignore_index
    if not ignored.any():
        return _class_indices(values, n_classes, op), None
    kept = np.where(ignored, 0, values)
    return _class_indices(kept, n_classes, op), ~ignored


# Integer dtypes and the unsigned dtype of their size (see _indices_none_ignored).
_UNSIGNED = {np.dtype(f"{k}{n}"): np.dtype(f"u{n}") for k in "iu" for n in (1, 2, 4, 8)}


@repeatable
def _indices_none_ignored(
    values: np.ndarray, n_classes: int, ignore_index: Any, op: str
) -> np.ndarray:
    """The class indices of a batch in a jitted step, which has no mask for ignored labels:
    a batch holding ``ignore_index`` is refused (the jit runs that call eagerly)."""
    idx = _indices_in_range(values, n_classes, ignore_index)
    if idx is not None:
        return idx
    idx, keep = _kept_indices(values, n_classes, ignore_index, op)
    if keep is not None:
        raise InvalidArgumentError(
            f"{op}: a jitted step cannot take labels equal to ignore_index={ignore_index} "
            f"({int((~keep).sum())} in this batch): its program has no mask for them. Call the "
            "step without jit, or drop those samples."
        )
    return idx


def _indices_in_range(values: np.ndarray, n_classes: int, ignore_index: Any) -> np.ndarray | None:
    """The labels as class indices when one argmax shows them all in [0, C) and so none equal
    to an ``ignore_index`` outside [0, C) (the usual batch); None when it cannot tell, and
    :func:`_kept_indices` decides (and explains what is wrong)."""
    # Integer labels read as unsigned are all below C exactly when each lies in [0, C) (a
    # negative one reads huge). W2's replayed check: 45.0k -> 10.5k instructions (callgrind;
    # a max() is a reduction, 9k instructions for 64 labels, an argmax 2.3k).
    unsigned = _UNSIGNED.get(values.dtype)
    if (
        unsigned is not None
        and values.size
        and type(ignore_index) is int
        and not 0 <= ignore_index < n_classes
    ):
        as_unsigned = values.view(unsigned)
        if as_unsigned.flat[as_unsigned.argmax()] < n_classes:
            return values.astype(np.intp)
    return None


def _reduce_kept(loss: Tensor, keep: np.ndarray | None, reduction: str, op: str) -> Tensor:
    """``_reduce`` over the positions that count: ignored ones give 0 and leave the mean's
    denominator, as in PyTorch."""
    if keep is None:
        return _reduce(loss, reduction, op)
    loss = loss * keep.astype(loss.dtype)
    if reduction != "mean":
        return _reduce(loss, reduction, op)
    count = int(keep.sum())
    if count == 0:
        raise ShapeError(
            f"{op}: every label equals ignore_index, so the mean over the remaining positions "
            "is undefined; use reduction='sum', or check the labels"
        )
    return loss.sum() / count


def _label_smoothing(value: Any, op: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(
            f"{op}: label_smoothing must be a number in [0, 1]; got {value!r}"
        )
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise InvalidArgumentError(f"{op}: label_smoothing must lie in [0, 1]; got {value}")
    return float(value)


# ----------------------------------------------------------------------------- regression


@scoped
def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: L = (1/n) sum_i (y_i - t_i)^2 over all n elements.

    Args:
        pred: predictions y, any shape.
        target: targets t, of exactly the shape of ``pred`` (no broadcasting). A Tensor
            target that requires grad receives a gradient too.
        reduction: "mean" (over all elements), "sum", or "none" (the squared errors).

    Returns:
        The loss as a Tensor: a scalar, or of ``pred``'s shape for ``reduction="none"``.

    Raises:
        ShapeError: if the shapes differ, e.g. predictions (N, 1) against targets (N,).
        InvalidArgumentError: for an unknown reduction.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.losses import mse_loss
        >>> y = Tensor([1.0, 2.0, 4.0], requires_grad=True)
        >>> loss = mse_loss(y, [1.0, 0.0, 1.0])
        >>> loss.item()
        4.333333492279053
        >>> loss.backward(); y.grad.tolist()   # 2 (y - t) / n
        [0.0, 1.3333333730697632, 2.0]
    """
    op = "mse_loss"
    _check_reduction(reduction, op)
    pred = _as_tensor(pred, op, "pred")
    target = _as_tensor(target, op, "target", like=pred)
    _check_same_shape(pred.shape, target.shape, op, "pred and target")
    if reduction == "mean" and pred.size:  # the usual training loss: one fused node
        return ops.MeanSquaredError.apply(pred, target)
    diff = pred - target
    return _reduce(diff * diff, reduction, op)


# ----------------------------------------------------------------------------- classification


@scoped
def cross_entropy(
    logits: Any,
    labels: Any,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Softmax cross-entropy of logits z against class labels.

    With log p = log_softmax(z) over the classes, the loss of one sample is

    * -log p_y for a class index y (labels of shape (N,)), or
    * -sum_k q_k log p_k for probabilities / one-hot rows q (labels of shape (N, C)).

    The kind of label is decided by shape: one dimension fewer than ``logits`` means indices,
    the same shape means probabilities. log_softmax subtracts the maximum logit first, so the
    loss is finite for logits of any size. Its gradient is dL/dz = softmax(z) - onehot(y)
    per sample (divided by N for the mean).

    As in PyTorch, logits of shape (N, C, d1, ..., dk) hold class scores at every position (a
    pixel, a time step): the classes are axis 1, the labels have shape (N, d1, ..., dk) (or are
    probabilities of the logits' shape), and the mean is over all N d1 ... dk positions.

    With ``label_smoothing`` = eps the target is q' = (1 - eps) q + eps / C (q the one-hot
    row of an index, or the given probabilities), PyTorch's definition:
    L = (1 - eps)(-log p_y) + eps * mean_k(-log p_k) for an index y.

    Args:
        logits: z of shape (N, C), (C,) for one sample, or (N, C, d1, ...).
        labels: integer class indices in [0, C) of shape (N,) (a scalar for one sample,
            (N, d1, ...) for (N, C, d1, ...) logits) as a numpy array, list or Tensor
            (whole-number floats such as ``Tensor([0, 2])`` are accepted); or probabilities of
            the logits' shape in [0, 1] that normally sum to 1 over the classes.
            Labels are constants: no gradient flows to them.
        reduction: "mean" (over samples and positions), "sum", or "none" (shape (N,), (N, d1,
            ...), or () for one sample).
        label_smoothing: eps in [0, 1], the share of each target spread evenly over the classes.
        ignore_index: class-index labels equal to it (PyTorch's default -100) count for
            nothing: their loss is 0 and the mean is over the other positions.

    Raises:
        ShapeError: logits of shape () or with no class, labels of neither accepted shape, or
            a mean over labels that are all ignore_index.
        InvalidArgumentError: labels outside [0, C) or not whole numbers, probabilities outside
            [0, 1], label_smoothing outside [0, 1], or an unknown reduction.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.losses import cross_entropy
        >>> z = Tensor([[1e4, 0.0, -1e4]])
        >>> cross_entropy(z, [0]).item(), cross_entropy(z, [2]).item()
        (0.0, 20000.0)
        >>> round(cross_entropy(Tensor([[0.0, 0.0]]), [0], label_smoothing=0.2).item(), 4)
        0.6931
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    eps = _label_smoothing(label_smoothing, op)
    logits = _as_tensor(logits, op, "logits")
    _check_class_logits(logits, op, "logits")
    # outside(): a jit replay converts and checks each new batch's labels again.
    values = outside(_labels_array, labels, op)
    z = _classes_last(logits)
    # The shape read once (a Tensor's shape and ndim are properties of .data), and the usual
    # labels checked with one argmax (see _indices_in_range): W2's step 1,380k -> 1,336k
    # instructions (-3.2%, callgrind).
    shape = z._data.shape
    batch, n_classes = shape[:-1], shape[-1]
    keep = None
    if values.shape == batch:
        idx = _indices_in_range(values, n_classes, ignore_index)
        if idx is None:
            idx, keep = _kept_indices(values, n_classes, ignore_index, op)
        if current_recorder() is not None:  # a jit recording: each replay checks its labels
            if keep is None:
                made_outside(_indices_none_ignored, (values, n_classes, ignore_index, op), idx)
            else:  # its program would have no mask for them: this call stays eager
                skip_recording(f"{op} got labels equal to ignore_index={ignore_index}")
        if eps:  # the smoothed target is a distribution: the probability case below
            q = np.full(z.shape, eps / n_classes, dtype=logits.dtype)
            np.put_along_axis(q, idx[..., None], 1 - eps + eps / n_classes, axis=-1)
            per_sample = -(z.log_softmax(axis=-1) * q).sum(axis=-1)
        elif len(shape) >= 2:  # the common case, one fused operation: softmax - onehot
            flat = idx if idx.ndim == 1 else idx.reshape(-1)
            scores = z if len(shape) == 2 else _rows(z)
            if reduction == "mean" and keep is None and flat.size:  # the usual training loss
                return ops.SoftmaxCrossEntropyMean.apply(scores, labels=flat)
            rows = ops.SoftmaxCrossEntropy.apply(scores, labels=flat)
            per_sample = rows if len(shape) == 2 else rows.reshape(batch)
        else:
            per_sample = -_pick(z.log_softmax(axis=-1), idx)
    elif values.shape == logits.shape:
        _check_unit_interval(values, op, "probability labels (same shape as logits)")
        q = _classes_last(values.astype(logits.dtype))
        if eps:
            q = q * (1 - eps) + eps / n_classes
        per_sample = -(z.log_softmax(axis=-1) * q).sum(axis=-1)
    else:
        hint = ""
        if values.shape == batch + (1,):
            hint = " Labels of shape (N, 1) are a column: flatten them with labels.reshape(-1)."
        raise ShapeError(
            f"{op}: logits have shape {logits.shape}, so labels must be class indices of shape "
            f"{batch} or probabilities of shape {logits.shape}; got labels of shape "
            f"{values.shape}.{hint}"
        )
    return _reduce_kept(per_sample, keep, reduction, op)


@scoped
def nll_loss(
    log_probs: Any, labels: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
    """Negative log-likelihood of log-probabilities against class indices: -log p_y per sample.

    ``nll_loss(z.log_softmax(axis=1), y)`` equals ``cross_entropy(z, y)``, as in PyTorch; the
    input is taken as it is (it is not normalised), so dL/d(log p) = -onehot(y) per sample.

    Args:
        log_probs: log p of shape (N, C), (C,) for one sample, or (N, C, d1, ...) (classes on
            axis 1, as PyTorch).
        labels: integer class indices in [0, C) of shape (N,) (a scalar for one sample;
            (N, d1, ...) for (N, C, d1, ...) input); whole-number floats are accepted.
        reduction: "mean" (over samples and positions), "sum", or "none".
        ignore_index: labels equal to it (PyTorch's default -100) count for nothing: their
            loss is 0 and the mean is over the other positions.

    Raises:
        ShapeError: input of shape () or with no class, labels of the wrong shape, or a mean
            over labels that are all ignore_index.
        InvalidArgumentError: labels outside [0, C) or not whole numbers, unknown reduction.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.losses import nll_loss
        >>> log_p = Tensor(np.log([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
        >>> [round(v, 4) for v in nll_loss(log_p, [0, 2], reduction="none").tolist()]
        [0.6931, 0.2231]
    """
    op = "nll_loss"
    _check_reduction(reduction, op)
    log_probs = _as_tensor(log_probs, op, "log_probs")
    _check_class_logits(log_probs, op, "log_probs")
    values = _labels_array(labels, op)
    z = _classes_last(log_probs)
    batch, n_classes = z.shape[:-1], z.shape[-1]
    if values.shape != batch:
        raise ShapeError(
            f"{op}: log_probs have shape {log_probs.shape}, so labels must be class indices of "
            f"shape {batch}; got labels of shape {values.shape}"
        )
    idx, keep = _kept_indices(values, n_classes, ignore_index, op)
    if z.ndim == 1:
        per_sample = -_pick(z, idx)
    else:
        rows = _rows(z)
        per_sample = -rows[np.arange(rows.shape[0]), idx.reshape(-1)].reshape(batch)
    return _reduce_kept(per_sample, keep, reduction, op)


@scoped
def binary_cross_entropy(probs: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities p against targets t in [0, 1].

    L = -(t log p + (1 - t) log(1 - p)) per element. Inside the logs, p and 1 - p are clipped
    below at 1e-12, so p = 0 or p = 1 against the opposite target gives the large but finite
    loss -ln(1e-12) ~ 27.63 instead of infinity (clipping 1 - p rather than p keeps the bound
    in float32, where 1 - 1e-12 rounds to 1). The clip's gradient is zero where it is active.

    Prefer :func:`binary_cross_entropy_with_logits` on the logits when you have them: it is
    exact where this one saturates.

    Args:
        probs: p in [0, 1] (e.g. the output of ``sigmoid``), any shape.
        targets: t in [0, 1] of exactly the shape of ``probs``; constants.
        reduction: "mean" (over all elements), "sum", or "none".

    Raises:
        ShapeError: if the shapes differ.
        InvalidArgumentError: probs or targets outside [0, 1] (or NaN), unknown reduction.

    Example:
        >>> from tinygrad_edu.losses import binary_cross_entropy
        >>> round(binary_cross_entropy([0.8, 0.1], [1.0, 0.0]).item(), 5)  # -(ln .8 + ln .9)/2
        0.16425
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    probs = _as_tensor(probs, op, "probs")
    t = _constant(targets, probs.dtype, op, "targets")
    _check_same_shape(probs.shape, t.shape, op, "probs and targets")
    hint = " Pass sigmoid(x), or pass the raw scores x to binary_cross_entropy_with_logits."
    _check_unit_interval(probs.data, op, "probs", hint)
    _check_unit_interval(t, op, "targets", _TARGET_HINT)
    log_p = probs.clip(BCE_EPS, None).log()
    log_not_p = (1 - probs).clip(BCE_EPS, None).log()
    return _reduce(-(t * log_p + (1 - t) * log_not_p), reduction, op)


@scoped
def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigma(x) against t, computed from the logits x directly.

    L = -(t log sigma(x) + (1 - t) log sigma(-x)) per element, with both logs read off one
    log-softmax over the pair [x, 0]:

        log sigma(x) = log_softmax([x, 0])_0,   log sigma(-x) = log_softmax([x, 0])_1

    since sigma(x) = e^x / (e^x + e^0). log_softmax is finite for any x (|x| = 1e4 gives
    L ~ 1e4, not infinity), and it is smooth everywhere, so the gradient is exactly
    dL/dx = sigma(x) - t, also at x = 0. (The common relu(x) - x t + log(1 + e^-|x|) has kinks
    at 0 whose subgradients give the wrong derivative there.)

    Args:
        logits: x, any shape.
        targets: t in [0, 1] of exactly the shape of ``logits``; constants.
        reduction: "mean" (over all elements), "sum", or "none".

    Raises:
        ShapeError: if the shapes differ.
        InvalidArgumentError: targets outside [0, 1] (or NaN), or an unknown reduction.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.losses import binary_cross_entropy_with_logits
        >>> x = Tensor([0.0, 1e4], requires_grad=True)
        >>> loss = binary_cross_entropy_with_logits(x, [1.0, 0.0], reduction="sum")
        >>> round(loss.item(), 4)   # ln 2 + 1e4
        10000.6934
        >>> loss.backward(); x.grad.tolist()   # sigma(x) - t
        [-0.5, 1.0]
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    logits = _as_tensor(logits, op, "logits")
    t = _constant(targets, logits.dtype, op, "targets")
    _check_same_shape(logits.shape, t.shape, op, "logits and targets")
    _check_unit_interval(t, op, "targets", _TARGET_HINT)
    pair = Tensor.stack([logits, Tensor.zeros_like(logits)], axis=-1).log_softmax(axis=-1)
    log_sig, log_sig_neg = pair[..., 0], pair[..., 1]
    return _reduce(-(t * log_sig + (1 - t) * log_sig_neg), reduction, op)


# ----------------------------------------------------------------------------- margins


@scoped
def hinge_loss(scores: Any, labels: Any, reduction: str = "mean") -> Tensor:
    """Hinge loss of scores s against labels y in {-1, +1}: L = max(0, 1 - y s) per element.

    Zero once a sample is on the right side with margin (y s >= 1). At the kink y s = 1 the
    gradient is 0 (the subgradient relu uses); elsewhere it is -y where y s < 1.

    Args:
        scores: s, any shape: (N,), or (N, 1) straight from a single-output model.
        labels: y in {-1, +1} of the shape of ``scores`` (labels of shape (N,) also fit
            scores of shape (N, 1)); constants.
        reduction: "mean" (over all elements), "sum", or "none".

    Raises:
        ShapeError: if the shapes differ.
        InvalidArgumentError: labels other than -1 and +1 (with a hint for {0, 1} labels), or
            an unknown reduction.

    Example:
        >>> from tinygrad_edu.losses import hinge_loss
        >>> hinge_loss([2.0, 0.5, -1.0], [1, 1, 1], reduction="none").tolist()
        [0.0, 0.5, 2.0]
    """
    op = "hinge_loss"
    _check_reduction(reduction, op)
    scores = _as_tensor(scores, op, "scores")
    values = _labels_array(labels, op)
    if scores.ndim == 2 and scores.shape[1] == 1 and values.shape == scores.shape[:1]:
        values = values.reshape(scores.shape)  # one label per row of a single-output model
    _check_same_shape(scores.shape, values.shape, op, "scores and labels")
    bad = ~((values == 1) | (values == -1))
    if bad.any():
        hint = ""
        if np.all((values == 0) | (values == 1)):
            hint = " These look like {0, 1} labels: map them with y = 2 * y - 1."
        raise InvalidArgumentError(
            f"{op}: labels must be -1 or +1; got {_show(values[bad])}.{hint}"
        )
    y = values.astype(scores.dtype)
    return _reduce((1 - y * scores).relu(), reduction, op)


@scoped
def multiclass_hinge_loss(
    scores: Any, labels: Any, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """The multiclass SVM loss: L = sum_{j != y} max(0, s_j - s_y + margin) per sample.

    Each wrong class j costs how far its score comes within ``margin`` of the true class's
    score s_y (or beyond it). The term j = y (always equal to ``margin``) is left out.

    Args:
        scores: s of shape (N, C), or (C,) for one sample.
        labels: integer class indices in [0, C) of shape (N,) (a scalar for one sample);
            whole-number floats are accepted. Constants.
        margin: Delta >= 0, the required lead of the true class.
        reduction: "mean" (over samples), "sum", or "none" (shape (N,)).

    Raises:
        ShapeError: scores not 1-D or 2-D, or labels not of shape (N,).
        InvalidArgumentError: labels outside [0, C) or not whole numbers, a negative or
            non-finite margin, or an unknown reduction.

    Example:
        >>> from tinygrad_edu.losses import multiclass_hinge_loss
        >>> s = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0]]   # CS231n's cat and car scores
        >>> [round(v, 4) for v in multiclass_hinge_loss(s, [0, 1], reduction="none").tolist()]
        [2.9, 0.0]
    """
    op = "multiclass_hinge_loss"
    _check_reduction(reduction, op)
    margin = _check_margin(margin, op)
    scores = _as_tensor(scores, op, "scores")
    _check_class_scores(scores, op, "scores")
    values = _labels_array(labels, op)
    batch, n_classes = scores.shape[:-1], scores.shape[-1]
    if values.shape != batch:
        raise ShapeError(
            f"{op}: scores have shape {scores.shape}, so labels must be class indices of shape "
            f"{batch}; got labels of shape {values.shape}"
        )
    idx = _class_indices(values, n_classes, op)
    true_score = _pick(scores, idx)
    if scores.ndim == 2:
        true_score = true_score.unsqueeze(-1)
    # The mask removes the j = y term; its value (margin) would otherwise add a constant.
    wrong = np.ones(scores.shape, dtype=scores.dtype)
    if scores.ndim == 2:
        wrong[np.arange(scores.shape[0]), idx] = 0
    else:
        wrong[int(idx)] = 0
    per_sample = ((scores - true_score + margin).relu() * wrong).sum(axis=-1)
    return _reduce(per_sample, reduction, op)


@scoped
def max_margin_loss(
    s_true: Any, s_corrupt: Any, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """The course's max-margin objective J = max(Delta + s_c - s, 0), per pair of scores.

    The true window's score s should beat the corrupt window's score s_c by at least the
    margin Delta (1 in the notes); below that, dJ/ds = -1 and dJ/ds_c = +1, beyond it both
    are 0 (also at the kink s - s_c = Delta).

    Args:
        s_true: scores s of the true examples, any shape.
        s_corrupt: scores s_c of the corrupt examples, of exactly the shape of ``s_true``.
            Both are differentiable.
        margin: Delta >= 0.
        reduction: "mean" (over all pairs), "sum", or "none".

    Raises:
        ShapeError: if the shapes differ.
        InvalidArgumentError: a negative or non-finite margin, or an unknown reduction.

    Example:
        >>> from tinygrad_edu.losses import max_margin_loss
        >>> max_margin_loss([3.0, 1.0, 0.0], [1.0, 0.5, 0.5], reduction="none").tolist()
        [0.0, 0.5, 1.5]
    """
    op = "max_margin_loss"
    _check_reduction(reduction, op)
    margin = _check_margin(margin, op)
    if isinstance(s_corrupt, Tensor) and not isinstance(s_true, Tensor):
        s_corrupt = _as_tensor(s_corrupt, op, "s_corrupt")
        s_true = _as_tensor(s_true, op, "s_true", like=s_corrupt)
    else:
        s_true = _as_tensor(s_true, op, "s_true")
        s_corrupt = _as_tensor(s_corrupt, op, "s_corrupt", like=s_true)
    _check_same_shape(s_true.shape, s_corrupt.shape, op, "s_true and s_corrupt")
    return _reduce((margin + s_corrupt - s_true).relu(), reduction, op)


# ----------------------------------------------------------------------------- regularisation


@scoped
def l2_penalty(params: Any, lam: float, n: float) -> Tensor:
    """The L2 regularisation term lambda / (2 n) * sum_w w^2 (course notes: L = L0 + this).

    Its gradient is (lambda / n) w for every weight w, so a gradient step rescales each weight
    by (1 - eta lambda / n): weight decay. The sum is over every element of every tensor in
    ``params``; to leave biases unpenalised, pass only the weights.

    Args:
        params: an iterable of Tensors (e.g. ``model.parameters()``), a Module (its
            ``parameters()`` are used), or a single Tensor.
        lam: lambda >= 0, the regularisation strength.
        n: n > 0, the number of training examples.

    Returns:
        A scalar Tensor (0 for an empty ``params``).

    Raises:
        InvalidArgumentError: lam negative or not finite, n not positive and finite, or an
            element of ``params`` that is not a Tensor.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.losses import l2_penalty
        >>> w = Tensor([[1.0, -2.0], [0.0, 3.0]], requires_grad=True)
        >>> penalty = l2_penalty([w], lam=0.5, n=2)   # 0.5 / 4 * 14
        >>> penalty.item()
        1.75
        >>> penalty.backward(); w.grad.tolist()   # (lam / n) w
        [[0.25, -0.5], [0.0, 0.75]]
    """
    op = "l2_penalty"
    for value, name, ok in ((lam, "lam", "finite and >= 0"), (n, "n", "finite and > 0")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidArgumentError(f"{op}: {name} must be a number ({ok}); got {value!r}")
    if not (math.isfinite(lam) and lam >= 0):
        raise InvalidArgumentError(f"{op}: lam must be finite and >= 0; got {lam}")
    if not (math.isfinite(n) and n > 0):
        raise InvalidArgumentError(
            f"{op}: n (the number of training examples) must be finite and > 0; got {n}"
        )
    if isinstance(params, Tensor):
        params = [params]
    elif callable(getattr(params, "parameters", None)):
        params = params.parameters()
    if not isinstance(params, Iterable):
        raise InvalidArgumentError(
            f"{op}: params must be an iterable of Tensors (e.g. model.parameters()); got "
            f"{type(params).__name__}"
        )
    params = list(params)  # a generator can be walked only once: check, then compute
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise InvalidArgumentError(
                f"{op}: params must be Tensors; item {i} is a {type(p).__name__}"
            )
    if not params:
        return Tensor(0.0)
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total * (lam / (2 * n))
