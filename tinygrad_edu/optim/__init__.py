"""Optimisers: rules that move the parameters against their gradients, and learning-rate schedules.

Every optimiser takes the parameters (``model.parameters()`` or a list of Tensors requiring
grad), has ``zero_grad()``, ``step()``, a public ``lr`` and ``state_dict()`` /
``load_state_dict()``, and updates ``p.data`` in place.

* :class:`SGD`: w <- w - eta g, with momentum p <- mu p - eta g; w <- w + p, Nesterov, and
  weight decay (L2).
* :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`: per-weight rates from gradient history.
* :class:`Newton`: w <- w - (H + lambda I)^{-1} g with the full Hessian, for few parameters.
* :mod:`tinygrad_edu.optim.schedules`: StepDecay, ExponentialDecay, InverseTimeDecay,
  QuadraticDecay, DelayedInverseDecay, LambdaSchedule.

Example:
    >>> from tinygrad_edu import Tensor
    >>> from tinygrad_edu.optim import SGD
    >>> w = Tensor([4.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.25)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()          # dL/dw = 2w: each step halves w
    ...     opt.step()
    >>> w.tolist()
    [0.5]
"""

from . import schedules
from .adagrad import AdaGrad
from .adam import Adam
from .newton import Newton
from .optimizer import Optimizer
from .rmsprop import RMSProp
from .schedules import (
    DelayedInverseDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LambdaSchedule,
    QuadraticDecay,
    Schedule,
    StepDecay,
)
from .sgd import SGD

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "DelayedInverseDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LambdaSchedule",
    "Newton",
    "Optimizer",
    "QuadraticDecay",
    "RMSProp",
    "Schedule",
    "StepDecay",
    "schedules",
]
