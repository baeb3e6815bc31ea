"""Every mistake of the reliability issue raises the library's own error, with a teaching message.

Each test asserts three things about the error:

* its class (exactly, so a BackwardError test fails if an InPlaceError comes instead);
* that it is also the matching built-in (``ShapeError`` is a ``ValueError`` ...), so
  ``except ValueError`` written for numpy keeps working, and a ``TinygradEduError``;
* that the message names the operation, the shapes or values involved, and the fix (or
  what would be valid).
"""

import re

import numpy as np
import pytest

from tinygrad_edu import (
    AxisError,
    BackwardError,
    DTypeError,
    IndexingError,
    InvalidArgumentError,
    ShapeError,
    Tensor,
    TinygradEduError,
    no_grad,
)
from tinygrad_edu.autograd import grad
from tinygrad_edu.functional import value_and_grad
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    max_margin_loss,
    mse_loss,
    multiclass_hinge_loss,
)
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import (
    SGD,
    AdaGrad,
    Adam,
    DelayedInverseDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LambdaSchedule,
    Newton,
    QuadraticDecay,
    RMSProp,
    StepDecay,
)

# ----------------------------------------------------------------------------- helpers


def shape_re(shape: tuple[int, ...]) -> str:
    """A regex for a shape as Python prints it, ``(2, 3)``, or as numpy does, ``(2,3)``."""
    dims = [str(n) for n in shape]
    inner = r",\s?".join(dims) + (r",?" if len(dims) == 1 else "")
    return r"\(" + inner + r"\)"


def check(excinfo: pytest.ExceptionInfo, cls: type, builtin: type, *patterns: str) -> str:
    """The error is exactly ``cls``, also ``builtin`` and TinygradEduError; every pattern
    (a regex) occurs in the message. Returns the message."""
    err = excinfo.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert isinstance(err, builtin)
    assert isinstance(err, TinygradEduError)
    message = str(err)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in the message: {message}"
    return message


def ones(*shape: int) -> Tensor:
    return Tensor(np.ones(shape), requires_grad=True)


# ----------------------------------------------------------------------------- broadcasting

A_SHAPE, B_SHAPE = (2, 3), (4,)

# (id, the operation on a Tensor a of A_SHAPE and a Tensor b of B_SHAPE, op-name regex)
BINARY_OPS = [
    ("add", lambda a, b: a + b, r"Add|\+"),
    ("sub", lambda a, b: a - b, r"Sub|-"),
    ("mul", lambda a, b: a * b, r"Mul|\*"),
    ("div", lambda a, b: a / b, r"Div|/"),
    ("pow", lambda a, b: a**b, r"Pow|\*\*"),
    ("array + tensor", lambda a, b: b.data + a, r"Add|\+"),
    ("list * tensor", lambda a, b: b.tolist() * a, r"Mul|\*"),
    ("tensor - list", lambda a, b: a - b.tolist(), r"Sub|-"),
    ("maximum", Tensor.maximum, r"[Mm]aximum"),
    ("minimum", Tensor.minimum, r"[Mm]inimum"),
    ("np.maximum", np.maximum, r"[Mm]aximum"),
    ("where", lambda a, b: Tensor.where(np.ones(A_SHAPE, bool), a, b), r"[Ww]here"),
    ("<", lambda a, b: a < b, r"less|<"),
    ("<=", lambda a, b: a <= b, r"less_equal|<="),
    (">", lambda a, b: a > b, r"greater|>"),
    (">=", lambda a, b: a >= b, r"greater_equal|>="),
    ("==", lambda a, b: a == b, r"equal|=="),
    ("!=", lambda a, b: a != b, r"not_equal|!="),
]

# Words that tell the user what would fit: a rule, a remedy.
BROADCAST_FIX = r"must|equal or 1|compatible|broadcastable|reshape|unsqueeze|expected"


