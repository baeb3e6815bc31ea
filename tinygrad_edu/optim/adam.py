"""Adam: momentum on the gradient, RMSProp on its square, both corrected for their zero start.

With g = dL/dw (plus ``weight_decay * w``), step number t = 1, 2, ... and elementwise
operations:

    m <- beta1 m + (1 - beta1) g          (a moving average of gradients)
    v <- beta2 v + (1 - beta2) g^2        (a moving average of squared gradients)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
    w <- w - eta m_hat / (sqrt(v_hat) + eps)

m and v start at 0, so early averages are too small; dividing by 1 - beta^t removes that
bias. On the first step m_hat = g and v_hat = g^2, so every weight moves by about eta against
the sign of its gradient. This is PyTorch's ``Adam`` (weight decay as L2 added to the gradient,
not AdamW's decoupled form).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam with bias correction: w <- w - eta m_hat / (sqrt(v_hat) + eps).

    Args:
        params: Tensors requiring grad, e.g. ``model.parameters()``.
        lr: the learning rate eta > 0.
        betas: (beta1, beta2), each in [0, 1): the decay rates of m and v.
        eps: a small number > 0 added to sqrt(v_hat).
        weight_decay: lambda' >= 0 added as ``lambda' * w`` to every gradient.

    The state per parameter is ``"m"``, ``"v"`` and ``"step"``, that parameter's t (as in
    PyTorch, a parameter skipped because its grad was None does not advance its t).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import Adam
        >>> w = Tensor([1.0, 1.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w * Tensor([30.0, -0.02])).sum().backward()
        >>> opt.step()                       # ~eta against the sign of each gradient
        >>> [round(x, 6) for x in w.tolist()]
        [0.9, 1.1]
    """

    betas: tuple[float, float]
    eps: float
    weight_decay: float
    _n_scratch = 2
    _state_names = ("m", "v", "step")
    _nonnegative_state = ("v",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _state_spec(self, hyper: dict[str, Any]) -> dict[str, str]:
        return {"m": "param", "v": "param", "step": "count"}

    def _update(
        self,
        w: np.ndarray,
        g: np.ndarray,
        state: dict[str, np.ndarray],
        scratch: list[np.ndarray],
        out: np.ndarray,
    ) -> None:
        buf, tmp = scratch
        beta1, beta2 = self.betas
        m, v, step = state["m"], state["v"], state["step"]
        step += 1
        t = int(step)
        if self.weight_decay:
            np.multiply(w, self.weight_decay, out=buf)
            np.add(buf, g, out=buf)
            g = buf
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=tmp)
        m += tmp  # m = beta1 m + (1 - beta1) g
        v *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta2
        v += tmp  # v = beta2 v + (1 - beta2) g^2
        # g is no longer needed, so buf is free again.
        np.divide(v, 1.0 - beta2**t, out=tmp)  # v_hat
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, 1.0 - beta1**t, out=buf)  # m_hat
        np.divide(buf, tmp, out=buf)
        buf *= self.lr
        np.subtract(w, buf, out=out)
