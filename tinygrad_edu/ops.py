"""Every primitive operation: its forward computation and its vector-Jacobian product, side by side.

Notation, as in the course notes: the operation computes ``z = f(x, ...)``; ``g = dL/dz`` is the
gradient arriving from above (the backpropagated error delta); each backward returns ``dL/dx``
for every input. Where an input was broadcast, the formula may return the gradient in the
output's shape: the engine sums it back (``broadcast.unbroadcast``).

A backward formula sees numpy arrays in an ordinary backward pass and Tensors when the pass is
recorded (``create_graph=True``), so it is written with operators, numpy ufuncs and other
Functions' ``apply`` only. Local derivatives that are piecewise constant (masks, signs) are
taken from the values with :func:`_value` and treated as constants, exactly as the second
derivative requires (their own derivative is zero almost everywhere).

Composite operations (mean, var, softmax's callers, hardtanh, stack, losses, layers) live in
``tensor.py`` and beyond and are written with these primitives, needing no backward of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import Function
from .tensor import Tensor

BROADCAST = (
    "numpy broadcasting aligns shapes from the right: each dimension must be equal or 1 "
    "(reshape or unsqueeze one operand, e.g. b.reshape(-1, 1), to line them up)"
)

def _value(v: Any) -> Any:
    """The numpy value of a formula's operand, to build a constant (a mask, a sign) from it."""
    return v.data if isinstance(v, Tensor) else v


# ----------------------------------------------------------------------------- arithmetic


class Add(Function):
    """z = x + y.

    VJP: dL/dx = g,  dL/dy = g
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x + y

    def backward(self, g, out, x, y):
        return g, g


class Sub(Function):
    """z = x - y.

    VJP: dL/dx = g,  dL/dy = -g
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x - y

    def backward(self, g, out, x, y):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y (elementwise).

    VJP: dL/dx = g * y,  dL/dy = g * x
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        return (g * y if need_x else None), (g * x if need_y else None)


class Div(Function):
    """z = x / y.

    VJP: dL/dx = g / y,  dL/dy = -g * x / y^2 = -g * z / y
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x / y

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        return (g / y if need_x else None), (-g * out / y if need_y else None)


class Pow(Function):
    """z = x ** y (y a number or a tensor).

    VJP: dL/dx = g * y * x^(y-1),  dL/dy = g * z * ln(x)
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x**y

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        gx = g * y * x ** (y - 1) if need_x else None
        gy = g * out * np.log(x) if need_y else None
        return gx, gy


class Neg(Function):
    """z = -x.

    VJP: dL/dx = -g
    """

    elementwise = True

    def forward(self, x):
        return -x

    def backward(self, g, out, x):
        return -g


class Maximum(Function):
    """z = max(x, y) elementwise; where x == y the gradient is split equally.

    VJP: dL/dx = g * [x > y] + g/2 * [x == y],  dL/dy = g * [y > x] + g/2 * [x == y]
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        self.share_x = _tie_share(x > y, x == y, np.result_type(x, y))
        return np.maximum(x, y)

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        return (g * self.share_x if need_x else None), (g * (1 - self.share_x) if need_y else None)


class Minimum(Function):
    """z = min(x, y) elementwise; where x == y the gradient is split equally.

    VJP: dL/dx = g * [x < y] + g/2 * [x == y],  dL/dy = g * [y < x] + g/2 * [x == y]
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        self.share_x = _tie_share(x < y, x == y, np.result_type(x, y))
        return np.minimum(x, y)

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        return (g * self.share_x if need_x else None), (g * (1 - self.share_x) if need_y else None)


def _tie_share(wins: Any, ties: Any, dtype: Any) -> np.ndarray:
    """The share of the gradient that goes to x: 1 where x wins, 1/2 on ties, 0 where y wins."""
    return (wins + ties * np.asarray(0.5, dtype=dtype)).astype(dtype, copy=False)


# ----------------------------------------------------------------------------- elementwise


class Exp(Function):
    """z = e^x.

    VJP: dL/dx = g * e^x = g * z
    """

    elementwise = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, out, x):
        return g * out


class Log(Function):
    """z = ln(x).

    VJP: dL/dx = g / x
    """

    elementwise = True

    def forward(self, x):
        return np.log(x)

    def backward(self, g, out, x):
        return g / x


