"""Pictures of learning: loss curves, loss surfaces with optimiser paths, decision boundaries.

Three plots the course draws again and again:

* :func:`plot_history` — the loss L against the number of updates, for one run or several on
  the same axes (e.g. eta = 0.001 against eta = 0.01: the larger rate overshoots and spikes);
* :func:`plot_loss_surface` — the contours of a loss of two weights, E(w1, w2), with the path
  w_0, w_1, ... of gradient descent (or momentum, Adam, Newton) drawn on top;
* :func:`plot_decision_boundary` — the class a 2-D classifier predicts at every point of the
  plane, with the training points on top.

Each lives in a module of its own (:mod:`.history_plot`, :mod:`.loss_surface`,
:mod:`.decision_boundary`) on the shared helpers of :mod:`.figure`; this module gathers them.
Each returns a ``matplotlib.figure.Figure`` on an Agg canvas (no window, no pyplot state);
with ``path=`` the figure is also written there (format from the extension, PNG without one).
"""

from __future__ import annotations

from .decision_boundary import plot_decision_boundary
from .history_plot import plot_history
from .loss_surface import plot_loss_surface

__all__ = ["plot_decision_boundary", "plot_history", "plot_loss_surface"]
