"""Fuzzing the engine with random programs: computed right, or rejected with the library's error.

A *program* is data: one to three float64 inputs ``v0, v1, v2`` of random shapes, then one to
six steps, each an operation from :data:`OPS` applied to values computed so far (any of them,
so shapes may well not fit) with randomly drawn arguments (axes, shapes, indices, bounds that
may be out of range). Two interpreters run the same program: one with Tensors, one with plain
numpy (the reference, which also says which programs are invalid). For every program:

* if the reference rejects it, the library must raise a subclass of ``TinygradEduError``,
  never a bare numpy ``ValueError`` / ``IndexError`` / ``TypeError``, and never return a value;
* if the reference computes it, the library must compute the same value (same shape, same
  numbers), and backprop through the scalar L = sum(w * out) (w random) must agree with
  central differences (``gradcheck``; kinks are allowed, only a ``GradcheckError`` fails).

Valid programs also get their second derivatives checked (``gradgradcheck``), as Newton's
method and ``hessian`` differentiate the recorded backward pass.

Hypothesis shrinks a failing program to a few steps, and its ``repr`` is runnable Python that
reproduces it. Every test here carries the ``fuzz`` marker (``pytest -m fuzz`` runs only them,
``pytest -m "not fuzz"`` skips them); they run by default.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu import Tensor, ops
from tinygrad_edu.errors import GradcheckError, ShapeError, TinygradEduError
from tinygrad_edu.gradcheck import GradcheckWarning, gradcheck, gradgradcheck
from tinygrad_edu.testing import strategies as tst

pytestmark = pytest.mark.fuzz

#: Values beyond this size (or non-finite) end a program before the step that makes them: big
#: numbers make central differences imprecise, and that is not what the fuzzer is after.
_LIMIT = 1e3


class Invalid(Exception):
    """The reference's verdict: the library must reject this step (beyond what numpy rejects)."""


# ----------------------------------------------------------------------------- programs as data


@dataclass
class Step:
    """One operation: ``op`` applied to the values numbered ``args``, with keyword ``params``."""

    op: str
    args: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def source(self, out: int) -> str:
        spec = OPS[self.op]
        names = [f"v{i}" for i in self.args]
        fields = {k: _literal(v) for k, v in self.params.items()}
        if spec.arity == 0:
            fields["vs"] = "[" + ", ".join(names) + "]"
        else:
            fields.update(zip("abc", names))
        code = spec.code(**fields) if callable(spec.code) else spec.code.format(**fields)
        return f"v{out} = {code}"


