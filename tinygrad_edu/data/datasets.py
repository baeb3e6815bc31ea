"""Small classification datasets: toy problems in the plane and the 8x8 handwritten digits.

Every function returns ``(X, y)``: X of shape (N, D) in the default float dtype
(``tinygrad_edu.get_default_dtype()`` at call time) and y of shape (N,), int64 class labels
0..K-1. The synthetic sets come ordered by class (all of class 0, then class 1, ...) with class
sizes differing by at most one; shuffle them with :func:`~tinygrad_edu.data.train_test_split`
or a shuffling :class:`~tinygrad_edu.data.DataLoader`. Randomness comes from ``rng`` (``None``,
an int seed or a numpy Generator): the same seed gives the same data.
Points are computed in float64 and cast at the end, so float32 and float64 data agree.

Example:
    >>> from tinygrad_edu.data import make_spiral
    >>> X, y = make_spiral(n_per_class=50, n_classes=3, rng=0)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((150, 2), dtype('float32'), (150,), dtype('int64'))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, ShapeError
from ..seeds import as_generator
from ..tensor import get_default_dtype

# ----------------------------------------------------------------------------- helpers


def _check_count(n: Any, name: str, op: str, minimum: int = 1) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise InvalidArgumentError(f"{op}: {name} must be an int >= {minimum}; got {n!r}")
    return int(n)


def _check_nonneg(x: Any, name: str, op: str) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"{op}: {name} must be a number >= 0; got {x!r}")
    if not math.isfinite(x) or x < 0:
        raise InvalidArgumentError(f"{op}: {name} must be finite and >= 0; got {x!r}")
    return float(x)


def _split(n: int, k: int) -> list[int]:
    """n samples over k groups as evenly as possible; the first n % k groups get one more."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _finish(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.astype(get_default_dtype()), y.astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- planar datasets


def make_spiral(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n spiral): not linearly separable.

    For class k the n points have radius r = linspace(0, 1, n) and angle
    t = linspace(4k, 4(k + 1), n) + noise * e with e ~ N(0, 1), and sit at
    x = (r sin t, r cos t). Noise only perturbs the angle, so every radius stays in [0, 1].

    Args:
        n_per_class: points per class n (>= 1).
        n_classes: number of arms K (>= 1).
        noise: standard deviation of the angular noise, in radians (>= 0).
        rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``(X, y)``: X of shape (K n, 2), y the arm index of each point.

    Example:
        >>> from tinygrad_edu.data import make_spiral
        >>> X, y = make_spiral(n_per_class=4, n_classes=2, noise=0.0)
        >>> y.tolist()
        [0, 0, 0, 0, 1, 1, 1, 1]
        >>> round(float((X[3] ** 2).sum()), 6)   # the last point of an arm has radius 1
        1.0
    """
    op = "make_spiral"
    n = _check_count(n_per_class, "n_per_class", op)
    K = _check_count(n_classes, "n_classes", op)
    noise = _check_nonneg(noise, "noise", op)
    gen = as_generator(rng)
    r = np.tile(np.linspace(0.0, 1.0, n), K)
    t = np.concatenate([np.linspace(4.0 * k, 4.0 * (k + 1), n) for k in range(K)])
    t = t + noise * gen.standard_normal(K * n)
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return _finish(X, _labels([n] * K))


def make_moons(
    n_samples: int = 200, noise: float = 0.1, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    Class 0 (n // 2 points) lies on the upper half of the unit circle around (0, 0), at angles
    linspace(0, pi); class 1 (the rest) on the lower half of the unit circle around
    (1, 0.5): (1 - cos a, 0.5 - sin a). Gaussian noise of standard deviation ``noise`` is then
    added to every coordinate.

    Args:
        n_samples: total number of points N (>= 2, so both classes appear).
        noise: standard deviation of the Gaussian noise (>= 0).
        rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``(X, y)``: X of shape (N, 2), y in {0, 1}.

    Example:
        >>> from tinygrad_edu.data import make_moons
        >>> X, y = make_moons(n_samples=6, noise=0.0)
        >>> X[:3].round(3).tolist(), y.tolist()
        ([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], [0, 0, 0, 1, 1, 1])
    """
    op = "make_moons"
    N = _check_count(n_samples, "n_samples", op, minimum=2)
    noise = _check_nonneg(noise, "noise", op)
    gen = as_generator(rng)
    n_out, n_in = N // 2, N - N // 2
    a_out = np.linspace(0.0, np.pi, n_out)
    a_in = np.linspace(0.0, np.pi, n_in)
    outer = np.stack([np.cos(a_out), np.sin(a_out)], axis=1)
    inner = np.stack([1.0 - np.cos(a_in), 0.5 - np.sin(a_in)], axis=1)
    X = np.concatenate([outer, inner]) + noise * gen.standard_normal((N, 2))
    return _finish(X, _labels([n_out, n_in]))


