"""jit: a recorded training step replayed as a numpy program gives eager mode's numbers.

Every test trains two twins from the same seed, one eagerly and one through ``jit``, and
compares losses, gradients and parameters after every step (float64, rtol 1e-12).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from tinygrad_edu import Tensor, jit, no_grad, set_default_dtype
from tinygrad_edu.errors import BackwardError, InvalidArgumentError
from tinygrad_edu.jit import JitMismatchError, JitWarning
from tinygrad_edu.losses import cross_entropy, mse_loss
from tinygrad_edu.nn import MLP, BatchNorm1d, Dropout, Linear, Sequential, Tanh
from tinygrad_edu.optim import SGD, Adam, RMSProp
from tinygrad_edu.optim.schedules import LambdaSchedule


@pytest.fixture(autouse=True)
def float64():
    set_default_dtype(np.float64)
    yield
    set_default_dtype(np.float32)


def twins(make):
    """Two identical (model, optimizer) pairs, built by ``make`` from the same seeds."""
    return make(), make()


def training_step(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def assert_same(eager_model, jit_model, eager_loss, jit_loss):
    np.testing.assert_allclose(jit_loss.data, eager_loss.data, rtol=1e-12, atol=0)
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=0)
        if p.grad is None:
            assert q.grad is None
        else:
            np.testing.assert_allclose(q.grad, p.grad, rtol=1e-12, atol=0)


def batch(rng, n, loss, n_in=5, n_out=3):
    x = rng.normal(size=(n, n_in))
    y = rng.normal(size=(n, n_out)) if loss is mse_loss else rng.integers(0, n_out, n)
    return x, y


OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9),
    "adam": lambda ps: Adam(ps, lr=0.01),
}


@pytest.mark.parametrize("loss_fn", [mse_loss, cross_entropy])
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_replay_equals_eager_over_many_steps(loss_fn, opt_name, activation):
    def make():
        model = MLP([5, 40, 30, 3], activation=activation, rng=1)  # 40 x 30 > SMALL: buffers
        return model, OPTIMIZERS[opt_name](model.parameters())

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, loss_fn), jit(training_step(m2, o2, loss_fn))
    rng = np.random.default_rng(0)
    for _ in range(22):
        x, y = batch(rng, 48, loss_fn)  # a new batch every step
        assert_same(m1, m2, eager(x, y), step(x, y))
    assert step.replays == 20


def test_a_learning_rate_schedule_is_read_live():
    def make():
        model = MLP([5, 8, 3], activation="tanh", rng=2)
        opt = SGD(model.parameters(), lr=0.2, momentum=0.5)
        return model, opt, LambdaSchedule(opt, lambda t: 1.0 / (1 + t))

    (m1, o1, s1), (m2, o2, s2) = twins(make)
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = batch(rng, 16, mse_loss)
        assert_same(m1, m2, eager(x, y), step(x, y))
        s1.step()
        s2.step()
        o1.lr = o2.lr = o1.lr * 1.01 if o1.lr < 0.05 else o1.lr  # set by hand too
    assert step.replays == 18
    assert o2.lr != 0.2


def test_a_new_batch_shape_records_again_and_says_so_once():
    (m1, o1), (m2, o2) = twins(lambda: (m := MLP([5, 6, 3], rng=3), Adam(m.parameters())))
    eager, step = training_step(m1, o1, cross_entropy), jit(training_step(m2, o2, cross_entropy))
    rng = np.random.default_rng(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in [8, 8, 8, 8, 5, 5, 5, 8, 8, 8, 5, 5]:
            x, y = batch(rng, n, cross_entropy)
            assert_same(m1, m2, eager(x, y), step(x, y))
    messages = [str(w.message) for w in caught if issubclass(w.category, JitWarning)]
    assert messages == [
        "jit(step): recording the step again: argument 0 now has shape (5, 5) (it had (8, 5))"
    ]
    # Replayed: calls 3-4 (8 rows), 7 (5 rows), then both programs are kept: 8-10 and 11-12.
    assert step.replays == 8


def test_no_grad_and_requires_grad_changes_are_not_replayed():
    (m1, o1), (m2, o2) = twins(lambda: (m := MLP([5, 6, 3], rng=4), SGD(m.parameters(), lr=0.1)))
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(3)
    for _ in range(4):
        x, y = batch(rng, 8, mse_loss)
        assert_same(m1, m2, eager(x, y), step(x, y))
    before = [p.data.copy() for p in m2.parameters()]
    with no_grad(), pytest.warns(JitWarning, match="inside no_grad"):
        with pytest.raises(BackwardError):  # as eagerly: nothing to backpropagate
            step(x, y)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, m2.parameters()))
    # Freezing the first layer: a new recording, in which it does not move.
    for model in (m1, m2):
        model.layers[0].weight.requires_grad = False
    frozen = m2.layers[0].weight.data.copy()
    with pytest.warns(JitWarning, match="recording the step again"):
        for _ in range(6):
            x, y = batch(rng, 8, mse_loss)
            assert_same(m1, m2, eager(x, y), step(x, y))
    np.testing.assert_array_equal(m2.layers[0].weight.data, frozen)
    assert step.replays == 2 + 4


def test_control_flow_that_changes_the_operations_is_refused_and_runs_eagerly():
    def make():
        model = MLP([5, 6, 3], rng=5)
        return model, SGD(model.parameters(), lr=0.1)

    (m1, o1), (m2, o2) = twins(make)
    calls = {"eager": 0, "jit": 0}

    def stepper(model, opt, who):
        def step(x, y):
            calls[who] += 1
            opt.zero_grad()
            out = model(x)
            if calls[who] % 2 == 0:  # every other call adds an operation
                out = out * 2.0
            loss = mse_loss(out, y)
            loss.backward()
            opt.step()
            return loss

        return step

    eager, step = stepper(m1, o1, "eager"), jit(stepper(m2, o2, "jit"))
    rng = np.random.default_rng(4)
    with pytest.warns(JitWarning, match="two recordings differ.*running it eagerly"):
        for _ in range(8):
            x, y = batch(rng, 8, mse_loss)
            assert_same(m1, m2, eager(x, y), step(x, y))
    assert step.replays == 0


def test_verify_catches_what_the_recording_cannot_see():
    model = MLP([5, 6, 3], rng=6)
    opt = SGD(model.parameters(), lr=0.1)

    @jit(verify=True)
    def step(x, y):
        opt.zero_grad()
        loss = mse_loss(model(x), y)
        loss.backward()
        for p in model.parameters():  # numpy on .grad: invisible to the recording
            np.clip(p.grad, -0.01, 0.01, out=p.grad)
        opt.step()
        return loss

    rng = np.random.default_rng(5)
    x, y = batch(rng, 8, mse_loss)
    step(x, y)
    step(x, y)
    with pytest.raises(JitMismatchError, match="parameter 0 .* differs after the step"):
        step(x, y)


def verified_twins(make, loss_fn, seed, steps):
    """Train two twins from ``make`` for ``steps`` batches, one eagerly and one through
    ``jit(..., verify=True)``, comparing them after every step; returns both models and the
    jitted step."""
    (m1, o1), (m2, o2) = twins(make)
    eager = training_step(m1, o1, loss_fn)
    step = jit(training_step(m2, o2, loss_fn), verify=True)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x, y = batch(rng, 8, loss_fn)
        assert_same(m1, m2, eager(x, y), step(x, y))
    return m1, m2, step


def test_verify_passes_an_honest_step_and_leaves_eager_state():
    def make():
        model = MLP([5, 7, 3], rng=7)
        return model, Adam(model.parameters())

    _, _, step = verified_twins(make, cross_entropy, 6, 6)
    assert step.replays == 4


def test_dropout_draws_a_new_mask_on_every_replay():
    def make():
        model = Sequential(Linear(5, 9, rng=8), Tanh(), Dropout(0.3, rng=9), Linear(9, 3, rng=10))
        return model, SGD(model.parameters(), lr=0.1)

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(7)
    x, y = batch(rng, 8, mse_loss)
    losses = []
    for _ in range(6):  # the same batch: only the mask changes the loss
        loss = step(x, y)
        assert_same(m1, m2, eager(x, y), loss)
        losses.append(loss.item())
    assert step.replays == 4 and len(set(losses)) == 6


def test_train_and_eval_mode_are_guarded():
    def make():
        model = Sequential(Linear(5, 9, rng=22), Tanh(), Dropout(0.5, rng=23), Linear(9, 3, rng=24))
        return model, SGD(model.parameters(), lr=0.1)

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(17)
    with pytest.warns(JitWarning, match="train/eval mode changed"):
        for i in range(9):
            if i == 4:  # dropout off: a replay with the mask would differ
                m1.eval()
                m2.eval()
            x, y = batch(rng, 8, mse_loss)
            assert_same(m1, m2, eager(x, y), step(x, y))
    assert step.replays == 2 + 3


def test_batchnorm_running_statistics_are_updated_by_replays():
    def make():
        model = Sequential(Linear(5, 9, rng=17), BatchNorm1d(9), Tanh(), Linear(9, 3, rng=18))
        return model, SGD(model.parameters(), lr=0.1, momentum=0.5)

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(14)
    for _ in range(6):
        x, y = batch(rng, 8, mse_loss)
        assert_same(m1, m2, eager(x, y), step(x, y))
    bn1, bn2 = m1[1], m2[1]
    np.testing.assert_allclose(bn2.running_mean, bn1.running_mean, rtol=1e-12, atol=0)
    np.testing.assert_allclose(bn2.running_var, bn1.running_var, rtol=1e-12, atol=0)
    assert step.replays == 4 and not np.allclose(bn2.running_mean, 0)


def test_verify_updates_batchnorm_statistics_once_per_call():
    # verify=True runs the replay and then eager mode from the same saved state: the running
    # statistics the replay wrote are part of that state, so eager mode's update is the only one.
    def make():
        model = Sequential(Linear(5, 9, rng=17), BatchNorm1d(9), Tanh(), Linear(9, 3, rng=18))
        return model, SGD(model.parameters(), lr=0.1)

    m1, m2, step = verified_twins(make, mse_loss, 15, 5)
    np.testing.assert_array_equal(m2[1].running_mean, m1[1].running_mean)
    np.testing.assert_array_equal(m2[1].running_var, m1[1].running_var)
    assert step.replays == 3


def test_labels_are_checked_on_every_replay():
    model = MLP([5, 6, 3], rng=11)
    step = jit(training_step(model, SGD(model.parameters(), lr=0.1), cross_entropy))
    rng = np.random.default_rng(8)
    for _ in range(3):
        step(*batch(rng, 8, cross_entropy))
    x, y = batch(rng, 8, cross_entropy)
    y[3] = 7
    with pytest.raises(InvalidArgumentError, match=r"labels must be class indices in \[0, 3\)"):
        step(x, y)
    assert step.replays == 2  # the guard let it replay; the check inside refused the labels


def test_other_optimisers_replay_through_their_own_step():
    (m1, o1), (m2, o2) = twins(lambda: (m := MLP([5, 6, 3], rng=12), RMSProp(m.parameters(), 0.01)))
    eager, step = training_step(m1, o1, mse_loss), jit(training_step(m2, o2, mse_loss))
    rng = np.random.default_rng(9)
    for _ in range(8):
        x, y = batch(rng, 8, mse_loss)
        assert_same(m1, m2, eager(x, y), step(x, y))
    assert step.replays == 6


def test_gradients_left_after_the_step_equal_eager_ones():
    def make():
        model = MLP([5, 40, 3], rng=13)
        return model, SGD(model.parameters(), lr=0.1)

    (m1, o1), (m2, o2) = twins(make)

    def stepper(model, opt):  # zero_grad first: the gradients stay for the caller to read
        def step(x, y):
            opt.zero_grad()
            loss = cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    eager, step = stepper(m1, o1), jit(stepper(m2, o2))
    rng = np.random.default_rng(10)
    for _ in range(5):
        x, y = batch(rng, 30, cross_entropy)
        assert_same(m1, m2, eager(x, y), step(x, y))
        assert all(q.grad is not None for q in m2.parameters())


def test_unsupported_steps_run_eagerly_with_one_warning():
    (m1, o1), (m2, o2) = twins(lambda: (m := MLP([5, 6, 3], rng=14), SGD(m.parameters(), lr=0.1)))

    def stepper(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = mse_loss(model(x), y)
            loss.backward(retain_graph=True)
            opt.step()
            return loss

        return step

    eager, step = stepper(m1, o1), jit(stepper(m2, o2))
    rng = np.random.default_rng(11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            x, y = batch(rng, 8, mse_loss)
            assert_same(m1, m2, eager(x, y), step(x, y))
    said = [str(w.message) for w in caught if issubclass(w.category, JitWarning)]
    assert said == ["jit(step): the step uses backward(retain_graph=True), which a replay cannot "
                    "repeat; running it eagerly"]
    assert step.replays == 0


def test_a_step_that_returns_a_number_is_refused():
    model = MLP([5, 6, 3], rng=15)
    opt = SGD(model.parameters(), lr=0.1)

    @jit
    def step(x, y):
        opt.zero_grad()
        loss = mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    x, y = batch(np.random.default_rng(12), 8, mse_loss)
    with pytest.warns(JitWarning, match="return the loss Tensor"):
        assert isinstance(step(x, y), float)
    assert isinstance(step(x, y), float) and step.replays == 0


def test_the_program_is_readable_numpy():
    model = MLP([5, 40, 3], activation="relu", rng=16)
    step = jit(training_step(model, SGD(model.parameters(), lr=0.1), cross_entropy))
    assert step.program.startswith("# not recorded yet")
    rng = np.random.default_rng(13)
    for _ in range(3):
        step(*batch(rng, 64, cross_entropy))
    text = step.program
    lines = text.splitlines()
    assert "def replay(a0, a1):" in lines and lines[0].startswith("# buffers b0..b")
    assert "    np.matmul(d0, w0T_1, out=b0)" in lines  # x W^T into a buffer
    assert "    np.add(b0, w1, out=b0)" in lines  # the bias added in place
    assert "    np.maximum(b0, k2, out=b0)  # k2 = 0" in lines  # ReLU over its own input
    assert any(" = indices_none_ignored_" in line for line in lines)  # the labels checked again
    assert "    P0._grad = t" in "\n".join(lines)  # dL/dW1, a new small array
    assert "    np.subtract(w0, sgd" in "\n".join(lines)  # SGD in place
    assert lines[-1].startswith("    return _own(")  # the loss, a new array each call
    compile(text, "<program>", "exec")  # it is the source that runs


def test_tensor_arguments_and_results_without_graph():
    w = Tensor(np.array([[1.0, -1.0]]), requires_grad=True)
    opt = SGD([w], lr=0.25)

    @jit
    def step(x):
        loss = (x @ w.T).sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    x = Tensor(np.array([[1.0, 2.0], [3.0, 5.0]]))
    values = [step(x).item() for _ in range(4)]
    np.testing.assert_allclose(values, [-3.0, -19.25, -35.5, -51.75], rtol=1e-12)
    assert step.replays == 2 and w.grad is None
    assert not step(x).requires_grad


def test_operations_without_a_replay_rule_replay_through_their_own_methods():
    def make():
        w = Tensor(np.random.default_rng(19).normal(size=(5, 6)), requires_grad=True)
        v = Tensor(np.random.default_rng(20).normal(size=(6,)), requires_grad=True)
        return [w, v], Adam([w, v], lr=0.01)

    def stepper(params, opt):
        w, v = params

        def step(x, t):
            opt.zero_grad()
            h = (x @ w).sigmoid() * v + (x @ w).softsign()  # broadcast v: summed back
            h = Tensor.concatenate([h[:, :3].exp().log(), h[:, 3:].clip(-0.5, 0.5)], axis=1)
            h = h.softmax(axis=-1) + h.log_softmax(axis=0) * 0.1 + h.max(axis=1, keepdims=True)
            h = Tensor.where(h > 0.2, h, -h).leaky_relu(0.1) ** 2  # the mask: an input
            loss = mse_loss(h.mean(axis=1), t) + (v * v).sum() / 10
            loss.backward()
            opt.step()
            return loss

        return step

    (p1, o1), (p2, o2) = twins(make)
    eager, step = stepper(p1, o1), jit(stepper(p2, o2))
    rng = np.random.default_rng(15)
    for _ in range(8):
        x, t = rng.normal(size=(7, 5)), rng.integers(0, 2, 7).astype(float)
        l1, l2 = eager(x, t), step(x, t)
        np.testing.assert_allclose(l2.data, l1.data, rtol=1e-12, atol=0)
        for a, b in zip(p1, p2):
            np.testing.assert_allclose(b.data, a.data, rtol=1e-12, atol=0)
    assert step.replays == 6


def test_a_constant_made_from_the_data_is_refused_with_the_reason():
    model = MLP([5, 6, 3], rng=21)
    opt = SGD(model.parameters(), lr=0.1)

    @jit
    def step(x, y):
        opt.zero_grad()
        out = model(x)
        mask = (out.data > 0).astype(out.dtype)  # numpy on .data: the recording sees a constant
        loss = mse_loss(out * mask, y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(16)
    x, y = batch(rng, 8, mse_loss)
    # The same batch both times: equal values, but made anew by each call, so a replay would
    # keep the second recording's mask for every later batch. Refused all the same.
    with pytest.warns(JitWarning, match=r"\(Mul\) got for its input 1 the constant an array "
                                        r"of shape \(8, 3\) the first time.*running it eagerly"):
        for _ in range(3):
            step(x, y)
    assert step.replays == 0


def test_anomaly_mode_and_the_default_dtype_are_guarded():
    from tinygrad_edu.autograd import detect_anomaly

    model = MLP([5, 6, 3], rng=25)
    step = jit(training_step(model, SGD(model.parameters(), lr=0.1), mse_loss))
    rng = np.random.default_rng(18)
    for _ in range(3):
        step(*batch(rng, 8, mse_loss))
    assert step.replays == 1
    x, y = batch(rng, 8, mse_loss)
    y[0, 0] = np.inf  # the loss becomes inf: detect_anomaly must see it, so no replay
    with detect_anomaly(), pytest.warns(JitWarning, match="detect_anomaly"):
        with pytest.raises(Exception, match="produced inf"):
            step(x, y)
    set_default_dtype(np.float32)
    with pytest.warns(JitWarning, match="default dtype is now float32"):
        step(*batch(rng, 8, mse_loss))
    assert step.replays == 1


def test_float64_batches_for_a_float32_model_are_converted_on_every_replay():
    set_default_dtype(np.float32)

    def make():
        model = MLP([5, 6, 3], rng=26)
        return model, SGD(model.parameters(), lr=0.1)

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, cross_entropy), jit(training_step(m2, o2, cross_entropy))
    rng = np.random.default_rng(19)
    for _ in range(6):
        x, y = batch(rng, 8, cross_entropy)  # float64 x: each layer's input converted
        assert_same(m1, m2, eager(x, y), step(x, y))
    assert step.replays == 4


def test_an_inference_step_leaves_gradients_alone():
    model = MLP([4, 8, 3], rng=27)
    opt = SGD(model.parameters(), lr=0.1)

    @jit
    def predict(x):
        with no_grad():
            return model(x).softmax(axis=-1)

    x = np.random.default_rng(20).normal(size=(5, 4))
    mse_loss(model(x), np.zeros((5, 3))).backward()  # gradients waiting for a step
    grads = [p.grad for p in model.parameters()]
    outs = [predict(x) for _ in range(4)]
    assert predict.replays == 2 and all(p.grad is g for p, g in zip(model.parameters(), grads))
    np.testing.assert_array_equal(outs[3].data, outs[0].data)
    opt.zero_grad()
    assert predict(x).shape == (5, 3) and predict.replays == 3


def test_a_leaf_made_inside_the_step_is_refused():
    @jit
    def step(x):
        w = Tensor(np.ones(3), requires_grad=True)  # a new parameter every call
        loss = (w * x).sum()
        loss.backward()
        return loss

    with pytest.warns(JitWarning, match=r"\(Mul\) got for its input 0 a parameter"):
        for _ in range(3):
            step(np.arange(3.0))
    assert step.replays == 0


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_replayed_sgd_step_with_a_non_finite_gradient_changes_nothing(momentum):
    # As eager SGD.step: all or nothing, even when the update is inlined in the program.
    model = MLP([5, 8, 3], activation="tanh", rng=3)
    opt = SGD(model.parameters(), lr=0.1, momentum=momentum)
    step = jit(training_step(model, opt, mse_loss))
    rng = np.random.default_rng(4)
    for _ in range(4):
        step(*batch(rng, 16, mse_loss))
    assert step.replays >= 1
    before = [p.data.copy() for p in model.parameters()]
    velocity = [{k: v.copy() for k, v in s.items()} for s in opt.state]
    x, y = batch(rng, 16, mse_loss)
    y[0, 0] = np.inf  # a target of inf: every gradient of the step is inf or NaN
    with pytest.raises(InvalidArgumentError, match="inf or NaN; nothing was changed"):
        step(x, y)
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)
    for s, old in zip(opt.state, velocity):
        for k in old:
            np.testing.assert_array_equal(s[k], old[k])


def test_labels_equal_to_ignore_index_run_eagerly_and_give_eager_numbers():
    # The program has no mask for ignored labels: such a batch runs eagerly (one warning),
    # whether it comes while recording or at a replay; the others replay. Equal to eager.
    def make():
        model = MLP([5, 40, 3], activation="relu", rng=21)
        return model, SGD(model.parameters(), lr=0.1, momentum=0.5)

    (m1, o1), (m2, o2) = twins(make)
    eager, step = training_step(m1, o1, cross_entropy), jit(training_step(m2, o2, cross_entropy))
    rng = np.random.default_rng(21)
    ignored = {0, 4, 5, 9}  # while recording, at a replay, twice in a row
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(12):
            x, y = batch(rng, 16, cross_entropy)
            if k in ignored:
                y[[2, 7]] = -100
            assert_same(m1, m2, eager(x, y), step(x, y))
    messages = [str(w.message) for w in caught if issubclass(w.category, JitWarning)]
    assert len(messages) == 2
    assert "cross_entropy got labels equal to ignore_index=-100: such a call runs eagerly" in (
        messages[0])
    assert "a batch ran eagerly, the program refused it" in messages[1]
    assert step.replays == 9  # calls 3-11 passed the guard; the program refused 4, 5 and 9


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_float32_replay_is_bit_for_bit_eager_with_numbers_in_the_step(momentum):
    # The program multiplies by the rate and by the step's Python numbers as 0-d float32
    # arrays: numpy casts a Python number to float32 anyway, so the bits are eager's.
    set_default_dtype(np.float32)

    def make():
        model = Sequential(Linear(5, 7, rng=22), Tanh(), Linear(7, 3, rng=23))
        return model, SGD(model.parameters(), lr=0.1, momentum=momentum)

    def stepper(model, opt):
        def step(x, y):
            opt.zero_grad()
            out = model(x) * 1.7 + 0.3
            loss = mse_loss(1 - out.tanh() * 0.5, y)
            loss.backward()
            opt.step()
            return loss

        return step

    (m1, o1), (m2, o2) = twins(make)
    eager, step = stepper(m1, o1), jit(stepper(m2, o2))
    rng = np.random.default_rng(22)
    for k in range(12):
        x, y = (a.astype(np.float32) for a in batch(rng, 9, mse_loss))
        o1.lr = o2.lr = 0.1 / (1 + k)  # rates no float32 holds exactly
        a, b = eager(x, y), step(x, y)
        assert a.data.dtype == b.data.dtype == np.float32
        np.testing.assert_array_equal(b.data, a.data)
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(q.data, p.data)
            np.testing.assert_array_equal(q.grad, p.grad)
    assert step.replays == 10 and " = 1.7" in step.program  # a number became a 0-d array


def _one_weight_twins(w0: list[float], dtype: Any) -> tuple[Any, ...]:
    """w and its SGD twice: L = sum(w * c) stepped eagerly and jitted, until one replay ran."""
    c = Tensor(np.array([-1.0, 1.0], dtype))

    def make():
        w = Tensor(np.array(w0, dtype), requires_grad=True)
        return w, SGD([w], lr=0.1)

    def stepper(w, opt):
        def step():
            opt.zero_grad()
            loss = (w * c).sum()
            loss.backward()
            opt.step()
            return loss

        return step

    (w1, o1), (w2, o2) = twins(make)
    eager, step = stepper(w1, o1), jit(stepper(w2, o2))
    for _ in range(3):
        eager(), step()
    assert step.replays == 1
    return w1, o1, w2, o2, eager, step


def _both_refuse(eager: Any, step: Any, w: Tensor) -> None:
    before = w.data.copy()
    for run in (eager, step):
        with pytest.raises(InvalidArgumentError, match="inf or NaN; nothing was changed"):
            run()
    np.testing.assert_array_equal(w.data, before)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("rate, refused", [(1e36, False), (2e38, True)])
def test_a_replayed_sgd_step_with_a_huge_rate_does_what_eager_does(rate, refused):
    # Updates eta g of 1e36 or 2e38 are finite, but their sum of squares overflows float32,
    # so the program's one-dot proof fails: then every new weight is checked, as the staged
    # step checks it. With 2e38, w0 - eta g0 = 2e38 + 2e38 is inf: refused, nothing changed.
    set_default_dtype(np.float32)
    w1, o1, w2, o2, eager, step = _one_weight_twins([2e38, 1.0], np.float32)
    o1.lr = o2.lr = rate
    if refused:
        _both_refuse(eager, step, w2)
    else:
        eager(), step()
        assert np.isfinite(w2.data).all()
    assert step.replays == 2
    np.testing.assert_array_equal(w2.data, w1.data)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_weight_made_inf_by_hand_between_replays_is_refused_as_eager_refuses_it():
    # The program's one-dot proof covers the updates and assumes finite weights; a weight
    # changed in place since the last replay (here to inf) is checked again, as eager checks it.
    w1, o1, w2, o2, eager, step = _one_weight_twins([3.0, 1.0], np.float64)
    for w in (w1, w2):
        with no_grad():
            w += Tensor(np.array([np.inf, 0.0]))
    _both_refuse(eager, step, w2)
    np.testing.assert_array_equal(w2.data, w1.data)
    assert step.replays == 2  # refused by the replay itself, not by a fallback to eager


def test_float32_cross_entropy_relu_replay_is_bit_for_bit_eager():
    # The program picks x[i, y_i] through flat positions and compares ReLU's buffers with a
    # 0-d float32 zero: the same numbers as eager's x[rows, y] and max(x, 0), in every bit.
    set_default_dtype(np.float32)

    def make():
        model = MLP([6, 48, 5], activation="relu", rng=31)  # 40 x 48 > SMALL: buffers
        return model, SGD(model.parameters(), lr=0.3)

    (m1, o1), (m2, o2) = twins(make)
    eager = training_step(m1, o1, cross_entropy)
    step = jit(training_step(m2, o2, cross_entropy))
    rng = np.random.default_rng(31)
    for _ in range(10):
        x = rng.normal(size=(40, 6)).astype(np.float32) * 3
        y = rng.integers(0, 5, 40)
        a, b = eager(x, y), step(x, y)
        np.testing.assert_array_equal(b.data, a.data)
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert q.data.tobytes() == p.data.tobytes() and q.grad.tobytes() == p.grad.tobytes()
    assert step.replays == 8 and ".take(" in step.program and "k2 = 0" in step.program
