"""cross_entropy with label smoothing and (N, C, d1, ...) logits, and nll_loss, against the
numbers PyTorch 2.13 gives for the same calls (hard-coded: torch is not a test dependency;
they were computed in float64 with torch.nn.functional)."""

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError, ShapeError
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.losses import cross_entropy, nll_loss

Z3 = np.sin(np.arange(24.0)).reshape(2, 3, 4) * 2  # N = 2, C = 3, d1 = 4
Y3 = np.array([[0, 2, 1, 1], [2, 0, 0, 1]])
Q3 = np.abs(np.cos(np.arange(24.0))).reshape(2, 3, 4)
Q3 = Q3 / Q3.sum(axis=1, keepdims=True)  # probabilities over axis 1
Z2 = np.sin(np.arange(12.0)).reshape(4, 3) * 3
Y2 = np.array([2, 0, 1, 1])


def close(got, expected):
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-11)


def test_cross_entropy_of_per_position_logits_as_pytorch():
    z = Tensor(Z3, requires_grad=True)
    loss = cross_entropy(z, Y3)
    close(loss.data, 1.133036382338)
    loss.backward()
    close(z.grad, [
        [[-0.110213344012, 0.086146738584, 0.10893736434, 0.031985816574],
         [0.003254765275, 0.002351989547, -0.11489179745, -0.035250204054],
         [0.106958578736, -0.088498728131, 0.005954433109, 0.00326438748]],
        [[0.00600933218, -0.087833575625, -0.017813459972, 0.08817014692],
         [0.009881386411, 0.002344979655, 0.003291625371, -0.092590643096],
         [-0.015890718591, 0.08548859597, 0.014521834601, 0.004420496176]],
    ])  # fmt: skip
    close(cross_entropy(Z3, Y3, reduction="none").data, [
        [2.134588585649, 1.230966631594, 2.51496650937, 0.331287983514],
        [0.135963775591, 1.212907954141, 0.153743055985, 1.349866562864],
    ])  # fmt: skip


def test_label_smoothing_as_pytorch():
    z = Tensor(Z2, requires_grad=True)
    loss = cross_entropy(z, Y2, label_smoothing=0.1)
    close(loss.data, 1.325932629597)
    loss.backward()
    close(z.grad, [
        [0.000351996645, 0.100090545309, -0.100442541953],
        [-0.006987378803, 0.006973465394, 1.3913408e-05],
        [-0.004338535272, -0.167032708544, 0.171371243816],
        [0.225039053944, -0.220080430396, -0.004958623548],
    ])  # fmt: skip
    close(cross_entropy(Z2[0], 2, label_smoothing=0.1).data, 0.729645631271)


def test_label_smoothing_of_per_position_logits_and_of_probabilities_as_pytorch():
    z = Tensor(Z3, requires_grad=True)
    loss = cross_entropy(z, Y3, label_smoothing=0.2)
    close(loss.data, 1.279870607447)
    loss.backward()
    close(z.grad[0], [
        [-0.093546677345, 0.07781340525, 0.100604031007, 0.02365248324],
        [-0.005078568058, -0.005981343786, -0.098225130783, -0.018583537387],
        [0.098625245403, -0.071832061464, -0.002378900224, -0.005068945853],
    ])  # fmt: skip
    close(cross_entropy(Z3, Q3, label_smoothing=0.3, reduction="sum").data, 14.862001937891)


def test_full_smoothing_ignores_the_label():
    a = cross_entropy(Z2, Y2, label_smoothing=1.0, reduction="none")
    b = cross_entropy(Z2, (Y2 + 1) % 3, label_smoothing=1.0, reduction="none")
    close(a.data, b.data)
    close(a.data, -np.mean(Tensor(Z2).log_softmax(axis=-1).data, axis=-1))


