"""RMSProp: AdaGrad with a moving average of squared gradients instead of a sum.

With g = dL/dw and decay rate rho (PyTorch's ``alpha``), elementwise:

    s <- rho s + (1 - rho) g^2
    w <- w - eta g / (sqrt(s) + eps)

Old gradients fade, so unlike AdaGrad the steps do not become monotonically smaller. This is
PyTorch's ``RMSprop`` with ``alpha=decay`` and its defaults (s starting at 0, no momentum).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["RMSProp"]


class RMSProp(Optimizer):
    """RMSProp: w <- w - eta g / (sqrt(s) + eps) with s a moving average of g^2.

    Args:
        params: Tensors requiring grad, e.g. ``model.parameters()``.
        lr: the learning rate eta > 0.
        decay: rho in [0, 1), how much of the old average s is kept each step.
        eps: a small number > 0 added to sqrt(s).

    The state ``"square_avg"`` is s, one array per parameter.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import RMSProp
        >>> w = Tensor([1.0], requires_grad=True)
        >>> opt = RMSProp([w], lr=0.01, decay=0.75)
        >>> (w * 2.0).sum().backward()       # g = 2: s = 0.25 * 4 = 1, step = 0.01 * 2 / 1
        >>> opt.step()
        >>> [round(x, 6) for x in w.tolist()]
        [0.98]
    """

    decay: float
    eps: float
    _state_names = ("square_avg",)
    _nonnegative_state = ("square_avg",)

    def __init__(
        self, params: Iterable[Tensor], lr: float, decay: float = 0.9, eps: float = 1e-8
    ) -> None:
        super().__init__(params, lr, decay=decay, eps=eps)

    def _state_spec(self, hyper: dict[str, Any]) -> dict[str, str]:
        return {"square_avg": "param"}

    def _update(
        self,
        w: np.ndarray,
        g: np.ndarray,
        state: dict[str, np.ndarray],
        scratch: list[np.ndarray],
        out: np.ndarray,
    ) -> None:
        buf = scratch[0]
        s = state["square_avg"]
        s *= self.decay
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.decay
        s += buf  # s = rho s + (1 - rho) g^2
        np.sqrt(s, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)
        buf *= self.lr
        np.subtract(w, buf, out=out)
