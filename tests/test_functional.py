"""Tests for tinygrad_edu.functional: grad, value_and_grad, jacobian, hessian and hvp.

Every result is compared with a derivative worked out by hand, in float64.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_edu import Tensor, no_grad
from tinygrad_edu.errors import ShapeError
from tinygrad_edu.functional import grad, hessian, hvp, jacobian, jacobian_rows, value_and_grad


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def t64(values, requires_grad=False):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def cube_sum(x):
    return (x**3).sum()


def central_gradient(f, x, eps=1e-6):
    """Central differences of a numpy function of a float64 array (test-only reference)."""
    out = np.zeros_like(x)
    flat, g = x.reshape(-1), out.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        plus = f(x)
        flat[j] = old - eps
        minus = f(x)
        flat[j] = old
        g[j] = (plus - minus) / (2 * eps)
    return out


# ----------------------------------------------------------------------------- grad


def test_grad_of_cube_sum():
    x = np.array([1.0, -2.0, 0.5])
    g = grad(cube_sum)(x)
    assert isinstance(g, np.ndarray) and not isinstance(g, Tensor)
    assert g.shape == (3,) and g.dtype == np.float64
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-12)


def test_grad_with_argnums():
    x, y = randn(3, seed=1), randn(3, seed=2)

    def f(x, y):
        return (x * x * y).sum()

    np.testing.assert_allclose(grad(f)(x, y), 2 * x * y, rtol=1e-12)
    np.testing.assert_allclose(grad(f, argnums=1)(x, y), x * x, rtol=1e-12)
    gx, gy = grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * x * y, rtol=1e-12)
    np.testing.assert_allclose(gy, x * x, rtol=1e-12)


def test_grad_of_a_function_that_ignores_its_argument_is_zero():
    x = randn(2, 3, seed=3)
    y = randn(2, 3, seed=4)
    g = grad(lambda x, y: (y * y).sum(), argnums=0)(x, t64(y))
    np.testing.assert_array_equal(g, np.zeros((2, 3)))


# ----------------------------------------------------------------------------- value_and_grad


def test_value_and_grad_int_argnums():
    x = np.array([1.0, 2.0, -3.0])
    value, g = value_and_grad(cube_sum)(x)
    assert value == pytest.approx(1.0 + 8.0 - 27.0, abs=1e-12)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-12)


def test_value_and_grad_tuple_argnums():
    x = np.array([1.0, 2.0])
    y = np.array([3.0, 4.0])
    value, grads = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, y)
    assert value == pytest.approx(11.0, abs=1e-12)
    assert isinstance(grads, tuple) and len(grads) == 2
    assert all(isinstance(g, np.ndarray) and not isinstance(g, Tensor) for g in grads)
    np.testing.assert_allclose(grads[0], y, rtol=1e-12)
    np.testing.assert_allclose(grads[1], x, rtol=1e-12)


def test_value_and_grad_tuple_with_one_entry_gives_a_tuple():
    x = np.array([1.0, 2.0])
    _, grads = value_and_grad(cube_sum, argnums=(0,))(x)
    assert isinstance(grads, tuple) and len(grads) == 1
    np.testing.assert_allclose(grads[0], 3 * x**2, rtol=1e-12)


def test_value_and_grad_accepts_tensors_and_returns_numpy_arrays():
    w = randn(3, seed=5)
    x = randn(3, seed=6)
    value, (gw, gx) = value_and_grad(lambda w, x: (w * x).sum().tanh(), argnums=(0, 1))(
        t64(w, requires_grad=True), t64(x)
    )
    s = np.dot(w, x)
    assert value == pytest.approx(np.tanh(s), abs=1e-12)
    assert type(gw) is np.ndarray and type(gx) is np.ndarray
    np.testing.assert_allclose(gw, (1 - np.tanh(s) ** 2) * x, rtol=1e-10)
    np.testing.assert_allclose(gx, (1 - np.tanh(s) ** 2) * w, rtol=1e-10)


def test_value_and_grad_leaves_the_callers_tensors_untouched():
    x = t64([1.0, -2.0, 3.0], requires_grad=True)
    y = t64([0.5, 0.5, 2.0], requires_grad=True)
    y.grad = np.array([10.0, 20.0, 30.0])
    value, (gx, gy) = value_and_grad(lambda x, y: (x * y * x).sum(), argnums=(0, 1))(x, y)
    assert value == pytest.approx(0.5 + 2.0 + 18.0, abs=1e-12)
    np.testing.assert_allclose(gx, 2 * x.data * y.data, rtol=1e-12)
    np.testing.assert_allclose(gy, x.data**2, rtol=1e-12)
    assert x.grad is None
    np.testing.assert_array_equal(y.grad, [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(x.data, [1.0, -2.0, 3.0])
    assert x.is_leaf and y.is_leaf


def test_value_and_grad_works_inside_no_grad():
    x = np.array([1.0, -2.0])
    with no_grad():
        value, g = value_and_grad(cube_sum)(x)
        h = hessian(cube_sum, x)
    assert value == pytest.approx(-7.0, abs=1e-12)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-12)
    np.testing.assert_allclose(h, np.diag(6 * x), rtol=1e-12)


def test_value_and_grad_passes_keyword_arguments_through():
    x = np.array([1.0, 2.0])
    value, g = value_and_grad(lambda x, scale: (scale * x * x).sum())(x, scale=3.0)
    assert value == pytest.approx(15.0, abs=1e-12)
    np.testing.assert_allclose(g, 6 * x, rtol=1e-12)


# ----------------------------------------------------------------------------- jacobian


def test_jacobian_shape_is_output_shape_plus_input_shape():
    x = randn(2, 3, seed=7)
    jac = jacobian(lambda x: x.sum(axis=0), x)
    assert jac.shape == (3, 2, 3)
    expected = np.zeros((3, 2, 3))
    for j in range(3):
        expected[j, :, j] = 1.0
    np.testing.assert_array_equal(jac, expected)


def test_jacobian_of_elementwise_square_is_diagonal():
    x = np.array([1.0, -2.0, 0.5])
    jac = jacobian(lambda x: x * x, x)
    assert isinstance(jac, np.ndarray)
    np.testing.assert_allclose(jac, np.diag(2 * x), rtol=1e-12, atol=0)


def test_jacobian_of_matrix_vector_product_is_the_matrix():
    a = randn(4, 3, seed=8)
    x = randn(3, seed=9)
    jac = jacobian(lambda x: Tensor(a) @ x, x)
    assert jac.shape == (4, 3)
    np.testing.assert_allclose(jac, a, rtol=1e-12, atol=1e-15)


def test_jacobian_of_softmax():
    x = randn(5, seed=10)
    s = np.exp(x - x.max())
    s /= s.sum()
    jac = jacobian(lambda x: x.softmax(), t64(x))
    np.testing.assert_allclose(jac, np.diag(s) - np.outer(s, s), rtol=1e-10, atol=1e-14)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x = randn(2, 2, seed=11)
    jac = jacobian(cube_sum, x)
    assert jac.shape == (2, 2)
    np.testing.assert_allclose(jac, 3 * x**2, rtol=1e-12)


# ----------------------------------------------------------------------------- hessian


def test_hessian_of_a_quadratic_is_its_matrix():
    m = randn(4, 4, seed=12)
    a = m + m.T
    b = randn(4, seed=13)
    x = randn(4, seed=14)
    h = hessian(lambda x: 0.5 * (x @ (Tensor(a) @ x)) + (Tensor(b) * x).sum(), x)
    assert h.shape == (4, 4)
    np.testing.assert_allclose(h, a, rtol=1e-12, atol=1e-14)


def test_hessian_of_squared_product():
    f = lambda w: (w[0] * w[1]) ** 2  # noqa: E731
    np.testing.assert_allclose(hessian(f, np.array([1.0, 2.0])), [[8.0, 8.0], [8.0, 2.0]])
    w0, w1 = 0.7, -1.3
    expected = [[2 * w1**2, 4 * w0 * w1], [4 * w0 * w1, 2 * w0**2]]
    np.testing.assert_allclose(hessian(f, t64([w0, w1])), expected, rtol=1e-12)


def test_hessian_of_a_matrix_input_has_shape_s_plus_s():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    h = hessian(lambda x: (x**3).sum() + x[0, 0] * x[1, 1], x)
    assert h.shape == (2, 2, 2, 2)
    expected = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            expected[i, j, i, j] = 6 * x[i, j]
    expected[0, 0, 1, 1] = expected[1, 1, 0, 0] = 1.0
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=0)


def _smooth(x):
    m = Tensor(randn(3, 4, seed=15))
    return ((m @ x).tanh() * (m @ x.exp())).sum() + (x * x).sum().sqrt()


def test_hessian_of_a_smooth_function_is_symmetric_and_matches_differences_of_the_gradient():
    x = randn(4, seed=16)
    h = hessian(_smooth, x)
    assert h.shape == (4, 4)
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-12)
    grad_f = grad(_smooth)
    numerical = np.stack(
        [central_gradient(lambda y, i=i: grad_f(y)[i], x.copy()) for i in range(4)]
    )
    np.testing.assert_allclose(h, numerical, rtol=1e-5, atol=1e-6)


def test_hessian_of_a_linear_function_is_zero():
    c = randn(2, 3, seed=17)
    x = randn(2, 3, seed=18)
    h = hessian(lambda x: (Tensor(c) * x).sum() + 4.0, x)
    assert h.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(h, np.zeros((2, 3, 2, 3)))
    np.testing.assert_array_equal(hessian(lambda x: x.sum(), x), np.zeros((2, 3, 2, 3)))


# ----------------------------------------------------------------------------- hvp


def test_hvp_equals_hessian_times_v():
    x = randn(4, seed=19)
    v = randn(4, seed=20)
    hv = hvp(_smooth, x, v)
    assert isinstance(hv, np.ndarray) and hv.shape == (4,)
    np.testing.assert_allclose(hv, hessian(_smooth, x) @ v, rtol=1e-10, atol=1e-12)


def test_hvp_of_a_matrix_input():
    x = randn(2, 3, seed=21)
    v = randn(2, 3, seed=22)

    def f(x):
        return (x.exp() * x).sum() + (x[0] * x[1]).sum()

    h = hessian(f, x)
    np.testing.assert_allclose(hvp(f, t64(x), t64(v)), np.tensordot(h, v, axes=2), rtol=1e-10)


def test_hvp_of_a_quadratic_is_a_times_v():
    m = randn(3, 3, seed=23)
    a = m @ m.T
    x, v = randn(3, seed=24), randn(3, seed=25)
    hv = hvp(lambda x: 0.5 * (x @ (Tensor(a) @ x)), x, v)
    np.testing.assert_allclose(hv, a @ v, rtol=1e-12, atol=1e-14)


def test_hvp_rejects_v_of_the_wrong_shape():
    with pytest.raises(ShapeError, match=re.escape("(2,)")):
        hvp(cube_sum, np.ones(3), np.ones(2))


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("make", [lambda f: grad(f), lambda f: value_and_grad(f)])
def test_grad_of_a_non_scalar_function_names_the_shape(make):
    with pytest.raises(ShapeError, match=re.escape("(3, 2)")):
        make(lambda x: x * x)(np.ones((3, 2)))


def test_hessian_of_a_non_scalar_function_names_the_shape():
    with pytest.raises(ShapeError, match=re.escape("(3,)")):
        hessian(lambda x: x * x, np.ones(3))


def test_jacobian_rows_over_several_leaves_in_order():
    # out = (a0 * b, a1 * b): d out / d (a0, a1, b) = [[b, 0, a0], [0, b, a1]]
    a = Tensor([2.0, 3.0], requires_grad=True, dtype=np.float64)
    b = Tensor(5.0, requires_grad=True, dtype=np.float64)
    c = Tensor([7.0], requires_grad=True, dtype=np.float64)  # out does not depend on c
    rows = jacobian_rows(a * b, [a, b, c])
    assert rows.tolist() == [[5.0, 0.0, 2.0, 0.0], [0.0, 5.0, 3.0, 0.0]]
    assert jacobian_rows(Tensor([1.0, 2.0]), [a]).tolist() == [[0.0, 0.0], [0.0, 0.0]]
