"""What every plot of the package shares: matplotlib on an Agg canvas, argument checks, saving.

Every plot builds a ``matplotlib.figure.Figure`` on an Agg canvas, never through ``pyplot``: no
window opens, no global figure state changes, the backend the user chose is left alone, and
plots can run in threads. matplotlib is imported only when a plot is asked for (``pip install
'tinygrad_edu[plot]'``). With ``path=`` a figure is written through a temporary file and a
rename, so a reader never sees half a picture. Used by :mod:`tinygrad_edu.viz` and
:mod:`tinygrad_edu.tune`'s plots.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_write
from ..errors import InvalidArgumentError
from ..tensor import Tensor

if TYPE_CHECKING:  # only for annotations: importing matplotlib here would make it required
    pass

__all__ = [
    "DEFAULT_DPI",
    "DEFAULT_FIGSIZE",
    "as_array",
    "check_ax",
    "check_figsize",
    "check_int",
    "check_path",
    "check_title",
    "labels_for",
    "matplotlib_classes",
    "new_axes",
    "save_figure",
]

DEFAULT_FIGSIZE = (6.0, 4.5)
DEFAULT_DPI = 100.0


def matplotlib_classes(op: str) -> tuple[Any, Any]:
    """The Figure class and the Agg canvas, imported on first use."""
    try:
        # The package itself first: when it is missing (or blocked in sys.modules) this fails
        # even if some submodule happens to be cached already.
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            f"{op} needs matplotlib, which is not installed. Install the plotting extra with "
            "pip install 'tinygrad_edu[plot]' (or pip install matplotlib)."
        ) from e
    return Figure, FigureCanvasAgg


def check_figsize(figsize: Any, dpi: Any, op: str) -> tuple[tuple[float, float], float]:
    try:
        w, h = (float(v) for v in figsize)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{op}: figsize must be a pair (width, height) in inches, e.g. (6, 4.5); "
            f"got {figsize!r}"
        ) from None
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        raise InvalidArgumentError(
            f"{op}: figsize must be two finite positive numbers; got {figsize!r}"
        )
    if (
        isinstance(dpi, bool)
        or not isinstance(dpi, (int, float, np.integer, np.floating))
        or not math.isfinite(dpi)
        or dpi <= 0
    ):
        raise InvalidArgumentError(f"{op}: dpi must be a finite positive number; got {dpi!r}")
    return (w, h), float(dpi)


def check_int(value: Any, name: str, minimum: int, op: str) -> int:
    """``value`` as an int, refused unless it is an integer >= ``minimum`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(f"{op}: {name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def check_path(path: Any, canvas_cls: Any, op: str) -> tuple[str, str] | None:
    """The path as a string and the format its extension names (PNG without an extension)."""
    if path is None:
        return None
    try:
        path = os.fspath(path)
    except TypeError:
        raise InvalidArgumentError(
            f"{op}: path must be a file name such as 'loss.png'; got {path!r}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    supported = canvas_cls.get_supported_filetypes()
    if fmt not in supported:
        raise InvalidArgumentError(
            f"{op}: cannot write a {fmt!r} file ({path!r}); use one of the extensions "
            f"{', '.join('.' + k for k in sorted(supported))}"
        )
    return path, fmt


def check_ax(ax: Any, op: str) -> None:
    if ax is not None and not (hasattr(ax, "plot") and hasattr(ax, "get_figure")):
        raise InvalidArgumentError(
            f"{op}: ax must be a matplotlib Axes (or None for a new figure); "
            f"got {type(ax).__name__}"
        )


def check_title(title: Any, op: str) -> None:
    if title is not None and not isinstance(title, str):
        raise InvalidArgumentError(f"{op}: title must be a string or None; got {title!r}")


def new_axes(ax: Any, figsize: tuple[float, float], dpi: float, op: str) -> tuple[Any, Any]:
    """(figure, axes): the given axes and its top-level figure, or a fresh Agg figure."""
    if ax is not None:
        try:  # matplotlib >= 3.10: the top figure even when ax sits in a SubFigure
            return ax.get_figure(root=True), ax
        except TypeError:
            return ax.figure, ax
    Figure, FigureCanvasAgg = matplotlib_classes(op)
    # constrained layout fits the labels in without changing the figure's pixel size
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def save_figure(fig: Any, target: tuple[str, str] | None, dpi: float) -> None:
    """Write the figure atomically (:func:`~tinygrad_edu.atomic.atomic_write`)."""
    if target is None:
        return
    path, fmt = target
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))


def labels_for(labels: Any, n: int, what: str, op: str) -> list[str] | None:
    """User labels as strings, one per item, or None when none were given."""
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = [labels]
    try:
        labels = [str(label) for label in labels]
    except TypeError:
        raise InvalidArgumentError(
            f"{op}: labels must be a list of strings; got {type(labels).__name__}"
        ) from None
    if len(labels) != n:
        raise InvalidArgumentError(
            f"{op}: got {len(labels)} labels for {n} {what}; give one label per {what[:-1]} "
            "or labels=None"
        )
    return labels


def as_array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)
