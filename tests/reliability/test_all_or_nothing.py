"""A step, a load, a backward pass or a training run either completes or changes nothing.

Each test builds a half-valid update (the last parameter's gradient overflows, the last entry
of a state is out of range, one gradient has the wrong shape ...) and checks that when the
error comes, every parameter, gradient and state array is exactly what it was before.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import CheckpointError, DTypeError, InvalidArgumentError, ShapeError, Tensor
from tinygrad_edu.data import DataLoader
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP, Linear
from tinygrad_edu.optim import SGD, AdaGrad, Adam, RMSProp
from tinygrad_edu.train import fit

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]])
Y = np.array([0, 1, 2, 1])

ADAPTIVE = {
    "Adam": lambda ps: Adam(ps, lr=0.01),
    "AdaGrad": lambda ps: AdaGrad(ps, lr=0.01),
    "RMSProp": lambda ps: RMSProp(ps, lr=0.01),
    "SGD-momentum": lambda ps: SGD(ps, lr=0.01, momentum=0.9),
}


def two_params():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0, 5.0]), requires_grad=True)
    return a, b


def snapshot(opt):
    return (
        [p.data.copy() for p in opt.params],
        [{k: v.copy() for k, v in s.items()} for s in opt.state],
        opt.step_count,
    )


def assert_unchanged(opt, snap):
    data, state, count = snap
    for p, before in zip(opt.params, data):
        np.testing.assert_array_equal(p.data, before)
    for s, before in zip(opt.state, state):
        assert s.keys() == before.keys()
        for key in s:
            np.testing.assert_array_equal(s[key], before[key], err_msg=key)
    assert opt.step_count == count


def warm(opt):
    """Two ordinary steps, so that every state array holds something non-trivial."""
    for _ in range(2):
        for p in opt.params:
            p.grad = np.linspace(0.5, 1.5, p.size).reshape(p.shape)
        opt.step()


# ----------------------------------------------------------------------------- step


SQUARING = {k: v for k, v in ADAPTIVE.items() if k != "SGD-momentum"}  # they square g


@pytest.mark.parametrize("make", SQUARING.values(), ids=SQUARING.keys())
def test_a_raising_errstate_mid_step_changes_nothing(make):
    a, b = two_params()
    opt = make([a, b])
    warm(opt)
    snap = snapshot(opt)
    a.grad = np.array([0.1, 0.2])
    b.grad = np.array([1e200, 1.0, 1.0])  # g**2 overflows, in the second parameter
    with np.errstate(all="raise"):
        with pytest.raises(FloatingPointError, match="parameter 1.*nothing was changed"):
            opt.step()
    assert_unchanged(opt, snap)


@pytest.mark.parametrize("make", ADAPTIVE.values(), ids=ADAPTIVE.keys())
def test_a_step_that_would_make_a_value_non_finite_changes_nothing(make):
    a, b = two_params()
    opt = make([a, b])
    warm(opt)
    snap = snapshot(opt)
    a.grad = np.array([0.1, 0.2])
    b.grad = np.array([np.inf, 1.0, 1.0])
    with np.errstate(all="ignore"):
        with pytest.raises(InvalidArgumentError, match="parameter 1 .*inf or NaN"):
            opt.step()
    assert_unchanged(opt, snap)


# A gradient element: ordinary, huge (its square overflows float64) or not a number at all.
GRAD_ELEMENT = st.one_of(
    st.floats(-10, 10), st.sampled_from([1e200, -1e300, np.inf, -np.inf, np.nan])
)


@given(
    name=st.sampled_from(sorted(ADAPTIVE)),
    grads=st.tuples(st.lists(GRAD_ELEMENT, min_size=2, max_size=2),
                    st.lists(GRAD_ELEMENT, min_size=3, max_size=3)),
    raising=st.booleans(),
)
def test_a_step_completes_or_changes_nothing(name, grads, raising):
    """Whatever the gradients, a step either moves to finite values or changes nothing."""
    a, b = two_params()
    opt = ADAPTIVE[name]([a, b])
    warm(opt)
    snap = snapshot(opt)
    a.grad, b.grad = np.array(grads[0]), np.array(grads[1])
    with np.errstate(all="raise" if raising else "ignore"):
        try:
            opt.step()
        except (FloatingPointError, InvalidArgumentError):
            assert_unchanged(opt, snap)
            return
    assert opt.step_count == snap[2] + 1
    for p in opt.params:
        assert np.isfinite(p.data).all()
    for state in opt.state:
        for value in state.values():
            assert np.isfinite(value).all()


def test_the_errstate_the_caller_set_is_respected():
    """Under numpy's default (warn), a huge but finite update is made as computed."""
    a = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([a], lr=1.0)
    a.grad = np.array([1e300])
    opt.step()
    assert a.data[0] == 1.0 - 1e300


