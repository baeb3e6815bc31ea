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

import math
from typing import Any

import numpy as np

from . import autograd
from .autograd import Function

BROADCAST = (
    "numpy broadcasting aligns shapes from the right: each dimension must be equal or 1 "
    "(reshape or unsqueeze one operand, e.g. b.reshape(-1, 1), to line them up)"
)

def _value(v: Any) -> Any:
    """The numpy value of a formula's operand, to build a constant (a mask, a sign) from it."""
    return v.data if isinstance(v, autograd.Tensor) else v


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
    (at x = 0: dL/dx = 0 where y = 0 and dL/dy = 0 where y >= 0, PyTorch's values)
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return x**y

    def backward(self, g, out, x, y):
        # Masked where x = 0, as PyTorch does: x ** 0 is constant 1 (dL/dx = 0, not 0 * 0^-1
        # = NaN), and x ** y with y >= 0 does not move with y there (dL/dy = 0, not 0 * ln 0).
        # (The masks are built only when a zero is there: x ** 2 keeps numpy's fast square.)
        need_x, need_y = self.needs_input_grad
        gx = gy = None
        if need_x:
            e = y - 1
            if np.any(_value(y) == 0):
                e = e + ((_value(y) == 0) & (_value(x) == 0))  # there: y * x^0 = 0
            gx = g * y * x**e
        if need_y:
            base = x
            if np.any(_value(x) == 0):
                base = x + ((_value(x) == 0) & (_value(y) >= 0))  # there: ln(1) = 0
            gy = g * out * np.log(base)
        return gx, gy


class Mod(Function):
    """z = x mod y = x - y floor(x / y), with the sign of y (Python's and PyTorch's ``%``).

    VJP: dL/dx = g,  dL/dy = -g * floor(x / y)   (floor is piecewise constant)
    """

    elementwise = True
    shape_hint = BROADCAST

    def forward(self, x, y):
        return np.mod(x, y)

    def backward(self, g, out, x, y):
        need_x, need_y = self.needs_input_grad
        gy = -g * np.floor(_value(x) / _value(y)) if need_y else None
        return (g if need_x else None), gy


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


class Log2(Function):
    """z = log2(x).

    VJP: dL/dx = g / (x ln 2)
    """

    elementwise = True

    def forward(self, x):
        return np.log2(x)

    def backward(self, g, out, x):
        return g / (x * math.log(2.0))


class Exp2(Function):
    """z = 2^x.

    VJP: dL/dx = g * 2^x ln 2 = g * z ln 2
    """

    elementwise = True

    def forward(self, x):
        return np.exp2(x)

    def backward(self, g, out, x):
        return g * out * math.log(2.0)


class Log1p(Function):
    """z = ln(1 + x), exact for tiny x.

    VJP: dL/dx = g / (1 + x)
    """

    elementwise = True

    def forward(self, x):
        return np.log1p(x)

    def backward(self, g, out, x):
        return g / (1 + x)


class Expm1(Function):
    """z = e^x - 1, exact for tiny x.

    VJP: dL/dx = g * e^x = g * (z + 1)
    """

    elementwise = True

    def forward(self, x):
        return np.expm1(x)

    def backward(self, g, out, x):
        return g * (out + 1)


class Erf(Function):
    """z = erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt (for the exact GELU).

    VJP: dL/dx = g * 2/sqrt(pi) * e^(-x^2)
    """

    elementwise = True

    def forward(self, x):
        # numpy has no erf; math.erf is exact to the last bit, element by element.
        return np.asarray(_ERF(x), dtype=np.result_type(x, np.float32))

    def backward(self, g, out, x):
        return g * (2 / math.sqrt(math.pi)) * np.exp(-x * x)


_ERF = np.frompyfunc(math.erf, 1, 1)


class Sqrt(Function):
    """z = sqrt(x).

    VJP: dL/dx = g / (2 sqrt(x)) = g / (2 z)
    """

    elementwise = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g, out, x):
        return g / (2 * out)


# Trigonometric and hyperbolic functions.