class Sqrt(Function):
    """z = sqrt(x).

    VJP: dL/dx = g / (2 sqrt(x)) = g / (2 z)
    """

    elementwise = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g, out, x):
        return g / (2 * out)


class Abs(Function):
    """z = |x|.

    VJP: dL/dx = g * sign(x)   (0 at x = 0, a subgradient of the kink)
    """

    elementwise = True

    def forward(self, x):
        return np.abs(x)

    def backward(self, g, out, x):
        return g * np.sign(_value(x))


class Clip(Function):
    """z = min(max(x, lo), hi).

    VJP: dL/dx = g * [lo <= x <= hi]   (1 on the closed interval, as PyTorch's clamp)
    """

    elementwise = True

    def forward(self, x, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        return np.clip(x, lo, hi)

    def backward(self, g, out, x):
        x = _value(x)
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return g * inside


class Hardtanh(Clip):
    """z = hardtanh(x) = min(max(x, -1), 1).

    VJP: dL/dx = g * [-1 <= x <= 1]
    """

    def forward(self, x):
        return super().forward(x, -1.0, 1.0)


# ----------------------------------------------------------------------------- activations


class Relu(Function):
    """z = relu(x) = max(x, 0).

    VJP: dL/dx = g * [x > 0]   (0 at the kink x = 0)
    """

    elementwise = True

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        return g * (_value(x) > 0)


class LeakyRelu(Function):
    """z = x for x > 0, slope * x otherwise.

    VJP: dL/dx = g * (1 if x > 0 else slope)
    """

    elementwise = True

    def forward(self, x, slope=0.01):
        self.slope = slope
        return np.where(x > 0, x, x * slope)

    def backward(self, g, out, x):
        x = _value(x)
        return g * np.where(x > 0, 1.0, self.slope).astype(x.dtype)


class Sigmoid(Function):
    """z = sigma(x) = 1 / (1 + e^-x), computed without overflow for large |x|.

    VJP: dL/dx = g * sigma(x) (1 - sigma(x)) = g * z (1 - z)
    """

    elementwise = True

    def forward(self, x):
        e = np.exp(-np.abs(x))  # never overflows; the two branches are the same function
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, g, out, x):
        return g * out * (1 - out)


class Tanh(Function):
    """z = tanh(x).

    VJP: dL/dx = g * (1 - tanh(x)^2) = g * (1 - z^2)
    """

    elementwise = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, out, x):
        return g * (1 - out * out)


class Softsign(Function):
    """z = x / (1 + |x|).

    VJP: dL/dx = g / (1 + |x|)^2
    """

    elementwise = True

    def forward(self, x):
        return x / (1 + np.abs(x))

    def backward(self, g, out, x):
        d = 1 + np.abs(x)
        return g / (d * d)


class Softmax(Function):
    """z = softmax(x) along ``axis``: z_i = e^(x_i - m) / sum_j e^(x_j - m), m = max_j x_j.

    Subtracting the maximum changes nothing mathematically and keeps e^(.) finite for logits of
    any size. VJP: dL/dx = z * (g - sum_j g_j z_j)
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def backward(self, g, out, x):
        return out * (g - (g * out).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """z = log softmax(x) along ``axis``: z_i = x_i - m - ln sum_j e^(x_j - m), m = max_j x_j.

    Finite for logits of any size. VJP: dL/dx = g - softmax(x) * sum_j g_j = g - e^z * sum_j g_j
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(self, g, out, x):
        return g - np.exp(out) * g.sum(axis=self.axis, keepdims=True)


# ----------------------------------------------------------------------------- linear algebra


class Matmul(Function):
    """z = x @ y for x of shape (..., n, k) and y of shape (..., k, m), batch dims broadcast.

    VJP: dL/dx = g @ y^T,  dL/dy = x^T @ g   (transposing the last two axes)

    ``Tensor.matmul`` turns 1-D operands into matrices before calling this and back after.
    """

    shape_hint = "Batch dimensions (all but the last two) broadcast as elementwise ones do."

    def forward(self, x, y):
        return x @ y

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        gx = g @ y.swapaxes(-1, -2) if need_x else None
        gy = x.swapaxes(-1, -2) @ g if need_y else None
        return gx, gy


