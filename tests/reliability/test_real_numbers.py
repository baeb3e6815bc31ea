"""Real numbers only, wherever data enters; big Python ints become floats; clear messages.

Complex values would flow through the operations and lose their imaginary part in backward;
strings and objects would fail deep inside numpy or turn into NaN. Each way in is checked:
the constructor, ``.data =``, ``.grad =``, backward's ``grad``, operands of operators, the
DataLoader, and (in test_all_or_nothing) optimiser state and load_state_dict.
"""

import numpy as np
import pytest

from tinygrad_edu import (
    DTypeError,
    InPlaceError,
    InvalidArgumentError,
    ShapeError,
    Tensor,
    no_grad,
)
from tinygrad_edu.data import DataLoader
from tinygrad_edu.optim import SGD

# ----------------------------------------------------------------------------- the constructor


@pytest.mark.parametrize("dtype", [object, str, complex, np.complex64, "U3", "S2", "V8"])
def test_non_real_dtypes_are_refused(dtype):
    with pytest.raises(DTypeError, match="real numbers only"):
        Tensor([1, 2], dtype=dtype)


@pytest.mark.parametrize(
    "data, shown",
    [
        (np.array([1 + 2j]), "complex128"),
        ([1j, 2.0], "complex"),
        (np.array([None] * 3), "object"),
        ([None, 1.0], "object"),
        ("abc", "str"),
    ],
    ids=["complex-array", "complex-list", "none-array", "none-list", "string"],
)
def test_non_real_data_is_refused(data, shown):
    with pytest.raises(DTypeError, match=shown):
        Tensor(data)


def test_python_ints_beyond_int64_become_floats():
    big = Tensor(2**100)
    assert big.dtype == np.float32 and big.item() == np.float32(2.0**100)
    mixed = Tensor([1.0, 2**70], dtype=None)
    assert mixed.dtype == np.float32
    np.testing.assert_array_equal(mixed.data, np.array([1.0, 2.0**70], dtype=np.float32))
    exact = Tensor([3, 2**80], dtype=np.float64)
    assert exact.tolist() == [3.0, 2.0**80]


def test_a_python_int_beyond_float64_is_a_clear_error():
    with pytest.raises(DTypeError, match="too large even for float64"):
        Tensor([1, 2**1100])


# ----------------------------------------------------------------------------- .data and .grad


def test_integer_data_on_a_tensor_that_requires_grad_is_refused():
    """PyTorch's rule for .data: gradients of integer data would come out as integers."""
    x = Tensor([1.5, 2.5], requires_grad=True)
    old = x.data
    with pytest.raises(DTypeError, match=r"requires grad.*int64.*astype\(np.float32\)"):
        x.data = np.array([1, 2])
    assert x.data is old
    x.data = np.array([1, 2]).astype(np.float32)  # what the message suggests works
    (x * x).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]


def test_integer_data_on_a_constant_is_kept_as_given():
    t = Tensor([0.5, 1.5])
    value = np.array([1, 2])
    t.data = value
    assert t.data is value


@pytest.mark.parametrize("value", [np.array([1j, 2j]), np.array(["a", "b"]), [None, None]])
def test_non_real_data_assignment_is_refused(value):
    t = Tensor([0.5, 1.5])
    with pytest.raises(DTypeError, match="t.data = value: expected an array of real numbers"):
        t.data = value


@pytest.mark.parametrize(
    "value, error, shown",
    [
        ("abc", DTypeError, "str"),
        (np.array(["1", "2"]), DTypeError, "<U1"),
        (np.array([1j, 0]), DTypeError, "complex128"),
        ([[1.0], [1.0, 2.0]], DTypeError, "list"),
        (np.ones(3), ShapeError, r"shape \(2,\); got shape \(3,\)"),
    ],
    ids=["string", "strings", "complex", "ragged", "wrong-shape"],
)
def test_grad_assignment_is_checked(value, error, shown):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=shown):
        x.grad = value
    assert x.grad is None


def test_grad_assignment_converts_real_numbers_to_the_tensors_dtype():
    x = Tensor([1.0, 2.0], requires_grad=True)  # float32
    x.grad = [1, 2]
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 2.0]
    g = np.array([0.5, 0.25], dtype=np.float32)
    x.grad = g
    assert x.grad is g  # the array itself when it already fits


def test_a_string_grad_is_named_by_the_optimiser_too():
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    Tensor._grad.__set__(w, "0.5")  # behind the assignment's check
    with pytest.raises(DTypeError, match=r"SGD.step: the gradient of parameter 0 .*str"):
        opt.step()
    assert w.tolist() == [1.0, 2.0]