def make_circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles, as scikit-learn's ``make_circles``.

    Class 0 (n // 2 points) lies on the unit circle, class 1 (the rest) on the circle of
    radius ``factor``, each at evenly spaced angles 2 pi i / n (endpoint excluded). Gaussian
    noise of standard deviation ``noise`` is then added to every coordinate.

    Args:
        n_samples: total number of points N (>= 2, so both classes appear).
        noise: standard deviation of the Gaussian noise (>= 0).
        factor: radius of the inner circle relative to the outer one, in [0, 1).
        rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``(X, y)``: X of shape (N, 2), y = 0 on the outer circle and 1 on the inner one.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import make_circles
        >>> X, y = make_circles(n_samples=8, noise=0.0, factor=0.5)
        >>> np.hypot(X[:, 0], X[:, 1]).round(6).tolist()
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    """
    op = "make_circles"
    N = _check_count(n_samples, "n_samples", op, minimum=2)
    noise = _check_nonneg(noise, "noise", op)
    factor = _check_nonneg(factor, "factor", op)
    if factor >= 1.0:
        raise InvalidArgumentError(
            f"{op}: factor is the inner radius relative to the outer one and must be in [0, 1); "
            f"got {factor}"
        )
    gen = as_generator(rng)
    n_out, n_in = N // 2, N - N // 2
    a_out = np.linspace(0.0, 2.0 * np.pi, n_out, endpoint=False)
    a_in = np.linspace(0.0, 2.0 * np.pi, n_in, endpoint=False)
    outer = np.stack([np.cos(a_out), np.sin(a_out)], axis=1)
    inner = factor * np.stack([np.cos(a_in), np.sin(a_in)], axis=1)
    X = np.concatenate([outer, inner]) + noise * gen.standard_normal((N, 2))
    return _finish(X, _labels([n_out, n_in]))


def make_xor(
    n_samples: int = 200, noise: float = 0.1, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: four Gaussian clusters at the corners of [-1, 1]^2.

    A point drawn around corner c = (c0, c1) gets the label of its corner,
    y = 1 if c0 c1 < 0 else 0: the exclusive or of "c0 > 0" and "c1 > 0". Class 0 sits at
    (-1, -1) and (1, 1), class 1 at (-1, 1) and (1, -1); no single line separates them.
    Labels come from the corner, not the noisy point, so with large noise some points cross
    the axes (with the default noise 0.1 the axes are ten standard deviations away).

    Args:
        n_samples: total number of points N (>= 4, so every corner gets a point). Class 0
            gets N // 2 points, split between its corners as evenly as possible.
        noise: standard deviation of the Gaussian noise around each corner (>= 0).
        rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``(X, y)``: X of shape (N, 2), y in {0, 1}.

    Example:
        >>> from tinygrad_edu.data import make_xor
        >>> X, y = make_xor(n_samples=4, noise=0.0)
        >>> X.tolist(), y.tolist()
        ([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]], [0, 0, 1, 1])
    """
    op = "make_xor"
    N = _check_count(n_samples, "n_samples", op, minimum=4)
    noise = _check_nonneg(noise, "noise", op)
    gen = as_generator(rng)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    class_counts = [N // 2, N - N // 2]
    per_corner = _split(class_counts[0], 2) + _split(class_counts[1], 2)
    X = np.repeat(corners, per_corner, axis=0) + noise * gen.standard_normal((N, 2))
    return _finish(X, _labels(class_counts))


def make_blobs(
    n_samples: int = 300,
    centers: int | Any = 3,
    n_features: int | None = None,
    std: float | Any = 1.0,
    rng: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, one per class, as scikit-learn's ``make_blobs``.

    Class k's points are drawn from N(mu_k, std_k^2 I). With an int ``centers`` = K the
    centres mu_k are drawn uniformly from the box [-10, 10]^D (scikit-learn's default box);
    with an array of shape (K, D) they are given.

    Args:
        n_samples: total number of points N (>= K, so every class appears), split over the
            classes as evenly as possible.
        centers: the number of classes K (>= 1), or an array of centres of shape (K, D).
        n_features: dimension D when ``centers`` is an int (default 2); with an array of
            centres leave it ``None`` or give the array's width.
        std: standard deviation of every blob (>= 0), or one per blob (length K).
        rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``(X, y)``: X of shape (N, D), y the blob index of each point, 0..K-1.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import make_blobs
        >>> X, y = make_blobs(n_samples=4, centers=np.array([[0.0, 0.0], [5.0, 5.0]]), std=0.0)
        >>> X.tolist(), y.tolist()
        ([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]], [0, 0, 1, 1])
    """
    op = "make_blobs"
    if n_features is not None:
        n_features = _check_count(n_features, "n_features", op)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, (bool, np.bool_)):
        K = _check_count(centers, "centers", op)
        D = 2 if n_features is None else n_features
        given_centers = None
    else:
        given_centers = np.asarray(centers, dtype=np.float64)
        if given_centers.ndim != 2 or given_centers.shape[0] == 0 or given_centers.shape[1] == 0:
            raise ShapeError(
                f"{op}: centers must be an int or an array of shape (K, D) with K, D >= 1; "
                f"got shape {given_centers.shape}"
            )
        if not np.all(np.isfinite(given_centers)):
            raise InvalidArgumentError(f"{op}: centers contains NaN or infinite values")
        K, D = given_centers.shape
        if n_features is not None and n_features != D:
            raise ShapeError(
                f"{op}: n_features={n_features} does not match centers of shape "
                f"{given_centers.shape}; leave n_features=None to use D={D}"
            )
    N = _check_count(n_samples, "n_samples", op, minimum=K)
    if np.ndim(std) == 0:
        stds = np.full(K, _check_nonneg(std, "std", op))
    else:
        stds = np.asarray(std, dtype=np.float64)
        if stds.shape != (K,):
            raise ShapeError(
                f"{op}: std must be a number or have one entry per center, shape ({K},); got "
                f"shape {stds.shape}"
            )
        if not np.all(np.isfinite(stds)) or np.any(stds < 0):
            raise InvalidArgumentError(f"{op}: every std must be finite and >= 0; got {std!r}")
    gen = as_generator(rng)
    mu = gen.uniform(-10.0, 10.0, size=(K, D)) if given_centers is None else given_centers
    counts = _split(N, K)
    X = np.repeat(mu, counts, axis=0)
    X = X + np.repeat(stds, counts)[:, None] * gen.standard_normal((N, D))
    return _finish(X, _labels(counts))


# ----------------------------------------------------------------------------- real data


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (UCI optical recognition set, as shipped by scikit-learn).

    1797 grey-scale images of the digits 0-9, flattened row by row into 64 features with the
    integer pixel intensities 0..16 as shipped (no scaling: standardise with
    :class:`~tinygrad_edu.data.Standardizer` or divide by 16). The data is read from inside
    the scikit-learn package; no network access is needed. Needs scikit-learn:
    ``pip install 'tinygrad_edu[digits]'``.

    Returns:
        ``(X, y)``: X of shape (1797, 64) in the default float dtype, y int64 digits 0..9.
        Samples are in scikit-learn's order (not sorted by class).

    Raises:
        ImportError: scikit-learn is not installed.

    Example:
        >>> from tinygrad_edu.data import load_digits
        >>> X, y = load_digits()  # doctest: +SKIP
        >>> X.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))  # doctest: +SKIP
        ((1797, 64), 16, True)
    """
    try:
        from sklearn.datasets import load_digits as _sklearn_load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the 8x8 digits data; install it with "
            "pip install 'tinygrad_edu[digits]' (or pip install scikit-learn)"
        ) from exc
    X, y = _sklearn_load_digits(return_X_y=True)
    return _finish(np.asarray(X), np.asarray(y))
