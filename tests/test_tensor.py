"""The Tensor surface: construction, attributes, conversions, constructors, numpy interop,
forward values of the shape and selection operations, and the errors a user meets.

Gradients are the business of ``test_autograd.py``; here a gradient only appears where it
shows that something (numpy interop, ``.T``, ``astype``) is recorded at all.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import (
    DTypeError,
    IndexingError,
    ShapeError,
    Tensor,
    TinygradEduError,
    get_default_dtype,
    set_default_dtype,
)


def _shapes(*shapes: tuple[int, ...]) -> str:
    """A regex matching the shapes, in order, anywhere in a message."""
    return ".*".join(re.escape(str(s)) for s in shapes)


# ----------------------------------------------------------------------------- dtype rules


def test_default_dtype_is_float32():
    assert np.dtype(get_default_dtype()) == np.float32
    assert tg.get_default_dtype is get_default_dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floating_array_keeps_dtype_and_is_not_copied(dtype):
    a = np.array([1.5, -2.0, 3.25], dtype=dtype)
    t = Tensor(a)
    assert t.dtype == dtype
    assert t.data is a
    a[0] = 7.0  # the tensor sees the change: .data is the array itself
    assert t.data[0] == 7.0
    assert t.numpy() is a


@pytest.mark.parametrize(
    "data",
    [
        3,
        2.5,
        True,
        [1, 2, 3],
        [1.5, 2.5],
        [[1, 2], [3, 4]],
        np.array([1, 2], dtype=np.int64),
        np.array([1, 2], dtype=np.int32),
        np.array([3, 4], dtype=np.uint8),
        np.array([True, False]),
    ],
)
def test_numbers_lists_and_int_arrays_get_default_dtype(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_int_array_is_converted_not_shared():
    a = np.array([1, 2, 3])
    t = Tensor(a)
    a[0] = 100
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_set_default_dtype_float64_changes_numbers_lists_and_constructors():
    set_default_dtype(np.float64)
    assert np.dtype(get_default_dtype()) == np.float64
    assert Tensor(2).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float64
    assert Tensor.zeros(2).dtype == np.float64
    assert Tensor.ones(2).dtype == np.float64
    assert Tensor.full(2, 3.0).dtype == np.float64
    assert Tensor.arange(3).dtype == np.float64
    assert Tensor.eye(2).dtype == np.float64
    assert Tensor.randn(2, rng=0).dtype == np.float64
    assert Tensor.uniform(2, rng=0).dtype == np.float64
    # a floating array still keeps its own dtype
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    set_default_dtype(np.float32)
    assert Tensor([1, 2]).dtype == np.float32


def test_float64_default_keeps_list_values_exact():
    set_default_dtype(np.float64)
    assert Tensor([0.1]).data[0] == 0.1
    set_default_dtype(np.float32)
    assert Tensor([0.1]).data[0] == np.float32(0.1)


@pytest.mark.parametrize("bad", [np.int32, np.float16, np.complex128, "int64"])
def test_set_default_dtype_rejects_non_float32_64(bad):
    with pytest.raises(DTypeError, match="float32"):
        set_default_dtype(bad)
    assert np.dtype(get_default_dtype()) == np.float32


def test_explicit_dtype_argument():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32), dtype=np.float64).dtype == np.float64
    t = Tensor([0, 2], dtype=np.int64)
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.data, [0, 2])


def test_non_numeric_data_raises_dtype_error():
    with pytest.raises(DTypeError, match="str"):
        Tensor("abc")
    with pytest.raises(DTypeError, match="NoneType"):
        Tensor(None)
    with pytest.raises(DTypeError, match="complex"):
        Tensor([1j, 2.0])


def test_ragged_list_raises_shape_error():
    with pytest.raises(ShapeError, match="Tensor"):
        Tensor([[1, 2], [3]])


def test_requires_grad_on_int_tensor_raises_dtype_error():
    with pytest.raises(DTypeError, match="int64"):
        Tensor([1, 2], dtype=np.int64, requires_grad=True)
    t = Tensor([1, 2], dtype=np.int64)
    with pytest.raises(DTypeError, match="floating"):
        t.requires_grad_()
    assert t.requires_grad is False


def test_errors_are_also_builtin_exceptions():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, TinygradEduError)
    assert issubclass(IndexingError, IndexError)
    assert issubclass(DTypeError, TypeError)
    with pytest.raises(ValueError):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


# ----------------------------------------------------------------------------- attributes


def test_attributes_of_a_leaf():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = Tensor(a, requires_grad=True, name="w")
    assert t.data is a
    assert t.grad is None
    assert t.requires_grad is True
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.size == 6
    assert t.dtype == np.float64
    assert t.name == "w"
    assert t.is_leaf is True
    assert Tensor(1.0).name is None
    assert Tensor(1.0).requires_grad is False


def test_zero_dim_tensor_attributes():
    t = Tensor(4.0)
    assert t.shape == ()
    assert t.ndim == 0
    assert t.size == 1


def test_is_leaf_and_requires_grad_of_results():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    y = x * c
    assert y.is_leaf is False
    assert y.requires_grad is True
    z = c * 2
    assert z.is_leaf is True
    assert z.requires_grad is False


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_T_reverses_axes(shape):
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    t = Tensor(a)
    assert t.T.shape == a.T.shape
    np.testing.assert_array_equal(t.T.data, a.T)


def test_T_is_differentiable():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = np.arange(6.0).reshape(3, 2) + 1
    (x.T * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.T)


# ----------------------------------------------------------------------------- methods


def test_numpy_item_tolist():
    t = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert t.numpy() is t.data
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    s = Tensor(np.array([2.5]))
    assert s.item() == 2.5
    assert type(s.item()) is float
    assert Tensor(np.array([[7.0]])).item() == 7.0
    assert Tensor(3.0).tolist() == 3.0


def test_item_on_many_elements_raises_shape_error():
    with pytest.raises(ShapeError, match=_shapes((2, 3)) + ".*sum"):
        Tensor.zeros(2, 3).item()


def test_detach_shares_data_and_leaves_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = x * 2
    d = y.detach()
    assert d.data is y.data
    assert d.requires_grad is False
    assert d.is_leaf is True
    assert d.grad_fn is None
    assert x.detach().data is x.data


def test_zero_grad_sets_none():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    assert x.grad is not None
    x.zero_grad()
    assert x.grad is None


def test_astype_converts_and_is_differentiable():
    x = Tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, [1.5, 2.5])
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 5.0])
    assert x.astype(np.float32).dtype == np.float32


# ----------------------------------------------------------------------------- constructors


@pytest.mark.parametrize("make, value", [(Tensor.zeros, 0.0), (Tensor.ones, 1.0)])
def test_zeros_ones(make, value):
    for t in (make(2, 3), make((2, 3))):
        assert t.shape == (2, 3)
        assert t.dtype == np.float32
        np.testing.assert_array_equal(t.data, np.full((2, 3), value))
        assert t.requires_grad is False
    assert make(4, dtype=np.float64).dtype == np.float64
    t = make(3, requires_grad=True)
    assert t.requires_grad is True and t.is_leaf


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor.zeros(3, dtype=np.int64),
        lambda: Tensor.ones(3, dtype=np.int64),
        lambda: Tensor.full(3, 2, dtype=np.int64),
        lambda: Tensor.arange(3, dtype=np.int64),
        lambda: Tensor.eye(3, dtype=np.int64),
    ],
    ids=["zeros", "ones", "full", "arange", "eye"],
)
def test_constructor_dtype_argument_is_honoured_for_integers(make):
    # an explicit dtype is a request, as in Tensor(data, dtype=...): integer index tensors
    assert make().dtype == np.int64


def test_arange_int64_indexes_a_tensor():
    t = Tensor(np.arange(10.0))
    np.testing.assert_array_equal(t[Tensor.arange(0, 10, 3, dtype=np.int64)].data, [0, 3, 6, 9])


def test_like_constructors_keep_integer_dtype_of_a_tensor():
    idx = Tensor([0, 2], dtype=np.int64)
    assert Tensor.zeros_like(idx).dtype == np.int64
    assert Tensor.ones_like(idx).dtype == np.int64
    assert Tensor.full_like(idx, 3).dtype == np.int64


def test_full():
    t = Tensor.full((2, 3), 7.5)
    assert t.shape == (2, 3) and t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.full((2, 3), 7.5))
    np.testing.assert_array_equal(Tensor.full(3, -1).data, [-1.0, -1.0, -1.0])
    assert Tensor.full((2,), 1.0, dtype=np.float64).dtype == np.float64


def test_randn_int_seed_is_reproducible():
    a = Tensor.randn(3, 4, rng=42)
    b = Tensor.randn((3, 4), rng=42)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data)
    expected = np.random.default_rng(42).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(a.data, expected)
    assert not np.array_equal(a.data, Tensor.randn(3, 4, rng=43).data)


def test_randn_generator_is_used_and_advanced():
    gen = np.random.default_rng(7)
    a = Tensor.randn(5, rng=gen)
    b = Tensor.randn(5, rng=gen)
    ref = np.random.default_rng(7)
    np.testing.assert_array_equal(a.data, ref.standard_normal(5).astype(np.float32))
    np.testing.assert_array_equal(b.data, ref.standard_normal(5).astype(np.float32))
    assert not np.array_equal(a.data, b.data)


def test_randn_statistics_and_dtype():
    t = Tensor.randn(20000, rng=0, dtype=np.float64)
    assert t.dtype == np.float64
    assert abs(t.data.mean()) < 0.05
    assert 0.95 < t.data.std() < 1.05
    assert Tensor.randn(2, rng=0, requires_grad=True).requires_grad


def test_uniform_range_reproducibility_and_dtype():
    t = Tensor.uniform(10000, low=-2.0, high=3.0, rng=1)
    assert t.shape == (10000,) and t.dtype == np.float32
    assert t.data.min() >= -2.0 and t.data.max() <= 3.0
    assert t.data.min() < -1.9 and t.data.max() > 2.9
    expected = np.random.default_rng(1).uniform(-2.0, 3.0, (10000,)).astype(np.float32)
    np.testing.assert_array_equal(t.data, expected)
    gen = np.random.default_rng(1)
    g = Tensor.uniform(2, 5, low=-2.0, high=3.0, rng=gen)
    assert g.shape == (2, 5)
    np.testing.assert_array_equal(g.data.ravel(), expected[:10])
    d = Tensor.uniform(3, rng=0)  # default U(0, 1)
    assert ((d.data >= 0) & (d.data <= 1)).all()
    assert Tensor.uniform(3, rng=0, dtype=np.float64).dtype == np.float64


def test_bad_rng_raises_type_error():
    with pytest.raises(TypeError, match="rng"):
        Tensor.randn(2, rng="seed")


def test_arange():
    np.testing.assert_array_equal(Tensor.arange(5).data, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(Tensor.arange(1, 7, 2).data, [1, 3, 5])
    np.testing.assert_array_equal(Tensor.arange(0, 1, 0.25).data, [0, 0.25, 0.5, 0.75])
    assert Tensor.arange(5).dtype == np.float32
    assert Tensor.arange(3, dtype=np.float64).dtype == np.float64


def test_eye():
    np.testing.assert_array_equal(Tensor.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(Tensor.eye(2, 3).data, np.eye(2, 3))
    assert Tensor.eye(2).dtype == np.float32


def test_like_constructors_follow_shape_and_dtype():
    src = Tensor(np.arange(6, dtype=np.float64).reshape(2, 3))
    for t, value in (
        (Tensor.zeros_like(src), 0.0),
        (Tensor.ones_like(src), 1.0),
        (Tensor.full_like(src, 2.5), 2.5),
    ):
        assert t.shape == (2, 3) and t.dtype == np.float64
        np.testing.assert_array_equal(t.data, np.full((2, 3), value))
        assert t.requires_grad is False
    arr = np.ones((4,), dtype=np.float32)
    assert Tensor.zeros_like(arr).dtype == np.float32
    assert Tensor.zeros_like(arr).shape == (4,)
    assert Tensor.ones_like(src, requires_grad=True).requires_grad


def test_randn_like():
    src = Tensor(np.zeros((2, 3), dtype=np.float64))
    r = Tensor.randn_like(src, rng=3)
    assert r.shape == (2, 3) and r.dtype == np.float64
    np.testing.assert_array_equal(r.data, np.random.default_rng(3).standard_normal((2, 3)))
    r32 = Tensor.randn_like(Tensor.zeros(4), rng=3)
    assert r32.dtype == np.float32 and r32.shape == (4,)
    np.testing.assert_array_equal(r32.data, Tensor.randn_like(Tensor.zeros(4), rng=3).data)


# ----------------------------------------------------------------------------- repr and protocols


def test_repr():
    assert repr(Tensor([1, 2])) == "Tensor([1., 2.])"
    r = repr(Tensor([[1.5, 2.0]], requires_grad=True, name="w"))
    assert r.startswith("Tensor([[1.5, 2. ]]")
    assert "name='w'" in r and "requires_grad=True" in r
    assert "dtype=float64" in repr(Tensor(np.ones(2)))
    assert "dtype" not in repr(Tensor(np.ones(2, dtype=np.float32)))
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert "grad_fn=Mul" in repr(x * 2)


def test_len_iter_bool_float():
    t = Tensor(np.arange(6.0).reshape(3, 2))
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, Tensor) for r in rows)
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))
    assert bool(Tensor([2.0])) is True
    assert bool(Tensor(0.0)) is False
    with pytest.raises(ValueError):
        bool(Tensor([1.0, 2.0]))
    assert float(Tensor([[2.5]])) == 2.5
    with pytest.raises(ShapeError):
        float(Tensor([1.0, 2.0]))


def test_iteration_is_differentiable():
    x = Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    total = None
    for i, row in enumerate(x):
        term = row * (i + 1)
        total = term if total is None else total + term
    total.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [2.0, 2.0]])


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2


# ----------------------------------------------------------------------------- comparisons


_CMP = [
    (lambda a, b: a < b, np.less),
    (lambda a, b: a <= b, np.less_equal),
    (lambda a, b: a > b, np.greater),
    (lambda a, b: a >= b, np.greater_equal),
    (lambda a, b: a == b, np.equal),
    (lambda a, b: a != b, np.not_equal),
]


def _assert_bool_nondiff(r, expected):
    assert np.asarray(r).dtype == np.bool_
    np.testing.assert_array_equal(np.asarray(r), expected)
    assert getattr(r, "requires_grad", False) is False
    assert getattr(r, "grad_fn", None) is None


@pytest.mark.parametrize("op, ref", _CMP)
def test_comparisons_are_boolean_and_not_differentiable(op, ref):
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([2.0, 2.0, 2.0])
    x = Tensor(a, requires_grad=True)
    _assert_bool_nondiff(op(x, 2.0), ref(a, 2.0))
    _assert_bool_nondiff(op(x, Tensor(b)), ref(a, b))
    _assert_bool_nondiff(op(x, b), ref(a, b))
    _assert_bool_nondiff(op(b, x), ref(b, a))


def test_comparison_shape_mismatch_raises_shape_error():
    with pytest.raises(ShapeError):
        _ = Tensor(np.ones((2, 3))) < Tensor(np.ones(4))


# ----------------------------------------------------------------------------- numpy interop


def test_np_exp_is_recorded_and_differentiable():
    x = Tensor(np.array([0.0, 1.0, -2.0]), requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, Tensor)
    assert y.requires_grad and y.grad_fn is not None
    np.testing.assert_allclose(y.data, np.exp([0.0, 1.0, -2.0]), rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([0.0, 1.0, -2.0]), rtol=1e-15)


@pytest.mark.parametrize(
    "ufunc, dfdx",
    [
        (np.log, lambda v: 1 / v),
        (np.sqrt, lambda v: 0.5 / np.sqrt(v)),
        (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
        (np.negative, lambda v: -np.ones_like(v)),
        (np.absolute, np.sign),
    ],
)
def test_np_ufuncs_are_differentiable(ufunc, dfdx):
    v = np.array([0.5, 2.0, 3.0])
    x = Tensor(v, requires_grad=True)
    y = ufunc(x)
    assert isinstance(y, Tensor)
    np.testing.assert_allclose(y.data, ufunc(v), rtol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, dfdx(v), rtol=1e-14)


def test_ndarray_on_either_side_gives_tensor_with_gradient():
    a = np.arange(6.0).reshape(2, 3) + 1
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    left = a * x
    right = x * a
    for r in (left, right):
        assert isinstance(r, Tensor) and r.requires_grad
        np.testing.assert_array_equal(r.data, a * x.data)
    (left + right).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * a.sum(axis=0))

    x.zero_grad()
    s = a + x
    t = a - x
    assert isinstance(s, Tensor) and isinstance(t, Tensor)
    np.testing.assert_array_equal(t.data, a - x.data)
    (s.sum() + (t * t).sum()).backward()
    np.testing.assert_array_equal(x.grad, 2.0 - 2 * (a - x.data).sum(axis=0))


def test_ndarray_divide_and_matmul_with_tensor():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = Tensor(np.array([2.0, 4.0]), requires_grad=True)
    q = a / x
    assert isinstance(q, Tensor)
    np.testing.assert_array_equal(q.data, a / x.data)
    m = a @ x
    assert isinstance(m, Tensor)
    np.testing.assert_array_equal(m.data, a @ x.data)
    m.sum().backward()
    np.testing.assert_array_equal(x.grad, a.sum(axis=0))


def test_python_numbers_keep_float32():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    s = Tensor(np.float32(2.0))
    for r in (
        x + 1.5,
        1.5 + x,
        x - 2,
        2 - x,
        x * 0.1,
        0.1 * x,
        x / 3,
        3 / x,
        x**2,
        2**x,
        x**0.5,
        s * 2.5,
        2.5 * s,
        s + 1,
    ):
        assert r.dtype == np.float32, r
    y = (x * 0.1 + 1.0).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [0.1, 0.1], rtol=1e-7)


def test_list_operand_is_accepted():
    x = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal((x + [10, 20]).data, [11.0, 22.0])
    np.testing.assert_array_equal(([10, 20] - x).data, [9.0, 18.0])


@pytest.mark.parametrize("ufunc", [np.sign, np.floor, np.ceil, np.rint, np.trunc])
def test_piecewise_constant_ufuncs_are_recorded_with_zero_gradient(ufunc):
    v = np.array([-1.5, 0.0, 2.5])
    x = Tensor(v, requires_grad=True)
    out = ufunc(x)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, ufunc(v))
    (out * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("ufunc", [np.isfinite, np.isnan, np.isinf])
def test_value_tests_give_boolean_tensors(ufunc):
    v = np.array([-1.5, np.nan, np.inf])
    out = ufunc(Tensor(v, requires_grad=True))
    assert isinstance(out, Tensor) and out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.data, ufunc(v))


def test_np_asarray_of_tensor_is_its_data():
    t = Tensor(np.array([1.0, 2.0]))
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


# ----------------------------------------------------------------------------- indexing


_A = np.arange(24, dtype=np.float64).reshape(4, 6)


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        (2, 3),
        slice(1, 3),
        (slice(None), slice(1, 5, 2)),
        (slice(None, None, -1), 0),
        (Ellipsis, 2),
        (None, 1),
        np.array([0, 2, 2]),
        [3, 0],
        (np.array([0, 1]), np.array([5, 4])),
        (slice(None), np.array([1, 1, 3])),
        _A > 10,
        np.array([True, False, True, False]),
    ],
    ids=repr,
)
def test_indexing_forward_matches_numpy(index):
    t = Tensor(_A)
    out = t[index]
    assert isinstance(out, Tensor)
    assert out.shape == _A[index].shape
    np.testing.assert_array_equal(out.data, _A[index])


def test_indexing_with_int_and_bool_tensors():
    t = Tensor(_A)
    idx = Tensor([3, 1, 1], dtype=np.int64)
    np.testing.assert_array_equal(t[idx].data, _A[[3, 1, 1]])
    np.testing.assert_array_equal(t[t > 10].data, _A[_A > 10])
    np.testing.assert_array_equal(t[:, idx].data, _A[:, [3, 1, 1]])


def test_indexing_with_float_tensor_raises_indexing_error():
    t = Tensor(_A)
    with pytest.raises(IndexingError, match="float32"):
        t[Tensor([0.0, 1.0])]


def test_out_of_range_index_raises_indexing_error_with_shape():
    with pytest.raises(IndexingError, match=_shapes((4, 6))):
        Tensor(_A)[10]


# ----------------------------------------------------------------------------- matmul


_MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((2, 1, 2, 3), (5, 3, 4)),
]


@pytest.mark.parametrize("xs, ys", _MATMUL_SHAPES, ids=str)
def test_matmul_shapes_and_values_match_numpy(xs, ys):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(xs), rng.standard_normal(ys)
    expected = np.matmul(a, b)
    for out in (Tensor(a) @ Tensor(b), Tensor(a).matmul(Tensor(b)), Tensor(a) @ b, a @ Tensor(b)):
        assert isinstance(out, Tensor)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "xs, ys", [((2, 3), (4, 2)), ((3,), (4,)), ((2, 3), (4,)), ((5, 2, 3), (5, 2, 3))], ids=str
)
def test_matmul_inner_dimension_mismatch_names_both_shapes(xs, ys):
    with pytest.raises(ShapeError, match="matmul.*" + _shapes(xs, ys)):
        Tensor(np.ones(xs)) @ Tensor(np.ones(ys))


def test_matmul_of_scalar_raises_shape_error():
    with pytest.raises(ShapeError, match=r"\*"):
        Tensor(2.0) @ Tensor(np.ones(3))


# ----------------------------------------------------------------------------- joining, selecting


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_forward(axis):
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(6.0, 12.0).reshape(2, 3)
    out = Tensor.concatenate([Tensor(a), Tensor(b), Tensor(a)], axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate([a, b, a], axis=axis))


def test_concatenate_different_lengths_and_arrays():
    a = np.ones((2, 3))
    b = np.zeros((1, 3))
    out = Tensor.concatenate([Tensor(a), b])
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out.data, np.concatenate([a, b]))


def test_concatenate_rank_mismatch_raises_shape_error():
    with pytest.raises(ShapeError, match=_shapes((2, 3), (3,))):
        Tensor.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones(3))])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_forward(axis):
    a = np.arange(6.0).reshape(2, 3)
    b = -a
    out = Tensor.stack([Tensor(a), Tensor(b)], axis=axis)
    np.testing.assert_array_equal(out.data, np.stack([a, b], axis=axis))


def test_stack_shape_mismatch_names_shapes():
    with pytest.raises(ShapeError, match=_shapes((2, 3), (3, 2))):
        Tensor.stack([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))])


def test_where_forward():
    cond = np.array([[True, False, True], [False, False, True]])
    a = np.arange(6.0).reshape(2, 3)
    b = np.array([-1.0, -2.0, -3.0])
    expected = np.where(cond, a, b)
    np.testing.assert_array_equal(Tensor.where(cond, Tensor(a), Tensor(b)).data, expected)
    np.testing.assert_array_equal(
        Tensor.where(Tensor(a) > 2, Tensor(a), 0.0).data, np.where(a > 2, a, 0.0)
    )
    out = Tensor.where(cond, a, b)  # constants only: still a Tensor
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, expected)


def test_maximum_minimum_forward():
    a = np.array([1.0, 5.0, -2.0, 3.0])
    b = np.array([2.0, 4.0, -2.0, 0.0])
    np.testing.assert_array_equal(Tensor.maximum(Tensor(a), Tensor(b)).data, np.maximum(a, b))
    np.testing.assert_array_equal(Tensor.minimum(Tensor(a), Tensor(b)).data, np.minimum(a, b))
    np.testing.assert_array_equal(Tensor.maximum(Tensor(a), 0.0).data, np.maximum(a, 0.0))
    np.testing.assert_array_equal(Tensor.minimum(1.0, Tensor(a)).data, np.minimum(1.0, a))
    out = Tensor.maximum(a, b)
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, np.maximum(a, b))
    np.testing.assert_array_equal(np.maximum(Tensor(a), b).data, np.maximum(a, b))
    m = Tensor.maximum(Tensor(np.ones((2, 1))), Tensor(np.array([0.0, 2.0])))
    np.testing.assert_array_equal(m.data, [[1.0, 2.0], [1.0, 2.0]])


# ----------------------------------------------------------------------------- shape errors


def test_broadcast_mismatch_in_add_names_both_shapes():
    with pytest.raises(ShapeError, match=_shapes((2, 3), (4,))):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    with pytest.raises(ShapeError, match=_shapes((2, 3), (4,))):
        Tensor(np.ones((2, 3))) + np.ones(4)


def test_reshape_to_impossible_shape():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=re.escape("(4,)")) as info:
        t.reshape(4)
    assert "(2, 3)" in str(info.value)
    assert t.reshape(3, -1).shape == (3, 2)
    assert t.reshape((6,)).shape == (6,)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(axis=2),
        lambda t: t.sum(axis=(0, -3)),
        lambda t: t.mean(axis=5),
        lambda t: t.max(axis=-3),
        lambda t: t.softmax(axis=2),
        lambda t: t.unsqueeze(4),
        lambda t: t.transpose(0, 2),
    ],
)
def test_bad_axis_raises_shape_error(call):
    with pytest.raises(ShapeError, match="axis|axes"):
        call(Tensor(np.ones((2, 3))))


def test_squeeze_of_non_unit_axis():
    t = Tensor(np.ones((2, 1, 3)))
    assert t.squeeze(1).shape == (2, 3)
    assert t.squeeze().shape == (2, 3)
    with pytest.raises(ShapeError, match=r"axis 0.*" + _shapes((2, 1, 3)) + ".*length 2"):
        t.squeeze(0)
