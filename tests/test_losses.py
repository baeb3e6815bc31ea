"""Tests for tinygrad_edu.losses.

Each loss is checked against values worked out by hand (or with numpy) on small inputs, under
all three reductions; its gradient against a closed form where one exists and against central
differences in float64 (under hypothesis, away from the kinks of the margin losses); and each
error for its class and message.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_edu import Tensor
from tinygrad_edu.errors import DTypeError, InvalidArgumentError, ShapeError
from tinygrad_edu.gradcheck import GradcheckWarning, gradcheck, gradgradcheck
from tinygrad_edu.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    max_margin_loss,
    mse_loss,
    multiclass_hinge_loss,
)
from tinygrad_edu.testing import strategies as tst

LN2, LN3, LN4 = math.log(2), math.log(3), math.log(4)
RTOL = 1e-12


def t64(values, requires_grad=False):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def onehot(labels, n_classes):
    return np.eye(n_classes)[np.asarray(labels)]


def np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def gradient_of(loss_fn, *values):
    """Gradients of a scalar loss w.r.t. float64 leaves made from ``values``."""
    leaves = [t64(v, requires_grad=True) for v in values]
    loss = loss_fn(*leaves)
    loss.backward()
    return [x.grad for x in leaves]


def strict_gradcheck(f, inputs):
    """gradcheck that also fails on a kink warning: these points are meant to be smooth."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradcheckWarning)
        return gradcheck(f, inputs)


# ----------------------------------------------------------------------------- reductions

# (name, loss with a reduction, the per-sample values by hand, their shape)
CE_LOGITS = [[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]
CE_EXPECTED = [math.log(math.e + math.e**2 + math.e**3) - 3.0, LN3]
CASES = [
    (
        "mse",
        lambda r: mse_loss(t64([[1, 2], [3, 4]]), t64([[0, 2], [5, 1]]), reduction=r),
        [[1.0, 0.0], [4.0, 9.0]],
    ),
    (
        "cross_entropy_indices",
        lambda r: cross_entropy(t64(CE_LOGITS), np.array([2, 0]), reduction=r),
        CE_EXPECTED,
    ),
    (
        "cross_entropy_onehot",
        lambda r: cross_entropy(t64(CE_LOGITS), onehot([2, 0], 3), reduction=r),
        CE_EXPECTED,
    ),
    (
        "binary_cross_entropy",
        lambda r: binary_cross_entropy(t64([0.5, 0.25, 0.8]), [1, 0, 1], reduction=r),
        [LN2, -math.log(0.75), -math.log(0.8)],
    ),
    (
        "binary_cross_entropy_with_logits",
        # sigma(ln 3) = 3/4 and sigma(-ln 3) = 1/4
        lambda r: binary_cross_entropy_with_logits(t64([0.0, LN3, -LN3]), [1, 0, 1], reduction=r),
        [LN2, LN4, LN4],
    ),
    (
        "hinge",
        lambda r: hinge_loss(t64([2.0, 0.5, -1.0, 1.0]), [1, 1, 1, -1], reduction=r),
        [0.0, 0.5, 2.0, 2.0],
    ),
    (
        "multiclass_hinge",
        # CS231n's three images (cat, car, frog): 2.9, 0 and 12.9
        lambda r: multiclass_hinge_loss(
            t64([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]), [0, 1, 2], reduction=r
        ),
        [2.9, 0.0, 12.9],
    ),
    (
        "max_margin",
        lambda r: max_margin_loss(t64([3.0, 1.0, 0.0]), t64([1.0, 0.5, 0.5]), reduction=r),
        [0.0, 0.5, 1.5],
    ),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, loss, expected", CASES, ids=CASE_IDS)
def test_reduction_none_gives_the_per_sample_values(name, loss, expected):
    out = loss("none")
    assert isinstance(out, Tensor)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("name, loss, expected", CASES, ids=CASE_IDS)
def test_reduction_sum_and_mean(name, loss, expected):
    total, mean = loss("sum"), loss("mean")
    assert total.shape == () and mean.shape == ()
    np.testing.assert_allclose(total.item(), np.sum(expected), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(mean.item(), np.mean(expected), rtol=RTOL, atol=1e-14)
    assert mean.item() == pytest.approx(total.item() / np.size(expected), rel=1e-12)


def test_mean_is_the_default_reduction():
    for _name, loss, expected in CASES:
        assert loss("mean").item() == pytest.approx(np.mean(expected), rel=1e-12, abs=1e-14)
    x, t = t64([1.0, 3.0]), t64([0.0, 0.0])
    assert mse_loss(x, t).item() == 5.0


@pytest.mark.parametrize("name, loss, expected", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("bad", ["avg", "MEAN", "", None, 1])
def test_unknown_reduction_is_refused_with_the_valid_ones(name, loss, expected, bad):
    with pytest.raises(InvalidArgumentError) as info:
        loss(bad)
    msg = str(info.value)
    assert repr(bad) in msg
    assert "'mean'" in msg and "'sum'" in msg and "'none'" in msg


def test_unknown_reduction_is_reported_before_other_problems():
    with pytest.raises(InvalidArgumentError, match="reduction 'avg'"):
        mse_loss([1.0, 2.0], [[1.0], [2.0]], reduction="avg")


def test_mean_of_an_empty_batch_is_an_error_but_sum_is_zero():
    with pytest.raises(ShapeError, match=r"empty batch.*\(0,\)"):
        mse_loss(np.zeros(0), np.zeros(0))
    assert mse_loss(np.zeros(0), np.zeros(0), reduction="sum").item() == 0.0
    assert cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int), reduction="none").shape == (0,)


def test_inputs_may_be_lists_or_arrays_and_the_result_is_a_tensor():
    out = mse_loss([1, 2], np.array([0, 0]))
    assert isinstance(out, Tensor) and out.item() == 2.5
    out = cross_entropy([[0.0, 0.0]], [1])
    assert isinstance(out, Tensor) and out.item() == pytest.approx(LN2, rel=1e-6)


def test_float32_inputs_give_float32_losses_even_with_float64_targets():
    x = Tensor([0.5, 0.25], requires_grad=True)
    targets = np.array([1.0, 0.0])  # float64
    for loss in (
        mse_loss(x, targets),
        binary_cross_entropy(x, targets),
        binary_cross_entropy_with_logits(x, targets),
        hinge_loss(x, np.array([1.0, -1.0])),
        max_margin_loss(x, targets),
        max_margin_loss(targets, x),
        cross_entropy(Tensor([[1.0, 2.0]]), np.array([[0.0, 1.0]])),
    ):
        assert loss.dtype == np.float32


# ----------------------------------------------------------------------------- mse_loss


def test_mse_gradient_is_two_residuals_over_n():
    y, t = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[0.5, 2.0], [0.0, 1.0]])
    gy, gt = gradient_of(mse_loss, y, t)
    np.testing.assert_allclose(gy, 2 * (y - t) / 4, rtol=RTOL)
    np.testing.assert_allclose(gt, -2 * (y - t) / 4, rtol=RTOL)
    [gy] = gradient_of(lambda y: mse_loss(y, t, reduction="sum"), y)
    np.testing.assert_allclose(gy, 2 * (y - t), rtol=RTOL)


