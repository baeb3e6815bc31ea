"""Tests for tinygrad_edu.nn.conv: Conv2d, MaxPool2d, AvgPool2d and Flatten."""

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError, ShapeError
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.nn import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)


def small_cnn(seed=0):
    return Sequential(
        Conv2d(1, 3, 3, padding=1, rng=seed), ReLU(), MaxPool2d(2),
        Conv2d(3, 4, 2, groups=1, bias=False, rng=seed + 1), AvgPool2d(1), Flatten(),
        Linear(16, 2, rng=seed + 2),
    )  # fmt: skip


def test_conv2d_has_pytorch_s_parameter_shapes_and_defaults():
    conv = Conv2d(4, 6, (3, 2), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    assert (conv.stride, conv.padding, conv.dilation) == ((1, 1), (0, 0), (1, 1))
    assert conv.weight.dtype == np.float32 and not conv.bias.data.any()
    assert Conv2d(1, 2, 3, bias=False).bias is None
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv2d_default_init_is_normal_with_the_receptive_field_as_fan_in():
    conv = Conv2d(8, 300, 5, rng=0)  # fan_in = 8 * 5 * 5 = 200
    assert abs(conv.weight.data.std() - 1 / np.sqrt(200)) < 0.002
    conv = Conv2d(2, 3, 3, init="zeros")
    assert not conv.weight.data.any()


def test_conv2d_computes_tensor_conv2d_with_its_arguments():
    conv = Conv2d(2, 4, 3, stride=2, padding=1, dilation=1, groups=2, rng=0)
    conv.bias = Tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)  # not zero
    x = np.random.default_rng(1).standard_normal((3, 2, 7, 7)).astype(np.float32)
    expected = Tensor(x).conv2d(conv.weight, conv.bias, stride=2, padding=1, groups=2)
    np.testing.assert_array_equal(conv(x).data, expected.data)
    assert conv(x[0]).shape == (4, 4, 4)  # one image (C, H, W), as PyTorch


def test_pooling_layers_and_flatten():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    assert MaxPool2d(2)(x).shape == (1, 2, 2, 2)
    assert MaxPool2d(3, stride=1, padding=1)(x).shape == (1, 2, 4, 4)
    means = AvgPool2d((2, 4))(x).data[0, :, :, 0]
    np.testing.assert_array_equal(means, [[3.5, 11.5], [19.5, 27.5]])
    assert Flatten()(x).shape == (1, 32)
    assert Flatten(0)(x).shape == (32,)
    assert Flatten(2)(x).shape == (1, 2, 16)
    assert not MaxPool2d(2).parameters() and not Flatten().parameters()


def test_a_cnn_backpropagates_exactly_through_every_layer():
    import tinygrad_edu

    tinygrad_edu.set_default_dtype(np.float64)
    model = small_cnn()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    layers = [(layer, name) for layer in model for name in ("weight", "bias")
              if getattr(layer, name, None) is not None]  # fmt: skip

    def output(*values):
        """The model's tanh-summed output with ``values`` standing in for its parameters."""
        saved = [getattr(layer, name) for layer, name in layers]
        try:
            for (layer, name), v in zip(layers, values):
                setattr(layer, name, v)
            return model(x).tanh().sum()
        finally:
            for (layer, name), old in zip(layers, saved):
                setattr(layer, name, old)

    values = [Tensor(getattr(m, name).data.copy(), requires_grad=True) for m, name in layers]
    assert gradcheck(output, values)


def test_save_and_load_a_cnn(tmp_path):
    model, other = small_cnn(seed=0), small_cnn(seed=10)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "6.weight", "6.bias"]
    model.save(tmp_path / "cnn.npz")
    assert other.load(tmp_path / "cnn.npz") is other
    x = np.random.default_rng(2).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(model(x).data, other(x).data)


def test_repr_reads_like_pytorch_s():
    text = repr(Sequential(Conv2d(1, 16, 3, padding=1), MaxPool2d(2), Flatten()))
    assert "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in text
    assert "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))" in text
    assert "Flatten(start_dim=1, end_dim=-1)" in text
    assert isinstance(Flatten(), Module)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Conv2d(0, 2, 3), InvalidArgumentError, "in_channels"),
        (lambda: Conv2d(3, 2, 3, groups=2), InvalidArgumentError, "groups=2 must divide"),
        (lambda: Conv2d(1, 2, 0), InvalidArgumentError, "kernel_size"),
        (lambda: Conv2d(1, 2, 3, stride=(1, 0)), InvalidArgumentError, "stride"),
        (lambda: Conv2d(1, 2, 3, init="nope"), InvalidArgumentError, "unknown initialiser"),
        (lambda: Conv2d(1, 2, 3, init=lambda s, r: np.zeros(3)), ShapeError, "(2, 1, 3, 3)"),
        (lambda: MaxPool2d(2, padding=2), InvalidArgumentError, "at most half"),
        (lambda: AvgPool2d(-1), InvalidArgumentError, "kernel_size"),
        (lambda: Flatten(1.5), InvalidArgumentError, "start_dim"),
        (lambda: Conv2d(3, 2, 3)(np.zeros((1, 2, 5, 5))), ShapeError, "(N, 3, H, W)"),
    ],
)
def test_bad_arguments_are_named(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert words in str(info.value)
