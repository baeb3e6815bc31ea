"""Tests for tinygrad_edu.nn.activations: each module computes its function and derivative."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.nn import HardTanh, LeakyReLU, ReLU, Sigmoid, Softsign, Tanh
from tinygrad_edu.nn.activations import ACTIVATIONS

# Points away from every kink (0 for the ReLUs, +-1 for hard tanh).
Z = np.array([[-3.0, -1.5, -0.6, -0.2], [0.3, 0.7, 1.4, 2.5]])

# (module, f(z), f'(z)) in numpy, as in the notes on activations, their slips corrected.
CASES = [
    (ReLU(), lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    (LeakyReLU(), lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    (LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z), lambda z: np.where(z > 0, 1.0, 0.2)),
    (
        Sigmoid(),
        lambda z: 1 / (1 + np.exp(-z)),
        lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
    ),
    (Tanh(), np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    (HardTanh(), lambda z: np.clip(z, -1, 1), lambda z: ((z >= -1) & (z <= 1)) * 1.0),
    (Softsign(), lambda z: z / (1 + np.abs(z)), lambda z: 1 / (1 + np.abs(z)) ** 2),
]
IDS = ["relu", "leaky_relu", "leaky_relu_0.2", "sigmoid", "tanh", "hardtanh", "softsign"]


@pytest.mark.parametrize("module, f, df", CASES, ids=IDS)
def test_value_and_derivative_match_the_formulas(module, f, df):
    z = Tensor(Z, requires_grad=True)
    out = module(z)
    np.testing.assert_allclose(out.data, f(Z), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(z.grad, df(Z), rtol=1e-12)
    assert gradcheck(module, [Tensor(Z, requires_grad=True)])


@pytest.mark.parametrize("module, f, df", CASES, ids=IDS)
def test_numpy_and_list_inputs_are_accepted(module, f, df):
    np.testing.assert_allclose(module(Z).data, f(Z), rtol=1e-12)
    assert module(Z.tolist()).dtype == np.float32


def test_the_names_mlp_accepts():
    assert ACTIVATIONS == {
        "relu": ReLU,
        "leaky_relu": LeakyReLU,
        "sigmoid": Sigmoid,
        "tanh": Tanh,
        "hardtanh": HardTanh,
        "softsign": Softsign,
    }


def test_activations_have_no_parameters_and_short_reprs():
    for cls in ACTIVATIONS.values():
        module = cls()
        assert module.parameters() == [] and module.num_parameters() == 0
        assert module.state_dict() == {}
    assert repr(Tanh()) == "Tanh()"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(slope=0.2)"


@pytest.mark.parametrize("slope", [float("inf"), float("nan"), "0.1", None, True])
def test_leaky_relu_rejects_a_slope_that_is_not_a_finite_number(slope):
    with pytest.raises(InvalidArgumentError, match="slope"):
        LeakyReLU(slope)
