"""Every differentiable operation once: how to call it, its numpy reference, where to test it.

A test suite walks :data:`OPS` and, for each entry, draws inputs from ``cases``, checks the
forward value against ``ref`` and the gradient against central differences (and the second
derivative where ``second_order``). Adding an operation to the library means adding one row
here; the tests follow. The references are strict where the library is: arguments the library
rejects though numpy would take them raise :class:`Rejected`. The fuzzer (tests/test_fuzz.py)
chains the rows that have a ``fuzz`` entry into random programs, with the same code and the
same references.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.testing.op_table import OPS, Case
    >>> spec = OPS["mul"]
    >>> case = Case((np.array([2.0, 3.0]), np.array([4.0])))
    >>> spec.fn(*case.tensors()).tolist(), spec.ref(*case.arrays).tolist()
    ([8.0, 12.0], [8.0, 12.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..losses import cross_entropy, mse_loss
from ..tensor import Tensor
from . import fuzz_args
from . import strategies as tst


@dataclass(frozen=True)
class Case:
    """One drawn input: the arrays, and keyword parameters (an axis, a shape, an index)."""

    arrays: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def tensors(self, requires_grad: bool = True) -> list[Tensor]:
        return [Tensor(a, requires_grad=requires_grad) for a in self.arrays]


@dataclass(frozen=True)
class Fuzz:
    """How the fuzzer's random programs apply an operation (see tests/test_fuzz.py).

    Attributes:
        family: the group a focused run draws from (unary, binary, reduce, shape, index, join).
        source: its Python source, a format string over the operands ``a b`` (``vs``: the
            list of operands) and the parameters' names, or a function of them; it states
            the guards too.
        params: ``params(draw, shapes, wild)`` draws the keyword arguments for operands of
            ``shapes`` (see :mod:`tinygrad_edu.testing.fuzz_args`).
        arity: the number of values it reads (0: a list of one to three).
        guards: one per operand (or none): a map of any real value into the operation's
            domain, the same code for Tensors and numpy arrays (``a * a + 1`` before a log).
    """

    family: str
    source: str | Callable[..., str]
    params: Callable[[st.DrawFn, list[tuple[int, ...]], bool], dict[str, Any]] = (
        lambda draw, shapes, wild: {}
    )
    arity: int = 1
    guards: tuple[Callable[[Any], Any] | None, ...] = ()


@dataclass(frozen=True)
class OpSpec:
    """An operation under test.

    Attributes:
        name: the Tensor method or function it tests.
        fn: ``fn(*tensors, **params)`` computes it with tinygrad_edu.
        ref: ``ref(*arrays, **params)`` computes the same with numpy alone.
        cases: a strategy of :class:`Case` inside the domain where the op is smooth.
        second_order: also check second derivatives (False for piecewise-linear ops, whose
            second derivative is zero and uninteresting, and ops whose kinks are too close).
        fuzz: how random programs (tests/test_fuzz.py) apply it, None: they do not.
    """

    name: str
    fn: Callable[..., Tensor]
    ref: Callable[..., np.ndarray]
    cases: st.SearchStrategy[Case]
    second_order: bool = True
    fuzz: Fuzz | None = None


def _unary(
    domain: tst.Domain = "real",
    kinks: tuple[float, ...] = (),
    params: dict[str, Any] | None = None,
    **kw: Any,
) -> Any:
    return tst.arrays(domain=domain, kinks=kinks, **kw).map(lambda a: Case((a,), params or {}))


def _binary(domains: list[tst.Domain] | None = None, apart: bool = False) -> Any:
    pairs = tst.broadcastable_pairs(domains or "real")
    if apart:  # max/min: no pair within a step of a tie, where the slope jumps
        pairs = pairs.filter(lambda ab: np.all(np.abs(ab[0] - ab[1]) >= _GAP))
    return pairs.map(Case)


_GAP = 1e-3


def _spread(a: np.ndarray) -> bool:
    """All values at least _GAP apart: a max or min with no near-tie."""
    return a.size < 2 or bool(np.diff(np.sort(a, axis=None)).min() >= _GAP)


@st.composite
def _with_axis(draw: st.DrawFn, domain: tst.Domain = "real", unique: bool = False) -> Case:
    """An array and a reduction ``axis`` (None, int or tuple) with ``keepdims``."""
    a = draw(tst.arrays(domain=domain, unique=unique).filter(lambda a: not unique or _spread(a)))
    return Case((a,), {"axis": draw(tst.axes(a.ndim)), "keepdims": draw(st.booleans())})


@st.composite
def _with_one_axis(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    return Case((a,), {"axis": draw(st.integers(-a.ndim, a.ndim - 1))})


@st.composite
def _var_case(draw: st.DrawFn) -> Case:
    case = draw(_with_axis(unique=True))
    a, axis = case.arrays[0], case.params["axis"]
    n = a.size if axis is None else int(np.prod(np.array(a.shape)[np.array(axis)]))
    return Case(case.arrays, {**case.params, "ddof": draw(st.integers(0, max(0, n - 1)))})


@st.composite
def _reshape_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays())
    sizes = [d for d in range(1, a.size + 1) if a.size % d == 0]
    first = draw(st.sampled_from(sizes))
    shape = draw(st.sampled_from([(first, -1), (a.size,), (-1, first, 1), (1, a.size)]))
    return Case((a,), {"shape": shape})


@st.composite
def _transpose_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays())
    return Case((a,), {"axes": tuple(draw(st.permutations(range(a.ndim))))})


@st.composite
def _expand_case(draw: st.DrawFn) -> Case:
    (small, big) = draw(tst.broadcastable_shapes(2))
    a = draw(tst.arrays(small))
    return Case((a,), {"shape": np.broadcast_shapes(small, big)})


@st.composite
def _index_case(draw: st.DrawFn) -> Case:
    """Basic slices, integers, integer arrays with repeats, and boolean masks."""
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    n = a.shape[0]
    kind = draw(st.sampled_from(["int", "slice", "ints", "mask", "tuple"]))
    if kind == "int":
        index: Any = draw(st.integers(-n, n - 1))
    elif kind == "slice":
        index = slice(draw(st.integers(0, n)), None, draw(st.sampled_from([1, 2, -1])))
    elif kind == "ints":  # repeated indices must accumulate their gradients
        index = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6)))
    elif kind == "mask":
        index = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    else:
        index = (slice(None), *(0 for _ in a.shape[1:2])) + (None,)
    return Case((a,), {"index": index})


@st.composite
def _join_case(draw: st.DrawFn, same_shape: bool) -> Case:
    base = draw(tst.shapes(min_dims=1))
    axis = draw(st.integers(0, len(base) - 1))
    count = draw(st.integers(1, 3))
    shapes = []
    for _ in range(count):
        shape = list(base)
        if not same_shape:
            shape[axis] = draw(st.integers(1, 3))
        shapes.append(tuple(shape))
    arrays = tuple(draw(tst.arrays(s)) for s in shapes)
    return Case(arrays, {"axis": draw(st.integers(-len(base), len(base) - 1)) if same_shape
                         else axis})


@st.composite
def _swapaxes_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    axes = st.integers(-a.ndim, a.ndim - 1)
    return Case((a,), {"axis1": draw(axes), "axis2": draw(axes)})


@st.composite
def _constant_case(draw: st.DrawFn) -> Case:
    """A tensor and a numpy array ``c`` it broadcasts with (an operand that is no Tensor)."""
    a, c = draw(tst.broadcastable_pairs())
    return Case((a,), {"c": c})


def _times_constant(a: Any, c: np.ndarray) -> Any:
    return c * a  # the same code for Tensors and arrays: the array on the left


def _minus_constant(a: Any, c: np.ndarray) -> Any:
    return a - c


@st.composite
def _where_case(draw: st.DrawFn) -> Case:
    a, b = draw(tst.broadcastable_pairs())
    shape = np.broadcast_shapes(a.shape, b.shape)
    cond = draw(tst.hnp.arrays(np.bool_, shape))
    return Case((a, b), {"cond": cond})


def _stack_ref(*arrays: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.stack(arrays, axis=axis)


def _concat_ref(*arrays: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.concatenate(arrays, axis=axis)


# ------------------------------------------------------------------ numpy references
# Strict where the library is: an argument the library rejects though numpy would take it
# (an axis given twice, a clip without bounds, a non-finite slope) raises Rejected.


class Rejected(Exception):
    """A reference's verdict: the library must reject these arguments (numpy would not)."""