@given(tst.shapes(min_dims=0), st.data())
@settings(max_examples=15)
def test_mse_gradcheck(shape, data):
    y = data.draw(tst.tensors(shape))
    t = data.draw(tst.tensors(shape))
    for reduction in ("mean", "none"):
        assert strict_gradcheck(lambda y, t, r=reduction: mse_loss(y, t, reduction=r), [y, t])


def test_mse_mean_second_derivatives_through_the_fused_node():
    # d2L/dy2 = 2/n I, d2L/dy dt = -2/n I: gradgradcheck and the exact Hessian.
    y = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    t = Tensor(np.array([[1.0, 0.0], [-1.0, 0.5]]), requires_grad=True)
    assert gradgradcheck(lambda y, t: mse_loss(y, t), [y, t])
    from tinygrad_edu.functional import hessian

    h = hessian(lambda y: mse_loss(y, t.data), y.data)
    np.testing.assert_allclose(h.reshape(4, 4), np.eye(4) * 2 / 4, rtol=1e-12)


def test_mse_refuses_an_n_target_against_n_by_1_predictions():
    pred = Tensor.zeros(4, 1)
    with pytest.raises(ShapeError) as info:
        mse_loss(pred, np.zeros(4))
    msg = str(info.value)
    assert "(4, 1)" in msg and "(4,)" in msg
    assert "target.reshape(-1, 1)" in msg and "pred.reshape(-1)" in msg
    with pytest.raises(ShapeError, match=r"\(4,\).*\(4, 1\).*pred.reshape\(-1, 1\)"):
        mse_loss(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(ShapeError, match=r"\(3,\) but target has shape \(2,\)"):
        mse_loss(np.zeros(3), np.zeros(2))


def test_mse_refuses_non_numeric_input():
    with pytest.raises(DTypeError, match="mse_loss: pred"):
        mse_loss(["a", "b"], [1.0, 2.0])
    with pytest.raises(DTypeError, match="mse_loss: target"):
        mse_loss([1.0, 2.0], ["a", "b"])


# ----------------------------------------------------------------------------- cross_entropy


@given(st.integers(1, 4), st.integers(1, 5), st.data())
@settings(max_examples=15)
def test_cross_entropy_matches_numpy_and_gradchecks(n, c, data):
    z = data.draw(tst.tensors((n, c), domain=(-5.0, 5.0)))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    expected = -np_log_softmax(z.data)[np.arange(n), labels]
    out = cross_entropy(z, labels, reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    assert strict_gradcheck(lambda z: cross_entropy(z, labels), [z])
    assert strict_gradcheck(lambda z: cross_entropy(z, onehot(labels, c), reduction="none"), [z])


@given(st.integers(1, 4), st.integers(2, 5), st.data())
@settings(max_examples=15)
def test_cross_entropy_indices_and_onehot_agree_in_value_and_gradient(n, c, data):
    z = data.draw(tst.arrays((n, c)))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    for reduction in ("mean", "sum"):
        by_index, by_onehot = t64(z, True), t64(z, True)
        a = cross_entropy(by_index, labels, reduction=reduction)
        b = cross_entropy(by_onehot, onehot(labels, c), reduction=reduction)
        a.backward()
        b.backward()
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
        np.testing.assert_allclose(by_index.grad, by_onehot.grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [4.0, 1.0, -2.0]])
    labels = np.array([2, 0, 1, 1])
    softmax = np.exp(np_log_softmax(z))
    [g] = gradient_of(lambda z: cross_entropy(z, labels), z)
    np.testing.assert_allclose(g, (softmax - onehot(labels, 3)) / 4, rtol=1e-12, atol=1e-15)
    [g] = gradient_of(lambda z: cross_entropy(z, labels, reduction="sum"), z)
    np.testing.assert_allclose(g, softmax - onehot(labels, 3), rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_probability_labels():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    q = np.array([[0.2, 0.3, 0.5], [0.5, 0.0, 0.5]])
    out = cross_entropy(t64(z), q, reduction="none")
    np.testing.assert_allclose(out.data, -(q * np_log_softmax(z)).sum(-1), rtol=RTOL)
    [g] = gradient_of(lambda z: cross_entropy(z, q, reduction="sum"), z)
    np.testing.assert_allclose(g, np.exp(np_log_softmax(z)) - q, rtol=1e-12, atol=1e-15)
    assert strict_gradcheck(lambda z: cross_entropy(z, q), [t64(z, True)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_exact_for_logits_of_magnitude_1e4(dtype):
    z = np.array([[1e4, 0.0, -1e4]], dtype=dtype)
    assert cross_entropy(Tensor(z), [0]).item() == 0.0
    assert cross_entropy(Tensor(z), [2]).item() == 2e4
    assert cross_entropy(Tensor(z), [1]).item() == 1e4
    assert cross_entropy(Tensor(z), onehot([2], 3)).item() == 2e4
    x = Tensor(z, requires_grad=True)
    cross_entropy(x, [2]).backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, -1.0]])  # softmax - onehot, exactly


def test_cross_entropy_accepts_every_form_of_integer_labels():
    z = t64(CE_LOGITS)
    expected = np.mean(CE_EXPECTED)
    for labels in (
        [2, 0],
        np.array([2, 0]),
        np.array([2, 0], dtype=np.uint8),
        Tensor([2, 0]),  # float32 by default: whole numbers are accepted
        Tensor(np.array([2, 0], dtype=np.int64)),
        np.array([2.0, 0.0]),
    ):
        assert cross_entropy(z, labels).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_of_a_single_sample():
    z = np.array([1.0, 2.0, 3.0])
    out = cross_entropy(t64(z), 0, reduction="none")
    assert out.shape == ()
    assert out.item() == pytest.approx(-np_log_softmax(z)[0], rel=1e-12)
    for labels in (np.int64(0), Tensor(0.0), [1.0, 0.0, 0.0]):
        assert cross_entropy(t64(z), labels).item() == pytest.approx(out.item(), rel=1e-12)
    [g] = gradient_of(lambda z: cross_entropy(z, 0), z)
    np.testing.assert_allclose(g, np.exp(np_log_softmax(z)) - [1, 0, 0], rtol=1e-12)


def test_cross_entropy_labels_do_not_receive_gradients():
    q = Tensor(np.array([[0.0, 1.0]]), requires_grad=True)
    z = t64([[1.0, 2.0]], requires_grad=True)
    cross_entropy(z, q).backward()
    assert z.grad is not None and q.grad is None


@pytest.mark.parametrize("bad", [3, -1, 7])
def test_cross_entropy_refuses_labels_out_of_range(bad):
    with pytest.raises(InvalidArgumentError) as info:
        cross_entropy(np.zeros((2, 3)), np.array([0, bad]))
    msg = str(info.value)
    assert str(bad) in msg and "[0, 3)" in msg and "C = 3" in msg
    assert "position (1,)" in msg


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint64])
def test_cross_entropy_checks_labels_of_every_integer_dtype(dtype):
    z = t64(CE_LOGITS)
    labels = np.array([2, 0], dtype=dtype)
    assert cross_entropy(z, labels).item() == pytest.approx(np.mean(CE_EXPECTED), rel=1e-12)
    # ignore_index inside [0, C): the position labelled 2 counts for nothing
    assert cross_entropy(z, labels, ignore_index=2).item() == pytest.approx(LN3, rel=1e-12)
    big = np.array([0, 3], dtype=dtype)
    with pytest.raises(InvalidArgumentError, match=r"\[0, 3\) for C = 3 classes; got 3 "):
        cross_entropy(z, big)
    if np.dtype(dtype).kind == "i":
        with pytest.raises(InvalidArgumentError, match="got -1 "):
            cross_entropy(z, np.array([-1, 0], dtype=dtype))


