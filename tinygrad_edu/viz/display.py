"""What a drawing shows when Jupyter displays it, on any machine.

:class:`GraphDrawing` is the ``graphviz.Digraph`` that :func:`~tinygrad_edu.viz.draw_graph`
returns: everything of a Digraph (``.source``, ``.render``, ``.pipe``) plus a Jupyter display
that goes through the package's renderer chain (:func:`~tinygrad_edu.viz.find_renderer`: the
system ``dot``, else ``graphviz-pure`` from the ``render`` extra). Without any renderer, or when
the renderer fails, it shows the DOT source under one line saying how to get pictures; it
never raises graphviz's ``ExecutableNotFound``.
"""

from __future__ import annotations

import subprocess
from typing import Any

import graphviz

from .render import HINT, to_svg

__all__ = ["GraphDrawing", "mimebundle_of"]

_NO_PICTURE = HINT.replace("wrote the DOT source instead", "showing the DOT source")


def mimebundle_of(graph: Any) -> dict[str, str]:
    """The picture through the renderer chain (``"image/svg+xml"``) and the DOT source as
    ``"text/plain"``; without a picture, the text starts with the hint (or the renderer's
    error).

    Example:
        >>> bundle = mimebundle_of("digraph { a -> b }")
        >>> "a -> b" in bundle["text/plain"]
        True
    """
    source = graph.source if hasattr(graph, "source") else str(graph)
    try:
        svg = to_svg(source)
        note = _NO_PICTURE
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        svg, note = None, f"the Graphviz renderer failed ({e}); showing the DOT source"
    if svg is not None:
        return {"image/svg+xml": svg, "text/plain": source}
    return {"text/plain": f"{note}\n{source}"}


class GraphDrawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that displays in Jupyter with whatever renderer is installed.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import draw_graph
        >>> w = Tensor([2.0], requires_grad=True, name="w")
        >>> drawing = draw_graph((w * w).sum())
        >>> isinstance(drawing, GraphDrawing), "w" in drawing.source
        (True, True)
    """

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str]:
        bundle = mimebundle_of(self)
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle

    def _repr_svg_(self) -> str | None:
        return mimebundle_of(self).get("image/svg+xml")

    def _repr_image_svg_xml(self) -> str:  # graphviz's own name for the same display
        bundle = mimebundle_of(self)
        return bundle.get("image/svg+xml") or bundle["text/plain"]