# ----------------------------------------------------------------------------- backward's grad


@pytest.mark.parametrize(
    "grad, shown",
    [
        (np.array([1 + 1j, 1, 1]), "complex128"),
        (np.array([None] * 3), "object"),
        (["a", "b", "c"], "<U1"),
    ],
    ids=["complex", "none", "strings"],
)
def test_backward_refuses_a_grad_that_is_not_real(grad, shown):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    message = rf"backward\(grad\): grad must hold real numbers.*{shown}"
    with pytest.raises(DTypeError, match=message):
        y.backward(grad)
    assert x.grad is None
    y.backward(np.array([1, 1, 1]))  # integers are real numbers: fine, and the graph is intact
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


# ----------------------------------------------------------------------------- operands


@pytest.mark.parametrize(
    "other", [1 + 2j, np.complex64(1j), np.array([1j, 2j]), np.array(["a", "b"]), [1j, 2]],
    ids=["complex", "np-complex", "complex-array", "strings", "complex-list"],
)
def test_operators_refuse_non_real_operands(other):
    x = Tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: x * other, lambda: other + x, lambda: x - other):
        with pytest.raises(DTypeError):
            op()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: Tensor.where(np.array([True, False]), np.array([1j, 2j]), t),
        lambda t: Tensor.where(np.array([True, False]), t, ["a", "b"]),
        lambda t: Tensor.maximum(t, np.array([1j, 1j])),
        lambda t: Tensor.minimum(np.array([None, None]), t),
        lambda t: Tensor.full((2,), 1j),
    ],
    ids=["where-complex", "where-strings", "maximum", "minimum", "full"],
)
def test_the_static_operations_refuse_non_real_values(call):
    with pytest.raises(DTypeError, match="real numbers only"):
        call(Tensor([1.0, 2.0], requires_grad=True))


# ----------------------------------------------------------------------------- messages


def test_arange_with_step_zero():
    with pytest.raises(InvalidArgumentError, match=r"arange\(0, 1, step=0\): the step must not"):
        Tensor.arange(0, 1, 0)


@pytest.mark.parametrize(
    "kwargs, shown",
    [
        ({"low": float("nan")}, "low=nan"),
        ({"high": float("inf")}, "high=inf"),
        ({"low": 2.0, "high": 1.0}, "low <= high"),
        ({"low": "0"}, "low must be a real number; got '0'"),
    ],
    ids=["nan-low", "inf-high", "reversed", "string"],
)
def test_uniform_bounds(kwargs, shown):
    with pytest.raises(InvalidArgumentError, match=shown):
        Tensor.uniform(3, **kwargs)


def test_uniform_with_equal_bounds_is_a_constant():
    assert Tensor.uniform(3, low=2.0, high=2.0, rng=0).tolist() == [2.0, 2.0, 2.0]


def test_a_ragged_dataloader_input():
    with pytest.raises(ShapeError, match=r"DataLoader: X is ragged: .*\[1, 2\]"):
        DataLoader([[1.0, 2.0], [3.0]], [0, 1], batch_size=1)


def test_a_string_dataloader_input():
    with pytest.raises(DTypeError, match="DataLoader: X must hold real numbers.*<U1"):
        DataLoader(np.array([["a"], ["b"]]), [0, 1], batch_size=1)


# ----------------------------------------------------------------------------- writes into .data


def test_writes_into_data_are_not_tracked_as_documented():
    """The choice (PyTorch's): writes into the array behind .data are documented, not
    detected. The documented example gives exactly the documented numbers."""
    doc = Tensor.data.__doc__
    assert "Warning" in doc and "x.data[...] = 10" in doc and "[20., 20.]" in doc
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[...] = 10
    y.backward()
    assert x.grad.tolist() == [20.0, 20.0]


@pytest.mark.parametrize(
    "change",
    [
        lambda x: setattr(x, "data", np.full(2, 10, dtype=np.float32)),
        lambda x: x.__setattr__("data", x.data * 0 + 10),
        lambda x: _in_no_grad(x),
    ],
    ids=["assign-data", "assign-expression", "no_grad-operator"],
)
def test_the_tracked_ways_to_change_data_raise_as_documented(change):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    change(x)
    with pytest.raises(InPlaceError, match="modified in place"):
        y.backward()


def _in_no_grad(x):
    with no_grad():
        x *= 0