@pytest.mark.parametrize("op, name", [(f, n) for _, f, n in BINARY_OPS],
                         ids=[i for i, _, _ in BINARY_OPS])
def test_broadcast_mismatch_names_op_and_both_shapes(op, name):
    with pytest.raises(ShapeError) as excinfo:
        op(ones(*A_SHAPE), ones(*B_SHAPE))
    check(excinfo, ShapeError, ValueError, name, shape_re(A_SHAPE), shape_re(B_SHAPE))


@pytest.mark.parametrize("op", [f for _, f, _ in BINARY_OPS], ids=[i for i, _, _ in BINARY_OPS])
def test_broadcast_mismatch_says_what_would_fit(op):
    """numpy's "operands could not be broadcast together" states the problem, not the fix."""
    with pytest.raises(ShapeError) as excinfo:
        op(ones(*A_SHAPE), ones(*B_SHAPE))
    check(excinfo, ShapeError, ValueError, BROADCAST_FIX)


def test_where_condition_of_the_wrong_shape():
    with pytest.raises(ShapeError) as excinfo:
        Tensor.where(np.ones(5, bool), ones(2, 3), ones(2, 3))
    check(excinfo, ShapeError, ValueError, r"[Ww]here", shape_re((5,)), shape_re((2, 3)))


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
@pytest.mark.parametrize("t_shape, other_shape", [((2, 3), (4,)), ((3,), (2, 3))])
def test_inplace_operator_shape_mismatch(symbol, t_shape, other_shape):
    t = Tensor(np.ones(t_shape))
    other = np.ones(other_shape)
    with pytest.raises(ShapeError) as excinfo:
        if symbol == "+=":
            t += other
        elif symbol == "-=":
            t -= other
        elif symbol == "*=":
            t *= other
        else:
            t /= other
    check(excinfo, ShapeError, ValueError, re.escape(symbol), shape_re(t_shape),
          shape_re(other_shape), "must keep the tensor's shape")
    np.testing.assert_array_equal(t.data, np.ones(t_shape))  # nothing was written


# ----------------------------------------------------------------------------- joining


def test_concatenate_mismatched_sizes():
    with pytest.raises(ShapeError) as excinfo:
        Tensor.concatenate([ones(2, 3), ones(2, 4)], axis=0)
    check(excinfo, ShapeError, ValueError, r"[Cc]oncatenate", shape_re((2, 3)),
          shape_re((2, 4)), "must match")


def test_concatenate_different_numbers_of_dims():
    with pytest.raises(ShapeError) as excinfo:
        Tensor.concatenate([ones(2, 3), ones(4)])
    check(excinfo, ShapeError, ValueError, "concatenate", shape_re((2, 3)), shape_re((4,)),
          "need the same number of dims")


def test_concatenate_axis_out_of_range():
    with pytest.raises(AxisError) as excinfo:
        Tensor.concatenate([ones(2, 3), ones(2, 3)], axis=2)
    check(excinfo, AxisError, IndexError, "concatenate", "axis 2", "2 dims")


def test_stack_mismatched_shapes():
    with pytest.raises(ShapeError) as excinfo:
        Tensor.stack([ones(2, 3), ones(3, 2)])
    check(excinfo, ShapeError, ValueError, "stack", shape_re((2, 3)), shape_re((3, 2)),
          "need the same shape")


def test_join_nothing():
    for op in (Tensor.concatenate, Tensor.stack):
        with pytest.raises(ShapeError) as excinfo:
            op([])
        check(excinfo, ShapeError, ValueError, op.__name__, "at least one tensor")


# ----------------------------------------------------------------------------- matmul


@pytest.mark.parametrize(
    "x_shape, y_shape, k_x, k_y",
    [((2, 3), (4, 2), 3, 4), ((3,), (4,), 3, 4), ((2, 3), (4,), 3, 4), ((3,), (4, 2), 3, 4),
     ((5, 2, 3), (5, 4, 2), 3, 4)],
)
def test_matmul_inner_dimensions(x_shape, y_shape, k_x, k_y):
    with pytest.raises(ShapeError) as excinfo:
        ones(*x_shape) @ ones(*y_shape)
    check(excinfo, ShapeError, ValueError, "matmul", "inner dimensions", shape_re(x_shape),
          shape_re(y_shape), rf"\({k_x}\) must equal .*\({k_y}\)")


