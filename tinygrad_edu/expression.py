"""Math expressions given as text (on the command line), turned into tensor computations safely.

``parse_expression("tanh(w * x + b)")`` reads the text with Python's ``ast`` module and
accepts only a small language; the expression is then evaluated by walking its tree, never
with ``eval``, so no Python name, attribute or builtin is reachable from it:

* numbers, variable names, ``+ - * / ** @``, unary ``-`` and ``+``, parentheses;
* the functions exp log sqrt abs tanh sigmoid relu softsign hardtanh sum mean max min
  softmax log_softmax, called as ``tanh(x)`` or as a method, ``x.tanh()``;
* ``axis=`` (an int or a tuple of ints) and ``keepdims=`` (True/False) for the reductions
  and ``axis=`` for softmax and log_softmax, or the axis as the second argument
  (``sum(x, 0)``, ``x.sum(0)``);
* ``max(a, b)`` and ``min(a, b)`` with two arguments are elementwise, so the course's
  max-margin loss reads ``max(1 + s_c - s, 0)``;
* indexing a tensor with integers and slices: ``x[0]``, ``W[:, 1:]``.

Anything else (imports, lambdas, comparisons, strings, attributes other than these methods,
names with double underscores) raises :class:`ExpressionError`, a ``ValueError``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .tensor import Tensor

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "parse_expression"]

ELEMENTWISE = ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "softsign", "hardtanh")
REDUCTIONS = ("sum", "mean", "max", "min")
SOFTMAXES = ("softmax", "log_softmax")
FUNCTIONS = ELEMENTWISE + REDUCTIONS + SOFTMAXES
MAX_LENGTH = 5000  # characters; longer input is refused before parsing

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}

# What a refused construct is called in the error message.
_NAMES = {
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "an if-expression",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.Await: "await",
}

ALLOWED = (
    "numbers, variable names, + - * / ** @, unary -, parentheses, indexing with integers and "
    f"slices, and the functions {' '.join(FUNCTIONS)} (also as methods, x.tanh())"
)


class ExpressionError(InvalidArgumentError):
    """The text is not an expression of the allowed language, or it cannot be evaluated."""


def _refuse(what: str) -> ExpressionError:
    return ExpressionError(f"{what} is not allowed in an expression; allowed are {ALLOWED}")


def _is_dunder(name: str) -> bool:
    return name.startswith("__") or name.endswith("__")


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, its tree and the variables it uses.

    Attributes:
        text: the expression as given.
        tree: the checked ``ast.Expression``.
        variables: the names of its variables, in order of first appearance.
    """

    text: str
    tree: ast.Expression
    variables: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Any]) -> Tensor:
        """The value of the expression as a Tensor, recording the operations as usual.

        Args:
            values: one Tensor (or array or number) per variable.

        Raises:
            ExpressionError: a variable without a value, bad arguments to a function, or a
                number too large; shape errors of the operations come through as they are.

        Example:
            >>> import numpy as np
            >>> from tinygrad_edu import Tensor
            >>> e = parse_expression("max(1 + s_c - s, 0)")
            >>> s, s_c = Tensor(np.array([2.5, 0.5])), Tensor(np.array([1.0, 0.25]))
            >>> e.evaluate({"s": s, "s_c": s_c}).tolist()
            [0.0, 0.75]
        """
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise ExpressionError(
                f"the expression {self.text!r} needs a value for {', '.join(missing)}"
            )
        try:
            out = _Evaluator(values).visit(self.tree.body)
        except RecursionError:
            raise ExpressionError(
                f"the expression {self.text!r} is nested too deeply to evaluate"
            ) from None
        except OverflowError:
            raise ExpressionError(f"cannot evaluate {self.text!r}: a number is too large") from None
        except ZeroDivisionError:
            raise ExpressionError(f"cannot evaluate {self.text!r}: division by zero") from None
        return out if isinstance(out, Tensor) else Tensor(np.float64(out), dtype=np.float64)


