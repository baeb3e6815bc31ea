"""Standardizer and Whitener: exact statistics, training-set-only fitting, inverses, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu
from tinygrad_edu import InvalidArgumentError, ShapeError, Tensor
from tinygrad_edu.data import Standardizer, Whitener


def _data(n=200, d=3, seed=0):
    """Features on very different scales and offsets."""
    rng = np.random.default_rng(seed)
    scale, offset = np.array([1.0, 50.0, 0.01]), np.array([3.0, -7.0, 0.5])
    return rng.normal(size=(n, d)) * scale[:d] + offset[:d]


def _correlated(n=2000, d=3, seed=0):
    rng = np.random.default_rng(seed)
    A = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [-1.0, 0.3, 0.2]])[:d, :d]
    return rng.normal(size=(n, d)) @ A.T + np.array([5.0, -2.0, 0.5])[:d]


# ----------------------------------------------------------------------------- Standardizer


def test_standardizer_gives_zero_mean_unit_std_on_training_data():
    X = _data()
    Z = Standardizer().fit_transform(X)
    assert Z.dtype == np.float64
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(Z, (X - X.mean(0)) / X.std(0), rtol=1e-13, atol=1e-13)


def test_standardizer_learns_population_statistics():
    X = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    s = Standardizer()
    assert s.fit(X) is s
    np.testing.assert_array_equal(s.mean_, [3.0, 20.0])
    # population std (ddof=0): sqrt(8/3) and sqrt(200/3)
    np.testing.assert_allclose(s.std_, [np.sqrt(8 / 3), np.sqrt(200 / 3)], rtol=1e-15)
    np.testing.assert_array_equal(s.scale_, s.std_)
    assert s.n_features_ == 2


def test_standardizer_uses_training_statistics_for_test_data():
    X_train = _data(seed=0)
    X_test = _data(n=50, seed=1) + 4.0  # shifted: its own statistics differ
    s = Standardizer().fit(X_train)
    Z_test = s.transform(X_test)
    expected = (X_test - X_train.mean(0)) / X_train.std(0)
    np.testing.assert_allclose(Z_test, expected, rtol=1e-12, atol=1e-12)
    # and not the test set's own statistics: the shift survives standardisation
    own = (X_test - X_test.mean(0)) / X_test.std(0)
    assert np.abs(Z_test - own).max() > 1.0
    assert np.abs(Z_test.mean(0)).max() > 0.05


def test_standardizer_inverse_round_trip():
    X = _data()
    s = Standardizer().fit(X)
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, rtol=1e-13, atol=1e-12)
    Z = np.random.default_rng(3).normal(size=(7, 3))
    np.testing.assert_allclose(s.transform(s.inverse_transform(Z)), Z, rtol=1e-12, atol=1e-12)


def test_standardizer_constant_feature_is_only_centred():
    X = np.column_stack([np.arange(5.0), np.full(5, 7.0), np.full(5, 1e9 + 0.1)])
    s = Standardizer()
    Z = s.fit_transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[:, 1:], 0.0)
    np.testing.assert_array_equal(s.scale_, [np.sqrt(2.0), 1.0, 1.0])
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-15)
    # new data keeps its offset from the training constant, in the original units
    np.testing.assert_allclose(s.transform(np.array([[2.0, 9.0, 1e9 + 0.1]]))[0], [0.0, 2.0, 0.0])


def test_standardizer_tiny_std_below_eps_is_not_scaled():
    X = np.column_stack([np.arange(4.0), 1.0 + 1e-10 * np.arange(4.0)])
    Z = Standardizer(eps=1e-8).fit_transform(X)
    np.testing.assert_allclose(Z[:, 1], 1e-10 * (np.arange(4.0) - 1.5), rtol=1e-5)
    Z_scaled = Standardizer(eps=1e-12).fit_transform(X)  # above this eps it is scaled
    np.testing.assert_allclose(Z_scaled[:, 1].std(), 1.0, rtol=1e-5)


def test_standardizer_dtypes_and_tensor_input():
    X = _data()
    s = Standardizer().fit(X)
    assert s.transform(X.astype(np.float32)).dtype == np.float32
    assert s.inverse_transform(X.astype(np.float32)).dtype == np.float32
    ints = np.array([[1, 2], [3, 4], [5, 9]])
    assert Standardizer().fit_transform(ints).dtype == np.float32
    tinygrad_edu.set_default_dtype(np.float64)
    assert Standardizer().fit_transform(ints).dtype == np.float64
    T = Tensor(X)
    out = Standardizer().fit_transform(T)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, Standardizer().fit_transform(X), rtol=0, atol=0)


def test_standardizer_float32_statistics_match_float64():
    X = _data().astype(np.float32)
    Z = Standardizer().fit_transform(X)
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Z.std(0), 1.0, atol=1e-5)


@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 4)),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    )
)
def test_standardizer_round_trip_property(X):
    s = Standardizer().fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-9, atol=1e-6)
    assert np.all(np.abs(Z) <= np.sqrt(len(X)) + 1e-6)  # |z| <= sqrt(N) for standardised data


def test_standardizer_errors():
    with pytest.raises(InvalidArgumentError, match="not fitted.*fit"):
        Standardizer().transform(np.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        Standardizer().inverse_transform(np.ones((2, 2)))
    s = Standardizer().fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ShapeError, match=r"3 features.*fitted on 2 features"):
        s.transform(np.ones((4, 3)))
    with pytest.raises(ShapeError, match="2-D"):
        s.transform(np.ones(2))
    with pytest.raises(ShapeError, match="2-D"):
        Standardizer().fit(np.ones(5))
    with pytest.raises(ShapeError, match="at least one sample"):
        Standardizer().fit(np.ones((0, 3)))
    with pytest.raises(InvalidArgumentError, match="NaN"):
        Standardizer().fit(np.array([[1.0], [np.nan]]))
    for eps in (-1.0, float("nan"), "small", True):
        with pytest.raises(InvalidArgumentError, match="eps"):
            Standardizer(eps=eps)


def test_standardizer_failed_fit_keeps_previous_statistics():
    s = Standardizer().fit(np.array([[1.0], [3.0]]))
    with pytest.raises(ShapeError):
        s.fit(np.ones((3, 2, 2)))
    with pytest.raises(InvalidArgumentError):
        s.fit(np.array([[np.inf, 1.0]]))
    np.testing.assert_array_equal(s.mean_, [2.0])
    np.testing.assert_array_equal(s.transform(np.array([[4.0]])), [[2.0]])


# ----------------------------------------------------------------------------- Whitener


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitener_training_covariance_is_identity(method):
    X = _correlated()
    w = Whitener(method, eps=1e-5)
    Z = w.fit_transform(X)
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=1e-12)
    cov = Z.T @ Z / len(Z)
    S = w.variances_
    if method == "pca":  # exactly diag(S / (S + eps)), the effect of eps
        np.testing.assert_allclose(cov, np.diag(S / (S + 1e-5)), atol=1e-12)
    np.testing.assert_allclose(cov, np.eye(3), atol=1e-5 / S.min() + 1e-12)
    # with eps = 0 whitening is exact
    Z0 = Whitener(method, eps=0.0).fit_transform(X)
    np.testing.assert_allclose(Z0.T @ Z0 / len(Z0), np.eye(3), atol=1e-11)


def test_whitener_matches_eigendecomposition_of_the_covariance():
    X = _correlated()
    Xc = X - X.mean(0)
    lam, V = np.linalg.eigh(Xc.T @ Xc / len(X))  # ascending eigenvalues
    lam, V = lam[::-1], V[:, ::-1]
    eps = 1e-3
    pca = Whitener("pca", eps=eps).fit(X)
    np.testing.assert_allclose(pca.variances_, lam, rtol=1e-12)
    # each PCA column is the projection on one eigenvector (up to its sign), scaled
    expected = Xc @ V / np.sqrt(lam + eps)
    np.testing.assert_allclose(np.abs(pca.transform(X)), np.abs(expected), rtol=1e-9, atol=1e-9)
    # ZCA has no sign ambiguity: W = Sigma^(-1/2) regularised
    zca = Whitener("zca", eps=eps).fit(X)
    W = (V / np.sqrt(lam + eps)) @ V.T
    np.testing.assert_allclose(zca.whitening_matrix_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(zca.whitening_matrix_, zca.whitening_matrix_.T, atol=1e-14)


def test_whitener_component_signs_are_fixed():
    U = Whitener("pca").fit(_correlated()).components_
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)
    biggest = U[np.argmax(np.abs(U), axis=0), np.arange(3)]
    assert np.all(biggest > 0)


def test_zca_output_is_closest_to_the_input_among_whiteners():
    X = _correlated()
    Xc = X - X.mean(0)
    zca = Whitener("zca", eps=0.0).fit_transform(X)
    pca = Whitener("pca", eps=0.0).fit_transform(X)

    def dist(Z):
        return np.mean(np.sum((Z - Xc) ** 2, axis=1))

    assert dist(zca) < dist(pca)
    rng = np.random.default_rng(0)
    for _ in range(20):  # any rotation of whitened data is whitened too
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rotated = zca @ Q
        np.testing.assert_allclose(rotated.T @ rotated / len(X), np.eye(3), atol=1e-10)
        assert dist(zca) < dist(rotated)


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitener_inverse_round_trip_and_test_data(method):
    X = _correlated()
    w = Whitener(method).fit(X)
    np.testing.assert_allclose(w.inverse_transform(w.transform(X)), X, rtol=1e-12, atol=1e-12)
    X_test = _correlated(n=30, seed=1) + 1.0
    Z_test = w.transform(X_test)
    np.testing.assert_allclose(Z_test, (X_test - X.mean(0)) @ w.whitening_matrix_, atol=1e-12)
    np.testing.assert_allclose(w.inverse_transform(Z_test), X_test, rtol=1e-12, atol=1e-12)


def test_whitener_singular_covariance():
    X = np.random.default_rng(0).normal(size=(3, 5))  # fewer samples than features
    Z = Whitener("zca", eps=1e-2).fit_transform(X)
    assert np.all(np.isfinite(Z))
    w = Whitener("pca", eps=1e-2).fit(X)
    np.testing.assert_allclose(w.inverse_transform(w.transform(X)), X, atol=1e-12)
    with pytest.raises(InvalidArgumentError, match="singular.*eps > 0"):
        Whitener("pca", eps=0.0).fit(X)


def test_whitener_dtypes():
    X = _correlated().astype(np.float32)
    Z = Whitener("zca").fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.T @ Z / len(Z), np.eye(3), atol=1e-3)


def test_whitener_errors():
    with pytest.raises(InvalidArgumentError, match="unknown method 'ica'.*pca.*zca"):
        Whitener("ica")
    with pytest.raises(InvalidArgumentError, match="eps"):
        Whitener("pca", eps=-1e-5)
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        Whitener().transform(np.ones((2, 2)))
    w = Whitener().fit(_correlated())
    with pytest.raises(ShapeError, match=r"2 features.*fitted on 3 features"):
        w.transform(np.ones((5, 2)))
    with pytest.raises(ShapeError, match=r"2 features.*fitted on 3 features"):
        w.inverse_transform(np.ones((5, 2)))
    before = w.whitening_matrix_.copy()
    with pytest.raises(InvalidArgumentError):
        w.fit(np.array([[np.nan, 1.0, 2.0]]))
    np.testing.assert_array_equal(w.whitening_matrix_, before)
