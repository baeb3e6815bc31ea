"""Weight initialisation: functions ``f(shape, rng=None) -> numpy float64 array``.

A weight matrix W of shape (fan_out, fan_in) maps ``fan_in`` inputs to ``fan_out`` units, the
course's W in z = Wx + b. How W starts decides how wide the pre-activations z are, and so
whether the activation's derivative is usable at all when training begins.

The course's notes on weight initialisation: take 1000 inputs all equal to 1 and one unit,
z = sum_j W_j x_j + b. With every W_j and b drawn from the standard normal, z is a sum of 1001
independent standard normals, so std(z) = sqrt(1001) ~ 31.6 and a tanh or sigmoid unit starts
saturated (derivative ~ 0). With W_j ~ N(0, 1/N_in) instead (and still b ~ N(0, 1)),
var(z) = 1000 * (1/1000) + 1, so std(z) = sqrt(2) ~ 1.41: the unit starts where it can learn.
That is :func:`normal_fan_in`, the default of :class:`~tinygrad_edu.nn.Linear`.

The notes on Xavier initialisation: for sigmoid and tanh units draw
W ~ U(-r, r) with r = sqrt(6 / (n^(l) + n^(l+1))), fan-in plus fan-out, which keeps both the
activations' and the backpropagated gradients' variances roughly constant across layers
(:func:`xavier_uniform`; :func:`xavier_normal` is the normal with the same variance
2 / (fan_in + fan_out)). :func:`he_normal` (std sqrt(2 / fan_in)) suits ReLU units, which
zero half their inputs. Biases start at zero in every scheme, as in the notes.

Shapes: a 2-D shape is (fan_out, fan_in); a 1-D shape (n,) counts n both as fan-in and
fan-out; for more dimensions (fan_out, fan_in, k1, k2, ...) both fans are multiplied by
k1 * k2 * ... (the receptive field, as PyTorch does).

Example:
    >>> from tinygrad_edu.nn import init
    >>> w = init.xavier_uniform((3, 5), rng=0)
    >>> w.shape, w.dtype, bool(abs(w).max() <= (6 / 8) ** 0.5)
    ((3, 5), dtype('float64'), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..seeds import as_generator

__all__ = [
    "INITIALIZERS",
    "as_generator",
    "fans",
    "get_initializer",
    "he_normal",
    "normal_fan_in",
    "standard_normal",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[[tuple[int, ...], Any], np.ndarray]


# ----------------------------------------------------------------------------- helpers


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (an int n means (n,))."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise InvalidArgumentError(
            f"{op}: shape must be a tuple of ints such as (fan_out, fan_in); got {shape!r}"
        ) from None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in dims):
        raise InvalidArgumentError(f"{op}: shape must hold ints; got {shape!r}")
    if any(n < 0 for n in dims):
        raise InvalidArgumentError(f"{op}: shape must not have negative sizes; got {shape!r}")
    return tuple(int(n) for n in dims)


def fans(shape: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` = (fan_out, fan_in, *receptive_field).

    A 1-D shape (n,) gives (n, n).

    Example:
        >>> from tinygrad_edu.nn.init import fans
        >>> fans((16, 2))
        (2, 16)
    """
    dims = _shape(shape, "fans")
    if not dims:
        raise InvalidArgumentError("fans: a weight needs at least one dimension; got shape ()")
    if len(dims) == 1:
        return dims[0], dims[0]
    field = math.prod(dims[2:])
    return dims[1] * field, dims[0] * field


def _positive_fans(shape: Any, op: str) -> tuple[tuple[int, ...], int, int]:
    dims = _shape(shape, op)
    if not dims:
        raise InvalidArgumentError(f"{op}: a weight needs at least one dimension; got shape ()")
    fan_in, fan_out = fans(dims)
    if fan_in == 0 or fan_out == 0:
        raise InvalidArgumentError(
            f"{op}: shape {dims} has fan_in={fan_in}, fan_out={fan_out}; the scale divides by "
            "the fans, so every dimension must be at least 1"
        )
    return dims, fan_in, fan_out


# ----------------------------------------------------------------------------- initialisers


