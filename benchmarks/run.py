"""The command line of the benchmark suite: check, time, print the table, write the JSON file.

    python -m benchmarks.run                    # full run: about 15 s without torch
    python -m benchmarks.run --quick            # a few seconds
    python -m benchmarks.run --workloads W3 --json /tmp/w3.json

A run first checks every workload (:mod:`benchmarks.agreement`): ours against the numpy
reference, and torch too when it is measured. If ours disagrees, nothing is timed and the run
exits with status 2; a disagreeing torch only loses its column for that workload. Then each
workload is timed (numpy reference, ours, the jit-compiled step of :mod:`benchmarks.jitted` on
W1-W4, torch interleaved, :mod:`benchmarks.timing`), W3's peak
traced memory per step is measured, and the report (:mod:`benchmarks.report`) is printed to
standard output; progress goes to standard error. Missing a target is reported, not an error,
unless ``--strict`` is given (then the exit status is 1).

The results (the JSON file) are a dict::

    {"meta": {machine, libraries, settings, mode, agreement_summary},
     "agreement": {key: {"ours": {...}, "torch": {...} or None}},
     "workloads": {key: {"title", "unit", "numpy", "ours", "torch", "ratio", "torch_ratio",
                         "ours_to_torch", "target", "met"}},
     "table": the markdown table}

where "numpy", "ours" and "torch" hold the median (and quartiles, minimum and number of calls)
in the row's unit: ms/step for W1-W3 and the CNN, µs/op for W4, s for the deep chain, MiB for
W3_memory. The CNN's goal is set against PyTorch: "ours_to_torch" is its ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinygrad_edu.errors import InvalidArgumentError

from .agreement import Agreement, AgreementError, check_chain, check_mlp, require
from .instructions import STEPS as COUNTED_STEPS
from .instructions import instruction_counts, valgrind_path
from .jax_reference import JaxChain, JaxMLP, load_jax
from .jitted import JitChain, JitMLP
from .numpy_reference import NumpyChain, NumpyCNN, NumpyMLP
from .ours import EngineChain, EngineCNN, EngineMLP
from .report import environment, format_report, format_table, write_json
from .timing import (
    Budget,
    every_call,
    interleaved_rounds,
    paired_ratio,
    peak_traced_memory,
    summarize,
)
from .torch_reference import TorchChain, TorchCNN, TorchMLP, load_torch
from .workloads import (
    MEMORY_TARGET_RATIO,
    WORKLOADS,
    ChainWorkload,
    CNNWorkload,
    MLPWorkload,
    make_chain_problem,
    make_cnn_problem,
    make_mlp_problem,
)

Spec = MLPWorkload | ChainWorkload | CNNWorkload

__all__ = ["DEFAULT_JSON", "FULL", "QUICK", "Settings", "main", "run_suite"]

DEFAULT_JSON = Path(__file__).with_name("results.json")
_MIB = 1024.0 * 1024.0

# The goal of the compiled step (tinygrad_edu.jit): at most the numpy reference's time, on every
# workload but the deep chain (a 100,000-operation program is not what jit is for).
JIT_TARGET = {"kind": "ratio_at_most", "value": 1.0, "text": "≤ 1× numpy"}
JIT_CHECK_STEPS = 5  # two recordings, then replays


@dataclass(frozen=True)
class Settings:
    """How much to measure.

    Attributes:
        warmup: untimed steps per implementation before timing (MLPs and W4).
        min_calls: timed steps (W4: chain runs) per implementation, at least.
        min_time: timed seconds per implementation, at least.
        max_calls: timed steps per implementation, at most.
        rounds: interleaved rounds the timed steps are split into.
        chain_ops: length of the deep chain (100,000 in the issue; a multiple of 4).
        chain_repeats: timed runs of the deep chain per implementation (median).
        memory_repeats: traced W3 steps per implementation (median).
        check_steps: training steps compared by the correctness gate.
        seed: seed of the data and the initial weights.
        blas_threads: limit numpy's BLAS (and torch) to this many threads with threadpoolctl;
            None leaves the machine's default. One thread is steadier on a busy machine.
        instructions: count instructions per step with callgrind (numpy, ours and jit on
            W1-W4; :mod:`benchmarks.instructions`) when valgrind is installed: about two
            minutes, so the full run does it and the quick run does not.
    """

    warmup: int
    min_calls: int
    min_time: float
    max_calls: int
    rounds: int
    chain_ops: int
    chain_repeats: int
    memory_repeats: int
    check_steps: int = 3
    seed: int = 0
    blas_threads: int | None = None
    instructions: bool = False

    def __post_init__(self) -> None:
        counts = {
            "warmup": (self.warmup, 0),
            "min_calls": (self.min_calls, 1),
            "max_calls": (self.max_calls, 1),
            "rounds": (self.rounds, 1),
            "chain_repeats": (self.chain_repeats, 1),
            "memory_repeats": (self.memory_repeats, 1),
            "check_steps": (self.check_steps, 1),
            "seed": (self.seed, 0),
        }
        if self.blas_threads is not None:
            counts["blas_threads"] = (self.blas_threads, 1)
        for name, (value, low) in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(
                    f"Settings: {name} must be an integer >= {low}; got {value!r}"
                )
        if not isinstance(self.min_time, (int, float)) or not (
            math.isfinite(self.min_time) and self.min_time >= 0
        ):
            raise InvalidArgumentError(
                f"Settings: min_time must be a finite number of seconds >= 0; got {self.min_time!r}"
            )
        if (
            isinstance(self.chain_ops, bool)
            or not isinstance(self.chain_ops, int)
            or (self.chain_ops < 4 or self.chain_ops % 4)
        ):
            raise InvalidArgumentError(
                f"Settings: chain_ops must be a positive multiple of 4 (whole cycles of mul, add, "
                f"tanh, scale); got {self.chain_ops!r}"
            )

    def budget(self) -> Budget:
        """The timing budget of the MLP workloads and W4."""
        return Budget(self.warmup, self.min_calls, self.min_time, self.max_calls, self.rounds)

    def chain_budget(self) -> Budget:
        """The deep chain: exactly ``chain_repeats`` runs each, interleaved, no warm-up (the
        correctness gate has just run it)."""
        n = self.chain_repeats
        return Budget(warmup=0, min_calls=n, min_time=0.0, max_calls=n, rounds=n)


FULL = Settings(
    warmup=20,
    min_calls=100,
    min_time=1.5,
    max_calls=100_000,
    rounds=15,  # a median of rounds' ratios (paired_ratio), each share about 0.1 s
    chain_ops=100_000,
    chain_repeats=3,
    memory_repeats=3,
    instructions=True,
)
QUICK = Settings(
    warmup=3,
    min_calls=10,
    min_time=0.05,
    max_calls=2_000,
    rounds=2,
    chain_ops=100_000,
    chain_repeats=1,
    memory_repeats=1,
)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the suite


def _specs(keys: Sequence[str], chain_ops: int) -> dict[str, Spec]:
    specs: dict[str, Spec] = {}
    for key in keys:
        spec = WORKLOADS[key]
        if key == "chain" and isinstance(spec, ChainWorkload) and chain_ops != spec.n_ops:
            title = f"deep chain of {chain_ops:,} ops on {spec.size} floats, fwd+bwd (s)"
            spec = dataclasses.replace(spec, n_ops=chain_ops, title=title)
        specs[key] = spec
    return specs


def _target(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, CNNWorkload):  # the CNN's goal is relative to PyTorch eager
        return {
            "kind": "torch_ratio_at_most",
            "value": spec.target_torch_ratio,
            "text": f"≤ {spec.target_torch_ratio:g}× torch",
        }
    if isinstance(spec, MLPWorkload):
        return {
            "kind": "ratio_at_most",
            "value": spec.target_ratio,
            "text": f"≤ {spec.target_ratio:g}× numpy",
        }
    if spec.unit == "us/op":
        return {"kind": "ratio_at_most", "value": spec.target, "text": f"≤ {spec.target:g}× numpy"}
    return {"kind": "below", "value": spec.target, "text": f"< {spec.target:g} s"}


def _met(target: dict[str, Any], ours: float, ratio: float, vs_torch: float | None) -> bool:
    if target["kind"] == "torch_ratio_at_most":  # unmet when torch was not measured
        return vs_torch is not None and vs_torch <= target["value"]
    if target["kind"] == "ratio_at_most":
        return ratio <= target["value"]
    return ours < target["value"]


def _row(
    title: str,
    unit: str,
    stats: dict[str, dict[str, Any]],
    target: dict[str, Any],
    torch_note: str | None = None,
    rounds: dict[str, list[list[float]]] | None = None,
) -> dict[str, Any]:
    """One row of the results from per-implementation statistics (already in ``unit``).

    With ``rounds`` (the per-call times of each interleaved round), every ratio is the
    median over rounds of the two sides' ratio within a round (see ``paired_ratio``);
    without, the ratio of the two medians (the memory row).
    """

    def ratio_of(a: str, b: str) -> float:
        if rounds is None:
            return float(stats[a]["median"] / stats[b]["median"])
        return paired_ratio(rounds[a], rounds[b])

    def to_numpy(name: str) -> float | None:
        return ratio_of(name, "numpy") if name in stats else None

    ours_value = stats["ours"]["median"]
    ratio = ratio_of("ours", "numpy")
    torch = stats.get("torch")
    vs_torch = None if torch is None else ratio_of("ours", "torch")
    jitted = stats.get("jit")
    jit_ratio = to_numpy("jit")
    jax = stats.get("jax")
    return {
        "title": title,
        "unit": unit,
        "numpy": stats["numpy"],
        "ours": stats["ours"],
        "torch": torch,
        "ratio": ratio,
        "torch_ratio": to_numpy("torch"),
        "torch_note": torch_note,
        "ours_to_torch": vs_torch,
        "target": target,
        "met": _met(target, ours_value, ratio, vs_torch),
        "jit": jitted,
        "jit_ratio": jit_ratio,
        "jit_target": None if jitted is None else JIT_TARGET,
        "jit_met": None if jit_ratio is None else jit_ratio <= JIT_TARGET["value"],
        "jax": jax,
        "jax_ratio": to_numpy("jax"),
    }


def _gate_summary(ours: list[Agreement], peers: dict[str, dict[str, Agreement]]) -> str:
    keys = ", ".join(a.workload for a in ours)
    worst = max((a.max_rel_diff for a in ours), default=0.0)
    text = (
        f"ours agrees with the numpy reference on {keys} (losses, gradients and parameters "
        f"after each checked step; largest difference {worst:.2g} of an array's scale)"
    )
    for peer, checks in peers.items():
        disagreeing = [k for k, a in checks.items() if not a.ok]
        if disagreeing:
            text += f"; {peer} disagrees on {', '.join(disagreeing)} and is left out there"
    return text


def _check_all(
    specs: dict[str, Spec],
    problems: dict[str, Any],
    implementation: str,
    mlp_class: Any,
    chain_class: Any,
    steps: int,
    cnn_class: Any = None,
) -> dict[str, Agreement]:
    checks = {}
    for key, spec in specs.items():
        if isinstance(spec, CNNWorkload):
            checks[key] = check_mlp(spec, problems[key], cnn_class, implementation, steps)
        elif isinstance(spec, MLPWorkload):
            checks[key] = check_mlp(spec, problems[key], mlp_class, implementation, steps)
        else:
            checks[key] = check_chain(key, spec.n_ops, problems[key], chain_class, implementation)
    return checks


def _time_mlp(
    spec: MLPWorkload | CNNWorkload,
    impls: dict[str, Any],
    settings: Settings,
    torch_note: str | None,
) -> dict[str, dict[str, Any]]:
    """The row of an MLP or CNN workload (and for W3 the memory row): ms per step, peak MiB."""
    rounds = interleaved_rounds({n: i.step for n, i in impls.items()}, settings.budget())
    stats = {n: _stats(r, 1e3) for n, r in rounds.items()}
    rows = {spec.key: _row(spec.title, "ms/step", stats, _target(spec), torch_note, rounds)}
    if spec.key == "W3":
        peaks = {
            n: peak_traced_memory(
                impls[n].step, settings.memory_repeats, before=impls[n].release_gradients
            )
            for n in ("numpy", "ours")  # tracemalloc does not see torch's allocator
        }
        mem = {n: {"median": b / _MIB, "bytes": b} for n, b in peaks.items()}
        target = {
            "kind": "ratio_at_most",
            "value": MEMORY_TARGET_RATIO,
            "text": f"≤ {MEMORY_TARGET_RATIO:g}× numpy",
        }
        torch_measured = "torch" in impls or torch_note is not None
        note = "not traced" if torch_measured else None
        rows["W3_memory"] = _row("W3 peak traced memory per step (MiB)", "MiB", mem, target, note)
    return rows


def _time_chain(
    spec: ChainWorkload, impls: dict[str, Any], settings: Settings, torch_note: str | None
) -> dict[str, dict[str, Any]]:
    """The row of a chain workload: µs per operation (W4) or seconds per chain (deep chain)."""
    budget = settings.budget() if spec.unit == "us/op" else settings.chain_budget()
    rounds = interleaved_rounds({n: i.run for n, i in impls.items()}, budget)
    scale = 1e6 / spec.n_ops if spec.unit == "us/op" else 1.0
    stats = {n: _stats(r, scale) for n, r in rounds.items()}
    return {spec.key: _row(spec.title, spec.unit, stats, _target(spec), torch_note, rounds)}


def _stats(rounds: list[list[float]], scale: float) -> dict[str, Any]:
    """One side's summary of every call, and its median in each round ("rounds"), in unit."""
    stats: dict[str, Any] = summarize(every_call(rounds)).as_dict(scale)
    stats["rounds"] = [statistics.median(share) * scale for share in rounds]
    return stats