def test_matmul_with_a_scalar():
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3) @ Tensor(2.0)
    check(excinfo, ShapeError, ValueError, "matmul", shape_re((2, 3)), r"\(\)", "Use \\*")


def test_matmul_batch_dimensions_names_shapes():
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3, 4) @ ones(5, 4, 2)
    check(excinfo, ShapeError, ValueError, "[Mm]atmul", shape_re((2, 3, 4)), shape_re((5, 4, 2)))


def test_matmul_batch_dimensions_says_what_would_fit():
    """The batch dims (2 and 5) must broadcast; numpy's "remapped shapes" text does not say so."""
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3, 4) @ ones(5, 4, 2)
    message = check(excinfo, ShapeError, ValueError, BROADCAST_FIX)
    assert "newaxis" not in message and "remapped" not in message, message


# ----------------------------------------------------------------------------- shape operations


def test_reshape_to_another_number_of_elements():
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3).reshape(4, 2)
    check(excinfo, ShapeError, ValueError, "[Rr]eshape", r"\b6\b", shape_re((4, 2)),
          shape_re((2, 3)))


def test_reshape_says_what_would_fit():
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3).reshape(4, 2)
    check(excinfo, ShapeError, ValueError, r"must|same number of elements|needs?")


@pytest.mark.parametrize(
    "call, patterns",
    [
        (lambda t: t.transpose(0, 0), ["transpose", r"\(0, 0\)", "not a permutation",
                                       shape_re((2, 3))]),
        (lambda t: t.transpose(0, 2), ["transpose", "axis 2", "2 dims"]),
        (lambda t: t.swapaxes(0, 3), ["swapaxes", "axis 3", "2 dims"]),
        (lambda t: t.squeeze(0), ["squeeze", "axis 0", shape_re((2, 3)), "length 2, not 1"]),
        (lambda t: t.unsqueeze(5), ["unsqueeze", "axis 5", "3 dims"]),
        (lambda t: t.flatten(5), ["flatten", "axis 5", "2 dims"]),
        (lambda t: t.sum(axis=2), ["sum", "axis 2", "2 dims"]),
        (lambda t: t.sum(axis=(0, 0)), ["sum", r"\(0, 0\)", "repeats an axis"]),
        (lambda t: t.mean(axis=-3), ["mean", "axis -3", "2 dims"]),
        (lambda t: t.var(axis=2), ["var", "axis 2", "2 dims"]),
        (lambda t: t.std(axis=2), ["std", "axis 2", "2 dims"]),
        (lambda t: t.logsumexp(axis=2), ["logsumexp", "axis 2", "2 dims"]),
        (lambda t: t.max(axis=2), ["max", "axis 2", "2 dims"]),
        (lambda t: t.softmax(axis=3), ["softmax", "axis 3", "2 dims"]),
        (lambda t: t.log_softmax(axis=-3), ["log_softmax", "axis -3", "2 dims"]),
        (lambda t: t.argmax(axis=2), ["argmax", "axis 2", "2 dims"]),
        (lambda t: t.item(), ["item", shape_re((2, 3)), r"t\.sum\(\)\.item\(\)"]),
    ],
    ids=["transpose-perm", "transpose-axis", "swapaxes", "squeeze", "unsqueeze", "flatten",
         "sum", "sum-repeat", "mean", "var", "std", "logsumexp", "max", "softmax", "log_softmax",
         "argmax", "item"],
)
def test_shape_and_axis_errors(call, patterns, request):
    # An axis out of range is an AxisError: a ShapeError (ValueError) and an IndexError.
    cls = ShapeError if request.node.callspec.id in SHAPE_NOT_AXIS else AxisError
    with pytest.raises(cls) as excinfo:
        call(ones(2, 3))
    check(excinfo, cls, ValueError, *patterns)


