"""The workloads as ``jax.jit``-compiled steps, measured when jax is importable.

jax is the other peer the issue names: where PyTorch runs eagerly, ``jax.jit`` traces a Python
function once and hands XLA the whole step (forward, ``jax.grad``'s backward and the SGD update)
to compile, the same idea as :mod:`tinygrad_edu.jit` but with a real compiler behind it. It is
optional and not in any extra (its wheels are hundreds of megabytes): ``pip install jax`` adds
the column, :func:`load_jax` returns None without it. The MLP and chain workloads only: the
deep chain's 100,000 operations are not something to hand a compiler (``jit`` skips it too),
and the CNN's goal is set against PyTorch.

Every call waits for its result (``block_until_ready``): jax dispatches asynchronously, and a
timing that does not wait measures only the dispatch.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

import numpy as np

from .workloads import CHAIN_ADD, CHAIN_SCALE, ChainProblem, MLPProblem, MLPWorkload

__all__ = ["JaxChain", "JaxMLP", "load_jax"]


def load_jax(threads: int | None = None) -> ModuleType | None:
    """The ``jax`` module (CPU, float32), or None when it is not installed.

    Args:
        threads: 1 runs XLA's CPU kernels on one thread, as ``--blas-threads 1`` does for
            numpy and torch (XLA reads ``XLA_FLAGS`` once, at import; a value the user set
            is kept). None leaves XLA's default.

    Example:
        >>> jax = load_jax()
        >>> jax is None or hasattr(jax, "jit")
        True
    """
    if threads == 1 and "jax" not in sys.modules:
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    try:
        import jax
    except ImportError:
        return None
    return jax


def _jax() -> Any:
    jax = load_jax()
    if jax is None:
        raise ImportError("jax is not installed; `pip install jax` adds its column")
    return jax


def _mlp_loss(jnp: Any, spec: MLPWorkload) -> Any:
    """L(params, x, target) for the workload, written with jax.numpy."""
    act = jnp.tanh if spec.activation == "tanh" else (lambda z: jnp.maximum(z, 0.0))
    n_layers = len(spec.sizes) - 1

    def loss(params: list[Any], x: Any, target: Any) -> Any:
        a = x
        for l in range(n_layers):
            a = a @ params[2 * l].T + params[2 * l + 1]  # W is (out, in), as torch's Linear
            if l < n_layers - 1:
                a = act(a)
        if spec.loss == "mse":
            return jnp.mean((a - target) ** 2)
        shifted = a - a.max(axis=1, keepdims=True)
        log_p = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
        return -jnp.mean(jnp.take_along_axis(log_p, target[:, None], axis=1))

    return loss


class JaxMLP:
    """An MLP training step as one ``jax.jit`` program: loss, ``jax.grad``, SGD.

    Args:
        spec: the workload.
        problem: data and initial parameters (copied to jax arrays, float32).
    """

    def __init__(self, spec: MLPWorkload, problem: MLPProblem) -> None:
        jax = _jax()
        jnp = jax.numpy
        loss = _mlp_loss(jnp, spec)
        lr = np.float32(spec.lr)

        def step(params: list[Any], x: Any, target: Any) -> Any:
            value, grads = jax.value_and_grad(loss)(params, x, target)
            return value, grads, [p - lr * g for p, g in zip(params, grads)]

        self._step = jax.jit(step)
        self.params = [jnp.asarray(p) for p in problem.params]
        self.x = jnp.asarray(problem.x)
        self.target = jnp.asarray(problem.target)
        self.grads: list[Any] = []
        self.last_loss: Any = None
        self.step()  # compile now, not inside the first timed call
        self.params = [jnp.asarray(p) for p in problem.params]

    def step(self) -> None:
        """One training step: loss, gradients and the SGD update, compiled together."""
        self.last_loss, self.grads, self.params = self._step(self.params, self.x, self.target)
        self.last_loss.block_until_ready()
        self.params[-1].block_until_ready()

    def release_gradients(self) -> None:
        """Drop the last step's gradients, as the other implementations do."""
        self.grads = []

    def loss(self) -> float:
        """The loss computed by the last step (before its update)."""
        return float("nan") if self.last_loss is None else float(self.last_loss)

    def parameters(self) -> list[np.ndarray]:
        """The parameter arrays [W_1, b_1, W_2, b_2, ...]."""
        return [np.asarray(p) for p in self.params]

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last step, in the order of :meth:`parameters`."""
        return [np.asarray(g) for g in self.grads]


class JaxChain:
    """The chain workload as one ``jax.jit`` program of ``n_ops`` operations and its gradient.

    Args:
        n_ops: number of operations (a multiple of 4).
        problem: the leaves x0 and w.
    """

    def __init__(self, n_ops: int, problem: ChainProblem) -> None:
        jax = _jax()
        jnp = jax.numpy
        cycles = n_ops // 4

        def chain(x: Any, w: Any) -> Any:  # benchmarks.workloads.chain_loss, with jnp.tanh
            for _ in range(cycles):
                x = jnp.tanh(x * w + CHAIN_ADD) * CHAIN_SCALE
            return x.sum()

        self._run = jax.jit(jax.value_and_grad(chain, argnums=(0, 1)))
        self.x0 = jnp.asarray(problem.x0)
        self.w = jnp.asarray(problem.w)
        self.out: Any = None
        self.grads: tuple[Any, ...] = ()
        self.run()  # compile now

    def run(self) -> None:
        """Forward through every operation, L = sum(x), and dL/dx0, dL/dw."""
        self.out, self.grads = self._run(self.x0, self.w)
        self.out.block_until_ready()
        self.grads[1].block_until_ready()

    def value(self) -> float:
        """L = sum(x) at the end of the chain, from the last run."""
        return float("nan") if self.out is None else float(self.out)

    def gradients(self) -> list[np.ndarray]:
        """[dL/dx0, dL/dw] from the last run."""
        return [np.asarray(g) for g in self.grads]
