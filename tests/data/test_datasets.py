"""Toy datasets and the digits: shapes, dtypes, labels, balance, seeds and geometry."""

import sys

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu import InvalidArgumentError, ShapeError
from tinygrad_edu.data import (
    load_digits,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
    make_xor,
)

# (function, keyword arguments, expected N, expected D, expected number of classes K)
CASES = [
    (make_spiral, {}, 300, 2, 3),
    (make_spiral, {"n_per_class": 7, "n_classes": 5}, 35, 2, 5),
    (make_moons, {}, 200, 2, 2),
    (make_moons, {"n_samples": 51}, 51, 2, 2),
    (make_circles, {}, 200, 2, 2),
    (make_circles, {"n_samples": 33}, 33, 2, 2),
    (make_xor, {}, 200, 2, 2),
    (make_xor, {"n_samples": 7}, 7, 2, 2),
    (make_blobs, {}, 300, 2, 3),
    (make_blobs, {"n_samples": 101, "centers": 4, "n_features": 5}, 101, 5, 4),
]
IDS = [f"{f.__name__}-{i}" for i, (f, *_rest) in enumerate(CASES)]


@pytest.mark.parametrize(("make", "kwargs", "n", "d", "k"), CASES, ids=IDS)
def test_shape_dtype_labels_and_balance(make, kwargs, n, d, k):
    X, y = make(**kwargs, rng=0)
    assert X.shape == (n, d) and y.shape == (n,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    counts = np.bincount(y)
    assert len(counts) == k and counts.sum() == n
    assert counts.max() - counts.min() <= 1
    assert np.all(np.diff(y) >= 0)  # ordered by class


@pytest.mark.parametrize(("make", "kwargs", "n", "d", "k"), CASES, ids=IDS)
def test_default_dtype_is_read_at_call_time(make, kwargs, n, d, k):
    X32, _ = make(**kwargs, rng=0)
    tinygrad_edu.set_default_dtype(np.float64)
    X64, y64 = make(**kwargs, rng=0)
    assert X64.dtype == np.float64 and y64.dtype == np.int64
    # computed in float64 and cast at the end: the float32 data is the rounded float64 data
    np.testing.assert_array_equal(X32, X64.astype(np.float32))


@pytest.mark.parametrize(("make", "kwargs", "n", "d", "k"), CASES, ids=IDS)
def test_seeds_reproduce(make, kwargs, n, d, k):
    X1, y1 = make(**kwargs, rng=3)
    X2, y2 = make(**kwargs, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(**kwargs, rng=4)
    assert not np.array_equal(X1, X3)


# ----------------------------------------------------------------------------- geometry


def test_spiral_follows_the_cs231n_formula():
    n, K = 50, 3
    tinygrad_edu.set_default_dtype(np.float64)
    X, _ = make_spiral(n_per_class=n, n_classes=K, noise=0.0)
    for k in range(K):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n)
        np.testing.assert_allclose(X[k * n : (k + 1) * n], np.c_[r * np.sin(t), r * np.cos(t)],
                                   rtol=1e-15, atol=1e-15)


def test_spiral_noise_only_moves_the_angle():
    tinygrad_edu.set_default_dtype(np.float64)
    X, y = make_spiral(n_per_class=100, n_classes=4, noise=0.5, rng=0)
    radii = np.hypot(X[:, 0], X[:, 1])
    assert radii.min() >= 0.0 and radii.max() <= 1.0 + 1e-15
    np.testing.assert_allclose(radii, np.tile(np.linspace(0, 1, 100), 4), atol=1e-15)
    X0, _ = make_spiral(n_per_class=100, n_classes=4, noise=0.0)
    assert np.abs(X - X0).max() > 0.1


def test_moons_lie_on_their_half_circles():
    tinygrad_edu.set_default_dtype(np.float64)
    X, y = make_moons(n_samples=101, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    assert len(upper) == 50 and len(lower) == 51
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-14)
    assert upper[:, 1].min() >= 0.0
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-14)
    assert lower[:, 1].max() <= 0.5
    np.testing.assert_allclose(upper[[0, -1]], [[1.0, 0.0], [-1.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(lower[[0, -1]], [[0.0, 0.5], [2.0, 0.5]], atol=1e-15)


def test_moons_and_circles_match_scikit_learn_without_noise():
    skd = pytest.importorskip("sklearn.datasets")
    tinygrad_edu.set_default_dtype(np.float64)
    for n in (10, 11, 200):
        X, y = make_moons(n_samples=n, noise=0.0)
        X_sk, y_sk = skd.make_moons(n_samples=n, noise=0.0, shuffle=False)
        np.testing.assert_allclose(X, X_sk, atol=1e-15)
        np.testing.assert_array_equal(y, y_sk)
        X, y = make_circles(n_samples=n, noise=0.0, factor=0.3)
        X_sk, y_sk = skd.make_circles(n_samples=n, noise=0.0, factor=0.3, shuffle=False)
        np.testing.assert_allclose(X, X_sk, atol=1e-15)
        np.testing.assert_array_equal(y, y_sk)


def test_noise_is_gaussian_with_the_given_std():
    tinygrad_edu.set_default_dtype(np.float64)
    X0, _ = make_moons(n_samples=20000, noise=0.0)
    X, _ = make_moons(n_samples=20000, noise=0.3, rng=0)
    np.testing.assert_allclose((X - X0).std(axis=0), 0.3, rtol=0.02)
    np.testing.assert_allclose((X - X0).mean(axis=0), 0.0, atol=0.01)


def test_circles_radii():
    tinygrad_edu.set_default_dtype(np.float64)
    X, y = make_circles(n_samples=40, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-14)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-14)
    angles = np.arctan2(X[y == 0, 1], X[y == 0, 0]) % (2 * np.pi)
    np.testing.assert_allclose(np.sort(angles), np.arange(20) * 2 * np.pi / 20, atol=1e-12)
    X, y = make_circles(n_samples=2000, noise=0.05, factor=0.5, rng=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert abs(r[y == 0].mean() - 1.0) < 0.01 and abs(r[y == 1].mean() - 0.5) < 0.01
    assert r[y == 0].min() > r[y == 1].max()  # 0.5 apart: ten noise std


def test_xor_corners_and_labels():
    X, y = make_xor(n_samples=8, noise=0.0)
    np.testing.assert_array_equal(
        X, [[-1, -1], [-1, -1], [1, 1], [1, 1], [-1, 1], [-1, 1], [1, -1], [1, -1]]
    )
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    X, y = make_xor(n_samples=400, noise=0.1, rng=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    corner_counts = np.unique(np.sign(X), axis=0, return_counts=True)[1]
    np.testing.assert_array_equal(corner_counts, [100, 100, 100, 100])


def test_xor_is_not_linearly_separable_in_means():
    X, y = make_xor(n_samples=400, noise=0.1, rng=1)
    # both classes are centred on the origin: no single line can split them
    np.testing.assert_allclose(X[y == 0].mean(0), 0.0, atol=0.05)
    np.testing.assert_allclose(X[y == 1].mean(0), 0.0, atol=0.05)


def test_blobs_given_centers_and_stds():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, -5.0, 2.0]])
    X, y = make_blobs(n_samples=5, centers=centers, std=0.0)
    np.testing.assert_array_equal(X, centers[[0, 0, 0, 1, 1]])
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1])
    tinygrad_edu.set_default_dtype(np.float64)
    X, y = make_blobs(n_samples=20000, centers=centers, std=[0.5, 2.0], rng=0)
    for k, s in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(X[y == k].mean(0), centers[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), s, rtol=0.05)