class Linear(Function):
    """z = x W^T + b: a fully connected layer, the batch in rows (the course's z = W x + b).

    x has shape (..., in), W (out, in), b (out,) or None. One fused operation instead of
    transpose, matmul and add: fewer nodes, no broadcast to undo, row-major gradients.

    VJP: dL/dx = g W,  dL/dW = g^T x,  dL/db = sum of g over the samples
    """

    def forward(self, x, w, b=None):
        out = x @ w.T
        if b is not None:
            out += b  # out is a new array: adding in place saves one allocation
        return out

    def backward(self, g, out, x, w, b=None):
        need = self.needs_input_grad
        gx = g @ w if need[0] else None
        need_w, need_b = need[1], len(need) > 2 and need[2]
        if not (need_w or need_b):
            return gx, None, None
        g2 = g.reshape((-1, g.shape[-1]))  # every sample, whatever the leading axes
        gw = g2.T @ x.reshape((-1, x.shape[-1])) if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gw, gb


class SoftmaxCrossEntropy(Function):
    """z_n = -log softmax(x_n)[y_n] = logsumexp(x_n) - x_n[y_n] for each row n of logits x.

    The labels y (integer class indices) are constants. Fused, so that the gradient is the
    famous softmax minus one-hot in one step, and finite for logits of any size.

    VJP: dL/dx_n = g_n (softmax(x_n) - onehot(y_n))
    """

    def forward(self, x, labels=None):
        self.labels = labels
        m = x.max(axis=-1, keepdims=True)
        e = np.exp(x - m)
        total = e.sum(axis=-1, keepdims=True)
        self.probs = e / total
        rows = np.arange(x.shape[0])
        return (np.log(total) + m)[:, 0] - x[rows, labels]

    def backward(self, g, out, x):
        # When the backward pass is recorded, softmax must be a recorded operation too, so
        # that the second derivative sees it; otherwise the forward's probabilities serve.
        p = Softmax.apply(x, axis=-1) if isinstance(x, Tensor) else self.probs
        onehot = np.zeros(p.shape, dtype=p.dtype)
        onehot[np.arange(p.shape[0]), self.labels] = 1
        return (p - onehot) * g.reshape((-1, 1))


class MeanSquaredError(Function):
    """L = (1/n) sum_i (y_i - t_i)^2 over all n elements: ``mse_loss``'s mean as one node.

    One node instead of four (Sub, Mul, Sum, Div): W1's eager step went from 0.173 to 0.133 ms
    (3.15-3.72x -> 2.89x of the numpy reference, two interleaved runs each). The value and the
    gradient are computed in the order the four nodes would, so they have the same bits.

    VJP: dL/dy = 2 g (y - t) / n,  dL/dt = -2 g (y - t) / n
    """

    def forward(self, y, t):
        self.diff = y - t
        return np.asarray((self.diff * self.diff).sum() / self.diff.size)

    def backward(self, g, out, y, t):
        # Recorded (create_graph=True): y - t again, as a recorded operation.
        d = y - t if isinstance(y, Tensor) or isinstance(t, Tensor) else self.diff
        s = g / d.size * d
        gy = s + s  # (g/n) d + (g/n) d: the product's two VJPs, added
        return gy, (-gy if self.needs_input_grad[1] else None)


# ----------------------------------------------------------------------------- reductions


class Sum(Function):
    """z = sum of x over ``axis`` (a tuple of non-negative axes, or None for all).

    VJP: dL/dx = g broadcast back over the summed axes (every summand receives g)
    """

    def forward(self, x, axis=None, keepdims=False):
        self.in_shape = x.shape
        out = x.sum(axis=axis, keepdims=True)
        self.kept_shape = out.shape
        return out if keepdims else out.reshape(_drop_axes(x.shape, axis))

    def backward(self, g, out, x):
        return Expand.apply(g.reshape(self.kept_shape), shape=self.in_shape)


