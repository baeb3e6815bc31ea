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

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import autograd, ops
from .autograd import apply_binary, apply_unary
from .checks import REAL_KINDS, array_or_object, int_pair, is_int
from .errors import (
    AxisError,
    BackwardError,
    DTypeError,
    IndexingError,
    InvalidArgumentError,
    ShapeError,
)
from .seeds import as_generator

# ----------------------------------------------------------------------------- default dtype

_default_dtype: type = np.float32


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


# A Tensor holds the dtype kinds of checks.REAL_KINDS: booleans, integers (labels, masks,
# comparisons) and real floats. Complex numbers, strings and Python objects are refused wherever
# data enters: numpy would carry them through the operations and give silently wrong (or NaN)
# gradients.


def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """The array a Tensor wraps: floating arrays keep their dtype, the rest get the default."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind not in REAL_KINDS:
            raise DTypeError(
                f"Tensor(data, dtype={dt}): a tensor holds real numbers only (float, integer "
                "or bool dtypes); complex, string and object dtypes are not supported"
            )
        try:
            return np.asarray(data, dtype=dt)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DTypeError(f"Tensor(data, dtype={dt}): {exc}") from None
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f":
        return np.asarray(data)
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise ShapeError(f"Tensor(data): {exc}") from None
    if arr.dtype.kind == "O" and not isinstance(data, np.ndarray) and _all_numbers(arr):
        # Python ints too big for int64 (2**100) make an object array: as floats they fit.
        try:
            arr = np.asarray(data, dtype=np.float64)
        except OverflowError:  # beyond float64 too (2**1024)
            raise DTypeError(
                "Tensor(data): a number in data is too large even for float64 (about 1.8e308)"
            ) from None
    if arr.dtype.kind not in REAL_KINDS:
        raise DTypeError(
            f"Tensor(data): expected real numbers, a nested list of them or a real numeric "
            f"numpy array; got {type(data).__name__} of dtype {arr.dtype}"
        )
    return arr.astype(_default_dtype)


def _all_numbers(arr: np.ndarray) -> bool:
    """Whether every element of an object array is a Python int or float (not a bool)."""
    return all(type(v) is int or type(v) is float for v in arr.flat)


def _real(x: Any, op: str) -> Any:
    """``x`` itself, once complex, string and object values are refused (Tensors are real)."""
    if x.__class__ is Tensor or x.__class__ is float or x.__class__ is int:
        return x
    try:
        kind = np.asarray(x).dtype.kind
    except ValueError:  # ragged nested lists
        kind = "O"
    if kind not in REAL_KINDS:
        raise DTypeError(
            f"{op}: got {type(x).__name__} {x!r:.40}; tensors compute with real numbers only "
            "(complex, string and object values are not supported)"
        )
    return x


def _checked_value(value: Any, t: Tensor, what: str) -> np.ndarray:
    """``value`` as an array of real numbers, for ``t.data = value`` and ``t.grad = value``."""
    if isinstance(value, np.ndarray) and value.dtype.kind in REAL_KINDS:
        return value
    arr = array_or_object(value)
    if arr.dtype.kind not in REAL_KINDS:
        raise DTypeError(
            f"{what}: expected an array of real numbers for the tensor of shape {t.shape}; "
            f"got {type(value).__name__} of dtype {arr.dtype}"
        )
    return arr


def _shape_arg(shape: tuple[Any, ...], op: str = "shape") -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``; every entry must be an integer."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    bad = [n for n in shape if not is_int(n)]
    if bad:
        raise InvalidArgumentError(
            f"{op}: sizes and axes must be integers; got {bad[0]!r} in {tuple(shape)}"
        )
    return tuple(int(n) for n in shape)


def _normalize_axis(axis: int, ndim: int, op: str) -> int:
    if not is_int(axis):
        raise InvalidArgumentError(f"{op}: an axis must be an integer; got {axis!r}")
    if not -ndim <= axis < ndim:
        raise AxisError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dims")
    return axis % ndim


def _normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None, an int or a tuple of ints -> None or a sorted tuple of non-negative axes.

    A 0-d tensor accepts axis 0 and -1 as PyTorch does (reducing over them changes nothing):
    they give the empty tuple.
    """
    if axis is None:
        return None
    if ndim == 0:
        parts = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        if len(parts) <= 1 and all(is_int(a) and a in (0, -1) for a in parts):
            return ()
    if is_int(axis):
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


def _alias(op: str, name: str, value: Any, torch_name: str, torch_value: Any, default: Any) -> Any:
    """One keyword under numpy's name or PyTorch's (``axis``/``dim``, ``keepdims``/``keepdim``).

    PyTorch's spelling wins when given; giving both with different values is an error.
    """
    if torch_value is None:
        return value
    if value is not default and value != default and value != torch_value:
        raise InvalidArgumentError(
            f"{op}: {name}={value!r} and {torch_name}={torch_value!r} disagree; give one of "
            f"them ({torch_name} is PyTorch's name for {name})"
        )
    return torch_value


def _int_array(index: Any, op: str) -> np.ndarray:
    """An integer index array from a Tensor, an array or a list (floats holding integers too)."""
    values = np.asarray(index.data if isinstance(index, Tensor) else index)
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise IndexingError(f"{op}: the index must hold integers; got dtype {values.dtype}")
    return values


def _scalar_axis(t: Tensor, axis: Any) -> bool:
    """Whether ``axis`` is 0 or -1 of a 0-d tensor, which PyTorch reads as a tensor of one
    element along that axis (``Tensor(2.0).softmax()`` is 1)."""
    return t.ndim == 0 and is_int(axis) and axis in (0, -1)


