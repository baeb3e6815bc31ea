"""Every differentiable operation once: how to call it, its numpy reference, where to test it.

A test suite walks :data:`OPS` and, for each entry, draws inputs from ``cases``, checks the
forward value against ``ref`` and the gradient against central differences (and the second
derivative where ``second_order``). Adding an operation to the library means adding one row
here; the tests follow.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.testing.op_table import OPS, Case
    >>> spec = OPS["mul"]
    >>> case = Case((np.array([2.0, 3.0]), np.array([4.0])))
    >>> spec.fn(*case.tensors()).tolist(), spec.ref(*case.arrays).tolist()
    ([8.0, 12.0], [8.0, 12.0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..tensor import Tensor
from . import strategies as tst


@dataclass(frozen=True)
class Case:
    """One drawn input: the arrays, and keyword parameters (an axis, a shape, an index)."""

    arrays: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def tensors(self, requires_grad: bool = True) -> list[Tensor]:
        return [Tensor(a, requires_grad=requires_grad) for a in self.arrays]


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
    """

    name: str
    fn: Callable[..., Tensor]
    ref: Callable[..., np.ndarray]
    cases: st.SearchStrategy[Case]
    second_order: bool = True


def _unary(domain: tst.Domain = "real", kinks: tuple[float, ...] = (), **kw: Any) -> Any:
    return tst.arrays(domain=domain, kinks=kinks, **kw).map(lambda a: Case((a,)))


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
def _where_case(draw: st.DrawFn) -> Case:
    a, b = draw(tst.broadcastable_pairs())
    shape = np.broadcast_shapes(a.shape, b.shape)
    cond = draw(tst.hnp.arrays(np.bool_, shape))
    return Case((a, b), {"cond": cond})


def _sum_ref(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.sum(a, axis=axis, keepdims=keepdims)


def _logsumexp_ref(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


def _softmax_ref(a: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _stack_ref(*arrays: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.stack(arrays, axis=axis)


def _concat_ref(*arrays: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.concatenate(arrays, axis=axis)


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
    OpSpec("abs", Tensor.abs, np.abs, _unary(kinks=(0.0,)), second_order=False),
    OpSpec(
        "clip",
        lambda a: a.clip(-0.5, 0.5),
        lambda a: np.clip(a, -0.5, 0.5),
        _unary(kinks=(-0.5, 0.5)),
        second_order=False,
    ),
    # ------------------------------------------------------------------ activations
    OpSpec("relu", Tensor.relu, lambda a: np.maximum(a, 0), _unary(kinks=(0.0,)), False),
    OpSpec(
        "leaky_relu",
        lambda a: a.leaky_relu(0.1),
        lambda a: np.where(a > 0, a, 0.1 * a),
        _unary(kinks=(0.0,)),
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
    OpSpec("softmax", lambda a, axis: a.softmax(axis), _softmax_ref, _with_one_axis()),
    OpSpec(
        "log_softmax",
        lambda a, axis: a.log_softmax(axis),
        lambda a, axis: np.log(_softmax_ref(a, axis)),
        _with_one_axis(),
    ),
    # ------------------------------------------------------------------ linear algebra
    OpSpec("matmul", lambda a, b: a @ b, np.matmul, tst.matmul_pairs().map(Case)),
    # ------------------------------------------------------------------ reductions
    OpSpec("sum", Tensor.sum, _sum_ref, _with_axis()),
    OpSpec("mean", Tensor.mean, np.mean, _with_axis()),
    OpSpec("var", Tensor.var, np.var, _var_case()),
    OpSpec("max", Tensor.max, np.max, _with_axis(unique=True), second_order=False),
    OpSpec("min", Tensor.min, np.min, _with_axis(unique=True), second_order=False),
    OpSpec("logsumexp", Tensor.logsumexp, _logsumexp_ref, _with_axis()),
    # ------------------------------------------------------------------ shape and indexing
    OpSpec("reshape", lambda a, shape: a.reshape(shape), np.reshape, _reshape_case()),
    OpSpec("transpose", lambda a, axes: a.transpose(*axes), np.transpose, _transpose_case()),
    OpSpec("T", lambda a: a.T, lambda a: a.T, _unary()),
    OpSpec("flatten", Tensor.flatten, lambda a: a.reshape(-1), _unary()),
    OpSpec("squeeze", Tensor.squeeze, np.squeeze, _unary()),
    OpSpec(
        "unsqueeze",
        lambda a: a.unsqueeze(-1),
        lambda a: np.expand_dims(a, -1),
        _unary(),
    ),
    OpSpec("expand", lambda a, shape: a.expand(shape), np.broadcast_to, _expand_case()),
    OpSpec("getitem", lambda a, index: a[index], lambda a, index: a[index], _index_case()),
    OpSpec(
        "concatenate",
        lambda *ts, axis: Tensor.concatenate(ts, axis),
        _concat_ref,
        _join_case(same_shape=False),
    ),
    OpSpec("stack", lambda *ts, axis: Tensor.stack(ts, axis), _stack_ref, _join_case(True)),
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