def test_cross_entropy_hints_at_one_based_labels():
    with pytest.raises(InvalidArgumentError, match="count from 1, subtract 1"):
        cross_entropy(np.zeros((3, 3)), np.array([1, 2, 3]))


@pytest.mark.parametrize("labels", [[0.5, 1.0], Tensor([0.0, 1.5]), [np.nan, 1.0]])
def test_cross_entropy_refuses_non_integral_labels(labels):
    with pytest.raises(InvalidArgumentError, match=r"whole numbers in \[0, 3\); got (0.5|1.5|nan)"):
        cross_entropy(np.zeros((2, 3)), labels)


def test_cross_entropy_refuses_boolean_and_non_numeric_labels():
    with pytest.raises(DTypeError, match="booleans"):
        cross_entropy(np.zeros((2, 3)), np.array([True, False]))
    with pytest.raises(DTypeError, match="labels must be numbers"):
        cross_entropy(np.zeros((2, 3)), ["cat", "dog"])


def test_cross_entropy_refuses_probabilities_outside_0_1():
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]; got -0.5"):
        cross_entropy(np.zeros((1, 3)), [[1.5, -0.5, 0.0]])


def test_cross_entropy_shape_errors():
    with pytest.raises(ShapeError) as info:
        cross_entropy(np.zeros((4, 3)), np.zeros((4, 1), dtype=int))
    msg = str(info.value)
    assert "(4, 3)" in msg and "(4, 1)" in msg and "(4,)" in msg and "reshape(-1)" in msg
    with pytest.raises(ShapeError, match=r"shape \(4,\) or probabilities of shape \(4, 3\)"):
        cross_entropy(np.zeros((4, 3)), [0, 1])
    # (N, C, d1) logits take labels (N, d1), as PyTorch: the classes are axis 1.
    with pytest.raises(ShapeError, match=r"class indices of shape \(2, 4\)"):
        cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ShapeError, match=r"got shape \(\)"):
        cross_entropy(1.0, 0)


