"""Tests for tinygrad_edu.nn.layers: Linear, Sequential, MLP, BatchNorm1d and Dropout."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu
from tinygrad_edu import Tensor, no_grad
from tinygrad_edu.errors import InvalidArgumentError, ShapeError
from tinygrad_edu.gradcheck import check_gradients
from tinygrad_edu.nn import (
    MLP,
    BatchNorm1d,
    Dropout,
    HardTanh,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Softsign,
    Tanh,
    init,
)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _owner(module, dotted):
    """The object holding the attribute at the end of a dotted parameter name."""
    *path, last = dotted.split(".")
    obj = module
    for part in path:
        obj = obj[int(part)] if isinstance(obj, (list, tuple, Sequential)) else getattr(obj, part)
    return obj, last


@contextlib.contextmanager
def parameters_replaced(module, names, tensors):
    """Put ``tensors`` in place of the named parameters for the duration of the block."""
    owners = [_owner(module, name) for name in names]
    old = [getattr(obj, attr) for obj, attr in owners]
    for (obj, attr), t in zip(owners, tensors):
        setattr(obj, attr, t)
    try:
        yield
    finally:
        for (obj, attr), t in zip(owners, old):
            setattr(obj, attr, t)


def gradcheck_module(module, x):
    """gradcheck of module(x) with respect to x (if it requires grad) and every parameter.

    gradcheck perturbs copies of its inputs, so the module is run with the copies it is given.
    """
    named = module.named_parameters()
    names = [name for name, _ in named]

    def f(x, *params):
        with parameters_replaced(module, names, params):
            return module(x)

    report = check_gradients(f, [x, *[p for _, p in named]])
    assert report.ok, str(report)
    # Not vacuous: every checked input really moves the output.
    assert all(np.abs(c.analytic).max() > 1e-3 for c in report.inputs)
    assert len(report.inputs) == len(named) + int(x.requires_grad)
    return True


# ----------------------------------------------------------------------------- Linear


def test_linear_parameters_shapes_names_and_dtype():
    layer = Linear(3, 5, rng=0)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert layer.weight.name == "weight" and layer.bias.name == "bias"
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.data, np.zeros(5))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    tinygrad_edu.set_default_dtype(np.float64)
    assert Linear(3, 5).weight.dtype == np.float64


def test_linear_forward_is_x_times_w_transpose_plus_b_exactly():
    layer = Linear(4, 3, rng=0)
    layer.bias.data[...] = randn(3, seed=1)
    w, b = layer.weight.data, layer.bias.data
    x = randn(6, 4, seed=2).astype(np.float32)
    np.testing.assert_array_equal(layer(x).data, x @ w.T + b)
    np.testing.assert_array_equal(layer(Tensor(x)).data, x @ w.T + b)
    # One sample, the course's z = W x + b.
    np.testing.assert_array_equal(layer(x[0]).data, w @ x[0] + b)
    assert layer(x[0]).shape == (3,)
    # Batched inputs with more leading dims act on the last one.
    assert layer(np.zeros((2, 5, 4))).shape == (2, 5, 3)


def test_linear_converts_numpy_input_to_its_dtype():
    layer = Linear(2, 2, rng=0)
    assert layer(np.ones((3, 2), dtype=np.float64)).dtype == np.float32
    assert layer([[1, 2]]).dtype == np.float32


def test_linear_without_bias():
    layer = Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = randn(4, 3).astype(np.float32)
    np.testing.assert_array_equal(layer(x).data, x @ layer.weight.data.T)


def test_linear_initialisers_by_name_and_by_function():
    expected = init.xavier_uniform((3, 4), np.random.default_rng(7))
    np.testing.assert_array_equal(
        Linear(4, 3, init="xavier_uniform", rng=7).weight.data, expected.astype(np.float32)
    )
    np.testing.assert_array_equal(Linear(4, 3, rng=5).weight.data, Linear(4, 3, rng=5).weight.data)
    assert not np.array_equal(Linear(4, 3, rng=5).weight.data, Linear(4, 3, rng=6).weight.data)
    assert (Linear(4, 3, init="zeros").weight.data == 0).all()
    seen = []

    def ones(shape, rng):
        seen.append((shape, type(rng)))
        return np.ones(shape)

    layer = Linear(4, 3, init=ones, rng=0)
    assert seen == [((3, 4), np.random.Generator)]
    np.testing.assert_array_equal(layer.weight.data, np.ones((3, 4)))


def test_linear_rejects_bad_arguments_and_inputs():
    with pytest.raises(InvalidArgumentError, match="'fan_in', 'normal_fan_in', 'xavier_uniform'"):
        Linear(2, 3, init="glorot")
    with pytest.raises(ShapeError, match=r"shape \(4, 3\)"):
        Linear(2, 3, init=lambda shape, rng: np.ones((4, 3)))
    with pytest.raises(InvalidArgumentError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(InvalidArgumentError, match="out_features"):
        Linear(2, 2.5)
    with pytest.raises(InvalidArgumentError, match="rng"):
        Linear(2, 3, rng="abc")
    layer = Linear(2, 3, rng=0)
    expected = r"expected input of shape \(N, 2\) or \(2,\); got \(4, 3\)"
    with pytest.raises(ShapeError, match=expected):
        layer(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"got \(\)"):
        layer(1.0)


def test_linear_gradients_match_central_differences():
    tinygrad_edu.set_default_dtype(np.float64)
    layer = Linear(4, 3, rng=0)
    layer.bias.data[...] = randn(3, seed=1)
    x = Tensor(randn(5, 4, seed=2), requires_grad=True)
    assert gradcheck_module(layer, x)
    assert gradcheck_module(layer, Tensor(randn(4, seed=3), requires_grad=True))


def test_linear_gradients_are_the_course_formulas():
    tinygrad_edu.set_default_dtype(np.float64)
    layer = Linear(3, 2, rng=0)
    x = randn(4, 3, seed=1)
    g = randn(4, 2, seed=2)  # dL/dz for every sample
    layer(x).backward(g)
    np.testing.assert_allclose(layer.weight.grad, g.T @ x)  # sum over samples of delta x^T
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0))


# ----------------------------------------------------------------------------- Sequential


@pytest.mark.parametrize("x_shape, w_shape", [((0,), (3, 0)), ((2, 1, 0), (3, 0)),
                                                ((0, 4), (3, 4)), ((2, 0, 4), (3, 4))])
def test_linear_on_inputs_that_hold_no_numbers(x_shape, w_shape):
    # dL/dW = g^T x and dL/db = sum g over the samples, also when a size is 0 (found by the
    # fuzzer: a batch of one sample with no features failed to reshape).
    from tinygrad_edu.ops import Linear as LinearOp

    x = Tensor(np.ones(x_shape), requires_grad=True)
    w = Tensor(np.ones(w_shape), requires_grad=True)
    b = Tensor(np.ones(w_shape[0]), requires_grad=True)
    LinearOp.apply(x, w, b).sum().backward()
    samples = int(np.prod(x_shape[:-1]))
    assert x.grad.shape == x_shape and w.grad.shape == w_shape
    np.testing.assert_array_equal(w.grad, np.full(w_shape, float(samples)))
    np.testing.assert_array_equal(b.grad, np.full(w_shape[0], float(samples)))


def test_sequential_applies_layers_in_order_and_names_them_by_position():
    first, second = Linear(2, 3, rng=0), Linear(3, 1, rng=1)
    net = Sequential(first, Tanh(), second)
    x = randn(4, 2).astype(np.float32)
    np.testing.assert_array_equal(net(x).data, second(first(x).tanh()).data)
    assert len(net) == 3
    assert list(net) == [net[0], net[1], net[2]]
    assert net[0] is first and net[-1] is second
    assert [name for name, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"
    ]
    head = net[:2]
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is first
    with pytest.raises(InvalidArgumentError, match="index 3"):
        net[3]


def test_nested_sequentials_and_append():
    inner = Sequential(Linear(2, 2, rng=0), ReLU())
    outer = Sequential(inner, Sequential(Linear(2, 1, rng=1)))
    assert outer.append(Sigmoid()) is outer
    assert [name for name, _ in outer.named_parameters()] == [
        "0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias"
    ]
    assert isinstance(outer[2], Sigmoid)
    out = outer(np.ones((3, 2)))
    assert out.shape == (3, 1) and ((out.data > 0) & (out.data < 1)).all()
    with pytest.raises(InvalidArgumentError, match="argument 1 is function"):
        Sequential(ReLU(), lambda x: x)
    with pytest.raises(InvalidArgumentError, match="Module"):
        outer.append("relu")
    assert Sequential()(5.0) == 5.0


# ----------------------------------------------------------------------------- MLP


def test_mlp_structure_has_no_activation_after_the_last_layer():
    model = MLP([2, 16, 8, 3], activation="tanh", rng=0)
    assert [type(m).__name__ for m in model.layers] == [
        "Linear", "Tanh", "Linear", "Tanh", "Linear"
    ]
    assert [(m.in_features, m.out_features) for m in model.layers if isinstance(m, Linear)] == [
        (2, 16), (16, 8), (8, 3)
    ]
    assert [name for name, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "layers.4.weight", "layers.4.bias",
    ]
    assert model(np.zeros((7, 2))).shape == (7, 3)
    assert [type(m).__name__ for m in MLP([3, 1]).layers] == ["Linear"]


def test_mlp_forward_equals_the_layers_by_hand():
    model = MLP([3, 4, 2], activation="sigmoid", rng=0)
    x = randn(5, 3).astype(np.float32)
    w1, b1 = model.layers[0].weight.data, model.layers[0].bias.data
    w2, b2 = model.layers[2].weight.data, model.layers[2].bias.data
    hidden = 1 / (1 + np.exp(-(x @ w1.T + b1)))
    np.testing.assert_allclose(model(x).data, hidden @ w2.T + b2, rtol=1e-6)


def test_mlp_seed_reproduces_the_whole_model_from_one_stream():
    a, b = MLP([3, 5, 4, 2], rng=42), MLP([3, 5, 4, 2], rng=42)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    other = MLP([3, 5, 4, 2], rng=43)
    assert not np.array_equal(a.layers[0].weight.data, other.layers[0].weight.data)
    # One Generator feeds the layers in order: the same draws as building them one by one.
    gen = np.random.default_rng(42)
    by_hand = [init.normal_fan_in(shape, gen) for shape in [(5, 3), (4, 5), (2, 4)]]
    linears = [m for m in a.layers if isinstance(m, Linear)]
    for layer, w in zip(linears, by_hand):
        np.testing.assert_array_equal(layer.weight.data, w.astype(np.float32))
    # The two hidden layers do not repeat each other's draws.
    assert not np.array_equal(linears[0].weight.data[:4, :3], linears[1].weight.data[:4, :3])


@pytest.mark.parametrize(
    "name, cls",
    [
        ("relu", ReLU), ("leaky_relu", LeakyReLU), ("sigmoid", Sigmoid), ("tanh", Tanh),
        ("hardtanh", HardTanh), ("softsign", Softsign),
    ],
)
def test_mlp_activation_names(name, cls):
    model = MLP([2, 3, 3, 1], activation=name, rng=0)
    acts = [m for m in model.layers if not isinstance(m, Linear)]
    assert len(acts) == 2 and all(type(m) is cls for m in acts)
    assert acts[0] is not acts[1]


def test_mlp_activation_classes_factories_and_none():
    model = MLP([2, 3, 1], activation=lambda: LeakyReLU(0.2), rng=0)
    assert model.layers[1].slope == 0.2
    assert isinstance(MLP([2, 3, 1], activation=Tanh).layers[1], Tanh)
    assert [type(m) for m in MLP([2, 3, 1], activation=None).layers] == [Linear, Linear]
    with pytest.raises(InvalidArgumentError, match="'relu', 'leaky_relu', 'sigmoid'"):
        MLP([2, 3, 1], activation="gelu")
    with pytest.raises(InvalidArgumentError, match="pass the class"):
        MLP([2, 3, 1], activation=ReLU())
    with pytest.raises(InvalidArgumentError, match="not a Module"):
        MLP([2, 3, 1], activation=lambda: np.tanh)


def test_mlp_rejects_bad_sizes_and_init():
    with pytest.raises(InvalidArgumentError, match="at least an input and an output"):
        MLP([3])
    with pytest.raises(InvalidArgumentError, match=r"sizes\[1\]"):
        MLP([3, 0, 1])
    with pytest.raises(InvalidArgumentError, match="list of layer widths"):
        MLP(3)
    with pytest.raises(InvalidArgumentError, match="unknown initialiser"):
        MLP([2, 2], init="bad")


def test_mlp_gradients_match_central_differences():
    tinygrad_edu.set_default_dtype(np.float64)
    model = MLP([3, 4, 4, 2], activation="tanh", init="xavier_normal", rng=0)
    for layer in model.layers:
        if isinstance(layer, Linear):  # non-zero biases, so their gradients are exercised
            layer.bias.data[...] = randn(layer.out_features, seed=layer.out_features)
    x = Tensor(randn(5, 3, seed=1), requires_grad=True)
    assert gradcheck_module(model, x)


# ----------------------------------------------------------------------------- BatchNorm1d


X_BN = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 0.5], [2.0, 4.0, 2.0], [6.0, 2.0, -1.0]])


def test_batchnorm_training_normalises_with_the_batch_statistics():
    tinygrad_edu.set_default_dtype(np.float64)
    bn = BatchNorm1d(3)
    bn.weight.data[...] = [2.0, 0.5, -1.0]
    bn.bias.data[...] = [0.1, 0.2, 0.3]
    mean = X_BN.mean(axis=0)  # [3, 1, 0.5]
    var = ((X_BN - mean) ** 2).mean(axis=0)  # biased: [3.5, 5, 1.125]
    np.testing.assert_array_equal(mean, [3.0, 1.0, 0.5])
    np.testing.assert_array_equal(var, [3.5, 5.0, 1.125])
    expected = [2.0, 0.5, -1.0] * (X_BN - mean) / np.sqrt(var + 1e-5) + [0.1, 0.2, 0.3]
    np.testing.assert_allclose(bn(X_BN).data, expected, rtol=1e-12)


def test_batchnorm_output_has_zero_mean_and_unit_variance_per_feature():
    tinygrad_edu.set_default_dtype(np.float64)
    y = BatchNorm1d(3, eps=1e-12)(randn(50, 3) * [1.0, 10.0, 100.0] + [5.0, -3.0, 0.0]).data
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-9)


def test_batchnorm_running_statistics_follow_pytorch_s_rule():
    tinygrad_edu.set_default_dtype(np.float64)
    bn = BatchNorm1d(3, momentum=0.1)
    bn(X_BN)
    # Unbiased batch variance: [3.5, 5, 1.125] * 4/3.
    np.testing.assert_allclose(bn.running_mean, [0.3, 0.1, 0.05], rtol=1e-12)
    np.testing.assert_allclose(
        bn.running_var, [0.9 + 0.1 * 14 / 3, 0.9 + 0.1 * 20 / 3, 0.9 + 0.1 * 1.5], rtol=1e-12
    )
    bn(2 * X_BN)  # mean [6, 2, 1], unbiased variance 4 times the first
    np.testing.assert_allclose(bn.running_mean, 0.9 * np.array([0.3, 0.1, 0.05]) + [0.6, 0.2, 0.1])
    first_var = np.array([0.9 + 14 / 30, 0.9 + 20 / 30, 0.9 + 0.15])
    second_var = 4 * np.array([14, 20, 4.5]) / 3
    np.testing.assert_allclose(bn.running_var, 0.9 * first_var + 0.1 * second_var)


def test_batchnorm_eval_uses_the_running_statistics_and_does_not_update_them():
    tinygrad_edu.set_default_dtype(np.float64)
    bn = BatchNorm1d(3, momentum=0.5)
    bn.weight.data[...] = [1.0, 2.0, 3.0]
    bn.bias.data[...] = [0.0, 1.0, 0.0]
    bn(X_BN)
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    np.testing.assert_allclose(mean, [1.5, 0.5, 0.25])
    bn.eval()
    x = randn(1, 3)  # one sample is fine in evaluation
    expected = [1.0, 2.0, 3.0] * (x - mean) / np.sqrt(var + 1e-5) + [0.0, 1.0, 0.0]
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-12)
    bn(randn(10, 3) * 50)
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)


def test_batchnorm_updates_buffers_in_place_and_under_no_grad():
    bn = BatchNorm1d(2)
    arrays = bn.buffers()
    with no_grad():
        bn(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert bn.running_mean is arrays[0] and bn.running_var is arrays[1]
    np.testing.assert_allclose(bn.running_mean, [0.1, 0.2], rtol=1e-6)
    assert bn.running_mean.dtype == np.float32
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var"]


def test_batchnorm_gradients_flow_through_the_batch_statistics():
    tinygrad_edu.set_default_dtype(np.float64)
    bn = BatchNorm1d(3)
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    bn.bias.data[...] = [0.1, 0.0, -0.3]
    x = Tensor(randn(6, 3, seed=4) * 2 + 1, requires_grad=True)
    assert gradcheck_module(bn, x)
    # Shifting a feature for the whole batch changes nothing, so dL/dx sums to zero per feature.
    bn(x).backward(randn(6, 3, seed=5))
    np.testing.assert_allclose(x.grad.sum(axis=0), 0.0, atol=1e-12)
    assert np.abs(x.grad).max() > 0.1


def test_batchnorm_eval_gradients_treat_the_statistics_as_constants():
    tinygrad_edu.set_default_dtype(np.float64)
    bn = BatchNorm1d(2)
    bn(np.array([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]]))
    bn.eval()
    x = Tensor(randn(4, 2), requires_grad=True)
    assert gradcheck_module(bn, x)
    bn(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(1 / np.sqrt(bn.running_var + 1e-5), (4, 2)))


def test_batchnorm_rejects_bad_shapes_and_settings():
    bn = BatchNorm1d(3)
    with pytest.raises(ShapeError, match=r"expected input of shape \(N, 3\); got \(3,\)"):
        bn(np.zeros(3))
    with pytest.raises(ShapeError, match=r"got \(4, 2\)"):
        bn(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="at least 2 samples"):
        bn(np.zeros((1, 3)))
    assert bn.running_mean.tolist() == [0.0, 0.0, 0.0]  # nothing updated by the failures
    with pytest.raises(InvalidArgumentError, match="eps"):
        BatchNorm1d(3, eps=0.0)
    with pytest.raises(InvalidArgumentError, match="momentum"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(InvalidArgumentError, match="momentum"):
        BatchNorm1d(3, momentum=float("nan"))
    with pytest.raises(InvalidArgumentError, match="num_features"):
        BatchNorm1d(-1)


# ----------------------------------------------------------------------------- Dropout


def test_dropout_zeroes_with_probability_p_and_scales_survivors():
    drop = Dropout(0.3, rng=0)
    out = drop(np.ones(200_000, dtype=np.float32)).data
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.7).item()}
    assert abs(np.mean(out == 0) - 0.3) < 0.005
    assert abs(out.mean() - 1.0) < 0.01  # inverted dropout preserves the mean


@given(st.floats(0.05, 0.9))
def test_dropout_preserves_the_mean_for_any_p(p):
    x = np.random.default_rng(1).uniform(0.5, 1.5, 50_000)
    out = Dropout(p, rng=2)(Tensor(x)).data
    assert abs(out.mean() / x.mean() - 1) < 6 * np.sqrt(p / (1 - p) / x.size) + 1e-3


def test_dropout_gradient_is_the_same_mask_and_scale():
    tinygrad_edu.set_default_dtype(np.float64)
    x = Tensor(randn(8, 5), requires_grad=True)
    out = Dropout(0.5, rng=3)(x)
    out.sum().backward()
    kept = out.data != 0
    np.testing.assert_array_equal(x.grad, np.where(kept, 2.0, 0.0))
    np.testing.assert_allclose(out.data[kept], 2 * x.data[kept])


def test_dropout_is_the_identity_in_eval_and_for_p_zero():
    x = Tensor(randn(4, 4))
    drop = Dropout(0.5, rng=0).eval()
    assert drop(x) is x
    assert Dropout(0.0)(x) is x
    np.testing.assert_array_equal(drop(x.data).data, x.data)


def test_dropout_with_a_seed_is_reproducible():
    a, b = Dropout(0.5, rng=11), Dropout(0.5, rng=11)
    x = np.ones((10, 10))
    first_a, first_b = a(x).data, b(x).data
    np.testing.assert_array_equal(first_a, first_b)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(first_a, a(x).data)  # each call draws a new mask


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(InvalidArgumentError, match="p"):
        Dropout(p)


def test_dropout_inside_a_model_follows_train_and_eval():
    model = Sequential(Linear(4, 4, rng=0), Dropout(0.5, rng=0))
    x = np.ones((2, 4))
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
    model.train()
    assert (model(x).data == 0).any()
    assert isinstance(model[1], Module) and repr(model[1]) == "Dropout(p=0.5)"
