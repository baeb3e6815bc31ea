"""The workloads in PyTorch (CPU, eager), measured when torch is importable.

PyTorch is the best-known peer: the issue's goal is to be ahead of it on every workload. It is an
optional dependency (the ``bench`` extra pins torch==2.13.0); without it, :func:`load_torch`
returns None and the suite leaves the column out. The code mirrors :mod:`benchmarks.ours`
line for line: ``torch.nn.Linear`` layers with the same float32 weights, ``torch.nn.functional``
losses and ``torch.optim.SGD``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .workloads import ChainProblem, CNNProblem, CNNWorkload, MLPProblem, MLPWorkload, chain_loss

__all__ = ["TorchCNN", "TorchChain", "TorchMLP", "load_torch"]


def load_torch() -> ModuleType | None:
    """The ``torch`` module, or None when it is not installed.

    Example:
        >>> torch = load_torch()
        >>> torch is None or hasattr(torch, "tensor")
        True
    """
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch() -> Any:
    torch = load_torch()
    if torch is None:
        raise ImportError(
            "PyTorch is not installed; install the bench extra (pip install -e '.[bench]') or "
            "run the benchmarks without it"
        )
    return torch


class TorchMLP:
    """An MLP training step in PyTorch: Sequential of Linear layers, F.mse_loss or
    F.cross_entropy, torch.optim.SGD.

    Args:
        spec: the workload.
        problem: data and initial parameters (copied).
    """

    def __init__(self, spec: MLPWorkload, problem: MLPProblem) -> None:
        torch = _torch()
        layers: list[Any] = []
        n_layers = len(spec.sizes) - 1
        for l, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
            linear = torch.nn.Linear(n_in, n_out, dtype=torch.float32)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(problem.params[2 * l]))
                linear.bias.copy_(torch.from_numpy(problem.params[2 * l + 1]))
            layers.append(linear)
            if l < n_layers - 1:
                layers.append(torch.nn.Tanh() if spec.activation == "tanh" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec.lr)
        functional = torch.nn.functional
        self.loss_fn = functional.mse_loss if spec.loss == "mse" else functional.cross_entropy
        self.x = torch.from_numpy(problem.x.copy())
        self.target = torch.from_numpy(problem.target.copy())
        self.last_loss: Any = None

    def step(self) -> None:
        """One training step: zero the gradients, forward, loss, backward, SGD."""
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.target)
        loss.backward()
        self.optimizer.step()
        self.last_loss = loss

    def release_gradients(self) -> None:
        """Drop the last step's gradients (``.grad = None``), as the other implementations do."""
        self.optimizer.zero_grad()

    def loss(self) -> float:
        """The loss computed by the last step (before its update)."""
        return float("nan") if self.last_loss is None else float(self.last_loss.item())

    def parameters(self) -> list[np.ndarray]:
        """The parameter arrays [W_1, b_1, W_2, b_2, ...] (numpy views of the tensors)."""
        return [p.detach().numpy() for p in self.model.parameters()]

    def gradients(self) -> list[np.ndarray | None]:
        """The gradients of the last step, in the order of :meth:`parameters`."""
        return [None if p.grad is None else p.grad.numpy() for p in self.model.parameters()]


class TorchChain:
    """The chain workload in PyTorch: ``n_ops`` tensor operations, then ``sum().backward()``.

    Args:
        n_ops: number of operations (a multiple of 4).
        problem: the leaves x0 and w (copied).
    """

    def __init__(self, n_ops: int, problem: ChainProblem) -> None:
        torch = _torch()
        self.cycles = n_ops // 4
        self.x0 = torch.tensor(problem.x0, requires_grad=True)
        self.w = torch.tensor(problem.w, requires_grad=True)
        self.out: Any = None

    def run(self) -> None:
        """Forward through every operation, L = sum(x), then backward into x0 and w."""
        self.x0.grad = None
        self.w.grad = None
        out = chain_loss(self.x0, self.w, self.cycles)
        out.backward()
        self.out = out

    def value(self) -> float:
        """L = sum(x) at the end of the chain, from the last run."""
        return float("nan") if self.out is None else float(self.out.item())

    def gradients(self) -> list[np.ndarray | None]:
        """[dL/dx0, dL/dw] from the last run."""
        return [None if g is None else g.numpy() for g in (self.x0.grad, self.w.grad)]


class TorchCNN(TorchMLP):
    """The CNN training step in PyTorch eager: torch.nn.Conv2d, ReLU, MaxPool2d, Flatten and
    Linear in a Sequential with the same float32 weights, F.cross_entropy, torch.optim.SGD; the
    step is :meth:`TorchMLP.step`'s.

    Args:
        spec: the workload.
        problem: data and initial parameters (copied).
    """

    def __init__(self, spec: CNNWorkload, problem: CNNProblem) -> None:
        torch = _torch()
        nn = torch.nn
        c1, c2 = spec.channels
        self.model = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(spec.flat, spec.classes),
        )  # fmt: skip
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), problem.params):
                p.copy_(torch.from_numpy(value))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec.lr)
        self.loss_fn = torch.nn.functional.cross_entropy
        self.x = torch.from_numpy(problem.x.copy())
        self.target = torch.from_numpy(problem.target.copy())
        self.last_loss = None