class Sin(Function):
    """z = sin(x).

    VJP: dL/dx = g * cos(x)
    """

    elementwise = True

    def forward(self, x):
        return np.sin(x)

    def backward(self, g, out, x):
        return g * Cos.apply(x)


class Cos(Function):
    """z = cos(x).

    VJP: dL/dx = -g * sin(x)
    """

    elementwise = True

    def forward(self, x):
        return np.cos(x)

    def backward(self, g, out, x):
        return -g * Sin.apply(x)


class Tan(Function):
    """z = tan(x).

    VJP: dL/dx = g / cos^2(x) = g * (1 + z^2)
    """

    elementwise = True

    def forward(self, x):
        return np.tan(x)

    def backward(self, g, out, x):
        return g * (1 + out * out)


class Sinh(Function):
    """z = sinh(x).

    VJP: dL/dx = g * cosh(x)
    """

    elementwise = True

    def forward(self, x):
        return np.sinh(x)

    def backward(self, g, out, x):
        return g * Cosh.apply(x)


class Cosh(Function):
    """z = cosh(x).

    VJP: dL/dx = g * sinh(x)
    """

    elementwise = True

    def forward(self, x):
        return np.cosh(x)

    def backward(self, g, out, x):
        return g * Sinh.apply(x)


class Arcsin(Function):
    """z = arcsin(x) for -1 < x < 1.

    VJP: dL/dx = g / sqrt(1 - x^2)
    """

    elementwise = True

    def forward(self, x):
        return np.arcsin(x)

    def backward(self, g, out, x):
        return g / np.sqrt(1 - x * x)


class Arccos(Function):
    """z = arccos(x) for -1 < x < 1.

    VJP: dL/dx = -g / sqrt(1 - x^2)
    """

    elementwise = True

    def forward(self, x):
        return np.arccos(x)

    def backward(self, g, out, x):
        return -g / np.sqrt(1 - x * x)


class Arctan(Function):
    """z = arctan(x).

    VJP: dL/dx = g / (1 + x^2)
    """

    elementwise = True

    def forward(self, x):
        return np.arctan(x)

    def backward(self, g, out, x):
        return g / (1 + x * x)


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


# Rounding: piecewise constant, so (as in PyTorch) the gradient is zero everywhere, the jumps
# included. Each returns a result that requires grad, so it can sit inside a graph.


class Floor(Function):
    """z = floor(x), the largest integer <= x.

    VJP: dL/dx = 0
    """

    elementwise = True
    pick = staticmethod(np.floor)

    def forward(self, x):
        return self.pick(x)

    def backward(self, g, out, x):
        zeros = np.zeros(np.shape(g), dtype=_value(g).dtype)
        return autograd.Tensor(zeros) if isinstance(g, autograd.Tensor) else zeros


class Ceil(Floor):
    """z = ceil(x), the smallest integer >= x.

    VJP: dL/dx = 0
    """

    pick = staticmethod(np.ceil)


class Round(Floor):
    """z = x rounded to ``decimals`` places (the nearest integer by default), halves to even
    (as numpy and PyTorch).

    VJP: dL/dx = 0
    """

    def forward(self, x, decimals=0):
        return np.round(x, decimals)


class Trunc(Floor):
    """z = x rounded toward zero.

    VJP: dL/dx = 0
    """

    pick = staticmethod(np.trunc)


class Sign(Floor):
    """z = sign(x): -1, 0 or 1.

    VJP: dL/dx = 0
    """

    pick = staticmethod(np.sign)


# ----------------------------------------------------------------------------- activations


class Relu(Function):
    """z = relu(x) = max(x, 0).

    VJP: dL/dx = g * [x > 0]   (0 at the kink x = 0)
    """

    elementwise = True
    # max(x, 0) again is one cheap pass: releasing ReLU outputs after backward lowers W3's
    # step peak from 1.33x to about 1.16x the hand-written numpy loop's (see Function.recompute).
    recompute = True

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


class Softplus(Function):
    """z = softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|) (finite for any x).

    VJP: dL/dx = g * sigma(x)
    """

    elementwise = True

    def forward(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, g, out, x):
        return g * Sigmoid.apply(x)


