"""Small problems for the sweep tests: three blobs and a builder of linear or MLP classifiers.

The builders are made inside functions, so cloudpickle sends them to worker processes by value
(a worker need not import this file).
"""

import pytest

from tinygrad_edu.data import make_blobs
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD


def make_build(hidden=None):
    """build(lr, rng, ...) -> (model, cross_entropy, SGD): a linear model or a one-hidden MLP."""

    def build(lr, rng, momentum=0.0):
        sizes = [2, 3] if hidden is None else [2, hidden, 3]
        model = MLP(sizes, activation="tanh", rng=rng)
        return model, cross_entropy, SGD(model.parameters(), lr=lr, momentum=momentum)

    return build


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=60, centers=3, std=2.0, rng=0)
    return X, y


@pytest.fixture
def build():
    return make_build()


@pytest.fixture
def mlp_build():
    return make_build(hidden=8)


def trial_numbers(result):
    """Everything a trial measured, as plain numbers, in trial order."""
    return [
        (t.index, t.seed, t.status, t.val_loss, t.val_accuracy, t.train_loss,
         None if t.history is None else tuple(t.history.losses))
        for t in result.trials
    ]  # fmt: skip
