"""Tests for tinygrad_edu.viz.stepper: the backward pass as frames, SVG files and an HTML page.

Frames are checked in their DOT source (which operation is outlined, which gradients are
written on the tensors), partial traces numerically (a leaf's gradient grows by each
contribution; the last frame holds every gradient of the pass), the page as strict HTML with
no network reference, and the fallback without a renderer.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import graphviz
import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.viz import text_tree, trace_backward
from tinygrad_edu.viz.render import HINT
from tinygrad_edu.viz.stepper import backward_frames, partial_trace, save_stepper, step_texts

SVG = "{http://www.w3.org/2000/svg}"




def t64(values, name, requires_grad=True):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad, name=name)


def example():
    """L = sum(tanh(x * w) * x): x fans out into two Muls. Backward: Sum, Mul, Tanh, Mul."""
    x = t64([3.0, 1.0], "x")
    w = t64([0.5], "w")
    h = (x * w).tanh()
    h.name = "h"
    out = (h * x).sum()
    out.name = "L"
    return out, x, w


def nodes(dot):
    """``node id -> {attribute: value}`` from a Digraph's statements (edges left out)."""
    found = {}
    for line in dot.body:
        m = re.match(r"^\t(\w+) \[(.*)\]$", line.rstrip("\n"), re.DOTALL)
        if m:
            attrs = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)', m.group(2)))
            found[m.group(1)] = {k: v.strip('"') for k, v in attrs.items()}
    return found


def grad_lines(dot):
    """``first line of the node's label -> its 'grad ...' line`` for nodes showing one."""
    out = {}
    for attrs in nodes(dot).values():
        lines = attrs.get("label", "").split("\n")
        grads = [line for line in lines if line.startswith("grad ")]
        if grads:
            out[lines[0].split()[0]] = grads[0]
    return out


# ----------------------------------------------------------------------------- frames


def test_one_frame_per_step():
    out, _, _ = example()
    trace = trace_backward(out)
    assert [s.op for s in trace.steps] == ["Sum", "Mul", "Tanh", "Mul"]
    frames = backward_frames(out, trace)
    assert len(frames) == len(trace.steps) == 4
    assert all(isinstance(f, graphviz.Digraph) for f in frames)


def test_frame_k_outlines_the_operation_of_step_k():
    out, _, _ = example()
    trace = trace_backward(out)
    functions = trace.view.functions
    for k, (frame, step) in enumerate(zip(backward_frames(out, trace), trace.steps), start=1):
        ops = {name: attrs for name, attrs in nodes(frame).items() if name.startswith("op")}
        current = f"op{functions.index(step.function)}"
        assert ops[current]["color"] == "red" and ops[current]["penwidth"] == "3"
        assert ops[current]["label"] == step.op
        others = [name for name, attrs in ops.items() if attrs.get("penwidth") == "3"]
        assert others == [current]
        # visited operations carry their step number, the others none yet
        numbered = {name: attrs["xlabel"] for name, attrs in ops.items() if "xlabel" in attrs}
        assert sorted(numbered.values()) == [f"#{i}" for i in range(1, k + 1)]
        assert numbered[current] == f"#{k}"


def test_first_frame_shows_only_the_output_gradient_and_the_last_every_gradient():
    out, x, w = example()
    trace = trace_backward(out)
    frames = backward_frames(out, trace)
    assert grad_lines(frames[0]) == {"L": "grad 1"}
    last = grad_lines(frames[-1])
    assert set(last) == {"L", "t2", "h", "t1", "x", "w"} == set(trace.grads)
    # the values are the gradients of the whole pass: dL/dx = tanh(xw) + x w (1 - tanh^2)
    xv, wv = np.array([3.0, 1.0]), 0.5
    th = np.tanh(xv * wv)
    np.testing.assert_allclose(x.grad, th + xv * wv * (1 - th**2), rtol=1e-12)
    np.testing.assert_allclose(w.grad, [np.sum(xv * xv * (1 - th**2))], rtol=1e-12)
    assert last["w"] == f"grad [{w.grad[0]:.4g}]"


