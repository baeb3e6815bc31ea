"""SGD: hand-computed steps, the classic and PyTorch forms of momentum, and weight decay."""

import numpy as np
import pytest

from tests.optim.steps import param, run
from tinygrad_edu import InvalidArgumentError, Tensor, no_grad
from tinygrad_edu.optim import SGD


def square(w):
    return (w * w).sum()  # dL/dw = 2w


# A quadratic with a non-diagonal Hessian, for comparisons over many steps.
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
B = np.array([1.0, -2.0, 0.5])


def quadratic(w):
    return 0.5 * (w @ (Tensor(A) @ w)) - (w * B).sum()  # gradient A w - b


def quadratic_grad(w):
    return A @ w - B


# ----------------------------------------------------------------------------- hand values


def test_plain_steps_by_hand():
    # g = 2w, eta = 0.1: each step multiplies w by 1 - 0.2 = 0.8.
    w = param([1.0, -2.0])
    got = run(SGD([w], lr=0.1), w, square, 3)
    np.testing.assert_allclose(got, [[0.8, -1.6], [0.64, -1.28], [0.512, -1.024]], rtol=1e-15)


def test_momentum_steps_by_hand():
    # p <- 0.9 p - 0.1 g; w <- w + p with g = 2w, from w = 1:
    # step 1: g = 2,    p = -0.2,                    w = 0.8
    # step 2: g = 1.6,  p = -0.18 - 0.16 = -0.34,    w = 0.46
    # step 3: g = 0.92, p = -0.306 - 0.092 = -0.398, w = 0.062
    w = param([1.0])
    opt = SGD([w], lr=0.1, momentum=0.9)
    got = run(opt, w, square, 3)
    np.testing.assert_allclose(np.ravel(got), [0.8, 0.46, 0.062], rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["velocity"], [-0.398], rtol=1e-13)


def test_nesterov_steps_by_hand():
    # p <- 0.9 p - 0.1 g; w <- w + 0.9 p - 0.1 g with g = 2w, from w = 1:
    # step 1: g = 2,      p = -0.2,     w = 1 - 0.18 - 0.2 = 0.62
    # step 2: g = 1.24,   p = -0.304,   w = 0.62 - 0.2736 - 0.124 = 0.2224
    # step 3: g = 0.4448, p = -0.31808, w = 0.2224 - 0.286272 - 0.04448 = -0.108352
    w = param([1.0])
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    got = run(opt, w, square, 3)
    np.testing.assert_allclose(np.ravel(got), [0.62, 0.2224, -0.108352], rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["velocity"], [-0.31808], rtol=1e-13)


# ----------------------------------------------------------------------------- equivalent forms


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_momentum_equals_the_classic_form(mu):
    # Classic: v <- mu v + g; w <- w - eta v. With p = -eta v it is the course's form.
    eta = 0.05
    w = param([0.3, -1.0, 2.0])
    got = run(SGD([w], lr=eta, momentum=mu), w, quadratic, 25)
    ref_w, v = np.array([0.3, -1.0, 2.0]), np.zeros(3)
    for step in range(25):
        v = mu * v + quadratic_grad(ref_w)
        ref_w = ref_w - eta * v
        np.testing.assert_allclose(got[step], ref_w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_nesterov_equals_the_pytorch_form(mu):
    # PyTorch: buf <- mu buf + g; g' = g + mu buf; w <- w - eta g'.
    eta = 0.05
    w = param([0.3, -1.0, 2.0])
    got = run(SGD([w], lr=eta, momentum=mu, nesterov=True), w, quadratic, 25)
    ref_w, buf = np.array([0.3, -1.0, 2.0]), np.zeros(3)
    for step in range(25):
        g = quadratic_grad(ref_w)
        buf = mu * buf + g
        ref_w = ref_w - eta * (g + mu * buf)
        np.testing.assert_allclose(got[step], ref_w, rtol=1e-12, atol=1e-14)


def test_nesterov_differs_from_plain_momentum():
    a, b = param([1.0]), param([1.0])
    run(SGD([a], lr=0.1, momentum=0.9), a, square, 3)
    run(SGD([b], lr=0.1, momentum=0.9, nesterov=True), b, square, 3)
    assert abs(a.data[0] - b.data[0]) > 0.1  # 0.062 vs -0.108352


def test_momentum_converges_on_a_quadratic():
    w = param([0.3, -1.0, 2.0])
    run(SGD([w], lr=0.1, momentum=0.9), w, quadratic, 300)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), atol=1e-8)


# ----------------------------------------------------------------------------- weight decay


