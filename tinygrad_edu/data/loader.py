"""Serving samples: mini-batches for training (:class:`DataLoader`) and a train/test split.

Mini-batch gradient descent estimates the gradient of the loss over the whole training set from
a batch of B samples at a time; shuffling the samples every epoch keeps the batches from
repeating, so the estimate is unbiased (the course's notes on mini-batches). Randomness comes from
one numpy Generator made from ``rng`` (``None``, an int seed or a Generator), so a run is
reproducible from its seed.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.data import DataLoader, train_test_split
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, rng=0)
    >>> X_train.shape, X_test.shape
    ((7, 2), (3, 2))
    >>> loader = DataLoader(X_train, y_train, batch_size=3, rng=0)
    >>> len(loader), [len(yb) for _, yb in loader]
    (3, [3, 3, 1])
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..checks import REAL_KINDS, is_int
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..seeds import as_generator
from ..tensor import Tensor


def _as_samples(a: Any, name: str, op: str) -> np.ndarray:
    """``a`` as a numpy array with samples along axis 0; Tensors give their ``.data``."""
    try:
        arr = np.asarray(a.data if isinstance(a, Tensor) else a)
    except ValueError:  # rows of different lengths
        lengths = sorted({len(row) for row in a if hasattr(row, "__len__")})
        raise ShapeError(
            f"{op}: {name} is ragged: its rows have different lengths {lengths[:5]}; every "
            "sample must have the same shape"
        ) from None
    if arr.dtype.kind not in REAL_KINDS:
        raise DTypeError(
            f"{op}: {name} must hold real numbers (one row per sample); got dtype {arr.dtype}"
            + (" (rows of different lengths?)" if arr.dtype.kind == "O" else "")
        )
    if arr.ndim == 0:
        raise ShapeError(f"{op}: {name} must have one entry per sample along axis 0; got a "
                         f"scalar of shape ()")
    return arr


def paired_samples(X: Any, y: Any, op: str) -> tuple[np.ndarray, np.ndarray]:
    X_arr, y_arr = _as_samples(X, "X", op), _as_samples(y, "y", op)
    if X_arr.shape[0] != y_arr.shape[0]:
        raise ShapeError(
            f"{op}: X and y must have the same number of samples (first dimension); got X of "
            f"shape {X_arr.shape} and y of shape {y_arr.shape}"
        )
    return X_arr, y_arr


# ----------------------------------------------------------------------------- mini-batches


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` mini-batches of numpy arrays, one epoch per loop.

    Each ``for`` loop over the loader is one epoch: every sample appears in exactly one batch
    (the last batch holds the remainder unless ``drop_last``). With ``shuffle=True`` each epoch
    visits the samples in a new random order, drawn from a Generator made once from ``rng``;
    so epochs differ from one another, yet the whole sequence of epochs is the same for the
    same seed. The order of an epoch is fixed when its iterator is created (``iter(loader)``).
    A Generator passed as ``rng`` is used (and advanced) directly, not copied.

    Batches are new arrays (``X[indices]``): changing one leaves the data untouched. Tensors
    given as ``X`` or ``y`` are read via ``.data``; wrap the batches in ``Tensor`` to compute.

    Args:
        X: inputs, shape (N, ...): one sample per row.
        y: targets, shape (N, ...): labels or values, one per sample.
        batch_size: samples per batch B, a positive int.
        shuffle: draw a new random order every epoch (``False``: the order of ``X``).
        rng: ``None`` (fresh entropy), an int seed or a ``numpy.random.Generator``.
        drop_last: drop the last batch when it has fewer than B samples.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import DataLoader
        >>> loader = DataLoader(np.arange(5.0)[:, None], np.arange(5), 2, shuffle=False)
        >>> len(loader), [yb.tolist() for _, yb in loader]
        (3, [[0, 1], [2, 3], [4]])
        >>> len(DataLoader(np.zeros((5, 1)), np.zeros(5), 2, drop_last=True))
        2
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        batch_size: int,
        shuffle: bool = True,
        rng: Any = None,
        drop_last: bool = False,
    ) -> None:
        X_arr, y_arr = paired_samples(X, y, "DataLoader")
        if not is_int(batch_size) or batch_size < 1:
            raise InvalidArgumentError(
                f"DataLoader: batch_size must be a positive int; got {batch_size!r}"
            )
        self.X = X_arr
        self.y = y_arr
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = as_generator(rng)

    @property
    def n_samples(self) -> int:
        """Number of samples N."""
        return int(self.X.shape[0])

    def __len__(self) -> int:
        """Batches per epoch: ceil(N / B), or floor(N / B) with ``drop_last``."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # The permutation is drawn here, not lazily inside the generator, so the epoch's order
        # is fixed by iter(loader) even if the first batch is requested later.
        n = self.n_samples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        B = self.batch_size
        for k in range(len(self)):
            idx = order[k * B : (k + 1) * B]
            yield self.X[idx], self.y[idx]

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )


# ----------------------------------------------------------------------------- splitting


def _n_test(test_size: Any, n: int) -> int:
    """Number of test samples as scikit-learn counts them: ceil(fraction * N), or a count."""
    op = "train_test_split"
    if is_int(test_size):
        if not 1 <= test_size <= n - 1:
            raise InvalidArgumentError(
                f"{op}: an int test_size is a number of test samples and must be between 1 "
                f"and N - 1 = {n - 1} so both sets are non-empty; got {test_size}"
            )
        return int(test_size)
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise InvalidArgumentError(
                f"{op}: a float test_size is the fraction of samples held out and must be in "
                f"(0, 1); got {test_size}"
            )
        n_test = math.ceil(test_size * n)
        if n_test >= n:
            raise InvalidArgumentError(
                f"{op}: test_size={test_size} of N={n} samples leaves ceil({test_size} * {n}) "
                f"= {n_test} test samples and an empty training set; use a smaller test_size"
            )
        return n_test
    raise InvalidArgumentError(
        f"{op}: test_size must be a float in (0, 1) (a fraction) or an int (a count); "
        f"got {test_size!r}"
    )


def train_test_split(
    X: Any, y: Any, test_size: float | int = 0.25, rng: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the samples and split them into a training set and a test set.

    The samples are permuted at random (from ``rng``) and the first n_test go to the test set,
    the remaining N - n_test to the training set. A float ``test_size`` is a fraction and is
    rounded up, n_test = ceil(test_size * N), as in scikit-learn; an int is the count itself.
    Both sets are always non-empty. Fit preprocessing on the training set only.

    Args:
        X: inputs, shape (N, ...).
        y: targets, shape (N, ...).
        test_size: fraction in (0, 1) or number of samples in [1, N - 1] held out for testing.
        rng: ``None`` (fresh entropy), an int seed or a ``numpy.random.Generator``.

    Returns:
        ``X_train, X_test, y_train, y_test`` (scikit-learn's order), new numpy arrays.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.data import train_test_split
        >>> X, y = np.arange(8.0)[:, None], np.arange(8)
        >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, rng=1)
        >>> len(y_tr), len(y_te), sorted(y_tr.tolist() + y_te.tolist()) == list(range(8))
        (6, 2, True)
    """
    op = "train_test_split"
    X_arr, y_arr = paired_samples(X, y, op)
    n = X_arr.shape[0]
    if n < 2:
        raise InvalidArgumentError(
            f"{op}: needs at least 2 samples to make two non-empty sets; got N = {n}"
        )
    n_test = _n_test(test_size, n)
    order = as_generator(rng).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X_arr[train], X_arr[test], y_arr[train], y_arr[test]