SHAPE_NOT_AXIS = {"transpose-perm", "squeeze", "sum-repeat", "item"}


def test_expand_to_an_incompatible_shape_names_both_shapes():
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3).expand(4, 3)
    check(excinfo, ShapeError, ValueError, "[Ee]xpand", shape_re((2, 3)), shape_re((4, 3)))


@pytest.mark.parametrize("target", [(4, 3), (3,)], ids=["other-dims", "fewer-dims"])
def test_expand_says_what_would_fit(target):
    with pytest.raises(ShapeError) as excinfo:
        ones(2, 3).expand(*target)
    message = check(excinfo, ShapeError, ValueError, shape_re(target),
                    r"must|equal or 1|only .*length 1|at least")
    assert "remapping" not in message and "remapped" not in message, message


def test_reductions_of_empty_tensors_and_ddof():
    with pytest.raises(ShapeError) as excinfo:
        Tensor(np.zeros(0)).max()
    check(excinfo, ShapeError, ValueError, "max", shape_re((0,)), "empty")
    with pytest.raises(ShapeError) as excinfo:
        Tensor([1.0]).var(ddof=1)
    check(excinfo, ShapeError, ValueError, "var", "ddof=1", "needs more than 1")


# ----------------------------------------------------------------------------- indexing


@pytest.mark.parametrize(
    "index, patterns",
    [
        (5, [r"\b5\b", "axis 0", "size 2"]),
        (-3, [r"-3", "axis 0", "size 2"]),
        ((0, 7), [r"\b7\b", "axis 1", "size 3"]),
        ([0, 5], [r"\b5\b", "axis 0", "size 2"]),
        ((0, 0, 0), ["too many indices", "2-dimensional"]),
        (np.array([True, False, True]), ["boolean", "size of axis is 2", r"\b3\b"]),
    ],
    ids=["row", "negative", "column", "list", "too-many", "mask"],
)
def test_index_out_of_range(index, patterns):
    with pytest.raises(IndexingError) as excinfo:
        ones(2, 3)[index]
    check(excinfo, IndexingError, IndexError, shape_re((2, 3)), *patterns)


def test_index_with_a_float_tensor():
    with pytest.raises(IndexingError) as excinfo:
        ones(2, 3)[Tensor([0.0])]
    check(excinfo, IndexingError, IndexError, "integers or booleans", "float32", "np.int64")


# ----------------------------------------------------------------------------- backward


def test_backward_on_a_non_scalar_without_grad():
    y = ones(2, 3) * 2
    with pytest.raises(BackwardError) as excinfo:
        y.backward()
    check(excinfo, BackwardError, RuntimeError, r"backward\(\)", "one-element",
          shape_re((2, 3)), r"out\.sum\(\)\.backward\(\)")


def test_backward_with_a_grad_of_the_wrong_shape():
    y = ones(2, 3) * 2
    with pytest.raises(ShapeError) as excinfo:
        y.backward(np.ones((3, 2)))
    check(excinfo, ShapeError, ValueError, "backward", shape_re((3, 2)), shape_re((2, 3)),
          "must be equal")


def test_grad_with_a_grad_output_of_the_wrong_shape():
    x = ones(2, 3)
    with pytest.raises(ShapeError) as excinfo:
        grad(x * 2, [x], grad_output=np.ones(6))
    check(excinfo, ShapeError, ValueError, "grad", shape_re((6,)), shape_re((2, 3)))


def test_backward_through_a_freed_graph():
    x = ones(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(BackwardError) as excinfo:
        y.backward()
    check(excinfo, BackwardError, RuntimeError, "second time", "Sum", "freed",
          "retain_graph=True")
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])  # the failed call added nothing