class Elu(Function):
    """z = x for x > 0, alpha (e^x - 1) otherwise.

    VJP: dL/dx = g * (1 if x > 0 else alpha e^x = z + alpha)
    """

    elementwise = True

    def forward(self, x, alpha=1.0):
        self.alpha = alpha
        self.positive = x > 0
        # e^min(x, 0): the branch not taken never overflows
        return np.where(self.positive, x, alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, g, out, x):
        pos = self.positive
        return g * (pos + ~pos * (out + self.alpha))


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
        if g.ndim != 2:  # every sample in rows, whatever the leading axes
            # (Skipped for a batch of rows, which is already so: with the shape check of
            # nn.Linear.forward, W1's step 838k -> 808k instructions, -3.7%, callgrind.)
            g = g.reshape((-1, g.shape[-1]))
            x = x.reshape((g.shape[0], x.shape[-1]))  # (not -1: x may hold no numbers)
        gw = g.T @ x if need_w else None
        gb = g.sum(axis=0) if need_b else None
        return gx, gw, gb


class Einsum(Function):
    """z = np.einsum(formula, *xs) for an explicit formula "ij,jk->ik" (letters only).

    VJP: dL/dx_k = einsum of g with every other input, written to x_k's subscripts. A letter
    that x_k repeats (a diagonal, "ii->i") is given a fresh letter joined to it by an identity
    matrix; a letter only x_k has (summed, "ij->i") is given by a vector of ones. So each
    gradient is one einsum, itself differentiable.
    """

    def forward(self, *xs, formula=""):
        self.formula = formula
        return np.einsum(formula, *xs)

    def backward(self, g, out, *xs):
        ins, result = self.formula.split("->")
        subs = ins.split(",")
        sizes = {c: n for s, x in zip(subs, xs) for c, n in zip(s, x.shape)}
        dtype = _value(g).dtype
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            operands = [g] + [x for i, x in enumerate(xs) if i != k]
            terms = [result] + [s for i, s in enumerate(subs) if i != k]
            present = set("".join(terms))
            target, seen = "", set()
            for c in subs[k]:
                if c in seen:  # a repeated letter: a fresh one, tied to c by the identity
                    fresh = next(f for f in _LETTERS if f not in sizes and f not in target)
                    sizes[fresh] = sizes[c]
                    operands.append(np.eye(sizes[c], dtype=dtype))
                    terms.append(c + fresh)
                    target += fresh
                else:
                    seen.add(c)
                    target += c
                    if c not in present:
                        operands.append(np.ones(sizes[c], dtype=dtype))
                        terms.append(c)
            grads.append(Einsum.apply(*operands, formula=",".join(terms) + "->" + target))
        return tuple(grads)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
        p = Softmax.apply(x, axis=-1) if isinstance(x, autograd.Tensor) else self.probs
        onehot = np.zeros(p.shape, dtype=p.dtype)
        onehot[np.arange(p.shape[0]), self.labels] = 1
        return (p - onehot) * g.reshape((-1, 1))


class SoftmaxCrossEntropyMean(Function):
    """L = (1/N) sum_n (logsumexp(x_n) - x_n[y_n]): ``cross_entropy``'s mean as one node.

    One node instead of three (SoftmaxCrossEntropy, Sum, Div), and the backward turns the
    forward's probabilities into the gradient in place instead of building a one-hot array and
    a product: W2's eager step 1,577,148 -> 1,441,375 instructions (callgrind). The value and
    the gradient are computed as the three nodes compute them, so they have the same bits.

    VJP: dL/dx_n = (g / N) (softmax(x_n) - onehot(y_n))
    """

    def forward(self, x, labels=None):
        rows = SoftmaxCrossEntropy.forward(self, x, labels)  # keeps self.labels, self.probs
        return np.asarray(rows.sum() / rows.shape[0])

    def backward(self, g, out, x):
        n = x.shape[0]
        if isinstance(x, autograd.Tensor):  # recorded: softmax as a recorded operation
            onehot = np.zeros(x.shape, dtype=x.dtype)
            onehot[np.arange(n), self.labels] = 1
            return (Softmax.apply(x, axis=-1) - onehot) * (g / n)
        # The probabilities serve this backward only: they become the gradient in place, and
        # this Function lets go of them (it must not keep an array it returns, see Function).
        # Another pass over the graph (retain_graph, a drawing) computes them again.
        p, self.probs = self.probs, None
        if p is None:
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
        p[np.arange(n), self.labels] -= 1  # p - onehot: p - 1 or p - 0, the same numbers
        p *= g / n
        return p


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
        d = y - t if isinstance(y, autograd.Tensor) or isinstance(t, autograd.Tensor) else self.diff
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


