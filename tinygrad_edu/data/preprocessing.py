"""Input preprocessing: standardisation and whitening, fitted on training data only.

Both transforms learn their statistics in :meth:`fit` from the training set and apply the same
statistics to every later set (validation, test, new inputs). Fitting on the test set as well
would leak information about it into the model (the course notes' "data leakage"). Data is a
matrix X of shape (N, D): one sample per row, one feature per column.

* :class:`Standardizer` — mean subtraction and normalisation, x' = (x - mu) / sigma per feature.
* :class:`Whitener` — decorrelation via the SVD of the covariance matrix, so that the
  transformed training data has (nearly) identity covariance; ``"pca"`` or ``"zca"``.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.data import Standardizer
    >>> X_train = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> scaler = Standardizer().fit(X_train)
    >>> scaler.transform(X_train).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> scaler.transform(np.array([[2.0, 50.0]])).tolist()  # test data: training statistics
    [[0.0, 3.0]]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import REAL_KINDS
from ..errors import InvalidArgumentError, ShapeError
from ..tensor import Tensor, get_default_dtype

# ----------------------------------------------------------------------------- shared checks


def _check_eps(eps: Any, op: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{op}: eps must be a non-negative number; got {eps!r}")
    if not math.isfinite(eps) or eps < 0:
        raise InvalidArgumentError(f"{op}: eps must be finite and >= 0; got {eps!r}")
    return float(eps)


def _as_matrix(X: Any, op: str) -> np.ndarray:
    """X as a finite 2-D numpy array (N, D); Tensors give their ``.data``, nothing is copied."""
    arr = np.asarray(X.data if isinstance(X, Tensor) else X)
    if arr.dtype.kind not in REAL_KINDS:
        raise InvalidArgumentError(f"{op}: X must be numeric; got an array of dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(
            f"{op}: X must be 2-D (n_samples, n_features); got shape {arr.shape}. "
            f"Use X.reshape(-1, 1) for a single feature or X.reshape(len(X), -1) to flatten."
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidArgumentError(f"{op}: X contains NaN or infinite values")
    return arr


def _out_dtype(arr: np.ndarray) -> np.dtype:
    """Float inputs keep their dtype; integer and boolean inputs get the default float dtype."""
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(get_default_dtype())


class _FittedTransform:
    """What every fitted transform shares: ``fit_transform`` and the checks before use."""

    mean_: np.ndarray | None

    def fit(self, X: Any) -> _FittedTransform:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def transform(self, X: Any) -> np.ndarray:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit on ``X`` (the training data) and return ``X`` transformed."""
        return self.fit(X).transform(X)

    @property
    def n_features_(self) -> int | None:
        """Number of features seen by :meth:`fit` (``None`` before fitting)."""
        return None if self.mean_ is None else int(self.mean_.shape[0])

    def _fitted_input(self, X: Any, op: str) -> np.ndarray:
        name = type(self).__name__
        if self.mean_ is None:
            raise InvalidArgumentError(
                f"{name}.{op}: this {name} is not fitted yet; call fit(X_train) first "
                f"(or fit_transform(X_train)), then {op} the other sets with its statistics"
            )
        arr = _as_matrix(X, f"{name}.{op}")
        if arr.shape[1] != self.mean_.shape[0]:
            raise ShapeError(
                f"{name}.{op}: X has {arr.shape[1]} features (shape {arr.shape}) but the "
                f"{name} was fitted on {self.mean_.shape[0]} features"
            )
        return arr


def _fit_input(X: Any, op: str) -> np.ndarray:
    arr = _as_matrix(X, op)
    if arr.shape[0] == 0:
        raise ShapeError(f"{op}: needs at least one sample to learn statistics; got shape "
                         f"{arr.shape}")
    return arr


# ----------------------------------------------------------------------------- standardisation


