"""The learning pieces working together, with fixed seeds: the quality bars of the course."""

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.data import DataLoader, Standardizer, load_digits, make_spiral, train_test_split
from tinygrad_edu.losses import cross_entropy, l2_penalty, mse_loss
from tinygrad_edu.nn import MLP, Linear
from tinygrad_edu.optim import SGD, Adam, Newton
from tinygrad_edu.optim.schedules import StepDecay
from tinygrad_edu.train import accuracy, fit


def test_mlp_learns_the_spiral():
    X, y = make_spiral(n_per_class=100, n_classes=3, rng=0)
    model = MLP([2, 64, 64, 3], rng=0)
    history = fit(
        model, cross_entropy, Adam(model.parameters(), lr=0.01),
        DataLoader(X, y, batch_size=32, rng=0), epochs=60, progress=False,
    )  # fmt: skip
    assert accuracy(model, X, y) >= 0.97
    assert history.epochs[-1]["accuracy"] >= 0.95
    assert np.mean(history.losses[-10:]) < np.mean(history.losses[:10]) / 5


def test_mlp_classifies_digits():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, rng=0)
    scaler = Standardizer().fit(X_train)  # statistics from the training data only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = MLP([64, 64, 10], rng=0)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(
        model, cross_entropy, opt, DataLoader(X_train, y_train, 32, rng=0), epochs=15,
        val_data=(X_test, y_test), scheduler=StepDecay(opt, step_size=10, factor=0.5),
        progress=False,
    )  # fmt: skip
    assert accuracy(model, X_test, y_test) >= 0.95
    assert history.epochs[-1]["val_accuracy"] == pytest.approx(accuracy(model, X_test, y_test))
    assert history.metric("lr")[9:11] == [0.05, 0.025]


def test_weight_decay_is_the_l2_penalty():
    """SGD's weight_decay = lam/n on L0 is plain SGD on L0 + lam/(2n) sum w^2, and both are
    the course's rescaling w <- (1 - eta lam / n) w - eta dL0/dw."""
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    lam, n, eta = 0.3, 8, 0.1
    decayed, penalised = Linear(3, 1, bias=False, rng=1), Linear(3, 1, bias=False, rng=1)
    w0 = decayed.weight.data.copy()
    opt_decay = SGD(decayed.parameters(), lr=eta, weight_decay=lam / n)
    opt_plain = SGD(penalised.parameters(), lr=eta)

    opt_decay.zero_grad()
    mse_loss(decayed(X), t).backward()
    dL0 = decayed.weight.grad.copy()
    opt_decay.step()
    opt_plain.zero_grad()
    (mse_loss(penalised(X), t) + l2_penalty(penalised.parameters(), lam, n)).backward()
    opt_plain.step()

    expected = (1 - eta * lam / n) * w0 - eta * dL0
    np.testing.assert_allclose(decayed.weight.data, expected, rtol=1e-6)
    np.testing.assert_allclose(penalised.weight.data, expected, rtol=1e-6)


def test_newton_fits_least_squares_in_one_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    t = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    model = Linear(3, 1, rng=0)
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    fit(model, mse_loss, Newton(model.parameters()), [(X, t)], epochs=1, progress=False)
    np.testing.assert_allclose(model.weight.data, [[1.0, -2.0, 0.5]], atol=1e-8)
    np.testing.assert_allclose(model.bias.data, [0.3], atol=1e-8)


def test_training_is_reproducible_from_seeds():
    def run():
        X, y = make_spiral(30, 3, rng=1)
        model = MLP([2, 8, 3], rng=2)
        fit(model, cross_entropy, SGD(model.parameters(), lr=0.1, momentum=0.9),
            DataLoader(X, y, 16, rng=3), epochs=3, progress=False)  # fmt: skip
        return model(Tensor(X)).data

    np.testing.assert_array_equal(run(), run())