class Std(Function):
    """z = sqrt(sum((x - mean)^2) / (n - ddof)) over ``axis`` (a tuple, or None for all).

    VJP: dL/dx = g * (x - mean) / ((n - ddof) z), and 0 where z = 0 (as PyTorch: a constant
    slice, e.g. one element, has no direction to grow in; not 0 / 0)
    """

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        self.axis, self.ddof = axis, ddof
        self.n = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
        d = x - x.mean(axis=axis, keepdims=True)
        out = np.sqrt((d * d).sum(axis=axis, keepdims=True) / (self.n - ddof))
        self.kept_shape = out.shape
        return out if keepdims else out.reshape(_drop_axes(x.shape, axis))

    def backward(self, g, out, x):
        z = out.reshape(self.kept_shape)
        safe = z + (_value(z) == 0)  # where z = 0, x - mean = 0 too: the gradient is 0
        d = x - x.mean(axis=self.axis, keepdims=True)
        return g.reshape(self.kept_shape) * d / ((self.n - self.ddof) * safe)


# Below these |z| (the square root of the smallest normal number), g * z / x may underflow.
_SAFE_DIVISOR = {c: float(np.sqrt(np.finfo(c).tiny)) for c in "efdg"}


class Cumsum(Function):
    """z_i = x_1 + ... + x_i along ``axis``.

    VJP: dL/dx_k = sum over i >= k of g_i   (a cumulative sum of g from the end)
    """

    def forward(self, x, axis=0):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, g, out, x):
        a = self.axis
        return Flip.apply(Cumsum.apply(Flip.apply(g, axis=(a,)), axis=a), axis=(a,))


class Cumprod(Function):
    """z_i = x_1 * ... * x_i along ``axis``.

    VJP: dL/dx_k = sum over i >= k of g_i * prod_{j <= i, j != k} x_j
    = (cumulative sum from the end of g * z)_k / x_k when no z is 0. Where a z is 0 or tiny
    (a zero, an underflow: g * z / x would lose the digits), and in a recorded backward pass
    (whose derivative would divide by x^2), the product that leaves x_k out is formed
    directly: n^2 work along the axis, exact.
    """

    def forward(self, x, axis=0):
        self.axis = axis
        return np.cumprod(x, axis=axis)

    def backward(self, g, out, x):
        a = self.axis
        plain = not isinstance(x, autograd.Tensor)
        if plain and np.all(np.abs(out) >= _SAFE_DIVISOR[out.dtype.char]):
            return Flip.apply(Cumsum.apply(Flip.apply(g * out, axis=(a,)), axis=a), axis=(a,)) / x
        xs, gs = x.swapaxes(a, -1), g.swapaxes(a, -1)  # the axis last: (..., n)
        n = xs.shape[-1]
        eye = np.eye(n, dtype=_value(x).dtype)
        # rows[..., k, j] = x_j, with 1 in place of x_k: its running product leaves x_k out
        rows = xs.reshape(xs.shape[:-1] + (1, n)) * (1 - eye) + eye
        later = np.triu(np.ones((n, n), dtype=bool))  # i >= k
        left_out = Cumprod.apply(rows, axis=rows.ndim - 1) * later
        grad = (left_out * gs.reshape(gs.shape[:-1] + (1, n))).sum(axis=-1)
        return grad.swapaxes(a, -1)


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


