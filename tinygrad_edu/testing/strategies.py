"""Hypothesis strategies for property-testing operations built with tinygrad_edu.

Use them to test your own operations and models the way the library tests its own: draw inputs
of many shapes, inside the domain where the function is smooth, and let :func:`gradcheck`
compare backprop with central differences.

Example:
    >>> from hypothesis import given
    >>> from tinygrad_edu.gradcheck import gradcheck
    >>> from tinygrad_edu.testing import strategies as tst
    >>> @given(tst.tensors(domain="positive"))
    ... def test_my_log_of_square(x):
    ...     assert gradcheck(lambda x: (x * x).log(), [x])
    >>> test_my_log_of_square()

Domains say where values are drawn from; a name or a ``(low, high)`` pair:

==============  ==========================  =============================================
name            range                       for
==============  ==========================  =============================================
``"real"``      [-2, 2]                     most operations
``"positive"``  [0.1, 3]                    log, sqrt, the base of a power
``"nonzero"``   [-3, -0.1] or [0.1, 3]      divisors
``"unit"``      [-0.9, 0.9]                 values that must stay inside (-1, 1)
==============  ==========================  =============================================

``kinks`` lists points where a function is not differentiable (0 for relu and abs, -1 and 1 for
hardtanh); drawn values keep at least ``margin`` away from each, so central differences never
straddle one.

Requires hypothesis (``pip install tinygrad_edu[dev]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import hypothesis.extra.numpy as hnp
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without the dev extra
    raise ImportError(
        "tinygrad_edu.testing.strategies needs hypothesis: pip install 'tinygrad_edu[dev]' "
        "(or pip install hypothesis)"
    ) from exc

from ..tensor import Tensor

__all__ = [
    "DOMAINS",
    "arrays",
    "axes",
    "broadcastable_pairs",
    "broadcastable_shapes",
    "elements",
    "matmul_pairs",
    "matmul_shapes",
    "shapes",
    "tensors",
]

DOMAINS: dict[str, tuple[float, float]] = {
    "real": (-2.0, 2.0),
    "positive": (0.1, 3.0),
    "nonzero": (0.1, 3.0),  # drawn with a random sign
    "unit": (-0.9, 0.9),
}

Domain = str | tuple[float, float]


def elements(
    domain: Domain = "real",
    dtype: Any = np.float64,
    kinks: Sequence[float] = (),
    margin: float = 1e-2,
) -> st.SearchStrategy[float]:
    """Single numbers from ``domain``, at least ``margin`` away from every point in ``kinks``."""
    if isinstance(domain, str):
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {sorted(DOMAINS)}")
        low, high = DOMAINS[domain]
    else:
        low, high = domain
        if not low < high:
            raise ValueError(f"domain ({low}, {high}) is empty: low must be below high")
    width = 32 if np.dtype(dtype) == np.float32 else 64
    values = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
    if domain == "nonzero":
        values = st.tuples(values, st.booleans()).map(lambda vs: -vs[0] if vs[1] else vs[0])
    if kinks:
        values = values.map(lambda v: _away_from(v, kinks, margin, low, high))
    return values


def _away_from(
    v: float, kinks: Sequence[float], margin: float, low: float, high: float
) -> float:
    """Move ``v`` to ``margin`` from any kink it is closer to than that (staying in range).

    Mapping instead of filtering keeps hypothesis efficient: draws near a kink (0 is a
    favourite) are moved, not thrown away.
    """
    for k in kinks:
        if abs(v - k) < margin:
            up, down = k + margin, k - margin
            v = up if (v >= k and up <= high) or down < low else down
    return v


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes: ``min_dims`` to ``max_dims`` axes of ``min_side`` to ``max_side`` each."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    domain: Domain = "real",
    kinks: Sequence[float] = (),
    margin: float = 1e-2,
    unique: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """numpy arrays of ``shape`` (any from :func:`shapes` when None) with values in ``domain``.

    ``unique=True`` draws distinct values (a max or min without ties).
    """
    return hnp.arrays(
        np.dtype(dtype),
        shapes() if shape is None else shape,
        elements=elements(domain, dtype, kinks, margin),
        unique=unique,
    )


def tensors(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    domain: Domain = "real",
    requires_grad: bool = True,
    kinks: Sequence[float] = (),
    margin: float = 1e-2,
    unique: bool = False,
) -> st.SearchStrategy[Tensor]:
    """Tensors (requiring grad by default) whose data come from :func:`arrays`."""
    return arrays(shape, dtype, domain, kinks, margin, unique).map(
        lambda a: Tensor(a, requires_grad=requires_grad)
    )


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of shapes that broadcast together: equal, size-1 and missing leading axes."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


def _pair_of(
    shape_pairs: st.SearchStrategy[tuple[tuple[int, ...], ...]],
    domain: Domain | tuple[Domain, Domain],
    dtype: Any,
    as_tensors: bool,
    kinks: Sequence[float],
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Two arrays (or tensors) of the drawn shapes; a domain each, or one for both."""
    doms = domain if isinstance(domain, list) else [domain, domain]

    @st.composite
    def draw(data: st.DrawFn) -> tuple[Any, Any]:
        sa, sb = data(shape_pairs)
        a = data(arrays(sa, dtype, doms[0], kinks))
        b = data(arrays(sb, dtype, doms[1], kinks))
        if as_tensors:
            return Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
        return a, b

    return draw()


def broadcastable_pairs(
    domain: Domain | list[Domain] = "real",
    dtype: Any = np.float64,
    max_dims: int = 3,
    max_side: int = 4,
    as_tensors: bool = False,
    kinks: Sequence[float] = (),
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Pairs ``(a, b)`` of arrays whose shapes broadcast together.

    ``domain`` is one domain for both or a list ``[domain_a, domain_b]`` (e.g.
    ``["real", "nonzero"]`` for ``a / b``). ``as_tensors=True`` gives Tensors requiring grad.
    """
    return _pair_of(
        broadcastable_shapes(2, max_dims=max_dims, max_side=max_side),
        domain,
        dtype,
        as_tensors,
        kinks,
    )


def matmul_shapes(max_batch_dims: int = 2, max_side: int = 4) -> st.SearchStrategy[Any]:
    """Shape pairs valid for ``a @ b``: vectors, matrices and broadcast batches of matrices."""
    return hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=max_batch_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


def matmul_pairs(
    domain: Domain | list[Domain] = "real",
    dtype: Any = np.float64,
    max_batch_dims: int = 2,
    max_side: int = 4,
    as_tensors: bool = False,
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Pairs ``(a, b)`` of arrays (or Tensors) with ``a @ b`` defined: 1-D, 2-D and batched."""
    return _pair_of(matmul_shapes(max_batch_dims, max_side), domain, dtype, as_tensors, ())


def axes(ndim: int, allow_none: bool = True) -> st.SearchStrategy[Any]:
    """An ``axis`` argument for a reduction over ``ndim`` axes: None, an int (maybe negative)
    or a tuple of distinct ints."""
    options: list[st.SearchStrategy[Any]] = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        options.append(hnp.valid_tuple_axes(ndim, min_size=1))
    if not options:
        raise ValueError("axes: a 0-d array has no axis to choose; use allow_none=True")
    return st.one_of(options)
