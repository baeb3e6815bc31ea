"""Drawing the computation graph: one node per tensor, one per operation, forward left to right.

Each tensor node shows its name (or ``t3``, numbered in topological order), shape, value and
gradient; parameters, inputs and intermediates are styled apart; NaN or infinite values and
gradients are red; gradients whose norm explodes or vanishes are marked. Given a
:class:`~tinygrad_edu.viz.trace.BackwardTrace`, the drawing also shows the gradients of
intermediate tensors, the share of the gradient each edge carries back into a value that fans
out, and the order in which the backward pass visits the operations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import autograd
from ..autograd import Function
from ..errors import BackwardError, InvalidArgumentError
from ..tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

    from .trace import BackwardTrace

__all__ = ["GraphView", "draw_graph", "summarize", "walk_graph"]

FONT = "Cousine"  # a monospace font graphviz-pure ships; other renderers fall back to theirs

STYLE = {
    "parameter": {"fillcolor": "#cfe2ff", "style": "filled,rounded"},
    "input": {"fillcolor": "#eeeeee", "style": "filled,rounded"},
    "intermediate": {"fillcolor": "#ffffff", "style": "rounded"},
    "output": {"fillcolor": "#d1e7dd", "style": "filled,rounded"},
    "op": {"shape": "ellipse", "fillcolor": "#fff3cd", "style": "filled"},
    "group": {"shape": "box3d", "fillcolor": "#fde2c8", "style": "filled"},
    "constant": {"shape": "plaintext", "fontsize": "10"},
}


@dataclass
class GraphView:
    """A recorded graph, read once: tensors and operations in topological order, with labels.

    Attributes:
        tensors: every tensor the root depends on through recorded operations, inputs first.
        functions: the operations, in the order they ran (each after its inputs).
        labels: ``id(tensor) -> label``: the tensor's name, or ``t<k>`` for the k-th tensor.
        consumers: ``id(tensor) -> [function, ...]``: the operations that use each tensor.
    """

    root: Tensor
    tensors: list[Tensor]
    functions: list[Function]
    labels: dict[int, str]
    consumers: dict[int, list[Function]]

    def label(self, t: Tensor) -> str:
        return self.labels[id(t)]

    def output_of(self, fn: Function) -> Tensor:
        return self._outputs[id(fn)]

    def __post_init__(self) -> None:
        self._outputs = {id(t._ctx): t for t in self.tensors if t._ctx is not None}


def walk_graph(root: Tensor) -> GraphView:
    """Read the graph behind ``root`` (iteratively: any depth), without changing it.

    Raises:
        BackwardError: when part of the graph was freed by ``backward()``.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph needs a Tensor; got {type(root).__name__}")
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    consumers: dict[int, list[Function]] = {}
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        fn = node._ctx
        if fn is None:
            continue
        if fn.inputs is None:
            raise BackwardError(
                f"the graph behind this tensor was freed by backward() (at its {fn.name}). "
                "Draw it before calling backward(), or call backward(retain_graph=True) or "
                "trace_backward(), which keeps it."
            )
        for parent in reversed(fn.inputs):
            if isinstance(parent, Tensor):
                consumers.setdefault(id(parent), []).append(fn)
                if id(parent) not in seen:
                    stack.append((parent, False))
    labels: dict[int, str] = {}
    used: dict[str, int] = {}
    for k, t in enumerate(order):
        label = t.name if t.name else f"t{k}"
        used[label] = used.get(label, 0) + 1
        # Two layers' "weight"s are different tensors: give each its own label.
        labels[id(t)] = label if used[label] == 1 else f"{label}_{used[label]}"
    for fns in consumers.values():  # each consumer once, in the order the ops ran
        unique = list({id(f): f for f in fns}.values())
        fns[:] = unique
    functions = [t._ctx for t in order if t._ctx is not None]
    position = {id(f): i for i, f in enumerate(functions)}
    for fns in consumers.values():
        fns.sort(key=lambda f: position[id(f)])
    return GraphView(root, order, functions, labels, consumers)


