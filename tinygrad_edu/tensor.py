"""The Tensor: a numpy array that remembers how it was computed.

A Tensor holds its value in ``.data`` (a numpy array, never a copy to keep in sync) and, once a
backward pass has reached it, its gradient in ``.grad``. Every operation on a Tensor that
requires grad is recorded by the operation's :class:`~tinygrad_edu.autograd.Function` (in
``ops.py``, forward and backward side by side); :meth:`Tensor.backward` runs reverse-mode
backprop over the recorded graph.

This file holds the data, the constructors, and one method per operation that checks its
arguments and calls the operation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .errors import BackwardError, DTypeError, IndexingError, InvalidArgumentError, ShapeError

# ----------------------------------------------------------------------------- default dtype

_default_dtype: type = np.float32

# One clock numbers both events the engine must order: recording an operation (its Function
# takes the next number, and creation order is a topological order of the graph) and changing
# a tensor's data in place (the tensor's version takes the next number). An operation whose
# number is below an input's version recorded that input before it changed.
_clock = itertools.count(1)
_last_change = [0]  # the number of the most recent in-place change anywhere


def get_default_dtype() -> type:
    """The float dtype given to numbers, lists and integer arrays (float32 unless set)."""
    return _default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Set the default float dtype: ``np.float32`` or ``np.float64``.

    Example:
        >>> import numpy as np, tinygrad_edu as tg
        >>> tg.set_default_dtype(np.float64); tg.Tensor([1, 2]).dtype
        dtype('float64')
        >>> tg.set_default_dtype(np.float32)
    """
    global _default_dtype
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise DTypeError(f"set_default_dtype: expected np.float32 or np.float64, got {dt}")
    _default_dtype = dt.type


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """The array a Tensor wraps: floating arrays keep their dtype, the rest get the default."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f":
        return np.asarray(data)
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise ShapeError(f"Tensor(data): {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise DTypeError(
            f"Tensor(data): expected numbers, a nested list of numbers or a numeric numpy "
            f"array; got {type(data).__name__} of dtype {arr.dtype}"
        )
    return arr.astype(_default_dtype)


def _is_int(n: Any) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def _shape_arg(shape: tuple[Any, ...], op: str = "shape") -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``; every entry must be an integer."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    bad = [n for n in shape if not _is_int(n)]
    if bad:
        raise InvalidArgumentError(
            f"{op}: sizes and axes must be integers; got {bad[0]!r} in {tuple(shape)}"
        )
    return tuple(int(n) for n in shape)


def _rng(rng: Any) -> np.random.Generator:
    """A numpy Generator from ``None`` (fresh entropy), an int seed, or a Generator."""
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator; got {rng!r}")


def _normalize_axis(axis: int, ndim: int, op: str) -> int:
    if not _is_int(axis):
        raise InvalidArgumentError(f"{op}: an axis must be an integer; got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dims")
    return axis % ndim


def _normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None, an int or a tuple of ints -> None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    if _is_int(axis):
        axes: tuple[Any, ...] = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise InvalidArgumentError(
            f"{op}: axis must be None, an integer or a tuple of integers; got {axis!r}"
        )
    out = tuple(sorted(_normalize_axis(a, ndim, op) for a in axes))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return out


def _operand(other: Any, like: Tensor) -> Any:
    """The other side of an operator: Tensors and arrays as they are, lists as arrays."""
    if other.__class__ in _SEQUENCES:
        return np.asarray(other, dtype=like.data.dtype)
    return other


_SEQUENCES = (list, tuple)


def _exact(data: np.ndarray, requires_grad: bool) -> Tensor:
    """A Tensor of exactly this array's dtype (constructors choose the dtype themselves)."""
    return Tensor(data, requires_grad=requires_grad, dtype=data.dtype)


