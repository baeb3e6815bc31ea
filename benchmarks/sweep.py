"""The sweep benchmark: a 16-trial grid search of a small MLP, in this process and on engines.

    python -m benchmarks.sweep            # about a minute on two cores
    python -m benchmarks.sweep --quick    # a few seconds

The same :func:`tinygrad_edu.tune.grid_search` (4 learning rates x 2 momenta x 2 folds = 16
trials of a 2-64-64-3 tanh MLP on the spiral) runs one trial after another in this process
("sequential", the baseline), on two joblib loky worker processes, and on a Dask LocalCluster
of two worker processes. Every worker of both engines runs numpy's BLAS on one thread (loky and
Dask set that up), so the baseline does too (threadpoolctl): with its default two BLAS threads
this process would spin them on matrices this small and look several times slower than it is
on a busy machine, which would flatter the engines. The sides are interleaved round by round
and the median time of a whole sweep is compared: the targets are at most 0.6x the sequential
time on loky and 0.7x on Dask (two cores). Starting the worker pool and the cluster happens in
the untimed warm-up, as a user who sweeps repeatedly keeps them running. Before timing, the
three sides must give the same numbers for every trial, or nothing is timed (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.data import make_spiral
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.train import write_json
from tinygrad_edu.tune import SearchResult, grid_search

from .timing import Budget, interleaved_times, summarize

__all__ = ["SWEEP", "SweepSettings", "build", "main", "run_sweep_benchmark"]

GRID = {"lr": [0.01, 0.03, 0.1, 0.3], "momentum": [0.0, 0.9]}
TARGETS = {"processes": 0.6, "dask": 0.7}


@dataclass(frozen=True)
class SweepSettings:
    """How big the sweep is and how often it is timed.

    Attributes:
        epochs: training epochs of every trial (the size of a trial).
        k: folds (16 trials with the grid's 8 settings and k = 2).
        rounds: timed sweeps per side, interleaved.
        workers: worker processes of loky and of the LocalCluster.
    """

    epochs: int = 60
    k: int = 2
    rounds: int = 3
    workers: int = 2


SWEEP = SweepSettings()
QUICK = SweepSettings(epochs=2, rounds=1)


def build(lr: float, rng: np.random.Generator, momentum: float = 0.0) -> tuple[Any, Any, Any]:
    """One trial's model: a 2-64-64-3 tanh MLP with SGD (momentum)."""
    model = MLP([2, 64, 64, 3], activation="tanh", rng=rng)
    return model, cross_entropy, SGD(model.parameters(), lr=lr, momentum=momentum)


def _numbers(result: SearchResult) -> list[tuple[Any, ...]]:
    return [(t.index, t.status, t.val_loss, t.val_accuracy) for t in result.trials]


def run_sweep_benchmark(settings: SweepSettings = SWEEP, log: Any = print) -> dict[str, Any]:
    """Time the sweep on every side; the results as a dict (see :func:`format_sweep`).

    Raises:
        RuntimeError: the sides disagree on a trial's numbers (nothing is timed).
    """
    import distributed
    from threadpoolctl import threadpool_limits

    X, y = make_spiral(n_per_class=100, n_classes=3, rng=0)
    common = {"k": settings.k, "epochs": settings.epochs, "batch_size": 30, "seed": 0,
              "progress": False, "preprocess": "standardize"}  # fmt: skip
    cluster = distributed.LocalCluster(
        n_workers=settings.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)

    def sequential() -> SearchResult:
        with threadpool_limits(limits=1):  # as in every worker (see the module docstring)
            return grid_search(build, GRID, X, y, backend="sequential", **common)

    sides = {
        "sequential": sequential,
        "processes": lambda: grid_search(
            build, GRID, X, y, backend="processes", n_jobs=settings.workers, **common
        ),
        "dask": lambda: grid_search(build, GRID, X, y, backend="dask", client=client, **common),
    }
    try:
        log("sweep: checking that every engine gives the same numbers (and warming up)")
        numbers = {name: _numbers(side()) for name, side in sides.items()}
        n_trials = len(numbers["sequential"])
        for name, got in numbers.items():
            if got != numbers["sequential"]:
                raise RuntimeError(f"sweep: {name} disagrees with the sequential sweep")
        log(f"sweep: timing {n_trials} trials x {settings.rounds} rounds per side")
        budget = Budget(warmup=0, min_calls=settings.rounds, min_time=0.0,
                        max_calls=settings.rounds, rounds=settings.rounds)  # fmt: skip
        times = interleaved_times(sides, budget)
    finally:
        client.close()
        cluster.close()
    stats = {name: summarize(t).as_dict() for name, t in times.items()}
    base = stats["sequential"]["median"]
    rows = {}
    for name, target in TARGETS.items():
        ratio = stats[name]["median"] / base
        rows[name] = {"ratio": ratio, "target": target, "met": ratio <= target}
    return {"settings": settings.__dict__, "trials": n_trials, "seconds": stats, "ratios": rows}


def format_sweep(results: dict[str, Any]) -> str:
    """The results as a markdown table."""
    s = results["seconds"]
    lines = [
        f"Sweep of {results['trials']} trials (2-64-64-3 MLP, {results['settings']['epochs']} "
        f"epochs each), median s per sweep over {results['settings']['rounds']} interleaved "
        "rounds:",
        "",
        "| engine | s / sweep | ratio to sequential | target | met |",
        "|---|---|---|---|---|",
        f"| sequential (this process, 1 BLAS thread) | {s['sequential']['median']:.2f} | 1 | | |",
    ]
    names = {"processes": "joblib loky, 2 processes", "dask": "Dask LocalCluster, 2 processes"}
    for name, row in results["ratios"].items():
        lines.append(
            f"| {names[name]} | {s[name]['median']:.2f} | {row['ratio']:.3f} | "
            f"≤ {row['target']:g} | {'yes' if row['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep benchmark; 0, or 1 with ``--strict`` when a target is missed, 2 when the
    engines disagree."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny trials, one round")
    parser.add_argument("--json", type=Path, help="also write the results there")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else SWEEP
    try:
        results = run_sweep_benchmark(settings, log=lambda m: print(m, file=sys.stderr))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(format_sweep(results), flush=True)
    if args.json is not None:
        write_json(args.json, results)
    missed = [name for name, row in results["ratios"].items() if not row["met"]]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