class Flip(Function):
    """z = x with the order of its elements reversed along each axis in ``axis`` (a tuple).

    VJP: dL/dx = g flipped along the same axes
    """

    view = True

    def forward(self, x, axis=()):
        self.axis = axis
        return np.flip(x, axis)

    def backward(self, g, out, x):
        return Flip.apply(g, axis=self.axis)


class Roll(Function):
    """z = x shifted cyclically by ``shift`` along ``axis`` (over the flattened x when None).

    VJP: dL/dx = g rolled back by -shift
    """

    def forward(self, x, shift=0, axis=None):
        self.shift, self.axis = shift, axis
        return np.roll(x, shift, axis)

    def backward(self, g, out, x):
        back = tuple(-s for s in self.shift) if isinstance(self.shift, tuple) else -self.shift
        return Roll.apply(g, shift=back, axis=self.axis)


class Pad(Function):
    """z = x surrounded by ``value``: ``widths[i] = (before, after)`` elements on axis i.

    VJP: dL/dx = the part of g where x sits (the padding is a constant)
    """

    def forward(self, x, widths=(), value=0.0):
        self.inside = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    def backward(self, g, out, x):
        return g[self.inside]


class Tile(Function):
    """z = x repeated ``reps[i]`` times along axis i (``len(reps) == x.ndim``; as ``np.tile``).

    VJP: dL/dx = the sum of g over the copies:
    g reshaped to (r_0, n_0, r_1, n_1, ...) and summed over the r axes
    """

    def forward(self, x, reps=()):
        self.split = tuple(d for r, n in zip(reps, x.shape) for d in (r, n))
        return np.tile(x, reps)

    def backward(self, g, out, x):
        copies = tuple(range(0, len(self.split), 2))
        return g.reshape(self.split).sum(axis=copies)


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


# ----------------------------------------------------------------------------- convolution, pooling
#
# A convolution is a matrix product once every receptive field is laid out as a column
# (im2col): ``Im2col`` (and its fast form ``WideIm2col``) copies the windows of an NCHW image
# into matrices and ``Col2im`` (``WideCol2im``) adds such matrices back into an image. Each is
# the other's adjoint, so each one's VJP is the other one, and the backward passes below,
# written with them, matmul and ``ScatterAdd``, are recorded like any formula when
# create_graph=True (second derivatives of convolutions and pooling).


class ConvGeometry:
    """The shape bookkeeping of a window operation on an NCHW image (no data).

    Attributes:
        in_shape: (N, C, H, W) of the input. kernel, stride, padding, dilation: pairs (rows,
        columns). groups: channel groups (the windows of C // groups channels form a column).
        out_hw: (H_out, W_out) = ((H + 2 p - d (k - 1) - 1) // s + 1, likewise for W).
    """

    __slots__ = ("in_shape", "kernel", "stride", "padding", "dilation", "groups", "out_hw")

    def __init__(
        self,
        in_shape: tuple[int, ...],
        kernel: tuple[int, int],
        stride: tuple[int, int] = (1, 1),
        padding: tuple[int, int] = (0, 0),
        dilation: tuple[int, int] = (1, 1),
        groups: int = 1,
    ) -> None:
        self.in_shape = tuple(in_shape)
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.groups = groups
        h, w = self.in_shape[2:]
        self.out_hw = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
        )

    def windows(self, x: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """A read-only view (N, C, H_out, W_out, kh, kw) of every window of x padded with fill."""
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        n, c, _, _ = x.shape
        s = x.strides
        return np.lib.stride_tricks.as_strided(
            x,
            shape=(n, c, *self.out_hw, *self.kernel),
            strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw),
            writeable=False,
        )

    def planes(self, x: np.ndarray, fill: float = 0.0) -> list[np.ndarray]:
        """For each kernel offset (a, b) in row order, the view of x padded with fill that
        offset (a, b) of every window sees: shape (N, C, H_out, W_out) each, nothing copied."""
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        ho, wo = self.out_hw
        rows = [slice(a * dh, a * dh + sh * (ho - 1) + 1, sh) for a in range(self.kernel[0])]
        cols = [slice(b * dw, b * dw + sw * (wo - 1) + 1, sw) for b in range(self.kernel[1])]
        return [x[:, :, r, c] for r in rows for c in cols]

    def wide(self) -> bool:
        """Whether ``WideIm2col`` applies: a column stride of 1."""
        return self.stride[1] == 1

    def padded_width(self) -> int:
        """W_p = W + 2 p_w, the width of a padded row."""
        return self.in_shape[3] + 2 * self.padding[1]

    def flat_padded(self, x: np.ndarray) -> np.ndarray:
        """x zero-padded, with one more row of zeros below, each channel flattened: (N, C,
        (H_p + 1) W_p). The extra row holds what the last window's wrapped columns read."""
        (ph, pw) = self.padding
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph + 1), (pw, pw)))
        return padded.reshape(*x.shape[:2], -1)

    def tiles(self) -> bool:
        """Whether the windows lie side by side without overlap or padding (stride = kernel)."""
        return (
            self.stride == self.kernel
            and self.padding == (0, 0)
            and (self.dilation == (1, 1) or self.kernel == (1, 1))
        )

    def rows_shape(self) -> tuple[int, int, int, int]:
        """The shape of the im2col matrices: (N, groups, C // groups * kh * kw, H_out * W_out)."""
        n, c = self.in_shape[:2]
        ho, wo = self.out_hw
        kh, kw = self.kernel
        return n, self.groups, c // self.groups * kh * kw, ho * wo


