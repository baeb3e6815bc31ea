"""Pictures of a sweep: the validation curve against a hyperparameter, and training curves.

* :func:`plot_validation_curve`: the mean validation loss (or accuracy) of each setting against
  one hyperparameter, the learning rate by default, on a logarithmic axis, with the spread over
  the folds as error bars. Settings whose trials diverged or failed are marked with a red cross
  at the top of the axes; the best setting with a star. This is the picture behind "the best
  value lies between too small and too large".
* :func:`plot_training_curves`: per setting, the per-epoch curve (validation loss by default)
  averaged over the folds, drawn by :func:`tinygrad_edu.viz.plot_history`.

Both build a matplotlib Figure on an Agg canvas (no pyplot, no window) and, given ``path=``,
write it through a temporary file and a rename, as every plot of the package does.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from ..viz.figure import (
    DEFAULT_DPI,
    DEFAULT_FIGSIZE,
    check_ax,
    check_figsize,
    check_path,
    check_title,
    matplotlib_classes,
    new_axes,
    save_figure,
)
from ..viz.history_plot import plot_history

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .results import SearchResult

__all__ = ["plot_training_curves", "plot_validation_curve"]

_METRICS = ("val_loss", "val_accuracy")
_CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in
                     params.items()) or "(defaults)"  # fmt: skip


def plot_validation_curve(
    result: SearchResult,
    param: str = "lr",
    metric: str = "val_loss",
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    log_x: bool = True,
    log_y: bool = False,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """The mean validation ``metric`` of every setting against ``param``, with error bars.

    Settings that differ in other hyperparameters are drawn as separate lines (labelled by
    those values). The error bars are one standard deviation over the folds.

    Args:
        result: a :class:`~tinygrad_edu.tune.SearchResult`.
        param: the hyperparameter on the x axis (numbers; positive for the log axis).
        metric: "val_loss" or "val_accuracy".
        ax: axes to draw on; None makes a new figure of ``figsize`` inches.
        path: also write the figure there (PNG, PDF, SVG ... by extension).
        title: the axes' title.
        log_x: a logarithmic x axis (the natural one for a learning rate).
        log_y: a logarithmic y axis (when a too large rate makes the loss explode).
        figsize, dpi: size of a new figure and pixels per inch.

    Raises:
        InvalidArgumentError: ``param`` is not a numeric hyperparameter of every setting, an
            unknown metric, non-positive values on a log axis.
        ImportError: matplotlib is not installed.

    Example:
        >>> from tinygrad_edu.tune import SearchResult, TrialResult, plot_validation_curve
        >>> trials = [TrialResult(i, i, {"lr": lr}, 0, 0, "ok", val_loss=v)
        ...           for i, (lr, v) in enumerate([(0.01, 0.9), (0.1, 0.3), (1.0, 0.6)])]
        >>> result = SearchResult([{"lr": 0.01}, {"lr": 0.1}, {"lr": 1.0}], trials, k=1, seed=0)
        >>> fig = plot_validation_curve(result)
        >>> fig.axes[0].get_xscale(), result.best_params
        ('log', {'lr': 0.1})
    """
    op = "plot_validation_curve"
    if metric not in _METRICS:
        raise InvalidArgumentError(
            f"{op}: metric must be one of {', '.join(map(repr, _METRICS))}; got {metric!r}"
        )
    missing = [s for s in result.settings if param not in s]
    if missing or not result.settings:
        names = sorted({k for s in result.settings for k in s})
        raise InvalidArgumentError(
            f"{op}: {param!r} is not a hyperparameter of every setting (e.g. {missing[:1]}); "
            f"the grid has {names or 'none'}"
        )
    values = [s[param] for s in result.settings]
    if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
               for v in values):  # fmt: skip
        raise InvalidArgumentError(f"{op}: the values of {param!r} must be numbers; got {values}")
    if log_x and min(values) <= 0:
        raise InvalidArgumentError(
            f"{op}: a log axis needs positive values of {param!r}; got {min(values)}. Pass "
            "log_x=False"
        )
    check_ax(ax, op)
    check_title(title, op)
    figsize, dpi = check_figsize(figsize, dpi, op)
    _, canvas_cls = matplotlib_classes(op)
    target = check_path(path, canvas_cls, op)

    rows = result.table
    try:
        best = result.best_index
    except InvalidArgumentError:
        best = None
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        others = {k: v for k, v in row["params"].items() if k != param}
        groups.setdefault(_label(others) if others else "", []).append(row)

    fig, ax = new_axes(ax, figsize, dpi, op)
    broken_x: list[float] = []
    for name, members in groups.items():
        members = sorted(members, key=lambda r: float(r["params"][param]))
        good = [
            r for r in members
            if not r["failed"] and r["mean_" + metric] is not None
            and math.isfinite(r["mean_" + metric])
        ]  # fmt: skip
        broken_x += [float(r["params"][param]) for r in members if r not in good]
        if not good:
            continue
        x = [float(r["params"][param]) for r in good]
        y = [r["mean_" + metric] for r in good]
        err = [r["std_" + metric] for r in good]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=name or "_nolegend_")
    for r in rows:
        if r["setting"] == best:
            ax.scatter(
                [float(r["params"][param])], [r["mean_" + metric]], marker="*", s=220,
                color="gold", edgecolor="black", zorder=4, label=f"best: {_label(r['params'])}",
            )  # fmt: skip
    if broken_x:
        # a diverged setting has no loss to draw: a cross at the top of the axes, at its x
        ax.scatter(
            broken_x, [0.97] * len(broken_x), marker="x", s=70, color="red", zorder=4,
            transform=ax.get_xaxis_transform(), label="diverged or failed",
        )  # fmt: skip
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(f"{metric} (mean ± std over {result.k} folds)")
    if title is not None:
        ax.set_title(title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, target, dpi)
    return fig


def plot_training_curves(
    result: SearchResult,
    metric: str = "val_loss",
    ax: Axes | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    log_y: bool = False,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Per setting, the per-epoch ``metric`` averaged over its folds, one line each.

    A setting whose trials diverged ends where the first fold stopped, with a red cross.

    Args:
        result: a :class:`~tinygrad_edu.tune.SearchResult` whose trials kept their histories.
        metric: "loss", "accuracy", "val_loss" or "val_accuracy" (per epoch).
        ax, path, title, log_y, figsize, dpi: as for :func:`tinygrad_edu.viz.plot_history`.

    Raises:
        InvalidArgumentError: an unknown metric, or no trial with a recorded epoch.
        ImportError: matplotlib is not installed.

    Example:
        >>> from tinygrad_edu.train import History
        >>> from tinygrad_edu.tune import SearchResult, TrialResult, plot_training_curves
        >>> runs = [History([], [{"val_loss": v} for v in curve]) for curve in ([3, 2], [5, 4])]
        >>> trials = [TrialResult(f, 0, {"lr": 0.1}, f, 0, "ok", history=h)
        ...           for f, h in enumerate(runs)]
        >>> fig = plot_training_curves(SearchResult([{"lr": 0.1}], trials, k=2, seed=0))
        >>> fig.axes[0].lines[0].get_ydata().tolist()
        [4.0, 3.0]
    """
    op = "plot_training_curves"
    if metric not in _CURVES:
        raise InvalidArgumentError(
            f"{op}: metric must be one of {', '.join(map(repr, _CURVES))}; got {metric!r}"
        )
    curves: dict[str, list[float | None]] = {}
    for s, params in enumerate(result.settings):
        histories = result.histories(s)
        if not histories:
            continue
        epochs = max(len(h.epochs) for h in histories)
        if epochs == 0:
            continue
        mean = []
        for e in range(epochs):
            at = [h.epochs[e].get(metric) if e < len(h.epochs) else math.nan for h in histories]
            if any(v is None for v in at):  # the metric is not recorded (regression accuracy)
                mean.append(None)
            else:
                mean.append(float(np.mean(at)))
        if any(v is not None for v in mean):
            curves[_label(params)] = mean
    if not curves:
        raise InvalidArgumentError(
            f"{op}: no trial of this result recorded {metric!r} for an epoch (were the "
            "histories kept? a result loaded from JSON keeps them)"
        )
    return plot_history(
        curves, metric=metric, per="epoch", ax=ax, path=path, title=title, log_y=log_y,
        figsize=figsize, dpi=dpi,
    )  # fmt: skip