def summarize(value: Any, max_elements: int = 6) -> str:
    """A short text for an array: the values when few, else mean, std, min and max."""
    a = np.asarray(value.data if isinstance(value, Tensor) else value)
    if a.size == 0:
        return "[]"
    if a.dtype.kind == "b":
        return np.array2string(a, separator=", ") if a.size <= max_elements else f"{a.sum()} true"
    if a.ndim == 0 or a.size == 1:
        return f"{float(a.reshape(())):.4g}" if a.ndim == 0 else f"[{float(a.ravel()[0]):.4g}]"
    if a.size <= max_elements:
        return np.array2string(a, precision=4, separator=", ", max_line_width=48,
                               floatmode="maxprec").replace("\n", "")
    finite = a[np.isfinite(a)]
    bad = a.size - finite.size
    if finite.size == 0:
        return f"all {a.size} non-finite"
    text = (f"mean {finite.mean():.3g} std {finite.std():.3g}\n"
            f"min {finite.min():.3g} max {finite.max():.3g}")
    return text + (f"\n{bad} NaN/Inf" if bad else "")


def _gradient_of(t: Tensor, trace: BackwardTrace | None, label: str) -> np.ndarray | None:
    """The gradient to show: the trace's when one is given (a frame of a pass in progress
    shows only what it knows), else ``.grad``."""
    if trace is not None:
        return trace.grads.get(label)
    g = t.grad
    if g is None:
        return None
    return np.asarray(g.data if isinstance(g, Tensor) else g)


def _kind(t: Tensor, view: GraphView) -> str:
    if t is view.root:
        return "output"
    if t._ctx is not None:
        return "intermediate"
    return "parameter" if t.requires_grad else "input"


def _norm_flag(g: np.ndarray | None, explode: float, vanish: float) -> str | None:
    if g is None:
        return None
    if not np.all(np.isfinite(g)):
        return "nonfinite"
    norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
    if norm > explode:
        return f"exploding |g| = {norm:.3g}"
    if norm < vanish:
        return f"vanishing |g| = {norm:.3g}"
    return None


def _op_text(fn: Function) -> str:
    """The operation's name with its parameters: ``Sum(axis=(1,))``, ``LeakyRelu(0.01)``."""
    facts = []
    for attr in ("axis", "slope", "lo", "hi"):
        if attr in getattr(fn, "__dict__", {}) and getattr(fn, attr) is not None:
            facts.append(f"{attr}={getattr(fn, attr)}")
    return f"{fn.name}({', '.join(facts)})" if facts else fn.name


def _groups(view: GraphView, collapse: Any) -> dict[int, tuple[int, str]]:
    """``id(fn) -> (group serial, group name)`` for the operations to draw as one box."""
    if not collapse:
        return {}
    if collapse is True:
        names = None
    else:
        names = {collapse} if isinstance(collapse, str) else set(collapse)
    found = {}
    for fn in view.functions:
        for entry in getattr(fn, "scope", ()):
            if names is None or entry.name in names:
                found[id(fn)] = (entry.serial, entry.name)
                break
    return found


