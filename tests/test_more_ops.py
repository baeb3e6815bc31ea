"""The operations beyond the operation table's value and gradient checks: PyTorch spellings,
the non-differentiable results (indices, booleans, one-hot rows), exact gradients at special
points, and the errors for arguments that do not fit."""

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_edu import InvalidArgumentError, Tensor
from tinygrad_edu.errors import IndexingError, ShapeError
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing.op_table import OPS


def t64(values, requires_grad=True):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- PyTorch spellings


def test_operator_methods_match_the_operators():
    a, b = t64([1.0, -2.0, 3.0]), t64([4.0, 5.0, -6.0])
    for method, expected in [
        (a.add(b), a.data + b.data), (a.sub(b), a.data - b.data), (a.mul(b), a.data * b.data),
        (a.div(b), a.data / b.data), (a.pow(2), a.data**2), (a.neg(), -a.data),
    ]:  # fmt: skip
        np.testing.assert_array_equal(method.data, expected)
    a.mul(b).add(a.pow(2)).sum().backward()
    np.testing.assert_array_equal(a.grad, b.data + 2 * a.data)


def test_view_permute_and_cat():
    x = t64(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.view(4, 6).data, x.data.reshape(4, 6))
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, x.data.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.permute((1, 0, 2)).data, x.data.transpose(1, 0, 2))
    out = Tensor.cat([x, x * 2], dim=1)
    assert out.shape == (2, 6, 4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3, 4), 3.0))


def test_dim_and_keepdim_are_accepted_wherever_axis_and_keepdims_are():
    x = t64(np.arange(6.0).reshape(2, 3) + 1)
    d = x.data
    pairs = [
        (x.sum(dim=1, keepdim=True), d.sum(axis=1, keepdims=True)),
        (x.mean(dim=0), d.mean(axis=0)),
        (x.var(dim=1, keepdim=True), d.var(axis=1, keepdims=True)),
        (x.std(dim=(0, 1)), d.std()),
        (x.max(dim=1), d.max(axis=1)),
        (x.min(dim=0, keepdim=True), d.min(axis=0, keepdims=True)),
        (x.prod(dim=1), d.prod(axis=1)),
        (x.logsumexp(dim=1), np.log(np.exp(d).sum(axis=1))),
        (x.softmax(dim=0), np.exp(d) / np.exp(d).sum(axis=0)),
        (x.log_softmax(dim=0), np.log(np.exp(d) / np.exp(d).sum(axis=0))),
        (x.cumsum(dim=1), d.cumsum(axis=1)),
        (x.cumprod(dim=1), d.cumprod(axis=1)),
        (x.argmax(dim=1, keepdim=True), d.argmax(axis=1, keepdims=True)),
        (x.unsqueeze(dim=0), d[None]),
        (x.reshape(1, 2, 3).squeeze(dim=0), d),
        (Tensor.stack([x, x], dim=2), np.stack([d, d], axis=2)),
        (Tensor.concatenate([x, x], dim=1), np.concatenate([d, d], axis=1)),
        (x.flip(dims=1), d[:, ::-1]),
        (x.flip(dim=0), d[::-1]),
        (x.roll(1, dims=1), np.roll(d, 1, axis=1)),
        (x.roll(1, dim=0), np.roll(d, 1, axis=0)),
        (x.sort(dim=0)[0], np.sort(d, axis=0)),
        (x.topk(1, dim=0)[0], d.max(axis=0, keepdims=True)),
        (x.any(dim=1, keepdim=True), d.any(axis=1, keepdims=True)),
        (x.split(1, dim=1)[0], d[:, :1]),
        (x.chunk(2, dim=0)[1], d[1:]),
        (x.gather(dim=1, index=[[0], [2]]), np.array([[1.0], [6.0]])),
    ]
    for out, expected in pairs:
        np.testing.assert_allclose(out.data, expected, rtol=1e-14)
        assert out.shape == np.shape(expected)


def test_axis_and_dim_that_disagree_are_refused():
    x = t64(np.ones((2, 3)))
    with pytest.raises(InvalidArgumentError, match="axis=0 and dim=1"):
        x.sum(axis=0, dim=1)
    with pytest.raises(InvalidArgumentError, match="keepdim"):
        x.mean(axis=0, keepdims=True, keepdim=False)
    assert x.sum(axis=1, dim=1).shape == (2,)  # the same thing twice is fine