def test_grad_through_a_freed_graph():
    x = ones(3)
    y = (x * x).sum()
    grad(y, [x])
    with pytest.raises(BackwardError) as excinfo:
        grad(y, [x])
    check(excinfo, BackwardError, RuntimeError, "freed", "retain_graph=True")


def test_backward_on_a_tensor_not_requiring_grad():
    with pytest.raises(BackwardError) as excinfo:
        Tensor([1.0, 2.0]).sum().backward()
    check(excinfo, BackwardError, RuntimeError, "does not require grad", "requires_grad=True")


def test_backward_on_an_output_computed_under_no_grad():
    x = ones(3)
    with no_grad():
        y = (x * x).sum()
    with pytest.raises(BackwardError) as excinfo:
        y.backward()
    check(excinfo, BackwardError, RuntimeError, "does not require grad", "no_grad")


def test_grad_with_respect_to_a_tensor_not_requiring_grad():
    x = ones(3)
    with pytest.raises(BackwardError) as excinfo:
        grad((x * 2).sum(), [Tensor([1.0])])
    check(excinfo, BackwardError, RuntimeError, "input 0", "requires_grad=True")


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor([1, 2], dtype=np.int64, requires_grad=True),
        lambda: Tensor(np.array([True, False]), dtype=np.bool_, requires_grad=True),
        lambda: Tensor(np.array([1, 2], dtype=np.int32), dtype=np.int32).requires_grad_(),
        lambda: Tensor.zeros(3, dtype=np.int64, requires_grad=True),
        lambda: Tensor.ones(2, dtype=np.bool_, requires_grad=True),
        lambda: Tensor.full((2,), 3, dtype=np.int8, requires_grad=True),
        lambda: Tensor.arange(3, dtype=np.int32).requires_grad_(),
        lambda: Tensor.zeros_like(np.zeros(2, dtype=np.int64), requires_grad=True),
        lambda: Tensor([1.0]).astype(np.int64).requires_grad_(),
    ],
    ids=["int64", "bool", "int32-requires_grad_", "zeros", "ones-bool", "full", "arange",
         "zeros_like", "astype"],
)
def test_integer_and_boolean_tensors_cannot_require_grad(make):
    with pytest.raises(DTypeError) as excinfo:
        make()
    check(excinfo, DTypeError, TypeError, "floating-point", r"int\d+|bool", r"astype")


# ----------------------------------------------------------------------------- optimisers

BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), -0.5]
BAD_IDS = ["nan", "inf", "-inf", "negative"]

# (optimiser, valid arguments, the argument to spoil, the name the message uses)
HYPER = [
    (SGD, {"lr": 0.1}, "lr", "lr"),
    (SGD, {"lr": 0.1}, "momentum", "momentum"),
    (SGD, {"lr": 0.1}, "weight_decay", "weight_decay"),
    (Adam, {"lr": 0.1}, "lr", "lr"),
    (Adam, {"lr": 0.1}, "eps", "eps"),
    (Adam, {"lr": 0.1}, "weight_decay", "weight_decay"),
    (Adam, {"lr": 0.1}, "betas[0]", r"betas\[0\]"),
    (Adam, {"lr": 0.1}, "betas[1]", r"betas\[1\]"),
    (RMSProp, {"lr": 0.1}, "lr", "lr"),
    (RMSProp, {"lr": 0.1}, "decay", "decay"),
    (RMSProp, {"lr": 0.1}, "eps", "eps"),
    (AdaGrad, {"lr": 0.1}, "lr", "lr"),
    (AdaGrad, {"lr": 0.1}, "eps", "eps"),
    (Newton, {}, "damping", "damping"),
]


def _spoil(kwargs: dict, name: str, value: float) -> dict:
    kwargs = dict(kwargs)
    if name.startswith("betas"):
        betas = [0.9, 0.999]
        betas[int(name[6])] = value
        kwargs["betas"] = tuple(betas)
    else:
        kwargs[name] = value
    return kwargs


