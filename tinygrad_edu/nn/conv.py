"""Layers for images: Conv2d, MaxPool2d, AvgPool2d and Flatten (NCHW, as PyTorch's).

Each layer calls the Tensor operation of the same name (``conv2d``, ``max_pool2d``,
``avg_pool2d``, ``flatten``), whose forward and VJP live in ``ops.py``; the layers only hold
parameters and arguments, with PyTorch's names, defaults and parameter shapes.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
    >>> net = Sequential(Conv2d(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2d(2), Flatten(),
    ...                  Linear(4 * 4 * 4, 10, rng=1))
    >>> net(np.zeros((2, 1, 8, 8))).shape
    (2, 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..checks import int_pair, positive_int
from ..errors import InvalidArgumentError, ShapeError
from ..tensor import Tensor
from .layers import initial_parameters
from .module import Module, as_input

__all__ = ["AvgPool2d", "Conv2d", "Flatten", "MaxPool2d"]


class Conv2d(Module):
    """A 2-D convolution layer: z = conv2d(x, W) + b on NCHW batches (PyTorch's nn.Conv2d).

    Output channel o of sample n is b_o plus the sum over input channels c of the
    cross-correlation of x[n, c] with the kernel W[o, c]: each output pixel is the course's
    z = W x + b with x the receptive field under the kernel, the same W at every position.

    Args:
        in_channels: C, channels of the input.
        out_channels: O, channels of the output (the number of kernels).
        kernel_size: kh = kw, or a pair (kh, kw).
        stride, padding, dilation: an int or a pair, as :meth:`Tensor.conv2d`.
        groups: split channels into groups convolved apart; divides C and O.
        bias: whether to add b (initialised to zero).
        init: how W starts, as for :class:`~tinygrad_edu.nn.Linear` (default "fan_in":
            N(0, 1 / fan_in) with fan_in = C / groups * kh * kw), or a function f(shape, rng).
        rng: None, an int seed or a numpy Generator, for the initial weights.

    Attributes:
        weight: Tensor of shape (O, C / groups, kh, kw), named "weight".
        bias: Tensor of shape (O,), named "bias", or None.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import Conv2d
        >>> conv = Conv2d(3, 8, 3, stride=2, padding=1, rng=0)
        >>> conv.weight.shape, conv(np.zeros((4, 3, 16, 16))).shape
        ((8, 3, 3, 3), (4, 8, 8, 8))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        init: str | Callable[..., Any] = "fan_in",
        rng: Any = None,
    ) -> None:
        super().__init__()
        op = "Conv2d"
        self.in_channels = positive_int(in_channels, f"{op}: in_channels")
        self.out_channels = positive_int(out_channels, f"{op}: out_channels")
        self.groups = positive_int(groups, f"{op}: groups")
        self.kernel_size = int_pair(kernel_size, op, "kernel_size", 1)
        self.stride = int_pair(stride, op, "stride", 1)
        self.padding = int_pair(padding, op, "padding", 0)
        self.dilation = int_pair(dilation, op, "dilation", 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise InvalidArgumentError(
                f"{op}: groups={self.groups} must divide in_channels ({self.in_channels}) and "
                f"out_channels ({self.out_channels})"
            )
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight, self.bias = initial_parameters(
            op, init, shape, "(out_channels, in_channels / groups, kh, kw)", bias, rng
        )

    def forward(self, x: Any) -> Tensor:
        x = as_input(x, self.weight.dtype)
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ShapeError(
                f"Conv2d(in_channels={self.in_channels}): expected input of shape "
                f"(N, {self.in_channels}, H, W) or ({self.in_channels}, H, W); got {x.shape}"
            )
        return x.conv2d(
            self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")

    def config(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "dilation": list(self.dilation),
                "groups": self.groups, "bias": self.bias is not None}


class _Pool2d(Module):
    """What both pooling layers share: kernel_size, stride (default: the kernel), padding."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        op = type(self).__name__
        self.kernel_size = int_pair(kernel_size, op, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else int_pair(stride, op, "stride", 1)
        self.padding = int_pair(padding, op, "padding", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise InvalidArgumentError(
                f"{op}: padding {self.padding} must be at most half the kernel size "
                f"{self.kernel_size}"
            )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding)}


class MaxPool2d(_Pool2d):
    """The largest value of each window, per channel (PyTorch's nn.MaxPool2d).

    Args:
        kernel_size: an int or a pair. stride: defaults to kernel_size. padding: at most half
            the kernel; padded positions never win.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import MaxPool2d
        >>> MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).max_pool2d(self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each window, per channel (PyTorch's nn.AvgPool2d, count_include_pad=True).

    Args:
        kernel_size: an int or a pair. stride: defaults to kernel_size. padding: at most half
            the kernel; padded zeros count in the mean.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import AvgPool2d
        >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4)).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    def forward(self, x: Any) -> Tensor:
        return as_input(x).avg_pool2d(self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """Merge the axes from start_dim to end_dim into one (PyTorch's nn.Flatten: from axis 1,
    keeping the batch axis), e.g. feature maps (N, C, H, W) into rows (N, C H W) for Linear.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.nn import Flatten
        >>> Flatten()(np.zeros((2, 3, 4, 4))).shape
        (2, 48)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidArgumentError(f"Flatten: {name} must be an integer; got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        return as_input(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}
