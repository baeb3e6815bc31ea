"""plot_decision_boundary: the class a 2-D classifier predicts at every point of the plane."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError, ShapeError
from ..tensor import Tensor, get_default_dtype
from ..train import predict

if TYPE_CHECKING:  # only for annotations: importing matplotlib here would make it required
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from .figure import (
    DEFAULT_DPI,
    DEFAULT_FIGSIZE,
    as_array,
    check_ax,
    check_figsize,
    check_int,
    check_path,
    check_title,
    matplotlib_classes,
    new_axes,
    save_figure,
)

__all__ = ["plot_decision_boundary"]


def plot_decision_boundary(
    model: Callable[[Tensor], Any],
    X: Any,
    y: Any,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    resolution: int = 200,
    margin: float = 0.5,
    title: str | None = None,
    threshold: float = 0.0,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """The class a 2-D classifier predicts over the plane, with the data points on top.

    The model is evaluated on a ``resolution`` x ``resolution`` grid covering X plus
    ``margin`` on every side, in eval mode and without recording a graph (its train/eval mode
    is restored afterwards). With several outputs the predicted class is argmax_k s_k; with
    one output it is 1 where s > ``threshold`` and otherwise 0 (or -1 when the labels are in
    {-1, +1}). The regions are filled in the colour of their class and the points of X
    scattered in the colour of their label, so misclassified points stand out.

    Args:
        model: a callable mapping a Tensor of shape (N, 2) to scores (N, K), (N, 1) or (N,),
            usually an :class:`~tinygrad_edu.nn.Module`.
        X: inputs of shape (N, 2).
        y: labels: class indices (N,), one-hot (N, K), or {0, 1} / {-1, +1} for one output.
        ax: axes to draw on; None makes a new figure of ``figsize`` inches.
        path: also write the figure to this file (PNG, PDF, SVG ... by extension).
        resolution: grid points per axis (>= 2).
        margin: how far (in input units, >= 0) the grid extends beyond the data.
        title: the axes' title.
        threshold: for one-output models, the score above which class 1 is predicted
            (0 for logits and scores, 0.5 for probabilities).
        figsize: size of a new figure in inches; the picture is figsize * dpi pixels.
        dpi: pixels per inch of the figure and of the written file.

    Returns:
        The matplotlib Figure.

    Raises:
        ShapeError: X not of shape (N, 2) with N >= 1, y of the wrong length, or model
            outputs that are not (M,), (M, 1) or (M, K).
        InvalidArgumentError: labels that are not classes of the model, bad resolution or
            margin.
        ImportError: matplotlib is not installed.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz.plots import plot_decision_boundary
        >>> W = Tensor([[1.0, -1.0], [-1.0, 1.0]])   # class 0 where x0 > x1
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0]]); y = np.array([0, 1])
        >>> fig = plot_decision_boundary(lambda x: x @ W, X, y, resolution=50)
        >>> len(fig.axes[0].collections[-1].get_offsets())
        2
    """
    op = "plot_decision_boundary"
    X = np.asarray(as_array(X))
    y = np.asarray(as_array(y))
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ShapeError(
            f"{op}: X must have shape (N, 2) with N >= 1 (two features, one point per row); "
            f"got {X.shape}. Project or select two features first."
        )
    if X.dtype.kind not in "iuf" or not np.all(np.isfinite(X)):
        raise InvalidArgumentError(f"{op}: X must hold finite numbers")
    if y.ndim == 2:  # one-hot or probability labels
        y = y.argmax(axis=1)
    if y.ndim != 1 or len(y) != len(X):
        raise ShapeError(
            f"{op}: y must have one label per row of X, shape ({len(X)},) or ({len(X)}, K); "
            f"got {y.shape}"
        )
    if y.dtype.kind not in "iuf" or not np.all(np.mod(y, 1) == 0):
        raise InvalidArgumentError(f"{op}: y must hold integer class labels; got {y[:5]!r}...")
    y = y.astype(np.int64)
    resolution = check_int(resolution, "resolution", 2, op)
    for value, name in ((margin, "margin"), (threshold, "threshold")):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
        ):
            raise InvalidArgumentError(f"{op}: {name} must be a finite number; got {value!r}")
    if margin < 0:
        raise InvalidArgumentError(f"{op}: margin must be >= 0; got {margin!r}")
    check_ax(ax, op)
    check_title(title, op)
    figsize, dpi = check_figsize(figsize, dpi, op)
    _, canvas_cls = matplotlib_classes(op)
    target = check_path(path, canvas_cls, op)

    lo = X.min(axis=0) - margin
    hi = X.max(axis=0) + margin
    hi = np.where(hi > lo, hi, lo + 1.0)  # one point and no margin: still a square to draw
    XX, YY = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    dtype = X.dtype if X.dtype.kind == "f" else get_default_dtype()
    grid = np.stack([XX.ravel(), YY.ravel()], axis=1).astype(dtype)
    out = np.asarray(as_array(predict(model, grid)))
    M = len(grid)
    if out.shape == (M,) or out.shape == (M, 1):
        low = -1 if y.min() < 0 else 0
        classes = [low, 1]
        pred = np.where(out.reshape(M) > threshold, 1, 0)  # index into classes
        if not np.all(np.isin(y, classes)):
            raise InvalidArgumentError(
                f"{op}: a one-output model predicts classes {{0, 1}} or {{-1, +1}}; the "
                f"labels hold {np.unique(y).tolist()}"
            )
        label_index = np.where(y == 1, 1, 0)
    elif out.ndim == 2 and out.shape[0] == M:
        K = out.shape[1]
        classes = list(range(K))
        pred = out.argmax(axis=1)
        if y.min() < 0 or y.max() >= K:
            raise InvalidArgumentError(
                f"{op}: labels must be class indices 0..{K - 1} for a model with {K} outputs; "
                f"got labels from {y.min()} to {y.max()}"
            )
        label_index = y
    else:
        raise ShapeError(
            f"{op}: the model mapped a grid of shape {grid.shape} to {out.shape}; expected "
            f"({M},), ({M}, 1) or ({M}, K) scores"
        )

    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    K = len(classes)
    palette = [f"C{k % 10}" for k in range(K)]
    fig, ax = new_axes(ax, figsize, dpi, op)
    # one band per class index: level k - 1/2 .. k + 1/2 is class k
    ax.contourf(
        XX, YY, pred.reshape(XX.shape), levels=np.arange(K + 1) - 0.5, colors=palette, alpha=0.3
    )
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=label_index,
        cmap=ListedColormap(palette),
        vmin=-0.5,
        vmax=K - 0.5,
        edgecolors="k",
        linewidths=0.5,
        s=25,
        zorder=3,
    )
    present = sorted(set(label_index.tolist()))
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor=palette[k],
            markeredgecolor="k",
            label=f"class {classes[k]}",
        )
        for k in present
    ]
    ax.legend(handles=handles, loc="best", fontsize="small")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x[0]")
    ax.set_ylabel("x[1]")
    if title is not None:
        ax.set_title(title)
    save_figure(fig, target, dpi)
    return fig
