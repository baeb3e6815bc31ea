"""Gradient checking: backprop against central differences, element by element.

For a function f of tensors x_1..x_k, pick a random upstream gradient v (seeded) of f's output
shape and look at the scalar F = sum(v * f(x)). Backprop gives dF/dx_i; central differences give

    dF/dx[j] ~ (F(x + eps e_j) - F(x - eps e_j)) / (2 eps)

for every element j of every input. A random v (rather than ones) catches VJPs that are wrong
only in some output directions, e.g. a transposed Jacobian.

Where they disagree beyond ``atol + rtol * |numerical|``, the one-sided slopes decide whether the
point is a *kink* (relu at 0, max with ties): if (F(x + eps e_j) - F(x)) / eps and
(F(x) - F(x - eps e_j)) / eps differ and backprop's value lies between them (a valid
subgradient), the element is reported as a kink, with a warning, not as a failure.

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


@dataclass
class InputCheck:
    """The comparison for one input: both gradients and where they disagree."""

    index: int
    name: str | None
    shape: tuple[int, ...]
    analytic: np.ndarray
    numerical: np.ndarray
    failures: list[tuple[int, ...]] = field(default_factory=list)
    kinks: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def label(self) -> str:
        named = f" ({self.name!r})" if self.name else ""
        return f"input {self.index}{named} of shape {self.shape}"

    @property
    def max_abs_error(self) -> float:
        err = np.abs(self.analytic - self.numerical)
        return float(err.max()) if err.size else 0.0


@dataclass
class GradcheckReport:
    """The result of :func:`check_gradients`: one :class:`InputCheck` per checked input."""

    inputs: list[InputCheck]
    atol: float
    rtol: float

    @property
    def ok(self) -> bool:
        return not any(c.failures for c in self.inputs)

    def worst(self, check: InputCheck, among: list[tuple[int, ...]]) -> tuple[int, ...]:
        """The element with the largest error; a non-finite one before any finite one."""
        err = np.abs(check.analytic - check.numerical)
        return max(among, key=lambda j: np.inf if np.isnan(err[j]) else err[j])

    def __str__(self) -> str:
        lines = []
        for c in self.inputs:
            if c.failures:
                j = self.worst(c, c.failures)
                a, n = float(c.analytic[j]), float(c.numerical[j])
                tol = self.atol + self.rtol * abs(n)
                if not (np.isfinite(a) and np.isfinite(n)):
                    lines.append(
                        f"gradcheck failed for {c.label}: the gradient is not finite at element "
                        f"{j}: analytic {a} vs numerical {n}. The point is a singularity or "
                        "outside the function's domain (log or sqrt of 0, x / 0), or the "
                        f"values overflow; {len(c.failures)} of {c.analytic.size} elements fail"
                    )
                    continue
                lines.append(
                    f"gradcheck failed for {c.label}: worst element {j}: analytic {a:.8g} vs "
                    f"numerical {n:.8g}, error {abs(a - n):.3g} > tolerance {tol:.3g} "
                    f"(atol {self.atol:g} + rtol {self.rtol:g} * |numerical|); "
                    f"{len(c.failures)} of {c.analytic.size} elements fail"
                )
            if c.kinks:
                shown = ", ".join(str(j) for j in c.kinks[:5])
                more = f" and {len(c.kinks) - 5} more" if len(c.kinks) > 5 else ""
                lines.append(
                    f"{c.label}: {len(c.kinks)} element(s) at a kink, where the left and right "
                    f"slopes differ and backprop gave a subgradient: {shown}{more}"
                )
        return "\n".join(lines) if lines else "gradcheck passed"


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
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        analytic = autograd.grad(out, [inputs[i] for i in checked], grad_output=v)
    else:  # f does not depend on its inputs through recorded operations
        analytic = [np.zeros(inputs[i].shape) for i in checked]
    objective = _scalar_objective(f, v)
    report = GradcheckReport([], atol, rtol)
    for i, a in zip(checked, analytic):
        plus, minus, center = _perturbations(objective, inputs, i, eps)
        numerical = (plus - minus) / (2 * eps)
        a = np.asarray(a, dtype=np.float64)
        check = InputCheck(i, inputs[i].name, inputs[i].shape, a, numerical)
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
        report.inputs.append(check)
    return report


def _conclude(report: GradcheckReport, raise_exception: bool) -> bool:
    if any(c.kinks for c in report.inputs) and report.ok:
        warnings.warn(str(report), GradcheckWarning, stacklevel=3)
    if report.ok:
        return True
    if raise_exception:
        raise GradcheckError(str(report))
    return False


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check backprop through ``f(*inputs)`` against central differences, element by element.

    Args:
        f: a function of Tensors returning a Tensor of any shape.
        inputs: Tensors (those with ``requires_grad=True`` are checked) and other arguments.
        eps: the central-difference step.
        atol: absolute tolerance: an element fails when |analytic - numerical| > atol + rtol *
            |numerical|.
        rtol: relative tolerance (see atol).
        raise_exception: raise :class:`GradcheckError` on failure (else return False).
        seed: seeds the random upstream gradient v; the check is of sum(v * f).

    Returns:
        True when every element agrees (kinks are warned about, not failed).

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
) -> bool:
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
    return _conclude(report, raise_exception)
