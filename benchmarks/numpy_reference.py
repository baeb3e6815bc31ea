"""Hand-written numpy backprop: the reference every workload is checked and timed against.

No autograd here: each forward formula is followed by its derivative, written out by hand the
way the course derives it (the notes on vectorised backprop), in float32 throughout. This is the
fastest an engine whose arithmetic is numpy can hope to be, so the benchmark reports our time as
a ratio to it.

MLP, batch in rows (X of shape (N, in)), for layers l = 1..L:

    forward    z_l = a_{l-1} W_l^T + b_l,    a_l = f(z_l)  (a_0 = X, no f after layer L)
    output     dL/dz_L = 2 (z_L - Y) / n                     MSE, n = number of elements
               dL/dz_L = (softmax(z_L) - onehot(y)) / N      softmax cross-entropy
    backward   dL/dW_l = (dL/dz_l)^T a_{l-1},   dL/db_l = sum over rows of dL/dz_l
               dL/dz_{l-1} = (dL/dz_l W_l) * f'(z_{l-1})
               with tanh' = 1 - a^2 and relu' = [a > 0] (the same mask as z > 0)
    SGD        w <- w - eta dL/dw, in place (eta dL/dw goes into a buffer made once)

Chain (see :mod:`benchmarks.workloads`): the forward keeps what each VJP needs on a tape (the
input of ``x * w`` and the output of tanh) and the backward walks it in reverse:

    x * w:    dL/dx = g w,  dL/dw += g x       x + c:  dL/dx = g
    tanh(x):  dL/dx = g (1 - tanh(x)^2)        s * x:  dL/dx = g s
"""

from __future__ import annotations

import numpy as np

from .workloads import (
    CHAIN_ADD,
    CHAIN_SCALE,
    ChainProblem,
    CNNProblem,
    CNNWorkload,
    MLPProblem,
    MLPWorkload,
)

__all__ = ["NumpyCNN", "NumpyChain", "NumpyMLP"]


class NumpyMLP:
    """An MLP training step by hand: forward, loss, backward and SGD in explicit numpy.

    Args:
        spec: the workload (sizes, activation, loss, learning rate).
        problem: data and initial parameters; the parameters are copied.

    Example:
        >>> from benchmarks.workloads import W1, make_mlp_problem
        >>> ref = NumpyMLP(W1, make_mlp_problem(W1, seed=0))
        >>> ref.step()
        >>> ref.loss() > 0, ref.gradients()[0].shape
        (True, (16, 2))
    """

    def __init__(self, spec: MLPWorkload, problem: MLPProblem) -> None:
        self.lr = spec.lr
        self.tanh = spec.activation == "tanh"
        self.mse = spec.loss == "mse"
        self.x = problem.x
        self.target = problem.target
        self.params = [np.array(a, copy=True) for a in problem.params]  # W_1, b_1, W_2, ...
        self.weights = self.params[0::2]
        self.biases = self.params[1::2]
        self.rows = np.arange(problem.x.shape[0])  # row indices for picking z[i, y_i]
        # One buffer per parameter for eta * dL/dw: the update allocates nothing.
        self.scratch = [np.empty_like(a) for a in problem.params]
        self.last_loss: np.floating = np.float32(np.nan)
        self.grad_w: list[np.ndarray] = []
        self.grad_b: list[np.ndarray] = []

    def forward(self) -> list[np.ndarray]:
        """The activations [a_0 = X, a_1, ..., a_{L-1}, z_L] (the last is the raw scores)."""
        acts = [self.x]
        a = self.x
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T
            z += b  # z is a fresh array: adding in place saves a temporary
            if l < last:
                a = np.tanh(z) if self.tanh else np.maximum(z, 0.0)
                acts.append(a)
            else:
                acts.append(z)
        return acts

    def loss_and_output_gradient(self, z: np.ndarray) -> tuple[np.floating, np.ndarray]:
        """L and dL/dz_L for the scores z_L (MSE or softmax cross-entropy, both means)."""
        if self.mse:
            diff = z - self.target
            loss = np.mean(diff * diff)
            diff *= 2.0 / diff.size  # dL/dz = 2 (z - y) / n
            return loss, diff
        n = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)  # log-softmax is shift-invariant
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        log_p_true = shifted[self.rows, self.target] - np.log(total[:, 0])
        loss = -np.mean(log_p_true)
        e /= total  # softmax p
        e[self.rows, self.target] -= 1.0  # p - onehot(y)
        e *= 1.0 / n
        return loss, e

    def backward(self, acts: list[np.ndarray], dz: np.ndarray) -> None:
        """Fill ``grad_w`` and ``grad_b`` from the activations [a_0, ..., a_{L-1}] and dL/dz_L.

        ``acts`` is emptied on the way: each activation is released as soon as it is used.
        """
        n_layers = len(self.weights)
        grad_w: list[np.ndarray] = [dz] * n_layers  # placeholders, all replaced below
        grad_b: list[np.ndarray] = [dz] * n_layers
        for l in range(n_layers - 1, -1, -1):
            a_prev = acts.pop()  # this layer's input
            grad_w[l] = dz.T @ a_prev
            grad_b[l] = dz.sum(axis=0)
            if l == 0:
                break  # X needs no gradient
            da = dz @ self.weights[l]
            if self.tanh:
                da *= 1.0 - a_prev * a_prev
            else:
                da *= a_prev > 0.0
            dz = da
        self.grad_w = grad_w
        self.grad_b = grad_b

    def sgd(self) -> None:
        """w <- w - eta dL/dw for every parameter, in place."""
        lr = self.lr
        grads = [g for pair in zip(self.grad_w, self.grad_b) for g in pair]
        for w, g, buf in zip(self.params, grads, self.scratch):
            np.multiply(g, lr, out=buf)
            w -= buf

    def step(self) -> None:
        """One training step: forward, loss, backward, SGD."""
        acts = self.forward()
        self.last_loss, dz = self.loss_and_output_gradient(acts.pop())
        self.backward(acts, dz)
        self.sgd()

    def release_gradients(self) -> None:
        """Drop the last step's gradients (so that a memory trace of a step counts them)."""
        self.grad_w = []
        self.grad_b = []

    def loss(self) -> float:
        """The loss computed by the last step (before its update)."""
        return float(self.last_loss)

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays [W_1, b_1, W_2, b_2, ...]."""
        return list(self.params)

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last step, in the order of :meth:`parameters`."""
        return [a for pair in zip(self.grad_w, self.grad_b) for a in pair]


