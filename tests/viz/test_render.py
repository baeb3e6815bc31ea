"""Tests for tinygrad_edu.viz.render: pictures with a renderer, the DOT fallback without one.

With a renderer (graphviz-pure in the venv, or a system ``dot``) a real SVG is rendered and
parsed as XML, and a real PNG checked by its signature and header. Without one
(``TINYGRAD_EDU_DOT=none``) the DOT source is written, the text tree and a one-line hint are
printed, and nothing raises.
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.viz import draw_graph, find_renderer, render, save_graph, text_tree, to_svg
from tinygrad_edu.viz.render import HINT

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"




def expression():
    x = Tensor([1.0, 2.0], name="x")
    w = Tensor([0.5, -1.0], requires_grad=True, name="w")
    return ((x * w + x) * 2.0).sum()


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    # Graphviz keeps runs of spaces with non-breaking spaces; compare words.
    return [" ".join(t.text.split()) for t in root.iter(SVG + "text") if t.text]


def svg_titles(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(SVG + "title")]


# ----------------------------------------------------------------------------- with a renderer


def test_render_svg_parses_and_shows_the_labels(renderer, tmp_path):
    dot = draw_graph(expression())
    path = render(dot, tmp_path / "graph.svg")
    assert path == tmp_path / "graph.svg"
    svg = path.read_text()
    texts = svg_texts(svg)
    for label in ("x", "w (param)", "shape (2,)", "data [1, 2]", "t4", "shape ()", "data 3",
                  "Mul", "Add", "Sum", "2"):
        assert label in texts, label
    # One drawn node per DOT node, one drawn edge per DOT edge, by the same names.
    titles = svg_titles(svg)
    for name in ("n0", "n1", "n2", "n3", "n4", "n5", "op0", "op1", "op2", "op3", "n0->op0",
                 "n0->op1", "op3->n5"):
        assert name in titles, name
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was moved into place


def test_render_png_is_a_real_png(renderer, tmp_path):
    path = render(draw_graph(expression()), tmp_path / "sub" / "graph.png")
    assert path == tmp_path / "sub" / "graph.png"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0
    assert width > height  # left to right: wider than tall


def test_render_accepts_dot_text(renderer, tmp_path):
    path = render(draw_graph(expression()).source, tmp_path / "graph.svg")
    assert "Mul" in svg_texts(path.read_text())


def test_to_svg_returns_svg_text(renderer):
    svg = to_svg(draw_graph(expression(), rankdir="TB"))
    assert isinstance(svg, str)
    assert "w (param)" in svg_texts(svg)


def test_save_graph_renders_with_options(renderer, tmp_path, capsys):
    y = expression()
    path = save_graph(y, tmp_path / "g.svg", show_data=False)
    texts = svg_texts(path.read_text())
    assert "w (param)" in texts and not any(t.startswith("data ") for t in texts)
    assert capsys.readouterr().err == ""  # no hint when a picture was made


def test_dot_suffix_writes_the_source_silently(renderer, tmp_path, capsys):
    dot = draw_graph(expression())
    for name in ("graph.dot", "graph.gv"):
        path = render(dot, tmp_path / name, tree="TREE")
        assert path == tmp_path / name
        assert path.read_text() == dot.source
    assert capsys.readouterr() == ("", "")


# ----------------------------------------------------------------------------- without one


def test_no_renderer_writes_dot_prints_tree_and_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    assert find_renderer() is None
    y = expression()
    dot = draw_graph(y)
    tree = text_tree(y)
    path = render(dot, tmp_path / "out" / "x.svg", tree=tree)
    assert path == tmp_path / "out" / "x.dot"
    assert path.read_text() == dot.source
    assert not (tmp_path / "out" / "x.svg").exists()
    out, err = capsys.readouterr()
    assert out == tree + "\n"
    assert err == HINT + "\n"
    assert "\n" not in HINT and "graphviz-pure" in HINT and "dot" in HINT


def test_no_renderer_png_and_quiet(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "NONE")  # any case
    dot = draw_graph(expression())
    path = render(dot, tmp_path / "x.png", tree="TREE", quiet=True)
    assert path == tmp_path / "x.dot" and path.read_text() == dot.source
    assert capsys.readouterr() == ("", "")
    render(dot, tmp_path / "y.png")  # no tree: the hint alone
    assert capsys.readouterr() == ("", HINT + "\n")


def test_no_renderer_to_svg_is_none(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    assert to_svg(draw_graph(expression())) is None


def test_no_renderer_save_graph_prints_the_text_tree(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    y = expression()
    path = save_graph(y, tmp_path / "g.svg")
    assert path.suffix == ".dot" and "digraph backprop" in path.read_text()
    out, err = capsys.readouterr()
    assert out == text_tree(y) + "\n"
    assert err == HINT + "\n"


def test_find_renderer_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(tmp_path / "my-dot"))
    assert find_renderer() == str(tmp_path / "my-dot")
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    assert find_renderer() is None


def test_missing_renderer_program_raises_file_not_found(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-dot"
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(missing))
    with pytest.raises(FileNotFoundError, match="no-such-dot"):
        render(draw_graph(expression()), tmp_path / "x.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_failing_renderer_raises_runtime_error_with_its_message(monkeypatch, tmp_path):
    script = tmp_path / "bad-dot"
    script.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    script.chmod(0o755)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(script))
    message = r"bad-dot failed to render svg \(exit 3\): syntax error"
    with pytest.raises(RuntimeError, match=message):
        render(draw_graph(expression()), tmp_path / "x.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-dot"]
    with pytest.raises(RuntimeError, match="syntax error"):
        to_svg(draw_graph(expression()))


def test_unknown_suffix_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.svg, \.png or \.dot"):
        render(draw_graph(expression()), tmp_path / "new" / "x.jpg")
    assert not (tmp_path / "new").exists()  # checked before anything was created


def test_unknown_suffix_is_the_librarys_invalid_argument_error(tmp_path):
    # The project's convention: bad option values raise InvalidArgumentError.
    with pytest.raises(InvalidArgumentError):
        render(draw_graph(expression()), tmp_path / "x.jpg")


# ----------------------------------------------------------------------------- text tree


def test_text_tree_of_a_small_expression():
    assert text_tree(expression()) == "\n".join([
        "t4 = Sum  shape ()  data 3",
        "└─ t3 = Mul  shape (2,)  data [3, 0]",
        "   ├─ t2 = Add  shape (2,)  data [1.5, 0]",
        "   │  ├─ t1 = Mul  shape (2,)  data [0.5, -2]",
        "   │  │  ├─ x  (input)  shape (2,)  data [1, 2]",
        "   │  │  └─ w  (param)  shape (2,)  data [0.5, -1]",
        "   │  └─ x  (see above)",
        "   └─ 2  (constant)",
    ])


def test_text_tree_of_a_leaf_and_a_summary():
    w = Tensor(np.arange(10.0), requires_grad=True, name="w")
    assert text_tree(w) == "w  (param)  shape (10,)  data mean 4.5 std 2.87; min 0 max 9"


def test_text_tree_large_constant_stays_on_one_line():
    w = Tensor(np.ones(10), requires_grad=True, name="w")
    tree = text_tree((w * np.arange(10.0)).sum())
    lines = tree.splitlines()
    assert len(lines) == 4
    assert lines[3] == "   └─ mean 4.5 std 2.87; min 0 max 9  (constant)"


def test_text_tree_of_a_deep_chain_without_recursion():
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(2_000):  # deeper than Python's default recursion limit
        y = y.tanh()
    lines = text_tree(y, max_depth=3_000).splitlines()
    assert len(lines) == 2_001
    assert lines[0].startswith("t2000 = Tanh  shape (1,)")
    assert lines[-1] == " " * 3 * 1_999 + "└─ w  (param)  shape (1,)  data [0.5]"


def test_text_tree_cuts_deep_branches_with_a_note():
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(100):
        y = y.tanh()
    lines = text_tree(y, max_depth=5).splitlines()
    assert len(lines) == 7  # depths 0..5, then the note
    assert lines[-1].endswith("... (deeper than 5 levels, not shown)")


def test_render_writes_nothing_outside_the_given_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    monkeypatch.chdir(tmp_path)
    render(draw_graph(expression()), Path("pics") / "a.svg", quiet=True)
    assert sorted(os.listdir(tmp_path)) == ["pics"]
    assert sorted(os.listdir(tmp_path / "pics")) == ["a.dot"]


@pytest.mark.parametrize(("left", "right"), [((2,), (2,)), ((2, 2), (2,)), ((2,), (2, 3))])
def test_text_tree_leaves_out_the_reshapes_of_matmul_as_the_drawing_does(left, right):
    x = Tensor(np.arange(1.0, 1.0 + np.prod(left)).reshape(left), requires_grad=True, name="x")
    W = Tensor(np.ones(right), requires_grad=True, name="W")
    y = x @ W
    tree = text_tree(y).splitlines()
    assert "Reshape" not in "\n".join(tree) and "Reshape" not in draw_graph(y).source
    assert tree[0].startswith(f"t1 = Matmul  shape {y.shape}  data ")
    assert tree[1:] == [f"├─ x  (param)  shape {left}  data " + tree[1].split("data ")[1],
                        f"└─ W  (param)  shape {right}  data " + tree[2].split("data ")[1]]


def test_text_tree_of_a_vector_dot_itself():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    assert text_tree(x @ x) == "\n".join([
        "t1 = Matmul  shape ()  data 5",
        "├─ x  (param)  shape (2,)  data [1, 2]",
        "└─ x  (see above)",
    ])