@dataclass
class Program:
    """Inputs ``v0..`` (float64 arrays), the steps computing ``v{k}..``, and the output weights.

    The ``repr`` is a runnable Python script that builds the same tensors and runs the steps.
    """

    inputs: list[np.ndarray]
    steps: list[Step]
    weight_seed: int

    def __repr__(self) -> str:
        lines = ["", "import numpy as np", "from tinygrad_edu import Tensor"]
        for i, a in enumerate(self.inputs):
            lines.append(f"v{i} = Tensor(np.array({a.tolist()!r}), requires_grad=True)")
        for k, step in enumerate(self.steps):
            lines.append(step.source(len(self.inputs) + k))
        out = f"v{len(self.inputs) + len(self.steps) - 1}"
        lines.append(
            f"# checked: gradcheck of ({out} * w).sum() over v0..v{len(self.inputs) - 1}, "
            f"w = np.random.default_rng({self.weight_seed}).standard_normal({out}.shape)"
        )
        return "\n".join(lines) + "\n"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints dataclasses field by field; a failing example should read as code.
        printer.text(repr(self))

    def tensors(self) -> list[Tensor]:
        return [Tensor(a.copy(), requires_grad=True) for a in self.inputs]

    def weights(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.random.default_rng(self.weight_seed).standard_normal(shape)


def _literal(v: Any) -> str:
    """Python source for a parameter value (arrays as ``np.array([...])``)."""
    if isinstance(v, np.ndarray):
        return f"np.array({v.tolist()!r})"
    if isinstance(v, tuple) and v and v[0] == "index":
        return _index_source(v[1])
    return repr(v)


# ----------------------------------------------------------------------------- the interpreters


def run_tensors(program: Program, inputs: list[Tensor]) -> Tensor:
    """The program's output computed with tinygrad_edu."""
    values: list[Any] = list(inputs)
    for step in program.steps:
        values.append(_apply(step, values, "tensor"))
    return values[-1]


def run_reference(program: Program) -> np.ndarray | None:
    """The program's output computed with numpy alone, or None when it is invalid."""
    values: list[Any] = list(program.inputs)
    for step in program.steps:
        out = _reference_step(step, values)
        if out is None:
            return None
        values.append(out)
    return values[-1]


def _apply(step: Step, values: list[Any], side: str) -> Any:
    """Run one step with the ``"tensor"`` or the ``"ref"`` implementation of its operation."""
    fn = getattr(OPS[step.op], side)
    params = {k: _materialize(v, side) for k, v in step.params.items()}
    operands = [values[i] for i in step.args]
    if OPS[step.op].arity == 0:
        return fn(operands, **params)
    return fn(*operands, **params)


def _reference_step(step: Step, values: list[np.ndarray]) -> np.ndarray | None:
    """One step in numpy; None when numpy (or the spec, via :class:`Invalid`) rejects it."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(_apply(step, values, "ref"), dtype=np.float64)
    except (ValueError, IndexError, TypeError, Invalid):  # AxisError is both of the first two
        return None


def _materialize(v: Any, side: str) -> Any:
    """Parameters stored as data become what the operation takes (an index tuple)."""
    if isinstance(v, tuple) and v and v[0] == "index":
        return _build_index(v[1], tensors=side == "tensor")
    return v


# ----------------------------------------------------------------------------- the operations


@dataclass(frozen=True)
class OpDef:
    """An operation the fuzzer can apply.

    ``arity`` is the number of values it reads (0: a list of one to three values);
    ``tensor`` and ``ref`` compute it with tinygrad_edu and with numpy; ``code`` is its source
    (a format string over ``a b c``/``vs`` and the parameter names, or a function of them);
    ``params(draw, shapes, wild)`` draws its keyword arguments knowing the operands' shapes.
    """

    name: str
    family: str
    arity: int
    tensor: Callable[..., Any]
    ref: Callable[..., Any]
    code: str | Callable[..., str]
    params: Callable[[st.DrawFn, list[tuple[int, ...]], bool], dict[str, Any]] = (
        lambda draw, shapes, wild: {}
    )


# ------------------------------------------------------------------ drawing arguments

# Every parameter function draws ``wild`` arguments (any axis, shape or index, most of them
# invalid) in about one step in four, and otherwise arguments that fit the operands, so that
# long valid programs, whose gradients get checked, stay common.

Shapes = list[tuple[int, ...]]

_NOT_INTS = [0.5, 1.5, -1.0]  # what a student passes as an axis after a division


def _wild_int(lo: int, hi: int) -> st.SearchStrategy[Any]:
    """An int in [lo, hi], or now and then a float (which no axis or size may be)."""
    return st.integers(lo, hi + len(_NOT_INTS)).map(
        lambda k: k if k <= hi else _NOT_INTS[k - hi - 1]
    )


def _int_or_numpy(ints: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """A Python int or the same as a numpy integer (what ``argmax`` and ``shape`` give)."""
    return ints.flatmap(lambda k: st.sampled_from([k, np.int64(k)]))


def _axis(ndim: int, wild: bool) -> st.SearchStrategy[Any]:
    """A reduction axis: None, an int or a tuple (maybe empty); when wild, maybe out of range,
    repeated or not an int."""
    if wild:
        one = _wild_int(-ndim - 1, ndim)
        return st.one_of(st.none(), one, st.lists(one, max_size=3).map(tuple))
    if ndim == 0:
        return st.one_of(st.none(), st.just(()))
    tuples = hnp.valid_tuple_axes(ndim).flatmap(
        lambda axes: st.tuples(*(st.sampled_from([a, a - ndim]) for a in axes))
    )
    return st.one_of(st.none(), _int_or_numpy(st.integers(-ndim, ndim - 1)), tuples)


def _reduce_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_axis(len(shapes[0]), wild)), "keepdims": draw(st.booleans())}


def _var_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {**_reduce_params(draw, shapes, wild), "ddof": draw(st.integers(0, 1))}


def _in_range(ndim: int, wild: bool, extra: int = 0) -> st.SearchStrategy[int]:
    """An axis of ``ndim + extra`` dims (``extra=1`` where the result gains one); wild: one
    more on each side, or not an int. With no axis at all, every int is out of range."""
    n = ndim + extra
    if wild:
        return _wild_int(-n - 1, n)
    if n == 0:
        return st.integers(-1, 0)
    return _int_or_numpy(st.integers(-n, n - 1))


def _one_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_in_range(len(shapes[0]), wild))}


def _concat_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0]) if shapes else 1  # no shapes: a wild join of nothing
    return {"axis": draw(_in_range(ndim, wild))}


def _stack_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0]) if shapes else 1
    return {"axis": draw(_in_range(ndim, wild, extra=1))}


def _clip_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """Bounds, either maybe None; when wild, maybe both None, lo > hi or nan."""
    bound = st.one_of(st.none(), st.floats(-2, 2).map(lambda v: round(v, 3)))
    if wild:
        bound = st.one_of(bound, st.just(float("nan")))
    lo, hi = draw(bound), draw(bound)
    if not wild:
        if lo is None and hi is None:
            lo = -1.5
        elif lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
    return {"lo": lo, "hi": hi}


def _slope_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    slopes = [0.01, 0.1, 0.5, -0.2, 2.0] + ([float("nan"), float("inf")] if wild else [])
    return {"slope": draw(st.sampled_from(slopes))}


def _reshape_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """The same size (permuted, two axes merged, a 1 inserted, one size -1); wild: any."""
    if wild:
        return {"shape": tuple(draw(st.lists(_wild_int(-2, 5), max_size=4)))}
    shape = list(draw(st.permutations(shapes[0])))
    if len(shape) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(shape) - 2))
        shape[i : i + 2] = [shape[i] * shape[i + 1]]
    if draw(st.booleans()):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    if shape and draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = -1
    return {"shape": tuple(shape)}


def _expand_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """A shape the operand broadcasts to (new leading axes, 1s stretched); wild: any."""
    if wild:
        return {"shape": tuple(draw(st.lists(_wild_int(-1, 4), max_size=4)))}
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    rest = [draw(st.integers(1, 3)) if n == 1 else n for n in shapes[0]]
    return {"shape": tuple(lead + rest)}


def _transpose_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """No axes (reverse them) or a permutation with some axes negative; wild: any list."""
    ndim = len(shapes[0])
    if wild:
        return {"axes": tuple(draw(st.lists(_wild_int(-ndim - 1, ndim), max_size=ndim + 1)))}
    if draw(st.booleans()):
        return {"axes": ()}
    perm = draw(st.permutations(range(ndim)))
    flip = draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
    return {"axes": tuple(a - ndim if f else a for a, f in zip(perm, flip))}


def _swapaxes_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0])
    return {"axis1": draw(_in_range(ndim, wild)), "axis2": draw(_in_range(ndim, wild))}


def _squeeze_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """None, or axes of length 1; wild: any axis."""
    shape = shapes[0]
    ones = [i for i, n in enumerate(shape) if n == 1]
    if wild:
        return {"axis": draw(_axis(len(shape), wild=True))}
    if not ones:
        return {"axis": None}
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
    return {"axis": draw(st.sampled_from([None, chosen[0], tuple(chosen)]))}


def _unsqueeze_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_in_range(len(shapes[0]), wild, extra=1))}


def _flatten_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """No arguments, or start_dim <= end_dim; wild: any two dims."""
    ndim = len(shapes[0])
    if not wild and (ndim == 0 or draw(st.booleans())):
        return {}
    a, b = draw(_in_range(ndim, wild)), draw(_in_range(ndim, wild))
    if not wild and a % ndim > b % ndim:
        a, b = b, a
    return {"start_dim": a, "end_dim": b}


def _any_shape_or(shapes: Shapes, wild: bool) -> st.SearchStrategy[tuple[int, ...]]:
    """One operand's shape or one it broadcasts with; wild: any shape."""
    if wild:
        return tst.shapes()
    return st.sampled_from(shapes).flatmap(
        lambda s: st.one_of(st.just(s), hnp.broadcastable_shapes(s, max_side=3, min_side=0))
    )


def _where_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """A constant boolean condition."""
    shape = draw(_any_shape_or(shapes, wild))
    seed = draw(st.integers(0, 2**16))
    return {"cond": np.random.default_rng(seed).random(shape) < 0.5}


def _constant_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """A numpy array operand (on either side of the operator)."""
    shape = draw(_any_shape_or(shapes, wild))
    seed = draw(st.integers(0, 2**16))
    return {"c": np.round(np.random.default_rng(seed).uniform(-2, 2, shape), 2)}


# ------------------------------------------------------------------ indexing

# An index is stored as ("index", (as_tuple, parts)), each part a small tuple naming its kind,
# so that programs stay data and print as the source they stand for.

_PART_KINDS = [
    "int",
    "slice",
    "slice",
    "array",
    "array",
    "list",
    "tensor",
    "bool",
    "none",
    "ellipsis",
]
_WILD_KINDS = ["float", "float_tensor"]  # never valid: indices are integers or booleans


def _index_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """Ints, slices, int arrays, lists and tensors (repeats allowed), masks, None and ``...``;
    the valid ones address each axis at most once and stay in range, the wild ones need not."""
    shape = shapes[0]
    count = draw(st.integers(1, len(shape) + 1))
    parts: list[tuple[Any, ...]] = []
    axis = 0  # the axis the next part indexes
    for k in range(count):
        kinds = (
            _PART_KINDS + _WILD_KINDS
            if wild
            else [
                kind
                for kind in _PART_KINDS
                if kind == "none"
                or (kind == "ellipsis" and ("ellipsis",) not in parts)
                or (kind != "ellipsis" and axis < len(shape))
            ]
        )
        kind = draw(st.sampled_from(kinds))
        n = shape[axis] if axis < len(shape) else 3
        pos = st.integers(-n - 1, n) if wild or n == 0 else st.integers(-n, n - 1)
        if kind == "int":
            parts.append(("int", draw(pos)))
        elif kind == "slice":
            end = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            steps = [None, None, 1, 2, -1, -2] + ([0] if wild else [])
            parts.append(("slice", draw(end), draw(end), draw(st.sampled_from(steps))))
        elif kind in ("array", "list", "tensor"):
            if not wild and n == 0:  # no valid position on an empty axis
                parts.append(("slice", None, None, None))
            else:
                parts.append((kind, tuple(draw(st.lists(pos, min_size=1, max_size=4)))))
        elif kind == "bool":
            length = draw(st.integers(0, 4)) if wild else n
            mask = draw(st.lists(st.booleans(), min_size=length, max_size=length))
            parts.append(("bool", tuple(mask)))
        elif kind == "float":
            parts.append(("float", 1.5))
        elif kind == "float_tensor":
            parts.append(("float_tensor", (0.0, 1.0)))
        else:
            parts.append((kind,))
        if kind == "ellipsis":  # the parts after it index the last axes
            axis = max(axis, len(shape) - (count - k - 1))
        elif kind != "none":
            axis += 1
    as_tuple = count > 1 or draw(st.booleans())
    return {"index": ("index", (as_tuple, tuple(parts)))}


def _build_index(spec: tuple[bool, tuple[Any, ...]], tensors: bool) -> Any:
    """The index itself; index tensors become numpy arrays for the reference."""
    as_tuple, parts = spec
    built: list[Any] = []
    for part in parts:
        kind = part[0]
        if kind in ("int", "float"):
            built.append(part[1])
        elif kind == "slice":
            built.append(slice(*part[1:]))
        elif kind == "array":
            built.append(np.array(part[1], dtype=np.int64))
        elif kind == "list":
            built.append(list(part[1]))
        elif kind in ("tensor", "float_tensor"):
            dtype = np.int64 if kind == "tensor" else np.float64
            a = np.array(part[1], dtype=dtype)
            built.append(Tensor(a, dtype=dtype) if tensors else a)
        elif kind == "bool":
            built.append(np.array(part[1], dtype=bool))
        elif kind == "none":
            built.append(None)
        else:
            built.append(Ellipsis)
    return tuple(built) if as_tuple else built[0]


def _index_source(spec: tuple[bool, tuple[Any, ...]]) -> str:
    as_tuple, parts = spec
    out = []
    for part in parts:
        kind = part[0]
        if kind in ("int", "float"):
            out.append(str(part[1]))
        elif kind == "slice":
            start, stop, step = ("" if p is None else str(p) for p in part[1:])
            out.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif kind in ("array", "bool"):
            out.append(f"np.array({list(part[1])!r})")
        elif kind == "list":
            out.append(repr(list(part[1])))
        elif kind == "tensor":
            out.append(f"Tensor(np.array({list(part[1])!r}), dtype=np.int64)")
        elif kind == "float_tensor":
            out.append(f"Tensor(np.array({list(part[1])!r}))")
        elif kind == "none":
            out.append("None")
        else:
            out.append("...")
    return ", ".join(out) + ("," if as_tuple and len(out) == 1 else "")


# ------------------------------------------------------------------ numpy references


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
            raise Invalid(f"axis {axis} for {a.ndim} dims")
    return axes if a.ndim else ()


def _numpy_axis(a: np.ndarray, axis: Any) -> tuple[int, ...] | None:
    """``axis`` checked by :func:`_strict_axes`, as numpy takes it (a 0-d array's is ())."""
    return None if axis is None else _strict_axes(a, axis)


def _finite(value: float) -> float:
    # Issue 7: non-finite hyper-parameters are rejected (numpy would fill the result with nan).
    if not np.isfinite(value):
        raise Invalid(f"non-finite parameter {value}")
    return value


def _ref_leaky_relu(a: np.ndarray, slope: float) -> np.ndarray:
    return np.where(a > 0, a, _finite(slope) * a)


def _ref_clip(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    # The library rejects a clip with no bound or with lo > hi (numpy would fill with hi).
    for bound in (lo, hi):
        if bound is not None:
            _finite(bound)
    if lo is None and hi is None:
        raise Invalid("clip without bounds")
    if lo is not None and hi is not None and lo > hi:
        raise Invalid("clip with lo > hi")
    return np.clip(a, lo, hi)


def _nonempty(a: np.ndarray, axis: Any = None) -> np.ndarray:
    # max/min/logsumexp over an empty axis have no value (as in numpy and PyTorch); over a
    # non-empty axis of an empty tensor they give an empty result.
    if a.size == 0 and any(a.shape[ax] == 0 for ax in _strict_axes(a, axis)):
        raise Invalid("reduction over an empty axis")
    return a


def _ref_sum(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.sum(a, axis=axis, keepdims=keepdims)


def _ref_mean(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.mean(a, axis=axis, keepdims=keepdims)


def _ref_max(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.max(_nonempty(a, axis), axis=axis, keepdims=keepdims)


def _ref_min(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.min(_nonempty(a, axis), axis=axis, keepdims=keepdims)


def _ref_var(a: np.ndarray, axis: Any, keepdims: bool, ddof: int) -> np.ndarray:
    # The library rejects n - ddof <= 0, where numpy returns nan or inf with a warning.
    n = int(np.prod([a.shape[ax] for ax in _strict_axes(a, axis)]))  # 1 for axis=()
    if n - ddof <= 0:
        raise Invalid("variance of too few elements")
    axis = _numpy_axis(a, axis)
    return np.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


def _ref_logsumexp(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    m = np.max(_nonempty(a, axis), axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _ref_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ref_log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _ref_reshape(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # numpy 2 reads any negative size as "infer"; only -1 means that (as in PyTorch).
    if any(n < -1 for n in shape):
        raise Invalid(f"reshape to {shape}")
    return a.reshape(shape)


def _ref_transpose(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return a.transpose(axes) if axes else a.transpose()


def _ref_flatten(a: np.ndarray, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    # PyTorch's rules: a 0-d tensor flattens to shape (1,) (its dims range over [-1, 0]);
    # start_dim must not come after end_dim.
    ndim = max(a.ndim, 1)
    dims = (start_dim, end_dim)
    if not all(isinstance(d, (int, np.integer)) and -ndim <= d < ndim for d in dims):
        raise Invalid("flatten: dim out of range")
    lo, hi = start_dim % ndim, end_dim % ndim
    if lo > hi:
        raise Invalid("flatten: start_dim after end_dim")
    if a.ndim == 0:
        return a.reshape(1)
    s = a.shape
    return a.reshape(s[:lo] + (int(np.prod(s[lo : hi + 1])),) + s[hi + 1 :])


def _ref_squeeze(a: np.ndarray, axis: Any) -> np.ndarray:
    axis = _numpy_axis(a, axis)
    return np.squeeze(a, axis=axis)


def _ref_join(join: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def ref(arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return join(arrays, axis=axis)

    return ref


def _ref_expand(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # PyTorch's -1 keeps the size of a dimension the array has (not of a new leading one).
    lead = len(shape) - a.ndim
    if any(n == -1 and i < lead for i, n in enumerate(shape)):
        raise Invalid(f"expand to {shape}")
    target = tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return np.broadcast_to(a, target)


def _ref_prod(a: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    return np.prod(a, axis=_numpy_axis(a, axis), keepdims=keepdims)


def _ref_std(a: np.ndarray, axis: Any, keepdims: bool, ddof: int) -> np.ndarray:
    return np.sqrt(_ref_var(a, axis, keepdims, ddof))


def _ref_cumsum(a: np.ndarray, axis: int) -> np.ndarray:
    axes = _numpy_axis(a, axis)
    return a.copy() if axes == () else np.cumsum(a, axis=axis)


_erf = np.vectorize(math.erf, otypes=[float])


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


# ------------------------------------------------------------------ the table

# fmt: off
# One row per operation: name, family, arity, tinygrad_edu, numpy, source[, parameters].
_OPS = [
    # unary: every one is defined on all reals (domains made safe inside the expression)
    OpDef("exp", "unary", 1, lambda a: a.clip(-3, 3).exp(),
          lambda a: np.exp(np.clip(a, -3, 3)), "{a}.clip(-3, 3).exp()"),
    OpDef("log", "unary", 1, lambda a: (a * a + 1).log(),
          lambda a: np.log(a * a + 1), "({a} * {a} + 1).log()"),
    OpDef("sqrt", "unary", 1, lambda a: (a.abs() + 0.5).sqrt(),
          lambda a: np.sqrt(np.abs(a) + 0.5), "({a}.abs() + 0.5).sqrt()"),
    OpDef("tanh", "unary", 1, lambda a: a.tanh(), np.tanh, "{a}.tanh()"),
    OpDef("sigmoid", "unary", 1, lambda a: a.sigmoid(), _sigmoid, "{a}.sigmoid()"),
    OpDef("relu", "unary", 1, lambda a: a.relu(), lambda a: np.maximum(a, 0), "{a}.relu()"),
    OpDef("abs", "unary", 1, lambda a: a.abs(), np.abs, "{a}.abs()"),
    OpDef("softsign", "unary", 1, lambda a: a.softsign(),
          lambda a: a / (1 + np.abs(a)), "{a}.softsign()"),
    OpDef("neg", "unary", 1, lambda a: -a, np.negative, "-{a}"),
    OpDef("leaky_relu", "unary", 1, lambda a, slope: a.leaky_relu(slope),
          _ref_leaky_relu, "{a}.leaky_relu({slope})", _slope_params),
    OpDef("hardtanh", "unary", 1, lambda a: a.hardtanh(),
          lambda a: np.clip(a, -1, 1), "{a}.hardtanh()"),
    OpDef("clip", "unary", 1, lambda a, lo, hi: a.clip(lo, hi),
          _ref_clip, "{a}.clip({lo}, {hi})", _clip_params),
    OpDef("square", "unary", 1, lambda a: a**2, lambda a: a**2, "{a} ** 2"),
    OpDef("rsub", "unary", 1, lambda a: 1.5 - a, lambda a: 1.5 - a, "1.5 - {a}"),
    OpDef("sin", "unary", 1, lambda a: a.sin(), np.sin, "{a}.sin()"),
    OpDef("arctan", "unary", 1, lambda a: a.arctan(), np.arctan, "{a}.arctan()"),
    OpDef("sinh", "unary", 1, lambda a: a.clip(-3, 3).sinh(),
          lambda a: np.sinh(np.clip(a, -3, 3)), "{a}.clip(-3, 3).sinh()"),
    OpDef("log1p", "unary", 1, lambda a: (a * a).log1p(),
          lambda a: np.log1p(a * a), "({a} * {a}).log1p()"),
    OpDef("softplus", "unary", 1, lambda a: a.softplus(),
          lambda a: np.logaddexp(0, a), "{a}.softplus()"),
    OpDef("gelu", "unary", 1, lambda a: a.gelu(),
          lambda a: a * (0.5 + 0.5 * _erf(a / np.sqrt(2))), "{a}.gelu()"),
    OpDef("elu", "unary", 1, lambda a: a.elu(), lambda a: np.where(a > 0, a, np.expm1(a)),
          "{a}.elu()"),
    # binary: the operands are any two values, whose shapes may not fit
    OpDef("add", "binary", 2, lambda a, b: a + b, np.add, "{a} + {b}"),
    OpDef("sub", "binary", 2, lambda a, b: a - b, np.subtract, "{a} - {b}"),
    OpDef("mul", "binary", 2, lambda a, b: a * b, np.multiply, "{a} * {b}"),
    OpDef("div", "binary", 2, lambda a, b: a / (b * b + 1),
          lambda a, b: a / (b * b + 1), "{a} / ({b} * {b} + 1)"),
    OpDef("pow", "binary", 2, lambda a, b: (a * a + 1) ** b.tanh(),
          lambda a, b: (a * a + 1) ** np.tanh(b), "({a} * {a} + 1) ** {b}.tanh()"),
    OpDef("maximum", "binary", 2, Tensor.maximum, np.maximum, "Tensor.maximum({a}, {b})"),
    OpDef("minimum", "binary", 2, Tensor.minimum, np.minimum, "Tensor.minimum({a}, {b})"),
    OpDef("matmul", "binary", 2, lambda a, b: a @ b, np.matmul, "{a} @ {b}"),
    OpDef("where", "binary", 2, lambda a, b, cond: Tensor.where(cond, a, b),
          lambda a, b, cond: np.where(cond, a, b), "Tensor.where({cond}, {a}, {b})",
          _where_params),
    OpDef("const_mul", "binary", 1, lambda a, c: c * a, lambda a, c: c * a, "{c} * {a}",
          _constant_params),
    OpDef("const_sub", "binary", 1, lambda a, c: a - c, lambda a, c: a - c, "{a} - {c}",
          _constant_params),
    # reductions, over any axis (maybe out of range, repeated or empty)
    OpDef("sum", "reduce", 1, Tensor.sum, _ref_sum,
          "{a}.sum(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("mean", "reduce", 1, Tensor.mean, _ref_mean,
          "{a}.mean(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("max", "reduce", 1, Tensor.max, _ref_max,
          "{a}.max(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("min", "reduce", 1, Tensor.min, _ref_min,
          "{a}.min(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("var", "reduce", 1, Tensor.var, _ref_var,
          "{a}.var(axis={axis}, keepdims={keepdims}, ddof={ddof})", _var_params),
    OpDef("logsumexp", "reduce", 1, Tensor.logsumexp, _ref_logsumexp,
          "{a}.logsumexp(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("prod", "reduce", 1, Tensor.prod, _ref_prod,
          "{a}.prod(axis={axis}, keepdims={keepdims})", _reduce_params),
    OpDef("std", "reduce", 1, Tensor.std, _ref_std,
          "{a}.std(axis={axis}, keepdims={keepdims}, ddof={ddof})", _var_params),
    OpDef("cumsum", "reduce", 1, lambda a, axis: a.cumsum(axis), _ref_cumsum,
          "{a}.cumsum({axis})", _one_axis),
    OpDef("softmax", "reduce", 1, lambda a, axis: a.softmax(axis), _ref_softmax,
          "{a}.softmax({axis})", _one_axis),
    OpDef("log_softmax", "reduce", 1, lambda a, axis: a.log_softmax(axis), _ref_log_softmax,
          "{a}.log_softmax({axis})", _one_axis),
    # shape
    OpDef("reshape", "shape", 1, lambda a, shape: a.reshape(shape), _ref_reshape,
          "{a}.reshape({shape})", _reshape_params),
    OpDef("transpose", "shape", 1, lambda a, axes: a.transpose(*axes), _ref_transpose,
          lambda a, axes: f"{a}.transpose(*{axes})", _transpose_params),
    OpDef("swapaxes", "shape", 1, Tensor.swapaxes, np.swapaxes,
          "{a}.swapaxes({axis1}, {axis2})", _swapaxes_params),
    OpDef("T", "shape", 1, lambda a: a.T, lambda a: a.T, "{a}.T"),
    OpDef("squeeze", "shape", 1, Tensor.squeeze, _ref_squeeze,
          "{a}.squeeze({axis})", _squeeze_params),
    OpDef("unsqueeze", "shape", 1, Tensor.unsqueeze, np.expand_dims,
          "{a}.unsqueeze({axis})", _unsqueeze_params),
    OpDef("flatten", "shape", 1, Tensor.flatten, _ref_flatten,
          lambda a, **kw: f"{a}.flatten({', '.join(f'{k}={v}' for k, v in kw.items())})",
          _flatten_params),
    OpDef("expand", "shape", 1, lambda a, shape: a.expand(shape), _ref_expand,
          "{a}.expand({shape})", _expand_params),
    # indexing
    OpDef("getitem", "index", 1, lambda a, index: a[index], lambda a, index: a[index],
          "{a}[{index}]", _index_params),
    # joining one to three values (any of them, repeats allowed) along any axis
    OpDef("concatenate", "join", 0, Tensor.concatenate, _ref_join(np.concatenate),
          "Tensor.concatenate({vs}, axis={axis})", _concat_axis),
    OpDef("stack", "join", 0, Tensor.stack, _ref_join(np.stack),
          "Tensor.stack({vs}, axis={axis})", _stack_axis),
]
# fmt: on

OPS: dict[str, OpDef] = {op.name: op for op in _OPS}
FAMILIES = sorted({op.family for op in _OPS})


# ----------------------------------------------------------------------------- drawing programs


@st.composite
def input_shapes(draw: st.DrawFn) -> list[tuple[int, ...]]:
    """One to three shapes: unrelated, mutually broadcastable, or a matmul pair (plus one)."""
    count = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["any", "broadcast", "matmul"]))
    if kind == "broadcast":
        return list(draw(tst.broadcastable_shapes(count)))
    shapes = [draw(tst.shapes()) for _ in range(count)]
    if kind == "matmul":
        shapes[:2] = draw(tst.matmul_shapes(max_batch_dims=1))
    return shapes


@st.composite
def programs(draw: st.DrawFn, focus: str | None = None, wild: bool = True) -> Program:
    """A random program; with ``focus``, about two steps in three come from that family;
    without ``wild``, every argument is drawn to fit (operands' shapes may still not).

    The reference runs while the program is drawn, so arguments can be drawn knowing the
    operands' shapes (mostly valid, sometimes not). The program ends at the first step the
    reference rejects, and before any step whose values would be non-finite or huge.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Seeded values rather than drawn ones: hypothesis loves 0 and ties, which put composite
    # functions exactly on their kinks, where a subgradient of each piece need not be one of
    # the composition (relu(x) - relu(-x) at 0) and gradcheck would fail for no bug.
    inputs = [rng.uniform(-2, 2, shape) for shape in draw(input_shapes())]
    values: list[np.ndarray] = list(inputs)
    steps: list[Step] = []
    focused = [op for op in _OPS if op.family == focus]
    for _ in range(draw(st.integers(1, 6))):
        pool = focused if focused and draw(st.integers(0, 2)) > 0 else _OPS
        op = draw(st.sampled_from(pool))
        wild_step = wild and draw(st.integers(0, 3)) == 3
        last = len(values) - 1
        pick = st.one_of(st.just(last), st.integers(0, last))
        if op.arity == 0:  # wild: maybe nothing to join
            args = tuple(draw(st.lists(pick, min_size=0 if wild_step else 1, max_size=3)))
        else:
            args = tuple(draw(pick) for _ in range(op.arity))
        step = Step(op.name, args, op.params(draw, [values[i].shape for i in args], wild_step))
        out = _reference_step(step, values)
        if out is None:
            steps.append(step)
            break
        if not np.all(np.abs(out) <= _LIMIT):  # also catches nan (mean of an empty slice)
            break
        steps.append(step)
        values.append(out)
    if not steps:  # the first step already overflowed: keep a harmless one
        steps.append(Step("tanh", (len(inputs) - 1,)))
    return Program(inputs, steps, draw(st.integers(0, 2**16)))


# ----------------------------------------------------------------------------- the property


def check_program(program: Program) -> None:
    """Run ``program`` both ways and assert the contract described in the module docstring."""
    expected = run_reference(program)
    values: list[Any] = program.tensors()
    for step in program.steps:
        line = step.source(len(values))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's, on invalid values
                values.append(_apply(step, values, "tensor"))
        except TinygradEduError as exc:
            assert expected is None, (
                f"`{line}` rejects a program numpy computes: {type(exc).__name__}: {exc}"
            )
            return
        except Exception as exc:
            raise AssertionError(f"`{line}` let a bare {type(exc).__name__} escape: {exc}") from exc
    out = values[-1]
    assert expected is not None, f"`{line}` is invalid, yet the library returned {out.shape}"
    assert isinstance(out, Tensor) and out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-9, atol=1e-12)

    w = program.weights(out.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)  # kinks are allowed
        assert gradcheck(lambda *ts: (run_tensors(program, list(ts)) * w).sum(), program.tensors())


@given(programs())
@settings(max_examples=150, deadline=None)
def test_random_programs_compute_right_or_raise_the_library_error(program):
    check_program(program)


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
@settings(max_examples=60, deadline=None, report_multiple_bugs=False)  # the test above does
def test_random_programs_focused_on_one_family(family, data):
    check_program(data.draw(programs(focus=family), label="program"))


@given(programs(wild=False))
@settings(max_examples=40, deadline=None)
def test_random_programs_have_right_second_derivatives(program):
    """Newton's method and Hessians differentiate the recorded backward pass: check it too."""
    expected = run_reference(program)
    assume(expected is not None)
    w = program.weights(expected.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        assert gradgradcheck(
            lambda *ts: (run_tensors(program, list(ts)) * w).sum(), program.tensors()
        )


# ----------------------------------------------------------------------------- the fuzzer itself


def test_the_interpreters_agree_on_a_known_program():
    program = Program(
        [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -1.0])],
        [Step("mul", (0, 1)), Step("sum", (2,), {"axis": 0, "keepdims": False})],
        weight_seed=0,
    )
    out = run_tensors(program, program.tensors())
    np.testing.assert_allclose(out.data, [0.375, -1.0])
    np.testing.assert_allclose(run_reference(program), [0.375, -1.0])
    assert repr(program).splitlines()[-2] == "v3 = v2.sum(axis=0, keepdims=False)"


def test_a_rejected_program_is_rejected_by_both():
    program = Program([np.ones((2, 3)), np.ones((4,))], [Step("add", (0, 1))], weight_seed=0)
    assert run_reference(program) is None
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4,\)"):
        run_tensors(program, program.tensors())
    check_program(program)  # the contract holds


def test_the_repr_is_runnable_source():
    parts = (
        ("slice", None, None, -1),
        ("none",),
        ("tensor", (0, 2, 2)),
    )
    program = Program(
        [np.arange(6.0).reshape(2, 3)],
        [
            Step("getitem", (0,), {"index": ("index", (True, parts))}),
            Step("getitem", (1,), {"index": ("index", (True, (("ellipsis",), ("list", (1,)))))}),
            Step("getitem", (0,), {"index": ("index", (False, (("bool", (False, True)),)))}),
        ],
        weight_seed=0,
    )
    namespace: dict[str, Any] = {}
    exec(repr(program), namespace)  # our own generated source
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(namespace["v1"].data, a[::-1, None, [0, 2, 2]])
    np.testing.assert_array_equal(namespace["v2"].data, a[::-1, None, [0, 2, 2]][..., [1]])
    np.testing.assert_array_equal(namespace["v3"].data, [[3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(namespace["v3"].data, run_reference(program))


def test_programs_reach_long_valid_chains_and_invalid_steps():
    """The strategy is not vacuous: it makes six-step programs that compute, and programs that
    end at their first (and only) invalid step."""
    long = find(programs(), lambda p: len(p.steps) == 6 and run_reference(p) is not None)
    assert run_reference(long) is not None
    bad = find(programs(), lambda p: len(p.steps) >= 3 and run_reference(p) is None)
    assert run_reference(Program(bad.inputs, bad.steps[:-1], 0)) is not None


# ------------------------------------------------------------------ sabotage: the check catches


def test_check_program_catches_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "backward", lambda self, g, out, x: g * (1 - out))
    program = Program([np.array([0.3, -0.7])], [Step("tanh", (0,))], weight_seed=0)
    with pytest.raises(GradcheckError):
        check_program(program)


def test_check_program_catches_a_wrong_value(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "forward", lambda self, x: np.tanh(x) + 1e-6)
    program = Program([np.array([0.3, -0.7])], [Step("tanh", (0,))], weight_seed=0)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        check_program(program)


def test_check_program_catches_a_bare_numpy_error(monkeypatch):
    def reshape(self, *shape):
        raise IndexError("tuple index out of range")

    monkeypatch.setattr(Tensor, "reshape", reshape)
    program = Program([np.ones((2, 3))], [Step("reshape", (0,), {"shape": (3, 2)})], 0)
    with pytest.raises(AssertionError, match=r"`v1 = v0.reshape\(\(3, 2\)\)` let a bare Index"):
        check_program(program)


def test_check_program_catches_an_invalid_program_accepted(monkeypatch):
    monkeypatch.setattr(Tensor, "clip", lambda self, lo, hi: Tensor(np.clip(self.data, lo, hi)))
    program = Program([np.ones(3)], [Step("clip", (0,), {"lo": 1.0, "hi": 0.0})], 0)
    with pytest.raises(AssertionError, match=r"`v1 = v0.clip\(1.0, 0.0\)` is invalid, yet"):
        check_program(program)


def test_check_program_catches_a_valid_program_rejected(monkeypatch):
    def tanh(self):
        raise ShapeError("tanh: no")

    monkeypatch.setattr(Tensor, "tanh", tanh)
    program = Program([np.ones(3)], [Step("tanh", (0,))], 0)
    with pytest.raises(AssertionError, match="rejects a program numpy computes"):
        check_program(program)
