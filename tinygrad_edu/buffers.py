"""Scratch buffers that are views of one array per dtype.

An optimiser's step, eager or replayed by :mod:`tinygrad_edu.jit`, keeps eta g of every
parameter in a buffer of the parameter's shape. When the buffers of one dtype are views of
one flat array, a single BLAS dot over that array gives the sum of squares of all of them,
which is finite only if every element is: the step's all-or-nothing check costs one call
instead of one per parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["one_array_views"]


def one_array_views(like: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Buffers of ``like``'s shapes and dtypes, as views of one new flat array per dtype.

    Returns ``(flats, views)``: the flat arrays, one per dtype in the order the dtypes first
    appear in ``like``, and one view per array of ``like``, in its order.

    Example:
        >>> import numpy as np
        >>> flats, views = one_array_views([np.ones((2, 3)), np.ones(4, np.float32), np.ones(2)])
        >>> [f.size for f in flats], [v.shape for v in views]
        ([8, 4], [(2, 3), (4,), (2,)])
        >>> views[0][...] = 1.0; views[2][...] = 2.0
        >>> float(np.vdot(flats[0], flats[0]))  # six ones and two twos
        14.0
    """
    starts = []
    ends: dict[np.dtype, int] = {}
    for a in like:
        starts.append(ends.get(a.dtype, 0))
        ends[a.dtype] = starts[-1] + a.size
    flat = {dtype: np.empty(n, dtype=dtype) for dtype, n in ends.items()}
    views = [flat[a.dtype][s : s + a.size].reshape(a.shape) for a, s in zip(like, starts)]
    return list(flat.values()), views