class NumpyChain:
    """The chain workload by hand: a forward that records a tape, a backward that reads it.

    Args:
        n_ops: number of operations (a multiple of 4).
        problem: the leaves x0 and w (copied).

    Example:
        >>> from benchmarks.workloads import W4, make_chain_problem
        >>> ref = NumpyChain(8, make_chain_problem(W4, seed=0))
        >>> ref.run()
        >>> [g.shape for g in ref.gradients()]
        [(16,), (16,)]
    """

    def __init__(self, n_ops: int, problem: ChainProblem) -> None:
        self.cycles = n_ops // 4
        self.x0 = np.array(problem.x0, copy=True)
        self.w = np.array(problem.w, copy=True)
        self.out = np.float32(np.nan)
        self.grad_x = np.zeros_like(self.x0)
        self.grad_w = np.zeros_like(self.w)

    def run(self) -> None:
        """Forward through every operation, L = sum(x), then backward to dL/dx0 and dL/dw."""
        w = self.w
        tape = []
        x = self.x0
        for _ in range(self.cycles):
            tape.append(x)  # the input of x * w, for dL/dw
            x = x * w
            x = x + CHAIN_ADD
            x = np.tanh(x)
            tape.append(x)  # tanh's output, for its derivative
            x = x * CHAIN_SCALE
        self.out = x.sum()
        g = np.ones_like(x)
        grad_w = np.zeros_like(w)
        for _ in range(self.cycles):
            t = tape.pop()
            x_in = tape.pop()
            g = g * CHAIN_SCALE
            g = g * (1.0 - t * t)
            grad_w += g * x_in  # w fans out: its gradients add up
            g = g * w
        self.grad_x = g
        self.grad_w = grad_w

    def value(self) -> float:
        """L = sum(x) at the end of the chain, from the last run."""
        return float(self.out)

    def gradients(self) -> list[np.ndarray]:
        """[dL/dx0, dL/dw] from the last run."""
        return [self.grad_x, self.grad_w]


