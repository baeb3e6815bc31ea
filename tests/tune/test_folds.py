"""make_folds: a partition into k folds, stratified for class labels, fixed by the seed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.tune import make_folds


@given(
    counts=st.lists(st.integers(5, 30), min_size=1, max_size=4),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**32),
)
def test_stratified_folds_partition_the_samples_and_share_every_class(counts, k, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    folds = make_folds(y, k, seed)
    assert len(folds) == k
    vals = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(vals), np.arange(len(y)))  # each sample validates once
    for train, val in folds:
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
        assert not set(train) & set(val)
        for c, n in enumerate(counts):  # floor or ceil of each class's share
            assert np.sum(y[val] == c) in (n // k, -(-n // k))
    sizes = [len(val) for _, val in folds]
    assert max(sizes) - min(sizes) <= 1


def test_the_seed_fixes_the_deal():
    y = np.repeat([0, 1], 20)
    a, b, c = make_folds(y, 4, 7), make_folds(y, 4, 7), make_folds(y, 4, 8)
    assert all(np.array_equal(va, vb) for (_, va), (_, vb) in zip(a, b))
    assert not all(np.array_equal(va, vc) for (_, va), (_, vc) in zip(a, c))


def test_regression_targets_are_split_without_stratifying():
    y = np.linspace(0.0, 1.0, 11)
    folds = make_folds(y, 3, 0)
    assert sorted(len(val) for _, val in folds) == [3, 4, 4]


def test_k_larger_than_a_class_names_the_class_and_its_size():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(InvalidArgumentError, match=r"k=5 .* class 1 has only 3; use k <= 3"):
        make_folds(y, 5, 0)
    assert len(make_folds(y, 5, 0, stratify=False)) == 5  # without stratifying it fits


@pytest.mark.parametrize("k", [1, 0, 2.5, True, "3"])
def test_k_must_be_an_int_of_at_least_two(k):
    with pytest.raises(InvalidArgumentError, match="k .* must be an int >= 2"):
        make_folds(np.zeros(10, dtype=int), k, 0)


def test_more_folds_than_samples_is_refused():
    with pytest.raises(InvalidArgumentError, match="k=4 folds need at least 4 samples; got 3"):
        make_folds(np.array([0.5, 1.5, 2.5]), 4, 0)
