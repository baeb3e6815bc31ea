"""Layers: Linear, Sequential, MLP, BatchNorm1d and Dropout, written with tensor operations.

No layer has a backward formula of its own: each forward is composed of Tensor operations, so
backprop through it is the engine's chain rule over those operations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import ops
from ..autograd import outside, repeatable
from ..checks import finite_number, positive_int
from ..errors import InvalidArgumentError, ShapeError
from ..tensor import Tensor, get_default_dtype
from . import architecture
from .activations import ACTIVATIONS
from .init import as_generator, get_initializer
from .module import Module, as_input

__all__ = ["MLP", "BatchNorm1d", "Dropout", "Linear", "Sequential"]


def initial_parameters(
    op: str, init: Any, shape: tuple[int, ...], layout: str, bias: bool, rng: Any
) -> tuple[Tensor, Tensor | None]:
    """A layer's weight drawn by ``init`` (its shape checked) and its bias, zeros or None.

    Both are leaves that require grad, in the default dtype; ``shape[0]`` is the number of
    outputs (the bias's length), ``layout`` names the axes for the error message.
    """
    w = get_initializer(init)(shape, as_generator(rng))
    if not isinstance(w, (np.ndarray, Tensor)) or np.shape(w) != shape:
        raise ShapeError(
            f"{op}: init returned {type(w).__name__} of shape {np.shape(w)}; expected an "
            f"array of shape {shape} {layout}"
        )
    if np.asarray(w).dtype.kind not in "iuf":
        raise InvalidArgumentError(
            f"{op}: init returned an array of dtype {np.asarray(w).dtype}; expected numbers"
        )
    dtype = get_default_dtype()
    weight = Tensor(np.array(w, dtype=dtype), requires_grad=True, name="weight")
    b = Tensor(np.zeros(shape[0], dtype=dtype), requires_grad=True, name="bias") if bias else None
    return weight, b


# ----------------------------------------------------------------------------- Linear


class Linear(Module):
    """A fully connected layer: z = W x + b for each sample, ``x @ W.T + b`` for a batch.

    The course writes one sample as a column, z = Wx + b with W of shape (out, in). A batch
    holds samples in rows, X of shape (N, in), so Z = X W^T + b has shape (N, out). A single
    sample of shape (in,) gives shape (out,).

    Args:
        in_features: inputs per sample (fan-in, N_in in the initialisation notes).
        out_features: units of the layer (fan-out).
        bias: whether to add b (initialised to zero).
        init: how W starts: a name of :data:`tinygrad_edu.nn.init.INITIALIZERS`
            ("fan_in" = N(0, 1/N_in), "xavier_uniform", "xavier_normal", "he_normal",
            "standard_normal", "zeros") or a function ``f(shape, rng) -> array``.
        rng: None, an int seed or a numpy Generator, for the initial weights.

    Attributes:
        weight: Tensor of shape (out_features, in_features), named "weight".
        bias: Tensor of shape (out_features,), named "bias", or None.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import Linear
        >>> layer = Linear(3, 2, rng=0)
        >>> x = np.ones((4, 3), dtype=np.float32)
        >>> z = layer(x)
        >>> z.shape
        (4, 2)
        >>> bool(np.array_equal(z.data, x @ layer.weight.data.T + layer.bias.data))
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | Callable[..., Any] = "fan_in",
        rng: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "Linear: in_features")
        self.out_features = positive_int(out_features, "Linear: out_features")
        shape = (self.out_features, self.in_features)
        self.weight, self.bias = initial_parameters(
            "Linear", init, shape, "(out_features, in_features)", bias, rng
        )

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = as_input(x, self.weight.dtype)
        # The array's own shape, read once (a Tensor's shape and ndim are properties of .data):
        # with the 2-D path of ops.Linear.backward, W1's step 838k -> 808k instructions
        # (-3.7%, callgrind).
        shape = x._data.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear(in_features={self.in_features}): expected input of shape "
                f"(N, {self.in_features}) or ({self.in_features},); got {shape}"
            )
        # Shapes are checked above: the fused operation directly, without Tensor.linear's checks.
        return ops.Linear.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None}