def _value_re(value: float) -> str:
    return re.escape(repr(float(value)))


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=BAD_IDS)
@pytest.mark.parametrize("cls, kwargs, name, shown", HYPER,
                         ids=[f"{c.__name__}-{n}" for c, _, n, _ in HYPER])
def test_optimiser_rejects_non_finite_and_negative_hyper_parameters(cls, kwargs, name, shown,
                                                                    value):
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(InvalidArgumentError) as excinfo:
        cls([w], **_spoil(kwargs, name, value))
    check(excinfo, InvalidArgumentError, ValueError, cls.__name__, shown, _value_re(value),
          r"must be a finite number in [\[(]")


@pytest.mark.parametrize("cls", [SGD, Adam, RMSProp, AdaGrad])
def test_optimiser_rejects_zero_learning_rate_and_a_bool(cls):
    w = Tensor([1.0], requires_grad=True)
    for lr, shown in ((0.0, "0.0"), (True, "True")):
        with pytest.raises(InvalidArgumentError) as excinfo:
            cls([w], lr=lr)
        check(excinfo, InvalidArgumentError, ValueError, cls.__name__, "lr", shown)


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=BAD_IDS)
@pytest.mark.parametrize("cls", [SGD, Adam, RMSProp, AdaGrad])
def test_learning_rate_spoiled_by_hand_is_refused_at_step(cls, value):
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = cls([w], lr=0.1)
    (w * w).sum().backward()
    opt.lr = value
    with pytest.raises(InvalidArgumentError) as excinfo:
        opt.step()
    check(excinfo, InvalidArgumentError, ValueError, f"{cls.__name__}.step", "lr",
          _value_re(value), "set by hand")
    assert w.tolist() == [1.0, 2.0]
    assert opt.step_count == 0


@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_newton_max_params_must_be_a_positive_integer(value):
    with pytest.raises(InvalidArgumentError) as excinfo:
        Newton([Tensor([1.0], requires_grad=True)], max_params=value)
    check(excinfo, InvalidArgumentError, ValueError, "Newton", "max_params",
          "integer >= 1", re.escape(repr(value)))


def test_newton_above_its_parameter_limit():
    model = MLP([10, 50, 30], rng=0)  # 10*50 + 50 + 50*30 + 30 = 2080 parameters
    with pytest.raises(InvalidArgumentError) as excinfo:
        Newton(model.parameters())
    check(excinfo, InvalidArgumentError, ValueError, "Newton", r"\b2080\b",
          "max_params=1000", "Use SGD or Adam")


def test_newton_at_its_parameter_limit_is_accepted():
    Newton([Tensor(np.zeros(10), requires_grad=True)], max_params=10)
    with pytest.raises(InvalidArgumentError) as excinfo:
        Newton([Tensor(np.zeros(11), requires_grad=True)], max_params=10)
    check(excinfo, InvalidArgumentError, ValueError, r"\b11 parameters", "max_params=10")


# ----------------------------------------------------------------------------- schedules


def _opt() -> SGD:
    return SGD([Tensor([1.0], requires_grad=True)], lr=0.1)


# (schedule, its arguments with the spoiled one as the placeholder "BAD", name in the message)
SCHEDULE_HYPER = [
    (StepDecay, {"step_size": 2, "factor": "BAD"}, "factor"),
    (ExponentialDecay, {"k": "BAD"}, "k"),
    (DelayedInverseDecay, {"tau": "BAD"}, "tau"),
]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=BAD_IDS)
@pytest.mark.parametrize("cls, kwargs, name", SCHEDULE_HYPER,
                         ids=[c.__name__ for c, _, _ in SCHEDULE_HYPER])
def test_schedule_rejects_non_finite_and_negative_arguments(cls, kwargs, name, value):
    opt = _opt()
    args = {k: (value if v == "BAD" else v) for k, v in kwargs.items()}
    with pytest.raises(InvalidArgumentError) as excinfo:
        cls(opt, **args)
    check(excinfo, InvalidArgumentError, ValueError, cls.__name__, name, _value_re(value),
          "must be a finite number")
    assert opt.lr == 0.1


