"""The memory order of a compiled step's buffers, chosen by timing: what a compiler does for BLAS.

A matrix product ``Z = A B`` can be written into a row-major (C order) or a column-major
(Fortran order) buffer; numpy then asks BLAS for ``Z`` or for ``Z^T = B^T A^T``, and BLAS blocks
and packs the two problems differently. Which one is faster depends on the shapes, the CPU and
the BLAS build: on this project's machine (OpenBLAS, its SkylakeX kernels) the first layer of
the benchmarks' W3, ``z_1 = X W_1^T`` with X 128 x 784 and W_1 512 x 784, took 0.52 ms written
column-major against 0.64 ms row-major, and the product that follows it got faster too, while
other products of the same step got slower (up to 11%).

So :func:`tinygrad_edu.jit` lets a step's first replay try it: :func:`candidates` lists the
buffers that only matrix products and elementwise ufuncs touch (whose results do not depend on
the memory order, except the products' own rounding), :func:`choose` times the whole replay
with each of them column-major against row-major and keeps what is faster, and the jit then
runs the chosen program once beside eager mode and keeps the choice only if every value agrees
in every bit. That check is needed: a BLAS may sum a product's terms in another order for the
other layout. OpenBLAS's SkylakeX kernels gave the same bits both ways for W3's forward
products, its Haswell kernels (``OPENBLAS_CORETYPE=Haswell``) did not for a 64-512-64-10
MLP's first layer, and there the buffers go back to row-major. Eager mode and ``.grad`` never
see these buffers: only intermediate values of the program live in them.

Each trial starts from the same saved state: the parameters and their gradients, the
optimisers' state, the random generators and the arrays the step's
:func:`~tinygrad_edu.autograd.outside` calls write (BatchNorm's running statistics). A step
with an outside call not marked :func:`~tinygrad_edu.autograd.repeatable` (one whose effects
that state may not hold) is not tried: its buffers stay row-major.

Gain on W3, the whole replayed step against the same program with row-major buffers,
interleaved in one process, three runs: 0.942x, 0.971x and 0.952x (the choice: the first two
layers' outputs, b0 and b1, in two runs; b0 alone in one), that is 0.964x, 0.965x and 0.972x
the numpy reference. Its cost: the first replay runs the step up to 83 times per candidate
buffer instead of once, within about a second (:data:`BUDGET`; W3: 0.25 s). With 15
rounds instead of 41, a pair's ratio spread over about ±5% and W3's choice missed its
first layer in two runs of six; with 41 it took it in six of six.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, MutableMapping

import numpy as np

__all__ = ["BUDGET", "ELEMENTWISE", "KEEP", "MIN_ELEMENTS", "candidates", "choose", "column_major"]

# Buffers smaller than this are not tried: their products take microseconds, and the timing
# would cost more than it can win.
MIN_ELEMENTS = 16384

# Seconds the trials of one program may take, about: a step too slow for three rounds per
# candidate within it keeps its buffers row-major (W3's step, ~2 ms, gets the full 41).
BUDGET = 1.0

# A layout is kept when the median over the rounds of (time with it) / (time without) is below
# this: 1% faster at least, so that noise alone rarely decides.
KEEP = 0.99

# The numpy functions whose results do not depend on their operands' memory order.
ELEMENTWISE = frozenset({
    "add", "subtract", "multiply", "divide", "negative", "maximum", "minimum", "greater",
    "less", "greater_equal", "less_equal", "tanh", "exp", "log", "sqrt", "square",
})

_CALL = re.compile(r"np\.(\w+)\((.*)\)$")
_BUFFER = re.compile(r"\bb\d+\b")
_OUT = re.compile(r"out=(b\d+)\)$")


def candidates(source: str, buffers: MutableMapping[str, object]) -> list[str]:
    """The buffers of a program (``b0``, ``b1`` ...) that may be made column-major, in the order
    the program first writes them: 2-D, float, at least :data:`MIN_ELEMENTS` elements, written by
    ``np.matmul(..., out=b)`` and used only in lines that are one call of ``np.matmul`` or of an
    elementwise ufunc (:data:`ELEMENTWISE`). Anything else that names the buffer (a view, a
    reduction, an assignment to ``.grad``, the returned value) keeps it row-major.

    Example:
        >>> import numpy as np
        >>> src = '''def replay(a0):
        ...     np.matmul(a0, w, out=b0)
        ...     np.maximum(b0, 0, out=b0)
        ...     np.matmul(b0, v, out=b1)
        ...     t0 = b1.sum(axis=0)'''
        >>> bufs = {"b0": np.empty((128, 512), np.float32), "b1": np.empty((128, 256), np.float32)}
        >>> candidates(src, bufs)
        ['b0']
    """
    written: list[str] = []
    refused: set[str] = set()
    for raw in source.splitlines():
        line = raw.split("#", 1)[0].strip()
        names = _BUFFER.findall(line)
        if not names:
            continue
        call = _CALL.match(line)
        func = call.group(1) if call else None
        if func != "matmul" and func not in ELEMENTWISE:
            refused.update(names)
            continue
        out = _OUT.search(line)
        if func == "matmul" and out and out.group(1) not in written:
            written.append(out.group(1))
    chosen = []
    for name in written:
        a = buffers.get(name)
        if (name not in refused and isinstance(a, np.ndarray) and a.ndim == 2
                and a.dtype.kind == "f" and a.size >= MIN_ELEMENTS):
            chosen.append(name)
    return chosen


def column_major(a: np.ndarray) -> np.ndarray:
    """A new array of ``a``'s shape and dtype, laid out column-major (its values undefined)."""
    return np.empty(a.shape[::-1], a.dtype).T


def choose(names: list[str], buffers: MutableMapping[str, np.ndarray],
           trial: Callable[[], float], rounds: int = 41, budget: float | None = None) -> list[str]:
    """Make each of ``names`` column-major in ``buffers`` where that makes ``trial`` faster.

    Greedy, in order: for each buffer, ``trial()`` (the seconds one run takes) is called once
    untimed with the new column-major array (its first touch of memory), then ``rounds`` times
    with the buffer row-major and as often column-major, alternating, and
    the column-major array stays when the median of the rounds' ratios is below :data:`KEEP`.
    A first call measures the step: fewer rounds are run when all of them would take longer
    than ``budget`` seconds (:data:`BUDGET` by default), and none when not even three fit.
    Returns the names that changed. ``buffers`` ends holding the chosen arrays.

    Example:
        >>> import numpy as np
        >>> bufs = {"b0": np.zeros((4, 3)), "b1": np.zeros((4, 3))}
        >>> def trial():  # pretend: b0 column-major is faster, b1 makes no difference
        ...     return 0.001 if bufs["b0"].flags.f_contiguous else 0.002
        >>> choose(["b0", "b1"], bufs, trial)
        ['b0']
        >>> bufs["b0"].flags.f_contiguous, bufs["b1"].flags.c_contiguous
        (True, True)
    """
    if not names:
        return []
    budget = BUDGET if budget is None else budget
    seconds = max(trial(), 1e-9)  # a candidate costs 2 * rounds + 1 runs
    rounds = min(rounds, int((budget / (len(names) * seconds) - 1) / 2))
    if rounds < 3:
        return []
    changed = []
    for name in names:
        row = buffers[name]
        col = buffers[name] = column_major(row)
        trial()
        ratios = []
        for _ in range(rounds):
            buffers[name] = row
            before = trial()
            buffers[name] = col
            ratios.append(trial() / before)
        if statistics.median(ratios) < KEEP:
            changed.append(name)
        else:
            buffers[name] = row
    return changed