# ----------------------------------------------------------------------------- binary_cross_entropy


def test_bce_gradient_by_hand():
    p, t = np.array([0.5, 0.25, 0.8, 0.6]), np.array([1.0, 0.0, 1.0, 0.3])
    [g] = gradient_of(lambda p: binary_cross_entropy(p, t), p)
    np.testing.assert_allclose(g, (p - t) / (p * (1 - p)) / 4, rtol=1e-12)


@given(tst.shapes(min_dims=0, max_dims=2), st.data())
@settings(max_examples=15)
def test_bce_matches_numpy_and_gradchecks(shape, data):
    p = data.draw(tst.tensors(shape, domain=(0.05, 0.95)))
    t = data.draw(tst.arrays(shape, domain=(0.0, 1.0)))
    expected = -(t * np.log(p.data) + (1 - t) * np.log(1 - p.data))
    np.testing.assert_allclose(
        binary_cross_entropy(p, t, reduction="none").data, expected, rtol=1e-12, atol=1e-14
    )
    assert strict_gradcheck(lambda p: binary_cross_entropy(p, t), [p])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_at_p_0_and_1_is_large_but_finite(dtype):
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype), requires_grad=True)
    out = binary_cross_entropy(p, [1.0, 0.0, 0.0, 1.0], reduction="none")
    expected = -math.log(1e-12)  # ~27.63: the clip at 1e-12 inside the logs
    np.testing.assert_allclose(out.data, [expected, expected, 0.0, 0.0], rtol=1e-6)
    out.sum().backward()
    assert np.all(np.isfinite(p.grad))
    # Where the clip is inactive, the gradient is the unclipped one: 1/(1-p) at p=0, t=0.
    assert p.grad[2] == 1.0 and p.grad[3] == -1.0


