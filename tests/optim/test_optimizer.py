"""The Optimizer base class: parameters, validation, in-place steps, state_dict and exact resume."""

import numpy as np
import pytest

from tinygrad_edu import CheckpointError, InvalidArgumentError, ShapeError, Tensor
from tinygrad_edu.optim import SGD, AdaGrad, Adam, Newton, Optimizer, RMSProp

# ----------------------------------------------------------------------------- a tiny model

RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 2))


def make_params(w=None, b=None):
    w = RNG.normal(size=(3, 2)) if w is None else w
    b = np.zeros(2) if b is None else b
    return [Tensor(np.array(w), requires_grad=True), Tensor(np.array(b), requires_grad=True)]


def loss_of(params):
    w, b = params
    return (((Tensor(X) @ w + b) - Y) ** 2).mean()


def train(params, opt, steps):
    """Plain first-order steps; Newton gets the recorded backward pass it needs."""
    for _ in range(steps):
        opt.zero_grad()
        loss_of(params).backward(create_graph=isinstance(opt, Newton))
        opt.step()


OPTIMISERS = {
    "sgd": lambda ps: SGD(ps, lr=0.05),
    "momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9),
    "nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda ps: AdaGrad(ps, lr=0.1),
    "rmsprop": lambda ps: RMSProp(ps, lr=0.01, decay=0.8),
    "adam": lambda ps: Adam(ps, lr=0.01, weight_decay=0.001),
    "newton": lambda ps: Newton(ps, damping=0.5),
}

# ----------------------------------------------------------------------------- parameters


def test_empty_params_are_refused():
    with pytest.raises(InvalidArgumentError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(InvalidArgumentError, match="empty"):
        Adam(iter(()))


def test_a_parameter_without_grad_is_named_by_index_and_shape():
    w = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.ones((2, 5)))
    with pytest.raises(
        InvalidArgumentError, match=r"parameter 1 \(shape \(2, 5\)\).*requires_grad"
    ):
        SGD([w, c], lr=0.1)


def test_non_tensors_a_single_tensor_and_non_leaves_are_refused():
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(InvalidArgumentError, match="parameter 1 is a ndarray"):
        SGD([w, np.ones(3)], lr=0.1)
    with pytest.raises(InvalidArgumentError, match=r"single Tensor.*\[w\]"):
        SGD(w, lr=0.1)
    with pytest.raises(InvalidArgumentError, match="not a leaf"):
        SGD([w * 2], lr=0.1)
    with pytest.raises(InvalidArgumentError, match="iterable"):
        SGD(3, lr=0.1)


def test_an_object_with_parameters_gets_a_hint():
    class Model:
        def parameters(self):
            return []

    with pytest.raises(InvalidArgumentError, match=r"model.parameters\(\)"):
        SGD(Model(), lr=0.1)


def test_duplicates_are_kept_once_and_updated_once():
    w = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    b = Tensor([0.0], requires_grad=True, dtype=np.float64)
    opt = SGD([w, b, w], lr=0.25)
    assert opt.params[0] is w and opt.params[1] is b
    assert len(opt.params) == 2
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, 1.0])  # w - 0.25 * 2w, once


def test_generators_such_as_parameters_are_accepted():
    ps = make_params()
    opt = SGD((p for p in ps), lr=0.1)
    assert len(opt.params) == 2 and opt.params[0] is ps[0]


# ----------------------------------------------------------------------------- hyper-parameters

