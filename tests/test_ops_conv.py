"""conv2d, max_pool2d and avg_pool2d beyond the operation table: exact values, second derivatives
through nonlinear uses, PyTorch's conventions (ties, unbatched images) and the errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError, ShapeError
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing.op_table import OPS


def test_conv2d_by_hand():
    # x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], W = [[1, 0], [0, -1]]: z_ij = x_ij - x_(i+1)(j+1).
    x = Tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), requires_grad=True)
    w = Tensor(np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), requires_grad=True)
    b = Tensor(np.array([0.5]), requires_grad=True)
    z = x.conv2d(w, b)
    assert z.tolist() == [[[[-3.5, -3.5], [-3.5, -3.5]]]]
    z.sum().backward()
    # dL/dx: +1 for every window x sits top-left in, -1 for every one it sits bottom-right in.
    assert x.grad[0, 0].tolist() == [[1, 1, 0], [1, 0, -1], [0, -1, -1]]
    # dL/dW[a, b] = sum of the x under that kernel entry over the four windows.
    assert w.grad[0, 0].tolist() == [[12.0, 16.0], [24.0, 28.0]]
    assert b.grad.tolist() == [4.0]


def test_conv2d_padding_stride_dilation_groups_shapes():
    x = Tensor.zeros(2, 4, 9, 8)
    w = Tensor.zeros(6, 2, 3, 2)
    out = x.conv2d(w, stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)
    # H: (9 + 2 - 2*2 - 1) // 2 + 1 = 4; W: (8 + 4 - 1 - 1) // 1 + 1 = 11
    assert out.shape == (2, 6, 4, 11)


def test_depthwise_conv2d_convolves_each_channel_alone():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((3, 1, 3, 3))
    out = Tensor(x).conv2d(Tensor(w), groups=3)
    for c in range(3):
        alone = Tensor(x[:, c : c + 1]).conv2d(Tensor(w[c : c + 1]))
        np.testing.assert_allclose(out.data[:, c : c + 1], alone.data, rtol=1e-12)


def test_an_unbatched_image_is_taken_as_pytorch_does():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 4)), rng.standard_normal((3, 2, 3, 3))
    out = Tensor(x).conv2d(Tensor(w), padding=1)
    assert out.shape == (3, 4, 4)
    np.testing.assert_allclose(out.data, Tensor(x[None]).conv2d(Tensor(w), padding=1).data[0])
    assert Tensor(x).max_pool2d(2).shape == (2, 2, 2)
    assert Tensor(x).avg_pool2d(2).shape == (2, 2, 2)


def test_pooling_by_hand():
    image = [[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [9.0, 8.0, 7.0]]
    x = Tensor(np.array([[image]]), requires_grad=True)
    m = x.max_pool2d(2, stride=1)
    assert m.tolist() == [[[[5.0, 5.0], [9.0, 8.0]]]]
    m.sum().backward()
    # 5 is the maximum of two windows: its gradient adds up.
    assert x.grad[0, 0].tolist() == [[0, 2, 0], [0, 0, 0], [1, 1, 0]]
    x.zero_grad()
    a = x.avg_pool2d(2, stride=1)
    assert a.tolist() == [[[[3.25, 2.75], [6.0, 4.75]]]]
    a.sum().backward()
    assert x.grad[0, 0].tolist() == [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]


def test_padding_never_wins_a_max_and_counts_in_an_average():
    x = Tensor(-np.ones((1, 1, 2, 2)), requires_grad=True)
    assert x.max_pool2d(2, stride=2, padding=1).tolist() == [[[[-1.0, -1.0], [-1.0, -1.0]]]]
    # PyTorch's count_include_pad=True: each corner window holds one -1 and three zeros.
    assert x.avg_pool2d(2, stride=2, padding=1).tolist() == [[[[-0.25, -0.25], [-0.25, -0.25]]]]


def test_a_tie_sends_the_gradient_to_the_first_maximum_as_pytorch():
    x = Tensor(np.array([[[[2.0, 2.0], [1.0, 2.0]]]]), requires_grad=True)
    x.max_pool2d(2).sum().backward()
    assert x.grad[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("name", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_second_derivative_through_a_nonlinear_use(name):
    # Pooling is piecewise linear, so the table skips its (zero) second derivative; squared,
    # the Hessian is not zero and needs the recorded backward (col2im's own VJP) to be right.
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=8)
    def check(case):
        f = lambda *ts: spec.fn(*ts, **case.params).tanh() * 2  # noqa: E731
        assert gradgradcheck(f, case.tensors())

    check()


@given(st.integers(1, 3), st.integers(1, 2))
@settings(max_examples=5)
def test_a_small_cnn_gradient_is_exact(channels, stride):
    rng = np.random.default_rng(channels + 10 * stride)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)), requires_grad=True)
    w1 = Tensor(rng.standard_normal((channels, 1, 3, 3)), requires_grad=True)
    w2 = Tensor(rng.standard_normal((2, channels, 2, 2)), requires_grad=True)

    def net(x, w1, w2):
        h = x.conv2d(w1, padding=1, stride=stride).tanh().avg_pool2d(2, stride=1)
        return h.conv2d(w2).max_pool2d(2, stride=1, padding=1).sum()

    assert gradcheck(net, [x, w1, w2])


def test_float32_in_float32_out():
    x = Tensor.randn(2, 3, 5, 5, rng=0, requires_grad=True)
    w = Tensor.randn(4, 3, 3, 3, rng=1, requires_grad=True)
    out = x.conv2d(w, padding=1).max_pool2d(2).avg_pool2d(2)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x, w: Tensor.zeros(4, 4).conv2d(w), ShapeError, "(N, C, H, W)"),
        (lambda x, w: x.conv2d(Tensor.zeros(2, 3, 3)), ShapeError, "out_channels"),
        (lambda x, w: x.conv2d(Tensor.zeros(2, 2, 3, 3)), ShapeError, "3 channels"),
        (lambda x, w: x.conv2d(w, groups=2), ShapeError, "groups=2 must divide"),
        (lambda x, w: x.conv2d(w, groups=0), InvalidArgumentError, "groups"),
        (lambda x, w: x.conv2d(w, bias=Tensor.zeros(3)), ShapeError, "bias must have shape (2,)"),
        (lambda x, w: x.conv2d(w, stride=0), InvalidArgumentError, "stride"),
        (lambda x, w: x.conv2d(w, padding=-1), InvalidArgumentError, "padding"),
        (lambda x, w: x.conv2d(w, dilation=(1, 2, 3)), InvalidArgumentError, "dilation"),
        (lambda x, w: x.conv2d(w, dilation=3), ShapeError, "does not fit"),
        (lambda x, w: x.max_pool2d(6), ShapeError, "does not fit"),
        (lambda x, w: x.max_pool2d(2, padding=2), InvalidArgumentError, "at most half"),
        (lambda x, w: x.avg_pool2d(2.5), InvalidArgumentError, "kernel size"),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    x, w = Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3)
    with pytest.raises(error, match=None) as info:
        call(x, w)
    assert words in str(info.value)


def test_weights_given_as_lists_or_arrays_are_constants_in_the_input_s_dtype():
    x = Tensor(np.ones((1, 1, 2, 2), dtype=np.float32), requires_grad=True)
    out = x.conv2d([[[[1, 2], [3, 4]]]], bias=[0.5])
    assert out.dtype == np.float32 and out.tolist() == [[[[10.5]]]]
    out.sum().backward()
    assert x.grad[0, 0].tolist() == [[1.0, 2.0], [3.0, 4.0]]