def normal_fan_in(shape: Any, rng: Any = None) -> np.ndarray:
    """W_ij ~ N(0, 1/N_in): mean 0, standard deviation 1/sqrt(fan_in).

    The scheme of the initialisation notes: with 1000 inputs equal to 1 and b ~ N(0, 1),
    z = sum_j W_j + b has std sqrt(1000/1000 + 1) = sqrt(2) instead of the sqrt(1001) that
    standard normal weights give, so sigmoid and tanh units do not start saturated.

    Args:
        shape: (fan_out, fan_in), or (n,) for a vector.
        rng: None, an int seed or a numpy Generator.

    Returns:
        A float64 array of ``shape``.

    Example:
        >>> from tinygrad_edu.nn.init import normal_fan_in
        >>> w = normal_fan_in((2000, 100), rng=0)
        >>> round(float(w.std()), 2)   # 1 / sqrt(100)
        0.1
    """
    dims, fan_in, _ = _positive_fans(shape, "normal_fan_in")
    return as_generator(rng).normal(0.0, 1.0 / math.sqrt(fan_in), size=dims)


def xavier_uniform(shape: Any, rng: Any = None) -> np.ndarray:
    """W_ij ~ U(-r, r) with r = sqrt(6 / (fan_in + fan_out)) (Xavier/Glorot, as in the notes).

    Var(W_ij) = r^2 / 3 = 2 / (fan_in + fan_out): the compromise between keeping forward
    activations (fan_in) and backpropagated deltas (fan_out) at constant variance. Meant for
    sigmoid and tanh units.

    Example:
        >>> from tinygrad_edu.nn.init import xavier_uniform
        >>> w = xavier_uniform((20, 10), rng=0)
        >>> bool(abs(w).max() <= (6 / 30) ** 0.5)
        True
    """
    dims, fan_in, fan_out = _positive_fans(shape, "xavier_uniform")
    r = math.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(rng).uniform(-r, r, size=dims)


def xavier_normal(shape: Any, rng: Any = None) -> np.ndarray:
    """W_ij ~ N(0, 2 / (fan_in + fan_out)): Xavier's variance with a normal distribution.

    Example:
        >>> from tinygrad_edu.nn.init import xavier_normal
        >>> round(float(xavier_normal((1000, 1000), rng=0).std()), 3)   # sqrt(2 / 2000)
        0.032
    """
    dims, fan_in, fan_out = _positive_fans(shape, "xavier_normal")
    return as_generator(rng).normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=dims)


def he_normal(shape: Any, rng: Any = None) -> np.ndarray:
    """W_ij ~ N(0, 2 / fan_in) (He et al. 2015): for ReLU units.

    A ReLU passes on about half of its inputs' variance, so the weights get twice the
    1/fan_in variance of :func:`normal_fan_in` to keep the activations' scale across layers.

    Example:
        >>> from tinygrad_edu.nn.init import he_normal
        >>> round(float(he_normal((4000, 50), rng=0).std()), 2)   # sqrt(2 / 50)
        0.2
    """
    dims, fan_in, _ = _positive_fans(shape, "he_normal")
    return as_generator(rng).normal(0.0, math.sqrt(2.0 / fan_in), size=dims)


def standard_normal(shape: Any, rng: Any = None) -> np.ndarray:
    """W_ij ~ N(0, 1), whatever the fans: the naive scheme the initialisation notes warn against.

    With 1000 inputs equal to 1, z = sum_j W_j + b has std sqrt(1001) ~ 31.6, deep in the
    saturated region of sigmoid and tanh. Kept to reproduce that experiment.

    Example:
        >>> from tinygrad_edu.nn.init import standard_normal
        >>> standard_normal((2, 3), rng=0).shape
        (2, 3)
    """
    dims = _shape(shape, "standard_normal")
    return as_generator(rng).standard_normal(dims)


def zeros(shape: Any, rng: Any = None) -> np.ndarray:
    """All zeros (``rng`` is ignored). Fine for biases; for weights every unit of a layer
    would stay identical forever (the weight-space symmetry of the notes), so do not use it there.

    Example:
        >>> from tinygrad_edu.nn.init import zeros
        >>> zeros((2,)).tolist()
        [0.0, 0.0]
    """
    return np.zeros(_shape(shape, "zeros"), dtype=np.float64)


# ----------------------------------------------------------------------------- by name

INITIALIZERS: dict[str, Initializer] = {
    "fan_in": normal_fan_in,
    "normal_fan_in": normal_fan_in,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_normal": he_normal,
    "standard_normal": standard_normal,
    "zeros": zeros,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """The initialiser named ``init`` (a key of :data:`INITIALIZERS`), or ``init`` if callable.

    Raises:
        InvalidArgumentError: for an unknown name, listing the valid ones.

    Example:
        >>> from tinygrad_edu.nn.init import get_initializer
        >>> get_initializer("fan_in").__name__
        'normal_fan_in'
    """
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    valid = ", ".join(repr(name) for name in INITIALIZERS)
    raise InvalidArgumentError(
        f"init: unknown initialiser {init!r}; use one of {valid}, or a function "
        "f(shape, rng) -> array"
    )
