"""What the suite prints and writes: the machine's description, the markdown table, the JSON file.

The header says what the numbers depend on: Python and numpy versions, which BLAS numpy runs
(library, kernel, threads, from threadpoolctl when it is installed) and the OpenBLAS variables of
the environment. OPENBLAS_CORETYPE (with OPENBLAS_L2_SIZE) is set on some machines of this
workplace because old OpenBLAS builds misbehave without it; it makes a current numpy choose a
slower kernel, so a benchmark should be run with both unset in that command alone
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...``), never changed for tests or CI.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "environment",
    "format_header",
    "format_instructions",
    "format_report",
    "format_table",
    "write_json",
]

_ENV_VARS = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _load_average() -> list[float] | None:
    """The machine's 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _blas_runtime() -> list[dict[str, Any]] | None:
    """The thread pools numpy (and torch, if imported) run, from threadpoolctl; None without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "prefix")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def _blas_build() -> str | None:
    """The BLAS numpy was built against (name and version), from ``numpy.show_config``."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}".strip()
    except Exception:  # older numpy: no dicts mode; the header simply leaves it out
        return None


def environment(torch: Any = None, jax: Any = None) -> dict[str, Any]:
    """A description of this machine and of the libraries the numbers depend on.

    Args:
        torch: the torch module when it is measured, else None.
        jax: the jax module when it is measured, else None.

    Example:
        >>> info = environment()
        >>> sorted(info)[:4]
        ['blas_build', 'blas_runtime', 'cpus', 'env']
    """
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": _load_average(),
        "blas_build": _blas_build(),
        "blas_runtime": _blas_runtime(),
        "env": {name: os.environ.get(name) for name in _ENV_VARS},
        "torch": (
            None
            if torch is None
            else {"version": torch.__version__, "threads": torch.get_num_threads()}
        ),
        "jax": (
            None
            if jax is None
            else {"version": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS")}
        ),
    }


def _describe_pool(pool: dict[str, Any]) -> str:
    name = pool.get("internal_api") or pool.get("prefix") or "?"
    parts = [f"{name} {pool.get('version') or ''}".strip()]
    if pool.get("architecture"):
        parts.append(f"kernel {pool['architecture']}")
    threads = pool.get("num_threads")
    parts.append(f"{threads} thread" + ("" if threads == 1 else "s"))
    return ", ".join(parts)


