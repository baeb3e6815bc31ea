"""tinygrad_edu: a small, exact and fast autograd engine for learning and teaching backprop.

Example:
    >>> from tinygrad_edu import Tensor
    >>> w = Tensor([[1.0, -2.0]], requires_grad=True)
    >>> x = Tensor([[3.0], [4.0]])
    >>> loss = (w @ x).relu().sum()
    >>> loss.backward()
    >>> w.grad.tolist()
    [[0.0, 0.0]]
"""

from .autograd import Function, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .errors import (
    AnomalyError,
    ArgumentTypeError,
    AxisError,
    BackwardError,
    CheckpointError,
    DTypeError,
    GradcheckError,
    IndexingError,
    InPlaceError,
    InvalidArgumentError,
    ShapeError,
    TinygradEduError,
)
from .jit import jit
from .tensor import Tensor, get_default_dtype, set_default_dtype

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "AxisError",
    "BackwardError",
    "CheckpointError",
    "DTypeError",
    "Function",
    "GradcheckError",
    "InPlaceError",
    "IndexingError",
    "InvalidArgumentError",
    "ArgumentTypeError",
    "ShapeError",
    "Tensor",
    "TinygradEduError",
    "__version__",
    "detect_anomaly",
    "enable_grad",
    "get_default_dtype",
    "is_grad_enabled",
    "jit",
    "no_grad",
    "set_default_dtype",
]