def test_pytorch_names_of_the_inverse_trigonometric_functions():
    x = t64([-0.5, 0.25])
    np.testing.assert_array_equal(x.asin().data, np.arcsin(x.data))
    np.testing.assert_array_equal(x.acos().data, np.arccos(x.data))
    np.testing.assert_array_equal(x.atan().data, np.arctan(x.data))


# ----------------------------------------------------------------------------- exact values


def test_activations_at_known_points():
    x = t64([-4.0, -1.0, 0.0, 1.0, 4.0, 7.0], requires_grad=False)
    np.testing.assert_allclose(x.relu6().data, [0, 0, 0, 1, 4, 6])
    np.testing.assert_allclose(x.hardsigmoid().data, [0, 1 / 3, 0.5, 2 / 3, 1, 1])
    np.testing.assert_allclose(x.hardswish().data, [0, -1 / 3, 0, 2 / 3, 4, 7])
    # PyTorch: F.gelu(tensor([1.])) = 0.8413447460685429, F.selu(tensor([-1.])) = -1.1113307378
    np.testing.assert_allclose(t64([1.0]).gelu().data, [0.8413447460685429], rtol=1e-15)
    np.testing.assert_allclose(t64([1.0]).gelu("tanh").data, [0.8411919906082768], rtol=1e-15)
    np.testing.assert_allclose(t64([-1.0]).selu().data, [-1.1113307378125628], rtol=1e-15)
    np.testing.assert_allclose(t64([1.0]).mish().data, [0.8650983882673103], rtol=1e-15)
    # finite for huge inputs
    big = t64([-800.0, 800.0])
    np.testing.assert_array_equal(big.softplus().data, [0.0, 800.0])
    np.testing.assert_array_equal(big.logsigmoid().data, [-800.0, 0.0])
    np.testing.assert_array_equal(big.elu().data, [-1.0, 800.0])


def test_rounding_has_zero_gradient_and_rounds_halves_to_even():
    x = t64([-1.5, -0.5, 0.5, 1.5, 2.5])
    np.testing.assert_array_equal(x.round().data, [-2.0, -0.0, 0.0, 2.0, 2.0])
    out = x.floor() + x.ceil() + x.trunc() + x.sign() + x.round() + x
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(5))  # only the identity term counts


def test_mod_takes_the_sign_of_the_divisor_as_python():
    x = t64([5.5, -5.5, 5.5])
    y = t64([2.0, 2.0, -2.0])
    out = x % y
    np.testing.assert_array_equal(out.data, [5.5 % 2.0, -5.5 % 2.0, 5.5 % -2.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(y.grad, -np.floor(x.data / y.data))


@pytest.mark.parametrize(
    "values", [[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 5.0], [1e-200, 1e-200, 2.0]],
    ids=["one-zero", "two-zeros", "underflow"],
)
def test_products_with_zeros_have_exact_gradients(values):
    x = t64(values)
    x.prod().backward()
    expected = [np.prod(np.delete(values, k)) for k in range(len(values))]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14)
    assert gradcheck(lambda t: t.cumprod(0), [t64(values)])


def test_second_derivatives_of_products_with_zeros():
    assert gradgradcheck(lambda t: t.prod(), [t64([2.0, 0.0, 3.0])])
    assert gradgradcheck(lambda t: t.cumprod(0), [t64([0.5, 0.0, -2.0, 1.5])])


@pytest.mark.parametrize("name", sorted(n for n, spec in OPS.items() if not spec.second_order))
def test_piecewise_operations_record_their_backward_too(name):
    """The table checks no second derivative of these (it is zero where it exists), but
    create_graph=True must still give Tensor gradients that can be used in a graph."""
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=3)
    def check(case):
        tensors = case.tensors()
        out = spec.fn(*tensors, **case.params)
        out.backward(np.ones(out.shape), create_graph=True)
        for t in tensors:
            assert isinstance(t.grad, Tensor) and t.grad.shape == t.shape

    check()


# ----------------------------------------------------------------------------- non-differentiable


