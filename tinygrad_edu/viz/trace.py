"""The backward pass told step by step: what each operation receives and what it sends back.

In the course's words, backprop carries the error delta = dL/dz from the output back to the
inputs. For every operation, in the order the engine runs them, the trace records

* ``grad_output``: the delta arriving at the operation's result, g = dL/dz;
* ``local``: for elementwise operations, the local derivative dz/dx of each input;
* ``grad_inputs``: what each input receives, the vector-Jacobian product (g * dz/dx for an
  elementwise operation), summed back to the input's shape where it was broadcast;

and, for every value used by more than one operation (fan-out), each contribution and their
sum, which is that value's gradient.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import autograd
from ..autograd import Function
from ..tensor import Tensor
from .formulas import vjp_text
from .graph import GraphView, internal_aliases, summarize, walk_graph

__all__ = ["BackwardStep", "BackwardTrace", "trace_backward"]


@dataclass
class BackwardStep:
    """One operation's turn in the backward pass.

    Attributes:
        index: position in the backward order (0 = the first operation processed).
        function: the operation itself (a :class:`~tinygrad_edu.autograd.Function`).
        op: its name, e.g. ``"Mul"``.
        output: the label of the tensor it produced.
        vjp: its backward formula with this step's own names (``dL/dW = g @ x^T``), for the
            inputs that receive a gradient (see :mod:`tinygrad_edu.viz.formulas`).
        grad_output: g = dL/d(output), the delta arriving here.
        inputs: labels of its inputs (``None`` for constants).
        local: per input, the local derivative dz/dx for elementwise operations (else None).
        grad_inputs: per input, what it receives (None where no gradient is needed).
    """

    index: int
    function: Function
    op: str
    output: str
    vjp: str
    grad_output: np.ndarray
    inputs: list[str | None]
    local: list[np.ndarray | None]
    grad_inputs: list[np.ndarray | None]


@dataclass
class BackwardTrace:
    """A whole backward pass: the steps in order, every tensor's gradient, and the fan-outs.

    A sequence of its steps: ``for step in trace``, ``len(trace)``, ``trace[0]``,
    ``trace[-1]``, ``trace[1:3]`` (a list).

    Attributes:
        steps: the :class:`BackwardStep` list, in the order the engine ran them.
        grads: ``label -> dL/d(tensor)`` for every tensor the pass reached.
        contributions: ``label -> [(step index, array), ...]``: what each operation sent back
            to each tensor; a tensor with several entries fans out and its gradient is their sum.
        view: the graph that was traced (labels, tensors, operations).
    """

    steps: list[BackwardStep]
    grads: dict[str, np.ndarray]
    contributions: dict[str, list[tuple[int, np.ndarray]]] = field(default_factory=dict)
    view: GraphView | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[BackwardStep]:
        return iter(self.steps)

    def __getitem__(self, index: int | slice) -> Any:
        return self.steps[index]

    def fanouts(self) -> dict[str, tuple[list[tuple[int, np.ndarray]], np.ndarray]]:
        """``label -> (contributions, total)`` for each tensor used by several operations."""
        return {
            label: (parts, self.grads[label])
            for label, parts in self.contributions.items()
            if len(parts) > 1
        }

    def shares(self) -> dict[tuple[int, int], np.ndarray]:
        """``(id(tensor), id(function)) -> array``: each fan-out edge's share of the gradient."""
        if self.view is None:
            return {}
        by_label = {label: t for t in self.view.tensors for label in [self.view.label(t)]}
        out: dict[tuple[int, int], np.ndarray] = {}
        for label, (parts, _) in self.fanouts().items():
            for step_index, part in parts:
                key = (id(by_label[label]), id(self.steps[step_index].function))
                # x * x: both inputs of one operation are x, and one edge carries both parts.
                out[key] = out[key] + part if key in out else part
        return out

    def to_text(self, max_elements: int = 6) -> str:
        """The backward pass as readable text (also what ``str(trace)`` gives)."""
        def show(a: Any) -> str:
            return summarize(a, max_elements).replace("\n", "; ")

        root = self.steps[0].output if self.steps else "the output"
        lines = [
            f"Backward pass from {root}: {len(self.steps)} step(s). "
            "g is dL/d(result of the step), the course's delta.",
            "",
        ]
        for step in self.steps:
            # A constant shows its value: Mul(w, 2), not Mul(w, const).
            args = ", ".join(name or summarize(value, 3).replace("\n", " ")
                             for name, value in zip(step.inputs, step.function.inputs))
            lines.append(f"step {step.index + 1}: {step.output} = {step.op}({args})")
            if step.vjp:
                lines.append(f"    {step.vjp}")
            lines.append(f"    g = {show(step.grad_output)}")
            width = max((len(n) for n in step.inputs if n), default=1)
            for name, local, sent in zip(step.inputs, step.local, step.grad_inputs):
                if name is None or sent is None:
                    continue
                if local is not None:
                    lines.append(f"    local d{step.output}/d{name:<{width}} = {show(local)}")
                lines.append(f"    {name:<{width}} receives {show(sent)}")
        fanouts = self.fanouts()
        if fanouts:
            lines += ["", "Fan-out: values used more than once add up what they receive."]
            for label, (parts, total) in fanouts.items():
                terms = " + ".join(f"{show(p)} (step {i + 1})" for i, p in parts)
                lines.append(f"  dL/d{label} = {terms} = {show(total)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def trace_backward(
    tensor: Tensor, grad: Any = None, retain_graph: bool = True
) -> BackwardTrace:
    """The backward pass from ``tensor``, every step of it recorded.

    Before any backward pass from ``tensor`` this is the real pass: leaves' ``.grad``
    receive their gradients as with ``tensor.backward(grad)``, and the graph is kept
    (``retain_graph=True``) for a second look. After ``tensor.backward()`` (with or without
    ``retain_graph``) the pass is replayed instead, from the gradient it started with unless
    ``grad`` is given, and no ``.grad`` changes: tracing never adds a gradient twice.

    Args:
        tensor: the output; one element, or give ``grad``.
        grad: dL/d(tensor) when it has more than one element.
        retain_graph: keep the graph after the pass (True by default, for drawing).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import trace_backward
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> trace = trace_backward((x * x).sum())
        >>> len(trace), [step.op for step in trace]
        (2, ['Sum', 'Mul'])
        >>> trace[1].vjp
        'VJP: dL/dx = g * x'
        >>> trace.grads["x"].tolist()        # x fans out into Mul twice: 3 + 3
        [6.0]
        >>> x.grad.tolist(), trace_backward((x * x).sum()).grads["x"].tolist()
        ([6.0], [6.0])
    """
    view = walk_graph(tensor)
    g = autograd.seed_gradient(tensor, grad, "trace_backward")
    steps: list[BackwardStep] = []
    grads: dict[str, np.ndarray] = {}
    contributions: dict[str, list[tuple[int, np.ndarray]]] = {}

    # The reshapes @ makes of 1-D operands are not the user's steps: they are left out, and
    # the matrix product is told with the user's tensors (its operands, its result).
    aliases, internal = internal_aliases(view)

    def record(node: Tensor, fn: Function, g: Any, in_grads: tuple[Any, ...]) -> None:
        if id(fn) in internal:
            if id(node) not in aliases:  # the product reshaped back: the user's result
                grads[view.label(node)] = np.array(g)
            return
        shown = aliases.get(id(node), node)
        label = view.label(shown)
        grads[label] = np.array(g).reshape(shown.shape)
        local: list[Any] = [None] * len(fn.inputs)
        if fn.elementwise:
            ones = fn.backward(np.ones_like(g), node.data, *fn.arrays)
            ones = ones if isinstance(ones, tuple) else (ones,)
            local = [None if d is None else np.array(d) for d in ones]
        names, sent = [], []
        for parent, need, gi in zip(fn.inputs, fn.needs_input_grad, in_grads):
            user = aliases.get(id(parent), parent) if isinstance(parent, Tensor) else None
            names.append(view.label(user) if user is not None else None)
            if not need or gi is None:
                sent.append(None)
                continue
            fitted = np.array(autograd.fit_gradient(gi, parent.data, fn))
            if user is not parent:
                fitted = fitted.reshape(user.shape)
            sent.append(fitted)
            contributions.setdefault(view.label(user), []).append((len(steps), fitted))
        operands = [name if name is not None else summarize(parent, 3).replace("\n", " ")
                    for name, parent in zip(names, fn.inputs)]
        vjp = vjp_text(fn, operands, label, [s is not None for s in sent])
        steps.append(BackwardStep(len(steps), fn, fn.name, label, vjp,
                                  grads[label], names, local, sent))

    seed = getattr(tensor._ctx, "seed", None) if tensor._ctx is not None else None
    if seed is not None:  # backpropagated already: replay the pass, write no .grad
        if grad is None:
            g = seed
        autograd.replay_backward(tensor, g, record)
    else:
        autograd.watched_backward(tensor, g, record, retain_graph)
    for label, parts in contributions.items():  # leaves: the sum of what they received
        if label not in grads:
            grads[label] = np.sum([part for _, part in parts], axis=0)
    if tensor._ctx is None:  # backward on a leaf: no steps, its gradient is the seed
        grads[view.label(tensor)] = np.array(g)
    return BackwardTrace(steps, grads, contributions, view)
