"""The workloads written the way a user of tinygrad_edu writes them.

An MLP step is the usual loop body: ``opt.zero_grad()``, ``loss = loss_fn(model(x), y)``,
``loss.backward()``, ``opt.step()``, with :class:`tinygrad_edu.nn.MLP`, the losses of
:mod:`tinygrad_edu.losses` and :class:`tinygrad_edu.optim.SGD`. The chain builds its graph from
Tensor operators and calls ``backward()`` on the sum. Nothing here knows the numpy reference: the
same public API a student uses is what gets timed.
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.losses import cross_entropy, mse_loss
from tinygrad_edu.nn import MLP, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from tinygrad_edu.optim import SGD

from .workloads import ChainProblem, CNNProblem, CNNWorkload, MLPProblem, MLPWorkload, chain_loss

__all__ = ["EngineCNN", "EngineChain", "EngineMLP"]


class EngineMLP:
    """An MLP training step with the engine: MLP, mse_loss or cross_entropy, SGD.

    Args:
        spec: the workload.
        problem: data and initial parameters (copied into the model by ``load_state_dict``).

    Example:
        >>> from benchmarks.workloads import W1, make_mlp_problem
        >>> ours = EngineMLP(W1, make_mlp_problem(W1, seed=0))
        >>> ours.step()
        >>> ours.loss() > 0, ours.gradients()[0].shape
        (True, (16, 2))
    """

    def __init__(self, spec: MLPWorkload, problem: MLPProblem) -> None:
        self.model = MLP(list(spec.sizes), activation=spec.activation, rng=0)
        names = [name for name, _ in self.model.named_parameters()]
        self.model.load_state_dict(dict(zip(names, problem.params)))
        self.optimizer = SGD(self.model.parameters(), lr=spec.lr)
        self.loss_fn = mse_loss if spec.loss == "mse" else cross_entropy
        self.x = Tensor(problem.x)
        # Targets are constants: MSE takes a Tensor, cross_entropy the integer indices.
        self.target = Tensor(problem.target) if spec.loss == "mse" else problem.target
        self.last_loss: Tensor | None = None

    def step(self) -> None:
        """One training step: zero the gradients, forward, loss, backward, SGD."""
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.target)
        loss.backward()
        self.optimizer.step()
        self.last_loss = loss

    def release_gradients(self) -> None:
        """Drop the last step's gradients (so that a memory trace of a step counts them)."""
        self.optimizer.zero_grad()

    def loss(self) -> float:
        """The loss computed by the last step (before its update)."""
        return float("nan") if self.last_loss is None else self.last_loss.item()

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays [W_1, b_1, W_2, b_2, ...]."""
        return [p.data for p in self.model.parameters()]

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last step, in the order of :meth:`parameters`."""
        return [p.grad for p in self.model.parameters()]


class EngineChain:
    """The chain workload with Tensor operations: ``n_ops`` of them, then ``sum().backward()``.

    Args:
        n_ops: number of operations (a multiple of 4).
        problem: the leaves x0 and w (copied).

    Example:
        >>> from benchmarks.workloads import W4, make_chain_problem
        >>> ours = EngineChain(8, make_chain_problem(W4, seed=0))
        >>> ours.run()
        >>> [g.shape for g in ours.gradients()]
        [(16,), (16,)]
    """

    def __init__(self, n_ops: int, problem: ChainProblem) -> None:
        self.cycles = n_ops // 4
        self.x0 = Tensor(problem.x0.copy(), requires_grad=True)
        self.w = Tensor(problem.w.copy(), requires_grad=True)
        self.out: Tensor | None = None

    def run(self) -> None:
        """Forward through every operation, L = sum(x), then backward into x0 and w."""
        # Gradients accumulate across backward calls; each run starts from none.
        self.x0.grad = None
        self.w.grad = None
        out = chain_loss(self.x0, self.w, self.cycles)
        out.backward()
        self.out = out

    def value(self) -> float:
        """L = sum(x) at the end of the chain, from the last run."""
        return float("nan") if self.out is None else self.out.item()

    def gradients(self) -> list[np.ndarray]:
        """[dL/dx0, dL/dw] from the last run."""
        return [self.x0.grad, self.w.grad]


class EngineCNN(EngineMLP):
    """The CNN training step with the engine: nn.Conv2d, ReLU, MaxPool2d, Flatten, Linear in a
    Sequential, cross_entropy and SGD; the step is :meth:`EngineMLP.step`'s.

    Example:
        >>> from benchmarks.workloads import CNN, make_cnn_problem
        >>> ours = EngineCNN(CNN, make_cnn_problem(CNN, seed=0))
        >>> ours.step()
        >>> [g.shape for g in ours.gradients()][4]
        (10, 512)
    """

    def __init__(self, spec: CNNWorkload, problem: CNNProblem) -> None:
        c1, c2 = spec.channels
        self.model = Sequential(
            Conv2d(1, c1, 3, padding=1), ReLU(), Conv2d(c1, c2, 3, padding=1), ReLU(),
            MaxPool2d(2), Flatten(), Linear(spec.flat, spec.classes),
        )  # fmt: skip
        names = [name for name, _ in self.model.named_parameters()]
        self.model.load_state_dict(dict(zip(names, problem.params)))
        self.optimizer = SGD(self.model.parameters(), lr=spec.lr)
        self.loss_fn = cross_entropy
        self.x = Tensor(problem.x)
        self.target = problem.target
        self.last_loss = None