@pytest.mark.parametrize("value", [0, -2, 1.5, True])
def test_step_decay_step_size_must_be_a_positive_integer(value):
    with pytest.raises(InvalidArgumentError) as excinfo:
        StepDecay(_opt(), step_size=value, factor=0.5)
    check(excinfo, InvalidArgumentError, ValueError, "StepDecay", "step_size", "integer >= 1",
          re.escape(repr(value)))


SCHEDULES = [
    lambda opt: StepDecay(opt, step_size=2, factor=0.5),
    lambda opt: ExponentialDecay(opt, k=0.1),
    InverseTimeDecay,
    QuadraticDecay,
    lambda opt: DelayedInverseDecay(opt, tau=3),
    lambda opt: LambdaSchedule(opt, lambda t: 1.0),
]
SCHEDULE_IDS = ["StepDecay", "ExponentialDecay", "InverseTimeDecay", "QuadraticDecay",
                "DelayedInverseDecay", "LambdaSchedule"]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=BAD_IDS)
@pytest.mark.parametrize("make", SCHEDULES, ids=SCHEDULE_IDS)
def test_every_schedule_rejects_a_spoiled_starting_rate(make, value):
    opt = _opt()
    opt.lr = value
    with pytest.raises(InvalidArgumentError) as excinfo:
        make(opt)
    check(excinfo, InvalidArgumentError, ValueError, "optimizer.lr", _value_re(value),
          "must be a finite number")


@pytest.mark.parametrize("factor", [float("nan"), float("inf"), -1.0], ids=["nan", "inf", "neg"])
def test_lambda_schedule_rejects_a_bad_rate_at_construction(factor):
    opt = _opt()
    with pytest.raises(InvalidArgumentError) as excinfo:
        LambdaSchedule(opt, lambda t: factor)
    check(excinfo, InvalidArgumentError, ValueError, "LambdaSchedule", "t=0",
          _value_re(0.1 * factor), "must be a finite number >= 0")
    assert opt.lr == 0.1


def test_lambda_schedule_rejects_a_bad_rate_later_and_changes_nothing():
    opt = _opt()
    schedule = LambdaSchedule(opt, lambda t: 1.0 if t < 2 else float("nan"))
    schedule.step()
    with pytest.raises(InvalidArgumentError) as excinfo:
        schedule.step()
    check(excinfo, InvalidArgumentError, ValueError, "LambdaSchedule", "t=2", "nan")
    assert schedule.t == 1 and opt.lr == 0.1


# ----------------------------------------------------------------------------- losses

LOSS_CALLS = [
    ("mse_loss", lambda r: mse_loss(ones(3), np.zeros(3), reduction=r)),
    ("cross_entropy", lambda r: cross_entropy(ones(2, 3), [0, 1], reduction=r)),
    ("binary_cross_entropy",
     lambda r: binary_cross_entropy(Tensor([0.5, 0.5], requires_grad=True), [0, 1], reduction=r)),
    ("binary_cross_entropy_with_logits",
     lambda r: binary_cross_entropy_with_logits(ones(2), [0, 1], reduction=r)),
    ("hinge_loss", lambda r: hinge_loss(ones(2), [1, -1], reduction=r)),
    ("multiclass_hinge_loss", lambda r: multiclass_hinge_loss(ones(2, 3), [0, 2], reduction=r)),
    ("max_margin_loss", lambda r: max_margin_loss(ones(2), ones(2), reduction=r)),
]


