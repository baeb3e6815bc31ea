"""Seeds: one way to turn ``rng=`` arguments into a numpy Generator, used everywhere.

Every function of the package that draws random numbers takes ``rng``: ``None`` (fresh
entropy), a non-negative int seed (the same seed, the same numbers), or a
``numpy.random.Generator``, used and advanced as it is. Passing one Generator to several
layers makes them draw one stream, so one seed reproduces a whole model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["as_generator"]


def as_generator(rng: Any = None) -> np.random.Generator:
    """A numpy Generator from ``None`` (fresh entropy), an int seed, or a Generator (as is).

    Raises:
        InvalidArgumentError: a negative seed.
        ArgumentTypeError: anything else (a bool, a float, a string); also a TypeError.

    Example:
        >>> from tinygrad_edu.seeds import as_generator
        >>> float(as_generator(3).random()) == float(as_generator(3).random())
        True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise InvalidArgumentError(f"rng: a seed must be a non-negative integer; got {rng}")
        return np.random.default_rng(int(rng))
    raise ArgumentTypeError(
        f"rng must be None, a non-negative int seed or a numpy.random.Generator; got {rng!r}"
    )