def test_sgd_with_integer_data_fails_clearly_before_moving_anything():
    a, b = two_params()
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.ones(2), np.ones(3)
    b._data = np.array([1, 2, 3])  # bypasses the .data check, as old code or numpy could
    with pytest.raises(DTypeError, match="parameter 1 .*int64 data; only real floating"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(opt.state[0]["velocity"], [0.0, 0.0])


@pytest.mark.parametrize(
    "grad, shown",
    [
        (np.array([1 + 2j, 0, 0]), "complex128"),
        (np.array([None] * 3), "object"),
        ("abc", "str"),
        ([[1.0], [1.0, 2.0]], "list"),
    ],
    ids=["complex", "none-filled", "string", "ragged"],
)
def test_a_grad_that_is_not_real_numbers_is_refused_by_step(grad, shown):
    a, b = two_params()
    opt = Adam([a, b])
    a.grad = np.ones(2)
    with pytest.raises((DTypeError, ShapeError), match="t.grad = value"):
        b.grad = grad  # refused on assignment ...
    _force_grad(b, grad)  # ... and, put in place behind that check, by step
    with pytest.raises(DTypeError, match=rf"gradient of parameter 1 .*{shown}"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])


def _force_grad(t, grad):
    """Set .grad without the assignment's checks (the slot itself)."""
    Tensor._grad.__set__(t, grad)


@pytest.mark.parametrize("value", ["0.9", np.array([0.9, 0.1]), 1.5, float("nan"), None])
def test_hyper_parameters_are_checked_on_assignment(value):
    opt = SGD([Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.5)
    message = r"SGD: momentum must be a finite number in \[0, 1\)"
    with pytest.raises(InvalidArgumentError, match=message):
        opt.momentum = value
    assert opt.momentum == 0.5


def test_every_hyper_parameter_is_checked_on_assignment():
    opt = Adam([Tensor([1.0], requires_grad=True)])
    with pytest.raises(InvalidArgumentError, match=r"betas must be a pair"):
        opt.betas = 0.9
    with pytest.raises(InvalidArgumentError, match=r"eps must be a finite number"):
        opt.eps = "1e-8"
    opt.eps = 1e-6  # a valid value is taken, as a float
    assert opt.eps == 1e-6 and type(opt.eps) is float


@pytest.mark.parametrize(
    "state, shown",
    [
        ([[1.0], [1.0, 2.0]], "list"),
        (np.zeros((2, 2)), r"shape \(2, 2\)"),
        (np.array(["a", "b"]), "<U1"),
    ],
    ids=["ragged", "wrong-shape", "strings"],
)
def test_a_spoiled_state_is_refused_by_step(state, shown):
    a, b = two_params()
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.ones(2), np.ones(3)
    opt.state[0]["velocity"] = state
    with pytest.raises(ShapeError, match=rf"state 'velocity' of parameter 0 is .*{shown}"):
        opt.step()
    np.testing.assert_array_equal(b.data, [3.0, 4.0, 5.0])


# ----------------------------------------------------------------------------- load_state_dict


def test_module_load_state_dict_checks_float32_overflow_before_copying():
    model = MLP([2, 3, 3], rng=0)  # float32, the default
    before = model.state_dict()
    state = {k: v.astype(np.float64) for k, v in before.items()}
    last = list(state)[-1]
    state[last][-1] = 1e300  # fine in float64, inf in the model's float32
    with pytest.raises(CheckpointError, match=rf"'{last}'.*1e\+300 are too large .*float32"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("state.1.v", lambda v: -np.abs(v) - 1, "cannot be negative"),
        ("state.1.m", lambda v: np.full(v.shape, 1e300), "too large for float32"),
        ("state.1.m", lambda v: np.full_like(v, np.nan), "inf or NaN"),
        ("state.1.m", lambda v: [[1.0], [1.0, 2.0]], "ragged"),
        ("state.1.m", lambda v: v.astype(complex), "real numbers"),
        ("lr", lambda v: np.array([0.1, 0.2]), "lr must be a finite number"),
    ],
    ids=["negative-second-moment", "overflow", "nan", "ragged", "complex", "array-lr"],
)
def test_adam_load_state_dict_validates_everything_first(key, value, shown):
    model = MLP([2, 3, 3], rng=0)
    opt = Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        cross_entropy(model(X), Y).backward()
        opt.step()
    snap = snapshot(opt)
    state = opt.state_dict()
    state[key] = value(state[key])
    with pytest.raises(CheckpointError, match=shown):
        opt.load_state_dict(state)
    assert_unchanged(opt, snap)
    assert opt.lr == 0.01