def test_bce_close_to_1_in_float32_stays_below_the_clip():
    # 1 - 2^-24 is the float32 just below 1; 1 - p is exactly 2^-24 there, not clipped.
    p = Tensor(np.array([1 - 2.0**-24], dtype=np.float32))
    assert binary_cross_entropy(p, [0.0]).item() == pytest.approx(24 * LN2, rel=1e-6)


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan])
def test_bce_refuses_probs_outside_0_1(bad):
    with pytest.raises(InvalidArgumentError) as info:
        binary_cross_entropy([0.5, bad], [1.0, 0.0])
    msg = str(info.value)
    assert "probs must lie in [0, 1]" in msg and repr(float(bad)) in msg
    assert "binary_cross_entropy_with_logits" in msg


def test_bce_refuses_targets_outside_0_1_with_a_hint_for_sign_labels():
    with pytest.raises(InvalidArgumentError, match=r"targets must lie in \[0, 1\]; got -1.0"):
        binary_cross_entropy([0.5, 0.5], [-1.0, 1.0])
    with pytest.raises(InvalidArgumentError, match=r"t = \(y \+ 1\) / 2"):
        binary_cross_entropy_with_logits([0.5, 0.5], [-1.0, 1.0])


def test_bce_shape_mismatch():
    with pytest.raises(ShapeError, match=r"probs has shape \(3, 1\) but targets has shape \(3,\)"):
        binary_cross_entropy(np.full((3, 1), 0.5), np.ones(3))
    with pytest.raises(ShapeError, match=r"logits has shape \(3, 1\).*reshape"):
        binary_cross_entropy_with_logits(np.zeros((3, 1)), np.ones(3))


# ----------------------------------------------------------------------------- with logits


@given(tst.shapes(min_dims=0, max_dims=2), st.data())
@settings(max_examples=15)
def test_bce_with_logits_equals_bce_of_sigmoid_and_gradchecks(shape, data):
    x = data.draw(tst.tensors(shape, domain=(-8.0, 8.0)))
    t = data.draw(tst.arrays(shape, domain=(0.0, 1.0)))
    direct = binary_cross_entropy_with_logits(x, t, reduction="none")
    via_probs = binary_cross_entropy(x.sigmoid(), t, reduction="none")
    np.testing.assert_allclose(direct.data, via_probs.data, rtol=1e-9, atol=1e-12)
    assert strict_gradcheck(lambda x: binary_cross_entropy_with_logits(x, t), [x])
    # dL/dx = sigma(x) - t, to rounding
    x.zero_grad()
    binary_cross_entropy_with_logits(x, t, reduction="sum").backward()
    np.testing.assert_allclose(x.grad, np_sigmoid(x.data) - t, rtol=1e-12, atol=1e-15)


def test_bce_with_logits_gradient_at_zero_is_exactly_sigmoid_minus_t():
    x = t64([0.0, 0.0, 0.0], requires_grad=True)
    binary_cross_entropy_with_logits(x, [1.0, 0.5, 0.0], reduction="sum").backward()
    assert x.grad.tolist() == [-0.5, 0.0, 0.5]
    # and the point is smooth there: no kink for gradcheck to find
    assert strict_gradcheck(
        lambda x: binary_cross_entropy_with_logits(x, [1.0, 0.5, 0.0]), [t64([0.0] * 3, True)]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_finite_at_1e4(dtype):
    x = Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype), requires_grad=True)
    out = binary_cross_entropy_with_logits(x, [0.0, 1.0, 1.0, 0.0], reduction="none")
    assert out.data.tolist() == [1e4, 1e4, 0.0, 0.0]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, -1.0, 0.0, 0.0]


