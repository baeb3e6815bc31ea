"""Pictures of learning: loss curves, loss surfaces with optimiser paths, decision boundaries.

Three plots the course draws again and again:

* :func:`plot_history` — the loss L against the number of updates, for one run or several on
  the same axes (e.g. eta = 0.001 against eta = 0.01: the larger rate overshoots and spikes);
* :func:`plot_loss_surface` — the contours of a loss of two weights, E(w1, w2), with the path
  w_0, w_1, ... of gradient descent (or momentum, Adam, Newton) drawn on top;
* :func:`plot_decision_boundary` — the class a 2-D classifier predicts at every point of the
  plane, with the training points on top.

Every function builds a ``matplotlib.figure.Figure`` on an Agg canvas, never through
``pyplot``: no window opens, no global figure state changes, the backend the user chose is
left alone, and the functions can run in threads. matplotlib is imported only when a plot is
asked for (``pip install 'tinygrad_edu[plot]'``). Each returns the Figure; with ``path=`` the
figure is also written there (format from the extension, PNG without one) through a temporary
file and a rename, so a reader never sees half a picture.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import no_grad
from ..errors import InvalidArgumentError, ShapeError
from ..tensor import Tensor, get_default_dtype
from ..train import History, _predict

if TYPE_CHECKING:  # only for annotations: importing matplotlib here would make it required
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_decision_boundary", "plot_history", "plot_loss_surface"]

DEFAULT_FIGSIZE = (6.0, 4.5)
DEFAULT_DPI = 100.0

# ----------------------------------------------------------------------------- shared helpers


def _matplotlib(op: str) -> tuple[Any, Any]:
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


def _check_figsize(figsize: Any, dpi: Any, op: str) -> tuple[tuple[float, float], float]:
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


def _check_path(path: Any, canvas_cls: Any, op: str) -> tuple[str, str] | None:
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


def _check_ax(ax: Any, op: str) -> None:
    if ax is not None and not (hasattr(ax, "plot") and hasattr(ax, "get_figure")):
        raise InvalidArgumentError(
            f"{op}: ax must be a matplotlib Axes (or None for a new figure); "
            f"got {type(ax).__name__}"
        )


def _check_title(title: Any, op: str) -> None:
    if title is not None and not isinstance(title, str):
        raise InvalidArgumentError(f"{op}: title must be a string or None; got {title!r}")


def _new_axes(ax: Any, figsize: tuple[float, float], dpi: float, op: str) -> tuple[Any, Any]:
    """(figure, axes): the given axes and its top-level figure, or a fresh Agg figure."""
    if ax is not None:
        try:  # matplotlib >= 3.10: the top figure even when ax sits in a SubFigure
            return ax.get_figure(root=True), ax
        except TypeError:
            return ax.figure, ax
    Figure, FigureCanvasAgg = _matplotlib(op)
    # constrained layout fits the labels in without changing the figure's pixel size
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig: Any, target: tuple[str, str] | None, dpi: float) -> None:
    """Write the figure through a temporary file in the same folder, then rename it."""
    if target is None:
        return
    path, fmt = target
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".plot-", suffix="." + fmt, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=dpi)
        # mkstemp makes the file private (0600); a picture gets the usual umask permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _labels_for(labels: Any, n: int, what: str, op: str) -> list[str] | None:
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


def _as_array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# ----------------------------------------------------------------------------- plot_history


def _is_number(v: Any) -> bool:
    return v is None or (
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    )


def _is_series(obj: Any) -> bool:
    """A plain sequence of numbers (None allowed for a missing value): one run."""
    if isinstance(obj, (np.ndarray, Tensor)):
        return obj.ndim == 1 and _as_array(obj).dtype.kind in "iuf"
    return (
        isinstance(obj, (list, tuple))
        and len(obj) > 0
        and all(_is_number(v) for v in obj)
        and any(v is not None for v in obj)
    )


def _runs(histories: Any, labels: Any, op: str) -> tuple[list[Any], list[str] | None]:
    """The runs to draw and their labels (None when the user gave none)."""
    if isinstance(histories, Mapping):
        if labels is not None:
            raise InvalidArgumentError(
                f"{op}: histories is a dict, so its keys are the labels; pass labels=None"
            )
        runs, labels = list(histories.values()), [str(k) for k in histories]
    elif isinstance(histories, History) or _is_series(histories):
        runs = [histories]
    elif isinstance(histories, (list, tuple)):
        runs = list(histories)
    else:
        raise InvalidArgumentError(
            f"{op}: histories must be a History, a list of losses, or a list or dict of them; "
            f"got {type(histories).__name__}"
        )
    if not runs:
        raise InvalidArgumentError(f"{op}: no histories to plot")
    for i, run in enumerate(runs):
        if not (isinstance(run, History) or _is_series(run)):
            raise InvalidArgumentError(
                f"{op}: run {i} is a {type(run).__name__}; each run must be a History or a "
                "non-empty list of numbers"
            )
    return runs, _labels_for(labels, len(runs), "runs", op)


def _values(seq: Any) -> np.ndarray:
    """Float array with None as NaN (a missing value, drawn as a gap)."""
    return np.array([np.nan if v is None else float(v) for v in seq], dtype=np.float64)


def _curves(run: Any, metric: str, per: str, val: bool, op: str, name: str) -> list[Any]:
    """[(kind, values, missing, stopped)] for one run: the metric, then its val curve."""
    if not isinstance(run, History):
        values = _as_array(run).tolist()
        return [("", _values(values), np.array([v is None for v in values], bool), False)]
    stopped = run.stop_reason is not None
    if per == "step":
        return [("", _values(run.losses), np.zeros(len(run.losses), bool), stopped)]
    raw = run.metric(metric)
    if raw and all(v is None for v in raw):
        raise InvalidArgumentError(
            f"{op}: run {name} recorded no {metric!r} (it is None every epoch); "
            f"plot a metric the run has, e.g. 'loss'"
        )
    curves = [("", _values(raw), np.array([v is None for v in raw], bool), stopped)]
    val_name = "val_" + metric
    if val and not metric.startswith("val_") and run.epochs:
        known = {key for epoch in run.epochs for key in epoch}
        val_raw = run.metric(val_name) if val_name in known else []
        if any(v is not None for v in val_raw):
            missing = np.array([v is None for v in val_raw], bool)
            curves.append(("val", _values(val_raw), missing, stopped))
    return curves


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start), NaN skipped."""
    ok = np.isfinite(y)
    sums = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    counts = np.concatenate([[0], np.cumsum(ok)])
    hi = np.arange(1, len(y) + 1)
    lo = np.maximum(hi - window, 0)
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[hi] - sums[lo]) / np.maximum(n, 1), np.nan)