def _strict_axes(a: np.ndarray, axis: Any) -> tuple[int, ...]:
    """The axes ``axis`` names (all of them for None), each an int in [-ndim, ndim).

    A 0-d array takes one axis 0 or -1 (as in numpy and PyTorch), which names no axis.
    """
    if axis is None:
        return tuple(range(a.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    n = a.ndim if a.ndim or len(axes) > 1 else 1
    for ax in axes:
        if not isinstance(ax, (int, np.integer)) or not -n <= ax < n:
            raise Rejected(f"axis {axis} for {a.ndim} dims")
    return axes if a.ndim else ()


def _numpy_axis(a: np.ndarray, axis: Any) -> tuple[int, ...] | None:
    """``axis`` checked by :func:`_strict_axes`, as numpy takes it (a 0-d array's is ())."""
    return None if axis is None else _strict_axes(a, axis)


def _finite(value: float) -> float:
    # Issue 7: non-finite hyper-parameters are rejected (numpy would fill the result with nan).
    if not np.isfinite(value):
        raise Rejected(f"non-finite parameter {value}")
    return value


def _ref_leaky_relu(a: np.ndarray, slope: float) -> np.ndarray:
    return np.where(a > 0, a, _finite(slope) * a)


def _ref_clip(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    # The library rejects a clip with no bound or with lo > hi (numpy would fill with hi).
    for bound in (lo, hi):
        if bound is not None:
            _finite(bound)
    if lo is None and hi is None:
        raise Rejected("clip without bounds")
    if lo is not None and hi is not None and lo > hi:
        raise Rejected("clip with lo > hi")
    return np.clip(a, lo, hi)


def _nonempty(a: np.ndarray, axis: Any = None) -> np.ndarray:
    # max/min/logsumexp over an empty axis have no value (as in numpy and PyTorch); over a
    # non-empty axis of an empty tensor they give an empty result.
    if a.size == 0 and any(a.shape[ax] == 0 for ax in _strict_axes(a, axis)):
        raise Rejected("reduction over an empty axis")
    return a


def _ref_sum(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.sum(a, axis=axis, keepdims=keepdims)


def _ref_mean(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.mean(a, axis=axis, keepdims=keepdims)


def _ref_max(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.max(_nonempty(a, axis), axis=axis, keepdims=keepdims)


def _ref_min(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.min(_nonempty(a, axis), axis=axis, keepdims=keepdims)


def _ref_var(a: np.ndarray, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
    # The library rejects n - ddof <= 0, where numpy returns nan or inf with a warning.
    n = int(np.prod([a.shape[ax] for ax in _strict_axes(a, axis)]))  # 1 for axis=()
    if n - ddof <= 0:
        raise Rejected("variance of too few elements")
    axis = _numpy_axis(a, axis)
    return np.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


def _ref_logsumexp(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    m = np.max(_nonempty(a, axis), axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _ref_softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ref_log_softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _ref_reshape(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # numpy 2 reads any negative size as "infer"; only -1 means that (as in PyTorch).
    if any(n < -1 for n in shape):
        raise Rejected(f"reshape to {shape}")
    return a.reshape(shape)


def _ref_transpose(a: np.ndarray, axes: tuple[int, ...] = ()) -> np.ndarray:
    return a.transpose(axes) if axes else a.transpose()


def _ref_flatten(a: np.ndarray, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    # PyTorch's rules: a 0-d tensor flattens to shape (1,) (its dims range over [-1, 0]);
    # start_dim must not come after end_dim.
    ndim = max(a.ndim, 1)
    dims = (start_dim, end_dim)
    if not all(isinstance(d, (int, np.integer)) and -ndim <= d < ndim for d in dims):
        raise Rejected("flatten: dim out of range")
    lo, hi = start_dim % ndim, end_dim % ndim
    if lo > hi:
        raise Rejected("flatten: start_dim after end_dim")
    if a.ndim == 0:
        return a.reshape(1)
    s = a.shape
    return a.reshape(s[:lo] + (int(np.prod(s[lo : hi + 1])),) + s[hi + 1 :])


def _ref_squeeze(a: np.ndarray, axis: Any = None) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.squeeze(a, axis=axis)


def _ref_expand(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # PyTorch's -1 keeps the size of a dimension the array has (not of a new leading one).
    # Sizes are integers, as in PyTorch (-1.0 == -1 in Python, but it is not a size).
    lead = len(shape) - a.ndim
    if any(n == -1 and i < lead for i, n in enumerate(shape)) or any(
        isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in shape
    ):
        raise Rejected(f"expand to {shape}")
    target = tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return np.broadcast_to(a, target)


def _ref_prod(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.prod(a, axis=_numpy_axis(a, axis), keepdims=keepdims)


def _ref_std(a: np.ndarray, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
    return np.sqrt(_ref_var(a, axis, keepdims, ddof))


def _ref_cumsum(a: np.ndarray, axis: int) -> np.ndarray:
    axes = _numpy_axis(a, axis)
    return a.copy() if axes == () else np.cumsum(a, axis=axis)


def _integers(low: int, high: int) -> tuple[float, ...]:
    """The integers in [low, high]: where floor, ceil and trunc jump."""
    return tuple(float(k) for k in range(low, high + 1))


@st.composite
def _mod_case(draw: st.DrawFn) -> Case:
    """x mod y away from its jumps (where x / y is an integer)."""
    pairs = tst.broadcastable_pairs(["real", "nonzero"])
    return Case(draw(pairs.filter(lambda ab: _off_integers(ab[0] / ab[1]))))


def _off_integers(q: np.ndarray) -> bool:
    return bool(np.all(np.abs(q - np.round(q)) > _GAP))


@st.composite
def _with_zeros(draw: st.DrawFn, reduce: bool) -> Case:
    """Arrays holding exact zeros (products: the gradient must not divide by them)."""
    values = st.sampled_from([0.0, 0.0, -1.5, 0.5, 1.25, 2.0])
    a = draw(tst.hnp.arrays(np.float64, tst.shapes(min_dims=1), elements=values))
    if reduce:
        return Case((a,), {"axis": draw(tst.axes(a.ndim)), "keepdims": draw(st.booleans())})
    return Case((a,), {"axis": draw(st.integers(-a.ndim, a.ndim - 1))})


@st.composite
def _sort_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1), unique=True).filter(_spread))
    return Case(
        (a,), {"axis": draw(st.integers(-a.ndim, a.ndim - 1)), "descending": draw(st.booleans())}
    )


@st.composite
def _topk_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1), unique=True).filter(_spread))
    axis = draw(st.integers(-a.ndim, a.ndim - 1))
    k = draw(st.integers(0, a.shape[axis]))
    return Case((a,), {"k": k, "axis": axis, "largest": draw(st.booleans())})


@st.composite
def _flip_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays())
    return Case((a,), {"axis": draw(tst.axes(a.ndim))})


@st.composite
def _roll_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    if draw(st.booleans()):
        return Case((a,), {"shift": draw(st.integers(-5, 5)), "axis": None})
    axes = draw(tst.hnp.valid_tuple_axes(a.ndim, min_size=1))
    shifts = tuple(draw(st.integers(-5, 5)) for _ in axes)
    return Case((a,), {"shift": shifts, "axis": axes})


@st.composite
def _pad_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in a.shape)
    return Case((a,), {"widths": widths, "value": draw(st.sampled_from([0.0, -1.5]))})


@st.composite
def _tile_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(max_dims=2, max_side=3)))
    reps = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    return Case((a,), {"reps": reps})


@st.composite
def _repeat_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(max_dims=2, max_side=3)))
    extra = draw(st.integers(0, 1))
    reps = tuple(draw(st.integers(1, 3)) for _ in range(a.ndim + extra))
    return Case((a,), {"reps": reps})


@st.composite
def _split_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    axis = draw(st.integers(-a.ndim, a.ndim - 1))
    return Case((a,), {"size": draw(st.integers(1, 4)), "axis": axis})


@st.composite
def _chunk_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    axis = draw(st.integers(-a.ndim, a.ndim - 1))
    return Case((a,), {"chunks": draw(st.integers(1, 4)), "axis": axis})


@st.composite
def _triangle_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=2)))
    return Case((a,), {"k": draw(st.integers(-2, 2))})


