"""Calculus on functions: gradients, Jacobians, Hessians and Hessian-vector products.

Each helper takes a Python function of Tensors, accepts numpy arrays or Tensors as the point,
and returns numpy arrays. They never touch ``.grad`` of the caller's tensors: each evaluates at
fresh leaf tensors that share the caller's data. Second derivatives come from differentiating
the recorded backward pass (``create_graph=True``); no derivative formula is written here.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.functional import grad, hessian
    >>> f = lambda x: (x ** 3).sum()
    >>> grad(f)(np.array([1.0, 2.0])).tolist()
    [3.0, 12.0]
    >>> hessian(f, np.array([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import autograd
from .autograd import enable_grad
from .checks import REAL_KINDS
from .errors import IndexingError, ShapeError
from .tensor import Tensor

Fn = Callable[..., Any]


def _leaf(x: Any) -> Tensor:
    """A fresh leaf requiring grad, sharing the caller's data when it is a float array."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data, requires_grad=True)


def _constant(x: Any) -> Any:
    """An argument that is not differentiated: numpy arrays and floats become constant
    Tensors (arrays keep their dtype and memory), so ``f`` may call Tensor methods on them.
    Ints, strings and other objects (counts, options) pass as they are."""
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in REAL_KINDS:
        return Tensor(x, dtype=x.dtype)
    if isinstance(x, float):
        return Tensor(x)
    return x


def _as_output(out: Any, op: str, scalar: bool) -> Tensor:
    if not isinstance(out, Tensor):
        out = Tensor(out)
    if scalar and out.size != 1:
        raise ShapeError(
            f"{op}: the function must return a single number (a one-element tensor); it "
            f"returned shape {out.shape}. Reduce it, e.g. with .sum(), or use jacobian()."
        )
    return out


def _gradients(out: Tensor, leaves: list[Tensor], **kwargs: Any) -> list[Any]:
    """d out / d leaves; zeros when ``out`` does not depend on them at all."""
    if not out.requires_grad:
        zeros = [np.zeros_like(t.data) for t in leaves]
        return [Tensor(z) for z in zeros] if kwargs.get("create_graph") else zeros
    return autograd.grad(out, leaves, **kwargs)


