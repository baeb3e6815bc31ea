"""Activation functions as modules, so they can sit in a Sequential or an MLP.

Each calls the Tensor method of the same name; the derivatives are the engine's (reference
the course's notes on activations, with their slips corrected):

=========  ===============================  ==========================================
module     a = f(z)                          f'(z)
=========  ===============================  ==========================================
ReLU       max(z, 0)                         1 for z > 0, else 0
LeakyReLU  z for z > 0, slope * z otherwise  1 for z > 0, else slope
Sigmoid    1 / (1 + e^-z)                    sigma(z) (1 - sigma(z))
Tanh       tanh(z)                           1 - tanh(z)^2
HardTanh   -1 below -1, z on [-1, 1], 1 above  1 on -1 <= z <= 1, else 0
Softsign   z / (1 + |z|)                     1 / (1 + |z|)^2
=========  ===============================  ==========================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .module import Module, as_input

__all__ = ["ACTIVATIONS", "HardTanh", "LeakyReLU", "ReLU", "Sigmoid", "Softsign", "Tanh"]


class ReLU(Module):
    """a = max(z, 0), elementwise.

    Example:
        >>> from tinygrad_edu.nn import ReLU
        >>> ReLU()([-1.0, 2.0]).tolist()
        [0.0, 2.0]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).relu()

    def config(self) -> dict[str, Any]:
        return {}  # nothing to set: the class alone rebuilds it


class LeakyReLU(Module):
    """a = z for z > 0, slope * z otherwise: a small gradient survives for negative z.

    Args:
        slope: the slope for negative inputs (a finite number, usually small).

    Example:
        >>> from tinygrad_edu.nn import LeakyReLU
        >>> LeakyReLU(0.5)([-2.0, 3.0]).tolist()
        [-1.0, 3.0]
    """

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        if (
            isinstance(slope, bool)
            or not isinstance(slope, (int, float, np.number))
            or not math.isfinite(slope)
        ):
            raise InvalidArgumentError(f"LeakyReLU: slope must be a finite number; got {slope!r}")
        self.slope = float(slope)

    def forward(self, x: Any) -> Tensor:
        return as_input(x).leaky_relu(self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"

    def config(self) -> dict[str, Any]:
        return {"slope": self.slope}


class Sigmoid(Module):
    """a = sigma(z) = 1 / (1 + e^-z), elementwise.

    Example:
        >>> from tinygrad_edu.nn import Sigmoid
        >>> Sigmoid()([0.0]).tolist()
        [0.5]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).sigmoid()

    def config(self) -> dict[str, Any]:
        return {}  # nothing to set: the class alone rebuilds it


class Tanh(Module):
    """a = tanh(z), elementwise.

    Example:
        >>> from tinygrad_edu.nn import Tanh
        >>> Tanh()([0.0]).tolist()
        [0.0]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).tanh()

    def config(self) -> dict[str, Any]:
        return {}  # nothing to set: the class alone rebuilds it


class HardTanh(Module):
    """a = min(max(z, -1), 1), elementwise.

    Example:
        >>> from tinygrad_edu.nn import HardTanh
        >>> HardTanh()([-3.0, 0.5, 3.0]).tolist()
        [-1.0, 0.5, 1.0]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).hardtanh()

    def config(self) -> dict[str, Any]:
        return {}  # nothing to set: the class alone rebuilds it


class Softsign(Module):
    """a = z / (1 + |z|), elementwise.

    Example:
        >>> from tinygrad_edu.nn import Softsign
        >>> Softsign()([1.0, -3.0]).tolist()
        [0.5, -0.75]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).softsign()

    def config(self) -> dict[str, Any]:
        return {}  # nothing to set: the class alone rebuilds it


# The names MLP accepts for its ``activation`` argument.
ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "hardtanh": HardTanh,
    "softsign": Softsign,
}