def test_nll_loss_as_pytorch():
    close(nll_loss(Z2, Y2, reduction="none").data,
          [-2.727892280477, -0.42336002418, -1.970959796156, 1.632063332668])  # fmt: skip
    close(nll_loss(Z3, Y3).data, -0.815821609668)
    close(nll_loss(Z3, Y3, reduction="sum").data, -6.526572877347)


def test_nll_of_log_softmax_is_cross_entropy():
    for z, y in ((Z2, Y2), (Z3, Y3), (Z2[1], 0)):
        t = Tensor(z)
        close(nll_loss(t.log_softmax(axis=1 if t.ndim > 1 else 0), y).data,
              cross_entropy(t, y).data)  # fmt: skip


def test_nll_loss_gradient_is_minus_onehot_over_n():
    x = Tensor(Z2, requires_grad=True)
    nll_loss(x, Y2).backward()
    expected = np.zeros((4, 3))
    expected[np.arange(4), Y2] = -0.25
    close(x.grad, expected)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_gradients_of_per_position_losses_are_exact(smoothing):
    z = Tensor(Z3[:, :, :3], requires_grad=True)
    y = Y3[:, :3]
    assert gradcheck(lambda z: cross_entropy(z, y, label_smoothing=smoothing), [z])
    assert gradcheck(lambda z: nll_loss(z, y, reduction="sum"), [z])


def test_float32_stays_float32_with_smoothing_and_positions():
    z = Tensor(Z3.astype(np.float32), requires_grad=True)
    loss = cross_entropy(z, Y3, label_smoothing=0.1) + nll_loss(z, Y3)
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.float32


def test_ignore_index_as_pytorch():
    y = np.array([[0, -100, 1, 1], [2, 0, -100, 1]])  # -100: PyTorch's default ignore_index
    z = Tensor(Z3, requires_grad=True)
    loss = cross_entropy(z, y, label_smoothing=0.2)
    close(loss.data, 1.393870450271)
    loss.backward()
    close(z.grad[0], [
        [-0.124728903127, 0.0, 0.134138708009, 0.03153664432],
        [-0.006771424077, 0.0, -0.130966841044, -0.024778049849],
        [0.131500327204, 0.0, -0.003171866965, -0.006758594471],
    ])  # fmt: skip
    close(cross_entropy(Z3, y, reduction="none").data, [
        [2.134588585649, 0.0, 2.51496650937, 0.331287983514],
        [0.135963775591, 1.212907954141, 0.0, 1.349866562864],
    ])  # fmt: skip
    y2 = np.array([2, 5, 1, 5])
    close(nll_loss(Z2, y2, ignore_index=5).data, -2.349426038317)
    close(nll_loss(Z2, y2, ignore_index=5, reduction="sum").data, -4.698852076633)
    close(cross_entropy(Z2, y2, ignore_index=5).data, 0.979597420718)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: cross_entropy(Z2, Y2, label_smoothing=1.5), InvalidArgumentError, "[0, 1]"),
        (lambda: cross_entropy(Z2, Y2, label_smoothing="a"), InvalidArgumentError, "number"),
        (lambda: cross_entropy(np.zeros((2, 0, 3)), np.zeros((2, 3))), ShapeError, "C >= 1"),
        (lambda: nll_loss(Z3, Y2), ShapeError, "shape (2, 4)"),
        (lambda: nll_loss(Z2, [0, 1, 2, 3]), InvalidArgumentError, "[0, 3)"),
        (lambda: nll_loss(Z2, Y2, reduction="avg"), InvalidArgumentError, "reduction"),
        (lambda: nll_loss(1.0, 0), ShapeError, "got shape ()"),
        (lambda: nll_loss(Z2, [5, 5, 5, 5], ignore_index=5), ShapeError, "ignore_index"),
        (lambda: cross_entropy(Z2, Y2, ignore_index=1.5), InvalidArgumentError, "integer"),
        (lambda: nll_loss(Z2, [0, -1, 0, 0]), InvalidArgumentError, "[0, 3)"),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
