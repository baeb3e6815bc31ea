"""plot_history: the loss (and other metrics) against updates or epochs, one run or several."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from ..tensor import Tensor
from ..train import History

if TYPE_CHECKING:  # only for annotations: importing matplotlib here would make it required
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from .figure import (
    DEFAULT_DPI,
    DEFAULT_FIGSIZE,
    as_array,
    check_ax,
    check_figsize,
    check_path,
    check_title,
    labels_for,
    matplotlib_classes,
    new_axes,
    save_figure,
)

__all__ = ["plot_history"]


def _is_number(v: Any) -> bool:
    return v is None or (
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    )


def _is_series(obj: Any) -> bool:
    """A plain sequence of numbers (None allowed for a missing value): one run."""
    if isinstance(obj, (np.ndarray, Tensor)):
        return obj.ndim == 1 and as_array(obj).dtype.kind in "iuf"
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
    return runs, labels_for(labels, len(runs), "runs", op)


def _values(seq: Any) -> np.ndarray:
    """Float array with None as NaN (a missing value, drawn as a gap)."""
    return np.array([np.nan if v is None else float(v) for v in seq], dtype=np.float64)


def _curves(run: Any, metric: str, per: str, val: bool, op: str, name: str) -> list[Any]:
    """[(kind, values, missing, stopped)] for one run: the metric, then its val curve."""
    if not isinstance(run, History):
        values = as_array(run).tolist()
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
    check_ax(ax, op)
    check_title(title, op)
    figsize, dpi = check_figsize(figsize, dpi, op)
    runs, given = _runs(histories, labels, op)
    names = given or [f"run {i + 1}" for i in range(len(runs))]
    # every run is read before anything is drawn, so a bad metric leaves no half-made figure
    curves = [_curves(run, metric, per, val, op, repr(n)) for run, n in zip(runs, names)]
    _, canvas_cls = matplotlib_classes(op)
    target = check_path(path, canvas_cls, op)

    fig, ax = new_axes(ax, figsize, dpi, op)
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
    save_figure(fig, target, dpi)
    return fig