def test_bce_with_logits_mean_divides_the_gradient_by_n():
    x, t = np.array([[0.5, -2.0], [3.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    [g] = gradient_of(lambda x: binary_cross_entropy_with_logits(x, t), x)
    np.testing.assert_allclose(g, (np_sigmoid(x) - t) / 4, rtol=1e-12)


# ----------------------------------------------------------------------------- hinge_loss


def test_hinge_at_and_beyond_the_margin():
    s = t64([1.0, 3.0, 0.5, -1.0, -0.5], requires_grad=True)
    y = np.array([1, 1, 1, -1, 1])
    out = hinge_loss(s, y, reduction="none")
    # y s = 1 (at the margin), 3, 0.5, 1 (at the margin), -0.5 (wrong side)
    assert out.data.tolist() == [0.0, 0.0, 0.5, 0.0, 1.5]
    out.sum().backward()
    # -y inside the margin, 0 beyond it and at the kink itself (relu's subgradient)
    assert s.grad.tolist() == [0.0, 0.0, -1.0, 0.0, -1.0]


def test_hinge_takes_the_column_of_a_single_output_model():
    s = t64([[2.0], [0.5], [-1.0]], requires_grad=True)   # (N, 1), as Linear(k, 1) gives
    out = hinge_loss(s, np.array([1, 1, -1]), reduction="none")
    assert out.shape == (3, 1) and out.data.ravel().tolist() == [0.0, 0.5, 0.0]
    hinge_loss(s, [1, 1, -1]).backward()
    assert s.grad.ravel().tolist() == [0.0, -1.0 / 3, 0.0]


@given(tst.shapes(min_dims=1, max_dims=2), st.data())
@settings(max_examples=15)
def test_hinge_gradcheck_away_from_the_kink(shape, data):
    s = data.draw(tst.tensors(shape, domain=(-3.0, 3.0), kinks=(-1.0, 1.0)))
    y = data.draw(tst.arrays(shape, domain=(-1.0, 1.0)).map(lambda a: np.where(a < 0, -1, 1)))
    np.testing.assert_allclose(
        hinge_loss(s, y, reduction="none").data, np.maximum(0, 1 - y * s.data), rtol=1e-12
    )
    assert strict_gradcheck(lambda s: hinge_loss(s, y), [s])


@pytest.mark.parametrize("labels", [[0, 1, 1], np.array([True, False, True]), Tensor([1, 0, 0])])
def test_hinge_refuses_0_1_labels_with_a_hint(labels):
    with pytest.raises(InvalidArgumentError) as info:
        hinge_loss(np.zeros(3), labels)
    msg = str(info.value)
    assert "must be -1 or +1" in msg and "got" in msg and "2 * y - 1" in msg


def test_hinge_names_other_bad_labels_without_the_0_1_hint():
    with pytest.raises(InvalidArgumentError) as info:
        hinge_loss(np.zeros(3), [2, -1, 0.5])
    msg = str(info.value)
    assert re.search(r"got 0.5, 2.0", msg) and "2 * y - 1" not in msg


def test_hinge_shape_mismatch():
    with pytest.raises(ShapeError, match=r"scores has shape \(3, 2\) but labels has shape \(3,\)"):
        hinge_loss(np.zeros((3, 2)), [1, -1, 1])


# ----------------------------------------------------------------------------- multiclass hinge


def test_multiclass_hinge_at_and_beyond_the_margin():
    # sample 0: s_1 - s_0 + 1 = 0 (exactly at the margin); s_2 is 2 below the margin
    # sample 1: class 0 is within the margin by 0.5, class 2 beats the true class by 1
    s = t64([[2.0, 1.0, -1.0], [1.5, 2.0, 3.0]], requires_grad=True)
    out = multiclass_hinge_loss(s, [0, 1], reduction="none")
    assert out.data.tolist() == [0.0, 0.5 + 2.0]
    out.sum().backward()
    assert s.grad.tolist() == [[0.0, 0.0, 0.0], [1.0, -2.0, 1.0]]


def test_multiclass_hinge_margin_parameter():
    s = t64([[2.0, 1.0, -1.0]])
    assert multiclass_hinge_loss(s, [0], margin=0.0).item() == 0.0
    assert multiclass_hinge_loss(s, [0], margin=2.0).item() == 1.0  # 1 + 0 (class 2: 2 - 3 < 0)
    assert multiclass_hinge_loss(s, [0], margin=3.5).item() == 2.5 + 0.5


def test_multiclass_hinge_of_a_single_sample():
    out = multiclass_hinge_loss([3.2, 5.1, -1.7], 0, reduction="none")
    assert out.shape == () and out.item() == pytest.approx(2.9, rel=1e-6)


@given(st.integers(1, 4), st.integers(2, 4), st.floats(0.0, 2.0), st.data())
@settings(max_examples=15)
def test_multiclass_hinge_gradcheck_away_from_kinks(n, c, margin, data):
    s = data.draw(tst.tensors((n, c)))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    true = s.data[np.arange(n), labels][:, None]
    wrong = np.ones((n, c), dtype=bool)
    wrong[np.arange(n), labels] = False
    assume(np.all(np.abs(s.data - true + margin)[wrong] > 1e-3))
    expected = (np.maximum(0, s.data - true + margin) * wrong).sum(axis=1)
    np.testing.assert_allclose(
        multiclass_hinge_loss(s, labels, margin, reduction="none").data, expected, rtol=1e-12
    )
    assert strict_gradcheck(lambda s: multiclass_hinge_loss(s, labels, margin), [s])


def test_multiclass_hinge_errors():
    with pytest.raises(InvalidArgumentError, match=r"\[0, 3\).*got 3 "):
        multiclass_hinge_loss(np.zeros((2, 3)), [0, 3])
    with pytest.raises(InvalidArgumentError, match="whole numbers"):
        multiclass_hinge_loss(np.zeros((2, 3)), [0, 1.5])
    with pytest.raises(ShapeError, match=r"shape \(2,\); got labels of shape \(3,\)"):
        multiclass_hinge_loss(np.zeros((2, 3)), [0, 1, 2])
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(InvalidArgumentError, match="margin must be a finite number >= 0"):
            multiclass_hinge_loss(np.zeros((2, 3)), [0, 1], margin=bad)
    with pytest.raises(InvalidArgumentError, match="margin must be a number"):
        multiclass_hinge_loss(np.zeros((2, 3)), [0, 1], margin="1")


# ----------------------------------------------------------------------------- max_margin_loss


def test_max_margin_is_the_course_objective():
    # J = max(1 + s_c - s, 0): s - s_c = 2 (beyond), 1 (at the margin), 0.5, -1 (wrong order)
    s = t64([3.0, 2.0, 1.0, 0.0], requires_grad=True)
    sc = t64([1.0, 1.0, 0.5, 1.0], requires_grad=True)
    out = max_margin_loss(s, sc, reduction="none")
    assert out.data.tolist() == [0.0, 0.0, 0.5, 2.0]
    out.sum().backward()
    # dJ/ds = -dJ/ds_c = -1 where the cost is positive, 0 elsewhere (and at the kink)
    assert s.grad.tolist() == [0.0, 0.0, -1.0, -1.0]
    assert sc.grad.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_max_margin_with_another_margin():
    s, sc = [3.0, 2.0], [1.0, 1.0]
    assert max_margin_loss(s, sc, margin=0.0, reduction="none").tolist() == [0.0, 0.0]
    assert max_margin_loss(s, sc, margin=2.5, reduction="none").tolist() == [0.5, 1.5]


@given(tst.shapes(min_dims=0, max_dims=2), st.floats(0.0, 2.0), st.data())
@settings(max_examples=15)
def test_max_margin_gradcheck_away_from_the_kink(shape, margin, data):
    s = data.draw(tst.tensors(shape))
    sc = data.draw(tst.tensors(shape))
    assume(np.all(np.abs(margin + sc.data - s.data) > 1e-3))
    np.testing.assert_allclose(
        max_margin_loss(s, sc, margin, reduction="none").data,
        np.maximum(margin + sc.data - s.data, 0),
        rtol=1e-12,
    )
    assert strict_gradcheck(lambda s, sc: max_margin_loss(s, sc, margin), [s, sc])


def test_max_margin_errors():
    with pytest.raises(ShapeError, match=r"s_true has shape \(\) but s_corrupt has shape \(3,\)"):
        max_margin_loss(1.0, [0.0, 0.5, 2.0])
    with pytest.raises(InvalidArgumentError, match="margin must be a finite number >= 0; got -1"):
        max_margin_loss([1.0], [0.0], margin=-1)


# ----------------------------------------------------------------------------- l2_penalty


def test_l2_penalty_value_and_gradient():
    w1 = t64([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    w2 = t64([4.0, -1.0], requires_grad=True)
    lam, n = 0.3, 50
    penalty = l2_penalty([w1, w2], lam, n)
    assert penalty.shape == ()
    # sum of squares: 1 + 4 + 0.25 + 9 + 16 + 1 = 31.25
    assert penalty.item() == pytest.approx(lam / (2 * n) * 31.25, rel=1e-14)
    penalty.backward()
    np.testing.assert_allclose(w1.grad, lam / n * w1.data, rtol=1e-14)
    np.testing.assert_allclose(w2.grad, lam / n * w2.data, rtol=1e-14)


def test_l2_penalty_step_is_weight_decay():
    # with L0 = 0, one gradient step gives w <- (1 - eta lam / n) w, the course's weight decay
    w = t64([2.0, -4.0], requires_grad=True)
    eta, lam, n = 0.1, 2.0, 4
    l2_penalty([w], lam, n).backward()
    np.testing.assert_allclose(w.data - eta * w.grad, (1 - eta * lam / n) * w.data, rtol=1e-14)


def test_l2_penalty_gradcheck():
    rng = np.random.default_rng(0)
    w1, w2 = t64(rng.standard_normal((3, 2)), True), t64(rng.standard_normal(4), True)
    assert strict_gradcheck(lambda a, b: l2_penalty([a, b], 0.7, 10), [w1, w2])


def test_l2_penalty_accepts_generators_modules_and_single_tensors():
    w = t64([1.0, 2.0], requires_grad=True)
    expected = 1.0 / (2 * 5) * 5.0

    class Model:
        def parameters(self):
            return [w]

    for params in ([w], (p for p in [w]), Model(), w):
        assert l2_penalty(params, 1.0, 5).item() == pytest.approx(expected, rel=1e-14)


def test_l2_penalty_is_zero_for_no_params_or_lambda_zero():
    assert l2_penalty([], 1.0, 10).item() == 0.0
    w = t64([1.0, 2.0], requires_grad=True)
    penalty = l2_penalty([w], 0.0, 10)
    assert penalty.item() == 0.0
    penalty.backward()
    assert w.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "lam, n, pattern",
    [
        (-0.1, 10, r"lam must be finite and >= 0; got -0.1"),
        (math.inf, 10, r"lam must be finite and >= 0; got inf"),
        (math.nan, 10, r"lam must be finite and >= 0; got nan"),
        (0.1, 0, r"n \(the number of training examples\) must be finite and > 0; got 0"),
        (0.1, -5, r"must be finite and > 0; got -5"),
        (0.1, math.inf, r"must be finite and > 0; got inf"),
        ("0.1", 10, r"lam must be a number"),
        (0.1, None, r"n must be a number"),
        (True, 10, r"lam must be a number"),
    ],
)
def test_l2_penalty_refuses_bad_hyper_parameters(lam, n, pattern):
    with pytest.raises(InvalidArgumentError, match=pattern):
        l2_penalty([t64([1.0])], lam, n)


def test_l2_penalty_refuses_params_that_are_not_tensors():
    with pytest.raises(InvalidArgumentError, match="item 1 is a ndarray"):
        l2_penalty([t64([1.0]), np.ones(2)], 0.1, 10)
    with pytest.raises(InvalidArgumentError, match="iterable of Tensors"):
        l2_penalty(3.0, 0.1, 10)


# ----------------------------------------------------------------------------- second derivatives


@pytest.mark.parametrize(
    "loss",
    [
        lambda x: mse_loss(x, np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 1.5]])),
        lambda x: cross_entropy(x, np.array([2, 0])),
        lambda x: cross_entropy(x, np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])),
        lambda x: binary_cross_entropy_with_logits(x, np.array([[1, 0, 1], [0.5, 0, 1]])),
        lambda x: binary_cross_entropy(x.sigmoid(), np.array([[1, 0, 1], [0.5, 0, 1]])),
    ],
    ids=["mse", "cross_entropy_indices", "cross_entropy_probs", "bce_logits", "bce"],
)
def test_smooth_losses_have_correct_second_derivatives(loss):
    # Newton's method differentiates the backward pass of the loss (create_graph=True).
    x = t64([[0.3, -1.2, 2.0], [1.0, 0.0, -0.5]], requires_grad=True)
    assert gradgradcheck(loss, [x])