def format_header(meta: dict[str, Any]) -> str:
    """The lines above the table: machine, libraries, BLAS, environment, how it was measured."""
    env = meta["env"]
    lines = [
        f"## tinygrad_edu benchmarks ({meta['mode']} run)",
        "",
        f"- machine: {meta['platform']}, {meta['cpus']} CPUs; Python {meta['python']}, "
        f"numpy {meta['numpy']}; float32 throughout",
    ]
    load = meta.get("load_average")
    if load:
        lines[-1] += f"; load average {load[0]:g} (1 min) when the run ended"
        cpus = meta.get("cpus") or 1
        if load[0] >= cpus - 0.5:  # the run itself accounts for about 1
            lines.append(
                "- warning: the machine was busy, so the numbers are noisy; a multi-threaded "
                "BLAS stalls whenever one of its threads waits for a core (tiny matmuls then "
                "take milliseconds): compare with `--blas-threads 1`"
            )
    runtime = meta["blas_runtime"]
    build = meta["blas_build"]
    if runtime is None:
        blas = "threadpoolctl not installed, runtime BLAS not inspected"
    else:
        pools = [p for p in runtime if p.get("user_api") == "blas"]
        blas = "; ".join(_describe_pool(p) for p in pools) or "no BLAS pool found"
    lines.append(f"- BLAS: {blas}" + (f" (numpy built with {build})" if build else ""))
    coretype = env.get("OPENBLAS_CORETYPE")
    shown = ", ".join(f"{k}={v}" for k, v in env.items() if v is not None) or "none set"
    lines.append(f"- BLAS/thread variables: {shown}")
    if coretype:
        lines.append(
            f"- warning: OPENBLAS_CORETYPE={coretype} forces OpenBLAS's {coretype} kernels, "
            "which makes a current numpy slower; for the machine's own kernel run with "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` (both ratios and absolute times "
            "move)"
        )
    torch = meta["torch"]
    lines.append(
        "- torch: not installed (`pip install -e '.[bench]'` adds it)"
        if torch is None
        else f"- torch: {torch['version']}, {torch['threads']} threads"
    )
    jax = meta.get("jax")
    lines.append(
        "- jax: not installed (`pip install jax` adds a jax.jit column for W1-W4)"
        if jax is None
        else f"- jax: {jax['version']}, jax.jit on CPU (XLA_FLAGS={jax['xla_flags'] or 'unset'})"
    )
    s = meta["settings"]
    lines.append(
        f"- timing: median of per-step times (time.perf_counter) after {s['warmup']} warm-up "
        f"steps, at least {s['min_calls']} steps and {s['min_time']:g} s per implementation, "
        f"in {s['rounds']} interleaved round(s); the deep chain: median of "
        f"{s['chain_repeats']} run(s); ratio = the median over the rounds of ours / numpy "
        "reference within a round (the memory row: of the medians)"
    )
    lines.append(_instructions_line(meta.get("instructions") or {"status": "off"}))
    gate = meta.get("agreement_summary")
    if gate:
        lines.append(f"- correctness gate: {gate}")
    return "\n".join(lines)


def _instructions_line(info: dict[str, Any]) -> str:
    """What the header says about the instruction counts (see :mod:`benchmarks.instructions`)."""
    status = info["status"]
    if status == "no valgrind":
        return "- instructions per step: not counted, valgrind is not installed"
    if status == "off":
        return ("- instructions per step: not counted in this run (the full run counts them; "
                "`--instructions` asks for them)")
    steps = ", ".join(f"{k} {n}" for k, n in info["steps"].items())
    return ("- instructions per step: callgrind, OPENBLAS_NUM_THREADS=1, one process per "
            f"count, steps counted after 3 untimed ones ({steps}); they do not move with load; "
            "jit with its buffers row-major (tune_layouts=False: a layout is chosen by timing, "
            "which callgrind's slowed-down run would distort)")


def format_instructions(workloads: dict[str, dict[str, Any]]) -> str:
    """The instruction counts as a markdown table ("" when none were counted).

    Example:
        >>> row = {"title": "W1 (ms/step)", "instructions": {"numpy": 4e5, "ours": 1.2e6,
        ...        "jit": 3.6e5}}
        >>> print(format_instructions({"W1": row}))
        | instructions per step | numpy | ours | jit | ours / numpy | jit / numpy |
        |---|---|---|---|---|---|
        | W1 | 400,000 | 1,200,000 | 360,000 | 3.00× | 0.90× |
    """
    rows = [(k, row["instructions"]) for k, row in workloads.items() if row.get("instructions")]
    if not rows:
        return ""
    lines = ["| instructions per step | numpy | ours | jit | ours / numpy | jit / numpy |",
             "|---|---|---|---|---|---|"]
    for key, counts in rows:
        base = counts.get("numpy")
        cells = [key] + [f"{counts[i]:,.0f}" if i in counts else "—"
                         for i in ("numpy", "ours", "jit")]
        cells += [f"{counts[i] / base:.2f}×" if base and i in counts else "—"
                  for i in ("ours", "jit")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _versus_torch(row: dict[str, Any]) -> str:
    """For a goal set against PyTorch, the ratio it was judged by: " (1.40× torch)"."""
    vs = row.get("ours_to_torch")
    if row["target"].get("kind") != "torch_ratio_at_most" or vs is None:
        return ""
    return f" ({vs:.2f}× torch)"


def _ratio(value: float, target: dict[str, Any]) -> str:
    """A ratio as "1.23×", with more digits when two would round it onto its goal: 1.0829
    against "≤ 1.08×" reads "1.083×", so that the cell and its "no" agree.

    Example:
        >>> goal = {"kind": "ratio_at_most", "value": 1.0}
        >>> _ratio(0.8312, goal), _ratio(1.0001, goal), _ratio(0.99996, goal)
        ('0.83×', '1.0001×', '0.99996×')
    """
    text = f"{value:.2f}"
    if target.get("kind") == "ratio_at_most":
        limit = target["value"]
        digits = 2
        while float(text) == limit and value != limit and digits < 6:
            digits += 1
            text = f"{value:.{digits}f}"
    return f"{text}×"


def _verdict(met: bool) -> str:
    """The "met" cell: "yes", or a bold "no" that stands out in the table."""
    return "yes" if met else "**no**"


def format_table(workloads: dict[str, dict[str, Any]], with_torch: bool) -> str:
    """The markdown table: workload | numpy | ours | ratio | target | met [| jit | torch | jax].

    Args:
        workloads: the ``"workloads"`` part of the results (see :mod:`benchmarks.run`).
        with_torch: add the torch column (time and ratio to numpy). The jit and jax.jit
            columns appear when some row measured them.

    Example:
        >>> row = {"title": "W1 (ms/step)", "numpy": {"median": 0.04}, "ours": {"median": 0.08},
        ...        "torch": None, "ratio": 2.0, "torch_ratio": None,
        ...        "target": {"text": "≤ 2.5× numpy"}, "met": True}
        >>> print(format_table({"W1": row}, with_torch=False))
        | workload | numpy | ours | ratio | target | met |
        |---|---|---|---|---|---|
        | W1 (ms/step) | 0.04 | 0.08 | 2.00× | ≤ 2.5× numpy | yes |
    """
    head = ["workload", "numpy", "ours", "ratio", "target", "met"]
    with_jit = any(row.get("jit") for row in workloads.values())
    if with_jit:
        head.append("jit (≤ 1× numpy)")
    if with_torch:
        head.append("torch")
    with_jax = any(row.get("jax") for row in workloads.values())
    if with_jax:
        head.append("jax.jit")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in workloads.values():
        cells = [
            row["title"],
            _number(row["numpy"]["median"]),
            _number(row["ours"]["median"]),
            _ratio(row["ratio"], row["target"]),
            row["target"]["text"],
            _verdict(row["met"]) + _versus_torch(row),
        ]
        if with_jit:
            jitted = row.get("jit")
            if jitted:
                ratio = _ratio(row["jit_ratio"], row["jit_target"])
                cells.append(f"{_number(jitted['median'])} ({ratio}, {_verdict(row['jit_met'])})")
            else:
                cells.append("—")
        if with_torch:
            torch = row.get("torch")
            if torch is None:
                cells.append(row.get("torch_note") or "—")
            else:
                cells.append(f"{_number(torch['median'])} ({row['torch_ratio']:.2f}×)")
        if with_jax:
            jax = row.get("jax")
            cells.append("—" if not jax else f"{_number(jax['median'])} ({row['jax_ratio']:.2f}×)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_report(results: dict[str, Any]) -> str:
    """Header, a blank line and the table: what ``python -m benchmarks.run`` prints."""
    with_torch = results["meta"]["torch"] is not None
    table = format_table(results["workloads"], with_torch)
    counts = format_instructions(results["workloads"])
    return (format_header(results["meta"]) + "\n\n" + table + "\n"
            + (f"\n{counts}\n" if counts else ""))


def write_json(results: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the results as indented JSON (creating the folder), and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
