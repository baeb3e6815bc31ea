"""Gradient checking: backprop against central differences, element by element.

For a function f of tensors x_1..x_k, pick a random upstream gradient v (seeded) of f's output
shape and look at the scalar F = sum(v * f(x)). Backprop gives dF/dx_i; central differences give

    dF/dx[j] ~ (F(x + eps e_j) - F(x - eps e_j)) / (2 eps)

for every element j of every input. A random v (rather than ones) catches VJPs that are wrong
only in some output directions, e.g. a transposed Jacobian. For an output of one element v is
1, so the values compared (and reported) are the gradient's own elements dL/dx[j]; for other
outputs the report says which v was used and, for outputs of a few elements, also shows the
unprojected Jacobian entries d out / d x[j] of the worst element.

Where they disagree beyond ``atol + rtol * |numerical|``, the one-sided slopes decide whether the
point is a *kink* (relu at 0, max with ties): if (F(x + eps e_j) - F(x)) / eps and
(F(x) - F(x - eps e_j)) / eps differ and backprop's value lies between them (a valid
subgradient), the element is reported as a kink, with a warning, not as a failure. Kinks are
listed apart and left out of every maximum the report prints.

Checks run in float64: float32 inputs are converted, with a warning, because central
differences in float32 have errors around 1e-3 and would hide real mistakes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import autograd
from .autograd import enable_grad, no_grad
from .errors import GradcheckError, InvalidArgumentError, ShapeError
from .tensor import Tensor

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "GradcheckWarning",
    "InputCheck",
    "assert_gradgrads_close",
    "assert_grads_close",
    "check_gradients",
    "gradcheck",
    "gradgradcheck",
    "numerical_gradient",
]


class GradcheckWarning(UserWarning):
    """Something about a gradient check to know: float32 inputs, kinks met."""


# ----------------------------------------------------------------------------- central differences


def _as_list(inputs: Any) -> list[Any]:
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _is_float(x: Any) -> bool:
    return np.asarray(x.data if isinstance(x, Tensor) else x).dtype.kind == "f"


def _scalar_objective(f: Callable[..., Any], grad_output: Any) -> Callable[..., float]:
    """F(*inputs) = sum(grad_output * f(*inputs)) as a float64 number (f itself if scalar)."""

    def objective(*args: Any) -> float:
        out = f(*args)
        value = np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)
        if grad_output is None:
            if value.size != 1:
                raise ShapeError(
                    f"numerical_gradient: f returned shape {value.shape}; give grad_output of "
                    "that shape (the vector v of the product v^T J), or make f return one number"
                )
            return float(value.reshape(()))
        return float(np.sum(value * grad_output))

    return objective


def _perturbations(
    objective: Callable[..., float], inputs: list[Any], i: int, eps: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """F at x_i + eps e_j and at x_i - eps e_j for every element j, and F at x itself.

    A float64 Tensor input is perturbed in place, one element at a time, and restored
    exactly: a function that reaches the tensor some other way than through its argument (a
    module's weight, a closure) sees the perturbation too. Other inputs are perturbed as
    float64 copies of the same kind (Tensor or array). Evaluated under no_grad.
    """
    args = [_perturbable(x) if _is_float(x) else x for x in inputs]
    point = args[i].data if isinstance(args[i], Tensor) else args[i]
    plus = np.empty(point.shape)
    minus = np.empty(point.shape)
    with no_grad():
        center = objective(*args)
        for j in np.ndindex(point.shape):
            old = point[j]
            try:
                point[j] = old + eps
                plus[j] = objective(*args)
                point[j] = old - eps
                minus[j] = objective(*args)
            finally:
                point[j] = old
    return plus, minus, center


def _perturbable(x: Any) -> Any:
    """The input itself when it can be perturbed in place (a writable float64 Tensor), else a
    float64 copy of the same kind, recording nothing."""
    if isinstance(x, Tensor):
        if x.dtype == np.float64 and x.data.flags.writeable:
            return x
        return Tensor(np.array(x.data, dtype=np.float64), name=x.name)
    return np.array(x, dtype=np.float64)


def numerical_gradient(
    f: Callable[..., Any], inputs: Any, eps: float = 1e-6, grad_output: Any = None
) -> list[np.ndarray | None]:
    """Central-difference gradient of ``f`` at ``inputs``: one float64 array per input.

    Args:
        f: called as ``f(*inputs)``; returns one number (a one-element Tensor or array), or any
            shape when ``grad_output`` is given.
        inputs: a sequence of Tensors or numpy arrays (a single one is accepted too). Inputs
            that are not floating point (index arrays) get ``None``.
        eps: the step; the error of the estimate is O(eps^2) plus rounding O(1e-16 / eps).
        grad_output: the vector v for a vector-Jacobian product: differentiates sum(v * f).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.gradcheck import numerical_gradient
        >>> [g] = numerical_gradient(lambda x: (x ** 2).sum(), [np.array([1.0, -3.0])])
        >>> np.round(g, 6).tolist()
        [2.0, -6.0]
    """
    inputs = _as_list(inputs)
    objective = _scalar_objective(f, grad_output)
    grads: list[np.ndarray | None] = []
    for i, x in enumerate(inputs):
        if not _is_float(x):
            grads.append(None)
            continue
        plus, minus, _ = _perturbations(objective, inputs, i, eps)
        grads.append((plus - minus) / (2 * eps))
    return grads


# ----------------------------------------------------------------------------- the report

#: Outputs with at most this many elements get the Jacobian entries of a failing input's
#: worst element in the report (one extra backward pass per output element).
JACOBIAN_MAX_OUTPUTS = 16


@dataclass
class InputCheck:
    """The comparison for one input: both gradients and where they disagree.

    ``failures`` and ``kinks`` list element indices; kinks (a valid subgradient where the left
    and right slopes differ) are left out of every maximum. ``jacobian``, when present, holds
    the unprojected Jacobian entries d out / d x[worst] over the output's elements, analytic
    and numerical (see :data:`JACOBIAN_MAX_OUTPUTS`).
    """

    index: int
    name: str | None
    shape: tuple[int, ...]
    analytic: np.ndarray
    numerical: np.ndarray
    failures: list[tuple[int, ...]] = field(default_factory=list)
    kinks: list[tuple[int, ...]] = field(default_factory=list)
    atol: float = 1e-5
    jacobian: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def label(self) -> str:
        named = f" ({self.name!r})" if self.name else ""
        return f"input {self.index}{named} of shape {self.shape}"

    @property
    def ok(self) -> bool:
        return not self.failures

    def _errors(self) -> np.ndarray:
        """|analytic - numerical| with kinks set to 0 (NaN counts as infinitely wrong)."""
        err = np.abs(self.analytic - self.numerical)
        err = np.where(np.isnan(err), np.inf, err)
        for j in self.kinks:
            err[j] = 0.0
        return err

    @property
    def max_abs_error(self) -> float:
        """The largest |analytic - numerical| over the elements that are not kinks."""
        err = self._errors()
        return float(err.max()) if err.size else 0.0

    @property
    def max_rel_error(self) -> float:
        """The largest error relative to |numerical| (to atol where that is smaller), kinks
        excluded."""
        err = self._errors() / np.maximum(np.abs(self.numerical), self.atol)
        return float(err.max()) if err.size else 0.0

    @property
    def worst(self) -> tuple[int, ...] | None:
        """The failing element with the largest error, else the largest error among the
        elements that are not kinks (None when there is none)."""
        err = self._errors()
        kinks = set(self.kinks)
        among = self.failures or [j for j in np.ndindex(self.shape) if j not in kinks]
        if not among:
            return None
        return max(among, key=lambda j: err[j])


@dataclass
class GradcheckReport:
    """The result of :func:`check_gradients`: one :class:`InputCheck` per checked input.

    True when every input passed (``bool(report)``); ``str(report)`` is what failed, the
    upstream gradient used, and a table with one row per input. Returned by
    ``gradcheck(..., raise_exception=False)`` and carried by :class:`GradcheckError` as
    ``error.report``.
    """

    inputs: list[InputCheck]
    atol: float
    rtol: float
    output_shape: tuple[int, ...] = ()
    seed: int = 0
    #: "gradcheck" or "gradgradcheck": what the values are derivatives of.
    kind: str = "gradcheck"

    @property
    def ok(self) -> bool:
        return not any(c.failures for c in self.inputs)

    def __bool__(self) -> bool:
        return self.ok

    def worst(self, check: InputCheck, among: list[tuple[int, ...]]) -> tuple[int, ...]:
        """The element with the largest error; a non-finite one before any finite one."""
        err = np.abs(check.analytic - check.numerical)
        return max(among, key=lambda j: np.inf if np.isnan(err[j]) else err[j])

    @property
    def upstream(self) -> str:
        """Which upstream gradient the values were computed with, in words."""
        if self.kind == "gradgradcheck":
            return (
                "second derivatives: the values are the gradient of h(x) = sum_i w_i . "
                "d(sum(v * f))/dx_i, with v and w standard normal (seed "
                f"{self.seed}), by backprop through the recorded backward pass and by "
                "central differences of first-order backprop"
            )
        if int(np.prod(self.output_shape)) == 1:
            return (
                "the output has one element, so the upstream gradient is 1: the values are "
                "the gradient's own elements dL/dx[j]"
            )
        return (
            f"the output has shape {self.output_shape}, so the upstream gradient v is standard "
            f"normal of that shape (seed {self.seed}): the values are elements of v^T J, the "
            "Jacobian projected on v, not of J itself"
        )

    def failure_lines(self) -> list[str]:
        """One sentence per failing input: where, both values, the error and the tolerance."""
        lines = []
        for c in self.inputs:
            if not c.failures:
                continue
            j = self.worst(c, c.failures)
            a, n = float(c.analytic[j]), float(c.numerical[j])
            tol = self.atol + self.rtol * abs(n)
            if not (np.isfinite(a) and np.isfinite(n)):
                lines.append(
                    f"{self.kind} failed for {c.label}: the gradient is not finite at element "
                    f"{j}: analytic {a} vs numerical {n}. The point is a singularity or "
                    "outside the function's domain (log or sqrt of 0, x / 0), or the "
                    f"values overflow; {len(c.failures)} of {c.analytic.size} elements fail"
                )
                continue
            lines.append(
                f"{self.kind} failed for {c.label}: worst element {j}: analytic {a:.8g} vs "
                f"numerical {n:.8g}, error {abs(a - n):.3g} > tolerance {tol:.3g} "
                f"(atol {self.atol:g} + rtol {self.rtol:g} * |numerical|); "
                f"{len(c.failures)} of {c.analytic.size} elements fail"
            )
            if c.jacobian is not None:
                ja, jn = c.jacobian
                where = ", ".join(str(k) for k in j)
                lines.append(
                    f"  the Jacobian entries of that element, d out[k] / d x[{where}] for every "
                    f"output element k (unprojected):"
                )
                for k in np.ndindex(ja.shape):
                    lines.append(
                        f"    out[{', '.join(str(m) for m in k)}]: analytic {ja[k] + 0.0:.6g}, "
                        f"numerical {jn[k] + 0.0:.6g}"  # + 0.0: no "-0"
                    )
        return lines

    def kink_lines(self) -> list[str]:
        """One line per input with kinks (left out of every maximum above)."""
        lines = []
        for c in self.inputs:
            if c.kinks:
                shown = ", ".join(str(j) for j in c.kinks[:5])
                more = f" and {len(c.kinks) - 5} more" if len(c.kinks) > 5 else ""
                lines.append(
                    f"{c.label}: {len(c.kinks)} element(s) at a kink, where the left and right "
                    f"slopes differ and backprop gave a subgradient: {shown}{more}"
                )
        return lines

    def table(self) -> str:
        """One row per input: max abs/rel error, worst element, both values, kinks, result."""
        header = ["input", "shape", "max abs err", "max rel err", "worst", "analytic",
                  "numerical", "kinks", "result"]
        rows = [header]
        for c in self.inputs:
            j = c.worst
            a = f"{float(c.analytic[j]):.6g}" if j is not None else "-"
            n = f"{float(c.numerical[j]):.6g}" if j is not None else "-"
            rows.append([
                f"{c.index}" + (f" {c.name!r}" if c.name else ""),
                str(c.shape),
                f"{c.max_abs_error:.3g}",
                f"{c.max_rel_error:.3g}",
                str(j) if j is not None else "-",
                a,
                n,
                str(len(c.kinks)),
                "ok" if c.ok else "FAILED",
            ])
        widths = [max(len(r[k]) for r in rows) for k in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        lines = self.failure_lines() or [f"{self.kind} passed"]
        lines.append(f"upstream gradient: {self.upstream}")
        lines.append(self.table())
        kinks = self.kink_lines()
        if kinks:
            lines.append("kinks (excluded from the maxima above):")
            lines.extend(f"  {line}" for line in kinks)
        return "\n".join(lines)


def _float64_inputs(inputs: list[Any], op: str) -> list[Any]:
    """Float64 copies of float32 inputs (with a warning); other inputs as they are."""
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.dtype.kind == "f" and x.dtype != np.float64:
            warnings.warn(
                f"{op}: input {i} is {x.dtype}; central differences need float64, so the check "
                "runs on a float64 copy. Create inputs with dtype=np.float64 to silence this.",
                GradcheckWarning,
                stacklevel=3,
            )
            x = Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad, name=x.name)
        out.append(x)
    return out


def _differentiable(inputs: list[Any], op: str) -> list[int]:
    idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not idx:
        raise InvalidArgumentError(
            f"{op}: no input requires grad, so there is nothing to check. Create the inputs "
            "you want checked with requires_grad=True."
        )
    return idx


def check_gradients(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> GradcheckReport:
    """Compare backprop with central differences for every input that requires grad.

    Returns a :class:`GradcheckReport` instead of raising; :func:`gradcheck` is the usual entry.
    """
    inputs = _float64_inputs(_as_list(inputs), "gradcheck")
    checked = _differentiable(inputs, "gradcheck")
    with enable_grad():
        out = f(*inputs)
    if not isinstance(out, Tensor):
        out = Tensor(out)
    # One output element: the upstream gradient is 1, so the report shows dL/dx itself.
    if out.size == 1:
        v = np.ones(out.shape)
    else:
        v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        analytic = autograd.grad(out, [inputs[i] for i in checked], grad_output=v)
    else:  # f does not depend on its inputs through recorded operations
        analytic = [np.zeros(inputs[i].shape) for i in checked]
    objective = _scalar_objective(f, v)
    report = GradcheckReport([], atol, rtol, output_shape=out.shape, seed=seed)
    for i, a in zip(checked, analytic):
        plus, minus, center = _perturbations(objective, inputs, i, eps)
        numerical = (plus - minus) / (2 * eps)
        a = np.asarray(a, dtype=np.float64)
        check = InputCheck(i, inputs[i].name, inputs[i].shape, a, numerical, atol=atol)
        err = np.abs(a - numerical)
        # `not <=` also catches NaN: an infinite gradient against a NaN estimate must fail.
        suspect = ~(err <= atol + rtol * np.abs(numerical))
        for j in map(tuple, np.argwhere(suspect)):
            right = (plus[j] - center) / eps
            left = (center - minus[j]) / eps
            spread = atol + rtol * max(abs(left), abs(right))
            tol = atol + rtol * abs(numerical[j])
            lo, hi = min(left, right), max(left, right)
            if hi - lo > spread and lo - tol <= a[j] <= hi + tol:
                check.kinks.append(tuple(int(k) for k in j))
            else:
                check.failures.append(tuple(int(k) for k in j))
        if check.failures and 1 < out.size <= JACOBIAN_MAX_OUTPUTS:
            check.jacobian = _jacobian_column(f, inputs, i, check.worst, out.size, eps)
        report.inputs.append(check)
    return report


def _jacobian_column(
    f: Callable[..., Any], inputs: list[Any], i: int, j: tuple[int, ...], n_out: int,
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """d out / d x_i[j] for every output element: by backprop (one one-hot upstream gradient
    per output element) and by central differences."""
    with enable_grad():
        out = f(*inputs)
    shape = np.shape(out)
    analytic = np.zeros(n_out)
    if isinstance(out, Tensor) and out.requires_grad:
        for k in range(n_out):
            seed = np.zeros(n_out)
            seed[k] = 1.0
            [gx] = autograd.grad(out, [inputs[i]], seed.reshape(shape), retain_graph=True)
            analytic[k] = np.asarray(gx)[j]

    def value(*args: Any) -> np.ndarray:
        result = f(*args)
        return np.array(result.data if isinstance(result, Tensor) else result, dtype=np.float64)

    args = [_perturbable(x) if _is_float(x) else x for x in inputs]
    point = args[i].data
    old = point[j]
    with no_grad():
        try:
            point[j] = old + eps
            plus = value(*args)
            point[j] = old - eps
            minus = value(*args)
        finally:
            point[j] = old
    return analytic.reshape(shape), (plus - minus) / (2 * eps)


def _conclude(report: GradcheckReport, raise_exception: bool) -> Any:
    if any(c.kinks for c in report.inputs) and report.ok:
        warnings.warn("\n".join(report.kink_lines()), GradcheckWarning, stacklevel=3)
    if report.ok and raise_exception:
        return True
    if raise_exception:
        raise GradcheckError(str(report), report=report)
    return report


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool | GradcheckReport:
    """Check backprop through ``f(*inputs)`` against central differences, element by element.

    Args:
        f: a function of Tensors returning a Tensor of any shape.
        inputs: Tensors (those with ``requires_grad=True`` are checked) and other arguments.
        eps: the central-difference step.
        atol: absolute tolerance: an element fails when |analytic - numerical| > atol + rtol *
            |numerical|.
        rtol: relative tolerance (see atol).
        raise_exception: raise :class:`GradcheckError` on failure (its ``report``
            attribute and message hold the report); with False, return the
            :class:`GradcheckReport` instead (true when the check passed).
        seed: seeds the random upstream gradient v; the check is of sum(v * f). For an
            output of one element v is 1, so the values reported are dL/dx itself.

    Returns:
        True when every element agrees (kinks are warned about, not failed), or the report
        with ``raise_exception=False``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.gradcheck import gradcheck
        >>> x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
        >>> gradcheck(lambda x: x.log() * x, [x])
        True
    """
    return _conclude(check_gradients(f, inputs, eps, atol, rtol, seed), raise_exception)


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool | GradcheckReport:
    """Check second derivatives: differentiate the recorded backward pass of ``f``.

    With random (seeded) v and w, checks h(x) = sum_i w_i . d(sum(v * f(x)))/dx_i: its gradient
    by backprop through ``backward(create_graph=True)`` against central differences of h, whose
    value comes from ordinary first-order backprop.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.gradcheck import gradgradcheck
        >>> x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
        >>> gradgradcheck(lambda x: x.sigmoid() * x, [x])
        True
    """
    inputs = _float64_inputs(_as_list(inputs), "gradgradcheck")
    checked = _differentiable(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    with enable_grad():
        out = f(*inputs)
    v = rng.standard_normal(np.shape(out))
    w = [rng.standard_normal(inputs[i].shape) for i in checked]

    def first_derivative_dot_w(*args: Any) -> Tensor:
        with enable_grad():
            # Central differences call this with plain copies: make them leaves to differentiate.
            args = list(args)
            for i in checked:
                if not args[i].requires_grad:
                    args[i] = Tensor(args[i].data, requires_grad=True)
            out = f(*args)
            if not (isinstance(out, Tensor) and out.requires_grad):
                return Tensor(np.zeros(()))
            grads = autograd.grad(out, [args[i] for i in checked], v, create_graph=True)
            total = Tensor(np.zeros(()))
            for g, wi in zip(grads, w):
                total = total + (g * wi).sum()
            return total

    report = check_gradients(first_derivative_dot_w, inputs, eps, atol, rtol, seed)
    report.kind = "gradgradcheck"
    return _conclude(report, raise_exception)


# ----------------------------------------------------------------------------- assertions


def assert_grads_close(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> GradcheckReport:
    """Assert that backprop through ``f(*inputs)`` agrees with central differences.

    For unittest (and any framework that treats ``AssertionError`` as a failure): raises
    :class:`GradcheckError`, an ``AssertionError`` whose message is the whole report (what
    failed, the upstream gradient used, the table), else returns the report. The pytest
    plugin's ``gradcheck`` fixture is this function.

    Example:
        >>> import io, unittest
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.testing import assert_grads_close
        >>> class TestSwish(unittest.TestCase):
        ...     def test_gradient(self):
        ...         x = Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
        ...         assert_grads_close(lambda x: x * x.sigmoid(), [x])
        >>> unittest.TextTestRunner(stream=io.StringIO()).run(
        ...     unittest.defaultTestLoader.loadTestsFromTestCase(TestSwish)).wasSuccessful()
        True
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = check_gradients(f, inputs, eps, atol, rtol, seed)
    _conclude(report, raise_exception=True)
    return report


def assert_gradgrads_close(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> GradcheckReport:
    """Assert that second derivatives of ``f`` agree (see :func:`gradgradcheck`); raises
    :class:`GradcheckError` with the report, else returns it.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.gradcheck import assert_gradgrads_close
        >>> x = Tensor(np.array([0.5, 2.0]), requires_grad=True)
        >>> bool(assert_gradgrads_close(lambda x: x.tanh(), [x]))
        True
    """
    __tracebackhide__ = True
    report = gradgradcheck(f, inputs, eps, atol, rtol, raise_exception=False, seed=seed)
    if not report:
        raise GradcheckError(str(report), report=report)
    return report
