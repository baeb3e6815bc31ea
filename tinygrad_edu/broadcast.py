"""Broadcasting's backward half: summing a gradient back to the shape of the input it came from.

numpy broadcasting aligns shapes from the right; a dimension of size 1 (or a missing leading
dimension) is repeated to match the other operand. Repeating a value means it fans out, so its
gradient is the sum of the gradients of all its copies. :func:`unbroadcast` does that sum. The
engine calls it in exactly one place, on every gradient an operation returns, so no operation
has to think about broadcasting in its backward formula.
"""

from __future__ import annotations

from typing import Any


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving an array of ``shape``.

    Works on numpy arrays and on Tensors alike (both have ``.sum`` and ``.reshape``), so the same
    code serves the ordinary backward pass and a recorded one (``create_graph=True``).

    Returns ``g`` unchanged when it already has ``shape``. Returns ``None`` when ``g`` cannot have
    come from broadcasting an array of ``shape`` (the caller reports that as an error).

    Example:
        >>> import numpy as np
        >>> unbroadcast(np.ones((2, 3)), (3,)).tolist()
        [2.0, 2.0, 2.0]
        >>> unbroadcast(np.ones((2, 3)), (2, 1)).tolist()
        [[3.0], [3.0]]
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return None
    axes = list(range(lead))
    for i, n in enumerate(shape):
        if n == gshape[lead + i]:
            continue
        if n != 1:
            return None
        axes.append(lead + i)
    return g.sum(axis=tuple(axes), keepdims=True).reshape(shape)