# ----------------------------------------------------------------------------- fused mean


def _logits_and_labels(dtype, n=6, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)).astype(dtype) * 3, rng.integers(0, c, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_mean_gives_the_bits_of_rows_then_mean(dtype):
    x, y = _logits_and_labels(dtype)
    fused, composed = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    a = cross_entropy(fused, y)
    b = cross_entropy(composed, y, reduction="none").mean()
    assert a.grad_fn.name == "SoftmaxCrossEntropyMean"  # one node, the case being tested
    assert a.dtype == b.dtype == dtype and a.shape == b.shape == ()
    np.testing.assert_array_equal(a.data, b.data)
    a.backward()
    b.backward()
    np.testing.assert_array_equal(fused.grad, composed.grad)


def test_the_fused_mean_passes_gradcheck_and_gradgradcheck_in_float64():
    x, y = _logits_and_labels(np.float64)
    t = Tensor(x, requires_grad=True, dtype=np.float64)
    assert gradcheck(lambda z: cross_entropy(z, y), [t])
    assert gradgradcheck(lambda z: cross_entropy(z, y), [t])


def test_the_fused_mean_backpropagates_twice_and_with_a_scaled_seed():
    """Its backward turns its probabilities into the gradient: a second pass recomputes them."""
    x, y = _logits_and_labels(np.float64)
    t = Tensor(x, requires_grad=True)
    loss = cross_entropy(t, y)
    loss.backward(retain_graph=True)
    once = t.grad.copy()
    loss.backward(np.array(3.0))  # seed 3: adds 3 times the gradient
    np.testing.assert_allclose(t.grad, 4 * once, rtol=1e-14)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    np.testing.assert_allclose(once, p / len(y), rtol=1e-12)


def test_an_ignored_label_still_takes_the_masked_mean():
    x, y = _logits_and_labels(np.float64)
    y[2] = -100
    t = Tensor(x, requires_grad=True)
    loss = cross_entropy(t, y)
    kept = np.delete(np.arange(len(y)), 2)
    expected = cross_entropy(Tensor(x[kept]), y[kept]).item()
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    loss.backward()
    np.testing.assert_array_equal(t.grad[2], np.zeros(x.shape[1]))