def test_blobs_random_centers_in_the_box():
    X, y = make_blobs(n_samples=60, centers=6, n_features=3, std=0.0, rng=0)
    centers = X[np.searchsorted(y, np.arange(6))]
    assert np.abs(centers).max() <= 10.0
    assert len(np.unique(centers, axis=0)) == 6


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("make", "kwargs", "match"),
    [
        (make_spiral, {"n_per_class": 0}, "n_per_class"),
        (make_spiral, {"n_classes": 2.0}, "n_classes"),
        (make_spiral, {"noise": -0.1}, "noise"),
        (make_moons, {"n_samples": 1}, "n_samples must be an int >= 2"),
        (make_moons, {"n_samples": True}, "n_samples"),
        (make_moons, {"noise": float("nan")}, "noise"),
        (make_circles, {"factor": 1.0}, r"factor.*\[0, 1\)"),
        (make_circles, {"factor": -0.5}, "factor"),
        (make_circles, {"noise": float("inf")}, "noise"),
        (make_xor, {"n_samples": 3}, "n_samples must be an int >= 4"),
        (make_xor, {"noise": "0.1"}, "noise"),
        (make_blobs, {"centers": 0}, "centers"),
        (make_blobs, {"n_samples": 2, "centers": 3}, "n_samples must be an int >= 3"),
        (make_blobs, {"n_features": 0}, "n_features"),
        (make_blobs, {"std": -1.0}, "std"),
        (make_blobs, {"std": [1.0, -1.0, 1.0]}, "std"),
        (make_blobs, {"centers": [[0.0, np.nan]]}, "NaN"),
    ],
)
def test_invalid_arguments(make, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        make(**kwargs)


def test_blobs_shape_errors():
    with pytest.raises(ShapeError, match=r"n_features=3.*\(2, 2\)"):
        make_blobs(centers=np.zeros((2, 2)), n_features=3)
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        make_blobs(centers=np.zeros(3))
    with pytest.raises(ShapeError, match=r"std.*\(3,\).*\(2,\)"):
        make_blobs(centers=3, std=[1.0, 2.0])
    X, _ = make_blobs(n_samples=4, centers=np.zeros((2, 4)), n_features=4)
    assert X.shape == (4, 4)


def test_bad_rng_is_rejected():
    with pytest.raises(TypeError, match="rng"):
        make_moons(rng="seed")


# ----------------------------------------------------------------------------- digits


def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert sorted(np.unique(y).tolist()) == list(range(10))
    assert X.min() == 0.0 and X.max() == 16.0
    np.testing.assert_array_equal(X, np.round(X))  # integer intensities as shipped
    tinygrad_edu.set_default_dtype(np.float64)
    assert load_digits()[0].dtype == np.float64


def test_load_digits_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_edu\[digits\]'"):
        load_digits()
