"""Tests for tinygrad_edu.gradcheck: central differences, gradcheck and gradgradcheck.

The deliberately wrong gradients are tiny custom Functions, so each test states exactly which
mistake gradcheck has to catch.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu import Tensor
from tinygrad_edu.autograd import Function
from tinygrad_edu.errors import GradcheckError, ShapeError
from tinygrad_edu.gradcheck import (
    GradcheckReport,
    GradcheckWarning,
    check_gradients,
    gradcheck,
    gradgradcheck,
    numerical_gradient,
)


def t64(values, name=None, requires_grad=True):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad, name=name)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- custom Functions


class SquareWrongBackward(Function):
    """z = x^2 with the classic mistake dL/dx = g * x (the factor 2 forgotten)."""

    def forward(self, x):
        return x * x

    def backward(self, g, out, x):
        return g * x


class MatmulTransposedG(Function):
    """z = x @ y for square outputs, with g transposed in the VJP: g^T @ y^T and x^T @ g^T.

    Right whenever g is symmetric, in particular for the all-ones g of ``f(...).sum()``.
    """

    def forward(self, x, y):
        return x @ y

    def backward(self, g, out, x, y):
        return g.T @ y.T, x.T @ g.T


class ReluHalfSlope(Function):
    """relu with dL/dx = g/2 for x > 0 (wrong) and 0 at and below 0."""

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        mask = np.asarray(x.data if isinstance(x, Tensor) else x) > 0
        return g * mask * 0.5


class CubeUnrecordedBackward(Function):
    """z = x^3 with dL/dx = 3 g x^2 computed from x's plain numpy value.

    Right to first order, but with create_graph=True the dependence of the gradient on x is not
    recorded, so its derivative (the second derivative of z) comes out as zero.
    """

    def forward(self, x):
        return x**3

    def backward(self, g, out, x):
        x_value = np.asarray(x.data if isinstance(x, Tensor) else x)
        return g * 3 * x_value**2


# ----------------------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_of_square_is_two_x():
    x = np.array([1.0, -3.0, 0.25, 2.5])
    [g] = numerical_gradient(lambda x: (x**2).sum(), [x])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_of_a_product_of_two_inputs():
    x = randn(2, 3, seed=1)
    y = randn(2, 3, seed=2)
    gx, gy = numerical_gradient(lambda x, y: (x * y).sum(), [t64(x), t64(y)])
    np.testing.assert_allclose(gx, y, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gy, x, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_leaves_inputs_unchanged():
    x = np.array([1.0, -3.0, 0.25])
    xt = t64([0.5, 1.5])
    numerical_gradient(lambda a, b: (a**2).sum() + (b**3).sum(), [x, xt])
    np.testing.assert_array_equal(x, [1.0, -3.0, 0.25])
    np.testing.assert_array_equal(xt.data, [0.5, 1.5])


def test_numerical_gradient_with_grad_output_is_a_vector_jacobian_product():
    x = randn(4, seed=3)
    y = randn(4, seed=4)
    v = randn(4, seed=5)
    gx, gy = numerical_gradient(lambda x, y: x * y, [x, y], grad_output=v)
    np.testing.assert_allclose(gx, v * y, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gy, v * x, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_with_grad_output_of_a_matrix_function():
    a = randn(2, 3, seed=6)
    x = randn(3, 4, seed=7)
    v = randn(2, 4, seed=8)
    [gx] = numerical_gradient(lambda x: Tensor(a) @ x, [t64(x)], grad_output=v)
    np.testing.assert_allclose(gx, a.T @ v, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_accepts_a_single_array():
    x = np.array([2.0, -1.0])
    grads = numerical_gradient(lambda x: (x**3).sum(), x)
    assert isinstance(grads, list) and len(grads) == 1
    np.testing.assert_allclose(grads[0], 3 * x**2, rtol=1e-7)


def test_numerical_gradient_of_a_non_float_input_is_none():
    x = np.array([1.0, 2.0, 3.0])
    idx = np.array([0, 2, 2])
    gx, gidx = numerical_gradient(lambda x, idx: (x[idx] ** 2).sum(), [x, idx])
    assert gidx is None
    np.testing.assert_allclose(gx, [2.0, 0.0, 12.0], rtol=1e-7, atol=1e-8)


def test_numerical_gradient_of_non_scalar_f_needs_grad_output():
    x = np.zeros((3, 2))
    with pytest.raises(ShapeError, match=re.escape("(3, 2)")):
        numerical_gradient(lambda x: x * 2, [x])


# ----------------------------------------------------------------------------- gradcheck passes


@pytest.mark.parametrize(
    "f, inputs",
    [
        (lambda x: x.log(), [t64(np.abs(randn(3, 2, seed=10)) + 0.5)]),
        (lambda x: x.exp(), [t64(randn(4, seed=11))]),
        (lambda x, y: x @ y, [t64(randn(2, 3, seed=12)), t64(randn(3, 4, seed=13))]),
        (lambda x: x.softmax(axis=-1), [t64(randn(3, 4, seed=14))]),
        (lambda x: x.softmax(axis=0), [t64(randn(3, 4, seed=15))]),
        (lambda a, b: a + b, [t64(randn(3, 1, seed=16)), t64(randn(4, seed=17))]),
        (lambda a, b: (a * b).sum(axis=0), [t64(randn(2, 3, seed=18)), t64(randn(3, seed=19))]),
    ],
    ids=["log", "exp", "matmul", "softmax", "softmax-axis0", "broadcast-add", "broadcast-mul-sum"],
)
def test_gradcheck_passes_for_correct_operations(f, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no kinks, no float32: nothing to warn about
        assert gradcheck(f, inputs) is True


def test_gradcheck_checks_only_inputs_that_require_grad():
    x = t64(randn(3, seed=20))
    c = t64(randn(3, seed=21), requires_grad=False)
    report = check_gradients(lambda x, c: x * c, [x, c])
    assert [check.index for check in report.inputs] == [0]
    assert report.ok


def test_gradcheck_accepts_non_tensor_arguments():
    x = t64(randn(3, seed=22))
    idx = np.array([2, 0, 2])
    assert gradcheck(lambda x, idx: x[idx] * x[idx], [x, idx]) is True


# ----------------------------------------------------------------------------- gradcheck fails


def test_gradcheck_report_names_input_worst_element_and_values():
    a = t64([1.0, 2.0], name="a")
    w = t64([0.5, -3.0, 1.0], name="w")

    def f(a, w):
        return a.sum() + SquareWrongBackward.apply(w).sum()

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [a, w])
    msg = str(info.value)
    assert "input 1" in msg and "'w'" in msg
    assert "worst element (1,)" in msg  # |error| = |g * w_j| is largest where |w_j| = 3
    assert "analytic" in msg and "numerical" in msg and "error" in msg
    assert "input 0" not in msg  # the correct input is not blamed
    found = re.search(r"analytic (\S+) vs numerical (\S+), error (\S+)", msg)
    assert found is not None
    analytic, numerical, error = (float(s) for s in found.groups())
    np.testing.assert_allclose(numerical, 2 * analytic, rtol=1e-6)  # g*x against 2*g*x
    np.testing.assert_allclose(error, abs(analytic - numerical), rtol=1e-2)


def test_gradcheck_report_holds_both_gradients():
    w = t64([0.5, -3.0, 1.0], name="w")
    report = check_gradients(lambda w: SquareWrongBackward.apply(w), [w])
    assert not report.ok
    [check] = report.inputs
    assert check.name == "w" and check.shape == (3,)
    np.testing.assert_allclose(check.numerical, 2 * check.analytic, rtol=1e-6)
    assert sorted(check.failures) == [(0,), (1,), (2,)]
    assert check.kinks == []


def test_gradcheck_raise_exception_false_returns_a_false_report():
    w = t64([0.5, -3.0, 1.0])
    report = gradcheck(lambda w: SquareWrongBackward.apply(w), [w], raise_exception=False)
    assert isinstance(report, GradcheckReport) and not report and not report.ok


def test_transposed_matmul_vjp_passes_with_ones_but_fails_with_random_upstream_gradient():
    x = t64(randn(3, 4, seed=30))
    y = t64(randn(4, 3, seed=31))
    # The bug is invisible when the upstream gradient is all ones (symmetric) ...
    assert gradcheck(lambda x, y: MatmulTransposedG.apply(x, y).sum(), [x, y]) is True
    # ... and caught by gradcheck's random upstream gradient.
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda x, y: MatmulTransposedG.apply(x, y), [x, y])
    report = check_gradients(lambda x, y: MatmulTransposedG.apply(x, y), [x, y])
    assert all(check.failures for check in report.inputs)


def test_no_input_requiring_grad_raises_value_error():
    x = t64([1.0, 2.0], requires_grad=False)
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda x: x * x, [x])
    with pytest.raises(ValueError, match="requires_grad"):
        gradgradcheck(lambda x: x * x, [x])


# ----------------------------------------------------------------------------- float32 and seeds


def test_float32_inputs_warn_and_are_checked_in_float64():
    x = Tensor(np.array([0.3, 1.7, -0.8], dtype=np.float32), requires_grad=True, name="x")
    with pytest.warns(GradcheckWarning, match="float32"):
        # with eps=1e-6, float32 central differences would be off by ~10%: passing means float64
        assert gradcheck(lambda x: x.tanh() * x, [x]) is True
    with pytest.warns(GradcheckWarning, match="float32"):
        report = check_gradients(lambda x: x.tanh() * x, [x])
    assert report.inputs[0].analytic.dtype == np.float64
    assert report.ok
    assert x.dtype == np.float32  # the caller's tensor is left as it was
    assert x.grad is None


def test_the_seed_changes_the_upstream_gradient():
    x = t64(randn(5, seed=40))
    y = t64(randn(5, seed=41))
    r0 = check_gradients(lambda x, y: x * y, [x, y], seed=0)
    r1 = check_gradients(lambda x, y: x * y, [x, y], seed=1)
    assert r0.ok and r1.ok
    # analytic dF/dx = v * y with F = sum(v * x * y): a different v gives a different gradient
    assert not np.allclose(r0.inputs[0].analytic, r1.inputs[0].analytic)
    v0 = r0.inputs[0].analytic / y.data
    v1 = r1.inputs[0].analytic / y.data
    np.testing.assert_allclose(r0.inputs[1].analytic, v0 * x.data, rtol=1e-10)
    np.testing.assert_allclose(r1.inputs[1].analytic, v1 * x.data, rtol=1e-10)
    assert gradcheck(lambda x, y: x * y, [x, y], seed=0) is True
    assert gradcheck(lambda x, y: x * y, [x, y], seed=1) is True


def test_the_same_seed_gives_the_same_report():
    x = t64(randn(4, seed=42))
    r0 = check_gradients(lambda x: x.sigmoid(), [x], seed=7)
    r1 = check_gradients(lambda x: x.sigmoid(), [x], seed=7)
    np.testing.assert_array_equal(r0.inputs[0].analytic, r1.inputs[0].analytic)


# ----------------------------------------------------------------------------- kinks


def test_relu_at_zero_is_a_kink_warning_not_a_failure():
    x = t64([-1.0, 0.0, 2.0], name="x")
    with pytest.warns(GradcheckWarning, match="kink"):
        assert gradcheck(lambda x: x.relu(), [x]) is True
    report = check_gradients(lambda x: x.relu(), [x])
    assert report.ok
    assert report.inputs[0].kinks == [(1,)]
    assert report.inputs[0].failures == []


def test_maximum_with_a_two_way_tie_passes():
    a = t64([1.0, 2.0, -0.5])
    b = t64([1.0, 3.0, -1.5])
    # The tie at index 0 shares the gradient equally, which is exactly the central difference.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        assert gradcheck(lambda a, b: Tensor.maximum(a, b), [a, b]) is True
    report = check_gradients(lambda a, b: Tensor.maximum(a, b).sum(), [a, b])
    assert report.ok
    np.testing.assert_allclose(
        report.inputs[0].analytic / report.inputs[0].analytic[2], [0.5, 0, 1]
    )
    np.testing.assert_allclose(
        report.inputs[1].analytic / report.inputs[1].analytic[1], [0.5, 1, 0]
    )


def test_maximum_with_a_three_way_tie_is_a_kink_warning_not_a_failure():
    # maximum(maximum(a, b), c) with a == b == c gives a and b a quarter of the gradient each: a
    # valid subgradient, but not the central difference (a half), so the kink is reported.
    a = t64([1.0, 2.0], name="a")
    b = t64([1.0, 0.0], name="b")
    c = t64([1.0, -1.0], name="c")

    def f(a, b, c):
        return Tensor.maximum(Tensor.maximum(a, b), c)

    with pytest.warns(GradcheckWarning, match="kink"):
        assert gradcheck(f, [a, b, c]) is True
    report = check_gradients(f, [a, b, c])
    assert report.ok
    assert report.inputs[0].kinks == [(0,)]
    assert report.inputs[1].kinks == [(0,)]
    assert report.inputs[2].kinks == []


def test_a_wrong_gradient_away_from_the_kink_still_fails():
    x = t64([-1.0, 0.0, 2.0], name="x")
    with pytest.raises(GradcheckError, match=r"worst element \(2,\)"):
        gradcheck(lambda x: ReluHalfSlope.apply(x), [x])
    report = check_gradients(lambda x: ReluHalfSlope.apply(x), [x])
    assert report.inputs[0].failures == [(2,)]
    assert report.inputs[0].kinks == [(1,)]


def test_a_gradient_outside_the_subgradient_interval_at_a_kink_fails():
    class ReluNegativeAtZero(Function):
        def forward(self, x):
            return np.maximum(x, 0)

        def backward(self, g, out, x):
            x_value = np.asarray(x.data if isinstance(x, Tensor) else x)
            return g * np.where(x_value > 0, 1.0, np.where(x_value == 0, -1.0, 0.0))

    x = t64([-1.0, 0.0, 2.0])
    report = check_gradients(lambda x: ReluNegativeAtZero.apply(x).sum(), [x])
    assert report.inputs[0].failures == [(1,)]
    assert report.inputs[0].kinks == []


# ----------------------------------------------------------------------------- gradgradcheck


@pytest.mark.parametrize(
    "f, inputs",
    [
        (lambda x: x.tanh(), [t64(randn(4, seed=50))]),
        (lambda x: x.sigmoid(), [t64(randn(2, 3, seed=51))]),
        (lambda x, y: x * y, [t64(randn(3, seed=52)), t64(randn(3, seed=53))]),
        (lambda x: x.softmax(axis=-1), [t64(randn(2, 4, seed=54))]),
        (lambda x: x.log_softmax(axis=-1), [t64(randn(2, 4, seed=55))]),
        (lambda x, y: x @ y, [t64(randn(2, 3, seed=56)), t64(randn(3, 2, seed=57))]),
        (lambda x, y: x**y, [t64(np.abs(randn(3, seed=58)) + 0.5), t64(randn(3, seed=59))]),
    ],
    ids=["tanh", "sigmoid", "mul", "softmax", "log_softmax", "matmul", "pow-tensor-exponent"],
)
def test_gradgradcheck_passes_for_correct_operations(f, inputs):
    assert gradgradcheck(f, inputs) is True


def test_gradgradcheck_catches_a_backward_that_is_not_recorded():
    x = t64([0.5, -1.2, 2.0], name="x")
    # First derivatives are right ...
    assert gradcheck(lambda x: CubeUnrecordedBackward.apply(x), [x]) is True
    # ... but differentiating the backward pass misses d(3 x^2)/dx = 6 x.
    with pytest.raises(GradcheckError, match=r"input 0 \('x'\)"):
        gradgradcheck(lambda x: CubeUnrecordedBackward.apply(x), [x])
    report = gradgradcheck(lambda x: CubeUnrecordedBackward.apply(x), [x], raise_exception=False)
    assert isinstance(report, GradcheckReport) and not report
    np.testing.assert_allclose(report.inputs[0].analytic, 0.0)  # the missing 6 x is visible
    # The correct spelling of the same function passes.
    assert gradgradcheck(lambda x: x**3, [x]) is True


# ----------------------------------------------------------------------------- property


def _composite(x, y):
    return ((x.tanh() * y).exp() + (x * x + 1.0).log() / (y.sigmoid() + 0.5)).sum(axis=0)


@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4),
)
def test_gradcheck_passes_for_a_composite_function_on_random_inputs(data, shape):
    elements = st.floats(-2.0, 2.0, allow_nan=False, width=64)
    x = data.draw(hnp.arrays(np.float64, shape, elements=elements), label="x")
    y = data.draw(hnp.arrays(np.float64, shape[-1:], elements=elements), label="y")
    assert gradcheck(_composite, [t64(x), t64(y)]) is True


def test_inputs_reached_through_a_closure_are_perturbed_in_place():
    """A module's weight passed as an input but used through the module is still checked."""
    w = t64([[1.0, -2.0]], name="w")
    x = Tensor(np.array([[0.5], [3.0]]))

    def right(_):
        return (w @ x).tanh()

    def wrong(_):
        return (w.detach() @ x).tanh() + w.sum() * 0.0  # w's gradient is cut on purpose

    before = w.data.copy()
    assert gradcheck(right, [w])
    assert not gradcheck(wrong, [w], raise_exception=False)
    np.testing.assert_array_equal(w.data, before)  # restored exactly


def test_an_infinite_gradient_fails_instead_of_comparing_as_nan():
    """sqrt at 0: backprop gives inf, central differences NaN; NaN > tol is False, so a
    naive comparison would pass."""
    x = t64([0.0, 1.0], name="x")
    with pytest.raises(GradcheckError, match=r"not finite at element \(0,\): analytic inf"):
        gradcheck(lambda x: x.sqrt(), [x])
