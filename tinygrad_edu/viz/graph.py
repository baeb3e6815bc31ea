"""Drawing the computation graph: one node per tensor, one per operation, forward left to right.

Each tensor node shows its name (or ``t3``, numbered in topological order), shape, value and
gradient; parameters, inputs and intermediates are styled apart; NaN or infinite values and
gradients are red; gradients whose norm explodes or vanishes are marked. Given a
:class:`~tinygrad_edu.viz.trace.BackwardTrace`, the drawing also shows the gradients of
intermediate tensors, the share of the gradient each edge carries back into a value that fans
out, and the order in which the backward pass visits the operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import autograd
from ..autograd import Function
from ..errors import InPlaceError, InvalidArgumentError, TinygradEduError
from ..tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

    from .trace import BackwardTrace

__all__ = ["GraphView", "draw_graph", "summarize", "walk_graph"]

#: The scope ``@`` records its reshapes of 1-D operands in (see Tensor.matmul): not drawn.
INTERNAL_SCOPE = "@"

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
        drawn = {id(f) for f in self.functions}
        #: tensors made by an operation that is not part of the view (a partial drawing)
        self.border = {id(t) for t in self.tensors
                       if t._ctx is not None and id(t._ctx) not in drawn}


def walk_graph(root: Tensor, keep: set[int] | None = None) -> GraphView:
    """Read the graph behind ``root``, without changing it (the engine's walk: any depth).

    It works before and after ``backward()``: a pass keeps the graph's structure and values
    as long as ``root`` lives. The operations come in the order they ran (the engine's
    :func:`~tinygrad_edu.autograd.topological_sort`), each input tensor (constants included)
    just before the first operation that uses it.

    Args:
        root: the output.
        keep: ``id``s of the Functions to walk through; a tensor made by any other is read
            as if it were a leaf (the border of a partial drawing). None: the whole graph.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph needs a Tensor; got {type(root).__name__}")
    return _view(root, autograd.topological_sort(root, freed_ok=True), keep)


def _view(root: Tensor, order: list[Tensor], keep: set[int] | None) -> GraphView:
    """The :class:`GraphView` of ``order`` (``topological_sort(root, freed_ok=True)``)."""
    tensors: list[Tensor] = []
    functions: list[Function] = []
    placed: set[int] = set()
    consumers: dict[int, list[Function]] = {}
    for node in order:
        fn = node._ctx
        if fn is None or (keep is not None and id(fn) not in keep):
            continue  # a leaf, or made outside the view: placed before its first user
        for parent in fn.inputs:
            if isinstance(parent, Tensor):
                users = consumers.setdefault(id(parent), [])
                if not users or users[-1] is not fn:  # each consumer once (x * x)
                    users.append(fn)
                if id(parent) not in placed:
                    placed.add(id(parent))
                    tensors.append(parent)
        placed.add(id(node))
        tensors.append(node)
        functions.append(fn)
    if not tensors:  # a leaf, or a root made outside the view
        tensors.append(root)
    labels = _labels(tensors, _internal_tensors(root, tensors, consumers))
    return GraphView(root, tensors, functions, labels, consumers)


def _internal_tensors(
    root: Tensor, order: list[Tensor], consumers: dict[int, list[Function]]
) -> set[int]:
    """``id``s of the tensors ``@`` makes for itself (rows, columns, the (1, 1) product)."""
    found = set()
    for t in order:
        fn = t._ctx
        if fn is None or t is root or not fn.scope or fn.scope[-1].name != INTERNAL_SCOPE:
            continue
        users = consumers.get(id(t), [])
        if users and all(u.scope[-1:] == fn.scope[-1:] for u in users):
            found.add(id(t))
    return found


def _labels(order: list[Tensor], internal: set[int] = frozenset()) -> dict[int, str]:
    """``id(tensor) -> label``: the user's name, else t1, t2, ... without gaps, inputs first.

    Automatic names skip the names the user gave (a tensor named "t1" keeps it, and the
    next unnamed one is t2); two tensors of one name ("weight" of two layers) become
    "weight" and "weight_2". The tensors ``@`` makes internally (never drawn) are @1, @2 ...
    """
    names = {t.name for t in order if t.name}
    labels: dict[int, str] = {}
    used: dict[str, int] = {}
    counter = inside = 0
    for t in order:
        label = t.name
        if id(t) in internal and not label:
            inside += 1
            label = f"@{inside}"
        elif not label:
            counter += 1
            while f"t{counter}" in names:
                counter += 1
            label = f"t{counter}"
        used[label] = used.get(label, 0) + 1
        labels[id(t)] = label if used[label] == 1 else f"{label}_{used[label]}"
    return labels


def number(value: float, digits: int = 4) -> str:
    """One number, short: ``1.5``, ``-2``, ``1e+04``, never ``-0``.

    Example:
        >>> number(-0.0), number(2.0), number(0.123456), number(float("nan"))
        ('0', '2', '0.1235', 'nan')
    """
    value = float(value)
    if value == 0:
        return "0"  # also -0.0: a sign on zero is numpy's detail, not the learner's
    return f"{value:.{digits}g}"


def _numbers(a: np.ndarray) -> str:
    """A small array as nested lists of short numbers: ``[[1, -1.5], [0, 2]]``."""
    if a.ndim == 0:
        return number(a)
    if a.ndim == 1:
        return "[" + ", ".join(number(v) for v in a) + "]"
    return "[" + ", ".join(_numbers(row) for row in a) + "]"


def summarize(value: Any, max_elements: int = 6) -> str:
    """A short text for an array: the values when few, else mean, std, min and max."""
    a = np.asarray(value.data if isinstance(value, Tensor) else value)
    if a.size == 0:
        return "[]"
    if a.dtype.kind == "b":
        return np.array2string(a, separator=", ") if a.size <= max_elements else f"{a.sum()} true"
    if a.ndim == 0:
        return number(a)
    if a.size == 1:
        return f"[{number(a.ravel()[0])}]"
    if a.size <= max_elements:
        return _numbers(a)
    finite = a[np.isfinite(a)]
    bad = a.size - finite.size
    if finite.size == 0:
        return f"all {a.size} non-finite"
    text = (f"mean {number(finite.mean(), 3)} std {number(finite.std(), 3)}\n"
            f"min {number(finite.min(), 3)} max {number(finite.max(), 3)}")
    return text + (f"\n{bad} NaN/Inf" if bad else "")


def _leaf_gradient(t: Tensor) -> np.ndarray | None:
    g = t.grad
    if g is None:
        return None
    return np.asarray(g.data if isinstance(g, Tensor) else g)


def _gradients_after_backward(
    view: GraphView, limit: int | None, order: list[Tensor] | None
) -> tuple[dict[int, np.ndarray], str]:
    """``id(tensor) -> dL/dtensor`` for the intermediates of a graph already backpropagated
    from ``view.root``, and a note for the picture when they cannot be shown.

    The pass's gradients of intermediate tensors are not kept (that would double the memory
    of every training step); they are recomputed here by replaying the pass from the seed it
    started from, writing nothing into any ``.grad``. Only the first ``limit`` steps run for a
    partial drawing: they are the ones nearest the output, which complete its tensors' sums.
    """
    fn = view.root._ctx
    seed = getattr(fn, "seed", None) if fn is not None else None
    if seed is None:
        return {}, ""
    found: dict[int, np.ndarray] = {}

    def record(node: Tensor, fn: Function, g: Any, in_grads: tuple[Any, ...]) -> None:
        found[id(node)] = np.asarray(g)

    try:
        autograd.replay_backward(view.root, seed, record, steps=limit, order=order)
    except InPlaceError:
        return {}, ("gradients of intermediate tensors not shown: values they depend on "
                    "changed in place after backward() (e.g. optimizer.step()); draw before "
                    "the step")
    except TinygradEduError as e:  # e.g. a Function of one's own that fails the second time
        return {}, f"gradients of intermediate tensors not shown: replaying the pass failed ({e})"
    return found, ""


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
            if entry.name == INTERNAL_SCOPE:
                continue
            if names is None or entry.name in names:
                found[id(fn)] = (entry.serial, entry.name)
                break
    return found


def internal_aliases(view: GraphView) -> tuple[dict[int, Tensor], set[int]]:
    """The reshapes ``@`` makes around 1-D operands, to be drawn as if they were not there.

    Returns ``id(hidden tensor) -> the tensor drawn in its place`` (an operand's row or
    column form is drawn as the operand itself, the matrix product's (1, 1)-shaped result as
    the user's result) and the ``id``s of those Reshape operations, which are not drawn (the
    trace still lists them: they are steps of the backward pass).
    """
    aliases: dict[int, Tensor] = {}
    skipped: set[int] = set()
    for fn in view.functions:
        inner = getattr(fn, "scope", ())
        if fn.name != "Reshape" or not inner or inner[-1].name != INTERNAL_SCOPE:
            continue
        source, result = fn.inputs[0], view.output_of(fn)
        made_inside = source._ctx is not None and source._ctx.scope[-1:] == inner[-1:]
        if made_inside:  # the product's result, reshaped back: draw the user's result only
            aliases[id(source)] = result
        else:  # an operand made a row or a column
            aliases[id(result)] = source
        skipped.add(id(fn))
    return aliases, skipped


def shown_operation(
    t: Tensor, aliases: dict[int, Tensor], internal: set[int]
) -> tuple[Function | None, list[Any]]:
    """The operation drawn as making ``t`` and its inputs as drawn, @'s reshapes skipped.

    ``aliases`` and ``internal`` are :func:`internal_aliases`'s answer. The user's result of
    ``x @ x`` is drawn as made by the MatMul itself (not by the Reshape back from (1, 1)),
    from ``x`` itself (not its row and column forms). A leaf gives ``(None, [])``.
    """
    fn = t._ctx
    while fn is not None and id(fn) in internal and isinstance(fn.inputs[0], Tensor):
        fn = fn.inputs[0]._ctx  # the product reshaped back: the product's own operation
    if fn is None:
        return None, []
    return fn, [aliases.get(id(p), p) if isinstance(p, Tensor) else p for p in fn.inputs]


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
    max_nodes: int | None = 300,
) -> graphviz.Digraph:
    """Draw the graph that computed ``tensor`` as a ``graphviz.Digraph``.

    It works before and after ``tensor.backward()``. After it, every tensor the pass reached
    shows its gradient, as micrograd's drawing does: leaves their ``.grad``, intermediates
    the gradient the pass carried through them (recomputed from the kept graph, written
    nowhere). Drawing never changes any ``.grad``. The result displays inline in Jupyter with
    whatever renderer is installed (see :class:`~tinygrad_edu.viz.display.GraphDrawing`).

    Args:
        tensor: the output (usually a loss).
        show_data: show each tensor's value (or a summary for more than ``max_elements``).
        show_grad: show each tensor's gradient.
        rankdir: "LR" (left to right) or "TB" (top to bottom).
        trace: a :func:`~tinygrad_edu.viz.trace_backward` result for this tensor (or part of
            one): its gradients are shown, and each edge into a fanned-out value is labelled
            with its share of the gradient (with ``show_order``, the trace's order numbers
            the operations).
        collapse: scope names to draw as one box each (``"Linear"``, ``"cross_entropy"``), a
            list of them, or True for every outermost scope (each layer and loss call).
        show_order: number the operations in the order the backward pass visits them.
        highlight: an operation (or the tensor it produced) to outline, e.g. the current step.
        max_elements: arrays with more elements are summarised.
        explode: gradient norms above this are marked as exploding.
        vanish: gradient norms below this are marked as vanishing.
        max_nodes: draw at most this many operations, those nearest the output, and say so
            in the picture (a graph of 100,000 operations then draws in well under a second);
            None draws every operation.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import draw_graph
        >>> w = Tensor([2.0], requires_grad=True, name="w")
        >>> loss = (w * 3.0).sum()
        >>> loss.backward()
        >>> dot = draw_graph(loss)
        >>> "Mul" in dot.source and "grad [3]" in dot.source
        True
    """
    from .display import GraphDrawing

    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise InvalidArgumentError(
            f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT'; got {rankdir!r}"
        )
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise InvalidArgumentError(
            f"draw_graph: max_nodes must be a positive int or None; got {max_nodes!r}"
        )
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph needs a Tensor; got {type(tensor).__name__}")
    notes: list[str] = []
    keep = full = None
    if max_nodes is not None and tensor._ctx is not None:
        full = autograd.topological_sort(tensor, freed_ok=True)
        made = [t._ctx for t in full if t._ctx is not None]
        if len(made) > max_nodes:
            keep = {id(fn) for fn in made[-max_nodes:]}
            left = Counter(map(type, made[:-max_nodes]))
            counts = ", ".join(f"{kind.__name__} x{n:,}" for kind, n in left.most_common(4))
            more = " ..." if len(left) > 4 else ""
            notes.append(f"Showing the {max_nodes:,} operations nearest the output of "
                         f"{len(made):,}; not drawn: {counts}{more}. "
                         "draw_graph(..., max_nodes=None) draws all.")
    view = walk_graph(tensor) if full is None else _view(tensor, full, keep)
    intermediate: dict[int, np.ndarray] = {}
    if show_grad and trace is None:
        intermediate, note = _gradients_after_backward(
            view, None if keep is None else len(view.functions), full)
        if note:
            notes.append(note)
    groups = _groups(view, collapse)
    aliases, internal = internal_aliases(view)
    order = _backward_order(view, trace) if show_order else {}
    shares = trace.shares() if trace is not None else {}
    if isinstance(highlight, Tensor):
        highlight = highlight._ctx
    graph_attr = {"rankdir": rankdir, "fontname": FONT}
    if notes:
        graph_attr.update(label="\n".join(notes), labelloc="t", labeljust="l")
    dot = GraphDrawing("backprop", graph_attr=graph_attr,
                       node_attr={"fontname": FONT, "fontsize": "11", "shape": "box"},
                       edge_attr={"fontname": FONT, "fontsize": "9"})

    def group_id(fn: Function | None) -> str | None:
        if fn is None or id(fn) not in groups:
            return None
        return f"group{groups[id(fn)][0]}"

    def shown(t: Tensor) -> Tensor:
        return aliases.get(id(t), t)

    # A tensor made inside a box and used only inside it (and not the output) is not drawn.
    hidden = set(aliases)
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
        g = None
        if show_grad:
            if trace is not None:
                g = trace.grads.get(label)
            elif t._ctx is None or t._retains_grad:
                g = _leaf_gradient(t)
            else:
                g = intermediate.get(id(t))
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

    if view.border:  # a partial drawing: where the operations not drawn come in
        dot.node("more", f"... {len(view.border):,} value(s) computed by operations not drawn",
                 **STYLE["constant"])
        for t in view.tensors:
            if id(t) in view.border and id(t) not in hidden:
                dot.edge("more", f"n{index[id(t)]}", style="dotted")

    drawn_groups: set[str] = set()
    edges: set[tuple[str, str]] = set()

    def edge(a: str, b: str, **attrs: str) -> None:
        if (a, b) not in edges:
            edges.add((a, b))
            dot.edge(a, b, **attrs)

    for k, fn in enumerate(view.functions):
        if id(fn) in internal:
            continue
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
                parent = shown(parent)
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
        out = shown(out)
        if id(out) not in hidden:
            edge(node_id, f"n{index[id(out)]}")
    return dot


def _backward_order(view: GraphView, trace: BackwardTrace | None) -> dict[int, int]:
    """``id(fn) -> step number`` (1-based) in the order backward visits the operations."""
    if trace is not None:
        return {id(step.function): step.index + 1 for step in trace.steps}
    # Without a trace: the order the engine would use, without @'s own reshapes.
    _, internal = internal_aliases(view)
    ops = [t._ctx for t in reversed(autograd.topological_sort(view.root, freed_ok=True))
           if t._ctx is not None and id(t._ctx) not in internal]
    return {id(fn): k + 1 for k, fn in enumerate(ops)}