def plot_history(
    histories: Any,
    labels: Sequence[str] | None = None,
    metric: str = "loss",
    per: str = "step",
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    smooth: int | None = None,
    log_y: bool = False,
    val: bool = True,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Training curves of one or several runs on one set of axes.

    The course's picture of the learning rate: the loss L after each update
    w <- w - eta dL/dw, for eta = 0.001 and eta = 0.01 side by side; the larger rate falls
    faster but overshoots the minimum and spikes.

    A run whose loss became NaN or infinite (or a History that ``fit`` stopped early) is
    drawn up to its last finite value and marked there with a red cross ("diverged").

    Args:
        histories: a :class:`~tinygrad_edu.train.History`, a plain list of numbers (one value
            per step or epoch), a list of these, or a dict label -> run.
        labels: one legend label per run (not with a dict). Several runs without labels are
            called "run 1", "run 2", ...
        metric: for ``per="epoch"``, the per-epoch metric to draw ("loss", "accuracy",
            "val_loss", "val_accuracy", "lr"); ``per="step"`` has only "loss".
        per: "step" draws ``History.losses`` (one point per update); "epoch" draws
            ``History.metric(metric)`` (one point per epoch).
        ax: axes to draw on; None makes a new figure of ``figsize`` inches.
        path: also write the figure to this file (PNG, PDF, SVG ... by extension).
        title: the axes' title.
        smooth: a window k >= 1: draw the moving average of the last k values over the
            raw curve (which stays, faint and unlabelled, beneath it).
        log_y: a logarithmic loss axis (values <= 0 are left out by matplotlib).
        val: with ``per="epoch"`` and metric "loss" or "accuracy", also draw the matching
            validation curve, dashed in the run's colour, when the run recorded one.
        figsize: size of a new figure in inches; the picture is figsize * dpi pixels.
        dpi: pixels per inch of the figure and of the written file.

    Returns:
        The matplotlib Figure (the one holding ``ax`` when an axes was given).

    Raises:
        InvalidArgumentError: unknown ``per`` or metric, a labels list of the wrong length, a
            bad ``smooth`` window, or something that is not a run.
        ImportError: matplotlib is not installed.

    Example:
        >>> from tinygrad_edu.viz.plots import plot_history
        >>> fig = plot_history({"eta=0.001": [1.0, 0.9, 0.8], "eta=0.01": [1.0, 0.5, 0.7]})
        >>> [line.get_label() for line in fig.axes[0].lines]
        ['eta=0.001', 'eta=0.01']
    """
    op = "plot_history"
    if per not in ("step", "epoch"):
        raise InvalidArgumentError(f"{op}: per must be 'step' or 'epoch'; got {per!r}")
    if not isinstance(metric, str):
        raise InvalidArgumentError(f"{op}: metric must be a string such as 'loss'; got {metric!r}")
    if per == "step" and metric != "loss":
        raise InvalidArgumentError(
            f"{op}: per='step' draws the loss of every step only; for {metric!r} use per='epoch'"
        )
    if smooth is not None and (
        isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1
    ):
        raise InvalidArgumentError(
            f"{op}: smooth must be None or a window length (an int >= 1); got {smooth!r}"
        )
    _check_ax(ax, op)
    _check_title(title, op)
    figsize, dpi = _check_figsize(figsize, dpi, op)
    runs, given = _runs(histories, labels, op)
    names = given or [f"run {i + 1}" for i in range(len(runs))]
    # every run is read before anything is drawn, so a bad metric leaves no half-made figure
    curves = [_curves(run, metric, per, val, op, repr(n)) for run, n in zip(runs, names)]
    _, canvas_cls = _matplotlib(op)
    target = _check_path(path, canvas_cls, op)

    fig, ax = _new_axes(ax, figsize, dpi, op)
    show_names = given is not None or len(runs) > 1
    any_val = any(len(c) > 1 for c in curves)
    ends: list[tuple[float, float]] = []  # where diverged or stopped runs end
    for name, run_curves in zip(names, curves):
        color = None
        for kind, y, missing, stopped in run_curves:
            # the curve ends at its first NaN or inf; missing values (None) are only gaps
            bad = np.flatnonzero(~missing & ~np.isfinite(y))
            end = int(bad[0]) if len(bad) else len(y)
            y = y[:end]
            x = np.arange(1, end + 1)
            if show_names and any_val:
                label = f"{name} ({kind or 'train'})"
            elif show_names:
                label = name
            elif any_val:
                label = kind or "train"
            else:
                label = "_nolegend_"
            style = "--" if kind == "val" or metric.startswith("val_") else "-"
            shown = _moving_average(y, int(smooth)) if smooth and smooth > 1 else y
            (line,) = ax.plot(x, shown, linestyle=style, color=color, label=label)
            color = line.get_color()
            if shown is not y:
                ax.plot(
                    x,
                    y,
                    linestyle=style,
                    color=color,
                    alpha=0.25,
                    lw=1,
                    label="_nolegend_",
                    zorder=line.get_zorder() - 0.1,
                )
            if (len(bad) or (stopped and kind == "")) and end > 0:  # one cross per stop
                ends.append((x[-1], shown[-1]))
    # the crosses come after every curve, so "diverged" closes the legend
    for k, (xe, ye) in enumerate(ends):
        ax.scatter(
            [xe],
            [ye],
            marker="x",
            s=60,
            color="red",
            zorder=3,
            label="diverged" if k == 0 else "_nolegend_",
        )
    ax.set_xlabel(per)
    ax.set_ylabel(metric if per == "epoch" else "loss")
    if log_y:
        ax.set_yscale("log")
    if title is not None:
        ax.set_title(title)
    if show_names or any_val or ends:
        ax.legend()
    ax.grid(True, alpha=0.3)
    _save(fig, target, dpi)
    return fig


# ----------------------------------------------------------------------------- plot_loss_surface


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


def _check_int(value: Any, name: str, minimum: int, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(f"{op}: {name} must be an int >= {minimum}; got {value!r}")
    return int(value)


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
            points = np.asarray(_as_array(item), dtype=np.float64)
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
    return out, _labels_for(labels, len(out), "trajectories", op)


def _scalar(value: Any, op: str) -> float:
    value = np.asarray(_as_array(value), dtype=np.float64)
    if value.size != 1:
        raise ShapeError(
            f"{op}: loss_fn(w) for one point w of shape (2,) must give one number; got an "
            f"array of shape {value.shape}"
        )
    return float(value.reshape(()))


def _vectorised(loss_fn: Callable[[Any], Any], W: np.ndarray) -> np.ndarray | None:
    """loss_fn(W) when it maps (..., 2) to (...); None for any failure or other shape."""
    try:
        Z = np.asarray(_as_array(loss_fn(W.copy())), dtype=np.float64)
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
    resolution = _check_int(resolution, "resolution", 2, op)
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        n_levels, level_values = _check_int(levels, "levels", 2, op), None
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
    _check_ax(ax, op)
    _check_title(title, op)
    figsize, dpi = _check_figsize(figsize, dpi, op)
    paths, names = _trajectories(trajectories, labels, op)
    _, canvas_cls = _matplotlib(op)
    target = _check_path(path, canvas_cls, op)

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

    fig, ax = _new_axes(ax, figsize, dpi, op)
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
    _save(fig, target, dpi)
    return fig


# ----------------------------------------------------------------------------- decision boundary


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
    X = np.asarray(_as_array(X))
    y = np.asarray(_as_array(y))
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
    resolution = _check_int(resolution, "resolution", 2, op)
    for value, name in ((margin, "margin"), (threshold, "threshold")):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
        ):
            raise InvalidArgumentError(f"{op}: {name} must be a finite number; got {value!r}")
    if margin < 0:
        raise InvalidArgumentError(f"{op}: margin must be >= 0; got {margin!r}")
    _check_ax(ax, op)
    _check_title(title, op)
    figsize, dpi = _check_figsize(figsize, dpi, op)
    _, canvas_cls = _matplotlib(op)
    target = _check_path(path, canvas_cls, op)

    lo = X.min(axis=0) - margin
    hi = X.max(axis=0) + margin
    hi = np.where(hi > lo, hi, lo + 1.0)  # one point and no margin: still a square to draw
    XX, YY = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    dtype = X.dtype if X.dtype.kind == "f" else get_default_dtype()
    grid = np.stack([XX.ravel(), YY.ravel()], axis=1).astype(dtype)
    out = np.asarray(_as_array(_predict(model, grid)))
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
    fig, ax = _new_axes(ax, figsize, dpi, op)
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
    _save(fig, target, dpi)
    return fig
