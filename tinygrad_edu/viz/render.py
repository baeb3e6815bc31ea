"""Turning a drawing into a picture, on any machine: a system ``dot``, else ``graphviz-pure``.

``graphviz-pure`` is a self-contained port of Graphviz installed from the package index (the
``render`` extra, which ``make`` installs). Where neither exists, nothing crashes: the DOT
source is written next to where the picture would go, a text tree of the graph is printed, and
a one-line hint says how to get pictures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .graph import internal_aliases, shown_operation, summarize, walk_graph

__all__ = ["HINT", "find_renderer", "render", "save_graph", "text_tree", "to_svg"]

HINT = (
    "no Graphviz renderer found: wrote the DOT source instead. For pictures, "
    "pip install 'tinygrad_edu[render]' (graphviz-pure) or install Graphviz's dot."
)
FORMATS = ("svg", "png")
ENV = "TINYGRAD_EDU_DOT"  # a renderer's path, or "none" to act as if there were none


def find_renderer() -> str | None:
    """The path of a Graphviz renderer: ``$TINYGRAD_EDU_DOT``, ``dot``, or ``graphviz-pure``.

    ``graphviz-pure`` is also looked for beside the running Python, so it is found in a
    virtual environment that is not activated.
    """
    chosen = os.environ.get(ENV)
    if chosen:
        return None if chosen.lower() == "none" else chosen
    found = shutil.which("dot") or shutil.which("graphviz-pure")
    if found:
        return found
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / ("graphviz-pure.exe" if os.name == "nt" else "graphviz-pure")
        if candidate.is_file():
            return str(candidate)
    return None


def _source(graph: Any) -> str:
    return graph.source if hasattr(graph, "source") else str(graph)


def _run(renderer: str, source: str, fmt: str) -> bytes:
    try:
        done = subprocess.run(
            [renderer, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=120
        )
    except FileNotFoundError:
        origin = f" (from ${ENV})" if os.environ.get(ENV) else ""
        raise FileNotFoundError(
            f"the Graphviz renderer {renderer!r}{origin} does not exist; set {ENV} to the "
            f"path of dot or graphviz-pure, or to 'none' to write DOT files instead"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode().strip() or "(it printed nothing on stderr)"
        raise RuntimeError(f"{renderer} failed to render {fmt} (exit {done.returncode}): {said}")
    return done.stdout


def to_svg(graph: Any) -> str | None:
    """The SVG text of a drawing, or None when no renderer is installed."""
    renderer = find_renderer()
    if renderer is None:
        return None
    return _run(renderer, _source(graph), "svg").decode()


def render(
    graph: Any, path: str | os.PathLike[str], tree: str | None = None, quiet: bool = False
) -> Path:
    """Render a drawing (a ``graphviz.Digraph`` or DOT text) to ``path`` (.svg, .png or .dot).

    Returns the path written: ``path`` itself, or, with no renderer installed, the same path
    with the suffix ``.dot`` (the source), after printing ``tree`` (a text version of the
    graph, see :func:`text_tree`) and a one-line hint, unless ``quiet``.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    source = _source(graph)
    if fmt not in FORMATS + ("dot", "gv"):
        raise InvalidArgumentError(
            f"render: unknown picture format {path.suffix!r}; use .svg, .png or .dot"
        )
    renderer = None if fmt in ("dot", "gv") else find_renderer()
    path.parent.mkdir(parents=True, exist_ok=True)
    if renderer is None:
        path = path if fmt in ("dot", "gv") else path.with_suffix(".dot")
        path.write_text(source)
        if fmt not in ("dot", "gv") and not quiet:
            if tree:
                print(tree)
            print(HINT, file=sys.stderr)
        return path
    picture = _run(renderer, source, fmt)
    atomic_write(path, lambda f: f.write(picture))
    return path


def text_tree(tensor: Tensor, max_elements: int = 4, max_depth: int = 40) -> str:
    """The graph behind ``tensor`` as an indented text tree, output first.

    A value used twice appears twice, marked ``(see above)`` the second time. The reshapes
    ``@`` makes of 1-D operands are left out, as in the drawings. Branches deeper
    than ``max_depth`` are cut with a note (the indentation of a deep chain would otherwise
    grow with the square of its length).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import text_tree
        >>> w = Tensor([2.0], requires_grad=True, name="w")
        >>> print(text_tree((w * w).sum()))
        t2 = Sum  shape ()  data 4
        └─ t1 = Mul  shape (1,)  data [4]
           ├─ w  (param)  shape (1,)  data [2]
           └─ w  (see above)
    """
    view = walk_graph(tensor)
    aliases, internal = internal_aliases(view)
    lines: list[str] = []
    shown: set[int] = set()
    stack: list[tuple[Any, str, str, int]] = [(tensor, "", "", 0)]
    while stack:
        t, first, rest, depth = stack.pop()
        if depth > max_depth:
            lines.append(f"{first}... (deeper than {max_depth} levels, not shown)")
            continue
        if not isinstance(t, Tensor):
            lines.append(f"{first}{summarize(t, max_elements).replace(chr(10), '; ')}  (constant)")
            continue
        label = view.label(t)
        if id(t) in shown:
            lines.append(f"{first}{label}  (see above)")
            continue
        shown.add(id(t))
        data = summarize(t.data, max_elements).replace("\n", "; ")
        fn, inputs = shown_operation(t, aliases, internal)
        if fn is None:
            kind = "  (param)" if t.requires_grad else "  (input)"
            lines.append(f"{first}{label}{kind}  shape {t.shape}  data {data}")
            continue
        lines.append(f"{first}{label} = {fn.name}  shape {t.shape}  data {data}")
        for k, parent in reversed(list(enumerate(inputs))):
            last = k == len(inputs) - 1
            branch, indent = ("└─ ", "   ") if last else ("├─ ", "│  ")
            stack.append((parent, rest + branch, rest + indent, depth + 1))
    return "\n".join(lines)


def save_graph(tensor: Tensor, path: str | os.PathLike[str], **options: Any) -> Path:
    """Draw the graph behind ``tensor`` (``draw_graph(tensor, **options)``) and render it.

    Without a renderer, writes the ``.dot`` source and prints the text tree and a hint.

    Example:
        >>> import tempfile, pathlib
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import save_graph
        >>> w = Tensor([2.0], requires_grad=True, name="w")
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> save_graph((w * w).sum(), folder / "graph.dot").name
        'graph.dot'
    """
    from .graph import draw_graph

    return render(draw_graph(tensor, **options), path, tree=text_tree(tensor))
