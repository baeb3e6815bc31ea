"""Neural-network building blocks: Module, layers, activations and weight initialisation.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.nn import MLP
    >>> model = MLP([2, 16, 1], activation="tanh", rng=0)
    >>> print(model)
    MLP(
      (layers): Sequential(
        (0): Linear(in_features=2, out_features=16, bias=True)
        (1): Tanh()
        (2): Linear(in_features=16, out_features=1, bias=True)
      )
    )
    Trainable parameters: 65
    >>> model(np.zeros((4, 2))).shape
    (4, 1)
"""

from . import init
from .activations import HardTanh, LeakyReLU, ReLU, Sigmoid, Softsign, Tanh
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .layers import MLP, BatchNorm1d, Dropout, Linear, Sequential
from .module import IncompatibleKeys, Module

__all__ = [
    "MLP",
    "AvgPool2d",
    "BatchNorm1d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "HardTanh",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softsign",
    "Tanh",
    "init",
]
