"""Newton's method: a step to the minimum of the local quadratic model of the loss.

Around the current weights w (all parameters flattened into one vector of n numbers),

    L(w + d) ~ L(w) + g^T d + 1/2 d^T H d,     g = dL/dw,  H = d^2 L / dw^2 (n x n),

is smallest where H d = -g, so the step is

    w <- w - eta (H + lambda I)^{-1} g

with eta = 1 (the ``lr`` attribute, for schedules) and damping lambda = 0 by default. On a
quadratic loss 1/2 w^T A w - b^T w one step lands exactly on the minimum A^{-1} b.

The gradient comes from ``loss.backward(create_graph=True)``, which records the backward pass
so the gradient can itself be differentiated: row i of H is the gradient of g_i, one more
backward pass with the one-hot upstream gradient e_i. That is n passes and an n x n matrix,
so Newton's method is only practical for few parameters, and only where the loss is locally
convex (H positive definite); elsewhere it can step towards a saddle point or a maximum.
Damping lambda > 0 makes H + lambda I better conditioned and shortens the step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad, no_grad
from ..errors import InvalidArgumentError, ShapeError
from ..functional import jacobian_rows
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Newton"]

# Above this condition number H + lambda I is singular as far as float64 can tell.
_MAX_CONDITION = 1.0 / np.finfo(np.float64).eps


class Newton(Optimizer):
    """Newton's method with the full Hessian: w <- w - eta (H + lambda I)^{-1} g.

    Args:
        params: Tensors requiring grad, e.g. ``model.parameters()``.
        damping: lambda >= 0 added to the Hessian's diagonal.
        max_params: the largest total number of parameters accepted (the Hessian has
            n^2 entries and costs n backward passes).

    Attributes:
        lr: eta, 1.0: the full Newton step. Schedules and :func:`~tinygrad_edu.train.fit`
            treat it like any optimiser's learning rate.

    Raises:
        InvalidArgumentError: more than ``max_params`` parameters, or an invalid value.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import Newton
        >>> A = np.array([[2.0, 1.0], [1.0, 3.0]]); b = np.array([1.0, 2.0])
        >>> w = Tensor(np.zeros(2), requires_grad=True)
        >>> opt = Newton([w])
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = 0.5 * (w @ (A @ w)) - (b * w).sum()
        ...     loss.backward(create_graph=True)
        ...     return loss
        >>> loss = opt.step(closure)
        >>> np.allclose(w.data, np.linalg.solve(A, b))   # one step to the minimum
        True
    """

    damping: float
    max_params: int
    _n_scratch = 0

    def __init__(
        self, params: Iterable[Tensor], damping: float = 0.0, max_params: int = 1000
    ) -> None:
        super().__init__(params, 1.0, damping=damping, max_params=max_params)
        self._check_size(self.params, "Newton")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One Newton step from the gradients of ``loss.backward(create_graph=True)``.

        Args:
            closure: optional; called first (with gradients recorded). It should zero the
                gradients, compute the loss, call ``loss.backward(create_graph=True)`` and
                return the loss (PyTorch's convention).

        Returns:
            What the closure returned, or None without a closure.

        Afterwards every ``.grad`` holds the plain numpy gradient again, so the recorded
        graphs can be freed. Parameters whose grad is None are left out of the step.

        Raises:
            InvalidArgumentError: a gradient without a graph (backward was called without
                create_graph=True), a singular H + lambda I, too many parameters, or a
                read-only parameter array. The weights and gradients are then unchanged
                (apart from what the closure itself did).
        """
        self._check_lr("step")
        loss = None
        if closure is not None:
            if not callable(closure):
                raise InvalidArgumentError(
                    f"Newton.step: closure must be a function returning the loss; got "
                    f"{type(closure).__name__}"
                )
            with enable_grad():
                loss = closure()
        active = [(i, p) for i, p in enumerate(self.params) if p.grad is not None]
        for i, p in active:
            if not isinstance(p.grad, Tensor):
                raise InvalidArgumentError(
                    f"Newton.step: the gradient of parameter {i} (shape {p.shape}) is a plain "
                    "numpy array, which cannot be differentiated again to get the Hessian. "
                    "Zero the gradients and call loss.backward(create_graph=True) before step()."
                )
            if not p.data.flags.writeable:
                raise InvalidArgumentError(
                    f"Newton.step: parameter {i} (shape {p.shape}) holds a read-only array, "
                    "which cannot be updated in place; give it its own copy first"
                )
            if p.grad.shape != p.shape:
                raise ShapeError(
                    f"Newton.step: the gradient of parameter {i} has shape {p.grad.shape} but "
                    f"the parameter has shape {p.shape}"
                )
        params = [p for _, p in active]
        if params:
            self._check_size(params, "Newton.step")
            self._newton_step(params)
        self.step_count += 1
        return loss

    # ------------------------------------------------------------------ helpers

    def _check_size(self, params: list[Tensor], owner: str) -> None:
        n = sum(p.size for p in params)
        if n > self.max_params:
            raise InvalidArgumentError(
                f"{owner}: the model has {n} parameters but Newton's method is limited to "
                f"max_params={self.max_params}: its Hessian would have {n}^2 = {n * n} entries "
                f"and take {n} backward passes. Use SGD or Adam, or raise max_params."
            )

    def _newton_step(self, params: list[Tensor]) -> None:
        with enable_grad():  # the concatenation must be recorded to be differentiated
            g_cat = Tensor.concatenate([p.grad.reshape(-1) for p in params])
        g = g_cat.data.astype(np.float64)
        H = self._hessian(g_cat, params)  # noqa: N806  (the usual name)
        H[np.diag_indices_from(H)] += self.damping
        d = self._solve(H, g)
        d *= self.lr
        grads = [np.array(p.grad.data, copy=True) for p in params]
        # Every new value first (d is float64; each result is cast back to its parameter's
        # dtype, where it may overflow), checked, and only then written: all or nothing.
        news, offset = [], 0
        for i, p in enumerate(params):
            k = p.size
            with np.errstate(over="ignore"):
                new = (p.data - d[offset : offset + k].reshape(p.shape)).astype(p.dtype)
            if not np.isfinite(new).all():
                raise InvalidArgumentError(
                    f"Newton.step: the step would make parameter {i} (shape {p.shape}) inf or "
                    f"NaN in {p.dtype}; nothing was changed. Use damping > 0 for shorter steps."
                )
            news.append(new)
            offset += k
        with no_grad():
            for p, new in zip(params, news):
                np.copyto(p.data, new)
                p._bump_version()
        # Plain arrays again: nothing keeps the recorded backward graph alive any more.
        for p, grad_value in zip(params, grads):
            p.grad = grad_value

    def _hessian(self, g_cat: Tensor, params: list[Tensor]) -> np.ndarray:
        """H[i] = d g_i / dw, one backward pass per row with the one-hot upstream gradient."""
        return jacobian_rows(g_cat, params, dtype=np.float64)

    def _solve(self, A: np.ndarray, g: np.ndarray) -> np.ndarray:  # noqa: N803
        """d with (H + lambda I) d = g; a singular system is an error, not a huge step."""
        message = (
            f"Newton.step: H + damping * I (damping={self.damping}, {len(g)} parameters) is "
            "singular, so the Newton step is not defined (the loss is flat or not strictly "
            "convex in some direction). Use damping > 0, e.g. Newton(params, damping=1e-3)."
        )
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(g))):
            raise InvalidArgumentError(
                "Newton.step: the gradient or the Hessian has non-finite entries (inf or "
                "NaN); the loss has overflowed at the current weights. Start from other "
                "weights or use a first-order optimiser until the loss is finite and smooth."
            )
        try:
            d = np.linalg.solve(A, g)
        except np.linalg.LinAlgError:
            raise InvalidArgumentError(message) from None
        if not np.all(np.isfinite(d)) or np.linalg.cond(A) > _MAX_CONDITION:
            raise InvalidArgumentError(message)
        return d
