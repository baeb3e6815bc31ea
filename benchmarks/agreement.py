"""The correctness gate: an implementation is timed only if it computes what the reference does.

Starting from the same weights and data, the numpy reference and another implementation (ours,
or PyTorch) each run a few training steps; after every step their losses, their gradients and
their updated parameters must agree within float32 tolerances (``np.allclose`` with
rtol = 1e-4, atol = 1e-6: float32 carries about 7 digits, and summation order alone moves the
last two or three). A chain workload runs once each way and compares L and dL/dx0, dL/dw.
The dtypes must be float32 too: an engine that silently computed in float64 would agree on the
numbers and still not be doing the workload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .numpy_reference import NumpyChain, NumpyCNN, NumpyMLP
from .workloads import ChainProblem, CNNProblem, CNNWorkload, MLPProblem, MLPWorkload

__all__ = ["ATOL", "RTOL", "Agreement", "AgreementError", "check_chain", "check_mlp", "require"]

RTOL = 1e-4
ATOL = 1e-6


class AgreementError(RuntimeError):
    """An implementation disagrees with the numpy reference: its timings would mean nothing."""


@dataclass
class Agreement:
    """How closely one implementation matched the numpy reference on one workload.

    Attributes:
        workload: the workload's key ("W1").
        implementation: "ours" or "torch".
        steps: training steps compared (1 run for a chain).
        max_abs_diff: the largest |other - reference| over losses, gradients and parameters.
        max_rel_diff: the largest |other - reference| / max|reference| of one array or loss.
        problems: what disagreed, one line each (empty when they agree).
    """

    workload: str
    implementation: str
    steps: int
    max_abs_diff: float = 0.0
    max_rel_diff: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def compare(self, what: str, got: Any, expected: Any) -> None:
        """Compare one array (or loss) with the reference's; record the difference."""
        expected = np.asarray(expected)
        if got is None:
            self.problems.append(f"{what}: missing (None), expected shape {expected.shape}")
            return
        got = np.asarray(got)
        if got.shape != expected.shape:
            self.problems.append(f"{what}: shape {got.shape}, expected {expected.shape}")
            return
        if got.dtype != expected.dtype:
            self.problems.append(f"{what}: dtype {got.dtype}, expected {expected.dtype}")
            return
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        worst = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(expected).max()) if expected.size else 0.0
        rel = worst / scale if scale > 0 else worst
        if not np.isnan(worst):
            self.max_abs_diff = max(self.max_abs_diff, worst)
            self.max_rel_diff = max(self.max_rel_diff, rel)
        if not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            # Point at the worst element (a NaN counts as the worst of all).
            flat = int(np.argmax(np.nan_to_num(diff, nan=np.inf)))
            i = tuple(int(k) for k in np.unravel_index(flat, diff.shape))
            self.problems.append(
                f"{what}: differs by up to {worst:.3g} (at index {i}: got {got[i]!r}, "
                f"reference {expected[i]!r})"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "implementation": self.implementation,
            "steps": self.steps,
            "ok": self.ok,
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "problems": list(self.problems),
        }


def check_mlp(
    spec: MLPWorkload | CNNWorkload,
    problem: MLPProblem | CNNProblem,
    make: Callable[[Any, Any], Any],
    implementation: str = "ours",
    steps: int = 3,
) -> Agreement:
    """Run ``steps`` training steps with the numpy reference and with ``make(spec, problem)``
    (an MLP workload, or the CNN against :class:`NumpyCNN`).

    After each step the losses, the gradients and the updated parameters are compared.

    Example:
        >>> from benchmarks.ours import EngineMLP
        >>> from benchmarks.workloads import W1, make_mlp_problem
        >>> check_mlp(W1, make_mlp_problem(W1), EngineMLP).ok
        True
    """
    result = Agreement(spec.key, implementation, steps)
    ref = NumpyCNN(spec, problem) if isinstance(spec, CNNWorkload) else NumpyMLP(spec, problem)
    other = make(spec, problem)
    names = [f"{kind}_{l + 1}" for l in range(len(problem.params) // 2) for kind in ("W", "b")]
    for step in range(1, steps + 1):
        ref.step()
        other.step()
        result.compare(f"step {step} loss", np.float32(other.loss()), np.float32(ref.loss()))
        for name, got, exp in zip(names, other.gradients(), ref.gradients()):
            result.compare(f"step {step} dL/d{name}", got, exp)
        for name, got, exp in zip(names, other.parameters(), ref.parameters()):
            result.compare(f"step {step} {name} after SGD", got, exp)
        if result.problems:
            break  # later steps only repeat the first disagreement
    return result


def check_chain(
    key: str,
    n_ops: int,
    problem: ChainProblem,
    make: Callable[[int, ChainProblem], Any],
    implementation: str = "ours",
) -> Agreement:
    """Run a chain once with the numpy reference and with ``make(n_ops, problem)``; compare.

    Example:
        >>> from benchmarks.ours import EngineChain
        >>> from benchmarks.workloads import W4, make_chain_problem
        >>> check_chain("W4", 40, make_chain_problem(W4), EngineChain).ok
        True
    """
    result = Agreement(key, implementation, 1)
    ref = NumpyChain(n_ops, problem)
    other = make(n_ops, problem)
    ref.run()
    other.run()
    result.compare("L = sum(x)", np.float32(other.value()), np.float32(ref.value()))
    for name, got, exp in zip(("dL/dx0", "dL/dw"), other.gradients(), ref.gradients()):
        result.compare(name, got, exp)
    return result


def require(agreements: Sequence[Agreement]) -> None:
    """Raise :class:`AgreementError` listing every disagreement, if there is any.

    Example:
        >>> bad = Agreement("W1", "ours", 3, problems=["step 1 loss: differs by up to 0.5"])
        >>> require([bad])
        Traceback (most recent call last):
        ...
        benchmarks.agreement.AgreementError: ours disagrees with the numpy reference ...
    """
    failed = [a for a in agreements if not a.ok]
    if not failed:
        return
    lines = []
    for a in failed:
        lines.append(f"{a.implementation} disagrees with the numpy reference on {a.workload}:")
        lines.extend(f"  - {p}" for p in a.problems[:10])
        if len(a.problems) > 10:
            lines.append(f"  - ... and {len(a.problems) - 10} more")
    raise AgreementError(
        "\n".join(lines) + "\nNo timings are reported: fix the engine (or the reference) first."
    )
