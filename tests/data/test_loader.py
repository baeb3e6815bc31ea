"""DataLoader (batches, epochs, shuffling, reproducibility) and train_test_split."""

import numpy as np
import pytest

from tinygrad_edu import InvalidArgumentError, ShapeError, Tensor
from tinygrad_edu.data import DataLoader, train_test_split


def _dataset(n=10):
    """X row i is (i, -i) and y_i = 10 i, so pairing errors are visible."""
    X = np.stack([np.arange(n, dtype=np.float64), -np.arange(n, dtype=np.float64)], axis=1)
    return X, 10 * np.arange(n)


def _epoch(loader):
    return [yb.tolist() for _, yb in loader]


# ----------------------------------------------------------------------------- DataLoader


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (9, 3, False, [3, 3, 3]),
        (9, 3, True, [3, 3, 3]),
        (4, 10, False, [4]),
        (4, 10, True, []),
        (5, 1, False, [1, 1, 1, 1, 1]),
    ],
)
def test_batch_sizes_and_count(n, batch_size, drop_last, sizes):
    X, y = _dataset(n)
    loader = DataLoader(X, y, batch_size, rng=0, drop_last=drop_last)
    assert len(loader) == len(sizes)
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == sizes
    assert [len(yb) for _, yb in batches] == sizes
    assert all(xb.shape[1:] == (2,) for xb, _ in batches)


def test_every_sample_exactly_once_per_epoch_and_pairs_kept():
    X, y = _dataset(23)
    loader = DataLoader(X, y, batch_size=5, rng=1)
    for _ in range(3):
        xs, ys = zip(*loader)
        Xe, ye = np.concatenate(xs), np.concatenate(ys)
        assert sorted(ye.tolist()) == (10 * np.arange(23)).tolist()
        np.testing.assert_array_equal(Xe[:, 0] * 10, ye)  # rows stay with their labels
        np.testing.assert_array_equal(Xe[:, 1], -Xe[:, 0])


def test_drop_last_drops_only_the_remainder():
    X, y = _dataset(10)
    seen = np.concatenate([yb for _, yb in DataLoader(X, y, 4, rng=2, drop_last=True)])
    assert len(seen) == 8 and len(set(seen.tolist())) == 8


def test_no_shuffle_keeps_order():
    X, y = _dataset(7)
    loader = DataLoader(X, y, batch_size=3, shuffle=False)
    for _ in range(2):
        assert _epoch(loader) == [[0, 10, 20], [30, 40, 50], [60]]
    np.testing.assert_array_equal(next(iter(loader))[0], X[:3])


def test_same_seed_same_sequence_and_epochs_differ():
    X, y = _dataset(20)
    a = DataLoader(X, y, batch_size=6, rng=42)
    b = DataLoader(X, y, batch_size=6, rng=42)
    a1, a2 = _epoch(a), _epoch(a)
    b1, b2 = _epoch(b), _epoch(b)
    assert a1 == b1 and a2 == b2
    assert a1 != a2  # a new order each epoch
    assert _epoch(DataLoader(X, y, batch_size=6, rng=43)) != a1
    shuffled = sum(a1, [])
    assert shuffled != sorted(shuffled)


def test_generator_rng_is_used_directly():
    X, y = _dataset(12)
    from_seed = DataLoader(X, y, 4, rng=5)
    from_gen = DataLoader(X, y, 4, rng=np.random.default_rng(5))
    assert _epoch(from_seed) == _epoch(from_gen)
    assert _epoch(from_seed) == _epoch(from_gen)


def test_epoch_order_is_fixed_when_the_iterator_is_made():
    X, y = _dataset(12)
    loader = DataLoader(X, y, 4, rng=7)
    it1, it2 = iter(loader), iter(loader)
    reference = DataLoader(X, y, 4, rng=7)
    first, second = _epoch(reference), _epoch(reference)
    assert [yb.tolist() for _, yb in it2] == second
    assert [yb.tolist() for _, yb in it1] == first


