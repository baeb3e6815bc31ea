"""AdaGrad: a learning rate per weight that shrinks with the weight's gradient history.

With g = dL/dw, elementwise:

    G <- G + g^2
    w <- w - eta g / (sqrt(G) + eps)

G is the sum of all squared gradients so far (the course's sum over tau of g_tau^2), so a
weight with a scarce gradient history takes larger steps. This is PyTorch's ``Adagrad`` with
its defaults (no lr decay, G starting at 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["AdaGrad"]


class AdaGrad(Optimizer):
    """AdaGrad: w <- w - eta g / (sqrt(G) + eps) with G the running sum of g^2.

    Args:
        params: Tensors requiring grad, e.g. ``model.parameters()``.
        lr: the learning rate eta > 0.
        eps: a small number > 0 added to sqrt(G) so the first steps cannot divide by zero.

    The state ``"sum_sq"`` is G, one array per parameter.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import AdaGrad
        >>> w = Tensor([1.0, 1.0], requires_grad=True)
        >>> opt = AdaGrad([w], lr=0.1)
        >>> (w * Tensor([3.0, -0.5])).sum().backward()
        >>> opt.step()                       # each weight moves by eta, against its gradient
        >>> [round(x, 6) for x in w.tolist()]
        [0.9, 1.1]
    """

    eps: float
    _state_names = ("sum_sq",)
    _nonnegative_state = ("sum_sq",)

    def __init__(self, params: Iterable[Tensor], lr: float, eps: float = 1e-8) -> None:
        super().__init__(params, lr, eps=eps)

    def _state_spec(self, hyper: dict[str, Any]) -> dict[str, str]:
        return {"sum_sq": "param"}

    def _update(
        self,
        w: np.ndarray,
        g: np.ndarray,
        state: dict[str, np.ndarray],
        scratch: list[np.ndarray],
        out: np.ndarray,
    ) -> None:
        buf = scratch[0]
        G = state["sum_sq"]  # noqa: N806  (the course's name)
        np.multiply(g, g, out=buf)
        G += buf
        np.sqrt(G, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)  # g / (sqrt(G) + eps)
        buf *= self.lr
        np.subtract(w, buf, out=out)
