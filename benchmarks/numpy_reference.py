"""Hand-written numpy backprop: the reference every workload is checked and timed against.

No autograd here: each forward formula is followed by its derivative, written out by hand the
way the course derives it (note 004, vectorised backprop), in float32 throughout. This is the
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

from .workloads import CHAIN_ADD, CHAIN_SCALE, ChainProblem, MLPProblem, MLPWorkload

__all__ = ["NumpyChain", "NumpyMLP"]


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