@contextlib.contextmanager
def _thread_limit(threads: int | None, torch: Any) -> Iterator[None]:
    """Limit BLAS/OpenMP thread pools (and torch's) to ``threads`` inside; None: no change."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise InvalidArgumentError(
            "blas_threads needs threadpoolctl (pip install threadpoolctl); it is not installed"
        ) from None
    previous = None if torch is None else torch.get_num_threads()
    try:
        with threadpool_limits(limits=threads):
            if torch is not None:
                torch.set_num_threads(threads)
            yield
    finally:
        if previous is not None:
            torch.set_num_threads(previous)


def run_suite(
    settings: Settings,
    keys: Sequence[str] | None = None,
    use_torch: bool = True,
    mode: str = "custom",
    use_jax: bool = True,
    log: Callable[[str], None] = _stderr,
) -> dict[str, Any]:
    """Check, then time every workload in ``keys``; return the results (see the module doc).

    Args:
        settings: how much to measure (:data:`FULL`, :data:`QUICK` or your own).
        keys: workload keys among "W1", "W2", "W3", "W4", "chain", "CNN" (all by default).
        use_torch: measure PyTorch too when it is importable.
        use_jax: measure ``jax.jit`` too (W1-W4) when jax is importable.
        mode: a label for the header ("full", "quick", ...).
        log: where progress messages go.

    Raises:
        InvalidArgumentError: an unknown workload key, or ``blas_threads`` without threadpoolctl.
        AgreementError: ours disagrees with the numpy reference (nothing is timed).
    """
    keys = list(WORKLOADS) if keys is None else list(dict.fromkeys(keys))
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown or not keys:
        raise InvalidArgumentError(
            f"run_suite: unknown workload(s) {unknown or keys!r}; choose among "
            f"{', '.join(WORKLOADS)}"
        )
    specs = _specs(keys, settings.chain_ops)
    torch = load_torch() if use_torch else None
    jax = load_jax(settings.blas_threads) if use_jax else None
    problems = {
        key: make_cnn_problem(spec, settings.seed)
        if isinstance(spec, CNNWorkload)
        else make_mlp_problem(spec, settings.seed)
        if isinstance(spec, MLPWorkload)
        else make_chain_problem(spec, settings.seed)
        for key, spec in specs.items()
    }
    with _thread_limit(settings.blas_threads, torch):
        # The correctness gate, for every workload before anything is timed.
        log(f"checking ours against the numpy reference on {', '.join(keys)}")
        steps = settings.check_steps
        ours_checks = _check_all(
            specs, problems, "ours", EngineMLP, EngineChain, steps, EngineCNN
        )
        require(list(ours_checks.values()))
        jit_specs = {
            k: s for k, s in specs.items() if k != "chain" and not isinstance(s, CNNWorkload)
        }
        log(f"checking jit against the numpy reference on {', '.join(jit_specs) or 'nothing'}")
        jit_steps = max(steps, JIT_CHECK_STEPS)
        jit_checks = _check_all(jit_specs, problems, "jit", JitMLP, JitChain, jit_steps)
        require(list(jit_checks.values()))
        jax_checks: dict[str, Agreement] = {}
        if jax is not None:
            log(f"checking jax.jit against the numpy reference on {', '.join(jit_specs)}")
            jax_checks = _check_all(jit_specs, problems, "jax", JaxMLP, JaxChain, steps)
        torch_checks: dict[str, Agreement] = {}
        if torch is not None:
            log("checking torch against the numpy reference")
            torch_checks = _check_all(
                specs, problems, "torch", TorchMLP, TorchChain, steps, TorchCNN
            )

        rows: dict[str, dict[str, Any]] = {}
        for key, spec in specs.items():
            problem = problems[key]
            torch_ok = key in torch_checks and torch_checks[key].ok
            torch_note = None if torch is None or torch_ok else "disagrees"
            jax_ok = key in jax_checks and jax_checks[key].ok
            log(f"{key}: timing numpy, ours" + (", jit" if key in jit_specs else "")
                + (", torch" if torch_ok else "") + (", jax" if jax_ok else ""))
            if isinstance(spec, CNNWorkload):
                impls = {"numpy": NumpyCNN(spec, problem), "ours": EngineCNN(spec, problem)}
                if torch_ok:
                    impls["torch"] = TorchCNN(spec, problem)
                rows.update(_time_mlp(spec, impls, settings, torch_note))
            elif isinstance(spec, MLPWorkload):
                impls: dict[str, Any] = {
                    "numpy": NumpyMLP(spec, problem),
                    "ours": EngineMLP(spec, problem),
                    "jit": JitMLP(spec, problem),
                }
                if torch_ok:
                    impls["torch"] = TorchMLP(spec, problem)
                if jax_ok:
                    impls["jax"] = JaxMLP(spec, problem)
                rows.update(_time_mlp(spec, impls, settings, torch_note))
            else:
                impls = {
                    "numpy": NumpyChain(spec.n_ops, problem),
                    "ours": EngineChain(spec.n_ops, problem),
                }
                if key in jit_specs:
                    impls["jit"] = JitChain(spec.n_ops, problem)
                if torch_ok:
                    impls["torch"] = TorchChain(spec.n_ops, problem)
                if jax_ok:
                    impls["jax"] = JaxChain(spec.n_ops, problem)
                rows.update(_time_chain(spec, impls, settings, torch_note))
        meta = environment(torch, jax)  # inside the limit: the header shows the threads used

    meta["instructions"] = _count_instructions(settings, keys, rows, log)
    meta["mode"] = mode
    meta["settings"] = dataclasses.asdict(settings)
    meta["agreement_summary"] = _gate_summary(
        list(ours_checks.values()), {"torch": torch_checks, "jax.jit": jax_checks}
    )
    results: dict[str, Any] = {
        "meta": meta,
        "agreement": {
            key: {
                "ours": check.as_dict(),
                "jit": jit_checks[key].as_dict() if key in jit_checks else None,
                "torch": torch_checks[key].as_dict() if key in torch_checks else None,
                "jax": jax_checks[key].as_dict() if key in jax_checks else None,
            }
            for key, check in ours_checks.items()
        },
        "workloads": rows,
    }
    results["table"] = format_table(rows, torch is not None)
    return results


def _count_instructions(
    settings: Settings,
    keys: Sequence[str],
    rows: dict[str, dict[str, Any]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Instructions per step into ``rows[key]["instructions"]``; returns what the header says."""
    counted = [k for k in keys if k in COUNTED_STEPS]
    if not settings.instructions or not counted:
        return {"status": "off"}
    if valgrind_path() is None:
        return {"status": "no valgrind"}
    log(f"counting instructions per step with callgrind on {', '.join(counted)}")
    for key, counts in instruction_counts(counted).items():
        rows[key]["instructions"] = counts
    return {"status": "counted", "steps": {k: COUNTED_STEPS[k] for k in counted}}


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Time tinygrad_edu against hand-written numpy backprop (and PyTorch when "
        "installed); print a markdown table and write a JSON file.",
    )
    parser.add_argument("--quick", action="store_true", help="far fewer steps (a few seconds)")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the results (default: {DEFAULT_JSON})",
    )
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=list(WORKLOADS),
        metavar="KEY",
        help=f"run only these ({', '.join(WORKLOADS)}); default: all",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--no-jax", action="store_true", help="skip jax.jit even if installed")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is not met"
    )
    group = parser.add_argument_group("overrides of the full or quick settings")
    group.add_argument("--warmup", type=int, help="untimed steps before timing")
    group.add_argument("--min-steps", type=int, dest="min_calls", help="timed steps at least")
    group.add_argument("--min-time", type=float, help="timed seconds at least, per implementation")
    group.add_argument("--max-steps", type=int, dest="max_calls", help="timed steps at most")
    group.add_argument("--rounds", type=int, help="interleaved rounds")
    group.add_argument("--chain-ops", type=int, help="length of the deep chain")
    group.add_argument("--chain-repeats", type=int, help="timed runs of the deep chain")
    group.add_argument("--memory-repeats", type=int, help="traced W3 steps")
    group.add_argument("--seed", type=int, help="seed of the data and initial weights")
    group.add_argument(
        "--blas-threads", type=int, help="limit BLAS (and torch) threads, via threadpoolctl"
    )
    group.add_argument(
        "--instructions",
        action=argparse.BooleanOptionalAction,
        help="count instructions per step with callgrind (default: in the full run only)",
    )
    return parser


