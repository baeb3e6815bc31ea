"""What is measured: the workloads of issue 6, their data and their initial weights.

Each workload is a frozen description; :func:`make_mlp_problem` and :func:`make_chain_problem`
turn one into float32 numpy arrays from a seed. Every implementation (ours, the numpy reference,
PyTorch) starts from copies of the same arrays, so their results can be compared number for
number before they are timed.

MLP workloads (W1, W2, W3): one training step is forward + loss + backward + plain SGD
(w <- w - eta dL/dw at a fixed eta) on one fixed batch. Layer l computes z_l = a_{l-1} W_l^T + b_l
for a batch in rows, with an activation after every layer but the last.

The CNN workload: one training step (forward, softmax cross-entropy, backward, SGD) of a small
convolutional network on a batch of 64 of the 8x8 digits, NCHW:

    conv 3x3 (1 -> 16, padding 1), ReLU, conv 3x3 (16 -> 32, padding 1), ReLU, max-pool 2x2,
    flatten (32 * 4 * 4 = 512), linear 512 -> 10

Its goal is relative to PyTorch eager (at most twice its time per step), not to the numpy
reference.

Chain workloads (W4 and the deep chain): ``n_ops`` elementwise operations on two leaves of
16 floats, x and w, repeating the cycle

    x <- x * w,   x <- x + 0.5,   x <- tanh(x),   x <- 1.5 * x

then L = sum(x) and its gradient with respect to x and w (fwd + bwd). The cycle mixes a binary
operation whose operand fans out (w is used n_ops / 4 times), operations with a Python number,
and a unary transcendental; its values stay in (-1.5, 1.5) however long the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_edu.errors import InvalidArgumentError

__all__ = [
    "CNN",
    "CNNProblem",
    "CNNWorkload",
    "make_cnn_problem",
    "chain_loss",
    "CHAIN_ADD",
    "CHAIN_SCALE",
    "DEEP_CHAIN",
    "MEMORY_TARGET_RATIO",
    "MLP_WORKLOADS",
    "W1",
    "W2",
    "W3",
    "W4",
    "WORKLOADS",
    "ChainProblem",
    "ChainWorkload",
    "MLPProblem",
    "MLPWorkload",
    "make_chain_problem",
    "make_mlp_problem",
]

DTYPE = np.float32

# The two constants of the chain's cycle (see the module docstring).
CHAIN_ADD = 0.5
CHAIN_SCALE = 1.5


def chain_loss(x: Any, w: Any, cycles: int) -> Any:
    """L = sum(x) after ``cycles`` cycles of x*w, +0.5, tanh, *1.5: written with operators
    and ``.tanh()`` only, so the same code runs on our Tensors and on PyTorch's."""
    for _ in range(cycles):
        x = x * w
        x = x + CHAIN_ADD
        x = x.tanh()
        x = x * CHAIN_SCALE
    return x.sum()

# W3's peak traced memory per step: ours at most this many times the numpy reference's.
MEMORY_TARGET_RATIO = 1.3


# ----------------------------------------------------------------------------- descriptions


@dataclass(frozen=True)
class MLPWorkload:
    """A training step of an MLP on one fixed batch.

    Attributes:
        key: short name used on the command line and in the JSON file ("W1").
        title: the row label of the table.
        sizes: layer widths, input first.
        activation: "tanh" or "relu", after every layer but the last.
        loss: "mse" (mean over all elements) or "cross_entropy" (softmax, mean over samples).
        batch: samples per step, N.
        lr: the fixed SGD learning rate eta.
        target_ratio: the goal for ours / numpy reference (ms per step).
    """

    key: str
    title: str
    sizes: tuple[int, ...]
    activation: str
    loss: str
    batch: int
    lr: float
    target_ratio: float