def _reduction_args(op: str, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> tuple[Any, Any]:
    """``axis, keepdims`` of a reduction, given in numpy's or PyTorch's spelling."""
    return (
        _alias(op, "axis", axis, "dim", dim, None),
        _alias(op, "keepdims", keepdims, "keepdim", keepdim, False),
    )


def _operand(other: Any, like: Tensor) -> Any:
    """The other side of an operator: Tensors and arrays as they are, lists as arrays."""
    cls = other.__class__
    if cls is Tensor or cls is float or cls is int:  # the common cases, checked first
        return other
    if cls in _SEQUENCES:
        return np.asarray(_checked_value(other, like, "operand"), dtype=like.data.dtype)
    if isinstance(other, complex) or (
        isinstance(other, (np.ndarray, np.generic)) and other.dtype.kind not in REAL_KINDS
    ):
        raise DTypeError(
            f"an operation on a tensor of shape {like.shape} got {type(other).__name__} "
            f"{other!r:.40}: tensors compute with real numbers only (complex, string and "
            "object values are not supported)"
        )
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
        "_grad",
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
        """Set every slot (``Function.apply`` calls this for each result too)."""
        self._data = data
        self._grad: Any = None
        self.requires_grad = False
        self.name: str | None = None
        self._ctx: Any = None
        self._retains_grad = False
        self._version: list[int] | None = None  # made when first needed: see _bump_version

    # ------------------------------------------------------------------ data and its version

    @property
    def data(self) -> np.ndarray:
        """The value: a numpy array (the tensor's own storage, not a copy).

        ``t.data = value`` replaces the array (the tensor then holds ``value`` itself, of any
        shape). Only real numbers are accepted (complex, string and object arrays raise
        DTypeError), and a tensor that requires grad accepts floating-point data only, as in
        PyTorch: ``t.data = np.array([1, 2])`` raises instead of making later gradients
        integers; convert first, ``t.data = np.array([1, 2], dtype=np.float32)``.

        Warning:
            Writing *into* this array (``t.data[...] = v``, ``t.data[0] = 1``,
            ``np.copyto(t.data, v)``, ``out=t.data``) is not seen by autograd, exactly as
            with PyTorch's ``.data``: a graph recorded before the write backpropagates with
            the new values, so its gradients are silently wrong. After ``y = (x * x).sum()``,
            ``x.data[...] = 10`` makes ``y.backward()`` give ``[20., 20.]``, not ``2 x``.
            Numpy cannot tell the library about such writes, and checking every saved array
            at every backward would cost a pass over all of them.

            The changes autograd does track raise :class:`~tinygrad_edu.errors.InPlaceError`
            at backward instead: assigning ``t.data = new`` (also ``t.data -= x``), the
            in-place operators (``t -= x``) inside ``no_grad()``, every optimiser's ``step``
            and ``load_state_dict``. Use those, or change data only after ``backward()``.

        After a ``backward()`` without ``retain_graph``, the output of an operation that can
        be computed again cheaply and exactly (a ReLU of another operation's output) gives
        its array back to the memory pool; reading the value computes it again, bit for bit
        (see :attr:`Function.recompute <tinygrad_edu.autograd.Function.recompute>`).
        """
        data = self._data
        if data is None:  # released by a backward pass: computed again from the inputs
            data = autograd.restore_value(self)
        return data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        # Assignment, including `t.data -= x` (which assigns the same array back), counts as
        # an in-place change: a recorded graph that saved this tensor must not use it.
        # A tensor that requires grad keeps floating data (PyTorch's rule for .data): an
        # integer array would make later gradients integers. It is refused, not converted,
        # so that `t.data is value` stays true for what is accepted.
        value = _checked_value(value, self, "t.data = value")
        if self.requires_grad and value.dtype.kind != "f":
            raise DTypeError(
                f"t.data = value: the tensor requires grad, so its data must be floating "
                f"point; got an array of dtype {value.dtype}. Convert it first: "
                f"t.data = value.astype(np.{self.dtype})"
            )
        self._data = value
        self._bump_version()

    @property
    def grad(self) -> Any:
        """dL/dself after backward: an array of ``.data``'s shape (a Tensor after a backward
        with ``create_graph=True``), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        # Checked as PyTorch checks an assigned grad: None, or real numbers of the tensor's
        # shape. An array of another float dtype is converted to the tensor's dtype.
        data = self._data
        if data is None:  # a released value (see the data property)
            data = self.data
        if value is None or (
            value.__class__ is np.ndarray
            and value.dtype == data.dtype
            and value.shape == data.shape
        ):
            self._grad = value  # the common case (every backward pass): nothing to convert
            return
        if isinstance(value, Tensor):
            if value.dtype.kind != "f":
                raise DTypeError(f"t.grad = value: a gradient must be floating point; got "
                                 f"a Tensor of dtype {value.dtype}")
        else:
            value = _checked_value(value, self, "t.grad = value")
            if data.dtype.kind == "f":
                value = value.astype(data.dtype, copy=False)
        if value.shape != data.shape:
            raise ShapeError(
                f"t.grad = value: the gradient must have the tensor's shape {self.shape}; got "
                f"shape {value.shape}"
            )
        self._grad = value

    def _bump_version(self) -> None:
        """Mark the data as changed in place (optimisers and loaders call this after writing).

        ``_version[0]`` is a number from the global clock, so it only grows: the engine
        compares it with the number an operation took when it recorded this tensor. The
        one-element list is shared by tensors that share memory (``detach()``, reshapes,
        transposes, slices), so changing one of them marks all of them changed. ``None``
        means never changed and never shared (most tensors: no list is made for them).
        """
        stamp = next(autograd.clock)
        autograd.last_change[0] = stamp
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
        data = np.full(_shape_arg((shape,)), _real(value, "Tensor.full"), dtype or _default_dtype)
        return _exact(data, requires_grad)

    @staticmethod
    def randn(
        *shape: Any, rng: Any = None, dtype: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """Standard normal samples; ``rng`` is a numpy Generator or an int seed."""
        dt = np.dtype(dtype or _default_dtype)
        data = as_generator(rng).standard_normal(_shape_arg(shape)).astype(dt, copy=False)
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
        for name, bound in (("low", low), ("high", high)):
            if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer,
                                                                  np.floating)):
                raise InvalidArgumentError(
                    f"Tensor.uniform: {name} must be a real number; got {bound!r}"
                )
        if not (np.isfinite(low) and np.isfinite(high) and low <= high):
            raise InvalidArgumentError(
                f"Tensor.uniform: low and high must be finite numbers with low <= high; got "
                f"low={low}, high={high}"
            )
        dt = np.dtype(dtype or _default_dtype)
        data = as_generator(rng).uniform(low, high, _shape_arg(shape)).astype(dt, copy=False)
        return Tensor(data, requires_grad=requires_grad)

    @staticmethod
    def arange(
        start: float, stop: float | None = None, step: float = 1, dtype: Any = None
    ) -> Tensor:
        """Evenly spaced values in [start, stop), as ``numpy.arange``."""
        if stop is None:
            start, stop = 0, start
        if step == 0:
            raise InvalidArgumentError(
                f"Tensor.arange({start}, {stop}, step=0): the step must not be zero (it would "
                "never reach stop); use a positive step to count up, a negative one to count down"
            )
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
        return apply_binary(ops.Add, self, _operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return apply_binary(ops.Add, _operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return apply_binary(ops.Sub, self, _operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return apply_binary(ops.Sub, _operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return apply_binary(ops.Mul, self, _operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return apply_binary(ops.Mul, _operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply_binary(ops.Div, self, _operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply_binary(ops.Div, _operand(other, self), self)

    def __pow__(self, other: Any) -> Tensor:
        base = self._floating()
        return apply_binary(ops.Pow, base, _operand(other, base))

    def __rpow__(self, other: Any) -> Tensor:
        exponent = self._floating()
        return apply_binary(ops.Pow, _operand(other, exponent), exponent)

    def _floating(self) -> Tensor:
        """Integer and boolean tensors as the default float dtype (where numpy's integer
        arithmetic would refuse, as for 2 ** -2), floating ones as they are."""
        return self if self.data.dtype.kind == "f" else self.astype(_default_dtype)

    def __mod__(self, other: Any) -> Tensor:
        return apply_binary(ops.Mod, self, _operand(other, self))

    def __rmod__(self, other: Any) -> Tensor:
        return apply_binary(ops.Mod, _operand(other, self), self)

    def __neg__(self) -> Tensor:
        return apply_unary(ops.Neg, self)

    def __pos__(self) -> Tensor:
        return self

    # PyTorch's method spellings of the operators.

    def add(self, other: Any) -> Tensor:
        """``self + other`` (PyTorch's spelling)."""
        return self + other

    def sub(self, other: Any) -> Tensor:
        """``self - other`` (PyTorch's spelling)."""
        return self - other

    def mul(self, other: Any) -> Tensor:
        """``self * other`` (PyTorch's spelling)."""
        return self * other

    def div(self, other: Any) -> Tensor:
        """``self / other`` (PyTorch's spelling)."""
        return self / other

    def pow(self, other: Any) -> Tensor:
        """``self ** other`` (PyTorch's spelling)."""
        return self**other

    def neg(self) -> Tensor:
        """``-self`` (PyTorch's spelling)."""
        return -self

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
            data = self.data
            ufunc(data, value, out=data, casting="same_kind")
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
        return apply_unary(ops.Exp, self)

    def log(self) -> Tensor:
        return apply_unary(ops.Log, self)

    def sqrt(self) -> Tensor:
        return apply_unary(ops.Sqrt, self)

    def abs(self) -> Tensor:
        return apply_unary(ops.Abs, self)

    def log2(self) -> Tensor:
        return apply_unary(ops.Log2, self)

    def exp2(self) -> Tensor:
        return apply_unary(ops.Exp2, self)

    def log1p(self) -> Tensor:
        """ln(1 + x), exact for tiny x."""
        return apply_unary(ops.Log1p, self)

    def expm1(self) -> Tensor:
        """e^x - 1, exact for tiny x."""
        return apply_unary(ops.Expm1, self)

    def square(self) -> Tensor:
        return self * self

    def reciprocal(self) -> Tensor:
        return 1 / self

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return 1 / self.sqrt()

    def erf(self) -> Tensor:
        """The error function, 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt."""
        return apply_unary(ops.Erf, self)

    def sin(self) -> Tensor:
        return apply_unary(ops.Sin, self)

    def cos(self) -> Tensor:
        return apply_unary(ops.Cos, self)

    def tan(self) -> Tensor:
        return apply_unary(ops.Tan, self)

    def sinh(self) -> Tensor:
        return apply_unary(ops.Sinh, self)

    def cosh(self) -> Tensor:
        return apply_unary(ops.Cosh, self)

    def arcsin(self) -> Tensor:
        return apply_unary(ops.Arcsin, self)

    def arccos(self) -> Tensor:
        return apply_unary(ops.Arccos, self)

    def arctan(self) -> Tensor:
        return apply_unary(ops.Arctan, self)

    def asin(self) -> Tensor:
        """PyTorch's name for :meth:`arcsin`."""
        return self.arcsin()

    def acos(self) -> Tensor:
        """PyTorch's name for :meth:`arccos`."""
        return self.arccos()

    def atan(self) -> Tensor:
        """PyTorch's name for :meth:`arctan`."""
        return self.arctan()

    # Rounding: piecewise constant, so the gradient is zero (as in PyTorch), not undefined.

    def sign(self) -> Tensor:
        return apply_unary(ops.Sign, self)

    def floor(self) -> Tensor:
        return apply_unary(ops.Floor, self)

    def ceil(self) -> Tensor:
        return apply_unary(ops.Ceil, self)

    def round(self, decimals: int = 0) -> Tensor:
        """Round to ``decimals`` places (the nearest integer by default), halves to even (as
        numpy and PyTorch)."""
        if not is_int(decimals):
            raise InvalidArgumentError(f"round: decimals must be an integer; got {decimals!r}")
        return ops.Round.apply(self, decimals=int(decimals))

    def trunc(self) -> Tensor:
        """Round toward zero."""
        return apply_unary(ops.Trunc, self)

    # Tests of the values: boolean tensors, no gradient.

    def isnan(self) -> Tensor:
        return Tensor(np.isnan(self.data), dtype=np.bool_)

    def isinf(self) -> Tensor:
        return Tensor(np.isinf(self.data), dtype=np.bool_)

    def isfinite(self) -> Tensor:
        return Tensor(np.isfinite(self.data), dtype=np.bool_)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """Linear interpolation ``self + weight * (end - self)`` (all three may be tensors).

        Example:
            >>> from tinygrad_edu import Tensor
            >>> Tensor([0.0, 10.0]).lerp(Tensor([10.0, 20.0]), 0.25).tolist()
            [2.5, 12.5]
        """
        return self + weight * (end - self)

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
        return apply_unary(ops.Relu, self)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        if not np.isfinite(slope):
            raise InvalidArgumentError(f"leaky_relu: slope must be finite; got {slope}")
        return ops.LeakyRelu.apply(self, slope=slope)

    def sigmoid(self) -> Tensor:
        return apply_unary(ops.Sigmoid, self)

    def tanh(self) -> Tensor:
        return apply_unary(ops.Tanh, self)

    def hardtanh(self) -> Tensor:
        return apply_unary(ops.Hardtanh, self)

    def softsign(self) -> Tensor:
        return apply_unary(ops.Softsign, self)

    def softplus(self) -> Tensor:
        """ln(1 + e^x), a smooth relu (finite for any x)."""
        return apply_unary(ops.Softplus, self)

    def gelu(self, approximate: str = "none") -> Tensor:
        """x * Phi(x), Phi the standard normal CDF; ``approximate="tanh"`` as PyTorch's."""
        if approximate == "none":
            return self * (0.5 + 0.5 * (self * math.sqrt(0.5)).erf())
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (self + 0.044715 * self * self * self)
            return 0.5 * self * (1 + inner.tanh())
        raise InvalidArgumentError(
            f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}"
        )

    def elu(self, alpha: float = 1.0) -> Tensor:
        """x for x > 0, alpha (e^x - 1) otherwise."""
        if not np.isfinite(alpha):
            raise InvalidArgumentError(f"elu: alpha must be finite; got {alpha}")
        return ops.Elu.apply(self, alpha=alpha)

    def selu(self) -> Tensor:
        """scale * elu(x, alpha) with the self-normalising constants (PyTorch's)."""
        return _SELU_SCALE * self.elu(_SELU_ALPHA)

    def silu(self) -> Tensor:
        """x * sigmoid(x) (also called swish)."""
        return self * self.sigmoid()

    def mish(self) -> Tensor:
        """x * tanh(softplus(x))."""
        return self * self.softplus().tanh()

    def relu6(self) -> Tensor:
        """min(max(x, 0), 6)."""
        return self.clip(0.0, 6.0)

    def hardsigmoid(self) -> Tensor:
        """0 below -3, 1 above 3, x / 6 + 1/2 between."""
        return (self.clip(-3.0, 3.0) + 3) / 6

    def hardswish(self) -> Tensor:
        """x * hardsigmoid(x)."""
        return self * self.hardsigmoid()

    def logsigmoid(self) -> Tensor:
        """ln(sigmoid(x)) = -softplus(-x), finite for any x."""
        return -(-self).softplus()

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, finite for logits of any size."""
        axis = _alias("softmax", "axis", axis, "dim", dim, -1)
        if _scalar_axis(self, axis):  # PyTorch's reading of a 0-d tensor
            return self.reshape(1).softmax(0).reshape(())
        return ops.Softmax.apply(self, axis=_normalize_axis(axis, self.ndim, "softmax"))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """x - log(sum(exp(x))) along ``axis``, finite for logits of any size."""
        axis = _alias("log_softmax", "axis", axis, "dim", dim, -1)
        if _scalar_axis(self, axis):
            return self.reshape(1).log_softmax(0).reshape(())
        return ops.LogSoftmax.apply(self, axis=_normalize_axis(axis, self.ndim, "log_softmax"))

    # ------------------------------------------------------------------ reductions

    def sum(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        axis, keepdims = _reduction_args("sum", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "sum")
        return ops.Sum.apply(self, axis=axes, keepdims=keepdims)

    def mean(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        axis, keepdims = _reduction_args("mean", axis, keepdims, dim, keepdim)
        n = self._count(axis, "mean")  # checks the axes under this operation's name
        return self.sum(axis, keepdims) / n

    def var(
        self,
        axis: Any = None,
        keepdims: bool = False,
        ddof: int = 0,
        *,
        dim: Any = None,
        keepdim: Any = None,
    ) -> Tensor:
        """Variance: sum((x - mean)^2) / (n - ddof) over ``axis``."""
        axis, keepdims = _reduction_args("var", axis, keepdims, dim, keepdim)
        n = self._count(axis, "var")
        if n - ddof <= 0:
            raise ShapeError(f"var: ddof={ddof} needs more than {ddof} elements; got {n}")
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) / (n - ddof)

    def std(
        self,
        axis: Any = None,
        keepdims: bool = False,
        ddof: int = 0,
        *,
        dim: Any = None,
        keepdim: Any = None,
    ) -> Tensor:
        """Standard deviation sqrt(var); its gradient is 0 where it is 0 (as PyTorch's)."""
        axis, keepdims = _reduction_args("std", axis, keepdims, dim, keepdim)
        n = self._count(axis, "std")
        if n - ddof <= 0:
            raise ShapeError(f"std: ddof={ddof} needs more than {ddof} elements; got {n}")
        axes = _normalize_axes(axis, self.ndim, "std")
        return ops.Std.apply(self, axis=axes, keepdims=keepdims, ddof=ddof)

    def max(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Largest value over ``axis``; tied maxima share the gradient equally."""
        axis, keepdims = _reduction_args("max", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "max")
        self._check_nonempty("max", axes)
        return ops.Max.apply(self, axis=axes, keepdims=keepdims)

    def min(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Smallest value over ``axis``; tied minima share the gradient equally."""
        axis, keepdims = _reduction_args("min", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "min")
        self._check_nonempty("min", axes)
        return ops.Min.apply(self, axis=axes, keepdims=keepdims)

    def argmax(
        self, axis: int | None = None, keepdims: bool = False, *, dim: Any = None,
        keepdim: Any = None,
    ) -> Tensor:
        """Index of the largest value (over the flattened tensor when axis is None).

        Not differentiable: an integer tensor without grad, e.g. predicted classes.
        """
        return self._arg_best(np.argmax, "argmax", axis, keepdims, dim, keepdim)

    def argmin(
        self, axis: int | None = None, keepdims: bool = False, *, dim: Any = None,
        keepdim: Any = None,
    ) -> Tensor:
        """Index of the smallest value (over the flattened tensor when axis is None)."""
        return self._arg_best(np.argmin, "argmin", axis, keepdims, dim, keepdim)

    def _arg_best(
        self, pick: Any, op: str, axis: Any, keepdims: bool, dim: Any, keepdim: Any
    ) -> Tensor:
        axis, keepdims = _reduction_args(op, axis, keepdims, dim, keepdim)
        if axis is not None and not is_int(axis):
            raise InvalidArgumentError(f"{op}: axis must be None or one integer; got {axis!r}")
        axes = _normalize_axes(axis, self.ndim, op)
        self._check_nonempty(op, axes)
        if axes == ():  # a 0-d tensor: its one element is at index 0
            return _exact(np.zeros((), dtype=np.int64), False)
        best = pick(self.data, axis=None if axes is None else axes[0], keepdims=keepdims)
        return _exact(np.asarray(best, dtype=np.int64), False)

    def logsumexp(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """log(sum(exp(x))) over ``axis``, computed stably by shifting by the maximum."""
        axis, keepdims = _reduction_args("logsumexp", axis, keepdims, dim, keepdim)
        self._count(axis, "logsumexp")
        shift = self.max(axis, keepdims=True).detach()
        out = (self - shift).exp().sum(axis, keepdims=True).log() + shift
        if keepdims:
            return out
        axes = _normalize_axes(axis, self.ndim, "logsumexp")
        return out.squeeze(axes)  # the reduced axes, of length 1 here

    def prod(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Product over ``axis``; exact gradients also where elements are 0.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> x = Tensor([2.0, 0.0, 3.0], requires_grad=True)
            >>> x.prod().backward(); x.grad.tolist()
            [0.0, 6.0, 0.0]
        """
        axis, keepdims = _reduction_args("prod", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "prod")
        axes = tuple(range(self.ndim)) if axes is None else axes
        kept = tuple(n for i, n in enumerate(self.shape) if i not in axes)
        if not axes or self.size == 0:
            out = self if not axes else self.sum(axes) * 0 + 1  # the empty product is 1
        else:
            # The reduced axes last, merged into one: the product is the last running product.
            rest = [i for i in range(self.ndim) if i not in axes]
            flat = self.transpose(*rest, *axes).reshape(kept + (-1,))
            out = flat.cumprod(-1)[..., -1]
        if keepdims:
            return out.reshape(tuple(1 if i in axes else n for i, n in enumerate(self.shape)))
        return out

    def cumsum(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Running sums along ``axis``: z_i = x_1 + ... + x_i (over the flattened tensor
        when axis is None, as ``np.cumsum``)."""
        axis = _alias("cumsum", "axis", axis, "dim", dim, None)
        if axis is None:
            return self.flatten().cumsum(0)
        if _scalar_axis(self, axis):
            return self.reshape(1).cumsum(0).reshape(())
        return ops.Cumsum.apply(self, axis=_normalize_axis(axis, self.ndim, "cumsum"))

    def cumprod(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Running products along ``axis``: z_i = x_1 * ... * x_i, exact gradients at zeros
        (over the flattened tensor when axis is None, as ``np.cumprod``)."""
        axis = _alias("cumprod", "axis", axis, "dim", dim, None)
        if axis is None:
            return self.flatten().cumprod(0)
        if _scalar_axis(self, axis):
            return self.reshape(1).cumprod(0).reshape(())
        return ops.Cumprod.apply(self, axis=_normalize_axis(axis, self.ndim, "cumprod"))

    def any(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Whether any element (over ``axis``) is nonzero: a boolean tensor."""
        axis, keepdims = _reduction_args("any", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "any")
        return Tensor(np.any(self.data, axis=axes, keepdims=keepdims), dtype=np.bool_)

    def all(
        self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
    ) -> Tensor:
        """Whether every element (over ``axis``) is nonzero: a boolean tensor."""
        axis, keepdims = _reduction_args("all", axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim, "all")
        return Tensor(np.all(self.data, axis=axes, keepdims=keepdims), dtype=np.bool_)

    def sort(
        self, axis: int = -1, descending: bool = False, *, dim: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(values, indices)`` sorted along ``axis`` (stable); values carry the gradient.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> values, indices = Tensor([3.0, 1.0, 2.0]).sort()
            >>> values.tolist(), indices.tolist()
            ([1.0, 2.0, 3.0], [1, 2, 0])
        """
        axis = _normalize_axis(_alias("sort", "axis", axis, "dim", dim, -1), self.ndim, "sort")
        keys = -self.data if descending else self.data
        indices = np.argsort(keys, axis=axis, kind="stable")
        return self.gather(axis, indices), _exact(indices, False)

    def topk(
        self, k: int, axis: int = -1, largest: bool = True, *, dim: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """The ``k`` largest (or smallest) values along ``axis`` and their indices, sorted."""
        axis = _normalize_axis(_alias("topk", "axis", axis, "dim", dim, -1), self.ndim, "topk")
        if not is_int(k) or not 0 <= k <= self.shape[axis]:
            raise InvalidArgumentError(
                f"topk: k must be an integer from 0 to {self.shape[axis]} (the length of axis "
                f"{axis} of shape {self.shape}); got {k!r}"
            )
        values, indices = self.sort(axis, descending=largest)
        keep = (slice(None),) * axis + (slice(0, k),)
        return values[keep], indices[keep]

    def _count(self, axis: Any, op: str) -> int:
        axes = _normalize_axes(axis, self.ndim, op)
        if axes is None:
            return self.size
        return int(np.prod([self.shape[a] for a in axes]))

    def _check_nonempty(self, op: str, axes: tuple[int, ...] | None = None) -> None:
        """An empty reduction has no max: refuse it (reducing a non-empty axis is fine)."""
        if self.data.size == 0 and (axes is None or any(self.shape[a] == 0 for a in axes)):
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

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for :meth:`reshape` (the result shares the data when numpy can)."""
        return self.reshape(*shape)

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

    def permute(self, *dims: Any) -> Tensor:
        """PyTorch's name for :meth:`transpose` with every axis given: ``t.permute(2, 0, 1)``."""
        if not dims or (len(dims) == 1 and isinstance(dims[0], (tuple, list)) and not dims[0]):
            if self.ndim:
                raise ShapeError(
                    f"permute: give an order of all {self.ndim} axes of shape {self.shape}"
                )
            return self
        return self.transpose(*dims)

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
                if d not in (0, -1) or not is_int(d):
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

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Remove axes of length 1 (all of them, or those in ``axis``)."""
        axis = _alias("squeeze", "axis", axis, "dim", dim, None)
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

    def unsqueeze(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Insert an axis of length 1 at ``axis`` (negative counts from the end of the result)."""
        axis = _alias("unsqueeze", "axis", axis, "dim", dim, None)
        if axis is None:
            raise InvalidArgumentError("unsqueeze: give the position of the new axis")
        a = _normalize_axis(axis, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:a] + (1,) + self.shape[a:])

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` without copying; the gradient is summed back.

        As in PyTorch, -1 keeps a dimension's size: ``t.expand(4, -1)``.
        """
        target = _shape_arg(shape, "expand")
        lead = len(target) - self.ndim
        target = tuple(
            self.shape[i - lead] if t == -1 and i >= lead else t for i, t in enumerate(target)
        )
        fits = len(target) >= self.ndim and all(
            n in (1, t) for n, t in zip(self.shape[::-1], target[::-1])
        )
        if not fits or any(t < 0 for t in target):
            raise ShapeError(
                f"expand: cannot broadcast shape {self.shape} to {target}: aligned from the "
                "right, each dimension must be 1 or equal the target's, and new axes go first"
            )
        return ops.Expand.apply(self, shape=target)

    def flip(self, axis: Any = None, *, dims: Any = None, dim: Any = None) -> Tensor:
        """Reverse the order of the elements along ``axis`` (an int, a tuple, or None: all)."""
        axis = _alias("flip", "axis", axis, "dims", dim if dims is None else dims, None)
        axes = _normalize_axes(axis, self.ndim, "flip")
        return ops.Flip.apply(self, axis=tuple(range(self.ndim)) if axes is None else axes)

    def roll(self, shift: Any, axis: Any = None, *, dims: Any = None, dim: Any = None) -> Tensor:
        """Shift the elements cyclically by ``shift`` along ``axis`` (the flattened tensor when
        None); ``shift`` and ``axis`` may be tuples of the same length."""
        axis = _alias("roll", "axis", axis, "dims", dim if dims is None else dims, None)
        shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
        if not all(is_int(n) for n in shifts):
            raise InvalidArgumentError(f"roll: shift must be integers; got {shift!r}")
        if axis is None:
            if len(shifts) != 1:
                raise InvalidArgumentError(f"roll: a tuple shift {shift!r} needs as many axes")
            return ops.Roll.apply(self, shift=int(shifts[0]), axis=None)
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        if len(axes) != len(shifts):
            raise InvalidArgumentError(
                f"roll: shift {shift!r} and axis {axis!r} must have the same length"
            )
        axes = tuple(_normalize_axis(a, self.ndim, "roll") for a in axes)
        return ops.Roll.apply(self, shift=tuple(int(n) for n in shifts), axis=axes)

    def pad(self, widths: Any, value: float = 0.0) -> Tensor:
        """Surround with ``value``: widths as numpy's ``np.pad`` takes them.

        ``widths`` is an int (that many on both sides of every axis), a pair ``(before,
        after)`` for every axis, or one pair per axis.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> Tensor([1.0, 2.0]).pad((1, 2)).tolist()
            [0.0, 1.0, 2.0, 0.0, 0.0]
        """
        if self.ndim == 0:
            raise ShapeError("pad: a 0-d tensor has no axis to pad; reshape it to (1,) first")
        if is_int(widths):
            pairs: Any = [(widths, widths)] * self.ndim
        elif isinstance(widths, (tuple, list)) and len(widths) == 2 and all(
            is_int(w) for w in widths
        ):
            pairs = [tuple(widths)] * self.ndim
        else:
            pairs = [tuple(p) if isinstance(p, (tuple, list)) else p for p in widths]
        ok = len(pairs) == self.ndim and all(
            isinstance(p, tuple) and len(p) == 2 and all(is_int(w) and w >= 0 for w in p)
            for p in pairs
        )
        if not ok:
            raise InvalidArgumentError(
                f"pad: widths must be a non-negative int, a pair (before, after), or one pair "
                f"per axis for shape {self.shape}; got {widths!r}"
            )
        if not np.isfinite(value):
            raise InvalidArgumentError(f"pad: value must be finite; got {value}")
        return ops.Pad.apply(
            self, widths=tuple((int(lo), int(hi)) for lo, hi in pairs), value=value
        )

    def tile(self, *reps: Any) -> Tensor:
        """Repeat the whole tensor ``reps[i]`` times along axis i, as ``np.tile``.

        Fewer reps than dims repeat the last axes; more add leading axes.
        """
        reps = _shape_arg(reps, "tile")
        if any(r < 0 for r in reps):
            raise InvalidArgumentError(f"tile: repetitions must be non-negative; got {reps}")
        n = max(len(reps), self.ndim)
        full = (1,) * (n - len(reps)) + reps
        x = self.reshape((1,) * (n - self.ndim) + self.shape) if n > self.ndim else self
        return ops.Tile.apply(x, reps=full)

    def repeat(self, *reps: Any) -> Tensor:
        """PyTorch's ``repeat``: tile the tensor ``reps[i]`` times along axis i.

        Needs a repetition for every axis (extra ones add leading axes). For numpy's
        element-by-element ``repeat`` use indexing: ``t[np.repeat(np.arange(n), k)]``.
        """
        sizes = _shape_arg(reps, "repeat")
        if len(sizes) < self.ndim:
            raise ShapeError(
                f"repeat: needs a repetition for each of the {self.ndim} axes of shape "
                f"{self.shape}; got {sizes}"
            )
        return self.tile(sizes)

    def split(self, size: Any, axis: int = 0, *, dim: int | None = None) -> tuple[Tensor, ...]:
        """Pieces along ``axis``: of ``size`` each (the last may be shorter), or of the sizes
        in a list (which must add up to the axis's length)."""
        axis = _normalize_axis(_alias("split", "axis", axis, "dim", dim, 0), self.ndim, "split")
        n = self.shape[axis]
        if is_int(size):
            if size <= 0:
                raise InvalidArgumentError(f"split: size must be positive; got {size}")
            sizes = [min(size, n - lo) for lo in range(0, n, size)] or [0]
        else:
            sizes = list(size)
            if not all(is_int(k) and k >= 0 for k in sizes) or sum(sizes) != n:
                raise ShapeError(
                    f"split: sizes {size!r} must be non-negative integers adding up to {n}, "
                    f"the length of axis {axis} of shape {self.shape}"
                )
        head = (slice(None),) * axis
        bounds = np.cumsum([0] + sizes).tolist()
        return tuple(self[head + (slice(lo, hi),)] for lo, hi in zip(bounds, bounds[1:]))

    def chunk(self, chunks: int, axis: int = 0, *, dim: int | None = None) -> tuple[Tensor, ...]:
        """Split into ``chunks`` pieces of equal size along ``axis`` (the last may be
        shorter, and fewer pieces come when the length does not allow more; as PyTorch)."""
        axis = _normalize_axis(_alias("chunk", "axis", axis, "dim", dim, 0), self.ndim, "chunk")
        if not is_int(chunks) or chunks <= 0:
            raise InvalidArgumentError(f"chunk: chunks must be a positive integer; got {chunks}")
        return self.split(max(1, -(-self.shape[axis] // chunks)), axis)

    def tril(self, k: int = 0) -> Tensor:
        """The lower triangle of the last two axes: zero above the k-th diagonal."""
        return self._triangle(np.tril, "tril", k)

    def triu(self, k: int = 0) -> Tensor:
        """The upper triangle of the last two axes: zero below the k-th diagonal."""
        return self._triangle(np.triu, "triu", k)

    def _triangle(self, part: Any, op: str, k: int) -> Tensor:
        if self.ndim < 2 or not is_int(k):
            raise ShapeError(
                f"{op}: needs a tensor of at least 2 dims and an integer k; got shape "
                f"{self.shape} and k={k!r}"
            )
        keep = part(np.ones(self.shape[-2:], dtype=bool), k)
        return Tensor.where(keep, self, 0)

    def diag(self, k: int = 0) -> Tensor:
        """A vector's diagonal matrix, or a matrix's k-th diagonal (as ``np.diag``)."""
        if not is_int(k) or self.ndim not in (1, 2):
            raise ShapeError(
                f"diag: needs a 1-d or 2-d tensor and an integer k; got shape {self.shape}, "
                f"k={k!r}"
            )
        if self.ndim == 1:
            n = self.shape[0] + abs(k)
            i = np.arange(self.shape[0])
            index = (i + max(-k, 0), i + max(k, 0))
            return _as_tensor(ops.ScatterAdd.apply(self, index=index, shape=(n, n)))
        rows, cols = self.shape
        i = np.arange(max(0, min(rows + min(k, 0), cols - max(k, 0))))
        return self[i - min(k, 0), i + max(k, 0)]

    def __getitem__(self, index: Any) -> Tensor:
        index = _index_arg(index)
        try:
            return ops.GetItem.apply(self, index=index)
        except IndexError as exc:
            raise IndexingError(f"indexing a tensor of shape {self.shape}: {exc}") from None

    # ------------------------------------------------------------------ joining and selecting

    @staticmethod
    def concatenate(ts: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
        """Join tensors along an existing axis; their other dimensions must agree."""
        axis = _alias("concatenate", "axis", axis, "dim", dim, 0)
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in ts]
        if not ts:
            raise ShapeError("concatenate: needs at least one tensor")
        if len({t.ndim for t in ts}) != 1:
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ShapeError(f"concatenate: all tensors need the same number of dims; got {shapes}")
        axis = _normalize_axis(axis, ts[0].ndim, "concatenate")
        return ops.Concatenate.apply(*ts, axis=axis)

    @staticmethod
    def cat(ts: Sequence[Any], dim: int = 0) -> Tensor:
        """PyTorch's name for :meth:`concatenate`: ``Tensor.cat([a, b], dim=1)``."""
        return Tensor.concatenate(ts, dim)

    @staticmethod
    def stack(ts: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
        """Join tensors of equal shape along a new axis."""
        axis = _alias("stack", "axis", axis, "dim", dim, 0)
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
        return _as_tensor(ops.Where.apply(_real(a, "where"), _real(b, "where"), cond=mask))

    @staticmethod
    def maximum(a: Any, b: Any) -> Tensor:
        """Elementwise larger of ``a`` and ``b``; ties share the gradient equally."""
        return _as_tensor(ops.Maximum.apply(_real(a, "maximum"), _real(b, "maximum")))

    @staticmethod
    def minimum(a: Any, b: Any) -> Tensor:
        """Elementwise smaller of ``a`` and ``b``; ties share the gradient equally."""
        return _as_tensor(ops.Minimum.apply(_real(a, "minimum"), _real(b, "minimum")))

    def gather(
        self, axis: int | None = None, index: Any = None, *, dim: int | None = None
    ) -> Tensor:
        """Pick along ``axis`` by ``index`` (as ``torch.gather``): for axis 1 of a 2-d tensor,
        ``out[i, j] = self[i, index[i, j]]``. ``index`` has as many dims as self and is no
        larger along the other axes. The gradient adds up where an index repeats.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, [[1, 1], [0, 1]]).tolist()
            [[2.0, 2.0], [3.0, 4.0]]
        """
        axis, idx = self._along("gather", axis, dim, index)
        return self[_index_grid(idx, axis)]

    def scatter_add(
        self, axis: int | None = None, index: Any = None, src: Any = None, *,
        dim: int | None = None,
    ) -> Tensor:
        """A copy of self with ``src`` added at ``index`` along ``axis`` (as
        ``torch.scatter_add``): for axis 0, ``out[index[i, j], j] += src[i, j]``; repeated
        indices add up. Differentiable in self and in src.
        """
        axis, idx = self._along("scatter_add", axis, dim, index)
        if not isinstance(src, Tensor):
            src = np.asarray(src, dtype=self.dtype)
        src_shape = src.shape
        if len(src_shape) != idx.ndim or any(s < n for s, n in zip(src_shape, idx.shape)):
            raise ShapeError(
                f"scatter_add: src of shape {src_shape} must have the dims of index "
                f"{idx.shape} and be at least as large along each"
            )
        part = src[tuple(slice(0, n) for n in idx.shape)] if src_shape != idx.shape else src
        added = ops.ScatterAdd.apply(part, index=_index_grid(idx, axis), shape=self.shape)
        return self + added

    def _along(self, op: str, axis: Any, dim: Any, index: Any) -> tuple[int, np.ndarray]:
        """The checked axis and index array of gather and scatter_add."""
        axis = _alias(op, "axis", axis, "dim", dim, None)
        if axis is None or index is None:
            raise InvalidArgumentError(f"{op}: give an axis and an index: t.{op}(axis, index)")
        axis = _normalize_axis(axis, self.ndim, op)
        idx = _int_array(index, op)
        n = self.shape[axis]
        if idx.ndim != self.ndim or any(
            k > s for d, (k, s) in enumerate(zip(idx.shape, self.shape)) if d != axis
        ):
            raise ShapeError(
                f"{op}: index of shape {idx.shape} must have the {self.ndim} dims of the "
                f"tensor's shape {self.shape} and be no larger along axes other than {axis}"
            )
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexingError(
                f"{op}: index values must be in [-{n}, {n}) for axis {axis} of shape "
                f"{self.shape}; got values from {idx.min()} to {idx.max()}"
            )
        return axis, idx

    def one_hot(self, num_classes: int = -1) -> Tensor:
        """Integer labels as one-hot rows of the default float dtype (no gradient).

        ``num_classes=-1`` takes the largest label + 1. Float tensors holding whole numbers
        (what ``Tensor([0, 2, 1])`` makes) count as labels.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> Tensor([0, 2]).one_hot(3).tolist()
            [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
        """
        labels = _int_array(self, "one_hot")
        if labels.size and labels.min() < 0:
            raise InvalidArgumentError(f"one_hot: labels must be >= 0; got {labels.min()}")
        top = int(labels.max()) + 1 if labels.size else 0
        n = top if num_classes == -1 else num_classes
        if not is_int(n) or n < top:
            raise InvalidArgumentError(
                f"one_hot: num_classes must be an integer above the largest label "
                f"({top - 1}), or -1; got {num_classes!r}"
            )
        hot = labels[..., None] == np.arange(n)
        return _exact(hot.astype(_default_dtype), False)

    @staticmethod
    def einsum(formula: str, *tensors: Any) -> Tensor:
        """Einstein summation, as ``np.einsum``: ``Tensor.einsum("ij,jk->ik", a, b)``.

        Letters name axes; a letter left out of the output is summed over. Without ``->``
        the output is the letters that appear once, in alphabetical order (numpy's rule).

        Example:
            >>> from tinygrad_edu import Tensor
            >>> Tensor.einsum("i,i->", Tensor([1.0, 2.0]), Tensor([3.0, 4.0])).item()
            11.0
        """
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            tensors = tuple(tensors[0])  # PyTorch also takes the operands as one list
        ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
        return _as_tensor(ops.Einsum.apply(*ts, formula=_einsum_formula(formula, ts)))

    # ------------------------------------------------------------------ numpy interoperability

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Let numpy's ufuncs (``np.exp(t)``, ``array * t``) act on Tensors and be recorded.

        Differentiable ufuncs become tensor operations (piecewise-constant ones such as
        ``np.floor`` with a zero gradient); comparisons and tests such as ``np.isfinite`` give
        boolean tensors.
        """
        if method != "__call__" or kwargs:
            return NotImplemented
        for x in inputs:  # complex, string and object operands are refused, as by operators
            if x is not self:
                _operand(x, self)
        if ufunc in _DIFFERENTIABLE_UFUNCS:
            return _DIFFERENTIABLE_UFUNCS[ufunc](*inputs)
        values = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if ufunc in _COMPARISON_UFUNCS:
            return Tensor(ufunc(*values), dtype=np.bool_)
        return NotImplemented

    def __array_function__(
        self, func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Let numpy's functions (``np.sum(t)``, ``np.concatenate([a, b])``) act on Tensors.

        Those with a Tensor method run as that method and are recorded. Those whose result
        carries no gradient (``np.shape``, ``np.allclose`` ...) run on the values. Any other,
        given a tensor that requires grad, raises a TypeError naming what to use instead:
        never a result silently cut from the graph.
        """
        method = _NUMPY_METHODS.get(func)
        handler = _NUMPY_FUNCTIONS.get(func)
        module = getattr(func, "__module__", "numpy") or "numpy"
        name = module.replace("numpy", "np", 1) + "." + getattr(func, "__name__", str(func))
        if method is not None or handler is not None:
            unsupported = sorted(k for k in kwargs if k in _NUMPY_ONLY_KWARGS)
            if unsupported:
                raise TypeError(
                    f"{name} on a Tensor does not take {', '.join(unsupported)}=: the "
                    "result is a new Tensor of the input's dtype. Drop the argument."
                )
            kwargs = {k: v for k, v in kwargs.items() if k not in _IGNORED_KWARGS}
            if handler is not None:
                return handler(*args, **kwargs)
            t = args[0] if isinstance(args[0], Tensor) else Tensor(args[0])
            return getattr(t, method)(*args[1:], **kwargs)
        if func in _VALUE_FUNCTIONS or not _any_requires_grad((args, kwargs)):
            return func(*_values(args), **_values(kwargs))
        short = name.rsplit(".", 1)[-1]
        method = f"t.{short}(...)" if hasattr(Tensor, short) else "tensor operations"
        raise TypeError(
            f"{name} is not recorded for backprop on Tensors, so its result would have no "
            f"gradient. Use {method} instead, or {name}(t.detach().numpy()) to work on the "
            "values deliberately."
        )

    # ------------------------------------------------------------------ convolution and pooling

    def conv2d(
        self,
        weight: Any,
        bias: Any = None,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> Tensor:
        """2-D convolution of an NCHW batch, as PyTorch's ``F.conv2d`` (a cross-correlation).

        Args:
            weight: shape (O, C / groups, kh, kw).
            bias: shape (O,) or None.
            stride, padding, dilation: an int or a pair (rows, columns); padding adds zeros.
            groups: split the C input and O output channels into this many groups, each
                convolved on its own (groups = C is a depthwise convolution).

        Returns:
            Shape (N, O, H_out, W_out) with H_out = (H + 2 p - d (kh - 1) - 1) // s + 1
            (likewise W_out); a (C, H, W) input gives (O, H_out, W_out).

        Example:
            >>> import numpy as np
            >>> from tinygrad_edu import Tensor
            >>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
            >>> x.conv2d(Tensor(np.ones((1, 1, 2, 2))), stride=2).tolist()
            [[[[10.0, 18.0], [42.0, 50.0]]]]
        """
        op = "conv2d"
        x, unbatched = self._image_batch(op)
        # Arrays and lists are constants, taken in the input's dtype.
        if not isinstance(weight, Tensor):
            weight = np.asarray(weight, dtype=self.dtype)
        if bias is not None and not isinstance(bias, Tensor):
            bias = np.asarray(bias, dtype=self.dtype)
        w_shape = np.shape(weight)
        if not is_int(groups) or groups < 1:
            raise InvalidArgumentError(f"{op}: groups must be a positive integer; got {groups!r}")
        c = x.shape[1]
        if len(w_shape) != 4:
            raise ShapeError(
                f"{op}: weight must have shape (out_channels, in_channels / groups, kh, kw); "
                f"got {w_shape}"
            )
        if c % groups or w_shape[0] % groups:
            raise ShapeError(
                f"{op}: groups={groups} must divide both the input's {c} channels and the "
                f"weight's {w_shape[0]} output channels"
            )
        if w_shape[1] != c // groups:
            raise ShapeError(
                f"{op}: the input has {c} channels, so with groups={groups} the weight needs "
                f"shape ({w_shape[0]}, {c // groups}, kh, kw); got {w_shape}"
            )
        if bias is not None and np.shape(bias) != (w_shape[0],):
            raise ShapeError(
                f"{op}: bias must have shape ({w_shape[0]},) for a weight of shape {w_shape}; "
                f"got {np.shape(bias)}"
            )
        geom = _window_geometry(
            op, x.shape, w_shape[2:], stride, padding, dilation, groups, pad_limit=False
        )
        out = ops.Conv2d.apply(x, weight, bias, geom=geom)
        return out.reshape(out.shape[1:]) if unbatched else out

    def max_pool2d(self, kernel: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        """The largest value of each kernel window, per channel, of an NCHW batch.

        As PyTorch's ``F.max_pool2d``: ``stride`` defaults to the kernel size, padding (at
        most half the kernel) never wins, and each window's gradient goes to its maximum (the
        first one on a tie).

        Example:
            >>> import numpy as np
            >>> from tinygrad_edu import Tensor
            >>> Tensor(np.arange(16.0).reshape(1, 1, 4, 4)).max_pool2d(2).tolist()
            [[[[5.0, 7.0], [13.0, 15.0]]]]
        """
        return self._pool("max_pool2d", ops.MaxPool2d, kernel, stride, padding)

    def avg_pool2d(self, kernel: Any, stride: Any = None, padding: Any = 0) -> Tensor:
        """The mean of each kernel window, per channel, of an NCHW batch.

        As PyTorch's ``F.avg_pool2d``: ``stride`` defaults to the kernel size and the zeros of
        the padding (at most half the kernel) count in the mean.

        Example:
            >>> import numpy as np
            >>> from tinygrad_edu import Tensor
            >>> Tensor(np.arange(16.0).reshape(1, 1, 4, 4)).avg_pool2d(2).tolist()
            [[[[2.5, 4.5], [10.5, 12.5]]]]
        """
        return self._pool("avg_pool2d", ops.AvgPool2d, kernel, stride, padding)

    def _pool(self, op: str, fn: Any, kernel: Any, stride: Any, padding: Any) -> Tensor:
        """What both pooling methods share: the window's checks, the Function, (C, H, W) input."""
        x, unbatched = self._image_batch(op)
        geom = _window_geometry(
            op, x.shape, kernel, kernel if stride is None else stride, padding, 1, x.shape[1]
        )
        out = fn.apply(x, geom=geom)
        return out.reshape(out.shape[1:]) if unbatched else out

    def _image_batch(self, op: str) -> tuple[Tensor, bool]:
        """An NCHW batch, and whether a single (C, H, W) image was made one (as PyTorch)."""
        if self.ndim == 3:
            return self.reshape((1,) + self.shape), True
        if self.ndim != 4:
            raise ShapeError(
                f"{op}: expected an image batch of shape (N, C, H, W) or one image (C, H, W); "
                f"got shape {self.shape}"
            )
        return self, False


# ----------------------------------------------------------------------------- window arguments


def _window_geometry(
    op: str,
    shape: tuple[int, ...],
    kernel: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    pad_limit: bool = True,
) -> Any:
    """Check a window operation's arguments against an input of ``shape`` (N, C, H, W)."""
    k = int_pair(kernel, op, "kernel size", 1)
    s = int_pair(stride, op, "stride", 1)
    p = int_pair(padding, op, "padding", 0)
    d = int_pair(dilation, op, "dilation", 1)
    if pad_limit and any(2 * pi > ki for pi, ki in zip(p, k)):
        raise InvalidArgumentError(
            f"{op}: padding {p} must be at most half the kernel size {k}, so that every window "
            "holds an element of the input"
        )
    geom = ops.ConvGeometry(shape, k, s, p, d, groups)
    if min(geom.out_hw) < 1:
        reach = tuple(di * (ki - 1) + 1 for di, ki in zip(d, k))
        raise ShapeError(
            f"{op}: a window of {reach[0]}x{reach[1]} (kernel {k}, dilation {d}) does not fit "
            f"the input of shape {shape} padded by {p}; the output would be {geom.out_hw}"
        )
    return geom


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


def _index_grid(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The integer-array index that takes ``index`` along ``axis`` and every position along
    the other axes (what gather and scatter_add select)."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


def _einsum_formula(formula: Any, ts: list[Tensor]) -> str:
    """An explicit einsum formula "ij,jk->ik", checked against the operands."""
    if not isinstance(formula, str):
        raise InvalidArgumentError(f"einsum: the formula must be a string; got {formula!r}")
    text = formula.replace(" ", "")
    ins, arrow, out = text.partition("->")
    subs = ins.split(",")
    if len(subs) != len(ts):
        raise InvalidArgumentError(
            f"einsum: {formula!r} names {len(subs)} operand(s) but {len(ts)} were given"
        )
    implicit_batch = ""
    if "..." in text:  # the batch axes get letters of their own, aligned from the right
        subs, out, implicit_batch = _einsum_ellipsis(formula, subs, out, ts)
    letters = "".join(subs)
    if not all(c.isalpha() and c.isascii() for c in letters + out):
        raise InvalidArgumentError(
            f"einsum: {formula!r}: use letters, one per axis, and '...' for batch axes, "
            "e.g. 'bij,bjk->bik' or '...ij,...jk->...ik'"
        )
    for i, (sub, t) in enumerate(zip(subs, ts)):
        if len(sub) != t.ndim:
            raise ShapeError(
                f"einsum: operand {i} has shape {t.shape} ({t.ndim} dims) but {formula!r} "
                f"gives it {len(sub)} letters ({sub!r})"
            )
    if not arrow:
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in implicit_batch)
        out = implicit_batch + "".join(once)
    bad = [c for c in out if c not in letters or out.count(c) > 1]
    if bad:
        raise InvalidArgumentError(
            f"einsum: output letter {bad[0]!r} of {formula!r} must appear once in the output "
            "and in some operand"
        )
    return ",".join(subs) + "->" + out


def _einsum_ellipsis(
    formula: str, subs: list[str], out: str, ts: list[Tensor]
) -> tuple[list[str], str, str]:
    """Replace each '...' by letters the formula does not use, one per batch axis."""
    free = [c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in formula]
    counts = []
    for sub, t in zip(subs, ts):
        named = len(sub.replace("...", ""))
        counts.append(t.ndim - named if "..." in sub else 0)
        if sub.count("...") > 1 or "." in sub.replace("...", "") or counts[-1] < 0:
            raise ShapeError(
                f"einsum: operand {len(counts) - 1} has shape {t.shape}, which {sub!r} of "
                f"{formula!r} does not fit (at most one '...', standing for the axes not named)"
            )
    batch = "".join(free[: max(counts)])[::-1]
    subs = [s.replace("...", batch[len(batch) - k :]) for s, k in zip(subs, counts)]
    return subs, out.replace("...", batch), batch


def _values(obj: Any) -> Any:
    """Arguments with every Tensor (also inside lists, tuples, dicts) replaced by its array."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_values(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _values(v) for k, v in obj.items()}
    return obj


def _any_requires_grad(obj: Any) -> bool:
    if isinstance(obj, Tensor):
        return obj.requires_grad
    if isinstance(obj, (list, tuple)):
        return any(_any_requires_grad(v) for v in obj)
    if isinstance(obj, dict):
        return any(_any_requires_grad(v) for v in obj.values())
    return False


def _np_sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None) -> Tensor:
    t = a if isinstance(a, Tensor) else Tensor(a)
    return t.flatten().sort(0)[0] if axis is None else t.sort(axis)[0]


def _np_where(cond: Any, *ab: Any) -> Any:
    if not ab:  # np.where(cond): the indices where cond holds, no gradient
        return np.where(_values(cond))
    if len(ab) != 2:
        raise TypeError("np.where takes a condition alone, or a condition and two values")
    return Tensor.where(cond, *ab)


def _np_dot(a: Any, b: Any) -> Tensor:
    if np.ndim(a) > 2 or np.ndim(b) > 2 or np.ndim(a) == 0 or np.ndim(b) == 0:
        raise TypeError(
            f"np.dot on Tensors is recorded for vectors and matrices; got shapes {np.shape(a)} "
            "and {np.shape(b)}. Use a @ b (matmul) or Tensor.einsum."
        )
    return _matmul(a, b)


def _np_einsum(formula: str, *operands: Any) -> Tensor:
    return Tensor.einsum(formula, *operands)


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


# SELU's constants (Klambauer et al., 2017), to PyTorch's precision.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

autograd.register_tensor_type(Tensor)  # the engine builds its results as Tensors

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
    np.sin: ops.Sin.apply,
    np.cos: ops.Cos.apply,
    np.tan: ops.Tan.apply,
    np.sinh: ops.Sinh.apply,
    np.cosh: ops.Cosh.apply,
    np.arcsin: ops.Arcsin.apply,
    np.arccos: ops.Arccos.apply,
    np.arctan: ops.Arctan.apply,
    np.log2: ops.Log2.apply,
    np.exp2: ops.Exp2.apply,
    np.log1p: ops.Log1p.apply,
    np.expm1: ops.Expm1.apply,
    np.square: Tensor.square,
    np.reciprocal: Tensor.reciprocal,
    np.remainder: ops.Mod.apply,
    # piecewise constant: recorded with a zero gradient, as the Tensor methods are
    np.sign: ops.Sign.apply,
    np.floor: ops.Floor.apply,
    np.ceil: ops.Ceil.apply,
    np.rint: ops.Round.apply,
    np.trunc: ops.Trunc.apply,
}
_COMPARISON_SYMBOLS = {
    np.less: "<", np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=",
    np.equal: "==", np.not_equal: "!=",
}
_COMPARISON_UFUNCS = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isnan, np.isinf, np.isfinite, np.signbit,  # tests of the values: boolean tensors too
}

# numpy functions and the Tensor method each runs as (see Tensor.__array_function__).
# numpy functions that run as a Tensor method, ``np.sum(t, ...)`` as ``t.sum(...)``, and those
# that run as a function of their own (see Tensor.__array_function__).
_NUMPY_METHODS = {
    np.sum: "sum", np.mean: "mean", np.var: "var", np.std: "std", np.max: "max",
    np.amax: "max", np.min: "min", np.amin: "min", np.prod: "prod", np.argmax: "argmax",
    np.argmin: "argmin", np.any: "any", np.all: "all", np.cumsum: "cumsum",
    np.cumprod: "cumprod", np.reshape: "reshape", np.transpose: "transpose",
    np.swapaxes: "swapaxes", np.squeeze: "squeeze", np.expand_dims: "unsqueeze",
    np.ravel: "flatten", np.broadcast_to: "expand", np.flip: "flip", np.roll: "roll",
    np.pad: "pad", np.tile: "tile", np.tril: "tril", np.triu: "triu", np.diag: "diag",
    np.clip: "clip", np.round: "round", np.around: "round",
}  # fmt: skip
_NUMPY_FUNCTIONS = {
    np.concatenate: Tensor.concatenate,
    np.stack: Tensor.stack,
    np.where: _np_where,
    np.sort: _np_sort,
    np.dot: _np_dot,
    np.einsum: _np_einsum,
}
_NUMPY_ONLY_KWARGS = {"out", "dtype", "where", "initial", "casting", "order", "mode"}
_IGNORED_KWARGS = {"optimize", "kind"}  # how numpy computes, not what
# Functions whose results carry no gradient: they run on the values of any tensor.
_VALUE_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.argsort, np.nonzero,
    np.count_nonzero, np.argwhere, np.flatnonzero, np.searchsorted, np.result_type,
    np.save, np.savez, np.savez_compressed, np.array2string, np.array_repr, np.array_str,
    np.may_share_memory, np.shares_memory, np.iscomplexobj, np.isrealobj,
}  # fmt: skip


@autograd.repeatable
def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """The array ``Tensor(data, dtype=dtype)`` would wrap, with the same checks and errors.

    Floating arrays keep their dtype (and are not copied); other data gets ``dtype``, else
    the default rules. Layers convert their numpy inputs with it (see ``nn.module.as_input``).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.tensor import as_array
        >>> a = np.array([1.0, 2.0])
        >>> as_array(a) is a, as_array([1, 2], dtype=np.float32).dtype
        (True, dtype('float32'))
    """
    return _to_array(data, dtype)
