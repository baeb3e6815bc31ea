"""Small contracts of the public API: the type of ``.grad`` in each mode, ``np.array(t)``
copying, and the constants ``functional.grad`` passes to ``f``."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.functional import grad, value_and_grad

# ----------------------------------------------------------------------------- .grad's type


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_zero_d_gradient_is_an_array_and_accumulates(dtype):
    w = Tensor(3.0, requires_grad=True, dtype=dtype)
    (w * w).backward()
    assert type(w.grad) is np.ndarray and w.grad.shape == () and w.grad.dtype == dtype
    (w * w).backward()
    assert type(w.grad) is np.ndarray and w.grad.dtype == dtype
    assert w.grad == 12.0


def test_a_zero_d_leaf_used_once_gets_an_array():
    w = Tensor(np.float64(2.0), requires_grad=True)
    (w.exp() * 1.0).backward()
    assert type(w.grad) is np.ndarray
    np.testing.assert_allclose(w.grad, np.exp(2.0))


def test_grad_is_a_tensor_after_create_graph_and_an_array_after_a_plain_backward():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.data, [3.0, 12.0])
    (x * x).sum().backward()  # plain: .grad becomes an array, the sum of both passes
    assert type(x.grad) is np.ndarray and x.grad.dtype == np.float64 and x.grad.shape == (2,)
    np.testing.assert_array_equal(x.grad, [5.0, 16.0])
    (x * x).sum().backward(create_graph=True)  # recorded again: a Tensor again
    assert isinstance(x.grad, Tensor)
    np.testing.assert_array_equal(x.grad.data, [7.0, 20.0])


def test_a_float32_gradient_of_a_zero_d_tensor_after_a_recorded_pass():
    w = Tensor(2.0, requires_grad=True)
    (w * w).backward(create_graph=True)
    (w * w).backward()
    assert type(w.grad) is np.ndarray and w.grad.dtype == np.float32 and w.grad.shape == ()
    assert w.grad == 8.0


# ----------------------------------------------------------------------------- np.array copies


def test_np_array_copies_and_a_write_cannot_change_a_gradient():
    t = Tensor([1.0, 2.0], requires_grad=True)
    a = np.array(t)
    a *= 10
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, 4.0])


def test_np_array_of_a_tensor_is_new_memory_with_the_dtype_asked_for():
    t = Tensor(np.array([1.5, -2.0]))
    assert not np.shares_memory(np.array(t), t.data)
    a64 = np.array(t, dtype=np.float32)
    assert a64.dtype == np.float32 and a64.tolist() == [1.5, -2.0]


def test_np_asarray_shares_memory_unless_a_conversion_is_needed():
    t = Tensor(np.array([1.5, -2.0]))
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float64) is t.data
    converted = np.asarray(t, dtype=np.float32)
    assert converted.dtype == np.float32 and not np.shares_memory(converted, t.data)


def test_np_asarray_copy_false_shares_or_refuses():
    t = Tensor(np.array([1.5, -2.0]))
    assert np.asarray(t, copy=False) is t.data
    with pytest.raises(ValueError, match="needs a copy"):
        np.asarray(t, dtype=np.float32, copy=False)


# ----------------------------------------------------------------------------- functional.grad


def test_grad_passes_the_other_arguments_as_constant_tensors():
    seen = []

    def f(x, y):
        seen.append(type(y))
        return (x * y.tanh()).sum()

    x0, y0 = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    g = grad(f)(x0, y0)
    assert seen == [Tensor]
    np.testing.assert_allclose(g, np.tanh(y0))
    gy = grad(f, argnums=1)(x0, y0)
    np.testing.assert_allclose(gy, x0 * (1 - np.tanh(y0) ** 2))


def test_grad_keeps_integer_labels_and_python_options_as_they_are():
    def f(w, labels, scale, n):
        assert isinstance(labels, Tensor) and labels.dtype == np.int64
        assert isinstance(scale, Tensor) and isinstance(n, int)
        return (w[labels.data] * scale).sum() * n

    value, g = value_and_grad(f)(np.array([1.0, 2.0, 3.0]), np.array([0, 2, 2]), 0.5, 2)
    assert value == pytest.approx((1.0 + 3.0 + 3.0) * 0.5 * 2)
    np.testing.assert_allclose(g, [1.0, 0.0, 2.0])


def test_functional_and_engine_grad_of_a_zero_d_input_are_arrays():
    from tinygrad_edu.autograd import grad as engine_grad

    g = grad(lambda w: w * w)(np.array(3.0))
    assert type(g) is np.ndarray and g.shape == () and g == 6.0
    w = Tensor(3.0, requires_grad=True)
    [gw] = engine_grad(w * w, [w])
    assert type(gw) is np.ndarray and gw.dtype == np.float32 and gw == 6.0