class Max(Function):
    """z = max of x over ``axis``; ties share the gradient equally.

    VJP: dL/dx_i = g * [x_i = z] / (number of maximal elements)
    """

    pick = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        best = self.pick(x, axis=axis, keepdims=True)
        self.kept_shape = best.shape
        hits = x == best
        self.share = hits / hits.sum(axis=axis, keepdims=True, dtype=x.dtype)
        return best if keepdims else best.reshape(_drop_axes(x.shape, axis))

    def backward(self, g, out, x):
        return g.reshape(self.kept_shape) * self.share


class Min(Max):
    """z = min of x over ``axis``; ties share the gradient equally.

    VJP: dL/dx_i = g * [x_i = z] / (number of minimal elements)
    """

    pick = staticmethod(np.min)


def _drop_axes(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)


# ----------------------------------------------------------------------------- shape and indexing


class Reshape(Function):
    """z = x with a new shape (same elements, same order).

    VJP: dL/dx = g reshaped to x's shape
    """

    view = True
    shape_hint = "The new shape must hold as many elements (one -1 may be inferred)."

    def forward(self, x, shape=()):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g, out, x):
        return g.reshape(self.in_shape)


class Transpose(Function):
    """z = x with its axes permuted: z.shape[i] = x.shape[axes[i]].

    VJP: dL/dx = g permuted by the inverse permutation
    """

    view = True

    def forward(self, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else axes
        self.inverse = tuple(int(i) for i in np.argsort(axes))
        return x.transpose(axes)

    def backward(self, g, out, x):
        return g.transpose(self.inverse)


class Expand(Function):
    """z = x broadcast to ``shape`` (a read-only view: nothing is copied).

    VJP: dL/dx = g summed over the broadcast axes, which the engine does for every operation
    """

    view = True
    shape_hint = (
        "Each dimension must be 1 (to be repeated) or equal the target's; new axes go first."
    )

    def forward(self, x, shape=()):
        if int(np.prod(shape)) <= 4096:
            # Small: a filled array costs less than np.broadcast_to's Python-level setup (this
            # runs in every Sum's backward, e.g. of a mean loss).
            out = np.empty(shape, dtype=np.result_type(x))
            out[...] = x
            return out
        return np.broadcast_to(x, shape)  # large: a read-only view, nothing is copied

    def backward(self, g, out, x):
        return g


class Cast(Function):
    """z = x converted to another floating dtype.

    VJP: dL/dx = g, converted back to x's dtype (the engine matches every gradient's dtype)
    """

    def forward(self, x, dtype=None):
        return x.astype(dtype)

    def backward(self, g, out, x):
        return g


class GetItem(Function):
    """z = x[index] (basic slices, integers, integer and boolean arrays).

    VJP: dL/dx = zeros like x with g added at ``index`` (repeated indices add up)
    """

    def forward(self, x, index=None):
        self.index, self.in_shape = index, x.shape
        self.view = _is_basic_index(index)  # numpy returns a view only for basic indexing
        return x[index]

    def backward(self, g, out, x):
        return ScatterAdd.apply(g, index=self.index, shape=self.in_shape)


class ScatterAdd(Function):
    """z = zeros(shape) with x added at ``index``: the adjoint of ``GetItem``.

    VJP: dL/dx = g[index]
    """

    def forward(self, x, index=None, shape=()):
        self.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic_index(index):
            out[index] = x  # a basic index selects each element at most once
        else:
            np.add.at(out, index, x)
        return out

    def backward(self, g, out, x):
        return g[self.index]


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts
    )


class Concatenate(Function):
    """z = the inputs joined along ``axis`` (a non-negative axis).

    VJP: dL/dx_k = the slice of g that x_k occupies
    """

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([0] + [x.shape[axis] for x in xs]).tolist()
        return np.concatenate(xs, axis=axis)

    def backward(self, g, out, *xs):
        head = (slice(None),) * self.axis
        return tuple(
            g[head + (slice(lo, hi),)] if need else None
            for lo, hi, need in zip(self.bounds, self.bounds[1:], self.needs_input_grad)
        )


class Where(Function):
    """z = x where cond else y (cond a boolean array, not differentiated).

    VJP: dL/dx = g * [cond],  dL/dy = g * [not cond]
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y, cond=None):
        self.cond = cond
        return np.where(cond, x, y)

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        return (g * self.cond if need_x else None), (g * ~self.cond if need_y else None)