def test_gradients_appear_as_the_pass_reaches_them():
    out, x, w = example()
    trace = trace_backward(out)
    shown = [set(grad_lines(f)) for f in backward_frames(out, trace)]
    assert shown == [
        {"L"},  # Sum runs: the seed
        {"L", "t2", "x"},  # Mul(h, x) runs with t2's delta; x receives its first share
        {"L", "t2", "h", "x"},  # Tanh runs with h's delta
        {"L", "t2", "h", "t1", "x", "w"},  # Mul(x, w): x's second share, w's only one
    ]


def test_leaf_gradients_stay_in_place_after_drawing():
    out, x, w = example()
    trace = trace_backward(out)
    before = x.grad.copy(), w.grad.copy()
    backward_frames(out, trace)  # frames hide the final .grad while they draw early steps
    np.testing.assert_array_equal(x.grad, before[0])
    np.testing.assert_array_equal(w.grad, before[1])


def test_backward_frames_runs_the_pass_when_no_trace_is_given():
    x = t64([3.0], "x")
    frames = backward_frames((x * x).sum())
    assert len(frames) == 2
    assert x.grad.tolist() == [6.0]
    assert grad_lines(frames[1])["x"] == "grad [6]"
    assert "x" not in grad_lines(frames[0])


def test_drawing_options_pass_through():
    out, _, _ = example()
    trace = trace_backward(out)
    frames = backward_frames(out, trace, show_data=False, rankdir="TB", show_order=False)
    assert 'rankdir=TB' in frames[0].source
    assert "data " not in frames[-1].source
    assert "xlabel" not in frames[-1].source


# ----------------------------------------------------------------------------- partial traces


def test_partial_trace_accumulates_a_fanned_out_leaf():
    out, x, _ = example()
    trace = trace_backward(out)
    parts = trace.contributions["x"]
    assert [i for i, _ in parts] == [1, 3]  # from step 2 and step 4
    assert "x" not in partial_trace(trace, 1).grads
    for k in (2, 3):
        p = partial_trace(trace, k)
        np.testing.assert_array_equal(p.grads["x"], parts[0][1])
        assert [i for i, _ in p.contributions["x"]] == [1]
        assert p.fanouts() == {}  # one share so far: not a fan-out yet
    full = partial_trace(trace, 4)
    np.testing.assert_array_equal(full.grads["x"], parts[0][1] + parts[1][1])
    np.testing.assert_array_equal(full.grads["x"], x.grad)
    assert set(full.fanouts()) == {"x"}
    assert full.to_text() == trace.to_text()


def test_partial_trace_shows_an_intermediate_once_its_step_runs():
    x = t64([2.0, -1.0], "x")
    h = x * 3.0
    h.name = "h"
    out = (h * h + h).sum()  # h fans out three times
    trace = trace_backward(out)
    h_step = next(s.index for s in trace.steps if s.output == "h")
    for k in range(1, len(trace.steps) + 1):
        p = partial_trace(trace, k)
        assert ("h" in p.grads) == (k > h_step)
        assert ("h" in p.contributions) == (k > h_step)
    # dL/dh = 2h + 1, complete when h's step runs
    np.testing.assert_array_equal(partial_trace(trace, h_step + 1).grads["h"], [13.0, -5.0])
    np.testing.assert_array_equal(x.grad, [39.0, -15.0])


def test_partial_trace_bounds():
    out, _, _ = example()
    trace = trace_backward(out)
    assert partial_trace(trace, 0).steps == [] and set(partial_trace(trace, 0).grads) == {"L"}
    for bad in (-1, 5, 1.0, True):
        with pytest.raises(InvalidArgumentError, match="partial_trace"):
            partial_trace(trace, bad)