class Im2col(Function):
    """z = the windows of x as columns, one (K, P) matrix per sample and group:
    z[n, g, (c, a, b), (i, j)] = x_pad[n, g C/G + c, i s + a d, j s + b d], shape
    (N, G, K = C/G kh kw, P = H_out W_out) (``geom`` a :class:`ConvGeometry`).

    Linear in x; its adjoint is ``Col2im``. VJP: dL/dx = col2im(g) (each element of x collects
    g from every window that holds it)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        # One copy, from (n, c, i, j, a, b) windows into (n, c, a, b, i, j) order: it runs
        # along output rows (W_out elements), not along a window's few (kw).
        cols = np.ascontiguousarray(geom.windows(x).transpose(0, 1, 4, 5, 2, 3))
        return cols.reshape(geom.rows_shape())

    def backward(self, g, out, x):
        return Col2im.apply(g, geom=self.geom)


class Col2im(Function):
    """z = an image of ``geom.in_shape`` with every entry of the columns x added where it came
    from: the adjoint of ``Im2col`` (overlapping windows add up; padding is dropped).

    VJP: dL/dx = im2col(g)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        n, c, h, w = geom.in_shape
        ho, wo = geom.out_hw
        kh, kw = geom.kernel
        (ph, pw), (sh, sw), (dh, dw) = geom.padding, geom.stride, geom.dilation
        cols = x.reshape(n, c, kh, kw, ho, wo)
        if geom.tiles():  # windows side by side, no overlap (pooling): each offset is written
            covered = (ho * kh, wo * kw) == (h, w)
            image = (np.empty if covered else np.zeros)((n, c, h, w), dtype=x.dtype)
            for a in range(kh):
                for b in range(kw):
                    image[:, :, a : ho * kh : kh, b : wo * kw : kw] = cols[:, :, a, b]
            return image
        image = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        # A loop over the kh * kw kernel offsets (not over pixels): each adds one strided plane.
        for a in range(kh):
            for b in range(kw):
                image[:, :, a * dh : a * dh + sh * (ho - 1) + 1 : sh,
                      b * dw : b * dw + sw * (wo - 1) + 1 : sw] += cols[:, :, a, b]  # fmt: skip
        if ph or pw:
            return image[:, :, ph : ph + h, pw : pw + w].copy()
        return image

    def backward(self, g, out, x):
        return Im2col.apply(g, geom=self.geom)