def test_weight_decay_is_the_courses_rescaling_exactly():
    # L0 = c . w, so dL0/dw = c. lambda = 1, n = 4, eta = 0.5 (all exact in binary):
    # w <- (1 - eta lambda / n) w - eta c = 0.875 w - 0.5 c
    lam, n, eta = 1.0, 4, 0.5
    c = np.array([0.5, 1.0])
    w = param([1.0, -2.0])
    opt = SGD([w], lr=eta, weight_decay=lam / n)
    got = run(opt, w, lambda w: (w * c).sum(), 2)
    np.testing.assert_array_equal(got[0], [0.625, -2.25])  # 0.875 w0 - [0.25, 0.5]
    np.testing.assert_array_equal(got[1], [0.296875, -2.46875])  # 0.875 w1 - [0.25, 0.5]


def test_weight_decay_equals_an_l2_penalty_in_the_loss():
    lam, n, eta = 0.3, 10, 0.1
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(n, 3)), rng.normal(size=n)

    def data_loss(w):
        return ((Tensor(X) @ w - y) ** 2).mean()

    def penalised(w):
        return data_loss(w) + (lam / (2 * n)) * (w * w).sum()  # L0 + lambda/(2n) sum w^2

    start = rng.normal(size=3)
    a, b = param(start), param(start)
    got_a = run(SGD([a], lr=eta, weight_decay=lam / n), a, data_loss, 20)
    got_b = run(SGD([b], lr=eta), b, penalised, 20)
    np.testing.assert_allclose(got_a, got_b, rtol=1e-12, atol=1e-15)


def test_weight_decay_with_momentum_decays_the_velocity_input():
    # g = 0 (constant loss in w): only the decay term lambda' w = 0.5 * 2 = 1 acts.
    w = param([2.0])
    opt = SGD([w], lr=0.25, momentum=0.5, weight_decay=0.5)
    run(opt, w, lambda w: (w * 0.0).sum(), 1)
    np.testing.assert_array_equal(opt.state[0]["velocity"], [-0.25])
    np.testing.assert_array_equal(w.data, [1.75])


# ----------------------------------------------------------------------------- PyTorch


def test_matches_torch_sgd():
    torch = pytest.importorskip("torch")
    for kwargs in [
        {"momentum": 0.9},
        {"momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
        {"weight_decay": 0.1},
    ]:
        w = param([0.3, -1.0, 2.0])
        got = run(SGD([w], lr=0.05, **kwargs), w, quadratic, 10)
        tw = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        topt = torch.optim.SGD([tw], lr=0.05, **kwargs)
        tA, tB = torch.tensor(A), torch.tensor(B)
        for step in range(10):
            topt.zero_grad()
            (0.5 * tw @ (tA @ tw) - (tw * tB).sum()).backward()
            topt.step()
            np.testing.assert_allclose(got[step], tw.detach().numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- plain SGD in place


def two_float32_params():
    a = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([[3.0, 4.0], [5.0, 6.0]], dtype=np.float32), requires_grad=True)
    return a, b


REFUSED = "parameter 1 .*inf or NaN; nothing was changed"


@pytest.mark.parametrize("decay", [0.0, 0.25])
def test_plain_sgd_gives_the_numbers_of_its_formula_bit_for_bit(decay):
    rng = np.random.default_rng(0)
    a, b = two_float32_params()
    opt = SGD([a, b], lr=0.3, weight_decay=decay)
    for _ in range(3):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in (a, b)]
        expected = [p.data - np.float32(0.3) * (g + np.float32(decay) * p.data) if decay
                    else p.data - np.float32(0.3) * g for p, g in zip((a, b), grads)]
        a.grad, b.grad = grads
        arrays = [a.data, b.data]
        opt.step()
        assert a.data is arrays[0] and b.data is arrays[1]  # in place
        for p, want in zip((a, b), expected):
            np.testing.assert_array_equal(p.data, want)
        np.testing.assert_array_equal(a.grad, grads[0])  # weight decay leaves .grad alone


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_plain_sgd_refuses_a_non_finite_gradient_and_changes_nothing(bad):
    a, b = two_float32_params()
    opt = SGD([a, b], lr=0.1)
    a.grad = np.array([0.5, 0.5], dtype=np.float32)
    b.grad = np.array([[1.0, 1.0], [1.0, bad]], dtype=np.float32)  # last
    with np.errstate(all="ignore"):
        with pytest.raises(InvalidArgumentError, match=REFUSED):
            opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(b.data, [[3.0, 4.0], [5.0, 6.0]])
    assert opt.step_count == 0


