"""The numeric edges of issue 12, each against PyTorch's value and gradient.

torch is not a test dependency: the expected numbers below are PyTorch's (2.x) results for
the same calls, written out.
"""

import numpy as np
import pytest

from tinygrad_edu import AxisError, Tensor
from tinygrad_edu.errors import ShapeError


def grad_of(f, *values):
    """f's value and the gradient of its sum with respect to each input (float64)."""
    xs = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    out = f(*xs)
    out.sum().backward()
    return out.data, [x.grad for x in xs]


def test_x_to_the_power_zero_at_zero_has_gradient_zero():
    # torch.tensor([0., 2.], requires_grad=True) ** 0.0 -> [1., 1.], grad [0., 0.]
    value, (gx,) = grad_of(lambda x: x**0.0, [0.0, 2.0])
    np.testing.assert_array_equal(value, [1.0, 1.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0])


def test_tensor_exponent_zero_at_base_zero():
    # x ** y with x = [0., 0.], y = [0., 3.]: values [1., 0.]; x.grad [0., 0.], y.grad [0., 0.]
    value, (gx, gy) = grad_of(lambda x, y: x**y, [0.0, 0.0], [0.0, 3.0])
    np.testing.assert_array_equal(value, [1.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def test_zero_base_gives_the_exponent_a_zero_gradient():
    # Tensor([0.]) ** y, y = 2.0: value 0, y.grad 0 (not 0 * ln 0 = nan)
    y = Tensor([2.0], requires_grad=True)
    out = Tensor([0.0]) ** y
    out.sum().backward()
    assert out.data.tolist() == [0.0] and y.grad.tolist() == [0.0]


def test_zero_to_the_power_x_is_finite():
    # torch.pow(0.0, x), x = [0.5, 0., 2.]: values [0., 1., 0.], grad [0., 0., 0.]
    value, (gx,) = grad_of(lambda x: 0.0**x, [0.5, 0.0, 2.0])
    np.testing.assert_array_equal(value, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])


def test_a_positive_base_keeps_its_usual_gradients():
    # 2 ** x at x = 3: 8, grad 8 ln 2; x ** 3 at x = 2: 8, grad 12
    value, (gx,) = grad_of(lambda x: 2.0**x, [3.0])
    np.testing.assert_allclose(gx, [8 * np.log(2)], rtol=1e-15)
    value, (gx,) = grad_of(lambda x: x**3, [2.0])
    assert value.tolist() == [8.0] and gx.tolist() == [12.0]


def test_pow_second_derivative_at_zero_is_finite():
    # d2/dx2 x**2 at 0 = 2 (PyTorch's double backward gives 2 too)
    x = Tensor([0.0], requires_grad=True, dtype=np.float64)
    (x**2).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [2.0]


@pytest.mark.parametrize("values", [[3.0], [2.0, 2.0, 2.0]], ids=["one", "constant"])
def test_std_of_a_constant_has_gradient_zero(values):
    # torch.tensor(values).std(correction=0) -> 0., grad zeros (HIPS autograd: zeros too)
    value, (gx,) = grad_of(lambda x: x.std(), values)
    assert value == 0.0
    np.testing.assert_array_equal(gx, np.zeros(len(values)))


def test_std_gradient_elsewhere():
    # torch.tensor([1., 2., 4.]).std(correction=0).backward(): (x - mean) / (n * std)
    x = np.array([1.0, 2.0, 4.0])
    value, (gx,) = grad_of(lambda t: t.std(), x)
    std = np.sqrt(np.mean((x - x.mean()) ** 2))
    np.testing.assert_allclose(value, std, rtol=1e-15)
    np.testing.assert_allclose(gx, (x - x.mean()) / (3 * std), rtol=1e-14)


def test_integer_tensor_to_a_negative_power():
    # torch.tensor([-2., 0., 2.]) ** -2 -> [0.25, inf, 0.25] (integers become the default float)
    with np.errstate(divide="ignore"):  # 0 ** -2 = inf, as in PyTorch
        out = Tensor(np.array([-2, 0, 2], dtype=np.int32)) ** -2
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [0.25, np.inf, 0.25])
    np.testing.assert_array_equal((2.0 ** Tensor(np.array([-2], dtype=np.int64))).data, [0.25])


@pytest.mark.parametrize(
    "call",
    [lambda t: t.sum(axis=2), lambda t: t.softmax(dim=-3), lambda t: t.cumsum(5),
     lambda t: t.argmax(2), lambda t: Tensor.concatenate([t, t], axis=2)],
    ids=["sum", "softmax", "cumsum", "argmax", "concatenate"],
)
def test_an_axis_out_of_range_is_both_value_and_index_error(call):
    t = Tensor(np.ones((2, 3)))
    for kind in (IndexError, ValueError, ShapeError, AxisError):
        with pytest.raises(kind, match="out of range"):
            call(t)


def test_a_zero_d_tensor_accepts_axis_zero_and_minus_one():
    # torch.tensor(2.).softmax(0) -> 1., log_softmax -> 0., sum(0) -> 2., argmax(0) -> 0
    x = Tensor(2.0, requires_grad=True)
    assert Tensor(2.0).softmax().item() == 1.0
    assert Tensor(2.0).log_softmax(-1).item() == 0.0
    assert x.sum(0).item() == 2.0 and x.max(-1).item() == 2.0 and x.mean(dim=0).item() == 2.0
    assert x.argmax(0).item() == 0 and x.cumsum(0).shape == ()
    x.softmax().backward()
    assert x.grad.tolist() == 0.0
    with pytest.raises(AxisError):
        Tensor(2.0).sum(axis=1)


def test_max_over_a_nonempty_axis_of_an_empty_tensor():
    # torch.zeros(0, 3).amax(dim=1) -> shape (0,); dim=0 raises
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = x.max(axis=1)
    assert out.shape == (0,) and x.min(axis=1).shape == (0,)
    assert x.max(axis=1, keepdims=True).shape == (0, 1)
    out.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ShapeError, match="empty"):
        x.max(axis=0)


def test_np_sum_of_a_tensor_is_recorded():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = np.sum(x)
    assert isinstance(out, Tensor) and out.item() == 10.0
    out.backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 2)))