def _as_tensor(out: Any) -> Tensor:
    """Operations given only constants return arrays; the Tensor API returns Tensors."""
    return out if isinstance(out, Tensor) else Tensor(out)


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An n-dimensional array that records operations for reverse-mode differentiation.

    Args:
        data: a number, a nested list of numbers or a numpy array. Floating arrays keep their
            dtype (and are not copied); everything else becomes the default float dtype.
        requires_grad: whether backprop should compute ``.grad`` for this tensor.
        dtype: force a dtype (only floating tensors may require grad).
        name: a label, shown in ``repr`` and in drawings of the graph.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad.tolist()
        [2.0, 4.0, 6.0]
    """

    __slots__ = (
        "_data",
        "grad",
        "requires_grad",
        "name",
        "_ctx",
        "_retains_grad",
        "_version",
        "__weakref__",
    )

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self._init(_to_array(data, dtype))
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, data: np.ndarray) -> None:
        """Set every slot (``Function.apply`` does the same inline for speed)."""
        self._data = data
        self.grad: Any = None
        self.requires_grad = False
        self.name: str | None = None
        self._ctx: Any = None
        self._retains_grad = False
        self._version: list[int] | None = None  # made when first needed: see _bump_version

    # ------------------------------------------------------------------ data and its version

    @property
    def data(self) -> np.ndarray:
        """The value: a numpy array (the tensor's own storage, not a copy)."""
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        # Assignment, including `t.data -= x` (which assigns the same array back), counts as
        # an in-place change: a recorded graph that saved this tensor must not use it.
        self._data = value if isinstance(value, np.ndarray) else np.asarray(value)
        self._bump_version()

    def _bump_version(self) -> None:
        """Mark the data as changed in place (optimisers and loaders call this after writing).

        ``_version[0]`` is a number from the global clock, so it only grows: the engine
        compares it with the number an operation took when it recorded this tensor. The
        one-element list is shared by tensors that share memory (``detach()``, reshapes,
        transposes, slices), so changing one of them marks all of them changed. ``None``
        means never changed and never shared (most tensors: no list is made for them).
        """
        stamp = next(_clock)
        _last_change[0] = stamp
        self._shared_version()[0] = stamp

    def _shared_version(self) -> list[int]:
        """This tensor's version cell, made on first use (to be shared or stamped)."""
        if self._version is None:
            self._version = [0]
        return self._version

    # ------------------------------------------------------------------ attributes

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded operation."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The Function that produced this tensor (None for leaves)."""
        return self._ctx

    @property
    def T(self) -> Tensor:  # noqa: N802  (numpy's name)
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return self.transpose()

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self. Only floating tensors can."""
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(
                f"only floating-point tensors can require gradients; this one has dtype "
                f"{self.data.dtype}. Convert it first: t.astype(np.float64)."
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` of this intermediate tensor after backward (leaves always keep it)."""
        self._retains_grad = True
        return self

    # ------------------------------------------------------------------ conversion

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (``.data`` itself, not a copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ShapeError(
                f"item(): only one-element tensors convert to a Python number; got shape "
                f"{self.shape}. Reduce it first, e.g. t.sum().item()."
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (not a copy), cut from the graph (no grad)."""
        out = Tensor.__new__(Tensor)
        out._init(self.data)
        out.name = self.name
        out._version = self._shared_version()  # same memory, same version: _bump_version
        return out

    def astype(self, dtype: Any) -> Tensor:
        """Convert to another dtype (differentiable between float dtypes)."""
        if np.dtype(dtype) == self.data.dtype:
            return self
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def zero_grad(self) -> None:
        """Forget the gradient: ``.grad`` becomes None."""
        self.grad = None

    def backward(
        self, grad: Any = None, create_graph: bool = False, retain_graph: bool = False
    ) -> None:
        """Backpropagate from this tensor; add dL/dleaf to ``.grad`` of every leaf needing it.

        Args:
            grad: dL/dself, needed unless this tensor has one element (then 1).
            create_graph: record the backward pass itself, so that the gradients (Tensors in
                ``.grad``) can be differentiated again. Implies ``retain_graph``.
            retain_graph: keep the graph for another backward; otherwise what only this
                pass needed is released and a second backward raises (the graph's structure
                and values stay while the output lives, so it can still be drawn).

        After a plain pass every leaf's ``.grad`` is a numpy array of its own shape and dtype
        (0-d for a 0-d tensor); after ``create_graph=True`` it is a Tensor with its own
        graph. Each pass adds to what earlier passes left, in its own mode's type.
        """
        autograd.backward(self, grad, create_graph=create_graph, retain_graph=retain_graph)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """numpy's conversion protocol, with its copy rules: ``np.array(t)`` copies.

        ``copy=True`` (what ``np.array`` asks) returns a new array, so writing into it can
        never change this tensor or a gradient computed from it; ``copy=None``
        (``np.asarray``) shares the memory when no conversion is needed; ``copy=False``
        shares it or raises ``ValueError``.
        """
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data
        if copy is False:
            raise ValueError(
                f"np.asarray(tensor, dtype={np.dtype(dtype)}, copy=False): the tensor's data is "
                f"{self.data.dtype}, so converting it needs a copy; pass copy=None or True"
            )
        return self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    __hash__ = object.__hash__  # identity, as for any mutable object; == compares values

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows the graph that computed this tensor (when a renderer exists)."""
        from .viz.jupyter import mimebundle

        return mimebundle(self)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = []
        if self.data.dtype != np.dtype(_default_dtype):
            extra.append(f"dtype={self.data.dtype}")
        if self.name is not None:
            extra.append(f"name={self.name!r}")
        if self._ctx is not None:
            extra.append(f"grad_fn={self._ctx.name}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"Tensor({', '.join([body, *extra])})"

    # ------------------------------------------------------------------ constructors

    @staticmethod
    def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A tensor of zeros: ``Tensor.zeros(2, 3)`` or ``Tensor.zeros((2, 3))``."""
        return _exact(np.zeros(_shape_arg(shape), dtype or _default_dtype), requires_grad)

    @staticmethod
    def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A tensor of ones."""
        return _exact(np.ones(_shape_arg(shape), dtype or _default_dtype), requires_grad)

    @staticmethod
    def full(shape: Any, value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A tensor of ``shape`` filled with ``value``."""
        data = np.full(_shape_arg((shape,)), value, dtype or _default_dtype)
        return _exact(data, requires_grad)

    @staticmethod
    def randn(
        *shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """Standard normal samples; ``rng`` is a numpy Generator or an int seed."""
        dt = np.dtype(dtype or _default_dtype)
        data = _rng(rng).standard_normal(_shape_arg(shape)).astype(dt, copy=False)
        return Tensor(data, requires_grad=requires_grad)

    @staticmethod
    def uniform(
        *shape: Any,
        low: float = 0.0,
        high: float = 1.0,
        rng: Any = None,
        dtype: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Samples from U(low, high); ``rng`` is a numpy Generator or an int seed."""
        dt = np.dtype(dtype or _default_dtype)
        data = _rng(rng).uniform(low, high, _shape_arg(shape)).astype(dt, copy=False)
        return Tensor(data, requires_grad=requires_grad)

    @staticmethod
    def arange(
        start: float, stop: float | None = None, step: float = 1, dtype: Any = None
    ) -> Tensor:
        """Evenly spaced values in [start, stop), as ``numpy.arange``."""
        if stop is None:
            start, stop = 0, start
        return _exact(np.arange(start, stop, step, dtype=dtype or _default_dtype), False)

    @staticmethod
    def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
        """The n x m identity matrix (square when m is None)."""
        return _exact(np.eye(n, m, dtype=dtype or _default_dtype), False)

    @staticmethod
    def zeros_like(t: Any, requires_grad: bool = False) -> Tensor:
        """Zeros with the shape and dtype of ``t`` (a Tensor or an array)."""
        return _exact(np.zeros_like(np.asarray(t)), requires_grad)

    @staticmethod
    def ones_like(t: Any, requires_grad: bool = False) -> Tensor:
        """Ones with the shape and dtype of ``t``."""
        return _exact(np.ones_like(np.asarray(t)), requires_grad)

    @staticmethod
    def full_like(t: Any, value: float, requires_grad: bool = False) -> Tensor:
        """``value`` everywhere, with the shape and dtype of ``t``."""
        return _exact(np.full_like(np.asarray(t), value), requires_grad)

    @staticmethod
    def randn_like(t: Any, rng: Any = None, requires_grad: bool = False) -> Tensor:
        """Standard normal samples with the shape and dtype of ``t``."""
        a = np.asarray(t)
        if a.dtype.kind != "f":
            raise DTypeError(f"randn_like: normal samples need a float dtype; t has {a.dtype}")
        return Tensor.randn(a.shape, rng=rng, dtype=a.dtype, requires_grad=requires_grad)

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, _operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(_operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, _operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(_operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, _operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(_operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, _operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(_operand(other, self), self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, _operand(other, self))

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    # ------------------------------------------------------------------ in-place updates

    def _inplace(self, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
        """``self <symbol>= other`` on the data itself, for updates such as w -= lr * g.

        Not recorded: allowed inside ``no_grad()`` or on tensors that do not require grad.
        """
        if self.requires_grad and autograd.is_grad_enabled():
            raise BackwardError(
                f"in-place '{symbol}=' on a tensor that requires grad (shape {self.shape}) "
                "cannot be recorded for backprop. Update parameters inside `with no_grad():`, "
                "or write out = t " + symbol + " other for a new tensor."
            )
        value = other.data if isinstance(other, Tensor) else _operand(other, self)
        try:
            ufunc(self._data, value, out=self._data, casting="same_kind")
        except ValueError as exc:
            raise ShapeError(
                f"in-place '{symbol}=': {exc} (tensor shape {self.shape}, other shape "
                f"{np.shape(value)}; the result must keep the tensor's shape)"
            ) from None
        self._bump_version()
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(np.add, other, "+")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(np.subtract, other, "-")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(np.multiply, other, "*")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(np.true_divide, other, "/")

    def __matmul__(self, other: Any) -> Tensor:
        return _matmul(self, _operand(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _matmul(_operand(other, self), self)

    def linear(self, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        """``self @ weight.T + bias`` as one operation (a fully connected layer, batch in rows).

        Example:
            >>> from tinygrad_edu import Tensor
            >>> x = Tensor([[1.0, 2.0]])
            >>> x.linear(Tensor([[1.0, 1.0], [0.0, 2.0]]), Tensor([0.5, -1.0])).tolist()
            [[3.5, 3.0]]
        """
        w_shape = np.shape(weight)
        if len(w_shape) != 2 or self.ndim == 0 or self.shape[-1] != w_shape[1]:
            raise ShapeError(
                f"linear: x of shape {self.shape} needs a weight of shape (out, "
                f"{self.shape[-1] if self.ndim else '?'}); got {w_shape}"
            )
        if bias is not None and np.shape(bias) != (w_shape[0],):
            raise ShapeError(
                f"linear: bias must have shape ({w_shape[0]},) for a weight of shape "
                f"{w_shape}; got {np.shape(bias)}"
            )
        return ops.Linear.apply(self, weight, bias)

    def matmul(self, other: Any) -> Tensor:
        """Matrix product ``self @ other``: vectors, matrices, batches (batch dims broadcast)."""
        return _matmul(self, _operand(other, self))

    # ------------------------------------------------------------------ comparisons (no gradient)

    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else _operand(other, self)
        try:
            # outside(): a jit replay compares the new values (a mask is not a constant).
            return Tensor(autograd.outside(ufunc, self.data, other), dtype=np.bool_)
        except ValueError as exc:
            symbol = _COMPARISON_SYMBOLS[ufunc]
            raise ShapeError(
                f"comparison {symbol}: {exc} (shapes {self.shape} and {np.shape(other)}). "
                + ops.BROADCAST
            ) from None

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.not_equal, other)

    # ------------------------------------------------------------------ elementwise functions

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi] (either bound may be None)."""
        if lo is None and hi is None:
            raise InvalidArgumentError("clip(lo, hi): give at least one bound")
        for bound in (lo, hi):
            if bound is not None and not np.isfinite(bound):
                raise InvalidArgumentError(f"clip(lo, hi): bounds must be finite; got {bound}")
        if lo is not None and hi is not None and lo > hi:
            raise InvalidArgumentError(f"clip(lo, hi): lo ({lo}) must not exceed hi ({hi})")
        return ops.Clip.apply(self, lo=lo, hi=hi)

    # ------------------------------------------------------------------ activations

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        if not np.isfinite(slope):
            raise InvalidArgumentError(f"leaky_relu: slope must be finite; got {slope}")
        return ops.LeakyRelu.apply(self, slope=slope)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def hardtanh(self) -> Tensor:
        return ops.Hardtanh.apply(self)

    def softsign(self) -> Tensor:
        return ops.Softsign.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, finite for logits of any size."""
        return ops.Softmax.apply(self, axis=_normalize_axis(axis, self.ndim, "softmax"))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - log(sum(exp(x))) along ``axis``, finite for logits of any size."""
        return ops.LogSoftmax.apply(self, axis=_normalize_axis(axis, self.ndim, "log_softmax"))

    # ------------------------------------------------------------------ reductions

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = _normalize_axes(axis, self.ndim, "sum")
        return ops.Sum.apply(self, axis=axes, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        n = self._count(axis, "mean")  # checks the axes under this operation's name
        return self.sum(axis, keepdims) / n

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance: sum((x - mean)^2) / (n - ddof) over ``axis``."""
        n = self._count(axis, "var")
        if n - ddof <= 0:
            raise ShapeError(f"var: ddof={ddof} needs more than {ddof} elements; got {n}")
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) / (n - ddof)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Standard deviation: sqrt(var)."""
        self._count(axis, "std")
        return self.var(axis, keepdims, ddof).sqrt()

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Largest value over ``axis``; tied maxima share the gradient equally."""
        self._check_nonempty("max")
        return ops.Max.apply(self, axis=_normalize_axes(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Smallest value over ``axis``; tied minima share the gradient equally."""
        self._check_nonempty("min")
        return ops.Min.apply(self, axis=_normalize_axes(axis, self.ndim, "min"), keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """Index of the largest value (over the flattened tensor when axis is None).

        Not differentiable: returns an integer numpy array, e.g. predicted classes.
        """
        self._check_nonempty("argmax")
        if axis is not None:
            axis = _normalize_axis(axis, self.ndim, "argmax")
        return np.argmax(self.data, axis=axis)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, computed stably by shifting by the maximum."""
        self._count(axis, "logsumexp")
        shift = self.max(axis, keepdims=True).detach()
        out = (self - shift).exp().sum(axis, keepdims=True).log() + shift
        if keepdims:
            return out
        axes = _normalize_axes(axis, self.ndim, "logsumexp")
        return out.reshape(ops._drop_axes(self.shape, axes))

    def _count(self, axis: Any, op: str) -> int:
        axes = _normalize_axes(axis, self.ndim, op)
        if axes is None:
            return self.size
        return int(np.prod([self.shape[a] for a in axes]))

    def _check_nonempty(self, op: str) -> None:
        if self.data.size == 0:
            raise ShapeError(f"{op}: empty tensor of shape {self.shape} has no {op}")

    # ------------------------------------------------------------------ shape

    def reshape(self, *shape: Any) -> Tensor:
        """Same elements in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; -1 infers."""
        new = _shape_arg(shape, "reshape")
        if any(n < -1 for n in new) or new.count(-1) > 1:
            raise ShapeError(
                f"reshape: {new} is not a shape: sizes are non-negative, with at most one -1 "
                f"(inferred); the tensor has shape {self.shape} ({self.size} elements)"
            )
        return ops.Reshape.apply(self, shape=new)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes (reverse them when none are given)."""
        if not axes:
            return ops.Transpose.apply(self, axes=None)
        axes = _shape_arg(axes, "transpose")
        if sorted(_normalize_axis(a, self.ndim, "transpose") for a in axes) != list(
            range(self.ndim)
        ):
            raise ShapeError(
                f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of a "
                f"tensor of shape {self.shape}"
            )
        return ops.Transpose.apply(self, axes=tuple(a % self.ndim for a in axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        axes = list(range(self.ndim))
        a = _normalize_axis(axis1, self.ndim, "swapaxes")
        b = _normalize_axis(axis2, self.ndim, "swapaxes")
        axes[a], axes[b] = axes[b], axes[a]
        return ops.Transpose.apply(self, axes=tuple(axes))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the axes from ``start_dim`` to ``end_dim`` (all of them by default) into one."""
        if self.ndim == 0:
            for d in (start_dim, end_dim):
                if d not in (0, -1) or not _is_int(d):
                    raise ShapeError(f"flatten: dim {d!r} is out of range for a 0-d tensor")
            return self.reshape(1)
        lo = _normalize_axis(start_dim, self.ndim, "flatten")
        hi = _normalize_axis(end_dim, self.ndim, "flatten")
        if lo > hi:
            raise ShapeError(
                f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}) for a tensor "
                f"of shape {self.shape}"
            )
        shape = self.shape
        return self.reshape(shape[:lo] + (int(np.prod(shape[lo : hi + 1])),) + shape[hi + 1 :])

    def squeeze(self, axis: Any = None) -> Tensor:
        """Remove axes of length 1 (all of them, or those in ``axis``)."""
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _normalize_axes(axis, self.ndim, "squeeze") or ()
        for a in axes:
            if self.shape[a] != 1:
                raise ShapeError(
                    f"squeeze: axis {a} of a tensor of shape {self.shape} has length "
                    f"{self.shape[a]}, not 1"
                )
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at ``axis`` (negative counts from the end of the result)."""
        a = _normalize_axis(axis, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:a] + (1,) + self.shape[a:])

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` without copying; the gradient is summed back."""
        target = _shape_arg(shape, "expand")
        fits = len(target) >= self.ndim and all(
            n in (1, t) for n, t in zip(self.shape[::-1], target[::-1])
        )
        if not fits or any(t < 0 for t in target):
            raise ShapeError(
                f"expand: cannot broadcast shape {self.shape} to {target}: aligned from the "
                "right, each dimension must be 1 or equal the target's, and new axes go first"
            )
        return ops.Expand.apply(self, shape=target)

    def __getitem__(self, index: Any) -> Tensor:
        index = _index_arg(index)
        try:
            return ops.GetItem.apply(self, index=index)
        except IndexError as exc:
            raise IndexingError(f"indexing a tensor of shape {self.shape}: {exc}") from None

    # ------------------------------------------------------------------ joining and selecting

    @staticmethod
    def concatenate(ts: Sequence[Any], axis: int = 0) -> Tensor:
        """Join tensors along an existing axis; their other dimensions must agree."""
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
        if not ts:
            raise ShapeError("concatenate: needs at least one tensor")
        if len({t.ndim for t in ts}) != 1:
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ShapeError(f"concatenate: all tensors need the same number of dims; got {shapes}")
        axis = _normalize_axis(axis, ts[0].ndim, "concatenate")
        return ops.Concatenate.apply(*ts, axis=axis)

    @staticmethod
    def stack(ts: Sequence[Any], axis: int = 0) -> Tensor:
        """Join tensors of equal shape along a new axis."""
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
        if not ts:
            raise ShapeError("stack: needs at least one tensor")
        if len({t.shape for t in ts}) != 1:
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ShapeError(f"stack: all tensors need the same shape; got {shapes}")
        axis = _normalize_axis(axis, ts[0].ndim + 1, "stack")
        return Tensor.concatenate([t.unsqueeze(axis) for t in ts], axis)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Tensor:
        """``a`` where ``cond`` is true, else ``b`` (broadcast together); ``cond`` is constant."""
        # copy=False: a boolean mask stays the array a jit recording knows (see jit.py).
        mask = np.asarray(cond.data if isinstance(cond, Tensor) else cond).astype(bool, copy=False)
        return _as_tensor(ops.Where.apply(a, b, cond=mask))

    @staticmethod
    def maximum(a: Any, b: Any) -> Tensor:
        """Elementwise larger of ``a`` and ``b``; ties share the gradient equally."""
        return _as_tensor(ops.Maximum.apply(a, b))

    @staticmethod
    def minimum(a: Any, b: Any) -> Tensor:
        """Elementwise smaller of ``a`` and ``b``; ties share the gradient equally."""
        return _as_tensor(ops.Minimum.apply(a, b))

    # ------------------------------------------------------------------ numpy interoperability

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Let numpy's ufuncs (``np.exp(t)``, ``array * t``) act on Tensors and be recorded.

        Differentiable ufuncs become tensor operations; comparisons give boolean tensors;
        piecewise-constant ones (``np.sign``, ``np.isfinite`` ...) give plain arrays.
        """
        if method != "__call__" or kwargs:
            return NotImplemented
        if ufunc in _DIFFERENTIABLE_UFUNCS:
            return _DIFFERENTIABLE_UFUNCS[ufunc](*inputs)
        values = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if ufunc in _COMPARISON_UFUNCS:
            return Tensor(ufunc(*values), dtype=np.bool_)
        if ufunc in _CONSTANT_UFUNCS:
            return ufunc(*values)
        return NotImplemented


def _index_arg(index: Any) -> Any:
    """Tensors inside an index become their (integer or boolean) arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, Tensor):
            if p.dtype.kind not in "biu":
                raise IndexingError(
                    f"an index tensor must hold integers or booleans; got dtype {p.dtype}. "
                    "Make it with dtype=np.int64, or index with a numpy array."
                )
            p = p.data
        out.append(p)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _matmul(x: Any, y: Any) -> Tensor:
    """Matrix product of 1-D, 2-D or batched operands (at least one a Tensor)."""
    xs, ys = np.shape(x), np.shape(y)
    if not xs or not ys:
        raise ShapeError(
            f"matmul: operands must have at least 1 dim; got shapes {xs} and {ys}. "
            "Use * to multiply by a scalar."
        )
    k_y = ys[-2] if len(ys) > 1 else ys[0]
    # The user's names where the tensors have one (W @ x), else those of x @ y.
    a, b = _operand_name(x, "x"), _operand_name(y, "y")
    if a == b and x is not y:
        a, b = f"{a} (left)", f"{b} (right)"
    if xs[-1] != k_y:
        raise ShapeError(
            f"matmul: inner dimensions differ: {a} has shape {xs}, {b} has shape {ys}; "
            f"{a}.shape[-1] ({xs[-1]}) must equal {b}.shape[{-2 if len(ys) > 1 else 0}] ({k_y})"
        )
    try:
        np.broadcast_shapes(xs[:-2], ys[:-2])
    except ValueError:
        raise ShapeError(
            f"matmul: the batch dimensions of {a} {xs} and {b} {ys} (all but the last two: "
            f"{xs[:-2]} and {ys[:-2]}) do not broadcast: aligned from the right, each must be "
            "equal or 1"
        ) from None
    if len(xs) > 1 and len(ys) > 1:
        return ops.Matmul.apply(x, y)
    # Vectors become a row (x) or a column (y) for the product, then lose that axis again;
    # inside the scope "@", which drawings leave out (these reshapes are not the user's).
    with autograd.scope("@"):
        x2 = _named_like(x.reshape((1,) + xs), x) if len(xs) == 1 else x
        y2 = _named_like(y.reshape(ys + (1,)), y) if len(ys) == 1 else y
        out = ops.Matmul.apply(x2, y2)
        drop = out.ndim - 2 if len(xs) == 1 else None
        keep = [n for i, n in enumerate(out.shape) if i != drop]
        out = out.reshape(tuple(keep[:-1]) if len(ys) == 1 else tuple(keep))
    return out


def _named_like(reshaped: Any, operand: Any) -> Any:
    """A constant operand's row or column keeps the operand's name (traces say x, not t1)."""
    if isinstance(reshaped, Tensor) and reshaped._ctx is None and isinstance(operand, Tensor):
        reshaped.name = operand.name
    return reshaped


def _operand_name(value: Any, otherwise: str) -> str:
    name = getattr(value, "name", None) if isinstance(value, Tensor) else None
    return name if isinstance(name, str) and name else otherwise


from . import autograd, ops  # noqa: E402  (both need the Tensor class defined above)

_DIFFERENTIABLE_UFUNCS = {
    np.add: ops.Add.apply,
    np.subtract: ops.Sub.apply,
    np.multiply: ops.Mul.apply,
    np.true_divide: ops.Div.apply,
    np.power: ops.Pow.apply,
    np.negative: ops.Neg.apply,
    np.exp: ops.Exp.apply,
    np.log: ops.Log.apply,
    np.sqrt: ops.Sqrt.apply,
    np.absolute: ops.Abs.apply,
    np.tanh: ops.Tanh.apply,
    np.maximum: Tensor.maximum,
    np.minimum: Tensor.minimum,
    np.matmul: _matmul,
}
_COMPARISON_SYMBOLS = {
    np.less: "<", np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=",
    np.equal: "==", np.not_equal: "!=",
}
_COMPARISON_UFUNCS = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
}
_CONSTANT_UFUNCS = {
    np.sign, np.isnan, np.isinf, np.isfinite, np.floor, np.ceil, np.rint, np.signbit,
}