def parse_expression(text: str) -> Expression:
    """Check ``text`` against the allowed language and return the parsed :class:`Expression`.

    Raises:
        ExpressionError: a syntax error or a construct outside the language (the message says
            which and lists what is allowed).

    Example:
        >>> e = parse_expression("tanh(w * x + b).sum()")
        >>> e.variables
        ('w', 'x', 'b')
        >>> parse_expression("__import__('os')")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tinygrad_edu.expression.ExpressionError: the name '__import__' is not allowed ...
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string; got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty; give one such as 'tanh(w * x + b)'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression has {len(text)} characters; at most {MAX_LENGTH} are accepted"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(
            f"{text!r} is not a valid expression{where}: {e.msg}. Statements such as imports "
            f"are not expressions; allowed are {ALLOWED}"
        ) from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        raise ExpressionError(f"{text!r} cannot be parsed: {e}") from None
    variables: list[str] = []
    try:
        _check(tree.body, variables)
    except RecursionError:
        raise ExpressionError(f"the expression {text!r} is nested too deeply") from None
    return Expression(text, tree, tuple(variables))


# ----------------------------------------------------------------------------- checking


def _check(node: ast.AST, variables: list[str]) -> None:
    """Raise ExpressionError unless ``node`` is in the language; collect variable names."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(f"the constant {node.value!r}")
    elif isinstance(node, ast.Name):
        if _is_dunder(node.id):
            raise _refuse(f"the name {node.id!r}")
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function; call it, e.g. {node.id}(x)")
        if node.id not in variables:
            variables.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise _refuse(f"the operator {type(node.op).__name__}")
        _check(node.left, variables)
        _check(node.right, variables)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise _refuse(f"the operator {type(node.op).__name__}")
        _check(node.operand, variables)
    elif isinstance(node, ast.Call):
        _check_call(node, variables)
    elif isinstance(node, ast.Subscript):
        _check(node.value, variables)
        _check_index(node.slice)
    elif isinstance(node, ast.Attribute):
        if _is_dunder(node.attr):
            raise _refuse(f"the name {node.attr!r}")
        raise _refuse(f"the attribute {node.attr!r}")
    else:
        raise _refuse(_NAMES.get(type(node), f"{type(node).__name__} syntax"))


def _check_call(node: ast.Call, variables: list[str]) -> None:
    func = node.func
    if isinstance(func, ast.Name):
        if _is_dunder(func.id):
            raise _refuse(f"the name {func.id!r}")
        if func.id not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {func.id!r}; the functions are {' '.join(FUNCTIONS)}"
            )
        name, args = func.id, list(node.args)
    elif isinstance(func, ast.Attribute):
        if _is_dunder(func.attr):
            raise _refuse(f"the name {func.attr!r}")
        if func.attr not in FUNCTIONS:
            raise _refuse(f"the method {func.attr!r}")
        name, args = func.attr, [func.value, *node.args]
    else:
        raise _refuse("calling the result of an expression")
    if not args:
        raise ExpressionError(f"{name}() needs an argument, e.g. {name}(x)")
    for arg in args:
        if isinstance(arg, ast.Starred):
            raise _refuse("a starred argument")
    _check(args[0], variables)
    two_way = name in ("max", "min") and isinstance(func, ast.Name) and len(args) == 2
    if two_way:  # elementwise max(a, b)
        _check(args[1], variables)
    elif name in ELEMENTWISE:
        if len(args) > 1 or node.keywords:
            raise ExpressionError(f"{name} takes one argument, e.g. {name}(x)")
    else:
        if len(args) > 2:
            raise ExpressionError(f"{name} takes a tensor and at most an axis")
        if len(args) == 2:
            _axis_value(args[1], name)
    allowed = {"axis", "keepdims"} if name in REDUCTIONS and not two_way else {"axis"}
    if two_way or name in ELEMENTWISE:
        allowed = set()
    for kw in node.keywords:
        if kw.arg is None:
            raise _refuse("a **keyword argument")
        if kw.arg not in allowed:
            valid = ", ".join(sorted(allowed)) or "none"
            raise ExpressionError(f"{name} has no option {kw.arg!r}; its options: {valid}")
        if kw.arg == "keepdims":
            if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool)):
                raise ExpressionError(f"{name}: keepdims must be True or False")
        else:
            _axis_value(kw.value, name)
    if len(args) == 2 and not two_way and any(kw.arg == "axis" for kw in node.keywords):
        raise ExpressionError(f"{name}: the axis is given twice")