@dataclass(frozen=True)
class ChainWorkload:
    """``n_ops`` chained elementwise operations on ``size`` floats, forward and backward.

    Attributes:
        key: "W4" or "chain".
        title: the row label of the table.
        n_ops: number of elementwise operations (a multiple of 4: whole cycles).
        size: floats per tensor.
        unit: "us/op" (median time / n_ops) or "s" (median time of the whole chain).
        target: the goal for ours: for "us/op", ours / numpy reference at most (a ratio:
            the reference itself moves between 1.4 and 2.7 µs/op on a shared machine); for
            "s", seconds strictly below.
    """

    key: str
    title: str
    n_ops: int
    size: int
    unit: str
    target: float

    def __post_init__(self) -> None:
        if isinstance(self.n_ops, bool) or self.n_ops < 4 or self.n_ops % 4:
            raise InvalidArgumentError(
                f"ChainWorkload {self.key}: n_ops must be a positive multiple of 4 (whole "
                f"cycles of mul, add, tanh, scale); got {self.n_ops!r}"
            )


W1 = MLPWorkload(
    key="W1",
    title="W1 MLP 2-16-16-1 tanh, batch 32, MSE (ms/step)",
    sizes=(2, 16, 16, 1),
    activation="tanh",
    loss="mse",
    batch=32,
    lr=0.01,
    target_ratio=2.6,
)
W2 = MLPWorkload(
    key="W2",
    title="W2 MLP 64-128-10 ReLU, batch 64, CE (ms/step)",
    sizes=(64, 128, 10),
    activation="relu",
    loss="cross_entropy",
    batch=64,
    lr=0.01,
    target_ratio=2.0,
)
W3 = MLPWorkload(
    key="W3",
    title="W3 MLP 784-512-256-10 ReLU, batch 128, CE (ms/step)",
    sizes=(784, 512, 256, 10),
    activation="relu",
    loss="cross_entropy",
    batch=128,
    lr=0.01,
    target_ratio=1.08,
)
W4 = ChainWorkload(
    key="W4",
    title="W4 1000 chained elementwise ops on 16 floats (µs/op, fwd+bwd)",
    n_ops=1000,
    size=16,
    unit="us/op",
    target=3.3,
)
DEEP_CHAIN = ChainWorkload(
    key="chain",
    title="deep chain of 100,000 ops on 16 floats, fwd+bwd (s)",
    n_ops=100_000,
    size=16,
    unit="s",
    target=1.0,
)