BAD = [
    (lambda ps: SGD(ps, lr=0.0), r"lr must be a finite number in \(0, inf\); got 0.0"),
    (lambda ps: SGD(ps, lr=-0.1), r"lr .*\(0, inf\); got -0.1"),
    (lambda ps: SGD(ps, lr=float("nan")), r"lr .*got nan"),
    (lambda ps: AdaGrad(ps, lr=float("inf")), r"lr .*got inf"),
    (lambda ps: SGD(ps, lr="0.1"), r"lr .*got '0.1' of type str"),
    (lambda ps: SGD(ps, lr=True), r"lr .*got True"),
    (lambda ps: SGD(ps, lr=0.1, momentum=1.0), r"momentum .*\[0, 1\); got 1.0"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), r"momentum .*\[0, 1\); got -0.5"),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1e-4), r"weight_decay .*\[0, inf\); got -0.0001"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), r"nesterov=True needs momentum > 0"),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov="yes"), r"nesterov must be True or"),
    (lambda ps: AdaGrad(ps, lr=0.1, eps=0.0), r"eps .*\(0, inf\); got 0.0"),
    (lambda ps: RMSProp(ps, lr=0.1, decay=1.0), r"decay .*\[0, 1\); got 1.0"),
    (lambda ps: RMSProp(ps, lr=0.1, eps=-1e-8), r"eps .*got -1e-08"),
    (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"betas\[1\] .*\[0, 1\); got 1.0"),
    (lambda ps: Adam(ps, betas=(-0.1, 0.9)), r"betas\[0\] .*got -0.1"),
    (lambda ps: Adam(ps, betas=(0.9,)), r"betas must be a pair"),
    (lambda ps: Adam(ps, weight_decay=float("nan")), r"weight_decay .*got nan"),
    (lambda ps: Newton(ps, damping=-1.0), r"damping .*\[0, inf\); got -1.0"),
    (lambda ps: Newton(ps, max_params=0), r"max_params must be an integer >= 1; got 0"),
    (lambda ps: Newton(ps, max_params=2.5), r"max_params must be an integer >= 1; got 2.5"),
]