# ----------------------------------------------------------------------------- Sequential


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    The layers are named "0", "1", ... (``"0.weight"``), and the container supports
    ``len``, iteration and indexing (a slice gives a new Sequential sharing the layers).

    Example:
        >>> from tinygrad_edu.nn import Linear, ReLU, Sequential
        >>> net = Sequential(Linear(2, 4, rng=0), ReLU(), Linear(4, 1, rng=1))
        >>> len(net), [name for name, _ in net.named_parameters()]
        (3, ['0.weight', '0.bias', '2.weight', '2.bias'])
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise InvalidArgumentError(
                    f"Sequential: argument {i} is {type(layer).__name__}, not a Module; wrap "
                    "functions in a Module subclass"
                )
        self._layers: list[Module] = list(layers)

    def _attributes(self) -> Iterator[tuple[str, Any]]:
        # The layers by position first, as PyTorch names them; then any other attributes.
        for i, layer in enumerate(self._layers):
            yield str(i), layer
        for name, value in vars(self).items():
            if name != "_layers":
                yield name, value

    def append(self, layer: Module) -> Sequential:
        """Add a layer at the end; returns self."""
        if not isinstance(layer, Module):
            raise InvalidArgumentError(
                f"Sequential.append: expected a Module; got {type(layer).__name__}"
            )
        self._layers.append(layer)
        return self

    def forward(self, x: Any) -> Any:
        for layer in self._layers:
            x = layer(x)
        return x

    def config(self) -> dict[str, Any] | None:
        specs = [architecture.spec_of(layer) for layer in self._layers]
        return None if None in specs else {"layers": specs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls(*config["layers"])

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        try:
            return self._layers[index]
        except (IndexError, TypeError):
            raise InvalidArgumentError(
                f"Sequential: index {index!r} is not valid for {len(self)} layers"
            ) from None


# ----------------------------------------------------------------------------- MLP


class MLP(Module):
    """A multi-layer perceptron: Linear layers sizes[0] -> sizes[1] -> ... -> sizes[-1].

    An activation follows every Linear layer except the last, so the output is the raw
    scores z of the last layer (feed them to a loss such as cross_entropy).

    Args:
        sizes: layer widths, input first, e.g. [2, 16, 16, 3]; at least two.
        activation: a name ("relu", "leaky_relu", "sigmoid", "tanh", "hardtanh",
            "softsign"), a Module class or a function returning a new Module (called once
            per hidden layer), or None for no activation.
        init: the weights' initialiser, as for :class:`Linear`.
        rng: None, an int seed or a Generator; one Generator feeds every layer in order,
            so a seed reproduces the whole model.

    Attributes:
        layers: the :class:`Sequential` holding Linear and activation layers
            (parameter names "layers.0.weight", "layers.0.bias", "layers.2.weight", ...).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import MLP
        >>> model = MLP([2, 16, 3], activation="tanh", rng=0)
        >>> model(np.zeros((5, 2))).shape, model.num_parameters()
        ((5, 3), 99)
    """

    def __init__(
        self,
        sizes: Any,
        activation: str | Callable[[], Module] | None = "relu",
        init: str | Callable[..., Any] = "fan_in",
        rng: Any = None,
    ) -> None:
        super().__init__()
        try:
            sizes = list(sizes)
        except TypeError:
            raise InvalidArgumentError(
                f"MLP: sizes must be a list of layer widths such as [2, 16, 1]; got {sizes!r}"
            ) from None
        if len(sizes) < 2:
            raise InvalidArgumentError(
                f"MLP: sizes needs at least an input and an output width; got {sizes!r}"
            )
        self.sizes = [positive_int(n, f"MLP: sizes[{i}]") for i, n in enumerate(sizes)]
        make_activation = _activation_factory(activation)
        self._activation = activation
        get_initializer(init)  # an unknown name fails here, before any layer is built
        gen = as_generator(rng)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            layers.append(Linear(n_in, n_out, init=init, rng=gen))
            if make_activation is not None and i < len(self.sizes) - 2:
                act = make_activation()
                if not isinstance(act, Module):
                    raise InvalidArgumentError(
                        f"MLP: activation() returned {type(act).__name__}, not a Module"
                    )
                layers.append(act)
        self.layers = Sequential(*layers)

    def forward(self, x: Any) -> Tensor:
        return self.layers(x)

    def config(self) -> dict[str, Any] | None:
        # An activation given by name (or one of the package's classes) can be written down;
        # a function of the user's cannot, and then neither can the MLP.
        act = self._activation
        if not (act is None or isinstance(act, str)):
            act = next((name for name, cls in ACTIVATIONS.items() if cls is act), None)
            if act is None:
                return None
        return {"sizes": list(self.sizes), "activation": act}


def _activation_factory(activation: Any) -> Callable[[], Module] | None:
    """A function making a new activation module, from MLP's ``activation`` argument."""
    if activation is None:
        return None
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            valid = ", ".join(repr(name) for name in ACTIVATIONS)
            raise InvalidArgumentError(
                f"MLP: unknown activation {activation!r}; use one of {valid}, a Module class, "
                "or None"
            )
        return ACTIVATIONS[activation]
    if isinstance(activation, Module):
        raise InvalidArgumentError(
            f"MLP: activation is a module instance ({type(activation).__name__}); pass the class "
            f"({type(activation).__name__}) or a function returning a new module, so each layer "
            "gets its own"
        )
    if callable(activation):
        return activation
    raise InvalidArgumentError(
        f"MLP: activation must be a name, a Module class or None; got {activation!r}"
    )


# ----------------------------------------------------------------------------- BatchNorm1d


class BatchNorm1d(Module):
    """Batch normalisation of each feature over the batch (as in the notes), for inputs (N, C).

    Training mode, with the batch's mean mu_B and biased variance var_B per feature c:

        x_hat = (x - mu_B) / sqrt(var_B + eps),    y = gamma * x_hat + beta

    computed with tensor operations, so gradients flow through mu_B and var_B as well. The
    running statistics (buffers) are then updated as in PyTorch:

        running_mean <- (1 - momentum) running_mean + momentum mu_B
        running_var  <- (1 - momentum) running_var  + momentum var_B * N / (N - 1)

    (the unbiased variance). Evaluation mode uses the running statistics instead of the batch's.

    Args:
        num_features: C, the number of features (columns) of the input.
        eps: added to the variance before the square root (positive).
        momentum: the weight of the newest batch in the running statistics, in [0, 1].

    Attributes:
        weight: gamma, shape (C,), ones. bias: beta, shape (C,), zeros.
        running_mean, running_var: buffers (numpy arrays), zeros and ones.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import BatchNorm1d
        >>> bn = BatchNorm1d(2, momentum=0.5)
        >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> np.round(y.data, 3).tolist(), bn.running_mean.tolist()
        ([[-1.0, -1.0], [1.0, 1.0]], [1.0, 10.0])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = positive_int(num_features, "BatchNorm1d: num_features")
        self.eps = finite_number(eps, "BatchNorm1d: eps")
        if self.eps <= 0:
            raise InvalidArgumentError(f"BatchNorm1d: eps must be positive; got {eps!r}")
        self.momentum = finite_number(momentum, "BatchNorm1d: momentum")
        if not 0.0 <= self.momentum <= 1.0:
            raise InvalidArgumentError(f"BatchNorm1d: momentum must be in [0, 1]; got {momentum!r}")
        dtype = get_default_dtype()
        c = self.num_features
        self.weight = Tensor(np.ones(c, dtype=dtype), requires_grad=True, name="weight")
        self.bias = Tensor(np.zeros(c, dtype=dtype), requires_grad=True, name="bias")
        self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
        self.register_buffer("running_var", np.ones(c, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        x = as_input(x, self.weight.dtype)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ShapeError(
                f"BatchNorm1d({self.num_features}): expected input of shape "
                f"(N, {self.num_features}); got {x.shape}"
            )
        if not self.training:
            # Constants: evaluation does not differentiate through the running statistics.
            x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
            return self.weight * x_hat + self.bias
        n = x.shape[0]
        if n < 2:
            raise ShapeError(
                f"BatchNorm1d: training needs a batch of at least 2 samples to estimate the "
                f"variance; got shape {x.shape}. Use eval() for single samples."
            )
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        x_hat = (x - mean) / (var + self.eps).sqrt()
        m = self.momentum
        # outside(): a jit replay updates the running statistics too.
        outside(_update_running, self.running_mean, self.running_var, mean.data, var.data, m, n)
        return self.weight * x_hat + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}


# ----------------------------------------------------------------------------- Dropout


@repeatable
def _update_running(
    running_mean: np.ndarray, running_var: np.ndarray, mean: np.ndarray, var: np.ndarray,
    m: float, n: int,
) -> None:
    """BatchNorm's running statistics, updated in place (the buffers stay the arrays that
    load_state_dict fills); the variance unbiased, as PyTorch's."""
    running_mean[...] = (1 - m) * running_mean + m * mean
    running_var[...] = (1 - m) * running_var + m * var * (n / (n - 1))


