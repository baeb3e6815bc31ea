"""Tests for tinygrad_edu.viz.jupyter: inline pictures for tensors and modules in Jupyter.

``_repr_mimebundle_`` gives an SVG (parsed here as XML) when a renderer exists and the graph
can be drawn, and only the text form otherwise (a leaf, no renderer, a freed graph, a broken
renderer), never an exception.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.nn import MLP, Linear, Sequential, Tanh
from tinygrad_edu.viz.jupyter import draw_module, mimebundle

SVG = "{http://www.w3.org/2000/svg}"




def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [" ".join(t.text.split()) for t in root.iter(SVG + "text") if t.text]


def computed():
    w = Tensor([2.0, -1.0], requires_grad=True, name="w")
    return w, (w * 3.0).sum()


# ----------------------------------------------------------------------------- tensors


def test_computed_tensor_shows_its_graph(renderer):
    _, y = computed()
    bundle = y._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/svg+xml"}
    assert bundle["text/plain"] == repr(y)
    texts = svg_texts(bundle["image/svg+xml"])
    for label in ("w (param)", "shape (2,)", "Mul", "Sum", "3", "data 3"):
        assert label in texts, label
    assert mimebundle(y) == bundle


def test_leaf_tensor_is_text_only(renderer):
    w, _ = computed()
    assert w._repr_mimebundle_() == {"text/plain": repr(w)}
    plain = Tensor([1.0, 2.0])
    assert plain._repr_mimebundle_() == {"text/plain": repr(plain)}


def test_no_renderer_is_text_only(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    _, y = computed()
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}
    model = MLP([2, 3, 1], rng=0)
    assert model._repr_mimebundle_() == {"text/plain": repr(model)}


def test_after_backward_the_picture_shows_the_gradients(renderer):
    w, y = computed()
    y.backward()  # the graph stays drawable as long as y lives
    bundle = y._repr_mimebundle_()
    assert bundle["text/plain"] == repr(y)
    texts = svg_texts(bundle["image/svg+xml"])
    assert "grad [3, 3]" in texts and "grad 1" in texts
    assert w.grad.tolist() == [3.0, 3.0]  # displaying changed nothing


@pytest.mark.parametrize("program", ["missing", "failing"])
def test_broken_renderer_is_text_only(monkeypatch, tmp_path, program):
    path = tmp_path / "dot"
    if program == "failing":
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(0o755)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(path))
    _, y = computed()
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}


# ----------------------------------------------------------------------------- modules


def test_module_shows_each_layer(renderer):
    model = MLP([2, 3, 1], rng=0)
    bundle = model._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/svg+xml"}
    assert bundle["text/plain"] == repr(model)
    svg = bundle["image/svg+xml"]
    text = " ".join(svg_texts(svg))
    assert text.count("Linear(") == 2
    assert "layers.1: ReLU" in text and "layers: Sequential" in text and "MLP" in text
    for shape in ("weight (3, 2)", "bias (3,)", "weight (1, 3)", "bias (1,)"):
        assert shape in text, shape
    titles = [t.text for t in ET.fromstring(svg).iter(SVG + "title")]
    assert {"m0", "m1", "m2", "m3", "m4", "m0->m1", "m1->m2", "m1->m3", "m1->m4"} <= set(titles)


_NODE = re.compile(r'\t(m\d+) \[label=("(?:[^"\\]|\\.)*"|\S+)')
_EDGE = re.compile(r"\t(m\d+) -> (m\d+)\n")


def module_graph(module):
    dot = draw_module(module)
    nodes, edges = {}, []
    for statement in dot.body:
        if m := _EDGE.fullmatch(statement):
            edges.append(m.groups())
        else:
            m = _NODE.match(statement)
            assert m, statement
            nodes[m.group(1)] = m.group(2).strip('"').split("\n")
    return nodes, edges


def test_draw_module_lists_each_submodule_with_parameter_shapes():
    model = MLP([2, 3, 1], rng=0)
    nodes, edges = module_graph(model)
    assert nodes == {
        "m0": ["MLP"],
        "m1": ["layers: Sequential"],
        "m2": ["layers.0: Linear(in_features=2, out_features=3, bias=True)",
               "weight (3, 2)", "bias (3,)"],
        "m3": ["layers.1: ReLU"],
        "m4": ["layers.2: Linear(in_features=3, out_features=1, bias=True)",
               "weight (1, 3)", "bias (1,)"],
    }
    assert edges == [("m0", "m1"), ("m1", "m2"), ("m1", "m3"), ("m1", "m4")]
    assert len(nodes) == len(model.named_modules())
    # Modules holding parameters are styled as parameters.
    source = draw_module(model).source
    assert re.search(r'm2 \[label="[^"]*" fillcolor="#cfe2ff"', source)
    assert re.search(r'm3 \[label="?[^"\]]*"? fillcolor="#ffffff"', source)


def test_draw_module_of_a_hand_built_model():
    model = Sequential(Linear(4, 2, bias=False, rng=1), Tanh(), Linear(2, 1, rng=2))
    nodes, edges = module_graph(model)
    assert nodes["m0"] == ["Sequential"]
    assert nodes["m1"] == ["0: Linear(in_features=4, out_features=2, bias=False)",
                           "weight (2, 4)"]
    assert nodes["m2"] == ["1: Tanh"]
    assert nodes["m3"][1:] == ["weight (1, 2)", "bias (1,)"]
    assert edges == [("m0", "m1"), ("m0", "m2"), ("m0", "m3")]
    single = Linear(3, 2, rng=0)
    nodes, edges = module_graph(single)
    assert nodes == {"m0": ["Linear(in_features=3, out_features=2, bias=True)",
                            "weight (2, 3)", "bias (2,)"]}
    assert edges == []


def test_tensor_bundle_after_a_forward_through_a_module(renderer):
    model = MLP([2, 3, 1], rng=0)
    out = model(np.ones((1, 2), dtype=np.float32)).sum()
    texts = svg_texts(out._repr_mimebundle_()["image/svg+xml"])
    # two layers: two "weight"s, told apart in their labels
    joined = " | ".join(texts)
    for label in ("weight ", "weight_2 ", "bias ", "bias_2 "):
        assert f"| {label}" in f"| {joined}", label


# ----------------------------------------------------------------------------- draw_graph's result


def test_draw_graph_displays_through_the_renderer_chain(renderer):
    import graphviz

    from tinygrad_edu.viz import draw_graph

    w, y = computed()
    y.backward()
    drawing = draw_graph(y)
    assert isinstance(drawing, graphviz.Digraph)  # .source, .render ... as before
    bundle = drawing._repr_mimebundle_()
    assert "grad [3, 3]" in svg_texts(bundle["image/svg+xml"])
    assert bundle["text/plain"] == drawing.source
    assert drawing._repr_svg_() == bundle["image/svg+xml"]
    assert set(drawing._repr_mimebundle_(include={"image/svg+xml"})) == {"image/svg+xml"}


@pytest.mark.parametrize("program", ["none", "missing", "failing"])
def test_draw_graph_without_a_working_renderer_shows_the_source_and_how_to_get_pictures(
    monkeypatch, tmp_path, program
):
    from tinygrad_edu.viz import draw_graph

    path = tmp_path / "dot"
    if program == "failing":
        path.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
        path.chmod(0o755)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none" if program == "none" else str(path))
    _, y = computed()
    drawing = draw_graph(y)
    bundle = drawing._repr_mimebundle_()  # never graphviz's ExecutableNotFound
    assert set(bundle) == {"text/plain"}
    first, rest = bundle["text/plain"].split("\n", 1)
    assert rest == drawing.source
    if program == "none":
        assert "pip install 'tinygrad_edu[render]'" in first and "showing the DOT source" in first
    else:
        assert "renderer" in first and "DOT source" in first
    assert drawing._repr_svg_() is None


def test_a_huge_graph_displays_cut_and_says_so(renderer):
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(5_000):
        y = y * 1.0
    y = y.sum()
    y.backward()
    bundle = y._repr_mimebundle_()
    text = " ".join(svg_texts(bundle["image/svg+xml"]))
    assert "300 operations nearest the output of 5,001" in text
