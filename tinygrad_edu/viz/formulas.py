"""Each operation's vector-Jacobian product written with the user's own names.

A trace step of ``W @ x`` reads ``dL/dW = g @ x^T``, not the formal ``dL/dx = g @ y^T`` of
the operation's docstring, whose names clash with the user's. The formulas are templates, one
per input: ``{0}``, ``{1}`` ... stand for the inputs and ``{z}`` for the result; they are
filled with the labels of the traced tensors (a constant shows its value). Only the inputs
that receive a gradient get a line.

An operation of one's own can carry its template as the class attribute ``vjp_formula``
(a tuple with one string per input); operations without one are described generically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["FORMULAS", "vjp_text"]

#: Operation name -> one expression per input, in the course's notation (g = dL/dz).
FORMULAS: dict[str, tuple[str, ...]] = {
    "Add": ("g", "g"),
    "Sub": ("g", "-g"),
    "Mul": ("g * {1}", "g * {0}"),
    "Div": ("g / {1}", "-g * {0} / {1}^2"),
    "Pow": ("g * {1} * {0}^({1} - 1)", "g * {z} * ln({0})"),
    "Neg": ("-g",),
    "Maximum": ("g * [{0} > {1}] + g/2 * [{0} == {1}]", "g * [{1} > {0}] + g/2 * [{0} == {1}]"),
    "Minimum": ("g * [{0} < {1}] + g/2 * [{0} == {1}]", "g * [{1} < {0}] + g/2 * [{0} == {1}]"),
    "Exp": ("g * {z}",),
    "Log": ("g / {0}",),
    "Sqrt": ("g / (2 {z})",),
    "Abs": ("g * sign({0})",),
    "Clip": ("g * [lo <= {0} <= hi]",),
    "Hardtanh": ("g * [-1 <= {0} <= 1]",),
    "Relu": ("g * [{0} > 0]",),
    "LeakyRelu": ("g * (1 if {0} > 0 else slope)",),
    "Sigmoid": ("g * {z} (1 - {z})",),
    "Tanh": ("g * (1 - {z}^2)",),
    "Softsign": ("g / (1 + |{0}|)^2",),
    "Softmax": ("{z} * (g - sum_j g_j {z}_j)",),
    "LogSoftmax": ("g - e^{z} * sum_j g_j",),
    "Matmul": ("g @ {1}^T", "{0}^T @ g"),
    "Linear": ("g {1}", "g^T {0}", "sum of g over the samples"),
    "SoftmaxCrossEntropy": ("g (softmax({0}) - onehot(labels))",),
    "Sum": ("g broadcast back over the summed axes",),
    "Max": ("g * [{0} = {z}] / (number of maximal elements)",),
    "Min": ("g * [{0} = {z}] / (number of minimal elements)",),
    "Reshape": ("g reshaped to the shape of {0}",),
    "Transpose": ("g permuted back",),
    "Expand": ("g summed over the broadcast axes",),
    "Cast": ("g, in the dtype of {0}",),
    "GetItem": ("zeros like {0} with g added at the index",),
    "ScatterAdd": ("g[index]",),
    "Concatenate": ("the slice of g that {i} occupies",),
    "Where": ("g * [cond]", "g * [not cond]"),
}


def vjp_text(fn: Any, inputs: Sequence[str], output: str, needs: Sequence[bool]) -> str:
    """``"VJP: dL/dW = g @ x^T"``: the step's VJP with the names of its own tensors.

    Args:
        fn: the Function of the step.
        inputs: the label of each input (a constant's value for a constant).
        output: the label of its result.
        needs: per input, whether it receives a gradient (the others get no line).

    Example:
        >>> from tinygrad_edu.ops import Matmul
        >>> vjp_text(Matmul(), ["W", "x"], "z", [True, False])
        'VJP: dL/dW = g @ x^T'
    """
    template = getattr(type(fn), "vjp_formula", None) or FORMULAS.get(type(fn).__name__)
    if template is None:
        wanted = [name for name, need in zip(inputs, needs) if need]
        return "VJP: " + ", ".join(f"dL/d{name}" for name in wanted) + \
            f" = {type(fn).__name__}.backward(g)   (see its docstring)"
    if type(fn).__name__ == "Concatenate":  # one rule for any number of inputs
        template = template * len(inputs)
    parts = []
    for i, (name, need) in enumerate(zip(inputs, needs)):
        if not need or i >= len(template) or not template[i]:
            continue
        try:
            expr = template[i].format(*inputs, z=output, i=name)
        except (IndexError, KeyError):  # a template naming an input this call does not have
            expr = f"{type(fn).__name__}.backward(g)"
        if f"dL/d{name} = {expr}" not in parts:  # x * x: one line for x
            parts.append(f"dL/d{name} = {expr}")
    return "VJP: " + ",  ".join(parts) if parts else ""
