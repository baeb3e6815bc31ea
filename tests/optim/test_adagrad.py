"""AdaGrad against hand-computed steps."""

import numpy as np
import pytest

from tests.optim.steps import param, run
from tinygrad_edu.optim import AdaGrad


def test_steps_by_hand():
    # L = sum w^2, g = 2w, eta = 0.5, from w = (1, -3); eps tiny so it does not show:
    # step 1: g = (2, -6),   G = (4, 36), w = (1, -3) - 0.5 (2/2, -6/6)       = (0.5, -2.5)
    # step 2: g = (1, -5),   G = (5, 61), w = (0.5 - 0.5/sqrt(5), -2.5 + 2.5/sqrt(61))
    # step 3: g = 2 w2,      G = (5 + 4 w2^2, 61 + 4 w2^2), and so on
    w = param([1.0, -3.0])
    opt = AdaGrad([w], lr=0.5, eps=1e-15)
    got = run(opt, w, lambda w: (w * w).sum(), 3)
    np.testing.assert_allclose(got[0], [0.5, -2.5], rtol=1e-13)
    np.testing.assert_allclose(got[1], [0.27639320225002103, -2.1799078001677601], rtol=1e-13)
    np.testing.assert_allclose(got[2], [0.15639873602421201, -1.9361988719368423], rtol=1e-13)
    np.testing.assert_allclose(
        opt.state[0]["sum_sq"], [5.3055728090000841, 80.007992068928972], rtol=1e-13
    )


def test_eps_is_added_to_the_square_root():
    # g = 1, eps = 1: G = 1 and the step is eta * 1 / (sqrt(1) + 1) = eta / 2, not
    # eta / sqrt(1 + 1) (eps inside the root).
    w = param([0.0])
    run(AdaGrad([w], lr=0.5, eps=1.0), w, lambda w: w.sum(), 1)
    np.testing.assert_array_equal(w.data, [-0.25])


def test_constant_gradient_steps_shrink_like_one_over_sqrt_t():
    # G_t = t g^2, so step t is eta g / (sqrt(t) |g|) = eta sign(g) / sqrt(t).
    w = param([0.0, 0.0])
    got = run(AdaGrad([w], lr=0.1, eps=1e-15), w, lambda w: (w * np.array([4.0, -0.01])).sum(), 4)
    steps = -np.diff(np.vstack([[0.0, 0.0], got]), axis=0)
    expected = 0.1 / np.sqrt([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(steps[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(steps[:, 1], -expected, rtol=1e-10)


def test_matches_torch_adagrad():
    torch = pytest.importorskip("torch")
    w = param([0.3, -1.0, 2.0])
    got = run(AdaGrad([w], lr=0.1), w, lambda w: (w**4).sum(), 10)
    tw = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adagrad([tw], lr=0.1, eps=1e-8)
    for step in range(10):
        topt.zero_grad()
        (tw**4).sum().backward()
        topt.step()
        np.testing.assert_allclose(got[step], tw.detach().numpy(), rtol=1e-12, atol=1e-14)
