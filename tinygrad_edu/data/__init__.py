"""Data for training: toy datasets, preprocessing, a train/test split and mini-batches.

* ``datasets.py``: ``make_spiral``, ``make_moons``, ``make_blobs``, ``make_xor``,
  ``make_circles`` and ``load_digits``, each returning ``(X, y)``.
* ``preprocessing.py``: ``Standardizer`` and ``Whitener``, fitted on training data only.
* ``loader.py``: ``train_test_split`` and ``DataLoader`` (mini-batches, reshuffled per epoch).

Example:
    >>> from tinygrad_edu.data import DataLoader, Standardizer, make_moons, train_test_split
    >>> X, y = make_moons(n_samples=200, rng=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, rng=0)
    >>> scaler = Standardizer().fit(X_train)           # statistics of the training set only
    >>> X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    >>> loader = DataLoader(X_train, y_train, batch_size=32, rng=0)
    >>> len(loader), X_train.dtype
    (5, dtype('float32'))
"""

from .datasets import load_digits, make_blobs, make_circles, make_moons, make_spiral, make_xor
from .loader import DataLoader, train_test_split
from .preprocessing import Standardizer, Whitener

__all__ = [
    "DataLoader",
    "Standardizer",
    "Whitener",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "train_test_split",
]
