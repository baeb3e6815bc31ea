"""Newton's method: one step on a quadratic, damping, the closure, and its errors."""

import numpy as np
import pytest

from tests.optim.steps import param
from tinygrad_edu import InvalidArgumentError, Tensor
from tinygrad_edu.optim import Newton
from tinygrad_edu.train import fit

RNG = np.random.default_rng(11)
M = RNG.normal(size=(4, 4))
A = M @ M.T + 4 * np.eye(4)  # symmetric positive definite
B = RNG.normal(size=4)
W0 = RNG.normal(size=4)




def quadratic(w):
    """0.5 w^T A w - b^T w: gradient A w - b, Hessian A, minimum A^{-1} b."""
    return 0.5 * (w @ (Tensor(A) @ w)) - (w * B).sum()


def test_one_step_solves_a_quadratic_without_closure():
    w = param(W0)
    opt = Newton([w])
    quadratic(w).backward(create_graph=True)
    assert opt.step() is None
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), rtol=1e-10, atol=1e-10)


def test_one_step_solves_a_quadratic_with_closure():
    w = param(W0)
    opt = Newton([w])
    calls = []

    def closure():
        opt.zero_grad()
        loss = quadratic(w)
        loss.backward(create_graph=True)
        calls.append(loss.item())
        return loss

    loss = opt.step(closure)
    assert len(calls) == 1 and loss.item() == calls[0]
    np.testing.assert_allclose(loss.item(), 0.5 * W0 @ A @ W0 - B @ W0, rtol=1e-12)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), rtol=1e-10, atol=1e-10)
    # At the minimum the next step stays there.
    opt.step(closure)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("damping", [0.5, 3.0])
def test_damping_gives_the_step_inverse_of_h_plus_damping_times_g(damping):
    w = param(W0)
    opt = Newton([w], damping=damping)
    quadratic(w).backward(create_graph=True)
    opt.step()
    g = A @ W0 - B
    expected = W0 - np.linalg.solve(A + damping * np.eye(4), g)
    np.testing.assert_allclose(w.data, expected, rtol=1e-10, atol=1e-12)
    assert not np.allclose(w.data, np.linalg.solve(A, B))  # damping shortened the step


def test_lr_scales_the_step():
    w = param(W0)
    opt = Newton([w])
    opt.lr = 0.5
    quadratic(w).backward(create_graph=True)
    opt.step()
    np.testing.assert_allclose(w.data, W0 - 0.5 * np.linalg.solve(A, A @ W0 - B), rtol=1e-10)