_OVERRIDES = (
    "warmup",
    "min_calls",
    "min_time",
    "max_calls",
    "rounds",
    "chain_ops",
    "chain_repeats",
    "memory_repeats",
    "seed",
    "blas_threads",
    "instructions",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite from command-line arguments; returns the exit status.

    0: the report was printed and the JSON written; 1: ``--strict`` and a target was missed;
    2: bad settings, or ours disagrees with the numpy reference (nothing reported).
    """
    args = _parser().parse_args(argv)
    base = QUICK if args.quick else FULL
    overrides = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    try:
        settings = dataclasses.replace(base, **overrides)
        results = run_suite(
            settings,
            keys=args.workloads,
            use_torch=not args.no_torch,
            mode="quick" if args.quick else "full",
            use_jax=not args.no_jax,
        )
    except (InvalidArgumentError, AgreementError) as exc:
        _stderr(f"benchmarks: {exc}")
        return 2
    print(format_report(results), flush=True)
    path = write_json(results, args.json)
    _stderr(f"results written to {path}")
    missed = [k for k, row in results["workloads"].items() if not row["met"]]
    rows = results["workloads"].items()
    missed += [f"{k} (jit)" for k, row in rows if row.get("jit_met") is False]
    if missed:
        _stderr(f"targets not met: {', '.join(missed)}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