def test_step_texts_split_the_trace_text():
    out, _, _ = example()
    trace = trace_backward(out)
    texts = step_texts(trace)
    assert len(texts) == 4
    for k, text in enumerate(texts, start=1):
        assert text.startswith(f"step {k}: ")
    assert "\n".join(texts[0].splitlines()) in trace.to_text()
    # x's fan-out sum is complete at step 4, where its second share arrives
    assert "Fan-out" not in "".join(texts[:3])
    assert texts[3].splitlines()[-2].startswith("Fan-out")
    assert texts[3].splitlines()[-1].startswith("  dL/dx = ")


# ----------------------------------------------------------------------------- the page


class StrictHTML(HTMLParser):
    """Collects tags and attributes; fails on any element closed out of order."""

    VOID = {"meta", "input", "br", "img", "link", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.attrs, self.errors = [], [], [], []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_page(path):
    parser = StrictHTML()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.errors == [] and parser.stack == []
    return parser


def assert_self_contained(parser):
    for name, value in parser.attrs:
        if name in ("src", "href", "xlink:href", "action"):
            assert "http" not in (value or ""), (name, value)
    assert "link" not in parser.tags  # no stylesheet from elsewhere
    assert all(name != "src" for name, _ in parser.attrs)  # no script or image files


def test_save_stepper_writes_svgs_and_a_self_contained_page(renderer, tmp_path, capsys):
    out, _, _ = example()
    trace = trace_backward(out)
    page = save_stepper(out, tmp_path / "film", trace=trace)
    assert page == tmp_path / "film" / "backward.html"
    names = sorted(p.name for p in page.parent.iterdir())
    assert names == ["backward.html", "step_001.svg", "step_002.svg", "step_003.svg",
                     "step_004.svg"]
    for k in range(1, 5):
        root = ET.parse(page.parent / f"step_{k:03d}.svg").getroot()
        assert root.tag == SVG + "svg"
        texts = [t.text for t in root.iter(SVG + "text") if t.text]
        assert f"#{k}" in texts and f"#{k + 1}" not in texts
    parser = parse_page(page)
    assert_self_contained(parser)
    assert parser.tags.count("svg") == 4
    assert parser.tags.count("section") == 4
    text = page.read_text(encoding="utf-8")
    sliders = re.findall(r'<input type="range" id="slider" min="1" max="(\d+)"', text)
    assert sliders == ["4"]
    assert 'id="prev"' in text and 'id="next"' in text
    assert "ArrowLeft" in text and "ArrowRight" in text
    for caption in step_texts(trace):  # every step's trace text, escaped, under its picture
        assert html.escape(caption) in text
    ids = re.findall(r'\bid="([^"]*)"', text)
    assert len(ids) == len(set(ids))  # ids made unique across the inline pictures
    assert capsys.readouterr() == ("", "")


def test_save_stepper_removes_frames_of_an_earlier_run(renderer, tmp_path):
    out, _, _ = example()
    save_stepper(out, tmp_path)
    x = t64([2.0], "x")
    save_stepper(x.exp(), tmp_path)  # one step only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backward.html", "step_001.svg"]


def test_without_a_renderer_dot_frames_and_a_text_page(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    out, _, _ = example()
    trace = trace_backward(out)
    page = save_stepper(out, tmp_path, trace=trace)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["backward.html", "step_001.dot", "step_002.dot", "step_003.dot",
                     "step_004.dot"]
    frames = backward_frames(out, trace)
    for k, frame in enumerate(frames, start=1):
        assert (tmp_path / f"step_{k:03d}.dot").read_text() == frame.source
    parser = parse_page(page)
    assert_self_contained(parser)
    assert "svg" not in parser.tags
    text = page.read_text(encoding="utf-8")
    assert text.count('<pre class="dot">') == 4
    assert html.escape(frames[2].source) in text
    assert 'max="4"' in text and HINT in html.unescape(text)
    stdout, stderr = capsys.readouterr()
    assert stdout == text_tree(out) + "\n"
    assert stderr == HINT + "\n"  # the hint once, not once per frame


def test_without_a_renderer_quiet_prints_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    out, _, _ = example()
    save_stepper(out, tmp_path, quiet=True)
    assert capsys.readouterr() == ("", "")
    assert len(list(tmp_path.glob("step_*.dot"))) == 4


def test_a_broken_renderer_falls_back_to_dot(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(tmp_path / "no-such-dot"))
    out, _, _ = example()
    page = save_stepper(out, tmp_path / "film", quiet=True)
    assert len(list(page.parent.glob("step_*.dot"))) == 4
    assert not list(page.parent.glob("step_*.svg"))
    assert "no-such-dot" in capsys.readouterr().err


# ----------------------------------------------------------------------------- bad input


def test_bad_arguments_raise_clear_errors(tmp_path):
    out, _, _ = example()
    other, _, _ = example()
    trace = trace_backward(out)
    with pytest.raises(InvalidArgumentError, match="another tensor"):
        backward_frames(other, trace)
    with pytest.raises(InvalidArgumentError, match="highlight"):
        backward_frames(out, trace, highlight=None)
    with pytest.raises(InvalidArgumentError, match="trace must be a BackwardTrace"):
        save_stepper(out, tmp_path, trace="trace")
    with pytest.raises(InvalidArgumentError, match="leaf"):
        save_stepper(t64([1.0], "x"), tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before writing anything
    with pytest.raises(InvalidArgumentError, match="needs a Tensor"):
        backward_frames([1.0])


# ----------------------------------------------------------------------------- readable, linked


def test_page_keeps_pictures_at_natural_size_links_each_frame_and_works_without_js(
    renderer, tmp_path
):
    out, _, _ = example()
    page = save_stepper(out, tmp_path, quiet=True)
    text = page.read_text(encoding="utf-8")
    assert "max-width: 100%" not in text  # no squeezing to the page width
    assert ".picture { overflow: auto;" in text  # native size, scrolled
    assert 'id="zoom-in"' in text and 'id="zoom-fit"' in text
    links = re.findall(r'<a href="(step_\d+\.svg)">', text)
    assert links == [f"step_{k:03d}.svg" for k in range(1, 5)]
    assert all((tmp_path / name).is_file() for name in links)
    # Without JavaScript nothing hides a frame: only body.js (set by the script) does.
    assert re.search(r"(?m)^body\.js \.frame \{ display: none;", text)
    assert not re.search(r"(?m)^\.frame \{[^}]*display: none", text)
    assert "<noscript>" in text
    parser = parse_page(page)
    assert parser.tags.count("h2") == 4  # "Step k of 4" headings for the stacked frames


def test_without_a_renderer_the_page_links_the_dot_frames(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    out, _, _ = example()
    text = save_stepper(out, tmp_path, quiet=True).read_text(encoding="utf-8")
    assert re.findall(r'<a href="(step_\d+\.\w+)">', text)[0] == "step_001.dot"


def test_inline_stepper_for_jupyter_is_the_same_page(tmp_path):
    from tinygrad_edu.viz import stepper

    out, x, w = example()
    out.backward()  # after backward: replayed, no gradient changes
    grads = (x.grad.copy(), w.grad.copy())
    shown = stepper(out)
    assert shown.steps == 4
    np.testing.assert_array_equal(x.grad, grads[0])
    np.testing.assert_array_equal(w.grad, grads[1])
    frame = shown._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;input type=&quot;range&quot;" in frame
    parser = StrictHTML()
    parser.feed(shown.html)
    parser.close()
    assert parser.errors == [] and parser.tags.count("section") == 4
    assert "<a href=" not in shown.html  # no frame files to link to
    with pytest.raises(InvalidArgumentError, match="leaf"):
        stepper(t64([1.0], "leaf"))
