"""The public hypothesis strategies draw what they promise."""

import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from tinygrad_edu import Tensor
from tinygrad_edu.testing import strategies as tst


@given(tst.shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 2
    assert all(2 <= n <= 3 for n in shape)


@pytest.mark.parametrize(
    "domain, check",
    [
        ("real", lambda a: np.all((-2 <= a) & (a <= 2))),
        ("positive", lambda a: np.all((0.1 <= a) & (a <= 3))),
        ("nonzero", lambda a: np.all((0.1 <= np.abs(a)) & (np.abs(a) <= 3))),
        ("unit", lambda a: np.all(np.abs(a) <= 0.9)),
        ((5.0, 6.0), lambda a: np.all((5 <= a) & (a <= 6))),
    ],
    ids=["real", "positive", "nonzero", "unit", "range"],
)
def test_arrays_stay_in_their_domain(domain, check):
    @given(tst.arrays(domain=domain))
    def draw(a):
        assert a.dtype == np.float64
        assert check(a)

    draw()


def test_nonzero_draws_both_signs():
    assert find(tst.elements("nonzero"), lambda v: v < 0) <= -0.1
    assert find(tst.elements("nonzero"), lambda v: v > 0) >= 0.1


@given(tst.arrays((50,), kinks=(0.0, 1.0), margin=0.05))
def test_arrays_keep_away_from_kinks(a):
    assert np.all(np.abs(a) >= 0.05)
    assert np.all(np.abs(a - 1.0) >= 0.05)


@given(tst.arrays((6,), unique=True))
def test_unique_arrays_have_no_ties(a):
    assert len(set(a.tolist())) == 6


@given(tst.arrays((3, 2), dtype=np.float32))
def test_float32_arrays(a):
    assert a.dtype == np.float32 and a.shape == (3, 2)


@given(tst.tensors(domain="positive"))
def test_tensors_require_grad_and_log_is_finite(t):
    assert isinstance(t, Tensor) and t.requires_grad
    assert np.all(np.isfinite(t.log().data))


@given(tst.tensors(requires_grad=False))
def test_tensors_without_grad(t):
    assert not t.requires_grad


@given(tst.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)  # raises if they do not


@given(tst.broadcastable_pairs(["real", "nonzero"]))
def test_broadcastable_pairs_with_a_domain_each(pair):
    a, b = pair
    np.broadcast_shapes(a.shape, b.shape)
    assert np.all(np.abs(a) <= 2) and np.all(np.abs(b) >= 0.1)


@given(tst.broadcastable_pairs(as_tensors=True))
def test_broadcastable_pairs_as_tensors(pair):
    a, b = pair
    assert isinstance(a, Tensor) and a.requires_grad
    assert (a + b).shape == np.broadcast_shapes(a.shape, b.shape)


@given(tst.matmul_pairs())
def test_matmul_pairs_multiply(pair):
    a, b = pair
    assert (Tensor(a) @ Tensor(b)).shape == np.matmul(a, b).shape


def test_matmul_pairs_cover_vectors_matrices_and_batches():
    def ndims(pair):
        return tuple(len(s) for s in pair)

    assert 1 in ndims(find(tst.matmul_shapes(), lambda p: 1 in ndims(p)))
    assert ndims(find(tst.matmul_shapes(), lambda p: ndims(p) == (2, 2))) == (2, 2)
    assert max(ndims(find(tst.matmul_shapes(), lambda p: max(ndims(p)) >= 3))) >= 3


@given(st.data())
def test_axes_are_valid_for_a_reduction(data):
    a = data.draw(tst.arrays(tst.shapes(min_dims=1)))
    axis = data.draw(tst.axes(a.ndim))
    np.testing.assert_allclose(Tensor(a).sum(axis).data, a.sum(axis))


def test_bad_domains_are_refused():
    with pytest.raises(ValueError, match="unknown domain 'complex'"):
        tst.elements("complex")
    with pytest.raises(ValueError, match="empty"):
        tst.elements((1.0, 1.0))
    with pytest.raises(ValueError, match="0-d"):
        tst.axes(0, allow_none=False)