@st.composite
def _diag_case(draw: st.DrawFn) -> Case:
    a = draw(tst.arrays(tst.shapes(min_dims=1, max_dims=2)))
    return Case((a,), {"k": draw(st.integers(-2, 2))})


@st.composite
def _gather_case(draw: st.DrawFn) -> Case:
    """An index along ``axis`` (repeats included) no larger than the input elsewhere."""
    a = draw(tst.arrays(tst.shapes(min_dims=1)))
    axis = draw(st.integers(0, a.ndim - 1))
    shape = tuple(
        draw(st.integers(1, 4)) if d == axis else draw(st.integers(1, n))
        for d, n in enumerate(a.shape)
    )
    n = a.shape[axis]
    index = draw(tst.hnp.arrays(np.int64, shape, elements=st.integers(-n, n - 1)))
    return Case((a,), {"axis": axis, "index": index})


@st.composite
def _scatter_case(draw: st.DrawFn) -> Case:
    case = draw(_gather_case())
    a, index = case.arrays[0], case.params["index"]
    src = draw(tst.arrays(tuple(k + draw(st.integers(0, 1)) for k in index.shape)))
    return Case((a, src), case.params)


@st.composite
def _lerp_case(draw: st.DrawFn) -> Case:
    shapes = draw(tst.broadcastable_shapes(3))
    return Case(tuple(draw(tst.arrays(s)) for s in shapes))