# ----------------------------------------------------------------------------- backward


def test_backward_with_a_wrong_shaped_existing_grad_changes_nothing():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0, 5.0]), requires_grad=True)
    (b * b).sum().backward()  # b.grad has shape (3,) ...
    b.data = np.array([3.0, 4.0])  # ... and then b's data is replaced by another shape
    y = (a * b).sum()
    message = r"leaf of shape \(2,\) already has a \.grad of shape \(3,\)"
    with pytest.raises(ShapeError, match=message):
        y.backward()
    assert a.grad is None  # nothing was written
    b.grad = None
    y.backward()  # and the graph was not freed: the pass can run now
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0])


# ----------------------------------------------------------------------------- fit


def small_problem():
    model = MLP([2, 4, 3], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    loader = DataLoader(X, Y, batch_size=2, shuffle=False)
    return model, opt, loader


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"val_data": (X[:, :1], Y)}, "val_data"),
        ({"val_data": (X, Y[:2])}, r"val_data.*\(4, 2\).*\(2,\)"),
        ({"val_data": X}, r"val_data must be a pair \(X_val, y_val\)"),
        ({"scheduler": "cosine"}, "scheduler must be a schedule with a step"),
    ],
    ids=["wrong-features", "wrong-length", "not-a-pair", "string-scheduler"],
)
def test_fit_checks_its_arguments_before_the_first_epoch(kwargs, pattern):
    model, opt, loader = small_problem()
    before = model.state_dict()
    with pytest.raises(Exception, match=pattern) as excinfo:
        fit(model, cross_entropy, opt, loader, epochs=3, progress=False, **kwargs)
    assert excinfo.type.__name__ in ("ShapeError", "InvalidArgumentError")
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)  # no epoch ran


def test_fit_keeps_the_history_when_training_fails_midway():
    model, opt, loader = small_problem()
    calls = []

    class Boom:
        def step(self):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("the schedule broke")

    with pytest.raises(RuntimeError, match="the schedule broke") as excinfo:
        fit(model, cross_entropy, opt, loader, epochs=5, scheduler=Boom(), progress=False)
    history = excinfo.value.history
    assert len(history.epochs) == 2 and len(history.losses) == 4
    assert "fit stopped at epoch 2" in history.stop_reason
    assert any("history" in note for note in excinfo.value.__notes__)


def test_a_linear_layer_stays_usable_after_a_refused_step():
    layer = Linear(2, 1, rng=0)
    opt = Adam(layer.parameters(), lr=0.1)
    layer(np.ones((1, 2))).sum().backward()
    layer.bias.grad = np.array([np.nan])
    with pytest.raises(InvalidArgumentError):
        opt.step()
    layer.zero_grad()
    layer(np.ones((1, 2))).sum().backward()
    opt.step()
    assert np.isfinite(layer.weight.data).all()


def test_a_newton_step_that_overflows_float32_changes_nothing():
    """The Newton step is computed in float64; cast back to float32 it can overflow."""
    from tinygrad_edu.optim import Newton

    a = Tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    opt = Newton([a, b])

    def closure():
        opt.zero_grad()
        # Curvatures 1 and 1e-15 (well conditioned enough for float64), a gradient of -1e24
        # in b: b's step is 1e24 / 1e-15 = 1e39, finite in float64, beyond float32.
        loss = 0.5 * (a * a).sum() + (0.5e-15 * b * b - 1e24 * b).sum()
        loss.backward(create_graph=True)
        return loss

    with pytest.raises(InvalidArgumentError, match=r"parameter 1 .*inf or NaN in float32"):
        opt.step(closure)
    assert a.tolist() == [1.0] and b.tolist() == [1.0]