class Standardizer(_FittedTransform):
    """Mean subtraction and normalisation per feature: x'_j = (x_j - mu_j) / sigma_j.

    ``fit`` learns, over the N training samples, the mean mu_j = (1/N) sum_n X_nj and the
    population standard deviation sigma_j = sqrt((1/N) sum_n (X_nj - mu_j)^2) of each feature
    (ddof = 0, as ``np.std``). Fit on the training data only and transform the validation and
    test data with the same statistics: the test set must not influence preprocessing.

    A feature whose standard deviation is below ``eps`` (a constant feature, in particular,
    whatever rounding does to its computed std) cannot be scaled to unit variance: it is only
    centred, its divisor sigma_j treated as 1, so the transform never divides by zero and
    stays invertible.

    Statistics are computed in float64. Outputs are numpy arrays of the input's float dtype
    (integer inputs give the default float dtype). Tensors are accepted and read via ``.data``.

    Args:
        eps: features with a standard deviation below ``eps`` are centred but not scaled.

    Attributes:
        mean_: per-feature mean mu, shape (D,), float64 (``None`` before ``fit``).
        std_: per-feature population standard deviation, shape (D,).
        scale_: the divisor actually used: ``std_``, with 1 for the features treated as
            constant (``std_ < eps``, or all values equal).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import Standardizer
        >>> X = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
        >>> s = Standardizer()
        >>> Z = s.fit_transform(X)          # the second feature is constant: only centred
        >>> np.round(Z, 4).tolist()
        [[-1.2247, 0.0], [0.0, 0.0], [1.2247, 0.0]]
        >>> np.allclose(s.inverse_transform(Z), X)
        True
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = _check_eps(eps, "Standardizer")
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Learn the per-feature mean and standard deviation of the training data ``X`` (N, D).

        Returns:
            ``self``, so that ``Standardizer().fit(X_train)`` can be chained.
        """
        arr = _fit_input(X, "Standardizer.fit").astype(np.float64)
        mean = arr.mean(axis=0)
        std = np.sqrt(np.mean((arr - mean) ** 2, axis=0))
        # A constant column can get a tiny nonzero std from rounding in the mean; peak-to-peak
        # catches it exactly whatever the magnitude of its value.
        constant = (std < self.eps) | (np.ptp(arr, axis=0) == 0)
        self.mean_, self.std_ = mean, std
        self.scale_ = np.where(constant, 1.0, std)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Standardise ``X`` (N, D) with the training statistics: (X - mean_) / scale_."""
        arr = self._fitted_input(X, "transform")
        out = (arr - self.mean_) / self.scale_
        return out.astype(_out_dtype(arr), copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: X' * scale_ + mean_, back in the original units."""
        arr = self._fitted_input(X, "inverse_transform")
        out = arr * self.scale_ + self.mean_
        return out.astype(_out_dtype(arr), copy=False)

    def __repr__(self) -> str:
        return f"Standardizer(eps={self.eps!r})"


# ----------------------------------------------------------------------------- whitening

_WHITEN_METHODS = ("pca", "zca")


