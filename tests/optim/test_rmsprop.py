"""RMSProp against hand-computed steps."""

import numpy as np
import pytest

from tests.optim.steps import param, run
from tinygrad_edu.optim import AdaGrad, RMSProp


def test_steps_by_hand():
    # L = w^2, g = 2w, eta = 0.01, rho = 0.75, from w = 1; eps tiny so it does not show:
    # step 1: g = 2,    s = 0.25 * 4 = 1,                  w = 1 - 0.01 * 2 / 1 = 0.98
    # step 2: g = 1.96, s = 0.75 + 0.25 * 3.8416 = 1.7104, w = 0.98 - 0.0196 / sqrt(1.7104)
    # step 3: g = 2 w2, s = 0.75 * 1.7104 + 0.25 g^2 = 2.2140505883472579
    w = param([1.0])
    opt = RMSProp([w], lr=0.01, decay=0.75, eps=1e-15)
    got = np.ravel(run(opt, w, lambda w: (w * w).sum(), 3))
    np.testing.assert_allclose(got, [0.98, 0.96501325811993791, 0.95204237619726346], rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["square_avg"], [2.2140505883472579], rtol=1e-13)


def test_eps_is_added_to_the_square_root():
    # g = 2, rho = 0.75: s = 1 and the step is eta * 2 / (sqrt(1) + 1) = eta.
    w = param([0.0])
    run(RMSProp([w], lr=0.125, decay=0.75, eps=1.0), w, lambda w: (w * 2.0).sum(), 1)
    np.testing.assert_array_equal(w.data, [-0.125])


def test_decay_zero_uses_only_the_last_gradient():
    # s = g^2: every step is eta * sign(g), whatever the size of g.
    w = param([10.0])
    got = np.ravel(run(RMSProp([w], lr=0.5, decay=0.0, eps=1e-15), w, lambda w: (w * w).sum(), 3))
    np.testing.assert_allclose(got, [9.5, 9.0, 8.5], rtol=1e-14)


def test_unlike_adagrad_steps_do_not_keep_shrinking():
    # With a constant gradient RMSProp's s tends to g^2 (steps tend to eta); AdaGrad's G grows.
    loss = lambda w: (w * 3.0).sum()  # noqa: E731
    a, b = param([0.0]), param([0.0])
    got_a = np.ravel(run(RMSProp([a], lr=0.1, decay=0.5), a, loss, 30))
    got_b = np.ravel(run(AdaGrad([b], lr=0.1), b, loss, 30))
    np.testing.assert_allclose(got_a[-1] - got_a[-2], -0.1, rtol=1e-6)
    np.testing.assert_allclose(got_b[-1] - got_b[-2], -0.1 / np.sqrt(30), rtol=1e-6)


def test_matches_torch_rmsprop():
    torch = pytest.importorskip("torch")
    w = param([0.3, -1.0, 2.0])
    got = run(RMSProp([w], lr=0.01, decay=0.9), w, lambda w: (w**4).sum(), 10)
    tw = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.RMSprop([tw], lr=0.01, alpha=0.9, eps=1e-8)
    for step in range(10):
        topt.zero_grad()
        (tw**4).sum().backward()
        topt.step()
        np.testing.assert_allclose(got[step], tw.detach().numpy(), rtol=1e-12, atol=1e-14)