# Formulas with their operands' shapes, the letters' sizes drawn: products, traces,
# diagonals, outer products, batches, transposes and sums.
_EINSUM_FORMULAS = [
    "ij,jk->ik", "ii->i", "ii->", "ij->", "ij->ji", "i,j->ij", "bij,bjk->bik", "i,i->",
    "ij,j->i", "iij->j", "ij,ij->ij", "ijk->ki",
]  # fmt: skip


@st.composite
def _einsum_case(draw: st.DrawFn) -> Case:
    formula = draw(st.sampled_from(_EINSUM_FORMULAS))
    sizes = {c: draw(st.integers(1, 3)) for c in sorted(set(formula) - set(",->"))}
    ins = formula.split("->")[0].split(",")
    return Case(
        tuple(draw(tst.arrays(tuple(sizes[c] for c in sub))) for sub in ins),
        {"formula": formula},
    )


def _split_ref(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """The pieces of ``size`` along ``axis`` put back in reverse order."""
    n = a.shape[axis]
    pieces = [np.take(a, range(lo, min(lo + size, n)), axis=axis) for lo in range(0, n, size)]
    return np.concatenate(pieces[::-1], axis=axis)


def _chunk_ref(a: np.ndarray, chunks: int, axis: int) -> np.ndarray:
    return _split_ref(a, max(1, -(-a.shape[axis] // chunks)), axis)


def _topk_ref(a: np.ndarray, k: int, axis: int, largest: bool) -> np.ndarray:
    ordered = -np.sort(-a, axis=axis) if largest else np.sort(a, axis=axis)
    return np.take(ordered, range(k), axis=axis)


def _gather_ref(a: np.ndarray, axis: int, index: np.ndarray) -> np.ndarray:
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return a[tuple(grid)]


def _scatter_ref(a: np.ndarray, src: np.ndarray, axis: int, index: np.ndarray) -> np.ndarray:
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    out = a.copy()
    np.add.at(out, tuple(grid), src[tuple(slice(0, n) for n in index.shape)])
    return out


_erf_ref = np.vectorize(math.erf, otypes=[float])  # otypes: empty arrays work too


def _gelu_ref(a: np.ndarray) -> np.ndarray:
    return a * (0.5 + 0.5 * _erf_ref(a / np.sqrt(2)))


def _softplus_ref(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, a)


def _elu_ref(a: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(a > 0, a, alpha * (np.exp(a) - 1))


_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)


def _linear_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    # A layer's weight is (out, in) and its bias (out,): no other shapes, though numpy's
    # matmul and broadcasting would take some (a 1-D weight, a bias of shape (1,)).
    if w.ndim != 2 or (b is not None and b.shape != (w.shape[0],)):
        raise Rejected(f"linear: weight {w.shape}, bias {None if b is None else b.shape}")
    return x @ w.T if b is None else x @ w.T + b


@st.composite
def _linear_case(draw: st.DrawFn) -> Case:
    """x (N, in) or (in,), W (out, in) and maybe b (out,): the fused z = x W^T + b."""
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = draw(st.sampled_from([(), (1,), (3,)]))
    x = draw(tst.arrays((*lead, n_in)))
    w = draw(tst.arrays((n_out, n_in)))
    return Case((x, w, draw(tst.arrays((n_out,)))) if draw(st.booleans()) else (x, w))


def _cross_entropy_ref(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(x)), labels].mean()


@st.composite
def _cross_entropy_case(draw: st.DrawFn) -> Case:
    """Logits (N, C) and integer labels: the fused softmax cross-entropy."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return Case((draw(tst.arrays((n, c))),), {"labels": labels})


@st.composite
def _same_shape_pair(draw: st.DrawFn) -> Case:
    """Predictions and targets of one shape: the fused mean squared error."""
    shape = draw(tst.shapes(min_dims=1, max_dims=2))
    return Case((draw(tst.arrays(shape)), draw(tst.arrays(shape))))


_SPECS = [
    # ------------------------------------------------------------------ arithmetic
    OpSpec("add", lambda a, b: a + b, np.add, _binary()),
    OpSpec("sub", lambda a, b: a - b, np.subtract, _binary()),
    OpSpec("mul", lambda a, b: a * b, np.multiply, _binary()),
    OpSpec("div", lambda a, b: a / b, np.divide, _binary(["real", "nonzero"])),
    OpSpec("pow", lambda a, b: a**b, np.power, _binary(["positive", "real"])),
    OpSpec("pow_scalar", lambda a: a**3, lambda a: a**3, _unary()),
    OpSpec("rpow_scalar", lambda a: 2.0**a, lambda a: 2.0**a, _unary()),
    OpSpec("radd_scalar", lambda a: 1.5 + a, lambda a: 1.5 + a, _unary()),
    OpSpec("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a, _unary()),
    OpSpec("rdiv_scalar", lambda a: 1.5 / a, lambda a: 1.5 / a, _unary("nonzero")),
    OpSpec("neg", lambda a: -a, np.negative, _unary()),
    OpSpec("mul_constant", _times_constant, _times_constant, _constant_case()),
    OpSpec("sub_constant", _minus_constant, _minus_constant, _constant_case()),
    OpSpec("mod", lambda a, b: a % b, np.mod, _mod_case(), second_order=False),
    OpSpec(
        "rmod_scalar",
        lambda a: 2.5 % a,
        lambda a: np.mod(2.5, a),
        _unary("nonzero").filter(lambda c: _off_integers(2.5 / c.arrays[0])),
        second_order=False,
    ),
    OpSpec("lerp", lambda a, b, w: a.lerp(b, w), lambda a, b, w: a + w * (b - a), _lerp_case()),
    OpSpec("maximum", Tensor.maximum, np.maximum, _binary(apart=True), second_order=False),
    OpSpec("minimum", Tensor.minimum, np.minimum, _binary(apart=True), second_order=False),
    OpSpec(
        "where",
        lambda a, b, cond: Tensor.where(cond, a, b),
        lambda a, b, cond: np.where(cond, a, b),
        _where_case(),
        second_order=False,
    ),
    # ------------------------------------------------------------------ elementwise functions
    OpSpec("exp", Tensor.exp, np.exp, _unary()),
    OpSpec("log", Tensor.log, np.log, _unary("positive")),
    OpSpec("sqrt", Tensor.sqrt, np.sqrt, _unary("positive")),
    OpSpec("log2", Tensor.log2, np.log2, _unary("positive")),
    OpSpec("exp2", Tensor.exp2, np.exp2, _unary()),
    OpSpec("log1p", Tensor.log1p, np.log1p, _unary((-0.9, 3.0))),
    OpSpec("expm1", Tensor.expm1, np.expm1, _unary()),
    OpSpec("square", Tensor.square, np.square, _unary()),
    OpSpec("reciprocal", Tensor.reciprocal, np.reciprocal, _unary("nonzero")),
    OpSpec("rsqrt", Tensor.rsqrt, lambda a: 1 / np.sqrt(a), _unary("positive")),
    OpSpec("erf", Tensor.erf, _erf_ref, _unary()),
    OpSpec("sin", Tensor.sin, np.sin, _unary()),
    OpSpec("cos", Tensor.cos, np.cos, _unary()),
    OpSpec("tan", Tensor.tan, np.tan, _unary((-1.2, 1.2))),
    OpSpec("sinh", Tensor.sinh, np.sinh, _unary()),
    OpSpec("cosh", Tensor.cosh, np.cosh, _unary()),
    OpSpec("arcsin", Tensor.arcsin, np.arcsin, _unary("unit")),
    OpSpec("arccos", Tensor.arccos, np.arccos, _unary("unit")),
    OpSpec("arctan", Tensor.arctan, np.arctan, _unary()),
    # rounding: zero gradient, checked away from the jumps
    OpSpec("sign", Tensor.sign, np.sign, _unary(kinks=(0.0,)), second_order=False),
    OpSpec("floor", Tensor.floor, np.floor, _unary(kinks=_integers(-2, 2)), False),
    OpSpec("ceil", Tensor.ceil, np.ceil, _unary(kinks=_integers(-2, 2)), False),
    OpSpec("trunc", Tensor.trunc, np.trunc, _unary(kinks=_integers(-2, 2)), False),
    OpSpec("round", Tensor.round, np.round, _unary(kinks=(-1.5, -0.5, 0.5, 1.5)), False),
    OpSpec("abs", Tensor.abs, np.abs, _unary(kinks=(0.0,)), second_order=False),
    OpSpec(
        "clip",
        lambda a, lo, hi: a.clip(lo, hi),
        _ref_clip,
        _unary(kinks=(-0.5, 0.5), params={"lo": -0.5, "hi": 0.5}),
        second_order=False,
    ),
    # ------------------------------------------------------------------ activations
    OpSpec("relu", Tensor.relu, lambda a: np.maximum(a, 0), _unary(kinks=(0.0,)), False),
    OpSpec(
        "leaky_relu",
        lambda a, slope: a.leaky_relu(slope),
        _ref_leaky_relu,
        _unary(kinks=(0.0,), params={"slope": 0.1}),
        second_order=False,
    ),
    OpSpec("sigmoid", Tensor.sigmoid, lambda a: 1 / (1 + np.exp(-a)), _unary()),
    OpSpec("tanh", Tensor.tanh, np.tanh, _unary()),
    OpSpec(
        "hardtanh",
        Tensor.hardtanh,
        lambda a: np.clip(a, -1, 1),
        _unary(kinks=(-1.0, 1.0)),
        second_order=False,
    ),
    OpSpec("softsign", Tensor.softsign, lambda a: a / (1 + np.abs(a)), _unary(kinks=(0.0,))),
    OpSpec("softplus", Tensor.softplus, _softplus_ref, _unary()),
    OpSpec("gelu", Tensor.gelu, _gelu_ref, _unary()),
    OpSpec(
        "gelu_tanh",
        lambda a: a.gelu(approximate="tanh"),
        lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3))),
        _unary(),
    ),
    OpSpec("elu", Tensor.elu, _elu_ref, _unary(kinks=(0.0,), params={"alpha": 0.7})),
    OpSpec(
        "selu",
        Tensor.selu,
        lambda a: _SELU[1] * _elu_ref(a, _SELU[0]),
        _unary(kinks=(0.0,)),
    ),
    OpSpec("silu", Tensor.silu, lambda a: a / (1 + np.exp(-a)), _unary()),
    OpSpec("mish", Tensor.mish, lambda a: a * np.tanh(_softplus_ref(a)), _unary()),
    OpSpec(
        "relu6",
        Tensor.relu6,
        lambda a: np.clip(a, 0, 6),
        _unary((-2.0, 8.0), kinks=(0.0, 6.0)),
        second_order=False,
    ),
    OpSpec(
        "hardsigmoid",
        Tensor.hardsigmoid,
        lambda a: np.clip(a / 6 + 0.5, 0, 1),
        _unary((-5.0, 5.0), kinks=(-3.0, 3.0)),
        second_order=False,
    ),
    OpSpec(
        "hardswish",
        Tensor.hardswish,
        lambda a: a * np.clip(a / 6 + 0.5, 0, 1),
        _unary((-5.0, 5.0), kinks=(-3.0, 3.0)),
    ),
    OpSpec("logsigmoid", Tensor.logsigmoid, lambda a: -_softplus_ref(-a), _unary()),
    OpSpec("softmax", lambda a, axis: a.softmax(axis), _ref_softmax, _with_one_axis()),
    OpSpec(
        "log_softmax",
        lambda a, axis: a.log_softmax(axis),
        _ref_log_softmax,
        _with_one_axis(),
    ),
    # ------------------------------------------------------------------ linear algebra
    OpSpec("matmul", lambda a, b: a @ b, np.matmul, tst.matmul_pairs().map(Case)),
    OpSpec(
        "einsum",
        lambda *ts, formula: Tensor.einsum(formula, *ts),
        lambda *arrays, formula: np.einsum(formula, *arrays),
        _einsum_case(),
    ),
    # ------------------------------------------------------------------ reductions
    OpSpec("sum", Tensor.sum, _ref_sum, _with_axis()),
    OpSpec("mean", Tensor.mean, _ref_mean, _with_axis()),
    OpSpec("var", Tensor.var, _ref_var, _var_case()),
    OpSpec("max", Tensor.max, _ref_max, _with_axis(unique=True), second_order=False),
    OpSpec("min", Tensor.min, _ref_min, _with_axis(unique=True), second_order=False),
    OpSpec("logsumexp", Tensor.logsumexp, _ref_logsumexp, _with_axis()),
    OpSpec("std", Tensor.std, _ref_std, _var_case()),
    OpSpec("prod", Tensor.prod, _ref_prod, _with_axis()),
    OpSpec("prod_zeros", Tensor.prod, _ref_prod, _with_zeros(reduce=True)),
    OpSpec("cumsum", lambda a, axis: a.cumsum(axis), _ref_cumsum, _with_one_axis()),
    OpSpec("cumprod", lambda a, axis: a.cumprod(axis), np.cumprod, _with_one_axis()),
    OpSpec("cumprod_zeros", lambda a, axis: a.cumprod(axis), np.cumprod, _with_zeros(False)),
    OpSpec(
        "sort",
        lambda a, axis, descending: a.sort(axis, descending)[0],
        lambda a, axis, descending: -np.sort(-a, axis) if descending else np.sort(a, axis),
        _sort_case(),
        second_order=False,
    ),
    OpSpec(
        "topk",
        lambda a, k, axis, largest: a.topk(k, axis, largest)[0],
        _topk_ref,
        _topk_case(),
        second_order=False,
    ),
    # ------------------------------------------------------------------ shape and indexing
    OpSpec("reshape", lambda a, shape: a.reshape(shape), _ref_reshape, _reshape_case()),
    OpSpec("transpose", lambda a, axes: a.transpose(*axes), _ref_transpose, _transpose_case()),
    OpSpec("swapaxes", Tensor.swapaxes, np.swapaxes, _swapaxes_case()),
    OpSpec("T", lambda a: a.T, lambda a: a.T, _unary()),
    OpSpec("flatten", Tensor.flatten, _ref_flatten, _unary()),
    OpSpec("squeeze", Tensor.squeeze, _ref_squeeze, _unary()),
    OpSpec("unsqueeze", Tensor.unsqueeze, np.expand_dims, _unary(params={"axis": -1})),
    OpSpec("expand", lambda a, shape: a.expand(shape), _ref_expand, _expand_case()),
    OpSpec("flip", lambda a, axis: a.flip(axis), lambda a, axis: np.flip(a, axis), _flip_case()),
    OpSpec(
        "roll",
        lambda a, shift, axis: a.roll(shift, axis),
        lambda a, shift, axis: np.roll(a, shift, axis),
        _roll_case(),
    ),
    OpSpec(
        "pad",
        lambda a, widths, value: a.pad(widths, value),
        lambda a, widths, value: np.pad(a, widths, constant_values=value),
        _pad_case(),
    ),
    OpSpec("tile", lambda a, reps: a.tile(reps), np.tile, _tile_case()),
    OpSpec("repeat", lambda a, reps: a.repeat(*reps), np.tile, _repeat_case()),
    OpSpec(
        "split",
        lambda a, size, axis: Tensor.concatenate(a.split(size, axis)[::-1], axis),
        _split_ref,
        _split_case(),
    ),
    OpSpec(
        "chunk",
        lambda a, chunks, axis: Tensor.concatenate(a.chunk(chunks, axis)[::-1], axis),
        _chunk_ref,
        _chunk_case(),
    ),
    OpSpec("tril", lambda a, k: a.tril(k), lambda a, k: np.tril(a, k), _triangle_case()),
    OpSpec("triu", lambda a, k: a.triu(k), lambda a, k: np.triu(a, k), _triangle_case()),
    OpSpec("diag", lambda a, k: a.diag(k), lambda a, k: np.diag(a, k), _diag_case()),
    OpSpec("getitem", lambda a, index: a[index], lambda a, index: a[index], _index_case()),
    OpSpec(
        "gather",
        lambda a, axis, index: a.gather(axis, index),
        _gather_ref,
        _gather_case(),
    ),
    OpSpec(
        "scatter_add",
        lambda a, src, axis, index: a.scatter_add(axis, index, src),
        _scatter_ref,
        _scatter_case(),
    ),
    OpSpec(
        "concatenate",
        lambda *ts, axis: Tensor.concatenate(ts, axis),
        _concat_ref,
        _join_case(same_shape=False),
    ),
    OpSpec("stack", lambda *ts, axis: Tensor.stack(ts, axis), _stack_ref, _join_case(True)),
    # ------------------------------------------------------------------ fused layers and losses
    OpSpec("linear", lambda x, w, b=None: x.linear(w, b), _linear_ref, _linear_case()),
    OpSpec(
        "cross_entropy",
        lambda x, labels: cross_entropy(x, labels),
        _cross_entropy_ref,
        _cross_entropy_case(),
    ),
    OpSpec(  # the per-sample rows (SoftmaxCrossEntropy): the mean above is a node of its own
        "cross_entropy_sum",
        lambda x, labels: cross_entropy(x, labels, reduction="sum"),
        lambda x, labels: _cross_entropy_ref(x, labels) * len(x),
        _cross_entropy_case(),
    ),
    OpSpec(
        "mse_loss",
        lambda pred, target: mse_loss(pred, target),
        lambda pred, target: np.mean((pred - target) ** 2),
        _same_shape_pair(),
    ),
]

OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}
"""Every operation under test, by name."""


# ----------------------------------------------------------------------------- convolution, pooling
# Appended to the table: the window operations, with references written as plain sums over the
# kernel offsets of strided slices (independent of the library's im2col).


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv_ref(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, width = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo), dtype=np.result_type(x, w))
    og = o // groups
    for g in range(groups):
        for a in range(kh):
            for bb in range(kw):
                patch = xp[:, g * cg : (g + 1) * cg, a * dh : a * dh + sh * (ho - 1) + 1 : sh,
                           bb * dw : bb * dw + sw * (wo - 1) + 1 : sw]  # fmt: skip
                out[:, g * og : (g + 1) * og] += np.einsum(
                    "nchw,oc->nohw", patch, w[g * og : (g + 1) * og, :, a, bb]
                )
    return out if b is None else out + b[:, None, None]


def _pool_ref(x: np.ndarray, kernel: Any, stride: Any, padding: Any, kind: str) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    ho = (x.shape[2] + 2 * ph - kh) // sh + 1
    wo = (x.shape[3] + 2 * pw - kw) // sw + 1
    planes = [
        xp[:, :, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw]
        for a in range(kh)
        for b in range(kw)
    ]
    return np.max(planes, axis=0) if kind == "max" else np.mean(planes, axis=0)


@st.composite
def _conv_case(draw: st.DrawFn) -> Case:
    """An NCHW input, a weight, maybe a bias, and stride, padding, dilation, groups that fit."""
    groups = draw(st.sampled_from([1, 1, 2]))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([1, 2, (1, 2)]))
    padding = draw(st.sampled_from([0, 1, (0, 1)]))
    dilation = draw(st.sampled_from([1, 1, 2]))
    reach = [dilation * (k - 1) + 1 - 2 * p for k, p in zip(kernel, _pair(padding))]
    h, width = (draw(st.integers(max(1, r), max(1, r) + 3)) for r in reach)
    x = draw(tst.arrays((draw(st.integers(1, 2)), c, h, width)))
    w = draw(tst.arrays((o, c // groups, *kernel)))
    arrays = (x, w, draw(tst.arrays((o,)))) if draw(st.booleans()) else (x, w)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return Case(arrays, params)


@st.composite
def _pool_case(draw: st.DrawFn) -> Case:
    """An NCHW input of distinct values (no tie in any window) and a window that fits."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([None, 1, 2, (2, 1)]))
    padding = draw(st.sampled_from([0, (0, 1), 1]))
    padding = tuple(min(p, k // 2) for p, k in zip(_pair(padding), kernel))
    h = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 5))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 5))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, width)
    size = int(np.prod(shape))
    order = draw(st.permutations(range(size)))
    # Evenly spaced values in [-2, 2], shuffled: every window's maximum is clear by 4 / size.
    x = np.linspace(-2.0, 2.0, size)[np.array(order)].reshape(shape)
    return Case((x,), {"kernel": kernel, "stride": stride, "padding": padding})