class WideIm2col(Function):
    """Im2col for unit column stride, with rows as wide as the padded image: the fast layout.

    Flatten each padded channel (H_p, W_p) into one row of H_p W_p values (plus one row of
    zeros). The kernel offset (a, b) of output pixel (i, j) reads position (i s + a d) W_p +
    j + b d, so for j running over a whole padded row, 0 <= j < W_p, the values offset (a, b)
    reads are H_out runs of W_p consecutive elements (one run when s = 1), which copy fast.
    The columns j >= W_out read a wrapped-around neighbour: they are padding of the layout,
    whose results ``Conv2d`` drops and whose gradients it sets to zero.

    z[n, g, (c, a, b), (i, j)] = x_flat[n, g C/G + c, (i s + a d) W_p + j + b d], shape
    (N, G, K = C/G kh kw, L = H_out W_p). Linear; VJP: dL/dx = wide_col2im(g)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        flat = geom.flat_padded(x)
        n, c, _ = flat.shape
        kh, kw = geom.kernel
        ho, wp = geom.out_hw[0], geom.padded_width()
        (dh, dw), sh = geom.dilation, geom.stride[0]
        e = flat.strides[2]
        view = np.lib.stride_tricks.as_strided(
            flat,
            shape=(n, c, kh, kw, ho, wp),
            strides=(flat.strides[0], flat.strides[1], dh * wp * e, dw * e, sh * wp * e, e),
            writeable=False,
        )
        return np.ascontiguousarray(view).reshape(n, geom.groups, -1, ho * wp)

    def backward(self, g, out, x):
        return WideCol2im.apply(g, geom=self.geom)


class WideCol2im(Function):
    """The adjoint of ``WideIm2col``: every entry of the wide columns x added back at the
    position it was read from (overlapping windows add up; padding is dropped).

    VJP: dL/dx = wide_im2col(g)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        n, c, h, w = geom.in_shape
        kh, kw = geom.kernel
        ho, wp = geom.out_hw[0], geom.padded_width()
        (dh, dw), sh = geom.dilation, geom.stride[0]
        (ph, pw) = geom.padding
        hp = h + 2 * ph
        cols = x.reshape(n, c, kh, kw, ho, wp)
        flat = np.zeros((n, c, (hp + 1) * wp), dtype=x.dtype)
        e = flat.strides[2]
        # A loop over the kh * kw kernel offsets (not over pixels): each adds H_out runs of W_p.
        for a in range(kh):
            for b in range(kw):
                start = a * dh * wp + b * dw
                target = np.lib.stride_tricks.as_strided(
                    flat[:, :, start:],
                    shape=(n, c, ho, wp),
                    strides=(flat.strides[0], flat.strides[1], sh * wp * e, e),
                )
                target += cols[:, :, a, b]
        image = flat[:, :, : hp * wp].reshape(n, c, hp, wp)
        return image[:, :, ph : ph + h, pw : pw + w]  # a view into the buffer made here

    def backward(self, g, out, x):
        return WideIm2col.apply(g, geom=self.geom)