def test_plain_sgd_refuses_to_overflow_float32_and_changes_nothing():
    a, b = two_float32_params()
    opt = SGD([a, b], lr=10.0)
    a.grad = np.ones(2, dtype=np.float32)
    b.grad = np.array([[1.0, 1.0], [1.0, 3e38]], dtype=np.float32)  # 10 * 3e38 overflows
    with np.errstate(all="ignore"):
        with pytest.raises(InvalidArgumentError, match=REFUSED):
            opt.step()
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError, match="parameter 1 .*nothing was changed"):
            opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(b.data, [[3.0, 4.0], [5.0, 6.0]])


def test_plain_sgd_refuses_a_weight_already_non_finite_and_changes_nothing():
    a, b = two_float32_params()
    b.data[1, 1] = np.nan  # written behind the engine's back
    opt = SGD([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2, dtype=np.float32), np.ones((2, 2), dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])


@pytest.mark.parametrize("change", ["assign", "in-place operator"])
def test_plain_sgd_refuses_a_weight_made_non_finite_between_steps(change):
    # Steps that went well leave finite weights; a change the engine sees after them (an
    # assignment to .data, an in-place operator) must be checked again by the next step.
    a, b = two_float32_params()
    opt = SGD([a, b], lr=0.5)
    for _ in range(2):
        a.grad, b.grad = np.ones(2, np.float32), np.ones((2, 2), np.float32)
        opt.step()
    np.testing.assert_array_equal(b.data, [[2.0, 3.0], [4.0, 5.0]])
    if change == "assign":
        b.data = np.array([[2.0, 3.0], [4.0, np.inf]], np.float32)
    else:
        with no_grad():
            b *= Tensor(np.array([[1.0, 1.0], [1.0, np.nan]], np.float32))
    before = b.data.copy()
    a.grad, b.grad = np.ones(2, np.float32), np.ones((2, 2), np.float32)
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        opt.step()
    np.testing.assert_array_equal(a.data, [0.0, 1.0])
    np.testing.assert_array_equal(b.data, before)
    assert opt.step_count == 2


def test_plain_sgd_under_a_raising_errstate_changes_nothing_when_numpy_raises():
    a, b = two_float32_params()
    opt = SGD([a, b], lr=1e-30)
    a.grad = np.ones(2, dtype=np.float32)
    b.grad = np.full((2, 2), 1e-20, dtype=np.float32)  # 1e-30 * 1e-20 underflows
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError, match="parameter 1 .*nothing was changed"):
            opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    assert opt.step_count == 0


def test_plain_sgd_steps_float32_and_float64_parameters_together_in_their_own_dtypes():
    a = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0, 5.0]), requires_grad=True)  # float64
    opt = SGD([a, b], lr=0.1)
    for _ in range(2):
        ga, gb = np.full(2, 0.7, np.float32), np.array([0.1, 0.2, 0.3])
        expected = [a.data - np.float32(0.1) * ga, b.data - 0.1 * gb]
        a.grad, b.grad = ga, gb
        opt.step()
        np.testing.assert_array_equal(a.data, expected[0])
        np.testing.assert_array_equal(b.data, expected[1])
        assert a.data.dtype == np.float32 and b.data.dtype == np.float64


def test_plain_sgd_checks_each_step_whatever_gradients_the_step_before_had():
    a, b = two_float32_params()
    opt = SGD([a, b], lr=0.5)
    a.grad, b.grad = np.ones(2, np.float32), np.ones((2, 2), np.float32)
    opt.step()  # both move: a = [0.5, 1.5]
    a.grad, b.grad = None, np.full((2, 2), 2.0, np.float32)
    opt.step()  # only b moves
    np.testing.assert_array_equal(a.data, [0.5, 1.5])
    np.testing.assert_array_equal(b.data, [[1.5, 2.5], [3.5, 4.5]])
    b.grad = np.array([[1.0, 1.0], [1.0, np.nan]], np.float32)
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        opt.step()
    np.testing.assert_array_equal(b.data, [[1.5, 2.5], [3.5, 4.5]])


def test_a_deep_copy_of_sgd_steps_as_the_original_does():
    import copy

    a, b = two_float32_params()
    opt = SGD([a, b], lr=0.25)
    a.grad, b.grad = np.ones(2, np.float32), np.ones((2, 2), np.float32)
    opt.step()
    twin = copy.deepcopy(opt)  # its own parameters, with the same values
    ta, tb = twin.params
    ta.grad = np.ones(2, np.float32)
    tb.grad = np.array([[1.0, 1.0], [1.0, np.inf]], np.float32)
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        twin.step()
    tb.grad = np.full((2, 2), 2.0, np.float32)
    twin.step()
    np.testing.assert_array_equal(ta.data, [0.5, 1.5])
    np.testing.assert_array_equal(tb.data, [[2.25, 3.25], [4.25, 5.25]])
    np.testing.assert_array_equal(a.data, [0.75, 1.75])  # the original is untouched