@pytest.mark.parametrize("reduction", ["avg", "MEAN", None])
@pytest.mark.parametrize("name, call", LOSS_CALLS, ids=[n for n, _ in LOSS_CALLS])
def test_unknown_loss_reduction(name, call, reduction):
    call("mean")  # the arguments are valid: only the reduction is wrong below
    with pytest.raises(InvalidArgumentError) as excinfo:
        call(reduction)
    check(excinfo, InvalidArgumentError, ValueError, rf"^{name}:", "unknown reduction",
          re.escape(repr(reduction)), "'mean', 'sum', 'none'")


@pytest.mark.parametrize("loss", [cross_entropy, multiclass_hinge_loss])
@pytest.mark.parametrize(
    "labels, shown",
    [([0, 3], r"got 3\b"), ([-1, 0], r"got -1\b"), ([0, 1, 7], r"got 7\b")],
    ids=["C", "negative", "far"],
)
def test_class_labels_out_of_range(loss, labels, shown):
    scores = ones(len(labels), 3)
    with pytest.raises(InvalidArgumentError) as excinfo:
        loss(scores, labels)
    check(excinfo, InvalidArgumentError, ValueError, loss.__name__, r"\[0, 3\)", "C = 3", shown)


@pytest.mark.parametrize("loss", [cross_entropy, multiclass_hinge_loss])
def test_class_labels_counting_from_one_get_a_hint(loss):
    with pytest.raises(InvalidArgumentError) as excinfo:
        loss(ones(3, 3), [1, 2, 3])
    check(excinfo, InvalidArgumentError, ValueError, loss.__name__, "got 3", "subtract 1")


@pytest.mark.parametrize("loss", [cross_entropy, multiclass_hinge_loss])
def test_class_labels_that_are_not_whole_numbers(loss):
    with pytest.raises(InvalidArgumentError) as excinfo:
        loss(ones(2, 3), np.array([0.0, 1.5]))
    check(excinfo, InvalidArgumentError, ValueError, loss.__name__, "whole numbers", "1.5")


def test_class_labels_that_are_booleans():
    with pytest.raises(DTypeError) as excinfo:
        cross_entropy(ones(2, 3), np.array([True, False]))
    check(excinfo, DTypeError, TypeError, "cross_entropy", "booleans", r"astype\(int\)")


def test_hinge_labels_in_zero_one():
    with pytest.raises(InvalidArgumentError) as excinfo:
        hinge_loss(ones(3), [0, 1, 1])
    check(excinfo, InvalidArgumentError, ValueError, "hinge_loss", "-1 or \\+1", "got 0",
          r"y = 2 \* y - 1")


@pytest.mark.parametrize("labels, shown", [([2, 1], "got 2"), ([1, 0.5], "got 0.5"),
                                           ([1, np.nan], "got nan")])
def test_hinge_labels_other_values(labels, shown):
    with pytest.raises(InvalidArgumentError) as excinfo:
        hinge_loss(ones(2), labels)
    check(excinfo, InvalidArgumentError, ValueError, "hinge_loss", "-1 or \\+1", shown)


# ----------------------------------------------------------------------------- no plain errors


@pytest.mark.parametrize(
    "call, cls",
    [
        (lambda: ones(3).clip(2.0, 1.0), InvalidArgumentError),
        (lambda: ones(3).clip(), InvalidArgumentError),
        (lambda: gradcheck(lambda x: x * 2, [Tensor([1.0], dtype=np.float64)]),
         InvalidArgumentError),
        (lambda: value_and_grad(lambda x: x.sum(), argnums=3)(np.ones(2)), IndexingError),
    ],
    ids=["clip-lo-above-hi", "clip-no-bound", "gradcheck-nothing-to-check",
         "value_and_grad-argnums"],
)
def test_deliberate_errors_are_the_librarys_own(call, cls):
    """Errors raised on purpose derive from TinygradEduError, so one except clause catches all."""
    with pytest.raises(Exception) as excinfo:
        call()
    assert isinstance(excinfo.value, TinygradEduError), (
        f"{type(excinfo.value).__name__} is not a TinygradEduError: {excinfo.value}"
    )
    assert isinstance(excinfo.value, cls)