@dataclass(frozen=True)
class CNNWorkload:
    """A training step of the small CNN (see the module docstring) on one fixed batch.

    Attributes:
        key: "CNN". title: the row label of the table.
        channels: output channels of the two 3x3 convolutions.
        image: the side of the square grey-scale images (8 for the digits).
        classes: outputs of the final linear layer.
        batch: images per step. lr: the fixed SGD learning rate.
        target_torch_ratio: the goal for ours / PyTorch (ms per step).
    """

    key: str
    title: str
    channels: tuple[int, int]
    image: int
    classes: int
    batch: int
    lr: float
    target_torch_ratio: float

    @property
    def flat(self) -> int:
        """Inputs of the linear layer: channels[1] maps of (image / 2)^2 after the pool."""
        return self.channels[1] * (self.image // 2) ** 2


CNN = CNNWorkload(
    key="CNN",
    title="CNN conv16-conv32-maxpool-linear on 8x8 digits, batch 64, CE (ms/step)",
    channels=(16, 32),
    image=8,
    classes=10,
    batch=64,
    lr=0.05,
    target_torch_ratio=2.0,
)

MLP_WORKLOADS: dict[str, MLPWorkload] = {w.key: w for w in (W1, W2, W3)}
WORKLOADS: dict[str, MLPWorkload | ChainWorkload | CNNWorkload] = {
    w.key: w for w in (W1, W2, W3, W4, DEEP_CHAIN, CNN)
}


# ----------------------------------------------------------------------------- data


@dataclass
class MLPProblem:
    """The data and initial parameters of an MLP workload (float32 numpy arrays).

    Attributes:
        x: inputs, shape (N, sizes[0]).
        target: for "mse", targets of shape (N, sizes[-1]); for "cross_entropy", int64 class
            indices of shape (N,).
        params: [W_1, b_1, W_2, b_2, ...], W_l of shape (out, in) and b_l of shape (out,):
            the order of ``tinygrad_edu.nn.MLP.parameters()``.
    """

    x: np.ndarray
    target: np.ndarray
    params: list[np.ndarray]


@dataclass
class ChainProblem:
    """The two leaves of a chain workload: x0 (the input) and w (the fanned-out factor)."""

    x0: np.ndarray
    w: np.ndarray


def make_mlp_problem(spec: MLPWorkload, seed: int = 0) -> MLPProblem:
    """Random data and initial weights for ``spec``, reproducible from ``seed``.

    Weights are N(0, 1/fan_in) (the course's initialisation); biases are small but
    not zero, so that a forward pass that forgot b would already disagree at the first step.

    Example:
        >>> p = make_mlp_problem(W1, seed=0)
        >>> p.x.shape, p.target.shape, [a.shape for a in p.params]
        ((32, 2), (32, 1), [(16, 2), (16,), (16, 16), (16,), (1, 16), (1,)])
    """
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        params.append((rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(DTYPE))
        params.append((0.1 * rng.standard_normal(n_out)).astype(DTYPE))
    x = rng.standard_normal((spec.batch, spec.sizes[0])).astype(DTYPE)
    if spec.loss == "mse":
        target = rng.standard_normal((spec.batch, spec.sizes[-1])).astype(DTYPE)
    else:
        target = rng.integers(0, spec.sizes[-1], size=spec.batch, dtype=np.int64)
    return MLPProblem(x=x, target=target, params=params)


def make_chain_problem(spec: ChainWorkload, seed: int = 0) -> ChainProblem:
    """x0 ~ U(-1, 1) and w ~ U(0.5, 1.5), ``spec.size`` floats each, from ``seed``.

    Example:
        >>> p = make_chain_problem(W4, seed=0)
        >>> p.x0.shape, p.w.dtype
        ((16,), dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1.0, 1.0, spec.size).astype(DTYPE)
    w = rng.uniform(0.5, 1.5, spec.size).astype(DTYPE)
    return ChainProblem(x0=x0, w=w)


@dataclass
class CNNProblem:
    """The data and initial parameters of the CNN workload (float32 numpy arrays).

    Attributes:
        x: images, shape (N, 1, 8, 8), intensities scaled to [0, 1].
        target: int64 digit labels of shape (N,).
        params: [W_1, b_1, W_2, b_2, W_3, b_3]: the conv kernels (O, C, 3, 3), the linear
            weight (10, 512), and their biases: the order of the model's ``parameters()``.
    """

    x: np.ndarray
    target: np.ndarray
    params: list[np.ndarray]


def make_cnn_problem(spec: CNNWorkload, seed: int = 0) -> CNNProblem:
    """The first ``spec.batch`` digits (a seeded random choice) and initial weights.

    The images are scikit-learn's 8x8 digits divided by 16; without scikit-learn, seeded
    uniform noise of the same shape stands in (the timings do not depend on the values).
    Weights are N(0, 1/fan_in), biases small but not zero.

    Example:
        >>> p = make_cnn_problem(CNN, seed=0)
        >>> p.x.shape, p.target.shape, [a.shape for a in p.params][::2]
        ((64, 1, 8, 8), (64,), [(16, 1, 3, 3), (32, 16, 3, 3), (10, 512)])
    """
    rng = np.random.default_rng(seed)
    side, n = spec.image, spec.batch
    try:
        from tinygrad_edu.data import load_digits

        images, labels = load_digits()
        pick = rng.choice(len(labels), size=n, replace=False)
        x = (images[pick] / 16.0).reshape(n, 1, side, side).astype(DTYPE)
        target = labels[pick].astype(np.int64)
    except ImportError:
        x = rng.uniform(0.0, 1.0, (n, 1, side, side)).astype(DTYPE)
        target = rng.integers(0, spec.classes, size=n, dtype=np.int64)
    shapes = [
        (spec.channels[0], 1, 3, 3),
        (spec.channels[1], spec.channels[0], 3, 3),
        (spec.classes, spec.flat),
    ]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:]))
        params.append((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(DTYPE))
        params.append((0.1 * rng.standard_normal(shape[0])).astype(DTYPE))
    return CNNProblem(x=x, target=target, params=params)
