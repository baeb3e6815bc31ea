"""How the suite measures: per-call wall-clock times with ``time.perf_counter`` and peak memory
with ``tracemalloc``.

Times are taken call by call, so a report can give the median (robust against the odd slow call:
a garbage collection, another process on the machine) and the spread. Several implementations of
one workload are measured in interleaved rounds (numpy, ours, torch, numpy, ours, torch, ...), so
that a change in the machine's load during the run affects them alike and their ratio stays fair.
Python's garbage collector stays on: collections an engine causes are part of its cost.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Budget",
    "Summary",
    "every_call",
    "interleaved_rounds",
    "interleaved_times",
    "paired_ratio",
    "peak_traced_memory",
    "summarize",
    "time_calls",
]


@dataclass(frozen=True)
class Budget:
    """How long to measure one implementation of one workload.

    Attributes:
        warmup: untimed calls first (caches, lazily built buffers, the optimiser's scratch).
        min_calls: timed calls at least.
        min_time: timed seconds at least (whichever of min_calls and min_time ends later).
        max_calls: timed calls at most, whatever min_time says.
        rounds: the timed calls are split into this many interleaved rounds.
    """

    warmup: int
    min_calls: int
    min_time: float
    max_calls: int
    rounds: int


@dataclass(frozen=True)
class Summary:
    """The statistics of a list of per-call times, in seconds."""

    median: float
    q1: float
    q3: float
    minimum: float
    calls: int

    def as_dict(self, scale: float = 1.0) -> dict[str, float | int]:
        """The summary as plain numbers, each time multiplied by ``scale`` (e.g. 1e3 for ms)."""
        return {
            "median": self.median * scale,
            "q1": self.q1 * scale,
            "q3": self.q3 * scale,
            "min": self.minimum * scale,
            "calls": self.calls,
        }


def summarize(times: list[float]) -> Summary:
    """Median, quartiles and minimum of per-call times.

    Example:
        >>> s = summarize([3.0, 1.0, 2.0, 4.0, 100.0])
        >>> s.median, s.minimum, s.calls
        (3.0, 1.0, 5)
    """
    if len(times) < 2:
        t = times[0]
        return Summary(t, t, t, t, 1)
    q1, _, q3 = statistics.quantiles(times, n=4)
    return Summary(statistics.median(times), q1, q3, min(times), len(times))


def time_calls(
    fn: Callable[[], object], min_calls: int, min_time: float, max_calls: int
) -> list[float]:
    """Call ``fn`` until at least ``min_calls`` calls and ``min_time`` seconds have passed.

    Returns the duration of each call in seconds (at most ``max_calls`` of them).

    Example:
        >>> times = time_calls(lambda: None, min_calls=5, min_time=0.0, max_calls=10)
        >>> len(times)
        5
    """
    clock = time.perf_counter
    times: list[float] = []
    start = clock()
    while len(times) < max_calls:
        t0 = clock()
        fn()
        t1 = clock()
        times.append(t1 - t0)
        if len(times) >= min_calls and t1 - start >= min_time:
            break
    return times


def interleaved_rounds(
    fns: Mapping[str, Callable[[], object]], budget: Budget
) -> dict[str, list[list[float]]]:
    """Per-call times of several implementations, measured in interleaved rounds, by round.

    Each function first runs ``budget.warmup`` untimed calls; then, ``budget.rounds`` times,
    each function in turn gets its share (1 / rounds) of ``min_calls``, ``min_time`` and
    ``max_calls``. ``result[name][r]`` holds the times of round r.

    While timing, what existed before (the modules torch and jax import, the implementations
    and their compiled programs) is kept out of the cyclic collector's full passes
    (``gc.freeze``), as a separate process per side would keep it: every full collection walks
    every tracked object in the process, and with torch and jax imported (~234,000 objects)
    W4's eager chain, which makes ~4 tracked objects per operation, read 10.0 ms a run against
    4.7 ms without them and 4.9 ms with them frozen, the numpy reference 1.3 ms throughout (15
    interleaved rounds). The freeze is the measuring program's choice, not the library's, and
    is undone at the end.

    Example:
        >>> b = Budget(warmup=1, min_calls=4, min_time=0.0, max_calls=100, rounds=2)
        >>> [len(r) for r in interleaved_rounds({"a": lambda: 1, "b": lambda: 2}, b)["a"]]
        [2, 2]
    """
    rounds = max(1, budget.rounds)
    for fn in fns.values():
        for _ in range(budget.warmup):
            fn()
    times: dict[str, list[list[float]]] = {name: [] for name in fns}
    calls = max(1, -(-budget.min_calls // rounds))  # ceiling division
    cap = max(calls, budget.max_calls // rounds)
    gc.collect()
    gc.freeze()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                gc.collect()  # start each share with no garbage left by the one before
                times[name].append(time_calls(fn, calls, budget.min_time / rounds, cap))
    finally:
        gc.unfreeze()
    return times


def interleaved_times(
    fns: Mapping[str, Callable[[], object]], budget: Budget
) -> dict[str, list[float]]:
    """The per-call times of :func:`interleaved_rounds`, every round's in one list.

    Example:
        >>> b = Budget(warmup=1, min_calls=4, min_time=0.0, max_calls=100, rounds=2)
        >>> {k: len(v) for k, v in interleaved_times({"a": lambda: 1, "b": lambda: 2}, b).items()}
        {'a': 4, 'b': 4}
    """
    return {name: every_call(shares) for name, shares in interleaved_rounds(fns, budget).items()}


def every_call(shares: list[list[float]]) -> list[float]:
    """One side's times of :func:`interleaved_rounds`, its rounds one after another."""
    return [t for share in shares for t in share]


def paired_ratio(a: list[list[float]], b: list[list[float]]) -> float:
    """The median over rounds of median(a's times) / median(b's times) in the same round.

    This machine's speed moves in phases of 10-50 ms between two levels about 2x apart (the
    numpy W1 step's median over 2 ms windows read 0.038-0.076 ms, correlated from one window
    to the next at 0.71, at 0.34 over 50 ms windows, not at all over 200 ms). The median of
    all of one side's calls then jumps between the two levels with the share of time each
    level happened to get, and a ratio of two such medians jumped with it (W1's jit read
    1.16x in one of three runs against 0.88-0.92x in the others); within one round both
    sides meet the same machine, and the median of the rounds' ratios read 0.84-0.86x in all
    three.

    Example:
        >>> paired_ratio([[2.0, 2.2], [4.0]], [[1.0], [2.0, 2.0]])
        2.05
    """
    ratios = [statistics.median(x) / statistics.median(y) for x, y in zip(a, b)]
    return statistics.median(ratios)


def peak_traced_memory(
    fn: Callable[[], object], repeats: int = 3, before: Callable[[], object] | None = None
) -> int:
    """The peak of memory allocated during one call of ``fn``, in bytes (median of repeats).

    Measured with ``tracemalloc`` (numpy reports its array buffers to it), counted from what was
    allocated just before the call, so memory that persists between calls (the parameters, an
    optimiser's buffers) does not count; everything the call builds does: activations, the
    recorded graph, gradients, temporaries. ``before`` runs ahead of each call, outside the
    count: a training step should drop the previous step's gradients there, or the step would
    be credited with freeing them.

    Example:
        >>> import numpy as np
        >>> peak_traced_memory(lambda: np.ones(1_000_000)) >= 8_000_000
        True
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    peaks = []
    try:
        for _ in range(max(1, repeats)):
            if before is not None:
                before()
            gc.collect()
            start, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            fn()
            _, peak = tracemalloc.get_traced_memory()
            peaks.append(peak - start)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return int(statistics.median(peaks))