@repeatable
def _dropout_scale(rng: np.random.Generator, shape: tuple[int, ...], p: float, dtype: Any) -> Any:
    """The inverted-dropout factors: 0 with probability p, else 1 / (1 - p)."""
    keep = rng.random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the
    survivors by 1 / (1 - p), so the expected output equals the input; in evaluation, the
    identity.

    Args:
        p: the probability of dropping an element, in [0, 1).
        rng: None, an int seed or a numpy Generator for the masks (a seed makes the sequence
            of masks reproducible).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import Dropout
        >>> drop = Dropout(0.5, rng=0)
        >>> sorted(set(drop(np.ones(100)).tolist()))
        [0.0, 2.0]
        >>> drop.eval()(np.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        p = finite_number(p, "Dropout: p")
        if not 0.0 <= p < 1.0:
            raise InvalidArgumentError(
                f"Dropout: p is the probability of dropping an element and must be in [0, 1); "
                f"got {p!r}"
            )
        self.p = p
        self.rng = as_generator(rng)

    def forward(self, x: Any) -> Tensor:
        x = as_input(x)
        if not self.training or self.p == 0.0:
            return x
        # outside(): a jit replay draws a new mask each call (an input, not a constant).
        return x * outside(_dropout_scale, self.rng, x.shape, self.p, x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def config(self) -> dict[str, Any]:
        return {"p": self.p}  # the Generator is not saved: a loaded model draws fresh masks