def _int_constant(node: ast.AST) -> int | None:
    """The value of an integer literal (negative ones too), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_constant(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _axis_value(node: ast.AST, name: str) -> int | tuple[int, ...]:
    single = _int_constant(node)
    if single is not None:
        return single
    if isinstance(node, ast.Tuple) and node.elts:
        values = [_int_constant(e) for e in node.elts]
        if all(v is not None for v in values):
            return tuple(int(v) for v in values if v is not None)
    raise ExpressionError(f"{name}: the axis must be an integer or a tuple of integers")


def _check_index(node: ast.AST) -> None:
    parts = node.elts if isinstance(node, ast.Tuple) else [node]
    for part in parts:
        if isinstance(part, ast.Slice):
            for bound in (part.lower, part.upper, part.step):
                if bound is not None and _int_constant(bound) is None:
                    raise ExpressionError("slice bounds must be integers, e.g. x[1:3]")
        elif _int_constant(part) is None:
            raise ExpressionError("an index must be an integer or a slice, e.g. x[0] or W[:, 1]")


# ----------------------------------------------------------------------------- evaluation


class _Evaluator:
    """Computes a checked tree: constants are Python floats, everything else Tensors."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            value = self.values[node.id]
            return value if isinstance(value, Tensor) else Tensor(value)
        if isinstance(node, ast.BinOp):
            left, right = self.visit(node.left), self.visit(node.right)
            if isinstance(left, Tensor) or isinstance(right, Tensor):
                return _BINARY[type(node.op)](left, right)
            return _constant(node, left, right)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self.visit(node.operand))
        if isinstance(node, ast.Subscript):
            value = self.visit(node.value)
            if not isinstance(value, Tensor):
                raise ExpressionError("only tensors can be indexed, not numbers")
            return value[_index(node.slice)]
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _refuse(type(node).__name__)  # _check lets nothing else through

    def call(self, node: ast.Call) -> Tensor:
        func = node.func
        method = isinstance(func, ast.Attribute)
        name = func.attr if isinstance(func, ast.Attribute) else func.id  # type: ignore[attr-defined]
        args = [func.value, *node.args] if isinstance(func, ast.Attribute) else list(node.args)
        first = self.visit(args[0])
        if name in ("max", "min") and not method and len(args) == 2:
            second = self.visit(args[1])
            pair = Tensor.maximum if name == "max" else Tensor.minimum
            return pair(_tensor(first, like=second), second)
        x = _tensor(first)
        options: dict[str, Any] = {}
        if len(args) == 2:
            options["axis"] = _axis_value(args[1], name)
        for kw in node.keywords:
            value = _axis_value(kw.value, name) if kw.arg == "axis" else kw.value.value
            options[str(kw.arg)] = value  # type: ignore[attr-defined]
        return getattr(x, name)(**options)


def _constant(node: ast.BinOp, left: float, right: float) -> float:
    """An operation on two numbers, which must give a real number (evaluate reports
    overflow and division by zero)."""
    text = ast.unparse(node)
    try:
        value = _BINARY[type(node.op)](left, right)
    except TypeError:  # 1 @ 2
        raise ExpressionError(
            f"{text!r}: {type(node.op).__name__} needs tensors (vectors or matrices), not "
            "two numbers"
        ) from None
    if isinstance(value, complex):  # (-8) ** (1/3): Python gives a complex root
        raise ExpressionError(
            f"{text!r} has no real value (Python gives the complex number {value:.4g}); "
            "tensors compute with real numbers only"
        )
    return value


def _tensor(value: Any, like: Any = None) -> Tensor:
    """A number as a Tensor (of ``like``'s dtype when that is a Tensor), a Tensor as it is."""
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if isinstance(like, Tensor) else np.float64
    return Tensor(np.asarray(value, dtype=dtype))


def _index(node: ast.AST) -> Any:
    def one(part: ast.AST) -> Any:
        if isinstance(part, ast.Slice):
            bounds = [None if b is None else _int_constant(b)
                      for b in (part.lower, part.upper, part.step)]
            return slice(*bounds)
        return _int_constant(part)

    if isinstance(node, ast.Tuple):
        return tuple(one(part) for part in node.elts)
    return one(node)
