"""numpy functions applied to Tensors: recorded as tensor operations, run on the values when
no gradient is at stake, or refused with a message naming what to use; never a result
silently cut from the graph."""

import numpy as np
import pytest

from tinygrad_edu import Tensor


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize(
    "call, method",
    [
        (lambda x: np.sum(x), lambda x: x.sum()),
        (lambda x: np.sum(x, axis=0, keepdims=True), lambda x: x.sum(0, True)),
        (lambda x: np.mean(x, 1), lambda x: x.mean(1)),
        (lambda x: np.var(x, ddof=1), lambda x: x.var(ddof=1)),
        (lambda x: np.std(x, axis=0), lambda x: x.std(0)),
        (lambda x: np.max(x, axis=1), lambda x: x.max(1)),
        (lambda x: np.amin(x), lambda x: x.min()),
        (lambda x: np.prod(x, axis=0), lambda x: x.prod(0)),
        (lambda x: np.cumsum(x, axis=1), lambda x: x.cumsum(1)),
        (lambda x: np.cumprod(x), lambda x: x.flatten().cumprod(0)),
        (lambda x: np.reshape(x, (3, 2)), lambda x: x.reshape(3, 2)),
        (lambda x: np.transpose(x), lambda x: x.T),
        (lambda x: np.expand_dims(x, 0), lambda x: x.unsqueeze(0)),
        (lambda x: np.clip(x, 1.5, 4.5), lambda x: x.clip(1.5, 4.5)),
        (lambda x: np.flip(x, 1), lambda x: x.flip(1)),
        (lambda x: np.roll(x, 1, 0), lambda x: x.roll(1, 0)),
        (lambda x: np.tril(x), lambda x: x.tril()),
        (lambda x: np.concatenate([x, x * 2]), lambda x: Tensor.concatenate([x, x * 2])),
        (lambda x: np.stack([x, x], axis=1), lambda x: Tensor.stack([x, x], 1)),
        (lambda x: np.where(x.data > 2, x, 0.0), lambda x: Tensor.where(x.data > 2, x, 0.0)),
        (lambda x: np.sort(x, axis=1), lambda x: x.sort(1)[0]),
        (lambda x: np.einsum("ij->j", x), lambda x: x.sum(0)),
        (lambda x: np.dot(x, x.T), lambda x: x @ x.T),
        (lambda x: np.exp(x), lambda x: x.exp()),
        (lambda x: np.sin(x) + np.square(x), lambda x: x.sin() + x * x),
        (lambda x: np.log1p(x) * np.reciprocal(x), lambda x: x.log1p() / x),
    ],
    ids=[
        "sum", "sum-axis", "mean", "var", "std", "max", "amin", "prod", "cumsum", "cumprod",
        "reshape", "transpose", "expand_dims", "clip", "flip", "roll", "tril", "concatenate",
        "stack", "where", "sort", "einsum", "dot", "exp", "sin-square", "log1p-reciprocal",
    ],
)
def test_numpy_functions_record_the_operation(call, method):
    values = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    a, b = leaf(values), leaf(values)
    out, expected = call(a), method(b)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-14)
    weights = np.arange(1.0, out.size + 1).reshape(out.shape)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-14)


def test_a_function_without_a_tensor_method_is_refused_when_grad_is_at_stake():
    x = leaf([3.0, 4.0])
    with pytest.raises(TypeError, match=r"np\.linalg\.norm .*not recorded.*detach\(\)"):
        np.linalg.norm(x)
    with pytest.raises(TypeError, match=r"np\.median .*t\.median|np\.median .*tensor operations"):
        np.median(x)


def test_numpy_only_arguments_are_refused_by_name():
    x = leaf([3.0, 4.0])
    with pytest.raises(TypeError, match="out="):
        np.sum(x, out=np.zeros(()))
    with pytest.raises(TypeError, match="dtype="):
        np.mean(x, dtype=np.float32)


def test_functions_of_the_values_only_run_on_the_values():
    x = leaf([3.0, 4.0])
    assert np.shape(x) == (2,) and np.ndim(x) == 1
    assert np.allclose(x, [3.0, 4.0]) and np.array_equal(x, np.array([3.0, 4.0]))
    assert np.argsort(x).tolist() == [0, 1]
    np.testing.assert_array_equal(np.zeros_like(x), [0.0, 0.0])
    # a tensor that needs no gradient: any numpy function works on its values
    assert np.linalg.norm(Tensor([3.0, 4.0])) == 5.0
    assert np.median(Tensor([1.0, 5.0, 2.0])) == 2.0


def test_where_with_a_condition_alone_and_sort_without_an_axis():
    x = leaf([[3.0, -1.0], [0.5, 2.0]])
    rows, cols = np.where(x > 1)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
    out = np.sort(x, axis=None)
    assert out.tolist() == [-1.0, 0.5, 2.0, 3.0] and out.requires_grad


def test_ufunc_tests_of_the_values_give_boolean_tensors():
    out = np.isnan(leaf([1.0, np.nan]))
    assert isinstance(out, Tensor) and out.tolist() == [False, True]
