"""Instructions per training step, counted by callgrind: a measure machine load does not move.

Wall-clock ratios on a shared machine wander by several percent between runs; the number of
instructions a step executes does not. Each count runs a small driver (this module, with
``--driver``) in a fresh process under ``valgrind --tool=callgrind``, with
``OPENBLAS_NUM_THREADS=1``. The driver builds the implementation, runs a few untimed steps (the
jit records its step there), then runs N steps inside one call of ``operator.call``;
callgrind counts only inside that function (``--collect-atstart=no
--toggle-collect=_operator_call``), so start-up, imports and set-up are not counted, and the
count divided by N is one step (the loop around the steps adds about 100 instructions).

    python -m benchmarks.instructions --workloads W1 W2 --implementations numpy jit

Without valgrind nothing is counted: :func:`valgrind_path` is None and the report says so.
"""

from __future__ import annotations

import argparse
import operator
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tinygrad_edu.errors import InvalidArgumentError

__all__ = ["IMPLEMENTATIONS", "STEPS", "count_instructions", "instruction_counts", "valgrind_path"]

IMPLEMENTATIONS = ("numpy", "ours", "jit")
# Steps counted per workload: enough that the loop's own cost is negligible, few enough that a
# count takes seconds under callgrind (about 50 times slower than the machine).
STEPS = {"W1": 50, "W2": 30, "W3": 2, "W4": 3}
WARMUP = 3
_ROOT = Path(__file__).resolve().parent.parent
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def valgrind_path() -> str | None:
    """The valgrind executable, or None when it is not installed."""
    return shutil.which("valgrind")


def _make_step(key: str, implementation: str) -> Callable[[], None]:
    """One step (one chain run for W4) of ``implementation`` on workload ``key``, seed 0."""
    from .jitted import JitChain, JitMLP
    from .numpy_reference import NumpyChain, NumpyMLP
    from .ours import EngineChain, EngineMLP
    from .workloads import WORKLOADS, ChainWorkload, make_chain_problem, make_mlp_problem

    spec = WORKLOADS[key]
    if isinstance(spec, ChainWorkload):
        chains = {"numpy": NumpyChain, "ours": EngineChain, "jit": JitChain}
        return chains[implementation](spec.n_ops, make_chain_problem(spec, 0)).run
    problem = make_mlp_problem(spec, 0)  # type: ignore[arg-type]
    if implementation == "jit":
        # Row-major buffers: a layout is chosen by timing, and callgrind's slowed-down,
        # cacheless run would time another machine (see tinygrad_edu.layouts).
        return JitMLP(spec, problem, tune_layouts=False).step  # type: ignore[arg-type]
    mlps = {"numpy": NumpyMLP, "ours": EngineMLP}
    return mlps[implementation](spec, problem).step  # type: ignore[arg-type]


def _drive(key: str, implementation: str, steps: int) -> None:
    """The driver's body: set up, warm up, then ``steps`` steps inside ``operator.call``."""
    step = _make_step(key, implementation)
    for _ in range(WARMUP):
        step()

    def counted(n: int) -> None:
        for _ in range(n):
            step()

    operator.call(counted, steps)  # callgrind counts inside this call only


def count_instructions(key: str, implementation: str, steps: int, timeout: float = 600.0) -> float:
    """Instructions per step of ``implementation`` on workload ``key``, counted by callgrind.

    Raises:
        InvalidArgumentError: valgrind is not installed, a bad key, implementation or count.
        RuntimeError: the driver failed under valgrind (its last output is in the message).
    """
    from .workloads import WORKLOADS, ChainWorkload, MLPWorkload

    spec = WORKLOADS.get(key)
    if not isinstance(spec, (MLPWorkload, ChainWorkload)) or key == "chain":
        raise InvalidArgumentError(
            f"count_instructions: workload must be one of {', '.join(STEPS)}; got {key!r}"
        )
    if implementation not in IMPLEMENTATIONS:
        raise InvalidArgumentError(
            f"count_instructions: implementation must be one of {', '.join(IMPLEMENTATIONS)}; "
            f"got {implementation!r}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidArgumentError(
            f"count_instructions: steps must be an integer >= 1; got {steps!r}"
        )
    valgrind = valgrind_path()
    if valgrind is None:
        raise InvalidArgumentError("count_instructions: valgrind is not installed")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    command = [
        valgrind, "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=_operator_call",
        f"--callgrind-out-file={os.devnull}", sys.executable, "-m", "benchmarks.instructions",
        "--driver", key, implementation, str(steps),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise RuntimeError(
            f"count_instructions({key}, {implementation}): the driver failed under valgrind "
            f"(exit status {done.returncode}):\n{tail}"
        )
    return int(found[-1]) / steps


def instruction_counts(
    keys: Sequence[str],
    implementations: Sequence[str] = IMPLEMENTATIONS,
    steps: dict[str, int] | None = None,
    workers: int = 2,
) -> dict[str, dict[str, float]]:
    """Instructions per step for every workload in ``keys`` and implementation, by callgrind.

    ``steps`` overrides :data:`STEPS`; ``workers`` counts run at once (instruction counts do
    not depend on the machine's load, so running two at a time changes none).
    """
    steps = {**STEPS, **(steps or {})}
    jobs = [(k, i) for k in keys for i in implementations]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        counts = list(pool.map(lambda job: count_instructions(*job, steps[job[0]]), jobs))
    results: dict[str, dict[str, float]] = {}
    for (key, implementation), n in zip(jobs, counts):
        results.setdefault(key, {})[implementation] = n
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``--driver KEY IMPL N`` runs the driver (under valgrind); otherwise count and print."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--driver", nargs=3, metavar=("KEY", "IMPL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--workloads", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument(
        "--implementations", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS
    )
    args = parser.parse_args(argv)
    if args.driver:
        key, implementation, n = args.driver
        _drive(key, implementation, int(n))
        return 0
    if valgrind_path() is None:
        print("valgrind is not installed: no instruction counts", file=sys.stderr)
        return 2
    counts = instruction_counts(args.workloads, args.implementations)
    for key, row in counts.items():
        base = row.get("numpy")
        cells = [
            f"{impl} {n:,.0f}" + (f" ({n / base:.3f}x)" if base and impl != "numpy" else "")
            for impl, n in row.items()
        ]
        print(f"{key}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
