"""Tests for tinygrad_edu.expression: the safe language of command-line expressions.

Allowed expressions evaluate to the same numbers as the Tensor methods (and numpy), with
gradients checked by central differences; everything outside the language is refused when
parsed, before anything is evaluated.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.expression import FUNCTIONS, ExpressionError, parse_expression
from tinygrad_edu.gradcheck import gradcheck


def t64(values, name=None):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True, name=name)


X = np.array([[0.5, -2.0], [3.0, 1.5]])
Y = np.array([0.25, -1.0])


@pytest.mark.parametrize("text, expected", [
    ("x + y * 2", X + Y * 2),
    ("-x ** 2 / 4 - +y", -(X**2) / 4 - Y),
    ("x @ y", X @ Y),
    ("exp(y) + log(abs(y)) + sqrt(abs(x))", np.exp(Y) + np.log(np.abs(Y)) + np.sqrt(np.abs(X))),
    ("tanh(x) * sigmoid(y)", np.tanh(X) / (1 + np.exp(-Y))),
    ("relu(x) + softsign(x) + hardtanh(x)", np.maximum(X, 0) + X / (1 + np.abs(X))
     + np.clip(X, -1, 1)),
    ("x.tanh().sum()", np.tanh(X).sum()),
    ("sum(x, 0) + x.sum(1) + mean(x, axis=1)", X.sum(0) + X.sum(1) + X.mean(1)),
    ("sum(x, axis=1, keepdims=True)", X.sum(1, keepdims=True)),
    ("max(x) + min(x, axis=(0, 1)) + x.max(0)", X.max() + X.min() + X.max(0)),
    ("max(x, 0) + min(y, x)", np.maximum(X, 0) + np.minimum(Y, X)),
    ("max(1 + y - 2 * y, 0)", np.maximum(1 - Y, 0)),
    ("softmax(x, axis=0) + x.log_softmax()",
     np.exp(X) / np.exp(X).sum(0) + X - np.log(np.exp(X).sum(1, keepdims=True))),
    ("x[0] * y[-1] + x[:, 1:].sum()", X[0] * Y[-1] + X[:, 1:].sum()),
    ("2 ** 3 * x", 8 * X),
    ("exp(1) * y", np.e * Y),
])
def test_values_match_numpy(text, expected):
    e = parse_expression(text)
    out = e.evaluate({"x": Tensor(X), "y": Tensor(Y)})
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_variables_in_order_of_first_appearance():
    assert parse_expression("tanh(w * x + b) * x").variables == ("w", "x", "b")
    assert parse_expression("x.sum(axis=0)").variables == ("x",)
    assert parse_expression("3 * 4").variables == ()


def test_a_number_alone_is_a_float64_tensor():
    out = parse_expression("2 ** 0.5").evaluate({})
    assert isinstance(out, Tensor) and out.dtype == np.float64
    assert out.item() == 2**0.5


@pytest.mark.parametrize("text", [
    "max(1 + s_c - s, 0)",
    "softmax(s * s_c, axis=0) * s",
    "(s @ s_c) * tanh(s).mean() / (1 + abs(s_c))",
])
def test_gradients_are_backprop_of_the_recorded_operations(text):
    e = parse_expression(text)
    s = t64([2.5, 0.2, -0.7], "s")
    s_c = t64([1.0, 0.9, 0.3], "s_c")
    assert gradcheck(lambda s, s_c: e.evaluate({"s": s, "s_c": s_c}), [s, s_c])


def test_max_margin_gradient_numbers():
    s, s_c = t64([2.5, 0.2], "s"), t64([1.0, 0.9], "s_c")
    parse_expression("max(1 + s_c - s, 0)").evaluate({"s": s, "s_c": s_c}).sum().backward()
    assert s.grad.tolist() == [0.0, -1.0]  # the first pair beats the margin: no gradient
    assert s_c.grad.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("text, message", [
    ("__import__('os')", "the name '__import__' is not allowed"),
    ("x.__class__.__bases__", "the name '__bases__' is not allowed"),
    ("x.__class__", "the name '__class__' is not allowed"),
    ("__builtins__", "the name '__builtins__' is not allowed"),
    ("x.data", "the attribute 'data' is not allowed"),
    ("x.numpy()", "the method 'numpy' is not allowed"),
    ("x.__add__(x)", "the name '__add__' is not allowed"),
    ("import os", "not a valid expression"),
    ("x = 1", "not a valid expression"),
    ("lambda: x", "a lambda is not allowed"),
    ("x < 1", "a comparison is not allowed"),
    ("x and x", "and/or is not allowed"),
    ("[i for i in x]", "a comprehension is not allowed"),
    ("(x := 2)", "an assignment (:=) is not allowed"),
    ("'a' * 3", "the constant 'a' is not allowed"),
    ("True * x", "the constant True is not allowed"),
    ("1j * x", "the constant 1j is not allowed"),
    ("x // 2", "the operator FloorDiv is not allowed"),
    ("~x", "the operator Invert is not allowed"),
    ("eval('1')", "unknown function 'eval'"),
    ("exp(x)(x)", "calling the result of an expression is not allowed"),
    ("exp", "exp is a function"),
    ("exp()", "exp() needs an argument"),
    ("tanh(x, 1)", "tanh takes one argument"),
    ("sum(x, axis=y)", "the axis must be an integer"),
    ("sum(x, 0, axis=1)", "the axis is given twice"),
    ("sum(x, keepdims=1)", "keepdims must be True or False"),
    ("softmax(x, keepdims=True)", "softmax has no option 'keepdims'"),
    ("exp(*x)", "a starred argument is not allowed"),
    ("sum(x, **y)", "a **keyword argument is not allowed"),
    ("x[y]", "an index must be an integer or a slice"),
    ("x[0:y]", "slice bounds must be integers"),
    ("", "the expression is empty"),
    ("x" * 6000, "at most 5000 are accepted"),
])
def test_refused_when_parsed(text, message):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert message in str(info.value)


def test_errors_are_the_librarys_invalid_argument_errors():
    assert issubclass(ExpressionError, InvalidArgumentError)
    assert issubclass(ExpressionError, ValueError)


@pytest.mark.parametrize("text, message", [
    ("10.0 ** 400 * x", "a number is too large"),
    ("1 / 0 * x", "division by zero"),
    ("x + y", "needs a value for y"),
    ("(2)[0] * x", "only tensors can be indexed"),
])
def test_refused_when_evaluated(text, message):
    e = parse_expression(text)
    with pytest.raises(ExpressionError, match=message):
        e.evaluate({"x": Tensor([1.0])})


def test_deep_nesting_is_an_error_not_a_crash():
    text = "-" * 4000 + "x"
    with pytest.raises(ExpressionError):
        parse_expression(text).evaluate({"x": Tensor([1.0])})


def test_every_function_is_callable_both_ways():
    x = Tensor(np.array([[0.5, 1.5], [2.0, 0.25]]))
    for name in FUNCTIONS:
        as_function = parse_expression(f"{name}(x)").evaluate({"x": x})
        as_method = parse_expression(f"x.{name}()").evaluate({"x": x})
        np.testing.assert_array_equal(as_function.data, as_method.data)
        np.testing.assert_array_equal(as_function.data, getattr(x, name)().data)