def test_several_parameters_of_different_shapes_least_squares():
    # Mean squared error of a linear model is quadratic in (W, b): one step reaches lstsq.
    X = RNG.normal(size=(20, 3))
    Y = RNG.normal(size=(20, 2))
    W = param(RNG.normal(size=(3, 2)))
    b = param(RNG.normal(size=(2,)))
    opt = Newton([W, b])
    (((Tensor(X) @ W + b) - Y) ** 2).mean().backward(create_graph=True)
    opt.step()
    sol = np.linalg.lstsq(np.c_[X, np.ones(20)], Y, rcond=None)[0]
    np.testing.assert_allclose(W.data, sol[:3], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(b.data, sol[3], rtol=1e-10, atol=1e-10)


def test_converges_quadratically_on_a_smooth_convex_function():
    # f(w) = sum(exp(w) - 2 w), minimum at log 2: the error roughly squares at every step.
    # Per coordinate the step is w <- w - (e^w - 2) / e^w; the second coordinate starts far.
    w = param([1.0, -0.5])
    opt = Newton([w])
    errors = []
    for _ in range(7):
        opt.zero_grad()
        (w.exp() - 2 * w).sum().backward(create_graph=True)
        opt.step()
        errors.append(np.max(np.abs(w.data - np.log(2))))
    assert errors[-1] < 1e-14
    assert errors[4] < errors[3] ** 2  # 5.5e-6 after 3.3e-3: quadratic, not linear


def test_gradients_become_plain_arrays_after_the_step():
    w = param(W0)
    opt = Newton([w])
    quadratic(w).backward(create_graph=True)
    assert isinstance(w.grad, Tensor)
    opt.step()
    assert isinstance(w.grad, np.ndarray)
    np.testing.assert_allclose(w.grad, A @ W0 - B, rtol=1e-12)  # the gradient at the old w


def test_parameters_without_grad_are_left_out():
    w, unused = param(W0), param([5.0, 6.0])
    opt = Newton([w, unused])
    quadratic(w).backward(create_graph=True)
    opt.step()
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(unused.data, [5.0, 6.0])


def test_fit_trains_with_newton():
    X = RNG.normal(size=(30, 2))
    y = X @ np.array([[1.5], [-2.0]]) + 0.25

    class Line:
        def __init__(self):
            self.w = param(np.zeros((2, 1)))
            self.b = param(np.zeros(1))

        def __call__(self, x):
            return x @ self.w + self.b

    model = Line()
    mse = lambda out, y: ((out - y) ** 2).mean()  # noqa: E731
    fit(model, mse, Newton([model.w, model.b]), [(X, y)], epochs=1, progress=False)
    np.testing.assert_allclose(model.w.data, [[1.5], [-2.0]], rtol=1e-10)
    np.testing.assert_allclose(model.b.data, [0.25], rtol=1e-10)


# ----------------------------------------------------------------------------- errors


def test_more_parameters_than_the_limit_are_refused_before_any_work():
    big = param(np.zeros((3, 4)))
    with pytest.raises(InvalidArgumentError, match=r"has 12 parameters .* max_params=10"):
        Newton([big], max_params=10)
    Newton([big], max_params=12)  # exactly at the limit is fine


def test_a_gradient_without_a_graph_asks_for_create_graph():
    w = param(W0)
    opt = Newton([w])
    quadratic(w).backward()
    with pytest.raises(InvalidArgumentError, match=r"backward\(create_graph=True\)"):
        opt.step()
    np.testing.assert_array_equal(w.data, W0)
    assert opt.step_count == 0


def test_a_singular_hessian_suggests_damping():
    # L = (w0 + w1)^2: H = [[2, 2], [2, 2]] is singular.
    w = param([1.0, 2.0])
    opt = Newton([w])
    ((w[0] + w[1]) ** 2).backward(create_graph=True)
    with pytest.raises(InvalidArgumentError, match=r"singular.*damping > 0"):
        opt.step()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert isinstance(w.grad, Tensor)  # nothing was changed


def test_a_singular_hessian_is_fine_with_damping():
    w = param([1.0, 2.0])
    opt = Newton([w], damping=1.0)
    ((w[0] + w[1]) ** 2).backward(create_graph=True)
    opt.step()
    H, g = np.array([[2.0, 2.0], [2.0, 2.0]]), np.array([6.0, 6.0])
    np.testing.assert_allclose(w.data, [1.0, 2.0] - np.linalg.solve(H + np.eye(2), g), rtol=1e-12)


def test_a_linear_loss_has_a_zero_hessian():
    w = param([1.0, 2.0])
    (w * Tensor([3.0, 4.0])).sum().backward(create_graph=True)
    with pytest.raises(InvalidArgumentError, match="singular"):
        Newton([w]).step()
    Newton([w], damping=2.0).step()  # d = g / 2
    np.testing.assert_allclose(w.data, [1.0 - 1.5, 2.0 - 2.0], rtol=1e-15)


def test_a_closure_must_be_callable():
    with pytest.raises(InvalidArgumentError, match="closure must be a function"):
        Newton([param(W0)]).step(closure=3)


def test_state_dict_round_trip():
    opt = Newton([param(W0)], damping=0.25, max_params=50)
    other = Newton([param(W0)])
    other.load_state_dict(opt.state_dict())
    assert (other.damping, other.max_params, other.lr) == (0.25, 50, 1.0)
