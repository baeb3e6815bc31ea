"""Arguments for the fuzzer's random programs (tests/test_fuzz.py), drawn knowing the operands.

Each ``*_params(draw, shapes, wild)`` draws the keyword arguments of one operation of
:data:`~tinygrad_edu.testing.op_table.OPS` (its ``fuzz.params``) for operands of ``shapes``.
Every one draws ``wild`` arguments (any axis, shape or index, most of them invalid) when asked,
in about one step in four, and otherwise arguments that fit the operands, so that long valid
programs, whose gradients get checked, stay common.

Example:
    >>> index = (True, (("slice", None, None, -1), ("none",), ("list", (0, 2))))
    >>> build_index(index, tensors=False), index_source(index)
    ((slice(None, None, -1), None, [0, 2]), '::-1, None, [0, 2]')
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor
from . import strategies as tst

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


def reduce_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_axis(len(shapes[0]), wild)), "keepdims": draw(st.booleans())}


def var_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {**reduce_params(draw, shapes, wild), "ddof": draw(st.integers(0, 1))}


def _in_range(ndim: int, wild: bool, extra: int = 0) -> st.SearchStrategy[int]:
    """An axis of ``ndim + extra`` dims (``extra=1`` where the result gains one); wild: one
    more on each side, or not an int. With no axis at all, every int is out of range."""
    n = ndim + extra
    if wild:
        return _wild_int(-n - 1, n)
    if n == 0:
        return st.integers(-1, 0)
    return _int_or_numpy(st.integers(-n, n - 1))


def one_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_in_range(len(shapes[0]), wild))}


def concat_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0]) if shapes else 1  # no shapes: a wild join of nothing
    return {"axis": draw(_in_range(ndim, wild))}


def stack_axis(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0]) if shapes else 1
    return {"axis": draw(_in_range(ndim, wild, extra=1))}


def clip_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
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


def slope_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    slopes = [0.01, 0.1, 0.5, -0.2, 2.0] + ([float("nan"), float("inf")] if wild else [])
    return {"slope": draw(st.sampled_from(slopes))}


def reshape_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
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


def expand_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """A shape the operand broadcasts to (new leading axes, 1s stretched); wild: any."""
    if wild:
        return {"shape": tuple(draw(st.lists(_wild_int(-1, 4), max_size=4)))}
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    rest = [draw(st.integers(1, 3)) if n == 1 else n for n in shapes[0]]
    return {"shape": tuple(lead + rest)}


def transpose_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """No axes (reverse them) or a permutation with some axes negative; wild: any list."""
    ndim = len(shapes[0])
    if wild:
        return {"axes": tuple(draw(st.lists(_wild_int(-ndim - 1, ndim), max_size=ndim + 1)))}
    if draw(st.booleans()):
        return {"axes": ()}
    perm = draw(st.permutations(range(ndim)))
    flip = draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
    return {"axes": tuple(a - ndim if f else a for a, f in zip(perm, flip))}


def swapaxes_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    ndim = len(shapes[0])
    return {"axis1": draw(_in_range(ndim, wild)), "axis2": draw(_in_range(ndim, wild))}


def squeeze_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """None, or axes of length 1; wild: any axis."""
    shape = shapes[0]
    ones = [i for i, n in enumerate(shape) if n == 1]
    if wild:
        return {"axis": draw(_axis(len(shape), wild=True))}
    if not ones:
        return {"axis": None}
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
    return {"axis": draw(st.sampled_from([None, chosen[0], tuple(chosen)]))}


def unsqueeze_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    return {"axis": draw(_in_range(len(shapes[0]), wild, extra=1))}


def flatten_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
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


def where_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
    """A constant boolean condition."""
    shape = draw(_any_shape_or(shapes, wild))
    seed = draw(st.integers(0, 2**16))
    return {"cond": np.random.default_rng(seed).random(shape) < 0.5}


def constant_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
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


def index_params(draw: st.DrawFn, shapes: Shapes, wild: bool) -> dict[str, Any]:
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


def build_index(spec: tuple[bool, tuple[Any, ...]], tensors: bool) -> Any:
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


def index_source(spec: tuple[bool, tuple[Any, ...]]) -> str:
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