class Whitener(_FittedTransform):
    """Whitening: decorrelate the features and give each unit variance (course notes, 7.2.3).

    ``fit`` centres the training data, Xc = X - mu, forms the covariance matrix
    Sigma = Xc^T Xc / N (D x D) and takes its SVD, U, S, _ = svd(Sigma). Because Sigma is
    symmetric positive semi-definite, the columns of U are its eigenvectors (the principal
    directions) and S its eigenvalues: the variance of the data along each direction.

    * ``"pca"``: X_white = Xc U diag(1 / sqrt(S + eps)) — project onto the principal
      directions, then divide each by its standard deviation. Columns come in order of
      decreasing variance.
    * ``"zca"``: X_white = Xc U diag(1 / sqrt(S + eps)) U^T — the same, rotated back to the
      original axes. The matrix is symmetric, and among all whitening transforms ZCA's output
      is the closest to its input, so whitened images still look like images.

    The covariance of the whitened training data is diag(S / (S + eps)): the identity up to
    the effect of ``eps``, which keeps directions of (near) zero variance from being divided
    by zero (the notes' "divide by a small number instead"). The notes take the SVD of Xc
    itself; its singular values are sqrt(N S), so that form differs only by the factor
    sqrt(N). With ``eps=0`` whitening is exact, and ``fit`` refuses singular covariances.

    The signs of the principal directions are fixed (the largest entry of each column of U is
    positive), so PCA outputs do not flip between runs or platforms. Computations are in
    float64; outputs are numpy arrays of the input's float dtype.

    Args:
        method: ``"pca"`` (rotate onto the principal directions) or ``"zca"`` (and back).
        eps: added to every variance before the square root; ``0`` for exact whitening.

    Attributes:
        mean_: per-feature mean mu, shape (D,) (``None`` before ``fit``).
        components_: U, shape (D, D); column k is the k-th principal direction.
        variances_: S, shape (D,); the variance of the training data along each direction.
        whitening_matrix_: W, shape (D, D), with X_white = (X - mean_) @ W.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import Whitener
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(500, 2)) @ np.array([[2.0, 1.0], [0.0, 0.5]])
        >>> Z = Whitener("zca", eps=0.0).fit_transform(X)
        >>> np.allclose(Z.T @ Z / len(Z), np.eye(2))   # identity covariance
        True
    """

    def __init__(self, method: str = "pca", eps: float = 1e-5) -> None:
        if method not in _WHITEN_METHODS:
            raise InvalidArgumentError(
                f"Whitener: unknown method {method!r}; expected one of {_WHITEN_METHODS}"
            )
        self.method = method
        self.eps = _check_eps(eps, "Whitener")
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self.variances_: np.ndarray | None = None
        self.whitening_matrix_: np.ndarray | None = None
        self._unwhitening_matrix: np.ndarray | None = None

    def fit(self, X: Any) -> Whitener:
        """Learn the mean and the whitening matrix of the training data ``X`` (N, D).

        Returns:
            ``self``, so that ``Whitener("zca").fit(X_train)`` can be chained.

        Raises:
            InvalidArgumentError: ``eps == 0`` and the covariance is singular (fewer samples
                than features, or linearly dependent features).
        """
        arr = _fit_input(X, "Whitener.fit").astype(np.float64)
        n, d = arr.shape
        mean = arr.mean(axis=0)
        Xc = arr - mean
        sigma = Xc.T @ Xc / n
        U, S, _ = np.linalg.svd(sigma)
        # svd_flip: make the largest-magnitude entry of every direction positive.
        signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(d)])
        U = U * np.where(signs == 0, 1.0, signs)
        if self.eps == 0 and S[-1] <= S[0] * d * np.finfo(np.float64).eps:
            raise InvalidArgumentError(
                f"Whitener.fit: the covariance of X (shape {arr.shape}) is singular (smallest "
                f"variance {S[-1]:.3g}), so eps=0 would divide by zero; use eps > 0"
            )
        root = np.sqrt(S + self.eps)
        if self.method == "pca":
            W = U / root                     # U diag(1/sqrt(S + eps))
            W_inv = root[:, None] * U.T      # diag(sqrt(S + eps)) U^T
        else:
            W = (U / root) @ U.T             # U diag(1/sqrt(S + eps)) U^T
            W_inv = (U * root) @ U.T         # U diag(sqrt(S + eps)) U^T
        self.mean_, self.components_, self.variances_ = mean, U, S
        self.whitening_matrix_, self._unwhitening_matrix = W, W_inv
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Whiten ``X`` (N, D) with the training statistics: (X - mean_) @ whitening_matrix_."""
        arr = self._fitted_input(X, "transform")
        out = (arr - self.mean_) @ self.whitening_matrix_
        return out.astype(_out_dtype(arr), copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform` exactly (U is orthogonal): X_white @ W^-1 + mean_."""
        arr = self._fitted_input(X, "inverse_transform")
        out = arr @ self._unwhitening_matrix + self.mean_
        return out.astype(_out_dtype(arr), copy=False)

    def __repr__(self) -> str:
        return f"Whitener(method={self.method!r}, eps={self.eps!r})"
