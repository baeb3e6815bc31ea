"""The backward pass as a film: one picture per step, saved as SVG files and one HTML page.

Backprop visits the operations from the output back to the inputs. Frame k shows the graph
as step k runs: the operation being processed is outlined in red, the operations already
visited carry their step number, and the gradients known at that moment are written on the
tensors:

* the output's gradient dL/dL = 1 (the seed), from the first frame on;
* an intermediate tensor's gradient dL/dz (the course's delta) from the step that uses it:
  its contributions have all arrived by then, so it is final;
* a leaf's gradient as it accumulates, the sum of what the steps so far sent it; where a
  value fans out, each edge is labelled with its share once a second share has arrived.

The last frame therefore shows every gradient of the pass. :func:`save_stepper` writes the
frames as ``step_001.svg``, ``step_002.svg`` ... and a self-contained ``backward.html`` (every
picture inline, no network) with a slider, previous/next buttons and the arrow keys, and under
the picture the trace text of the current step. Without a renderer it writes the DOT sources
and a page that shows them as text.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_write
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .graph import draw_graph
from .render import HINT, find_renderer, text_tree, to_svg
from .trace import BackwardTrace, trace_backward

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["Stepper", "backward_frames", "partial_trace", "save_stepper", "step_texts",
           "stepper"]

PAGE = "backward.html"
# Frames of an earlier run in the same folder; removed first so none is left over.
_FRAME_FILE = re.compile(r"step_\d+\.(svg|dot)")
_STEP_LINE = re.compile(r"step (\d+): ")


# ----------------------------------------------------------------------------- partial traces


def _root_label(trace: BackwardTrace) -> str:
    if trace.view is not None:
        return trace.view.label(trace.view.root)
    return trace.steps[0].output


def partial_trace(trace: BackwardTrace, steps: int) -> BackwardTrace:
    """The backward pass as far as its first ``steps`` steps: what a frame of the film shows.

    The result holds ``trace.steps[:steps]`` and the gradients known while the last of them
    runs: the output's (the seed), the output of every step so far (an intermediate's delta
    dL/dz is complete once the step that uses it runs), and for every leaf the sum of the
    contributions received so far. ``contributions`` keeps only what has been sent so far (to
    the tensors above), so fan-out shares appear as they arrive. With ``steps`` equal to the
    number of steps, the gradients are those of the whole pass.

    Args:
        trace: a whole pass, from :func:`~tinygrad_edu.viz.trace_backward`.
        steps: how many steps to keep, 0 to ``len(trace.steps)``.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import trace_backward
        >>> from tinygrad_edu.viz.stepper import partial_trace
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> y = x * x
        >>> y.name = "y"
        >>> trace = trace_backward(y.sum())
        >>> sorted(partial_trace(trace, 1).grads)      # Sum runs: only the output's gradient
        ['t1']
        >>> sorted(partial_trace(trace, 2).grads)      # Mul runs with y's delta; x gets 3 + 3
        ['t1', 'x', 'y']
        >>> partial_trace(trace, 2).grads["x"].tolist()
        [6.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise InvalidArgumentError(f"partial_trace: steps must be an int; got {steps!r}")
    if not 0 <= steps <= len(trace.steps):
        raise InvalidArgumentError(
            f"partial_trace: steps must be between 0 and {len(trace.steps)} (the steps of "
            f"the pass); got {steps}"
        )
    root = _root_label(trace)
    kept = trace.steps[:steps]
    grads: dict[str, np.ndarray] = {}
    if root in trace.grads:
        grads[root] = trace.grads[root]
    for step in kept:
        grads[step.output] = step.grad_output
    produced = {step.output for step in trace.steps}  # every tensor some step computes
    contributions: dict[str, list[tuple[int, np.ndarray]]] = {}
    for label, parts in trace.contributions.items():
        arrived = [(i, part) for i, part in parts if i < steps]
        if not arrived:
            continue
        if label in produced and label not in grads:
            continue  # an intermediate whose step has not run: shown when it does
        if label not in produced:  # a leaf: what it has accumulated so far
            complete = len(arrived) == len(parts) and label in trace.grads
            grads[label] = (trace.grads[label] if complete
                            else np.sum([part for _, part in arrived], axis=0))
        contributions[label] = arrived
    return BackwardTrace(list(kept), grads, contributions, trace.view)


# ----------------------------------------------------------------------------- frames


def _check_trace(tensor: Tensor, trace: BackwardTrace | None, op: str) -> BackwardTrace:
    if not isinstance(tensor, Tensor):
        raise InvalidArgumentError(f"{op}: needs a Tensor; got {type(tensor).__name__}")
    if trace is None:
        return trace_backward(tensor)
    if not isinstance(trace, BackwardTrace):
        raise InvalidArgumentError(
            f"{op}: trace must be a BackwardTrace from trace_backward(tensor); "
            f"got {type(trace).__name__}"
        )
    if trace.view is None or trace.view.root is not tensor:
        raise InvalidArgumentError(
            f"{op}: the trace was recorded for another tensor; pass the trace of this tensor, "
            "trace_backward(tensor), or leave trace=None"
        )
    return trace


def backward_frames(
    tensor: Tensor, trace: BackwardTrace | None = None, **draw_options: Any
) -> list[graphviz.Digraph]:
    """One drawing per step of the backward pass from ``tensor``, the current step outlined.

    Frame k is ``draw_graph(tensor, trace=partial_trace(trace, k), highlight=<step k's
    operation>, show_order=True, **draw_options)``: the gradients known while step k runs
    (see :func:`partial_trace`) and the visited operations numbered in backward order.

    Args:
        tensor: the output of the pass (usually a loss). Its graph must still exist: give the
            trace of an earlier :func:`~tinygrad_edu.viz.trace_backward` (which keeps it), or
            none and the pass is run here.
        trace: ``trace_backward(tensor)``; run here when None (it fills the leaves' ``.grad``).
        **draw_options: passed to :func:`~tinygrad_edu.viz.draw_graph` (``collapse``,
            ``rankdir``, ``show_data``, ``max_elements`` ...; ``show_order`` defaults to True).

    Returns:
        ``graphviz.Digraph`` objects, one per step in the order the steps ran (none when
        ``tensor`` is a leaf: the pass has no step).

    Raises:
        InvalidArgumentError: a trace of another tensor, or a ``trace`` or ``highlight``
            among the drawing options (the frames set them).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz.stepper import backward_frames
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> frames = backward_frames((x * x).sum())
        >>> len(frames)                                # Sum, then Mul
        2
        >>> "grad [6]" in frames[0].source, "grad [6]" in frames[1].source
        (False, True)
    """
    for reserved in ("trace", "highlight"):
        if reserved in draw_options:
            raise InvalidArgumentError(
                f"backward_frames: {reserved}= is set by each frame (the partial trace and the "
                "current step); leave it out of the drawing options"
            )
    trace = _check_trace(tensor, trace, "backward_frames")
    draw_options.setdefault("show_order", True)
    frames = []
    for k, step in enumerate(trace.steps, start=1):
        frames.append(draw_graph(tensor, trace=partial_trace(trace, k),
                                 highlight=step.function, **draw_options))
    return frames


def step_texts(trace: BackwardTrace, max_elements: int = 6) -> list[str]:
    """``trace.to_text()`` cut into one piece per step, for the captions of the frames.

    A fan-out sum ("dL/dW = ... + ... = ...") is added to the step at which the last of its
    contributions arrives.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz import trace_backward
        >>> from tinygrad_edu.viz.stepper import step_texts
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> texts = step_texts(trace_backward((x * x).sum()))
        >>> [text.splitlines()[0] for text in texts]
        ['step 1: t2 = Sum(t1)', 'step 2: t1 = Mul(x, x)']
        >>> texts[1].splitlines()[-1]
        '  dL/dx = [3] (step 2) + [3] (step 2) = [6]'
    """
    blocks: list[list[str]] = []
    fan_header, fan_lines, current = "", [], None
    for line in trace.to_text(max_elements).splitlines():
        if _STEP_LINE.match(line):
            current = [line]
            blocks.append(current)
        elif line.startswith("Fan-out"):
            fan_header, current = line, None
        elif fan_header and line.strip():
            fan_lines.append(line)
        elif current is not None and line.strip():
            current.append(line)
    fanouts = trace.fanouts()
    if fan_lines and blocks:
        if len(fan_lines) == len(fanouts):
            last = [max(i for i, _ in parts) for parts, _ in fanouts.values()]
        else:  # a summary spread over several lines: keep it whole, with the last step
            last = [len(blocks) - 1] * len(fan_lines)
        for line, k in zip(fan_lines, last):
            k = min(k, len(blocks) - 1)
            if fan_header not in blocks[k]:
                blocks[k] += [fan_header]
            blocks[k].append(line)
    return ["\n".join(block) for block in blocks]


# ----------------------------------------------------------------------------- the page


def _frame_name(k: int, total: int, suffix: str) -> str:
    width = max(3, len(str(total)))
    return f"step_{k:0{width}d}{suffix}"


def _inline_svg(svg: str, k: int) -> str:
    """An SVG document as an element for an HTML page: no XML prolog or DOCTYPE, and ids
    made unique per frame (every Graphviz picture numbers its nodes node1, node2 ...)."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    return re.sub(r'\bid="([^"]*)"', lambda m: f'id="f{k}-{m.group(1)}"', body).strip()


_CSS = """
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; }
.controls { position: sticky; top: 0; background: #fff; padding: 0.5em 0; z-index: 1;
            display: flex; flex-wrap: wrap; gap: 0.8em; align-items: center;
            border-bottom: 1px solid #ddd; }
.controls input[type=range] { flex: 1; min-width: 10em; max-width: 40em; }
.zoom { display: none; gap: 0.3em; align-items: center; }
body.js .zoom { display: flex; }
.picture { overflow: auto; margin: 1em 0; max-height: 75vh; border: 1px solid #eee; }
.picture svg { display: block; }
pre { font-family: "Cousine", "DejaVu Sans Mono", monospace; font-size: 0.9em;
      background: #f6f6f6; padding: 0.8em; overflow: auto; }
pre.dot { background: #fffbea; }
.frame { border-top: 1px solid #eee; }
.frame h2 { font-size: 1em; margin: 0.6em 0 0; }
body.js .frame { display: none; border-top: none; }
body.js .frame.current { display: block; }
body.js .frame h2 { display: none; }
.hint { color: #8a6d3b; }
"""

# The pictures keep their natural size (Graphviz's points: 11 pt text is about 15 px) and
# scroll; zoom changes their width from that size. Each step scrolls its outlined operation
# into view. Without JavaScript every frame is shown, one below the other.
_JS = """
(function () {
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var zoomText = document.getElementById("zoom-level");
  var current = 1, zoom = 1;
  function natural(svg) {
    if (!svg.dataset.width) {
      var box = svg.getBoundingClientRect();
      svg.dataset.width = box.width; svg.dataset.height = box.height;
    }
    return [parseFloat(svg.dataset.width), parseFloat(svg.dataset.height)];
  }
  function applyZoom() {
    var svg = frames[current - 1].querySelector(".picture svg");
    if (svg) {
      var size = natural(svg);
      svg.style.width = (size[0] * zoom) + "px";
      svg.style.height = (size[1] * zoom) + "px";
    }
    zoomText.textContent = Math.round(zoom * 100) + "%";
  }
  function focusStep() {
    var frame = frames[current - 1];
    var box = frame.querySelector(".picture");
    var mark = frame.querySelector('.picture [stroke="red"]');
    if (!box || !mark) { return; }
    var b = box.getBoundingClientRect(), m = mark.getBoundingClientRect();
    box.scrollLeft += (m.left + m.width / 2) - (b.left + b.width / 2);
    box.scrollTop += (m.top + m.height / 2) - (b.top + b.height / 2);
  }
  function show(k) {
    current = Math.max(1, Math.min(frames.length, k));
    for (var i = 0; i < frames.length; i++) {
      frames[i].classList.toggle("current", i === current - 1);
    }
    slider.value = current;
    counter.textContent = "step " + current + " of " + frames.length;
    applyZoom();
    focusStep();
  }
  function setZoom(z) { zoom = Math.max(0.1, Math.min(4, z)); applyZoom(); focusStep(); }
  document.body.classList.add("js");
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  function onClick(id, act) { document.getElementById(id).addEventListener("click", act); }
  onClick("zoom-in", function () { setZoom(zoom * 1.25); });
  onClick("zoom-out", function () { setZoom(zoom / 1.25); });
  onClick("zoom-reset", function () { setZoom(1); });
  document.getElementById("zoom-fit").addEventListener("click", function () {
    var frame = frames[current - 1], svg = frame.querySelector(".picture svg");
    if (svg) { setZoom(frame.querySelector(".picture").clientWidth / natural(svg)[0]); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider) { return; }  // the slider moves itself with the arrow keys
    if (e.key === "ArrowLeft") { show(current - 1); e.preventDefault(); }
    else if (e.key === "ArrowRight") { show(current + 1); e.preventDefault(); }
    else if (e.key === "Home") { show(1); e.preventDefault(); }
    else if (e.key === "End") { show(frames.length); e.preventDefault(); }
    else if (e.key === "+" || e.key === "=") { setZoom(zoom * 1.25); }
    else if (e.key === "-") { setZoom(zoom / 1.25); }
  });
  show(1);
})();
"""


def _page(
    title: str,
    header: str,
    pictures: list[str],
    texts: list[str],
    note: str,
    links: list[str] | None = None,
) -> str:
    """The step-through page: ``pictures`` (inline SVG or DOT), the trace text of each step,
    and under each picture a link to its own file (``links``, relative names) if given."""
    n = len(pictures)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(header)}</p>",
        "<noscript><p>JavaScript is off: every step is shown below, one after the other."
        "</p></noscript>",
    ]
    if note:
        parts.append(f'<p class="hint">{html.escape(note)}</p>')
    parts += [
        '<div class="controls">',
        '<button type="button" id="prev" title="previous step (left arrow)">&#9664; previous'
        "</button>",
        f'<input type="range" id="slider" min="1" max="{n}" value="1" step="1" '
        'aria-label="step">',
        '<button type="button" id="next" title="next step (right arrow)">next &#9654;</button>',
        f'<span id="counter">step 1 of {n}</span>',
        '<span class="zoom">zoom',
        '<button type="button" id="zoom-out" title="smaller (-)">&minus;</button>',
        '<span id="zoom-level">100%</span>',
        '<button type="button" id="zoom-in" title="larger (+)">+</button>',
        '<button type="button" id="zoom-reset" title="natural size">1:1</button>',
        '<button type="button" id="zoom-fit" title="fit the width">fit</button>',
        "</span>",
        "</div>",
    ]
    for k, (picture, text) in enumerate(zip(pictures, texts), start=1):
        current = " current" if k == 1 else ""
        parts += [
            f'<section class="frame{current}" id="frame-{k}" data-step="{k}">',
            f"<h2>Step {k} of {n}</h2>",
            f'<div class="picture">{picture}</div>',
        ]
        if links:
            name = html.escape(links[k - 1])
            parts.append(f'<p class="file">This step alone: <a href="{name}">{name}</a></p>')
        parts += [
            f'<pre class="trace">{html.escape(text)}</pre>',
            "</section>",
        ]
    parts += [f"<script>{_JS}</script>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _frames_and_texts(
    tensor: Tensor, trace: Any, op: str, options: dict[str, Any]
) -> tuple[Any, list[Any], list[str]]:
    """The checked trace, the frames of a step-through and the trace text under each (the
    page and the notebook view share them); a leaf, which has no backward step, is refused."""
    trace = _check_trace(tensor, trace, op)
    if not trace.steps:
        raise InvalidArgumentError(
            f"{op}: the tensor is a leaf, so its backward pass has no step to show; "
            "pass the result of some operations, e.g. a loss"
        )
    frames = backward_frames(tensor, trace, **options)
    texts = step_texts(trace, options.get("max_elements", 6))
    texts += [""] * (len(frames) - len(texts))
    return trace, frames, texts


def _write(path: Path, text: str) -> None:
    """Write atomically (see :func:`~tinygrad_edu.atomic.atomic_write`): no reader sees half a
    page."""
    atomic_write(path, lambda f: f.write(text), text=True)


def _render_all(frames: list[Any]) -> list[str] | None:
    """Every frame as SVG text, or None without a renderer (or when rendering fails)."""
    renderer = find_renderer()
    if renderer is None:
        return None
    try:
        svgs = [to_svg(frame) for frame in frames]
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"save_stepper: rendering with {renderer} failed ({e}); writing the DOT sources "
              "instead", file=sys.stderr)
        return None
    if any(svg is None for svg in svgs):  # the renderer vanished between the calls
        return None
    return [str(svg) for svg in svgs]


def save_stepper(
    tensor: Tensor,
    folder: str | os.PathLike[str],
    trace: BackwardTrace | None = None,
    *,
    quiet: bool = False,
    **options: Any,
) -> Path:
    """Save the backward pass from ``tensor`` as numbered pictures and one HTML page.

    Writes into ``folder`` (created if needed) the frames of :func:`backward_frames` as
    ``step_001.svg``, ``step_002.svg`` ... and ``backward.html``, a page that needs no network:
    every picture is inline, with a slider, previous/next buttons and the left/right arrow
    keys to move through the steps, and under the picture the trace text of the current step
    (see :func:`step_texts`). Frame files of an earlier run in ``folder`` are removed first.

    Without a Graphviz renderer nothing fails: the frames are written as ``step_001.dot`` ...,
    the page shows each frame's DOT source as text with the same slider, and (unless
    ``quiet``) the text tree of the graph and a one-line hint on getting pictures are printed.

    Args:
        tensor: the output of the pass (usually a loss).
        folder: where to write.
        trace: ``trace_backward(tensor)``; run here when None.
        quiet: print nothing when falling back to DOT.
        **options: drawing options for :func:`backward_frames`.

    Returns:
        The path of ``backward.html``.

    Raises:
        InvalidArgumentError: ``tensor`` is a leaf (there is no step to show), or bad options.

    Example:
        >>> import tempfile
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz.stepper import save_stepper
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> folder = tempfile.mkdtemp()
        >>> page = save_stepper((x * x).sum(), folder, quiet=True)
        >>> page.name, sorted(p.suffix for p in page.parent.glob("step_*"))[0] in (".dot", ".svg")
        ('backward.html', True)
    """
    trace, frames, texts = _frames_and_texts(tensor, trace, "save_stepper", options)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if _FRAME_FILE.fullmatch(old.name) and old.is_file():
            old.unlink()

    n = len(frames)
    svgs = _render_all(frames)
    if svgs is not None:
        links = [_frame_name(k, n, ".svg") for k in range(1, n + 1)]
        for name, svg in zip(links, svgs):
            _write(folder / name, svg)
        pictures = [_inline_svg(svg, k) for k, svg in enumerate(svgs, start=1)]
        note = ""
    else:
        links = [_frame_name(k, n, ".dot") for k in range(1, n + 1)]
        for name, frame in zip(links, frames):
            _write(folder / name, frame.source)
        pictures = [f'<pre class="dot">{html.escape(frame.source)}</pre>' for frame in frames]
        note = HINT + " Each frame below is its DOT source; paste it into any Graphviz viewer."
        if not quiet:
            print(text_tree(tensor))
            print(HINT, file=sys.stderr)
    page = folder / PAGE
    _write(page, _page(_title(trace), trace.to_text().splitlines()[0], pictures, texts, note,
                       links))
    return page


def _title(trace: BackwardTrace) -> str:
    return f"Backward pass from {_root_label(trace)}, step by step"


class Stepper:
    """The step-through page of a backward pass, shown inline in Jupyter.

    ``html`` is the whole page (every picture inline, or the DOT sources without a
    renderer); Jupyter displays it in an ``<iframe>`` so that its slider, buttons and keys
    work inside the notebook. Make one with :func:`stepper`.
    """

    def __init__(self, page: str, steps: int) -> None:
        self.html = page
        self.steps = steps

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                'style="width: 100%; height: 720px; border: 1px solid #ddd;" '
                f'title="backward pass, {self.steps} steps"></iframe>')

    def __repr__(self) -> str:
        return f"<Stepper: {self.steps} steps; display it in Jupyter or save_stepper()>"


def stepper(tensor: Tensor, trace: BackwardTrace | None = None, **options: Any) -> Stepper:
    """The backward pass from ``tensor`` step by step, to show inline in Jupyter.

    The same page as :func:`save_stepper` writes (without links to frame files), returned
    as a :class:`Stepper` that a notebook cell displays. The pass is replayed if ``tensor``
    was backpropagated already (no ``.grad`` changes), else run (as ``trace_backward``).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.viz.stepper import stepper
        >>> x = Tensor([3.0], requires_grad=True, name="x")
        >>> page = stepper((x * x).sum())
        >>> page.steps, "<iframe" in page._repr_html_()
        (2, True)
    """
    trace, frames, texts = _frames_and_texts(tensor, trace, "stepper", options)
    svgs = _render_all(frames)
    if svgs is not None:
        pictures = [_inline_svg(svg, k) for k, svg in enumerate(svgs, start=1)]
        note = ""
    else:
        pictures = [f'<pre class="dot">{html.escape(frame.source)}</pre>' for frame in frames]
        note = HINT
    page = _page(_title(trace), trace.to_text().splitlines()[0], pictures, texts, note)
    return Stepper(page, len(frames))