def value_and_grad(f: Fn, argnums: int | tuple[int, ...] = 0) -> Fn:
    """Return a function computing ``(f(*args), gradient of f)`` for scalar ``f``.

    Args:
        f: a function of Tensors returning a one-element Tensor.
        argnums: which positional argument(s) to differentiate; a tuple gives a tuple of
            gradients. The other arguments reach ``f`` as constant Tensors when they are
            numpy arrays or floats (Tensors, ints and other objects as they are), so ``f``
            may use Tensor methods on them.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.functional import value_and_grad
        >>> value, g = value_and_grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(
        ...     np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        >>> value, g[0].tolist(), g[1].tolist()
        (11.0, [3.0, 4.0], [1.0, 2.0])
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        for i in nums:
            if not -len(args) <= i < len(args):
                raise IndexingError(
                    f"value_and_grad: argnums {argnums} asks for argument {i}, but the "
                    f"function was called with {len(args)} positional arguments"
                )
        call = [_constant(a) for a in args]
        for i in nums:
            call[i] = _leaf(args[i])
        with enable_grad():
            out = _as_output(f(*call, **kwargs), "grad", scalar=True)
        grads = _gradients(out, [call[i] for i in nums])
        return out.item(), grads[0] if isinstance(argnums, int) else tuple(grads)

    return value_and_grad_f


def grad(f: Fn, argnums: int | tuple[int, ...] = 0) -> Fn:
    """Return a function computing the gradient of scalar ``f`` (numpy arrays).

    Arguments not in ``argnums`` reach ``f`` as constant Tensors (see :func:`value_and_grad`).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.functional import grad
        >>> grad(lambda w: (w * w).sum())(np.array([3.0, -1.0])).tolist()
        [6.0, -2.0]
        >>> grad(lambda w, y: (w * y.tanh()).sum())(np.array([1.0]), np.array([0.0])).tolist()
        [0.0]
    """
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def jacobian(f: Fn, x: Any) -> np.ndarray:
    """The Jacobian d f(x) / d x, of shape ``f(x).shape + x.shape``.

    One backward pass per output element, each with a one-hot upstream gradient (a row of the
    Jacobian is a vector-Jacobian product).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.functional import jacobian
        >>> jacobian(lambda x: x * x, np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    leaf = _leaf(x)
    with enable_grad():
        out = _as_output(f(leaf), "jacobian", scalar=False)
    return _jacobian_of(out, leaf)


def jacobian_rows(out: Tensor, leaves: Sequence[Tensor], dtype: Any = None) -> np.ndarray:
    """The Jacobian of ``out`` with respect to ``leaves``, one backward pass per row.

    Row i is d out_i / d (leaves, flattened and concatenated): the backward pass with the
    one-hot upstream gradient e_i. The graph of ``out`` is kept between passes. Applied to a
    gradient recorded with ``create_graph=True`` it gives the Hessian (:func:`hessian`, and
    the Newton optimiser).

    Args:
        out: a Tensor (any shape; rows in row-major order of its elements).
        leaves: the Tensors to differentiate with respect to (requires_grad=True).
        dtype: of the result (default: numpy's result type of out and the leaves).

    Returns:
        An array of shape (out.size, total size of the leaves); zeros where out does not
        depend on a leaf (or on nothing at all).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.functional import jacobian_rows
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> jacobian_rows(w * w, [w]).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    if dtype is None:
        dtype = np.result_type(out.data, *[leaf.data for leaf in leaves])
    jac = np.zeros((out.size, sum(leaf.size for leaf in leaves)), dtype=dtype)
    if not out.requires_grad:
        return jac
    seed = np.zeros(out.size, dtype=out.dtype)
    for i in range(out.size):
        seed[i] = 1
        row = autograd.grad(out, list(leaves), seed.reshape(out.shape), retain_graph=True)
        seed[i] = 0
        jac[i] = np.concatenate([np.ravel(r.data if isinstance(r, Tensor) else r) for r in row])
    return jac


def _jacobian_of(out: Tensor, leaf: Tensor) -> np.ndarray:
    """Rows d out[i] / d leaf, stacked into shape out.shape + leaf.shape."""
    return jacobian_rows(out, [leaf]).reshape(out.shape + leaf.shape)


def hessian(f: Fn, x: Any) -> np.ndarray:
    """The Hessian of scalar ``f`` at ``x``: shape ``x.shape + x.shape``.

    The gradient is computed with its backward pass recorded, then differentiated again.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.functional import hessian
        >>> hessian(lambda w: (w[0] * w[1]) ** 2, np.array([1.0, 2.0])).tolist()
        [[8.0, 8.0], [8.0, 2.0]]
    """
    leaf = _leaf(x)
    with enable_grad():
        out = _as_output(f(leaf), "hessian", scalar=True)
        g = _gradients(out, [leaf], create_graph=True)[0]
    return _jacobian_of(g, leaf)


def hvp(f: Fn, x: Any, v: Any) -> np.ndarray:
    """The Hessian-vector product H(x) v of scalar ``f``, without forming H.

    d/dx (grad f(x) . v): one backward pass through the recorded gradient computation.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.functional import hvp
        >>> hvp(lambda w: (w ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
    """
    leaf = _leaf(x)
    v = np.asarray(v.data if isinstance(v, Tensor) else v)
    if v.shape != leaf.shape:
        raise ShapeError(f"hvp: v has shape {v.shape} but x has shape {leaf.shape}")
    with enable_grad():
        out = _as_output(f(leaf), "hvp", scalar=True)
        g = _gradients(out, [leaf], create_graph=True)[0]
        gv = (g * v).sum()
    result = _gradients(gv, [leaf])[0]
    return np.asarray(result, dtype=leaf.dtype)