@pytest.mark.parametrize("make, message", BAD)
def test_invalid_hyper_parameters_name_the_value_and_the_range(make, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make(make_params())


def test_messages_name_the_optimiser():
    with pytest.raises(InvalidArgumentError, match=r"^RMSProp: decay"):
        RMSProp(make_params(), lr=0.1, decay=2.0)


def test_hyper_parameters_are_public_attributes():
    opt = Adam(make_params(), lr=0.01, betas=[0.8, 0.9], eps=1e-6, weight_decay=0.1)
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (0.01, (0.8, 0.9), 1e-6, 0.1)
    assert "Adam(lr=0.01, betas=(0.8, 0.9)" in repr(opt)


# ----------------------------------------------------------------------------- stepping


def test_zero_grad_sets_every_grad_to_none():
    ps = make_params()
    opt = SGD(ps, lr=0.1)
    loss_of(ps).backward()
    assert all(p.grad is not None for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
def test_parameters_without_grad_are_skipped(name):
    ps = make_params(b=[1.0, -1.0])
    opt = OPTIMISERS[name](ps)
    w_before = ps[0].data.copy()
    (ps[0] * ps[0]).sum().backward()  # b gets no gradient
    assert ps[1].grad is None
    opt.step()
    np.testing.assert_array_equal(ps[1].data, [1.0, -1.0])
    assert not np.array_equal(ps[0].data, w_before)
    assert opt.step_count == 1


def test_adam_counts_steps_per_parameter_like_pytorch():
    ps = make_params()
    opt = Adam(ps, lr=0.1)
    (ps[0] * ps[0]).sum().backward()
    opt.step()
    assert int(opt.state[0]["step"]) == 1 and int(opt.state[1]["step"]) == 0


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_updates_are_in_place_and_state_arrays_are_reused(name):
    ps = make_params()
    opt = OPTIMISERS[name](ps)
    arrays = [p.data for p in ps]
    train(ps, opt, 1)
    state_arrays = [dict(s) for s in opt.state]
    before = [a.copy() for a in arrays]
    train(ps, opt, 2)
    for p, a, old in zip(ps, arrays, before):
        assert p.data is a  # the same array, changed where it lives
        assert not np.array_equal(a, old)
    for s, old in zip(opt.state, state_arrays):
        for key, value in old.items():
            assert s[key] is value


def test_gradients_are_not_modified_by_weight_decay():
    ps = make_params()
    opt = SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.3)
    loss_of(ps).backward()
    grads = [p.grad.copy() for p in ps]
    opt.step()
    for p, g in zip(ps, grads):
        np.testing.assert_array_equal(p.grad, g)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_float32_parameters_stay_float32(name):
    ps = [Tensor(np.ones((2, 2), np.float32), requires_grad=True)]
    opt = OPTIMISERS[name](ps)
    (ps[0] * ps[0]).sum().backward()
    opt.step()
    assert ps[0].dtype == np.float32
    assert all(v.dtype == np.float32 for k, v in opt.state[0].items() if k != "step")


def test_a_gradient_of_the_wrong_shape_changes_nothing():
    ps = make_params()
    opt = SGD(ps, lr=0.1, momentum=0.9)
    loss_of(ps).backward()
    with pytest.raises(ShapeError, match=r"t.grad = value: .*shape \(2,\); got shape \(5,\)"):
        ps[1].grad = np.ones(5)  # refused on assignment, as PyTorch does
    Tensor._grad.__set__(ps[1], np.ones(5))  # behind that check: step checks again
    before = [p.data.copy() for p in ps]
    with pytest.raises(ShapeError, match=r"parameter 1 has shape \(5,\) but the parameter has"):
        opt.step()
    for p, old in zip(ps, before):
        np.testing.assert_array_equal(p.data, old)  # not even parameter 0 moved
    assert opt.step_count == 0
    assert not np.any(opt.state[0]["velocity"])


def test_a_negative_lr_set_by_hand_is_refused_at_step():
    ps = make_params()
    opt = SGD(ps, lr=0.1)
    loss_of(ps).backward()
    opt.lr = -0.1
    with pytest.raises(InvalidArgumentError, match=r"SGD.step: lr must be a finite number >= 0"):
        opt.step()
    opt.lr = 0.0  # a schedule may decay all the way down: no movement, no error
    before = ps[0].data.copy()
    opt.step()
    np.testing.assert_array_equal(ps[0].data, before)


def test_a_gradient_left_by_create_graph_is_used_by_value():
    w = Tensor([3.0], requires_grad=True, dtype=np.float64)
    opt = SGD([w], lr=0.5)
    (w * w).sum().backward(create_graph=True)
    assert isinstance(w.grad, Tensor)
    opt.step()
    np.testing.assert_array_equal(w.data, [0.0])  # 3 - 0.5 * 6


def test_momentum_switched_on_by_hand_gets_a_velocity():
    w = Tensor([1.0], requires_grad=True, dtype=np.float64)
    opt = SGD([w], lr=0.1)
    assert opt.state[0] == {}
    opt.momentum = 0.5
    for _ in range(2):
        opt.zero_grad()
        (w * 2.0).sum().backward()
        opt.step()
    np.testing.assert_allclose(opt.state[0]["velocity"], [-0.3], rtol=1e-15)
    np.testing.assert_allclose(w.data, [0.5], rtol=1e-15)


def test_the_base_class_needs_an_update_rule():
    class Nothing(Optimizer):
        pass

    ps = make_params()
    opt = Nothing(ps, lr=0.1)
    loss_of(ps).backward()
    with pytest.raises(NotImplementedError):
        opt.step()
    with pytest.raises(InvalidArgumentError, match="unknown hyper-parameter 'alpha'"):
        Nothing(ps, lr=0.1, alpha=0.5)


# ----------------------------------------------------------------------------- state_dict


def test_state_dict_is_flat_plain_and_a_copy():
    ps = make_params()
    opt = SGD(ps, lr=0.05, momentum=0.9)
    train(ps, opt, 3)
    d = opt.state_dict()
    assert d["optimizer"] == "SGD"
    assert (d["lr"], d["momentum"], d["nesterov"], d["weight_decay"]) == (0.05, 0.9, False, 0.0)
    assert d["step_count"] == 3 and d["num_params"] == 2
    assert d["shape.0"] == (3, 2) and d["shape.1"] == (2,)
    np.testing.assert_array_equal(d["state.1.velocity"], opt.state[1]["velocity"])
    d["state.1.velocity"][:] = 123.0
    assert not np.any(opt.state[1]["velocity"] == 123.0)


def test_load_state_dict_copies_the_arrays():
    ps = make_params()
    opt = Adam(ps, lr=0.01)
    train(ps, opt, 2)
    d = opt.state_dict()
    other = Adam(make_params(), lr=0.5)
    other.load_state_dict(d)
    assert other.lr == 0.01 and other.step_count == 2
    d["state.0.m"][:] = 7.0
    assert not np.any(other.state[0]["m"] == 7.0)
    np.testing.assert_array_equal(other.state[0]["v"], opt.state[0]["v"])


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_resuming_from_a_state_dict_is_exact(name):
    start = make_params()
    w0, b0 = start[0].data.copy(), start[1].data.copy()

    straight = make_params(w0, b0)
    train(straight, OPTIMISERS[name](straight), 10)

    first = make_params(w0, b0)
    opt = OPTIMISERS[name](first)
    train(first, opt, 5)
    saved = opt.state_dict()
    resumed = make_params(first[0].data, first[1].data)
    opt2 = OPTIMISERS[name](resumed)
    opt2.lr = 123.0  # overwritten by the load
    opt2.load_state_dict(saved)
    train(resumed, opt2, 5)

    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)  # bit for bit
    assert opt2.step_count == 10


