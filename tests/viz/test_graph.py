"""Tests for tinygrad_edu.viz.graph: draw_graph, walk_graph and summarize.

The DOT a drawing produces is parsed statement by statement (``Digraph.body``) into nodes and
edges, and checked node by node: one node per tensor (``n<k>``) and per operation
(``op<k>``), their labels (name, shape, values, gradients), styles, and the edges with their
exact endpoints. Values are hand-computed and compared as numbers, not as printed text.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import BackwardError, InvalidArgumentError
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz import draw_graph, summarize, trace_backward, walk_graph

PARAM, INPUT, OUTPUT, WHITE = "#cfe2ff", "#eeeeee", "#d1e7dd", "#ffffff"

# ----------------------------------------------------------------------------- DOT parsing

_STATEMENT = re.compile(r"\t(\w+)(?: -> (\w+))?(?: \[(.*)\])?\n", re.S)
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"\]]+)', re.S)


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r'\\(["\\])', r"\1", value[1:-1])
    return value


def parse(dot):
    """``(nodes, edges)`` of a Digraph: ``{id: attrs}`` and ``[(tail, head, attrs), ...]``."""
    nodes, edges = {}, []
    for statement in dot.body:
        m = _STATEMENT.fullmatch(statement)
        assert m, f"not a node or edge statement: {statement!r}"
        a, b, raw = m.groups()
        attrs = {k: _unquote(v) for k, v in _ATTR.findall(raw or "")}
        if b is None:
            assert a not in nodes, f"node {a} declared twice"
            nodes[a] = attrs
        else:
            edges.append((a, b, attrs))
    for a, b, _ in edges:  # graphviz would silently invent undeclared endpoints
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def kind_of(node_id: str) -> str:
    if node_id == "more":  # a partial drawing's border: operations not drawn
        return "more"
    for prefix, kind in (("group", "group"), ("op", "op"), ("n", "tensor"), ("c", "const")):
        if re.fullmatch(prefix + r"[\d_]+", node_id):
            return kind
    raise AssertionError(f"unexpected node id {node_id}")


def lines(attrs) -> list[str]:
    return attrs["label"].split("\n")


def field(attrs, key: str) -> str | None:
    """The text after ``key`` on the label line starting with it (e.g. "data", "grad")."""
    found = [line[len(key) + 1:] for line in lines(attrs) if line.startswith(key + " ")]
    assert len(found) <= 1
    return found[0] if found else None


_NUMBER = re.compile(r"[-+]?(?:inf|nan|\d+\.?\d*(?:e[-+]?\d+)?)")


def numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in _NUMBER.findall(text)])


def edge_pairs(edges) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b, _ in edges)


# ----------------------------------------------------------------------------- fixtures


def expression(x_requires_grad: bool = False):
    """(x * w + x).tanh().sum() with x = [1, 2] (an input) and w = [0.5, -1] (a parameter)."""
    x = Tensor([1.0, 2.0], requires_grad=x_requires_grad, name="x")
    w = Tensor([0.5, -1.0], requires_grad=True, name="w")
    y = (x * w + x).tanh().sum()
    return x, w, y


TANH = np.tanh(np.array([1.5, 0.0]))  # tanh(x * w + x)
DTANH = 1 - TANH**2


def mlp_loss():
    model = MLP([2, 3, 2], rng=0)
    X = np.array([[1.0, 2.0], [0.5, -1.0]], dtype=np.float32)
    return model, cross_entropy(model(X), np.array([0, 1]))


# ----------------------------------------------------------------------------- node by node


def test_small_expression_node_by_node():
    _, _, y = expression()
    nodes, edges = parse(draw_graph(y))
    tensors = sorted((k for k in nodes if kind_of(k) == "tensor"), key=lambda k: int(k[1:]))
    ops = sorted((k for k in nodes if kind_of(k) == "op"), key=lambda k: int(k[2:]))
    assert tensors == [f"n{k}" for k in range(6)]
    assert ops == [f"op{k}" for k in range(4)]
    assert len(nodes) == 10  # no constants, no groups

    # Labels: name (or t1, t2 ... without gaps), shape, data; no grad line before backward.
    expected = {
        "n0": ("x", "(2,)", [1.0, 2.0]),
        "n1": ("w  (param)", "(2,)", [0.5, -1.0]),
        "n2": ("t1", "(2,)", [0.5, -2.0]),
        "n3": ("t2", "(2,)", [1.5, 0.0]),
        "n4": ("t3", "(2,)", TANH),
        "n5": ("t4", "()", [TANH.sum()]),
    }
    for node_id, (title, shape, data) in expected.items():
        attrs = nodes[node_id]
        assert lines(attrs)[0] == title
        assert lines(attrs)[1] == f"shape {shape}"
        np.testing.assert_allclose(numbers(field(attrs, "data")), data, atol=1e-4)
        assert field(attrs, "grad") is None
        assert len(lines(attrs)) == 3

    # Styles by kind.
    assert nodes["n0"]["fillcolor"] == INPUT and "filled" in nodes["n0"]["style"]
    assert nodes["n1"]["fillcolor"] == PARAM and "filled" in nodes["n1"]["style"]
    for k in ("n2", "n3", "n4"):
        assert nodes[k]["fillcolor"] == WHITE and "filled" not in nodes[k]["style"]
    assert nodes["n5"]["fillcolor"] == OUTPUT and "filled" in nodes["n5"]["style"]
    for k in ("n0", "n1", "n2", "n3", "n4", "n5"):
        assert "color" not in nodes[k] and "shape" not in nodes[k]  # boxes, nothing flagged
    assert [nodes[k]["label"] for k in ops] == ["Mul", "Add", "Tanh", "Sum"]
    for k in ops:
        assert nodes[k]["shape"] == "ellipse"
        assert "xlabel" not in nodes[k]  # no backward order unless asked

    # Edges run forward, input -> op -> result; x fans out into Mul and Add.
    assert edge_pairs(edges) == sorted([
        ("n0", "op0"), ("n1", "op0"), ("op0", "n2"),
        ("n2", "op1"), ("n0", "op1"), ("op1", "n3"),
        ("n3", "op2"), ("op2", "n4"),
        ("n4", "op3"), ("op3", "n5"),
    ])
    assert all(attrs == {} for _, _, attrs in edges)


def test_graph_attributes_and_rankdir():
    _, _, y = expression()
    dot = draw_graph(y)
    assert dot.graph_attr["rankdir"] == "LR"
    assert "rankdir=LR" in dot.source
    dot = draw_graph(y, rankdir="TB")
    assert dot.graph_attr["rankdir"] == "TB"
    assert "rankdir=TB" in dot.source and "rankdir=LR" not in dot.source


def test_unknown_rankdir_is_a_value_error_naming_the_choices():
    _, _, y = expression()
    with pytest.raises(ValueError, match=r"rankdir.*'LR'.*'TB'.*'up'"):
        draw_graph(y, rankdir="up")


def test_unknown_rankdir_is_the_librarys_invalid_argument_error():
    # The project's convention: unknown option names raise InvalidArgumentError.
    _, _, y = expression()
    with pytest.raises(InvalidArgumentError):
        draw_graph(y, rankdir="up")


@pytest.mark.parametrize("retain", [False, True])
def test_after_backward_every_tensor_reached_shows_its_gradient(retain):
    # micrograd's workflow: loss.backward(), then draw. No retain_graph needed.
    x, w, y = expression()
    y.backward(retain_graph=retain)
    before = w.grad.copy()
    for _ in range(2):  # drawing twice changes no gradient
        nodes, _ = parse(draw_graph(y))
        np.testing.assert_array_equal(w.grad, before)
    assert x.grad is None  # x is an input: neither backward nor the drawing gave it one
    # By hand: g = 1 at the sum, 1 at tanh's output, 1 - tanh^2 before it and through Add,
    # and dL/dw = (1 - tanh^2) * x.
    expected = {"n5": [1.0], "n4": [1.0, 1.0], "n3": DTANH, "n2": DTANH, "n1": DTANH * [1, 2]}
    for k, g in expected.items():
        np.testing.assert_allclose(numbers(field(nodes[k], "grad")), g, atol=1e-4)
    assert field(nodes["n0"], "grad") is None
    np.testing.assert_allclose(w.grad, DTANH * [1.0, 2.0], rtol=1e-6)
    # Intermediate tensors keep PyTorch's .grad (None): the drawing found their gradients.
    assert y.grad is None
    if not retain:
        with pytest.raises(BackwardError, match="second time"):
            y.backward()
        np.testing.assert_array_equal(w.grad, before)


def test_micrograd_example_after_backward():
    # The example: w.grad must stay [0.8399 0.1807] however often it is drawn.
    w = Tensor([0.5, -1.5], requires_grad=True, name="w")
    x = Tensor([2.0, 1.0], name="x")
    loss = (w * x).tanh().sum()
    loss.backward()
    expected = (1 - np.tanh([1.0, -1.5]) ** 2) * [2.0, 1.0]
    np.testing.assert_allclose(w.grad, expected, rtol=1e-6)
    draw_graph(loss)
    draw_graph(loss, trace=trace_backward(loss))
    np.testing.assert_allclose(w.grad, expected, rtol=1e-6)


def test_drawing_before_backward_shows_no_gradient():
    _, _, y = expression()
    nodes, _ = parse(draw_graph(y))
    assert all(field(a, "grad") is None for k, a in nodes.items() if kind_of(k) == "tensor")


def test_after_an_optimiser_step_intermediate_gradients_are_not_invented():
    from tinygrad_edu.optim import SGD

    _, w, y = expression()
    y.backward()
    SGD([w], lr=0.1).step()  # w changes in place: intermediates' gradients would be stale
    dot = draw_graph(y)
    nodes, _ = parse(dot)
    assert field(nodes["n3"], "grad") is None
    assert field(nodes["n1"], "grad") is not None  # w.grad is what backward computed
    assert "changed in place" in dot.graph_attr["label"]


def test_show_data_and_show_grad_false_remove_those_lines():
    _, w, y = expression()
    y.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(y, show_data=False))
    assert lines(nodes["n1"]) == ["w  (param)", "shape (2,)", lines(nodes["n1"])[2]]
    assert lines(nodes["n1"])[2].startswith("grad ")
    assert all(field(a, "data") is None for k, a in nodes.items() if kind_of(k) == "tensor")
    nodes, _ = parse(draw_graph(y, show_grad=False))
    assert all(field(a, "grad") is None for k, a in nodes.items() if kind_of(k) == "tensor")
    assert field(nodes["n1"], "data") is not None
    nodes, _ = parse(draw_graph(y, show_data=False, show_grad=False))
    assert lines(nodes["n1"]) == ["w  (param)", "shape (2,)"]
    assert lines(nodes["n5"]) == ["t4", "shape ()"]


def test_constants_are_dashed_plaintext_nodes():
    w = Tensor([2.0, -1.0], requires_grad=True, name="w")
    y = (w * 3.0 + 1.0).sum()
    nodes, edges = parse(draw_graph(y))
    consts = {k: a for k, a in nodes.items() if kind_of(k) == "const"}
    assert sorted(a["label"] for a in consts.values()) == ["1", "3"]
    for attrs in consts.values():
        assert attrs["shape"] == "plaintext"
    op_of = {nodes[b]["label"]: b for a, b, _ in edges if kind_of(b) == "op"}
    into = {a: (b, attrs) for a, b, attrs in edges if a in consts}
    assert len(into) == 2
    for const_id, (target, attrs) in into.items():
        assert attrs == {"style": "dashed"}
        expected_op = "Mul" if consts[const_id]["label"] == "3" else "Add"
        assert target == op_of[expected_op]
    # Tensors: w, w * 3, w * 3 + 1, the sum.
    assert sorted(k for k in nodes if kind_of(k) == "tensor") == ["n0", "n1", "n2", "n3"]


def test_large_arrays_are_summarised():
    w = Tensor(np.arange(10.0), requires_grad=True, name="w")
    y = (w * w).sum()
    y.backward(retain_graph=True)  # grad = 2 w = 0, 2, ..., 18
    nodes, _ = parse(draw_graph(y))
    label = lines(nodes["n0"])
    assert label[:2] == ["w  (param)", "shape (10,)"]
    assert label[2:] == [
        "data mean 4.5 std 2.87", "min 0 max 9",
        "grad mean 9 std 5.74", "min 0 max 18",
    ]
    # With a higher limit every value is shown.
    nodes, _ = parse(draw_graph(y, max_elements=10))
    np.testing.assert_array_equal(numbers(field(nodes["n0"], "data")), np.arange(10.0))
    np.testing.assert_array_equal(numbers(field(nodes["n0"], "grad")), 2 * np.arange(10.0))


def test_summarize():
    assert summarize(np.arange(10.0)) == "mean 4.5 std 2.87\nmin 0 max 9"
    np.testing.assert_array_equal(numbers(summarize(np.array([1.5, -2.0]))), [1.5, -2.0])
    assert summarize(np.array(2.5)) == "2.5"
    assert summarize(np.array([2.5])) == "[2.5]"
    assert summarize(np.array([])) == "[]"
    assert summarize(np.ones(8, dtype=bool)) == "8 true"
    assert summarize(Tensor([1.0, 3.0])) == summarize(np.array([1.0, 3.0], dtype=np.float32))
    # Non-finite values are left out of the statistics and counted.
    a = np.array([1.0, np.inf, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan])
    assert summarize(a) == "mean 3.5 std 1.71\nmin 1 max 6\n2 NaN/Inf"
    assert summarize(np.full(8, np.nan)) == "all 8 non-finite"


# ----------------------------------------------------------------------------- flags


def test_nan_values_flagged_red():
    v = Tensor([np.nan, 1.0], requires_grad=True, name="v")
    ok = Tensor([1.0, 2.0], name="ok")
    y = (v * 2.0 + ok).sum()
    nodes, _ = parse(draw_graph(y))
    by_title = {lines(a)[0]: a for k, a in nodes.items() if kind_of(k) == "tensor"}
    for title in ("v  (param)", "t1", "t2", "t3"):  # NaN reaches every value computed from v
        attrs = by_title[title]
        assert attrs["color"] == "red" and attrs["fontcolor"] == "red"
        assert lines(attrs)[-1] == "NaN/Inf!"
    assert "color" not in by_title["ok"] and "NaN/Inf!" not in by_title["ok"]["label"]


def test_infinite_gradient_flagged_red():
    x = Tensor([0.0, 4.0], requires_grad=True, name="x")
    y = x.sqrt().sum()
    with np.errstate(divide="ignore"):  # d sqrt(x)/dx = 1 / (2 sqrt(0)) = inf, on purpose
        y.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(y))
    attrs = nodes["n0"]
    assert numbers(field(attrs, "data")).tolist() == [0.0, 4.0]  # the value itself is finite
    assert numbers(field(attrs, "grad")).tolist() == [np.inf, 0.25]
    assert attrs["color"] == "red" and attrs["fontcolor"] == "red"
    assert lines(attrs)[-1] == "NaN/Inf!"
    for k in ("n1", "n2"):
        assert "color" not in nodes[k]
    # show_grad=False hides the gradient and so its flag.
    nodes, _ = parse(draw_graph(y, show_grad=False))
    assert "color" not in nodes["n0"]


@pytest.mark.parametrize(
    ("factor", "flag"),
    [(1e4, "exploding |g| = 1.41e+04"), (1e-9, "vanishing |g| = 1.41e-09")],
)
def test_exploding_and_vanishing_gradient_norms_marked(factor, flag):
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    y = (w * factor).sum()
    y.backward(retain_graph=True)  # dL/dw = [factor, factor], norm sqrt(2) factor
    nodes, _ = parse(draw_graph(y))
    attrs = nodes["n0"]
    assert lines(attrs)[-1] == flag
    assert attrs["color"] == "darkorange"
    assert "NaN/Inf!" not in attrs["label"]
    # Thresholds are the caller's: widen them and nothing is marked.
    nodes, _ = parse(draw_graph(y, explode=1e5, vanish=1e-10))
    assert "color" not in nodes["n0"] and "|g|" not in nodes["n0"]["label"]


def test_ordinary_gradient_not_marked():
    _, _, y = expression()
    y.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(y))
    assert all("color" not in a for a in nodes.values())
    assert all("|g|" not in a["label"] for a in nodes.values())


# ----------------------------------------------------------------------------- with a trace


def test_trace_shows_intermediate_gradients():
    _, _, y = expression()
    trace = trace_backward(y)
    nodes, _ = parse(draw_graph(y, trace=trace))
    # g at the sum is 1, at tanh's output 1, at its input 1 - tanh^2, then passed through Add.
    expected = {"n5": [1.0], "n4": [1.0, 1.0], "n3": DTANH, "n2": DTANH, "n1": DTANH * [1, 2]}
    for k, g in expected.items():
        np.testing.assert_allclose(numbers(field(nodes[k], "grad")), g, atol=1e-4)
    assert field(nodes["n0"], "grad") is None  # the input x needs none


def test_fan_out_edges_labelled_with_their_share():
    x, w, y = expression(x_requires_grad=True)
    trace = trace_backward(y)
    nodes, edges = parse(draw_graph(y, trace=trace))
    mul = next(k for k, a in nodes.items() if a.get("label") == "Mul")
    add = next(k for k, a in nodes.items() if a.get("label") == "Add")
    labelled = {(a, b): attrs for a, b, attrs in edges if "label" in attrs}
    assert set(labelled) == {("n0", mul), ("n0", add)}  # only x fans out
    for attrs in labelled.values():
        assert attrs["label"].startswith("g ")
        assert attrs["color"] == "#b02a37"
    via_mul = numbers(labelled[("n0", mul)]["label"])
    via_add = numbers(labelled[("n0", add)]["label"])
    # By hand: through Mul x receives g * w, through Add it receives g (g = 1 - tanh^2).
    np.testing.assert_allclose(via_mul, DTANH * [0.5, -1.0], atol=1e-4)
    np.testing.assert_allclose(via_add, DTANH, atol=1e-4)
    # They are the trace's contributions, and they add up to x.grad.
    by_op = {trace.steps[i].op: part for i, part in trace.contributions["x"]}
    np.testing.assert_allclose(via_mul, by_op["Mul"], atol=1e-4)
    np.testing.assert_allclose(via_add, by_op["Add"], atol=1e-4)
    np.testing.assert_allclose(via_mul + via_add, x.grad, atol=2e-4)
    np.testing.assert_allclose(x.grad, DTANH * (np.array([0.5, -1.0]) + 1), rtol=1e-6)


def test_fan_out_into_the_same_operation_shares_add_up():
    # x * x: x enters Mul twice and receives g * x along each; the drawing must not show only
    # one of the two shares (3 next to a gradient of 6).
    x = Tensor([3.0], requires_grad=True, name="x")
    y = (x * x).sum()
    trace = trace_backward(y)
    _, edges = parse(draw_graph(y, trace=trace))
    shares = [numbers(attrs["label"]) for a, b, attrs in edges if a == "n0" and "label" in attrs]
    assert x.grad.tolist() == [6.0]
    assert len(shares) >= 1
    np.testing.assert_allclose(np.sum(shares, axis=0), x.grad)


def test_show_order_numbers_operations_output_first():
    _, _, y = expression()
    nodes, _ = parse(draw_graph(y, show_order=True))
    order = {a["label"]: a["xlabel"] for k, a in nodes.items() if kind_of(k) == "op"}
    assert order == {"Sum": "#1", "Tanh": "#2", "Add": "#3", "Mul": "#4"}


def branching():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([0.5, -1.0], requires_grad=True, name="b")
    return (a.exp() + b.tanh()).sum()


def test_show_order_without_trace_is_the_engines_order():
    engine = {s.op: s.index + 1 for s in trace_backward(branching()).steps}
    nodes, _ = parse(draw_graph(branching(), show_order=True))
    drawn = {a["label"]: int(a["xlabel"][1:]) for k, a in nodes.items() if kind_of(k) == "op"}
    assert engine["Sum"] == 1 and engine["Add"] == 2
    assert drawn == engine


def test_trace_numbers_operations_by_its_steps():
    y = branching()
    trace = trace_backward(y)
    nodes, _ = parse(draw_graph(y, trace=trace, show_order=True))
    drawn = {a["label"]: a["xlabel"] for k, a in nodes.items() if kind_of(k) == "op"}
    assert drawn == {s.op: f"#{s.index + 1}" for s in trace.steps}
    assert sorted(drawn.values()) == ["#1", "#2", "#3", "#4"]


def test_highlight_outlines_one_operation():
    _, _, y = expression()
    trace = trace_backward(y)
    tanh_fn = trace.steps[1].function
    assert trace.steps[1].op == "Tanh"
    for target in (tanh_fn, y.grad_fn.inputs[0]):  # the Function, or the tensor it produced
        nodes, _ = parse(draw_graph(y, highlight=target))
        red = [a["label"] for k, a in nodes.items() if a.get("color") == "red"]
        assert red == ["Tanh"]
        tanh_node = next(a for a in nodes.values() if a.get("label") == "Tanh")
        assert tanh_node["penwidth"] == "3"


# ----------------------------------------------------------------------------- collapse


def test_collapse_linear_draws_one_box_per_call():
    model, loss = mlp_loss()
    view = walk_graph(loss)
    nodes, edges = parse(draw_graph(loss, collapse="Linear"))
    boxes = [k for k in nodes if kind_of(k) == "group"]
    assert len(boxes) == 2
    for k in boxes:
        assert nodes[k]["label"] == "Linear" and nodes[k]["shape"] == "box3d"
    # Linear is one fused operation, whose output leaves the box: every tensor is drawn.
    for k, _ in enumerate(view.tensors):
        assert f"n{k}" in nodes
    ops = sorted(a["label"] for k, a in nodes.items() if kind_of(k) == "op")
    assert "Relu" in ops and "Linear" not in ops
    # Each box: in from its input, weight and bias; out to the layer's output.
    index = {id(t): f"n{k}" for k, t in enumerate(view.tensors)}
    layers = [m for m in model.modules() if type(m).__name__ == "Linear"]
    relu_out = next(t for t in view.tensors if t.grad_fn is not None and t.grad_fn.name == "Relu")
    first, second = layers
    expected = [
        {"n0", index[id(first.weight)], index[id(first.bias)]},
        {index[id(relu_out)], index[id(second.weight)], index[id(second.bias)]},
    ]
    heads = [{a for a, b, _ in edges if b == box} for box in boxes]
    assert sorted(heads, key=sorted) == sorted(expected, key=sorted)
    assert len(edges) == len({(a, b) for a, b, _ in edges})
    outputs = {index[id(t)] for t in view.tensors if t.grad_fn is not None
               and t.grad_fn.name == "Linear"
               and [s.name for s in t.grad_fn.scope][-1:] == ["Linear"]}
    tails = [b for box in boxes for a, b, _ in edges if a == box]
    assert len(outputs) == 2 and sorted(tails) == sorted(outputs)
    # Every parameter is drawn as a parameter; the root keeps the output style.
    for p in model.parameters():
        assert nodes[index[id(p)]]["fillcolor"] == PARAM
    assert nodes[index[id(loss)]]["fillcolor"] == OUTPUT


def test_collapse_true_draws_each_outermost_scope():
    model, loss = mlp_loss()
    view = walk_graph(loss)
    index = {id(t): f"n{k}" for k, t in enumerate(view.tensors)}
    nodes, edges = parse(draw_graph(loss, collapse=True))
    boxes = {nodes[k]["label"]: k for k in nodes if kind_of(k) == "group"}
    assert sorted(boxes) == ["MLP", "cross_entropy"]
    assert [k for k in nodes if kind_of(k) in ("op", "const")] == []
    tensors = [k for k in nodes if kind_of(k) == "tensor"]
    # Drawn: the input, the four parameters, the logits between the boxes, and the loss.
    assert len(tensors) == 7
    logits = [k for k in tensors if lines(nodes[k])[1] == "shape (2, 2)" and k != "n0"]
    assert len(logits) == 1
    inputs = {index[id(p)] for p in model.parameters()} | {"n0"}
    assert {a for a, b, _ in edges if b == boxes["MLP"]} == inputs
    assert [b for a, b, _ in edges if a == boxes["MLP"]] == logits
    assert [a for a, b, _ in edges if b == boxes["cross_entropy"]] == logits
    assert [b for a, b, _ in edges if a == boxes["cross_entropy"]] == [index[id(loss)]]
    assert nodes[index[id(loss)]]["fillcolor"] == OUTPUT


def test_collapse_several_names():
    _, loss = mlp_loss()
    nodes, _ = parse(draw_graph(loss, collapse=["Linear", "cross_entropy"]))
    assert sorted(a["label"] for k, a in nodes.items() if kind_of(k) == "group") == [
        "Linear", "Linear", "cross_entropy"]
    ops = [a["label"] for k, a in nodes.items() if kind_of(k) == "op"]
    assert ops == ["Relu"]
    # Nothing collapses when no operation ran in the named scope.
    nodes, _ = parse(draw_graph(loss, collapse="Conv2d"))
    assert [k for k in nodes if kind_of(k) == "group"] == []


# ----------------------------------------------------------------------------- errors, size


def test_automatic_names_are_consecutive_and_skip_the_users():
    a = Tensor([1.0], requires_grad=True, name="t2")
    b = Tensor([2.0], requires_grad=True)
    y = ((a * b).exp() + a).sum()
    labels = [walk_graph(y).label(t) for t in walk_graph(y).tensors]
    assert labels == ["t2", "t1", "t3", "t4", "t5", "t6"]


def test_compact_numbers_without_negative_zero():
    assert summarize(np.array([1.0, -1.5])) == "[1, -1.5]"
    assert summarize(np.array([-0.0, 0.0])) == "[0, 0]"
    assert summarize(np.array(-0.0)) == "0"
    assert summarize(np.array([[1.0, -2.0], [0.25, 3.0]])) == "[[1, -2], [0.25, 3]]"
    assert summarize(np.array([0.123456, 12345.0])) == "[0.1235, 1.234e+04]"
    assert summarize(-np.zeros(8)) == "mean 0 std 0\nmin 0 max 0"


def test_only_leaves_that_require_grad_are_parameters():
    c = Tensor([1.0, 2.0], name="c")  # a constant input
    w = Tensor([3.0, 4.0], requires_grad=True, name="w")
    nodes, _ = parse(draw_graph((c * w).sum()))
    assert lines(nodes["n0"])[0] == "c" and nodes["n0"]["fillcolor"] == INPUT
    assert lines(nodes["n1"])[0] == "w  (param)" and nodes["n1"]["fillcolor"] == PARAM


@pytest.mark.parametrize(("left", "right"), [((2,), (2,)), ((2, 2), (2,)), ((2,), (2, 3))])
def test_matmul_reshapes_of_vectors_are_not_drawn(left, right):
    x = Tensor(np.arange(1.0, 1.0 + np.prod(left)).reshape(left), requires_grad=True, name="x")
    W = Tensor(np.ones(right), requires_grad=True, name="W")
    y = x @ W
    out = y.sum()
    out.backward()
    nodes, edges = parse(draw_graph(out))
    ops = [a["label"] for k, a in nodes.items() if kind_of(k) == "op"]
    assert ops == ["Matmul", "Sum"]
    titles = sorted(lines(a)[0] for k, a in nodes.items() if kind_of(k) == "tensor")
    assert titles == sorted(["x  (param)", "W  (param)", "t1", "t2"])
    result = next(a for k, a in nodes.items() if kind_of(k) == "tensor" and lines(a)[0] == "t1")
    assert lines(result)[1] == f"shape {y.shape}"  # the user's result, not the (1, n) product
    matmul = next(k for k, a in nodes.items() if a.get("label") == "Matmul")
    into = sorted(lines(nodes[a])[0] for a, b, _ in edges if b == matmul)
    assert into == ["W  (param)", "x  (param)"]
    np.testing.assert_allclose(numbers(field(result, "grad")), np.ones(y.size))
    # The backward order counts the user's operations only: Sum #1, Matmul #2.
    for trace in (None, trace_backward(out)):
        nodes, _ = parse(draw_graph(out, show_order=True, trace=trace))
        order = {a["label"]: a["xlabel"] for k, a in nodes.items() if kind_of(k) == "op"}
        assert order == {"Sum": "#1", "Matmul": "#2"}


def test_non_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="Tensor"):
        draw_graph(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="float"):
        draw_graph(3.0)


def test_leaf_draws_one_node():
    w = Tensor([1.0], requires_grad=True, name="w")
    nodes, edges = parse(draw_graph(w))
    assert list(nodes) == ["n0"] and edges == []
    assert nodes["n0"]["fillcolor"] == OUTPUT  # the root, even though it is a parameter


def test_ten_thousand_operation_chain_draws_without_recursion():
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(10_000):
        y = y.tanh()
    nodes, edges = parse(draw_graph(y, max_nodes=None))
    assert sum(kind_of(k) == "op" for k in nodes) == 10_000
    assert sum(kind_of(k) == "tensor" for k in nodes) == 10_001
    assert len(edges) == 20_000
    assert ("n0", "op0") in edge_pairs(edges) and ("op9999", "n10000") in edge_pairs(edges)


def test_large_graph_is_cut_to_the_operations_nearest_the_output_and_says_so():
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(1000):
        y = y.tanh()
    y = y.sum()
    y.backward()
    dot = draw_graph(y, max_nodes=50)
    nodes, edges = parse(dot)
    ops = [a["label"] for k, a in nodes.items() if kind_of(k) == "op"]
    assert ops == ["Tanh"] * 49 + ["Sum"]
    label = dot.graph_attr["label"]
    assert "50 operations nearest the output of 1,001" in label and "Tanh x951" in label
    assert "max_nodes=None" in label
    # The border: one tensor made by an operation not drawn, marked as such.
    assert [b for a, b, _ in edges if a == "more"] == ["n0"]
    assert "not drawn" in nodes["more"]["label"]
    # The drawn part still shows the gradients of the pass (d tanh^k / dw chains).
    assert field(nodes["n50"], "grad") == "1"
    assert field(nodes["n0"], "grad") is None  # its sum needs steps that were not replayed


@pytest.mark.slow
def test_hundred_thousand_operations_draw_cut():
    w = Tensor([0.5], requires_grad=True, name="w")
    y = w
    for _ in range(100_000):
        y = y * 1.0
    y = y.sum()
    y.backward()
    dot = draw_graph(y)
    assert "300 operations nearest the output of 100,001" in dot.graph_attr["label"]
    assert sum(kind_of(k) == "op" for k in parse(dot)[0]) == 300


def test_walk_graph_lists_operations_in_the_order_they_ran_inputs_before_first_use():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    c = Tensor([3.0, 4.0], name="c")  # a constant: walked too, though it needs no gradient
    a = x * 2  # runs first, used second
    b = x + c
    out = (b * a).sum()
    for after_backward in (False, True):  # the same view before and after backward
        if after_backward:
            out.backward()
        view = walk_graph(out)
        assert [f.name for f in view.functions] == ["Mul", "Add", "Mul", "Sum"]
        assert [view.label(t) for t in view.tensors] == ["x", "t1", "c", "t2", "t3", "t4"]
        assert [f.name for f in view.consumers[id(x)]] == ["Mul", "Add"]