def _pool_stride(params: dict[str, Any]) -> Any:
    return params["kernel"] if params["stride"] is None else params["stride"]


_WINDOW_SPECS = [
    OpSpec(
        "conv2d",
        lambda x, w, b=None, **kw: x.conv2d(w, b, **kw),
        _conv_ref,
        _conv_case(),
    ),
    OpSpec(
        "max_pool2d",
        lambda x, **kw: x.max_pool2d(**kw),
        lambda x, **kw: _pool_ref(x, kw["kernel"], _pool_stride(kw), kw["padding"], "max"),
        _pool_case(),
        second_order=False,
    ),
    OpSpec(
        "avg_pool2d",
        lambda x, **kw: x.avg_pool2d(**kw),
        lambda x, **kw: _pool_ref(x, kw["kernel"], _pool_stride(kw), kw["padding"], "avg"),
        _pool_case(),
        second_order=False,
    ),
]
_SPECS.extend(_WINDOW_SPECS)
OPS.update({spec.name: spec for spec in _WINDOW_SPECS})


# ----------------------------------------------------------------------------- in random programs
# The operations tests/test_fuzz.py chains into random programs, and how. Its values are any
# reals of up to 1e3, so operations with a smaller domain get a guard that maps any real into
# it (the same code on Tensors and arrays, part of the program's source).