def test_batches_are_copies_and_inputs_may_be_tensors_or_nd():
    X = np.arange(24.0).reshape(6, 2, 2)
    y = np.arange(6)
    loader = DataLoader(Tensor(X), y, batch_size=4, shuffle=False)
    assert isinstance(loader.X, np.ndarray) and loader.X.shape == (6, 2, 2)
    assert loader.batch_size == 4 and loader.y is not None and loader.n_samples == 6
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 2, 2) and yb.tolist() == [0, 1, 2, 3]
    xb[:] = -1.0
    assert loader.X.min() == 0.0
    assert "batch_size=4" in repr(loader)


def test_dataloader_errors():
    X, y = _dataset(5)
    with pytest.raises(ShapeError, match=r"\(5, 2\).*\(4,\)"):
        DataLoader(X, y[:4], 2)
    with pytest.raises(ShapeError, match="scalar"):
        DataLoader(np.float64(1.0), y, 2)
    for bad in (0, -1, 2.5, True, "2", None):
        with pytest.raises(InvalidArgumentError, match="batch_size must be a positive int"):
            DataLoader(X, y, bad)
    assert len(DataLoader(X, y, np.int64(2))) == 3


# ----------------------------------------------------------------------------- train_test_split


@pytest.mark.parametrize(
    ("n", "test_size", "n_test"),
    [(10, 0.25, 3), (100, 0.2, 20), (8, 0.25, 2), (10, 4, 4), (3, 0.5, 2), (2, 1, 1), (7, 0.01, 1)],
)
def test_split_sizes(n, test_size, n_test):
    X, y = _dataset(n)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, rng=0)
    assert (len(X_tr), len(X_te), len(y_tr), len(y_te)) == (n - n_test, n_test, n - n_test, n_test)
    assert X_tr.shape[1:] == (2,)


def test_split_is_disjoint_complete_and_keeps_pairs():
    X, y = _dataset(50)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, rng=3)
    assert set(y_tr.tolist()).isdisjoint(y_te.tolist())
    assert sorted(y_tr.tolist() + y_te.tolist()) == y.tolist()
    np.testing.assert_array_equal(X_tr[:, 0] * 10, y_tr)
    np.testing.assert_array_equal(X_te[:, 0] * 10, y_te)
    assert y_tr.tolist() != sorted(y_tr.tolist())  # shuffled


def test_split_is_reproducible():
    X, y = _dataset(40)
    a = train_test_split(X, y, rng=11)
    b = train_test_split(X, y, rng=np.random.default_rng(11))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    c = train_test_split(X, y, rng=12)
    assert c[3].tolist() != a[3].tolist()
    assert len(a[1]) == 10  # default test_size = 0.25


def test_split_sizes_match_scikit_learn():
    sk = pytest.importorskip("sklearn.model_selection")
    for n in (2, 3, 7, 10, 30, 100, 101):
        for test_size in (0.07, 0.1, 0.25, 0.3, 0.5, 1, 2):
            if isinstance(test_size, int) and test_size >= n:
                continue
            X, y = _dataset(n)
            ours = train_test_split(X, y, test_size=test_size, rng=0)
            theirs = sk.train_test_split(X, y, test_size=test_size, random_state=0)
            assert [len(a) for a in ours] == [len(a) for a in theirs], (n, test_size)


def test_split_errors():
    X, y = _dataset(10)
    for bad in (0.0, 1.0, 1.5, -0.1, 0, 10, -2, "0.2", None, True):
        with pytest.raises(InvalidArgumentError, match="test_size"):
            train_test_split(X, y, test_size=bad)
    with pytest.raises(InvalidArgumentError, match="empty training set"):
        train_test_split(X, y, test_size=0.95)
    with pytest.raises(ShapeError, match=r"\(10, 2\).*\(9,\)"):
        train_test_split(X, y[:9])
    with pytest.raises(InvalidArgumentError, match="at least 2 samples"):
        train_test_split(X[:1], y[:1], test_size=0.5)
