"""A test file to copy: your own operation, checked by the tinygrad_edu pytest plugin.

Installing tinygrad_edu is enough: pytest finds the plugin by itself, and the ``gradcheck`` and
``gradgradcheck`` fixtures compare backprop with central differences (in float64). When a check
fails, pytest shows the line of your test and the report table instead of a traceback.

    pytest examples/test_my_operation.py -q
"""

import numpy as np
import pytest

from tinygrad_edu import Function, Tensor


class Softplus(Function):
    """z = log(1 + e^x), computed without overflow as max(x, 0) + log1p(e^-|x|).

    VJP: dL/dx = g * sigmoid(x) = g * (1 - e^-z)   (g = dL/dz; e^-z = 1 - sigmoid(x))
    """

    def forward(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, g, out, x):
        # Written with the output and numpy ufuncs only, so that the formula also runs on
        # Tensors in a recorded backward pass: second derivatives work (gradgradcheck).
        return g * (1 - np.exp(-out))


def softplus(x: Tensor) -> Tensor:
    return Softplus.apply(x)


@pytest.fixture
def x():
    # float64, away from nothing in particular: softplus is smooth everywhere.
    return Tensor(np.random.default_rng(0).normal(scale=3.0, size=(4, 3)), requires_grad=True)


def test_softplus_forward_matches_numpy(x):
    np.testing.assert_allclose(softplus(x).data, np.log1p(np.exp(x.data)), rtol=1e-12)


def test_softplus_backward(gradcheck, x):
    gradcheck(softplus, [x])


def test_softplus_second_derivative(gradgradcheck, x):
    gradgradcheck(softplus, [x])


def test_softplus_inside_a_bigger_function(gradcheck, x):
    w = Tensor(np.linspace(-1.0, 1.0, 3), requires_grad=True)
    gradcheck(lambda x, w: (softplus(x * w) ** 2).sum(axis=0), [x, w])
