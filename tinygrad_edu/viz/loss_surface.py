"""plot_loss_surface: the contours of a loss of two weights, with optimiser paths on top."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import no_grad
from ..errors import InvalidArgumentError, ShapeError

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
    labels_for,
    matplotlib_classes,
    new_axes,
    save_figure,
)

__all__ = ["plot_loss_surface"]


def _check_lim(lim: Any, name: str, op: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{op}: {name} must be a pair (low, high), e.g. (-2, 2); got {lim!r}"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InvalidArgumentError(
            f"{op}: {name} must be two finite numbers with low < high; got {lim!r}"
        )
    return lo, hi


def _trajectories(trajectories: Any, labels: Any, op: str) -> tuple[list[np.ndarray], Any]:
    """Each trajectory as a float (T, 2) array, with the labels (None when not given)."""
    if trajectories is None:
        if labels is not None:
            raise InvalidArgumentError(f"{op}: labels given but no trajectories")
        return [], None
    if isinstance(trajectories, Mapping):
        if labels is not None:
            raise InvalidArgumentError(
                f"{op}: trajectories is a dict, so its keys are the labels; pass labels=None"
            )
        labels = [str(k) for k in trajectories]
        items = list(trajectories.values())
    else:
        try:  # one (T, 2) array, or several of the same length stacked as (K, T, 2)
            whole = np.asarray(trajectories, dtype=np.float64)
        except (TypeError, ValueError):
            whole = None
        if whole is not None and whole.ndim == 2:
            items = [whole]
        elif whole is not None and whole.ndim == 3:
            items = list(whole)
        elif isinstance(trajectories, (list, tuple)):
            items = list(trajectories)
        else:
            raise InvalidArgumentError(
                f"{op}: trajectories must be a (T, 2) array of points or a list of them; got "
                f"{type(trajectories).__name__}"
            )
    out = []
    for i, item in enumerate(items):
        try:
            points = np.asarray(as_array(item), dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"{op}: trajectory {i} is not an array of points: {type(item).__name__}"
            ) from None
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ShapeError(
                f"{op}: trajectory {i} has shape {points.shape}; it must be (T, 2) with T >= 1 "
                "points (w[0], w[1])"
            )
        out.append(points)
    return out, labels_for(labels, len(out), "trajectories", op)


def _scalar(value: Any, op: str) -> float:
    value = np.asarray(as_array(value), dtype=np.float64)
    if value.size != 1:
        raise ShapeError(
            f"{op}: loss_fn(w) for one point w of shape (2,) must give one number; got an "
            f"array of shape {value.shape}"
        )
    return float(value.reshape(()))


def _vectorised(loss_fn: Callable[[Any], Any], W: np.ndarray) -> np.ndarray | None:
    """loss_fn(W) when it maps (..., 2) to (...); None for any failure or other shape."""
    try:
        Z = np.asarray(as_array(loss_fn(W.copy())), dtype=np.float64)
    except Exception:  # not vectorised: any failure only means "call it point by point"
        return None
    return Z if Z.shape == W.shape[:-1] else None


def _evaluate_grid(loss_fn: Callable[[Any], Any], W: np.ndarray, op: str) -> np.ndarray:
    """loss_fn on every grid point: one vectorised call if it gives the right numbers."""
    n, m = W.shape[:2]
    # A function written for one point (w[0], w[1]) can return an array of the right shape by
    # accident on a square grid, so a vectorised answer must also fit a non-square corner of
    # the grid and agree with one-point calls at scattered points.
    probes = [(0, 0), (n - 1, m - 1), (0, m - 1), (n - 1, 0), (n // 2, m // 3), (n // 3, m - 2)]
    with no_grad(), np.errstate(all="ignore"):
        reference = [_scalar(loss_fn(W[i, j].copy()), op) for i, j in probes]
        Z = _vectorised(loss_fn, W)
        corner = _vectorised(loss_fn, W[: min(n, 3), : min(m, 5)]) if Z is not None else None
        if (
            corner is not None
            and np.allclose(
                [Z[i, j] for i, j in probes], reference, rtol=1e-6, atol=1e-12, equal_nan=True
            )
            and np.allclose(
                corner, Z[: min(n, 3), : min(m, 5)], rtol=1e-6, atol=1e-12, equal_nan=True
            )
        ):
            return Z
        Z = np.empty((n, m), dtype=np.float64)
        for i in range(n):
            for j in range(m):
                Z[i, j] = _scalar(loss_fn(W[i, j].copy()), op)
    return Z


def plot_loss_surface(
    loss_fn: Callable[[np.ndarray], Any],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    trajectories: Any = None,
    labels: Sequence[str] | None = None,
    levels: int | Sequence[float] = 30,
    resolution: int = 100,
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    log_levels: bool = False,
    title: str | None = None,
    colorbar: bool = True,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: float = DEFAULT_DPI,
    mark_minimum: bool = True,
) -> Figure:
    """Contours of a loss of two weights, E(w), with optimiser paths w_0, w_1, ... on top.

    The grid's lowest point is starred unless ``mark_minimum=False`` (for a function without
    a minimum, such as the saddle x^2 - y^2, it would only be a corner of the picture).

    ``loss_fn`` is evaluated on a ``resolution`` x ``resolution`` grid over xlim x ylim. A
    function that accepts an array of shape (..., 2) and returns shape (...) is called once
    (its answer is checked against single-point calls); any other is called point by point
    with w of shape (2,). It may return a number, a numpy value or a one-element Tensor, and
    runs under ``no_grad``. The grid's lowest point is marked with a star, each trajectory is
    drawn as a line through its points, its start with a hollow circle and its end with a
    square. The axes show exactly xlim x ylim, so a path that overshoots leaves the picture.

    Args:
        loss_fn: E(w) for w = (w[0], w[1]).
        xlim: (low, high) of w[0]; ylim: (low, high) of w[1].
        trajectories: a (T, 2) array of points, a list of them, or a dict label -> points
            (numpy arrays, lists or Tensors), e.g. the weights after every optimiser step.
        labels: one legend label per trajectory (not with a dict).
        levels: number of contour levels (>= 2, evenly spaced from the lowest to the highest
            loss), or the increasing level values themselves.
        resolution: grid points per axis (>= 2).
        ax: axes to draw on; None makes a new figure of ``figsize`` inches.
        path: also write the figure to this file (PNG, PDF, SVG ... by extension).
        log_levels: space the levels geometrically between the smallest positive and the
            largest loss (losses spanning many orders of magnitude, e.g. Rosenbrock); lower
            values take the lowest colour.
        title: the axes' title.
        colorbar: draw a colour bar of loss values beside the axes.
        figsize: size of a new figure in inches; the picture is figsize * dpi pixels.
        dpi: pixels per inch of the figure and of the written file.

    Returns:
        The matplotlib Figure.

    Raises:
        InvalidArgumentError: bad limits, levels or resolution; labels that do not match the
            trajectories; a loss with no finite value on the grid (or none positive with
            ``log_levels``).
        ShapeError: a trajectory that is not of shape (T, 2).
        ImportError: matplotlib is not installed.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.viz.plots import plot_loss_surface
        >>> E = lambda w: 0.5 * w[..., 0] ** 2 + 2.0 * w[..., 1] ** 2
        >>> path = np.array([[1.5, 1.0], [1.2, 0.2], [0.96, 0.04]])
        >>> fig = plot_loss_surface(E, (-2, 2), (-2, 2), trajectories=[path], labels=["GD"])
        >>> fig.axes[0].lines[0].get_xydata().tolist() == path.tolist()
        True
    """
    op = "plot_loss_surface"
    if not callable(loss_fn):
        raise InvalidArgumentError(
            f"{op}: loss_fn must be a function of w (shape (2,)); got {type(loss_fn).__name__}"
        )
    x0, x1 = _check_lim(xlim, "xlim", op)
    y0, y1 = _check_lim(ylim, "ylim", op)
    resolution = check_int(resolution, "resolution", 2, op)
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        n_levels, level_values = check_int(levels, "levels", 2, op), None
    else:
        try:
            level_values = np.asarray(levels, dtype=np.float64)
        except (TypeError, ValueError):
            level_values = np.empty(0)
        if (
            level_values.ndim != 1
            or len(level_values) < 2
            or not np.all(np.isfinite(level_values))
            or np.any(np.diff(level_values) <= 0)
        ):
            raise InvalidArgumentError(
                f"{op}: levels must be an int >= 2 or at least two increasing finite values; "
                f"got {levels!r}"
            )
        n_levels = len(level_values)
        if log_levels and level_values[0] <= 0:
            raise InvalidArgumentError(
                f"{op}: log_levels needs positive level values; got {levels!r}"
            )
    check_ax(ax, op)
    check_title(title, op)
    figsize, dpi = check_figsize(figsize, dpi, op)
    paths, names = _trajectories(trajectories, labels, op)
    _, canvas_cls = matplotlib_classes(op)
    target = check_path(path, canvas_cls, op)

    xs = np.linspace(x0, x1, resolution)
    ys = np.linspace(y0, y1, resolution)
    XX, YY = np.meshgrid(xs, ys)  # rows follow w[1], columns w[0], as contour expects
    Z = _evaluate_grid(loss_fn, np.stack([XX, YY], axis=-1), op)
    finite = np.isfinite(Z)
    if not finite.any():
        raise InvalidArgumentError(
            f"{op}: loss_fn gave no finite value on the grid {xlim} x {ylim}; try smaller limits"
        )
    zmin, zmax = float(Z[finite].min()), float(Z[finite].max())
    norm, extend = None, "both"
    if log_levels:
        from matplotlib.colors import LogNorm
        from matplotlib.ticker import LogLocator

        ticks: Any = LogLocator()

        positive = Z[finite & (Z > 0)]
        if level_values is None and len(positive) == 0:
            raise InvalidArgumentError(
                f"{op}: log_levels needs positive losses; the largest on the grid is {zmax:g}"
            )
        if level_values is None:
            lo, hi = float(positive.min()), zmax
            level_values = np.geomspace(lo, hi if hi > lo else lo * 10, n_levels)
        norm = LogNorm(vmin=level_values[0], vmax=level_values[-1])
    else:
        from matplotlib.ticker import MaxNLocator

        ticks = MaxNLocator(8)  # round numbers on the colour bar, not the 30 level values
        if level_values is None:
            level_values = np.linspace(zmin, zmax if zmax > zmin else zmin + 1.0, n_levels)
            extend = "neither"  # the levels span every value on the grid
    Zm = np.ma.masked_invalid(Z)

    fig, ax = new_axes(ax, figsize, dpi, op)
    filled = ax.contourf(
        XX, YY, Zm, levels=level_values, cmap="viridis", norm=norm, alpha=0.85, extend=extend
    )
    ax.contour(XX, YY, Zm, levels=level_values, colors="k", linewidths=0.4, alpha=0.4)
    if colorbar:
        fig.colorbar(filled, ax=ax, label="loss", ticks=ticks)
    if mark_minimum:
        i, j = np.unravel_index(np.nanargmin(np.where(finite, Z, np.nan)), Z.shape)
        ax.scatter(
            [XX[i, j]],
            [YY[i, j]],
            marker="*",
            s=180,
            color="gold",
            edgecolors="k",
            zorder=4,
            label=f"grid minimum ({XX[i, j]:.3g}, {YY[i, j]:.3g})",
        )
    for k, points in enumerate(paths):
        # a path that blew up is drawn up to its last finite point
        ok = np.all(np.isfinite(points), axis=1)
        end = len(points) if ok.all() else int(np.argmin(ok))
        shown = points[:end]
        label = names[k] if names else (f"path {k + 1}" if len(paths) > 1 else "path")
        (line,) = ax.plot(
            shown[:, 0], shown[:, 1], marker=".", markersize=4, lw=1.5, label=label, zorder=5
        )
        if end:
            color = line.get_color()
            ax.scatter(
                [shown[0, 0]],
                [shown[0, 1]],
                marker="o",
                s=60,
                facecolors="white",
                edgecolors=color,
                linewidths=2,
                zorder=6,
                label="start" if k == 0 else "_nolegend_",
            )
            ax.scatter(
                [shown[-1, 0]],
                [shown[-1, 1]],
                marker="s",
                s=50,
                color=color,
                edgecolors="k",
                zorder=6,
                label="end" if k == 0 else "_nolegend_",
            )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("w[0]")
    ax.set_ylabel("w[1]")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    save_figure(fig, target, dpi)
    return fig