@pytest.mark.parametrize("name", ["nesterov", "adam", "rmsprop"])
def test_state_dict_survives_npz_without_pickle(name, tmp_path):
    ps = make_params()
    opt = OPTIMISERS[name](ps)
    train(ps, opt, 4)
    path = tmp_path / "opt.npz"
    np.savez(path, **opt.state_dict())
    with np.load(path, allow_pickle=False) as f:
        loaded = dict(f)
    resumed = make_params(ps[0].data, ps[1].data)
    opt2 = OPTIMISERS[name](resumed)
    opt2.load_state_dict(loaded)
    train(ps, opt, 3)
    train(resumed, opt2, 3)
    for a, b in zip(ps, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    assert opt2.state_dict().keys() == opt.state_dict().keys()


def _corrupt(d, **changes):
    d = dict(d)
    for key, value in changes.items():
        if value is None:
            del d[key]
        else:
            d[key] = value
    return d


def _momentum_state():
    ps = make_params()
    opt = SGD(ps, lr=0.05, momentum=0.9)
    train(ps, opt, 2)
    return opt.state_dict()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"optimizer": "Adam"}, "from optimiser 'Adam', not 'SGD'"),
        ({"num_params": 3}, "for 3 parameters but this optimiser has 2"),
        ({"shape.1": (3,)}, r"parameter 1 has shape \(2,\) but the state was saved for"),
        ({"state.0.velocity": np.zeros((2, 3))}, r"state.0.velocity has shape \(2, 3\)"),
        ({"state.1.velocity": None}, "missing entry 'state.1.velocity'"),
        ({"momentum": None}, r"missing entries \['momentum'\]"),
        ({"momentum": 1.5}, r"momentum must be a finite number in \[0, 1\); got 1.5"),
        ({"lr": float("nan")}, "lr must be"),
        ({"step_count": -1}, "step_count must be an integer >= 0"),
        ({"extra": 1}, r"unexpected entries \['extra'\]"),
        ({"momentum": 0.0}, r"unexpected entries \['state.0.velocity', 'state.1.velocity'\]"),
    ],
)
def test_load_state_dict_validates_before_changing_anything(change, message):
    ps = make_params()
    opt = SGD(ps, lr=0.3, momentum=0.5)
    train(ps, opt, 1)
    before = opt.state_dict()
    with pytest.raises(CheckpointError, match=message):
        opt.load_state_dict(_corrupt(_momentum_state(), **change))
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_load_state_dict_refuses_other_kinds_of_object():
    opt = SGD(make_params(), lr=0.1)
    with pytest.raises(CheckpointError, match="expected a dict"):
        opt.load_state_dict([("lr", 0.1)])
    adam_state = Adam(make_params()).state_dict()
    with pytest.raises(CheckpointError, match="from optimiser 'Adam', not 'SGD'"):
        opt.load_state_dict(adam_state)


def test_state_dict_follows_hyper_parameters_changed_by_hand():
    ps = make_params()
    opt = SGD(ps, lr=0.1)
    opt.momentum = 0.9  # no step yet, so no velocity yet: saved as zeros
    d = opt.state_dict()
    np.testing.assert_array_equal(d["state.0.velocity"], np.zeros((3, 2)))
    other = SGD(make_params(), lr=0.1, momentum=0.5)
    other.load_state_dict(d)
    assert other.momentum == 0.9


def test_a_read_only_parameter_array_is_refused_before_any_update():
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    b.data.setflags(write=False)
    opt = SGD([a, b], lr=0.1)
    (a * b).sum().backward()
    with pytest.raises(InvalidArgumentError, match=r"parameter 1 .* read-only"):
        opt.step()
    np.testing.assert_array_equal(a.data, [1.0, 1.0])
