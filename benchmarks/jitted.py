"""The workloads with the training step compiled by :func:`tinygrad_edu.jit`.

The same code as :mod:`benchmarks.ours` (the public API a student writes), wrapped in ``jit``:
the first two calls record the step, every later one replays it as a flat numpy program. The
step takes the batch as its argument, as a training loop does.
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.jit import jit

from .ours import EngineChain, EngineMLP
from .workloads import MLPProblem, MLPWorkload, chain_loss

__all__ = ["JitChain", "JitMLP"]


class JitMLP(EngineMLP):
    """:class:`benchmarks.ours.EngineMLP` with its step compiled by ``jit``.

    Example:
        >>> from benchmarks.workloads import W1, make_mlp_problem
        >>> ours = JitMLP(W1, make_mlp_problem(W1, seed=0))
        >>> for _ in range(3):
        ...     ours.step()
        >>> ours.compiled.replays
        1
    """

    def __init__(self, spec: MLPWorkload, problem: MLPProblem, tune_layouts: bool = True) -> None:
        super().__init__(spec, problem)
        self.compiled = jit(self._step, tune_layouts=tune_layouts)
        self._x = self.x.data
        self._target = self.target.data if isinstance(self.target, Tensor) else self.target

    def _step(self, x: np.ndarray, target: np.ndarray) -> Tensor:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), target)
        loss.backward()
        self.optimizer.step()
        return loss

    def step(self) -> None:
        """One training step, replayed after the first two."""
        self.last_loss = self.compiled(self._x, self._target)


class JitChain(EngineChain):
    """:class:`benchmarks.ours.EngineChain` with its forward and backward compiled by ``jit``.

    Example:
        >>> from benchmarks.workloads import W4, make_chain_problem
        >>> ours = JitChain(8, make_chain_problem(W4, seed=0))
        >>> for _ in range(3):
        ...     ours.run()
        >>> ours.compiled.replays
        1
    """

    def __init__(self, n_ops: int, problem: object) -> None:
        super().__init__(n_ops, problem)  # type: ignore[arg-type]
        self.compiled = jit(self._run)

    def _run(self) -> Tensor:
        self.x0.grad = None
        self.w.grad = None
        out = chain_loss(self.x0, self.w, self.cycles)
        out.backward()
        return out

    def run(self) -> None:
        """Forward through every operation, then backward, replayed after the first two."""
        self.out = self.compiled()