def draw_graph(
    tensor: Tensor,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    trace: BackwardTrace | None = None,
    collapse: bool | str | Iterable[str] | None = None,
    show_order: bool = False,
    highlight: Function | Tensor | None = None,
    max_elements: int = 6,
    explode: float = 1e3,
    vanish: float = 1e-7,
) -> graphviz.Digraph:
    """Draw the graph that computed ``tensor`` as a ``graphviz.Digraph``.

    Args:
        tensor: the output (usually a loss). Its graph must not have been freed by backward().
        show_data: show each tensor's value (or a summary for more than ``max_elements``).
        show_grad: show each tensor's gradient: ``.grad`` of leaves, and with ``trace`` the
            gradient of every tensor.
        rankdir: "LR" (left to right) or "TB" (top to bottom).
        trace: a :func:`~tinygrad_edu.viz.trace_backward` result for this tensor: gradients of
            intermediates, and each edge into a fanned-out value labelled with its share of
            the gradient (with ``show_order``, the trace's order numbers the operations).
        collapse: scope names to draw as one box each (``"Linear"``, ``"cross_entropy"``), a
            list of them, or True for every outermost scope (each layer and loss call).
        show_order: number the operations in the order the backward pass visits them.
        highlight: an operation (or the tensor it produced) to outline, e.g. the current step.
        max_elements: arrays with more elements are summarised.
        explode: gradient norms above this are marked as exploding.
        vanish: gradient norms below this are marked as vanishing.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import draw_graph
        >>> w = Tensor([2.0], requires_grad=True, name="w")
        >>> dot = draw_graph((w * 3.0).sum())
        >>> "Mul" in dot.source and "w" in dot.source
        True
    """
    import graphviz

    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise InvalidArgumentError(
            f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT'; got {rankdir!r}"
        )
    view = walk_graph(tensor)
    groups = _groups(view, collapse)
    order = _backward_order(view, trace) if show_order else {}
    shares = trace.shares() if trace is not None else {}
    if isinstance(highlight, Tensor):
        highlight = highlight._ctx
    dot = graphviz.Digraph("backprop", graph_attr={"rankdir": rankdir, "fontname": FONT},
                           node_attr={"fontname": FONT, "fontsize": "11", "shape": "box"},
                           edge_attr={"fontname": FONT, "fontsize": "9"})

    def group_id(fn: Function | None) -> str | None:
        if fn is None or id(fn) not in groups:
            return None
        return f"group{groups[id(fn)][0]}"

    # A tensor made inside a box and used only inside it (and not the output) is not drawn.
    hidden = set()
    for t in view.tensors:
        inside = group_id(t._ctx)
        users = view.consumers.get(id(t), [])
        if inside and t is not view.root and users and all(group_id(f) == inside for f in users):
            hidden.add(id(t))

    index = {id(t): k for k, t in enumerate(view.tensors)}
    for t in view.tensors:
        if id(t) in hidden:
            continue
        label = view.label(t)
        kind = _kind(t, view)
        lines = [label + ("  (param)" if kind == "parameter" else ""), f"shape {t.shape}"]
        if show_data:
            lines.append("data " + summarize(t.data, max_elements))
        attrs = dict(STYLE[kind])
        g = _gradient_of(t, trace, label) if show_grad else None
        if g is not None:
            lines.append("grad " + summarize(g, max_elements))
        flag = _norm_flag(g, explode, vanish) if t.requires_grad else None
        if t.dtype.kind == "f" and not np.all(np.isfinite(t.data)):
            flag = "nonfinite"
        if flag == "nonfinite":
            attrs.update(color="red", fontcolor="red", penwidth="2")
            lines.append("NaN/Inf!")
        elif flag:
            attrs.update(color="darkorange", penwidth="2")
            lines.append(flag)
        dot.node(f"n{index[id(t)]}", "\n".join(lines), **attrs)

    drawn_groups: set[str] = set()
    edges: set[tuple[str, str]] = set()

    def edge(a: str, b: str, **attrs: str) -> None:
        if (a, b) not in edges:
            edges.add((a, b))
            dot.edge(a, b, **attrs)

    for k, fn in enumerate(view.functions):
        out = view.output_of(fn)
        gid = group_id(fn)
        node_id = gid or f"op{k}"
        if gid is None:
            attrs = dict(STYLE["op"])
            if id(fn) in order:
                attrs["xlabel"] = f"#{order[id(fn)]}"
            if fn is highlight:
                attrs.update(color="red", penwidth="3")
            dot.node(node_id, _op_text(fn), **attrs)
        elif gid not in drawn_groups:
            drawn_groups.add(gid)
            attrs = dict(STYLE["group"])
            if highlight is not None and group_id(highlight) == gid:
                attrs.update(color="red", penwidth="3")  # the step runs inside this box
            dot.node(gid, groups[id(fn)][1], **attrs)
        for j, parent in enumerate(fn.inputs):
            if isinstance(parent, Tensor):
                if id(parent) in hidden:
                    continue
                attrs = {}
                if (id(parent), id(fn)) in shares:
                    attrs["label"] = "g " + summarize(shares[(id(parent), id(fn))], 3)
                    attrs["color"] = "#b02a37"
                edge(f"n{index[id(parent)]}", node_id, **attrs)
            elif gid is None and parent is not None:
                const = f"c{k}_{j}"
                dot.node(const, summarize(parent, max_elements), **STYLE["constant"])
                edge(const, node_id, style="dashed")
        if id(out) not in hidden:
            edge(node_id, f"n{index[id(out)]}")
    return dot


def _backward_order(view: GraphView, trace: BackwardTrace | None) -> dict[int, int]:
    """``id(fn) -> step number`` (1-based) in the order backward visits the operations."""
    if trace is not None:
        return {id(step.function): step.index + 1 for step in trace.steps}
    # Without a trace: the order the engine would use.
    ops = [t._ctx for t in reversed(autograd.topological_sort(view.root)) if t._ctx is not None]
    return {id(fn): k + 1 for k, fn in enumerate(ops)}