class NumpyCNN:
    """The CNN training step by hand (see :mod:`benchmarks.workloads`), in explicit numpy.

    Activations are kept channels-last (N, H, W, C), where a 3x3 convolution with padding 1
    is one matrix product: the rows of ``cols`` are the 3x3xC receptive fields (im2col, from a
    sliding-window view of the padded image), so

        forward    Z = cols W^T + b              (W as an (O, C 3 3) matrix)
        backward   dL/dW = dZ^T cols,  dL/db = sum of dZ over rows,
                   dL/dcols = dZ W, added back into the image at each of the 9 offsets
        ReLU       dL/dz = dL/da [z > 0]
        max-pool   dL/da = dL/dpool at each window's first maximum, 0 elsewhere
        linear and softmax cross-entropy as in :class:`NumpyMLP`; the flatten is in
        PyTorch's (C, H, W) order.

    Args:
        spec: the workload. problem: data and initial parameters (copied).

    Example:
        >>> from benchmarks.workloads import CNN, make_cnn_problem
        >>> ref = NumpyCNN(CNN, make_cnn_problem(CNN, seed=0))
        >>> ref.step()
        >>> ref.loss() > 0, ref.gradients()[2].shape
        (True, (32, 16, 3, 3))
    """

    def __init__(self, spec: CNNWorkload, problem: CNNProblem) -> None:
        self.lr = spec.lr
        self.x = np.ascontiguousarray(problem.x.transpose(0, 2, 3, 1))  # (N, H, W, 1)
        self.target = problem.target
        self.params = [np.array(a, copy=True) for a in problem.params]
        self.rows = np.arange(problem.x.shape[0])
        self.grads: list[np.ndarray] = []
        self.last_loss: np.floating = np.float32(np.nan)

    @staticmethod
    def _im2col(a: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N H W, C 3 3): the 3x3 fields of the zero-padded image as rows."""
        n, h, w, c = a.shape
        padded = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)))
        view = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
        return view.reshape(n * h * w, c * 9)  # (N, H, W, C, 3, 3): one copy

    @staticmethod
    def _col2im(d_cols: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The adjoint of _im2col: add each row entry back where it was read from."""
        n, h, w, c = shape
        d = d_cols.reshape(n, h, w, c, 3, 3)
        padded = np.zeros((n, h + 2, w + 2, c), dtype=d_cols.dtype)
        for i in range(3):
            for j in range(3):
                padded[:, i : i + h, j : j + w, :] += d[..., i, j]
        return padded[:, 1 : h + 1, 1 : w + 1, :]

    def step(self) -> None:
        w1, b1, w2, b2, w3, b3 = self.params
        n, h, w, _ = self.x.shape
        # forward
        cols1 = self._im2col(self.x)
        a1 = np.maximum(cols1 @ w1.reshape(w1.shape[0], -1).T + b1, 0.0)  # (N H W, 16)
        a1 = a1.reshape(n, h, w, -1)
        cols2 = self._im2col(a1)
        a2 = np.maximum(cols2 @ w2.reshape(w2.shape[0], -1).T + b2, 0.0)  # (N H W, 32)
        c2 = a2.shape[1]
        windows = a2.reshape(n, h // 2, 2, w // 2, 2, c2).transpose(0, 1, 3, 5, 2, 4)
        windows = windows.reshape(n, h // 2, w // 2, c2, 4)
        first = windows.argmax(axis=-1)[..., None]
        pooled = np.take_along_axis(windows, first, axis=-1)[..., 0]  # (N, 4, 4, 32)
        flat = pooled.transpose(0, 3, 1, 2).reshape(n, -1)  # PyTorch's (C, H, W) order
        z = flat @ w3.T + b3
        # loss and its gradient (mean softmax cross-entropy)
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        self.last_loss = -np.mean(shifted[self.rows, self.target] - np.log(total[:, 0]))
        dz = e / total
        dz[self.rows, self.target] -= 1.0
        dz *= 1.0 / n
        # backward
        dw3, db3 = dz.T @ flat, dz.sum(axis=0)
        d_pooled = (dz @ w3).reshape(n, c2, h // 2, w // 2).transpose(0, 2, 3, 1)
        d_windows = np.zeros(windows.shape, dtype=z.dtype)
        np.put_along_axis(d_windows, first, d_pooled[..., None], axis=-1)
        d_a2 = d_windows.reshape(n, h // 2, w // 2, c2, 2, 2).transpose(0, 1, 4, 2, 5, 3)
        d_z2 = d_a2.reshape(n * h * w, c2) * (a2 > 0.0)
        dw2, db2 = (d_z2.T @ cols2).reshape(w2.shape), d_z2.sum(axis=0)
        d_a1 = self._col2im(d_z2 @ w2.reshape(w2.shape[0], -1), a1.shape)
        d_z1 = d_a1.reshape(n * h * w, -1) * (a1.reshape(n * h * w, -1) > 0.0)
        dw1, db1 = (d_z1.T @ cols1).reshape(w1.shape), d_z1.sum(axis=0)
        self.grads = [dw1, db1, dw2, db2, dw3, db3]
        for p, g in zip(self.params, self.grads):
            p -= self.lr * g

    def release_gradients(self) -> None:
        self.grads = []

    def loss(self) -> float:
        """The loss computed by the last step (before its update)."""
        return float(self.last_loss)

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays [W_1, b_1, W_2, b_2, W_3, b_3]."""
        return self.params

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last step, in the order of :meth:`parameters`."""
        return self.grads
