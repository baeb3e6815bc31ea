"""K-fold splits for cross-validation, stratified when the targets are class labels.

The samples are dealt into k folds of (nearly) equal size; each fold serves once as the
validation set while the other k - 1 train. With class labels every fold gets (nearly) the
same share of each class as the whole set ("stratified"), so no fold is missing a class. The
deal is random but fixed by the seed, so every setting of a sweep sees the same folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..nn.init import as_generator

__all__ = ["is_class_labels", "make_folds"]


def is_class_labels(y: np.ndarray) -> bool:
    """Whether ``y`` holds class labels to stratify on: one integer (or bool) label a sample."""
    return y.ndim == 1 and y.dtype.kind in "iub"


def make_folds(
    y: Any, k: int, seed: Any = 0, stratify: bool | None = None, op: str = "cross_validate"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The k (train indices, validation indices) pairs of a k-fold split of ``len(y)`` samples.

    Args:
        y: the targets, one per sample (only their number and, to stratify, their classes
            are used).
        k: the number of folds, at least 2.
        seed: seed of the deal (an int, a Generator or None).
        stratify: deal each class separately; None stratifies exactly when ``y`` holds
            integer class labels.
        op: the name used in error messages.

    Raises:
        InvalidArgumentError: ``k`` is not an integer >= 2, or larger than the number of
            samples (of the smallest class, when stratified).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.tune import make_folds
        >>> folds = make_folds(np.array([0, 0, 0, 1, 1, 1]), k=3, seed=0)
        >>> [np.bincount(np.array([0, 0, 0, 1, 1, 1])[val]).tolist() for _, val in folds]
        [[1, 1], [1, 1], [1, 1]]
    """
    y = np.asarray(y)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise InvalidArgumentError(f"{op}: k (the number of folds) must be an int >= 2; got {k!r}")
    k = int(k)
    n = len(y)
    if stratify is not None and not isinstance(stratify, (bool, np.bool_)):
        raise InvalidArgumentError(
            f"{op}: stratify must be True, False or None (stratify class labels); got {stratify!r}"
        )
    if stratify is None:
        stratify = is_class_labels(y)
    if stratify and y.ndim != 1:
        raise InvalidArgumentError(
            f"{op}: stratified folds need one class label per sample (y of shape (N,)); "
            f"got y of shape {y.shape}. Pass stratify=False"
        )
    rng = as_generator(seed)
    if stratify:
        classes, counts = np.unique(y, return_counts=True)
        smallest = int(np.argmin(counts))
        if counts[smallest] < k:
            raise InvalidArgumentError(
                f"{op}: k={k} stratified folds need at least {k} samples of every class, but "
                f"class {classes[smallest].item()!r} has only {counts[smallest]}; use k <= "
                f"{counts[smallest]}, more data, or stratify=False"
            )
        # One class after another, each in a random order, dealt round-robin: every fold gets
        # floor or ceil of each class's share, and the fold sizes differ by at most one.
        order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in classes])
    else:
        if n < k:
            raise InvalidArgumentError(
                f"{op}: k={k} folds need at least {k} samples; got {n}"
            )
        order = rng.permutation(n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[order] = np.arange(n) % k
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]
