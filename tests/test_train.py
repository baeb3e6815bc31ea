"""fit, History and accuracy, with small hand-made models (no dependence on nn or optim)."""

import json
import math

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError, ShapeError
from tinygrad_edu.train import History, TrainingWarning, accuracy, evaluate, fit


class Line:
    """y = w x: one parameter, so every number below can be worked out by hand."""

    def __init__(self, w=0.0):
        self.w = Tensor([w], requires_grad=True, dtype=np.float64)
        self.training = True
        self.modes = []

    def __call__(self, x):
        return x * self.w

    def train(self):
        self.training = True
        self.modes.append("train")

    def eval(self):
        self.training = False
        self.modes.append("eval")


class GD:
    def __init__(self, params, lr):
        self.params, self.lr, self.steps = params, lr, 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for p in self.params:
            p.data -= self.lr * p.grad


class Halving:
    def __init__(self, opt):
        self.opt, self.calls = opt, 0

    def step(self):
        self.calls += 1
        self.opt.lr /= 2


def mse(out, y):
    return ((out - y) ** 2).mean()


X = np.array([1.0, 2.0])
Y = np.array([2.0, 4.0])  # y = 2x


def test_one_step_of_gradient_descent_by_hand():
    # L(w) = mean((w x - y)^2) = ((w - 2)^2 (1 + 4)) / 2; dL/dw = 5 (w - 2); at w = 0: -10.
    model = Line(0.0)
    history = fit(model, mse, GD([model.w], 0.1), [(X, Y)], epochs=1, progress=False)
    assert model.w.data[0] == pytest.approx(1.0)  # 0 - 0.1 * (-10)
    assert history.losses == [pytest.approx(10.0)]  # (4 + 16) / 2
    assert history.epochs[0]["loss"] == pytest.approx(10.0)
    assert history.epochs[0]["accuracy"] is None or history.epochs[0]["accuracy"] >= 0


def test_losses_per_step_and_metrics_per_epoch():
    model = Line(0.0)
    loader = [(X[:1], Y[:1]), (X[1:], Y[1:])]
    history = fit(model, mse, GD([model.w], 0.05), loader, epochs=3, progress=False)
    assert len(history.losses) == 6
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3]
    # epoch loss is the sample-weighted mean of its step losses
    np.testing.assert_allclose(history.epochs[0]["loss"], np.mean(history.losses[:2]))
    assert history.losses[-1] < history.losses[0]
    assert history.metric("loss") == [e["loss"] for e in history.epochs]
    assert not history.stopped_early


def test_scheduler_steps_once_per_epoch_and_lr_is_recorded():
    model = Line(0.0)
    opt = GD([model.w], 0.1)
    schedule = Halving(opt)
    history = fit(model, mse, opt, [(X, Y)], epochs=3, scheduler=schedule, progress=False)
    assert schedule.calls == 3
    assert history.metric("lr") == [0.1, 0.05, 0.025]


def test_validation_uses_eval_mode_and_restores_train_mode():
    model = Line(0.0)
    history = fit(
        model, mse, GD([model.w], 0.1), [(X, Y)], epochs=2, val_data=(X, Y), progress=False
    )
    assert "eval" in model.modes and model.modes[-1] == "train"
    # validation after epoch 1: w = 1, loss = mean((1x - 2x)^2) = (1 + 4) / 2
    assert history.epochs[0]["val_loss"] == pytest.approx(2.5)


def test_nan_loss_stops_before_the_update_with_a_clear_warning():
    model = Line(0.0)
    opt = GD([model.w], 0.1)
    bad = [(X, Y), (np.array([np.nan]), np.array([1.0])), (X, Y)]
    with pytest.warns(TrainingWarning, match=r"became nan at epoch 1, step 2.*learning rate"):
        history = fit(model, mse, opt, bad, epochs=2, progress=False)
    assert history.stopped_early and "step 2" in history.stop_reason
    assert opt.steps == 1 and len(history.losses) == 1
    assert np.isfinite(model.w.data).all()


def test_progress_bar_shows_loss(capsys):
    model = Line(0.0)
    fit(model, mse, GD([model.w], 0.1), [(X, Y)], epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss=" in err


def test_progress_false_is_silent(capsys):
    model = Line(0.0)
    fit(model, mse, GD([model.w], 0.1), [(X, Y)], epochs=2, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True, "3"])
def test_epochs_must_be_a_positive_int(epochs):
    model = Line(0.0)
    with pytest.raises(InvalidArgumentError, match="epochs must be a positive integer"):
        fit(model, mse, GD([model.w], 0.1), [(X, Y)], epochs=epochs, progress=False)


def test_empty_loader_is_an_error():
    model = Line(0.0)
    with pytest.raises(InvalidArgumentError, match="no batches"):
        fit(model, mse, GD([model.w], 0.1), [], epochs=1, progress=False)