def test_argmax_argmin_are_integer_tensors_without_grad():
    x = t64([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    best = x.argmax(axis=1)
    assert best.dtype == np.int64 and not best.requires_grad
    assert best.tolist() == [1, 0] and x.argmin(1).tolist() == [0, 1]
    assert x.argmax().item() == 3 and x.argmax(1, keepdims=True).shape == (2, 1)
    with pytest.raises(InvalidArgumentError, match="one integer"):
        x.argmax(axis=(0, 1))


def test_sort_and_topk_give_indices_and_differentiable_values():
    x = t64([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    values, indices = x.sort(axis=1)
    assert indices.tolist() == [[1, 2, 0], [0, 2, 1]] and indices.dtype == np.int64
    top, where = x.topk(2, axis=1)
    assert top.tolist() == [[3.0, 2.0], [5.0, 4.0]] and where.tolist() == [[0, 2], [1, 2]]
    low, _ = x.topk(1, axis=0, largest=False)
    assert low.tolist() == [[0.0, 1.0, 2.0]]
    (top * Tensor([[1.0, 10.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 10.0], [0.0, 1.0, 10.0]])
    with pytest.raises(InvalidArgumentError, match="topk"):
        x.topk(4)


def test_sort_is_stable_for_ties():
    values, indices = Tensor([1.0, 0.0, 1.0, 0.0]).sort()
    assert indices.tolist() == [1, 3, 0, 2]
    _, down = Tensor([1.0, 0.0, 1.0, 0.0]).sort(descending=True)
    assert down.tolist() == [0, 2, 1, 3]


def test_any_all_and_the_value_tests():
    x = Tensor([[0.0, np.nan], [np.inf, 1.0]])
    assert x.any().item() and not x.all().item()
    assert x.any(axis=1).tolist() == [True, True] and x.all(dim=0).tolist() == [False, True]
    assert x.isnan().tolist() == [[False, True], [False, False]]
    assert x.isinf().tolist() == [[False, False], [True, False]]
    assert x.isfinite().tolist() == [[True, False], [False, True]]
    assert x.isnan().dtype == np.bool_


def test_one_hot():
    hot = Tensor([0, 2, 1]).one_hot()  # float labels holding whole numbers count
    assert hot.dtype == np.float32 and not hot.requires_grad
    np.testing.assert_array_equal(hot.data, np.eye(3)[[0, 2, 1]])
    assert Tensor(np.array([[1], [0]], dtype=np.int64)).one_hot(4).shape == (2, 1, 4)
    with pytest.raises(InvalidArgumentError, match="num_classes"):
        Tensor([0, 3]).one_hot(3)
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        Tensor([-1, 0]).one_hot(3)
    with pytest.raises(IndexingError, match="integers"):
        Tensor([0.5]).one_hot(2)


# ----------------------------------------------------------------------------- shapes and indices


def test_gather_and_scatter_add_follow_pytorch():
    x = t64([[1.0, 2.0], [3.0, 4.0]])
    # torch.gather(x, 1, tensor([[0, 0], [1, 0]])) -> [[1, 1], [4, 3]]
    out = x.gather(1, np.array([[0, 0], [1, 0]]))
    assert out.tolist() == [[1.0, 1.0], [4.0, 3.0]]
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0], [1.0, 1.0]])  # repeats add up
    # torch.zeros(3).scatter_add(0, tensor([0, 2, 0]), tensor([1., 2., 3.])) -> [4, 0, 2]
    src = t64([1.0, 2.0, 3.0])
    added = Tensor.zeros(3, dtype=np.float64).scatter_add(0, [0, 2, 0], src)
    assert added.tolist() == [4.0, 0.0, 2.0]
    assert Tensor.zeros(2).scatter_add(0, [1, 1], [1.0, 2.0]).tolist() == [0.0, 3.0]
    (added * Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(src.grad, [1.0, 100.0, 1.0])


def test_gather_errors_name_the_shapes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"index of shape \(3,\).*\(2, 3\)"):
        x.gather(1, [0, 1, 2])
    with pytest.raises(IndexingError, match=r"\[-3, 3\)"):
        x.gather(1, [[3], [0]])
    with pytest.raises(ShapeError, match="src"):
        x.scatter_add(0, [[0, 1]], Tensor([1.0]))


def test_split_chunk_and_their_sizes():
    x = Tensor(np.arange(10.0))
    assert [p.shape for p in x.split(4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in x.split([3, 7])] == [(3,), (7,)]
    # torch.arange(10).chunk(4) gives pieces of 3, 3, 3, 1; chunk(6) gives five pieces of 2
    assert [p.shape for p in x.chunk(4)] == [(3,), (3,), (3,), (1,)]
    assert len(x.chunk(6)) == 5
    with pytest.raises(ShapeError, match="adding up to 10"):
        x.split([3, 3])


def test_repeat_tile_expand_pad_diag():
    x = Tensor([[1.0, 2.0]])
    assert x.repeat(2, 2).shape == (2, 4) and x.repeat(3, 1, 1).shape == (3, 1, 2)
    assert x.tile(2).shape == (1, 4) and x.tile(2, 1, 1).shape == (2, 1, 2)
    with pytest.raises(ShapeError, match="repetition for each"):
        x.repeat(2)
    assert x.expand(3, -1).shape == (3, 2)
    assert x.pad(1).shape == (3, 4) and x.pad(((0, 0), (2, 0)), value=9).tolist() == [
        [9.0, 9.0, 1.0, 2.0]
    ]
    with pytest.raises(InvalidArgumentError, match="pad"):
        x.pad((-1, 0))
    np.testing.assert_array_equal(Tensor([1.0, 2.0]).diag(1).data, np.diag([1.0, 2.0], 1))
    np.testing.assert_array_equal(Tensor(np.arange(6.0).reshape(2, 3)).diag(-1).data, [3.0])


def test_einsum_formulas_and_errors():
    a, b = t64(np.arange(6.0).reshape(2, 3)), t64(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(Tensor.einsum("ij,jk", a, b).data, a.data @ b.data)
    np.testing.assert_array_equal(Tensor.einsum("ij,jk->ik", [a, b]).data, a.data @ b.data)
    np.testing.assert_array_equal(Tensor.einsum("ij -> ji", a).data, a.data.T)
    assert gradgradcheck(lambda x, y: Tensor.einsum("ij,jk->ik", x, y), [a, b])
    with pytest.raises(InvalidArgumentError, match="2 operand"):
        Tensor.einsum("ij,jk->ik", a)
    with pytest.raises(ShapeError, match="operand 1 has shape"):
        Tensor.einsum("ij,j->i", a, b)
    with pytest.raises(InvalidArgumentError, match="use letters"):
        Tensor.einsum("i1->i", a)
    with pytest.raises(InvalidArgumentError, match="output letter 'z'"):
        Tensor.einsum("ij->z", a)


def test_einsum_batch_axes_with_an_ellipsis_broadcast():
    a = t64(np.arange(6.0).reshape(1, 2, 3))
    b = t64(np.arange(60.0).reshape(4, 3, 5) / 10)
    out = Tensor.einsum("...ij,...jk->...ik", a, b)
    np.testing.assert_allclose(out.data, np.einsum("...ij,...jk->...ik", a.data, b.data))
    assert gradcheck(lambda x, y: Tensor.einsum("...ij,...jk->...ik", x, y), [a, b])
    x = t64(np.arange(24.0).reshape(2, 3, 4))
    for formula in ["...i->...", "i...->...i", "ij...->...", "...ij"]:
        np.testing.assert_array_equal(
            Tensor.einsum(formula, x).data, np.einsum(formula, x.data), err_msg=formula
        )
    np.testing.assert_array_equal(
        Tensor.einsum("...j,j", x, t64([1.0, 2.0, 3.0, 4.0])).data,
        np.einsum("...j,j", x.data, np.array([1.0, 2.0, 3.0, 4.0])),
    )


def test_lerp_with_a_tensor_weight():
    start, end, w = t64([0.0, 10.0]), t64([10.0, 20.0]), t64([0.25, 1.0])
    out = start.lerp(end, w)
    assert out.tolist() == [2.5, 20.0]
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, [10.0, 10.0])
    np.testing.assert_array_equal(start.grad, [0.75, 0.0])