def _moderate(a: Any) -> Any:
    return a.clip(-3, 3)  # exp and sinh of at most 3: values a central difference handles


def _above_one(a: Any) -> Any:
    return a * a + 1  # a log's argument, a power's base, a denominator


def _above_half(a: Any) -> Any:
    return np.abs(a) + 0.5


def _not_negative(a: Any) -> Any:
    return a * a


def _alpha_one(draw: st.DrawFn, shapes: list[tuple[int, ...]], wild: bool) -> dict[str, Any]:
    return {"alpha": 1.0}


# fmt: off
_FUZZ = {
    # unary: every one is defined on all reals (domains made safe by a guard)
    "exp": Fuzz("unary", "{a}.clip(-3, 3).exp()", guards=(_moderate,)),
    "log": Fuzz("unary", "({a} * {a} + 1).log()", guards=(_above_one,)),
    "sqrt": Fuzz("unary", "(np.abs({a}) + 0.5).sqrt()", guards=(_above_half,)),
    "tanh": Fuzz("unary", "{a}.tanh()"),
    "sigmoid": Fuzz("unary", "{a}.sigmoid()"),
    "relu": Fuzz("unary", "{a}.relu()"),
    "abs": Fuzz("unary", "{a}.abs()"),
    "softsign": Fuzz("unary", "{a}.softsign()"),
    "neg": Fuzz("unary", "-{a}"),
    "leaky_relu": Fuzz("unary", "{a}.leaky_relu({slope})", fuzz_args.slope_params),
    "hardtanh": Fuzz("unary", "{a}.hardtanh()"),
    "clip": Fuzz("unary", "{a}.clip({lo}, {hi})", fuzz_args.clip_params),
    "square": Fuzz("unary", "{a}.square()"),
    "rsub_scalar": Fuzz("unary", "1.5 - {a}"),
    "sin": Fuzz("unary", "{a}.sin()"),
    "arctan": Fuzz("unary", "{a}.arctan()"),
    "sinh": Fuzz("unary", "{a}.clip(-3, 3).sinh()", guards=(_moderate,)),
    "log1p": Fuzz("unary", "({a} * {a}).log1p()", guards=(_not_negative,)),
    "softplus": Fuzz("unary", "{a}.softplus()"),
    "gelu": Fuzz("unary", "{a}.gelu()"),
    "elu": Fuzz("unary", "{a}.elu({alpha})", _alpha_one),
    # binary: the operands are any two values, whose shapes may not fit
    "add": Fuzz("binary", "{a} + {b}", arity=2),
    "sub": Fuzz("binary", "{a} - {b}", arity=2),
    "mul": Fuzz("binary", "{a} * {b}", arity=2),
    "div": Fuzz("binary", "{a} / ({b} * {b} + 1)", arity=2, guards=(None, _above_one)),
    "pow": Fuzz("binary", "({a} * {a} + 1) ** np.tanh({b})", arity=2,
                guards=(_above_one, np.tanh)),
    "maximum": Fuzz("binary", "Tensor.maximum({a}, {b})", arity=2),
    "minimum": Fuzz("binary", "Tensor.minimum({a}, {b})", arity=2),
    "matmul": Fuzz("binary", "{a} @ {b}", arity=2),
    "linear": Fuzz("binary", "{a}.linear({b})", arity=2),
    "where": Fuzz("binary", "Tensor.where({cond}, {a}, {b})", fuzz_args.where_params, arity=2),
    "mul_constant": Fuzz("binary", "{c} * {a}", fuzz_args.constant_params),
    "sub_constant": Fuzz("binary", "{a} - {c}", fuzz_args.constant_params),
    # reductions, over any axis (maybe out of range, repeated or empty)
    "sum": Fuzz("reduce", "{a}.sum(axis={axis}, keepdims={keepdims})", fuzz_args.reduce_params),
    "mean": Fuzz("reduce", "{a}.mean(axis={axis}, keepdims={keepdims})", fuzz_args.reduce_params),
    "max": Fuzz("reduce", "{a}.max(axis={axis}, keepdims={keepdims})", fuzz_args.reduce_params),
    "min": Fuzz("reduce", "{a}.min(axis={axis}, keepdims={keepdims})", fuzz_args.reduce_params),
    "var": Fuzz("reduce", "{a}.var(axis={axis}, keepdims={keepdims}, ddof={ddof})",
                fuzz_args.var_params),
    "logsumexp": Fuzz("reduce", "{a}.logsumexp(axis={axis}, keepdims={keepdims})",
                      fuzz_args.reduce_params),
    "prod": Fuzz("reduce", "{a}.prod(axis={axis}, keepdims={keepdims})", fuzz_args.reduce_params),
    "std": Fuzz("reduce", "{a}.std(axis={axis}, keepdims={keepdims}, ddof={ddof})",
                fuzz_args.var_params),
    "cumsum": Fuzz("reduce", "{a}.cumsum({axis})", fuzz_args.one_axis),
    "softmax": Fuzz("reduce", "{a}.softmax({axis})", fuzz_args.one_axis),
    "log_softmax": Fuzz("reduce", "{a}.log_softmax({axis})", fuzz_args.one_axis),
    # shape
    "reshape": Fuzz("shape", "{a}.reshape({shape})", fuzz_args.reshape_params),
    "transpose": Fuzz("shape", lambda a, axes: f"{a}.transpose(*{axes})",
                      fuzz_args.transpose_params),
    "swapaxes": Fuzz("shape", "{a}.swapaxes({axis1}, {axis2})", fuzz_args.swapaxes_params),
    "T": Fuzz("shape", "{a}.T"),
    "squeeze": Fuzz("shape", "{a}.squeeze({axis})", fuzz_args.squeeze_params),
    "unsqueeze": Fuzz("shape", "{a}.unsqueeze({axis})", fuzz_args.unsqueeze_params),
    "flatten": Fuzz("shape",
                    lambda a, **kw: f"{a}.flatten({', '.join(f'{k}={v}' for k, v in kw.items())})",
                    fuzz_args.flatten_params),
    "expand": Fuzz("shape", "{a}.expand({shape})", fuzz_args.expand_params),
    # indexing
    "getitem": Fuzz("index", "{a}[{index}]", fuzz_args.index_params),
    # joining one to three values (any of them, repeats allowed) along any axis
    "concatenate": Fuzz("join", "Tensor.concatenate({vs}, axis={axis})", fuzz_args.concat_axis,
                        arity=0),
    "stack": Fuzz("join", "Tensor.stack({vs}, axis={axis})", fuzz_args.stack_axis, arity=0),
}
# fmt: on
for _name, _fuzz in _FUZZ.items():
    OPS[_name] = replace(OPS[_name], fuzz=_fuzz)