def test_history_json_round_trip(tmp_path):
    history = History([1.0, 0.5, float("nan")], [{"epoch": 1, "loss": 0.75}], "stopped")
    path = tmp_path / "history.json"
    history.save(path)
    loaded = History.load(path)
    assert loaded.losses[:2] == [1.0, 0.5] and math.isnan(loaded.losses[2])
    assert loaded.epochs == history.epochs and loaded.stop_reason == "stopped"
    assert json.loads(path.read_text().replace("NaN", "null"))["epochs"][0]["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]  # no temporary left


def test_history_series_as_attributes_and_a_short_repr():
    model = Line(0.0)
    val = (X, Y)
    history = fit(model, mse, GD([model.w], 0.1), [(X, Y)] * 50, epochs=3, val_data=val,
                  progress=False)
    assert len(history.losses) == 150
    assert history.epoch_losses == [e["loss"] for e in history.epochs]
    assert history.val_losses == [e["val_loss"] for e in history.epochs]
    assert len(history.val_losses) == 3 and history.lrs == [0.1, 0.1, 0.1]
    assert history.val_losses[2] < history.val_losses[0]
    text = repr(history)
    assert text.startswith("History(150 steps, 3 epochs, last loss ") and "val_loss" in text
    assert len(text) < 100  # not every step's loss


def test_history_unknown_metric():
    history = History([1.0], [{"epoch": 1, "loss": 1.0}])
    with pytest.raises(InvalidArgumentError, match="no metric 'acc'"):
        history.metric("acc")


def test_training_accuracy_is_tracked_for_class_labels():
    # Scores x @ W with W = identity: the predicted class is the larger input.
    W = Tensor(np.eye(2), requires_grad=True)
    Xc = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [1.0, 0.0]])
    yc = np.array([0, 1, 1, 0])

    def model(x):
        return x @ W

    def loss_fn(out, y):
        return (out * 0.0).sum()  # zero gradient: W stays the identity

    history = fit(model, loss_fn, GD([W], 0.1), [(Xc, yc)], epochs=1, progress=False)
    assert history.epochs[0]["accuracy"] == 0.75


def test_accuracy_argmax_one_hot_and_single_output():
    W = Tensor(np.eye(2))
    Xc = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]])
    assert accuracy(lambda x: x @ W, Xc, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(lambda x: x @ W, Xc, np.eye(2)[[0, 1, 1]]) == pytest.approx(2 / 3)
    scores = np.array([[-1.0], [2.0], [0.5]])
    assert accuracy(lambda x: x, scores, np.array([0, 1, 0])) == pytest.approx(2 / 3)
    assert accuracy(lambda x: x, scores, np.array([-1, 1, 1])) == 1.0
    assert accuracy(lambda x: x, scores, np.array([0, 1, 0]), threshold=1.0) == 1.0


def test_accuracy_errors():
    with pytest.raises(ShapeError, match="3 samples but y has 2"):
        accuracy(lambda x: x, np.zeros((3, 2)), np.zeros(2))


def test_evaluate_regression_has_no_accuracy():
    loss, acc = evaluate(Line(2.0), mse, X, Y)
    assert loss == 0.0 and acc is None


# ----------------------------------------------------------------------------- fit(jit=True)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_fit_with_jit_gives_the_same_history_as_eager(kind):
    from tinygrad_edu.data import DataLoader
    from tinygrad_edu.losses import cross_entropy, mse_loss
    from tinygrad_edu.nn import MLP
    from tinygrad_edu.optim import Adam
    from tinygrad_edu.optim.schedules import StepDecay

    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 4)).astype(np.float32)  # 70 = 4 batches of 16 and one of 6
    y = (X[:, 0] > 0).astype(int) if kind == "classification" else X[:, :2] * 2.0
    loss_fn = cross_entropy if kind == "classification" else mse_loss

    def train(jit):
        model = MLP([4, 12, 2], activation="tanh", rng=1)
        opt = Adam(model.parameters(), lr=0.05)
        loader = DataLoader(X, y.astype(np.float32) if kind == "regression" else y,
                            batch_size=16, rng=2)
        history = fit(model, loss_fn, opt, loader, epochs=4, val_data=(X, y),
                      scheduler=StepDecay(opt, 2, 0.5), progress=False, jit=jit)
        return history, model

    (eager, m1), (compiled, m2) = train(False), train(True)
    assert compiled.losses == eager.losses and len(eager.losses) == 20
    assert compiled.epochs == eager.epochs
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(q.data, p.data)


def test_fit_with_jit_stops_on_a_nan_loss_before_the_update():
    from tinygrad_edu.losses import mse_loss
    from tinygrad_edu.nn import Linear
    from tinygrad_edu.optim import SGD

    X = np.ones((4, 2), np.float32)
    batches = [(X, np.ones((4, 1), np.float32))] * 3 + [(X, np.full((4, 1), np.nan, np.float32))]
    model = Linear(2, 1, rng=0)
    with pytest.warns(TrainingWarning, match="became nan at epoch 1, step 4"):
        history = fit(model, mse_loss, SGD(model.parameters(), lr=0.1), batches, epochs=1,
                      progress=False, jit=True)
    assert len(history.losses) == 3 and np.isfinite(model.weight.data).all()
