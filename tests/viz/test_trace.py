"""Tests for tinygrad_edu.viz.trace: trace_backward, BackwardStep and BackwardTrace.

The steps are checked against the course's backprop worked by hand (the notes on backprop: the 4-2-1
network with a sigmoid hidden layer and the max-margin objective, delta_i and
dJ/dW_ij = delta_i a_j), the local derivatives of the elementwise operations, gradients summed
back to broadcast inputs, and fan-out sums that must equal the gradient exactly.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.autograd import topological_sort
from tinygrad_edu.errors import BackwardError, ShapeError
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.viz import BackwardStep, BackwardTrace, draw_graph, trace_backward


def t64(values, requires_grad=False, name=None):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad, name=name)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def step(trace, op, nth=0):
    """The nth step (in backward order) whose operation is ``op``."""
    return [s for s in trace.steps if s.op == op][nth]


# ----------------------------------------------------------------------------- the 4-2-1 network

X = np.array([[1.0], [-2.0], [0.5], [3.0]])  # a^(1) = x, a column as in the notes
XC = np.array([[0.5], [1.0], [-1.0], [2.0]])  # a corrupt window
W1 = np.array([[0.1, 0.2, -0.3, 0.4], [-0.5, 0.6, 0.7, -0.8]])  # W^(1), 4 -> 2
B1 = np.array([[0.1], [-0.2]])
W2 = np.array([[1.5, -2.0]])  # W^(2) (U in the notes), 2 -> 1


def network():
    w1 = t64(W1, True, "W1")
    b1 = t64(B1, True, "b1")
    w2 = t64(W2, True, "W2")

    def score(x):
        a2 = (w1 @ t64(x, name="x") + b1).sigmoid()
        return w2 @ a2

    return w1, b1, w2, score


def test_four_two_one_network_deltas_by_hand():
    w1, b1, w2, score = network()
    s_c = t64([[0.3]], name="s_c")  # the corrupt score, a constant here
    J = (s_c - score(X) + 1.0).relu().sum()  # J = max(1 + s_c - s, 0)
    trace = trace_backward(J)
    assert [s.op for s in trace.steps] == [
        "Sum", "Relu", "Add", "Sub", "Matmul", "Sigmoid", "Add", "Matmul"]

    # By hand, following the notes.
    a2 = sigmoid(W1 @ X + B1)
    s = (W2 @ a2).item()
    assert 1 + 0.3 - s > 0  # the margin is violated: J is positive, dJ/ds = -1
    delta3 = -1.0
    error_a2 = W2.T * delta3  # what reaches a^(2): delta^(3) W^(2)
    delta2 = a2 * (1 - a2) * error_a2  # delta^(2)_i = f'(z_i) sum_k delta^(3)_k W^(2)_ki
    dW1 = np.array([[delta2[i, 0] * X[j, 0] for j in range(4)] for i in range(2)])

    sub = step(trace, "Sub")
    assert sub.grad_output.tolist() == [[1.0]]  # through Sum, Relu (active) and + 1
    assert sub.inputs == ["s_c", sub.inputs[1]]
    assert sub.grad_inputs[0] is None and sub.grad_inputs[1].tolist() == [[delta3]]

    out = step(trace, "Matmul", 0)  # s = W^(2) a^(2)
    assert out.grad_output.tolist() == [[delta3]]
    assert out.inputs[0] == "W2"
    np.testing.assert_allclose(out.grad_inputs[0], delta3 * a2.T, rtol=1e-15)  # delta3 a_j
    np.testing.assert_allclose(out.grad_inputs[1], error_a2, rtol=1e-15)

    sig = step(trace, "Sigmoid")
    np.testing.assert_allclose(sig.grad_output, error_a2, rtol=1e-15)
    np.testing.assert_allclose(sig.local[0], a2 * (1 - a2), rtol=1e-15)  # f'(z) = s(1 - s)
    np.testing.assert_allclose(sig.grad_inputs[0], delta2, rtol=1e-15)

    add = step(trace, "Add", 1)  # z^(2) = W^(1) a^(1) + b^(1)
    assert add.inputs[1] == "b1"
    np.testing.assert_allclose(add.grad_output, delta2, rtol=1e-15)
    np.testing.assert_allclose(add.grad_inputs[1], delta2, rtol=1e-15)  # bias gradient = delta

    first = step(trace, "Matmul", 1)
    assert first.inputs == ["W1", "x"]
    np.testing.assert_allclose(first.grad_output, delta2, rtol=1e-15)
    np.testing.assert_allclose(first.grad_inputs[0], dW1, rtol=1e-15)  # delta_i a_j
    assert first.grad_inputs[1] is None  # x needs no gradient

    np.testing.assert_allclose(w1.grad, dW1, rtol=1e-15)
    np.testing.assert_allclose(b1.grad, delta2, rtol=1e-15)
    np.testing.assert_allclose(w2.grad, delta3 * a2.T, rtol=1e-15)
    np.testing.assert_allclose(trace.grads["W1"], dW1, rtol=1e-15)


def test_four_two_one_network_fan_out_sums():
    # s and s_c come from the same network: every parameter is used twice, and its gradient is
    # the sum of what the true window and the corrupt window send back.
    w1, b1, w2, score = network()
    J = (score(XC) - score(X) + 1.0).relu().sum()
    trace = trace_backward(J)
    a2, a2c = sigmoid(W1 @ X + B1), sigmoid(W1 @ XC + B1)
    assert 1 + (W2 @ a2c).item() - (W2 @ a2).item() > 0
    delta2 = a2 * (1 - a2) * (W2.T * -1.0)  # dJ/ds = -1
    delta2c = a2c * (1 - a2c) * (W2.T * 1.0)  # dJ/ds_c = +1
    expected = {
        "W1": sorted([delta2 @ X.T, delta2c @ XC.T], key=lambda a: a.sum()),
        "b1": sorted([delta2, delta2c], key=lambda a: a.sum()),
        "W2": sorted([-a2.T, a2c.T], key=lambda a: a.sum()),
    }
    fanouts = trace.fanouts()
    assert set(fanouts) == {"W1", "b1", "W2"}
    for label, leaf in (("W1", w1), ("b1", b1), ("W2", w2)):
        parts, total = fanouts[label]
        assert len(parts) == 2
        got = sorted([p for _, p in parts], key=lambda a: a.sum())
        for g, e in zip(got, expected[label]):
            np.testing.assert_allclose(g, e, rtol=1e-14)
        # Exactly the gradient: the engine adds the same two arrays.
        np.testing.assert_array_equal(parts[0][1] + parts[1][1], leaf.grad)
        np.testing.assert_array_equal(total, leaf.grad)
        np.testing.assert_array_equal(trace.grads[label], leaf.grad)
        # Each part names the step that sent it: a Matmul or Add using this leaf.
        for index, _ in parts:
            assert label in trace.steps[index].inputs


# ----------------------------------------------------------------------------- steps and order


def expression():
    x = t64([1.0, 2.0], True, "x")
    w = t64([0.5, -1.0], True, "w")
    return x, w, (x * w + x).tanh().sum()


def test_steps_in_the_engines_order_with_names():
    x, w, y = expression()
    engine = [t.grad_fn for t in reversed(topological_sort(y)) if t.grad_fn is not None]
    trace = trace_backward(y)
    assert all(isinstance(s, BackwardStep) for s in trace.steps)
    assert [s.op for s in trace.steps] == ["Sum", "Tanh", "Add", "Mul"]
    assert [s.function for s in trace.steps] == engine
    assert [s.index for s in trace.steps] == [0, 1, 2, 3]
    assert [s.output for s in trace.steps] == ["t4", "t3", "t2", "t1"]
    assert [s.inputs for s in trace.steps] == [["t3"], ["t2"], ["t1", "x"], ["x", "w"]]
    assert trace.steps[0].function is y.grad_fn


def test_steps_follow_the_engine_on_a_branching_graph():
    a = t64([1.0, 2.0], True, "a")
    b = t64([0.5, -1.0], True, "b")
    c = t64([3.0, 4.0], True, "c")
    y = ((a.exp() + b.tanh()) * (c.sigmoid() - a)).sum()
    engine = [t.grad_fn for t in reversed(topological_sort(y)) if t.grad_fn is not None]
    trace = trace_backward(y)
    assert [s.function for s in trace.steps] == engine
    # Each operation runs only after every operation that uses its result.
    seen: set[int] = set()
    view = trace.view
    for s in trace.steps:
        out = view.output_of(s.function)
        assert all(id(f) in seen for f in view.consumers.get(id(out), []))
        seen.add(id(s.function))


def test_hand_computed_expression():
    x, w, y = expression()
    trace = trace_backward(y)
    t = np.tanh(np.array([1.0, 2.0]) * [0.5, -1.0] + [1.0, 2.0])
    d = 1 - t**2
    s_sum, s_tanh, s_add, s_mul = trace.steps
    assert s_sum.grad_output.tolist() == 1.0
    assert s_sum.grad_inputs[0].tolist() == [1.0, 1.0]
    assert s_tanh.grad_output.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(s_tanh.local[0], d, rtol=1e-15)
    np.testing.assert_allclose(s_add.grad_output, d, rtol=1e-15)
    assert [loc.tolist() for loc in s_add.local] == [[1.0, 1.0], [1.0, 1.0]]
    np.testing.assert_allclose(s_mul.grad_output, d, rtol=1e-15)
    assert [loc.tolist() for loc in s_mul.local] == [[0.5, -1.0], [1.0, 2.0]]  # dz/dx = w ...
    np.testing.assert_allclose(s_mul.grad_inputs[0], d * [0.5, -1.0], rtol=1e-15)
    np.testing.assert_allclose(s_mul.grad_inputs[1], d * [1.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(x.grad, d * [1.5, 0.0], rtol=1e-15)
    np.testing.assert_allclose(w.grad, d * [1.0, 2.0], rtol=1e-15)


@pytest.mark.parametrize(
    ("method", "op", "local"),
    [
        ("sigmoid", "Sigmoid", lambda x: sigmoid(x) * (1 - sigmoid(x))),
        ("tanh", "Tanh", lambda x: 1 - np.tanh(x) ** 2),
        ("relu", "Relu", lambda x: (x > 0).astype(float)),
        ("exp", "Exp", np.exp),
    ],
)
def test_local_derivatives_of_elementwise_operations(method, op, local):
    values = np.array([-1.5, -0.25, 0.5, 2.0])
    x = t64(values, True, "x")
    c = np.array([1.0, -2.0, 3.0, 0.5])  # a non-uniform delta arriving at the activation
    y = (getattr(x, method)() * c).sum()
    trace = trace_backward(y)
    act = step(trace, op)
    np.testing.assert_array_equal(act.grad_output, c)
    np.testing.assert_allclose(act.local[0], local(values), rtol=1e-15)
    np.testing.assert_allclose(act.grad_inputs[0], c * local(values), rtol=1e-15)
    np.testing.assert_array_equal(act.grad_inputs[0], x.grad)
    assert act.local[0].shape == act.grad_inputs[0].shape == (4,)


def test_relu_local_derivative_is_the_mask():
    x = t64([-1.0, 0.0, 2.0], True, "x")
    trace = trace_backward(x.relu().sum())
    assert step(trace, "Relu").local[0].tolist() == [0.0, 0.0, 1.0]  # 0 at the kink


def test_non_elementwise_operations_have_no_local_derivative():
    w = t64([[1.0, 2.0], [3.0, 4.0]], True, "w")
    trace = trace_backward((w @ w).sum())
    assert step(trace, "Matmul").local == [None, None]
    assert step(trace, "Sum").local == [None]


def test_broadcast_inputs_receive_gradients_of_their_own_shape():
    X = t64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="X")
    b = t64([0.1, 0.2, 0.3], True, "b")  # broadcast over rows
    c = t64([[1.0], [-1.0]], True, "c")  # broadcast over columns
    C = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    y = ((X + b + c) * C).sum()
    trace = trace_backward(y)
    outer, inner = step(trace, "Add", 0), step(trace, "Add", 1)
    assert outer.inputs[1] == "c" and inner.inputs[1] == "b"
    np.testing.assert_array_equal(outer.grad_output, C)
    assert outer.local[1].shape == (2, 3)  # the local derivative has the output's shape
    assert outer.grad_inputs[1].shape == (2, 1)
    np.testing.assert_array_equal(outer.grad_inputs[1], [[6.0], [60.0]])  # C summed over columns
    assert inner.grad_inputs[1].shape == (3,)
    np.testing.assert_array_equal(inner.grad_inputs[1], [11.0, 22.0, 33.0])  # summed over rows
    assert inner.grad_inputs[0] is None  # X is an input
    np.testing.assert_array_equal(b.grad, [11.0, 22.0, 33.0])
    np.testing.assert_array_equal(c.grad, [[6.0], [60.0]])


def test_fan_out_contributions_add_up_to_the_gradient():
    x, w, y = expression()
    trace = trace_backward(y)
    fanouts = trace.fanouts()
    assert list(fanouts) == ["x"]  # w is used once
    parts, total = fanouts["x"]
    assert [i for i, _ in parts] == [2, 3]  # from Add (step 3), then Mul (step 4)
    np.testing.assert_array_equal(parts[0][1] + parts[1][1], x.grad)
    np.testing.assert_array_equal(total, x.grad)
    np.testing.assert_array_equal(trace.grads["x"], x.grad)
    assert [i for i, _ in trace.contributions["x"]] == [2, 3]
    assert len(trace.contributions["w"]) == 1
    np.testing.assert_array_equal(trace.contributions["w"][0][1], w.grad)


def test_grads_of_every_tensor_reached():
    x, w, y = expression()
    trace = trace_backward(y)
    assert set(trace.grads) == {"t4", "t3", "t2", "t1", "x", "w"}
    t = np.tanh([1.5, 0.0])
    np.testing.assert_allclose(trace.grads["t2"], 1 - t**2, rtol=1e-15)
    assert trace.grads["t4"].tolist() == 1.0


def test_vector_dot_itself_fans_out_into_the_product():
    x = t64([1.0, 2.0], True, "x")
    trace = trace_backward(x @ x)
    assert [s.op for s in trace] == ["Matmul"] and trace[0].inputs == ["x", "x"]
    parts, total = trace.fanouts()["x"]
    assert [p.tolist() for _, p in parts] == [[1.0, 2.0], [1.0, 2.0]]
    assert total.tolist() == [2.0, 4.0] == x.grad.tolist()


def test_square_fans_out_into_one_operation():
    x = t64([3.0], True, "x")
    trace = trace_backward((x * x).sum())
    parts, total = trace.fanouts()["x"]
    assert [(i, p.tolist()) for i, p in parts] == [(1, [3.0]), (1, [3.0])]
    assert total.tolist() == [6.0] and x.grad.tolist() == [6.0]


# ----------------------------------------------------------------------------- VJP text


def test_vjp_text_uses_the_steps_own_names():
    # The formal names of the docstrings (x, y) clash with the user's; the trace uses theirs.
    x, w, y = expression()
    trace = trace_backward(y)
    assert step(trace, "Sum").vjp == "VJP: dL/dt3 = g broadcast back over the summed axes"
    assert step(trace, "Tanh").vjp == "VJP: dL/dt2 = g * (1 - t3^2)"
    assert step(trace, "Add").vjp == "VJP: dL/dt1 = g,  dL/dx = g"
    assert step(trace, "Mul").vjp == "VJP: dL/dx = g * w,  dL/dw = g * x"


def test_vjp_text_of_a_matmul_names_its_operands():
    W = t64([[1.0, 2.0], [3.0, 4.0]], True, "W")
    x = t64([[1.0], [-1.0]], name="x")  # a constant: no line for it
    trace = trace_backward((W @ x).sum())
    assert step(trace, "Matmul").vjp == "VJP: dL/dW = g @ x^T"
    v = t64([1.0, -1.0], name="v")  # a vector: @ reshapes it internally, the name stays
    with_vector = trace_backward((W @ v).sum())
    assert step(with_vector, "Matmul").vjp == "VJP: dL/dW = g @ v^T"
    # Those reshapes are not the user's steps: the trace tells the product with W, v, t1.
    assert [s.op for s in with_vector] == ["Sum", "Matmul"]
    assert "@" not in with_vector.to_text().replace(" @ ", "")
    product = step(with_vector, "Matmul")
    assert product.output == "t1" and product.inputs == ["W", "v"]
    assert product.grad_output.shape == (2,)
    np.testing.assert_array_equal(product.grad_inputs[0], [[1.0, -1.0], [1.0, -1.0]])
    np.testing.assert_array_equal(with_vector.grads["W"], product.grad_inputs[0])
    c = trace_backward((W * 2.0).sum())
    assert step(c, "Mul").vjp == "VJP: dL/dW = g * 2"  # a constant shows its value


def test_vjp_text_of_softmax_and_log_softmax():
    z = t64([[1.0, 2.0, 0.5]], True, "z")
    trace = trace_backward(z.softmax().sum() + z.log_softmax().sum())
    for op in ("Softmax", "LogSoftmax"):
        s = step(trace, op)
        assert s.vjp.startswith("VJP: dL/dz = ")
        assert s.output in s.vjp  # written with the result's own label


def test_vjp_text_of_an_operation_of_ones_own():
    from tinygrad_edu.autograd import Function

    class Cube(Function):
        vjp_formula = ("3 {0}^2 g",)

        def forward(self, x):
            return x**3

        def backward(self, g, out, x):
            return 3 * x**2 * g

    class Plain(Cube):
        vjp_formula = None

    a = t64([2.0], True, "a")
    assert trace_backward(Cube.apply(a).sum())[-1].vjp == "VJP: dL/da = 3 a^2 g"
    assert "Plain.backward(g)" in trace_backward(Plain.apply(a).sum())[-1].vjp


def test_trace_is_a_sequence_of_its_steps():
    x, w, y = expression()
    trace = trace_backward(y)
    assert len(trace) == 4
    assert [s.op for s in trace] == ["Sum", "Tanh", "Add", "Mul"]
    assert trace[0] is trace.steps[0] and trace[-1].op == "Mul"
    assert [s.op for s in trace[1:3]] == ["Tanh", "Add"]
    with pytest.raises(IndexError):
        trace[4]


# ----------------------------------------------------------------------------- like backward()


def test_leaf_gradients_are_those_of_backward():
    x1, w1, y1 = expression()
    x2, w2, y2 = expression()
    y1.backward()
    trace_backward(y2)
    np.testing.assert_array_equal(x2.grad, x1.grad)
    np.testing.assert_array_equal(w2.grad, w1.grad)
    # A second trace of the same graph reports the pass again and adds nothing.
    again = trace_backward(y2)
    np.testing.assert_array_equal(w2.grad, w1.grad)
    np.testing.assert_array_equal(again.grads["w"], w1.grad)


@pytest.mark.parametrize("retain", [False, True])
def test_trace_after_backward_reports_every_step_and_adds_nothing(retain):
    x1, w1, y1 = expression()
    x2, w2, y2 = expression()
    first = trace_backward(y1)
    y2.backward(retain_graph=retain)
    grads = (x2.grad.copy(), w2.grad.copy())
    trace = trace_backward(y2)
    np.testing.assert_array_equal(x2.grad, grads[0])
    np.testing.assert_array_equal(w2.grad, grads[1])
    assert [s.op for s in trace] == [s.op for s in first]
    for a, b in zip(trace, first):
        np.testing.assert_array_equal(a.grad_output, b.grad_output)
        for ga, gb in zip(a.grad_inputs, b.grad_inputs):
            assert (ga is None) == (gb is None)
            if ga is not None:
                np.testing.assert_array_equal(ga, gb)
    np.testing.assert_array_equal(trace.grads["x"], x2.grad)
    draw_graph(y2, trace=trace)  # the doubling: drawing with it changes nothing
    np.testing.assert_array_equal(w2.grad, grads[1])
    if not retain:
        with pytest.raises(BackwardError, match="second time"):
            y2.backward()


def test_graph_is_retained_for_drawing():
    x, w, y = expression()
    trace = trace_backward(y)
    dot = draw_graph(y, trace=trace)
    assert "Tanh" in dot.source and "grad" in dot.source
    y.backward()  # the graph is still there for a real pass too
    np.testing.assert_allclose(w.grad, 2 * trace.grads["w"], rtol=1e-15)


def test_retain_graph_false_releases_it_for_backward_but_not_for_drawing():
    x, w, y = expression()
    trace_backward(y, retain_graph=False)
    assert "grad" in draw_graph(y).source
    with pytest.raises(BackwardError, match="retain_graph"):
        y.backward()


def test_non_scalar_output_needs_grad():
    x = t64([1.0, 2.0], True, "x")
    y = x * 2.0
    with pytest.raises(BackwardError, match="grad"):
        trace_backward(y)
    assert x.grad is None  # nothing ran
    trace = trace_backward(y, grad=[1.0, 10.0])
    assert [s.op for s in trace.steps] == ["Mul"]
    assert trace.steps[0].grad_output.tolist() == [1.0, 10.0]
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(ShapeError):
        trace_backward(x * 2.0, grad=[1.0, 2.0, 3.0])


def test_output_that_needs_no_grad():
    with pytest.raises(BackwardError, match="requires_grad"):
        trace_backward(t64([1.0]) * 2.0)


def test_leaf_root_gives_no_steps():
    w = t64([2.0], True, "w")
    trace = trace_backward(w)
    assert isinstance(trace, BackwardTrace)
    assert trace.steps == []
    assert trace.fanouts() == {}
    assert {k: v.tolist() for k, v in trace.grads.items()} == {"w": [1.0]}
    assert w.grad.tolist() == [1.0]
    assert "0 step(s)" in trace.to_text()


def test_deep_chain_without_recursion():
    w = t64([0.5], True, "w")
    y = w
    for _ in range(10_000):
        y = y * 1.0
    trace = trace_backward(y.sum())
    assert len(trace.steps) == 10_001
    assert w.grad.tolist() == [1.0]
    assert trace.grads["w"].tolist() == [1.0]


# ----------------------------------------------------------------------------- names


def test_same_named_tensors_are_traced_apart():
    # Layers name their parameters "weight" and "bias"; two tensors with one name must not be
    # merged into one fan-out (a wrong sum) in the trace.
    a = t64([1.0], True, "w")
    b = t64([2.0], True, "w")
    trace = trace_backward((a * 3.0 + b * 5.0).sum())
    assert trace.fanouts() == {}
    assert trace.grads[trace.view.label(a)].tolist() == [3.0]
    assert trace.grads[trace.view.label(b)].tolist() == [5.0]
    assert trace.view.label(a) != trace.view.label(b)


def test_mlp_with_two_layers_can_be_traced():
    model = MLP([2, 3, 2], rng=0)
    X_ = np.array([[1.0, 2.0], [0.5, -1.0]], dtype=np.float32)
    loss = cross_entropy(model(X_), np.array([0, 1]))
    trace = trace_backward(loss)
    labels = [trace.view.label(p) for p in model.parameters()]
    assert len(set(labels)) == 4
    for p, label in zip(model.parameters(), labels):
        np.testing.assert_array_equal(trace.grads[label], p.grad)


# ----------------------------------------------------------------------------- text


def test_to_text_of_a_square():
    x = t64([3.0], True, "x")
    trace = trace_backward((x * x).sum())
    assert trace.to_text() == "\n".join([
        "Backward pass from t2: 2 step(s). g is dL/d(result of the step), the course's delta.",
        "",
        "step 1: t2 = Sum(t1)",
        "    VJP: dL/dt1 = g broadcast back over the summed axes",
        "    g = 1",
        "    t1 receives [1]",
        "step 2: t1 = Mul(x, x)",
        "    VJP: dL/dx = g * x",
        "    g = [1]",
        "    local dt1/dx = [3]",
        "    x receives [3]",
        "    local dt1/dx = [3]",
        "    x receives [3]",
        "",
        "Fan-out: values used more than once add up what they receive.",
        "  dL/dx = [3] (step 2) + [3] (step 2) = [6]",
    ])
    assert str(trace) == trace.to_text()


def test_to_text_lists_each_step_and_the_fan_out_sum():
    x, w, y = expression()
    trace = trace_backward(y)
    text = trace.to_text()
    for line in ("step 1: t4 = Sum(t3)", "step 2: t3 = Tanh(t2)", "step 3: t2 = Add(t1, x)",
                 "step 4: t1 = Mul(x, w)"):
        assert line in text.splitlines()
    fan = [line for line in text.splitlines() if line.startswith("  dL/dx = ")]
    assert len(fan) == 1
    assert "(step 3) + " in fan[0] and "(step 4) = " in fan[0]
    total = re.findall(r"= (\[[^\]]*\])$", fan[0])[0]
    np.testing.assert_allclose(
        [float(v) for v in total.strip("[]").split(",")], x.grad, atol=1e-4)
    # Constants show their values.
    c = trace_backward((w * 2.0).sum())
    assert "step 2: t1 = Mul(w, 2)" in c.to_text().splitlines()