class Conv2d(Function):
    """z = conv2d(x, W) + b, NCHW, as PyTorch's F.conv2d (a cross-correlation):

        z[n, o, i, j] = b[o] + sum_{c, a, b'} W[o, c, a, b'] x_pad[n, G(o) C/G + c, i s + a d,
                                                                   j s + b' d]

    x (N, C, H, W), W (O, C/G, kh, kw), b (O,) or None; G groups each map C/G channels to O/G.
    With X_ng = im2col(x) for sample n and group g, a (K, P) matrix (K = C/G kh kw rows of
    the receptive fields' elements, one column per output pixel), and W_g the weight of group
    g as an (O/G, K) matrix, the convolution is the matrix product Z_ng = W_g X_ng: sample n's
    output maps of group g, (O/G, P).

    VJP (G_ng = g of sample n and group g as an (O/G, P) matrix):
        dL/dx = col2im(W_g^T G_ng),  dL/dW_g = sum_n G_ng X_ng^T,  dL/db = sum of g over n, i, j

    With a column stride of 1 the columns are ``WideIm2col``'s (one per pixel of a padded row;
    the extra ones are dropped from Z and get a zero gradient), otherwise ``Im2col``'s.
    """

    def forward(self, x, w, b=None, geom=None):
        self.geom = geom
        groups = geom.groups
        n, o = x.shape[0], w.shape[0]
        wg = w.reshape(groups, o // groups, -1)
        if geom.wide():
            self.cols = cols = WideIm2col.apply(x, geom=geom)  # (N, G, K, H_out W_p)
            z = (wg @ cols).reshape(n, o, geom.out_hw[0], -1)
            out = np.ascontiguousarray(z[..., : geom.out_hw[1]])
        else:
            self.cols = cols = Im2col.apply(x, geom=geom)  # (N, G, K, P)
            out = (wg @ cols).reshape((n, o, *geom.out_hw))
        if b is not None:
            out += b.reshape(-1, 1, 1)
        return out

    def backward(self, g, out, x, w, b=None):
        need = self.needs_input_grad
        geom = self.geom
        groups = geom.groups
        n, o, ho, wo = g.shape
        og = o // groups
        wg = w.reshape(groups, og, -1)
        if geom.wide():  # g as (N, G, O/G, H_out W_p), zero in the extra columns
            shape = (n, o, ho, geom.padded_width())
            gz = ScatterAdd.apply(g, index=(Ellipsis, slice(0, wo)), shape=shape)
            gz = gz.reshape(n, groups, og, -1)
            to_image, rows = WideCol2im, WideIm2col
        else:  # g as (N, G, O/G, P)
            gz = g.reshape(n, groups, og, -1)
            to_image, rows = Col2im, Im2col
        gx = gw = gb = None
        if need[0]:
            gx = to_image.apply(wg.swapaxes(1, 2) @ gz, geom=geom)
        if need[1]:
            # Recorded pass: the columns must come from x by a recorded Function, for d/dx
            # of dL/dW.
            recorded = isinstance(x, autograd.Tensor) and x.requires_grad
            cols = rows.apply(x, geom=geom) if recorded else self.cols
            gw = (gz @ cols.swapaxes(2, 3)).sum(axis=0).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb


class MaxPool2d(Function):
    """z[n, c, i, j] = the largest element of window (i, j) of channel c (padding is -inf).

    The gradient of each window goes to its maximal element; on a tie, to the first (in row
    order), as PyTorch does. With the position of each maximum as a one-hot mask E over the
    window (a constant), VJP: dL/dx = col2im(E * g)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        # Elementwise over the kh * kw offset planes (a loop over the kernel, not the pixels).
        planes = geom.planes(x, fill=-np.inf)
        out = planes[0].copy()
        for plane in planes[1:]:
            np.maximum(out, plane, out=out)
        taken = np.zeros(out.shape, dtype=bool)
        firsts = []
        for plane in planes:  # the first offset holding the maximum wins
            first = (plane == out) & ~taken
            taken |= first
            firsts.append(first)
        n, c = x.shape[:2]
        # Im2col's layout for groups = C: (N, C, K = kh kw, P = H_out W_out); booleans, which
        # the product with g reads as 0 and 1.
        self.mask = np.stack(firsts, axis=2).reshape(n, c, len(planes), -1)
        return out

    def backward(self, g, out, x):
        n, c = self.geom.in_shape[:2]
        return Col2im.apply(g.reshape(n, c, 1, -1) * self.mask, geom=self.geom)


class AvgPool2d(Function):
    """z[n, c, i, j] = the mean of window (i, j) of channel c, zero padding counted (PyTorch's
    count_include_pad=True): z = (1 / (kh kw)) sum_{a, b} x_pad[n, c, i s + a, j s + b].

    VJP: dL/dx = col2im(g / (kh kw) copied to every element of its window)
    """

    def forward(self, x, geom=None):
        self.geom = geom
        planes = geom.planes(x)
        out = planes[0].copy()
        for plane in planes[1:]:
            out += plane
        out *= x.dtype.type(1.0 / len(planes))
        return out

    def backward(self, g, out, x):
        n, c = self.geom.in_shape[:2]
        kh, kw = self.geom.kernel
        share = np.full((1, 1, kh * kw, 1), 1.0 / (kh * kw), dtype=_value(g).dtype)
        return Col2im.apply(g.reshape(n, c, 1, -1) * share, geom=self.geom)
