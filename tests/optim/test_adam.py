"""Adam against hand-computed steps, its bias correction and its weight decay."""

import numpy as np
import pytest

from tests.optim.steps import param, run
from tinygrad_edu import Tensor
from tinygrad_edu.optim import Adam


def test_steps_by_hand():
    # L = w^2, g = 2w, eta = 0.1, betas = (0.5, 0.75), from w = 1; eps tiny:
    # step 1: g = 2,   m = 1,   v = 1,    m_hat = 1/0.5 = 2, v_hat = 1/0.25 = 4,
    #         w = 1 - 0.1 * 2 / 2 = 0.9
    # step 2: g = 1.8, m = 0.5 + 0.9 = 1.4, v = 0.75 + 0.25 * 3.24 = 1.56,
    #         m_hat = 1.4 / 0.75, v_hat = 1.56 / 0.4375, w = 0.9 - 0.1 m_hat / sqrt(v_hat)
    # step 3: the same once more: w = 0.70423664579098207
    w = param([1.0])
    opt = Adam([w], lr=0.1, betas=(0.5, 0.75), eps=1e-15)
    got = np.ravel(run(opt, w, lambda w: (w * w).sum(), 3))
    np.testing.assert_allclose(got, [0.9, 0.80114616966409560, 0.70423664579098207], rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["m"], [1.5011461696640956], rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["v"], [1.8118351851674519], rtol=1e-13)
    assert int(opt.state[0]["step"]) == 3


def test_first_step_moves_each_weight_by_lr_against_the_sign_of_its_gradient():
    # m_hat = g and v_hat = g^2 after one step, whatever the gradient's size.
    g = np.array([1e3, -2.0, 1e-3, -5e-4])
    w = param([0.0, 0.0, 0.0, 0.0])
    run(Adam([w], lr=0.01), w, lambda w: (w * g).sum(), 1)
    np.testing.assert_allclose(w.data, -0.01 * np.sign(g), rtol=1e-4)


def test_bias_correction_keeps_constant_gradient_steps_at_lr():
    # m_t = (1 - beta1^t) g exactly for a constant g, so m_hat = g at every t; likewise v.
    # Without the correction the first step would be eta * 0.1 / sqrt(0.001) ~ 3.16 eta.
    w = param([0.0])
    got = np.ravel(run(Adam([w], lr=0.01, eps=1e-15), w, lambda w: (w * 0.5).sum(), 5))
    np.testing.assert_allclose(np.diff(np.r_[0.0, got]), -0.01, rtol=1e-12)


def test_weight_decay_adds_to_the_gradient():
    # Adam(weight_decay=lam) on L0 is Adam on L0 + lam/2 sum w^2 (PyTorch's L2 form).
    lam = 0.2
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=6)

    def data_loss(w):
        return ((Tensor(X) @ w - y) ** 2).mean()

    start = rng.normal(size=3)
    a, b = param(start), param(start)
    got_a = run(Adam([a], lr=0.05, weight_decay=lam), a, data_loss, 15)
    got_b = run(Adam([b], lr=0.05), b, lambda w: data_loss(w) + (lam / 2) * (w * w).sum(), 15)
    np.testing.assert_allclose(got_a, got_b, rtol=1e-10, atol=1e-13)


def test_converges_on_a_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    w = param([2.0, 2.0])
    run(Adam([w], lr=0.05), w, lambda w: 0.5 * (w @ (Tensor(A) @ w)) - (w * b).sum(), 1000)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, b), atol=1e-4)


def test_matches_torch_adam():
    torch = pytest.importorskip("torch")
    w = param([0.3, -1.0, 2.0])
    opt = Adam([w], lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
    got = run(opt, w, lambda w: (w**4).sum(), 10)
    tw = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)
    for step in range(10):
        topt.zero_grad()
        (tw**4).sum().backward()
        topt.step()
        np.testing.assert_allclose(got[step], tw.detach().numpy(), rtol=1e-12, atol=1e-14)
