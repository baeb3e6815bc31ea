"""Inline pictures in Jupyter: tensors show the graph that computed them, modules their layers.

Jupyter calls ``_repr_mimebundle_`` on the objects it displays; Tensor and Module forward it
here. Without a renderer (or for a tensor with no graph) only the text form is given, so
notebooks work everywhere.
"""

from __future__ import annotations

from typing import Any

from ..errors import BackwardError
from ..tensor import Tensor
from .graph import FONT, STYLE, draw_graph
from .render import to_svg

__all__ = ["draw_module", "mimebundle"]


def draw_module(module: Any) -> Any:
    """A ``graphviz.Digraph`` of a module's structure: one box per submodule, with the shapes
    of its own parameters, linked to its children in order.

    Example:
        >>> from tinygrad_edu.nn import MLP
        >>> from tinygrad_edu.viz.jupyter import draw_module
        >>> "Linear" in draw_module(MLP([2, 3, 1], rng=0)).source
        True
    """
    import graphviz

    dot = graphviz.Digraph("module", graph_attr={"rankdir": "TB"},
                           node_attr={"fontname": FONT, "fontsize": "11", "shape": "box"})
    ids = {}
    for k, (name, mod) in enumerate(module.named_modules()):
        ids[id(mod)] = f"m{k}"
        extra = mod.extra_repr() if hasattr(mod, "extra_repr") else ""
        title = f"{name + ': ' if name else ''}{type(mod).__name__}"
        lines = [title + (f"({extra})" if extra else "")]
        own = [(n, p) for n, p in mod.named_parameters() if "." not in n]
        lines += [f"{n} {tuple(p.shape)}" for n, p in own]
        dot.node(f"m{k}", "\n".join(lines), **STYLE["parameter" if own else "intermediate"])
    for _, mod in module.named_modules():
        for child in mod.children():
            dot.edge(ids[id(mod)], ids[id(child)])
    return dot


def mimebundle(obj: Any) -> dict[str, str]:
    """``{"text/plain": ..., "image/svg+xml": ...}`` for a Tensor or a Module."""
    bundle = {"text/plain": repr(obj)}
    try:
        if isinstance(obj, Tensor):
            if obj._ctx is None:  # a leaf: its repr says it all
                return bundle
            graph = draw_graph(obj)
        else:
            graph = draw_module(obj)
        svg = to_svg(graph)
    except (BackwardError, RuntimeError, OSError):  # a broken graph, renderer failure
        return bundle
    if svg is not None:
        bundle["image/svg+xml"] = svg
    return bundle
