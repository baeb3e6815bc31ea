"""Seeing backprop: graph drawings, the backward pass step by step, and training plots.

* :func:`draw_graph` returns a ``graphviz.Digraph`` of the graph behind a tensor, before or
  after ``backward()`` (after it, with every gradient), that displays inline in Jupyter
  with whatever renderer is installed; :func:`save_graph` renders it to SVG or PNG (or DOT
  where no renderer is installed).
* :func:`trace_backward` records every step of the backward pass (a sequence of steps);
  :func:`save_stepper` turns it into numbered frames and an HTML page with a slider, and
  :func:`stepper` shows that page inline in Jupyter.
* :func:`plot_history`, :func:`plot_loss_surface` and :func:`plot_decision_boundary` draw
  with matplotlib (the ``plot`` extra), headless.
"""

from .display import GraphDrawing
from .graph import draw_graph, summarize, walk_graph
from .plots import plot_decision_boundary, plot_history, plot_loss_surface
from .render import find_renderer, render, save_graph, text_tree, to_svg
from .stepper import Stepper, backward_frames, partial_trace, save_stepper, step_texts, stepper
from .trace import BackwardStep, BackwardTrace, trace_backward

__all__ = [
    "BackwardStep",
    "BackwardTrace",
    "GraphDrawing",
    "Stepper",
    "backward_frames",
    "draw_graph",
    "find_renderer",
    "plot_decision_boundary",
    "plot_history",
    "plot_loss_surface",
    "partial_trace",
    "render",
    "save_graph",
    "save_stepper",
    "step_texts",
    "stepper",
    "summarize",
    "text_tree",
    "to_svg",
    "trace_backward",
    "walk_graph",
]
