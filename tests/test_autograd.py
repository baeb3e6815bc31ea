"""The engine: accumulation, graph order, freeing the graph, gradient mode, higher-order
gradients, broadcasting in backward, and the errors of a backward pass that cannot run.

Every expected gradient here is computed by hand (in float64), not by the engine.
"""

from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import (
    BackwardError,
    ShapeError,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
)
from tinygrad_edu.autograd import Function, grad
from tinygrad_edu.viz import trace_backward


def _leaf(values, requires_grad=True):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- accumulation


def test_fan_out_accumulates_x_times_x():
    x = _leaf([1.0, -2.0, 3.5])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 7.0])
    assert x.grad.shape == x.shape and x.grad.dtype == np.float64


def test_same_input_on_both_sides_of_every_binary_op():
    x = _leaf([2.0, 3.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    x.zero_grad()
    (x - x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    x.zero_grad()
    (x / x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    x.zero_grad()
    (x**x).sum().backward()  # d/dx x^x = x^x (ln x + 1)
    np.testing.assert_allclose(
        x.grad, [4.0 * (np.log(2.0) + 1), 27.0 * (np.log(3.0) + 1)], rtol=1e-14
    )


def test_diamond_graph():
    # x -> a = x + 1, b = 3x -> out = a * b = 3x^2 + 3x;  d out/dx = 6x + 3
    x = _leaf([2.0, -1.0, 0.5])
    a = x + 1
    b = x * 3
    (a * b).sum().backward()
    np.testing.assert_array_equal(x.grad, [15.0, -3.0, 6.0])
    assert a.grad is None and b.grad is None  # intermediates keep no gradient


def test_nested_diamond_waits_for_all_paths():
    # a = x^2 feeds b = a*a and c = a + b; out = c * x = x^3 + x^5;  d/dx = 3x^2 + 5x^4.
    # a is reached along two paths: its gradient must be complete before it is passed on.
    x = _leaf([2.0, -1.0, 0.5])
    a = x * x
    b = a * a
    c = a + b
    (c * x).sum().backward()
    v = np.array([2.0, -1.0, 0.5])
    np.testing.assert_allclose(x.grad, 3 * v**2 + 5 * v**4, rtol=1e-15)


_DAG_STEP = st.tuples(st.sampled_from(["add", "mul"]), st.integers(0, 99), st.integers(0, 99))


@given(st.lists(_DAG_STEP, min_size=1, max_size=30), st.lists(st.integers(0, 99), max_size=4))
def test_any_graph_of_shared_nodes_gets_the_gradient_forward_mode_gives(steps, extra):
    # Each new node is (a + b) / 2 or sin(a * b) of two earlier nodes (any, often the same
    # ones), so nodes are reached along many paths, in every order of creation; the loss
    # adds the last node and a few earlier ones. Every operation is elementwise, so
    # forward mode with tangent 1 on x (then on y) gives dL/dx (dL/dy) exactly.
    xv, yv = np.array([0.3, -1.2, 0.7]), np.array([1.1, 0.4, -0.5])
    x, y = _leaf(xv), _leaf(yv)
    nodes = [x, y]
    duals = [(xv, np.ones(3), np.zeros(3)), (yv, np.zeros(3), np.ones(3))]  # value, d/dx, d/dy
    for op, i, j in steps:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        (va, ax, ay), (vb, bx, by) = duals[i % len(nodes)], duals[j % len(nodes)]
        if op == "add":
            nodes.append((a + b) * 0.5)
            duals.append(((va + vb) * 0.5, (ax + bx) * 0.5, (ay + by) * 0.5))
        else:
            nodes.append((a * b).sin())
            c = np.cos(va * vb)
            duals.append((np.sin(va * vb), c * (ax * vb + va * bx), c * (ay * vb + va * by)))
    picked = [len(nodes) - 1] + [k % len(nodes) for k in extra]
    loss = nodes[picked[0]].sum()
    for k in picked[1:]:
        loss = loss + nodes[k].sum()
    loss.backward()
    dx = sum(duals[k][1] for k in picked)
    dy = sum(duals[k][2] for k in picked)
    for leaf, expected in ((x, dx), (y, dy)):  # a leaf the loss does not reach keeps None
        got = np.zeros(3) if leaf.grad is None else leaf.grad
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_explicit_grad_weights_the_output():
    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * x
    w = np.array([[1.0, 0.5], [-1.0, 2.0]])
    y.backward(w)
    np.testing.assert_array_equal(x.grad, 2 * x.data * w)


def test_backward_accepts_tensor_grad():
    x = _leaf([1.0, 2.0])
    (x * 3).backward(Tensor(np.array([1.0, -1.0])))
    np.testing.assert_array_equal(x.grad, [3.0, -3.0])


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = _leaf([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [9.0, 13.0])
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_leaf_gradients_are_private_arrays():
    # Add sends the same gradient array to both inputs; accumulating into one leaf's .grad
    # must not change the other's.
    x = _leaf([1.0, 2.0])
    y = _leaf([3.0, 4.0])
    (x + y).sum().backward()
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    assert x.grad.flags.writeable


def test_leaf_grad_does_not_alias_the_grad_argument():
    x = _leaf([1.0, 2.0])
    g = np.array([5.0, 6.0])
    x.backward(g)
    g[:] = 0.0
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


def test_backward_on_a_scalar_leaf():
    x = _leaf(3.0)
    x.backward()
    assert x.grad.shape == ()
    assert x.grad == 1.0


def test_only_tensors_requiring_grad_get_grad():
    x = _leaf([1.0, 2.0])
    c = _leaf([3.0, 4.0], requires_grad=False)
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert c.grad is None


# ----------------------------------------------------------------------------- deep graphs


def test_chain_of_100000_operations_forward_and_backward():
    c = 1.0000001
    x = _leaf([1.0])
    y = x
    for _ in range(50_000):  # 100,000 recorded operations
        y = y * c
        y = y + 0.5
    y.backward()
    # dy/dx = c^50000, accumulated in the same order as backprop multiplies
    expected = 1.0
    for _ in range(50_000):
        expected *= c
    assert x.grad[0] == expected
    assert 1.0049 < expected < 1.0051  # the test really multiplied 50,000 factors


def test_chain_of_100000_operations_can_be_dropped_without_backward():
    x = _leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None


def test_wide_fan_out_to_one_leaf():
    x = _leaf([1.0, 2.0])
    terms = [x * float(k) for k in range(1, 1001)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.sum().backward()
    np.testing.assert_array_equal(x.grad, [500500.0, 500500.0])


# ----------------------------------------------------------------------------- backward errors


def test_backward_on_non_scalar_needs_grad():
    x = _leaf(np.ones((3, 2)))
    y = x * 2
    with pytest.raises(BackwardError, match=re.escape("(3, 2)") + ".*" + re.escape("sum()")):
        y.backward()
    assert x.grad is None


def test_backward_grad_of_wrong_shape():
    x = _leaf(np.ones((3, 2)))
    y = x * 2
    with pytest.raises(ShapeError, match=re.escape("(2, 3)") + ".*" + re.escape("(3, 2)")):
        y.backward(np.ones((2, 3)))
    with pytest.raises(ShapeError):
        y.backward(np.ones(6))


def test_backward_on_tensor_not_requiring_grad():
    t = Tensor(np.array([1.0, 2.0]))
    with pytest.raises(BackwardError, match="requires_grad"):
        (t * 2).sum().backward()
    with pytest.raises(BackwardError, match="requires_grad"):
        Tensor(1.0).backward()


def test_freed_graph_shared_by_another_output():
    x = _leaf([1.0, 2.0])
    h = x * x
    out1 = (h * 2).sum()
    out2 = (h * 3).sum()
    out1.backward()
    with pytest.raises(BackwardError, match="retain_graph"):
        out2.backward()


def test_a_tensor_that_stops_requiring_grad_after_recording_gets_no_gradient():
    # Turned off between recording and backward: no .grad for it, nor through it.
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    h = x * w
    out = (h * w).sum()  # w used twice: x w^2
    w.requires_grad = False
    out.backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad, [9.0, 16.0])
    y = _leaf([1.0, 2.0])
    mid = y * 3.0
    out = (mid * mid).sum()
    mid.requires_grad = False
    out.backward()
    assert y.grad is None


def test_a_refused_second_backward_keeps_what_a_drawing_replays():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(BackwardError, match="second time"):
        y.backward(np.array(5.0))  # refused: the pass that ran started from 1, not 5
    square = trace_backward(y).steps[-1]  # the replay of the pass that ran
    np.testing.assert_array_equal(square.grad_output, [1.0, 1.0])


def test_retain_graph_allows_second_backward_and_doubles_grad():
    x = _leaf([1.0, -3.0])
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [3.0, 27.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 54.0])
    with pytest.raises(BackwardError, match="retain_graph"):
        y.backward()


def test_backward_keeps_the_graph_and_releases_what_only_it_needed():
    x = _leaf([1.0, 2.0])
    h = x * 2
    out = (h * h).sum()
    out.backward()
    # The structure stays for drawing: out's Sum still knows h, h's Mul still knows x.
    square = out.grad_fn.inputs[0]
    assert square.grad_fn.inputs[0] is h and square.grad_fn.inputs[1] is h
    assert h.grad_fn.inputs[0] is x
    np.testing.assert_array_equal(square.data, [4.0, 16.0])
    np.testing.assert_array_equal(h.data, [2.0, 4.0])
    with pytest.raises(BackwardError, match="second time"):
        out.backward()
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])  # d(sum 4 x^2)/dx, added once


@pytest.mark.parametrize("retain", [False, True])
def test_a_finished_backward_holds_no_replaced_value(retain):
    # What only the pass needed is released: once x's value is replaced, nothing of the
    # graph keeps the old array alive (a retained graph does: it may backpropagate again).
    x = _leaf([1.0, 2.0])
    out = ((x * 2) * (x * 2)).sum()
    out.backward(retain_graph=retain)
    old = weakref.ref(x.data)
    x.data = np.array([5.0, 6.0])
    assert (old() is not None) == retain


def test_graph_is_kept_with_retain_graph():
    x = _leaf([1.0, 2.0])
    h = x * 2
    out = (h * h).sum()
    out.backward(retain_graph=True)
    assert out.grad_fn.inputs is not None
    assert h.grad_fn.inputs is not None


class _Spy(Function):
    """The identity, calling ``hook(g)`` in backward and passing on a new gradient array."""

    def forward(self, x, hook=None):
        self.hook = hook
        return x.copy()

    def backward(self, g, out, x):
        self.hook(g)
        return g * 1.0


def test_intermediate_gradients_are_released_during_backward():
    # x -> a = spy(x) -> b = 3a -> c = spy(b) -> sum.  Backprop reaches c's spy first and a's
    # spy last; by then the gradients that flowed into c and b must have been freed.
    refs: list[weakref.ref] = []
    alive_at_end: list[bool] = []

    def record(g):
        refs.append(weakref.ref(g))

    def check(g):
        alive_at_end.extend(r() is not None for r in refs)

    x = _leaf([1.0, 2.0])
    a = _Spy.apply(x, hook=check)
    b = a * 3.0
    c = _Spy.apply(b, hook=record)
    c.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert len(refs) == 1 and alive_at_end == [False]


# ----------------------------------------------------------------------------- gradient mode


def test_no_grad_records_nothing():
    x = _leaf([1.0, 2.0])
    with no_grad():
        assert is_grad_enabled() is False
        y = x * 2 + 1
        z = np.exp(x)
    assert is_grad_enabled() is True
    for t in (y, z):
        assert t.requires_grad is False
        assert t.grad_fn is None
        assert t.is_leaf
    np.testing.assert_array_equal(y.data, [3.0, 5.0])
    with pytest.raises(BackwardError):
        y.sum().backward()


def test_enable_grad_inside_no_grad():
    x = _leaf([1.0, 2.0])
    with no_grad():
        with enable_grad():
            assert is_grad_enabled() is True
            y = x * x
        z = x * x
        assert is_grad_enabled() is False
    assert y.requires_grad and y.grad_fn is not None
    assert z.requires_grad is False
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            raise ZeroDivisionError
    assert is_grad_enabled() is True


def test_no_grad_and_enable_grad_as_decorators():
    x = _leaf([1.0, 2.0])

    @no_grad()
    def infer(t):
        """Docstring kept."""
        return t * 2

    @enable_grad()
    def train(t):
        return t * 2

    y = infer(x)
    assert y.requires_grad is False and y.grad_fn is None
    assert infer.__name__ == "infer" and infer.__doc__ == "Docstring kept."
    assert is_grad_enabled() is True
    with no_grad():
        z = train(x)
        assert is_grad_enabled() is False
    assert z.requires_grad is True


def test_detach_cuts_the_graph():
    x = _leaf([3.0, -2.0])
    y = x.detach() * x  # the first factor is a constant: d/dx = x (not 2x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, -2.0])


def test_requires_grad_propagation():
    a = _leaf([1.0])
    b = _leaf([2.0], requires_grad=False)
    assert (a + b).requires_grad is True
    assert (b + a).requires_grad is True
    assert (b * 2).requires_grad is False
    assert (b + b).grad_fn is None
    assert (2.0 * a).requires_grad is True
    assert np.exp(b).requires_grad is False
    assert Tensor.concatenate([b, a]).requires_grad is True
    assert Tensor.stack([b, b]).requires_grad is False


# ----------------------------------------------------------------------------- higher order


def test_create_graph_cube_second_derivative():
    v = np.array([1.0, 2.0, -3.0])
    x = _leaf(v)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Tensor) and g.requires_grad
    np.testing.assert_array_equal(g.data, 3 * v**2)
    x.zero_grad()
    g.sum().backward()
    assert isinstance(x.grad, np.ndarray)
    np.testing.assert_array_equal(x.grad, 6 * v)


def test_create_graph_exp_second_derivative():
    v = np.array([0.0, 0.5, -1.0])
    x = _leaf(v)
    (x * 2).exp().sum().backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.data, 2 * np.exp(2 * v), rtol=1e-15)
    x.zero_grad()
    g.sum().backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(2 * v), rtol=1e-15)


def test_create_graph_third_derivative():
    x = _leaf(2.0)
    (x**4).backward(create_graph=True)
    g1 = x.grad
    x.zero_grad()
    g1.backward(create_graph=True)
    g2 = x.grad
    x.zero_grad()
    g2.backward()
    assert g1.item() == 32.0  # 4x^3
    assert g2.item() == 48.0  # 12x^2
    assert x.grad == 48.0  # 24x


def test_mixed_partials_with_grad():
    # f = x^2 y^3: df/dx = 2 x y^3, d2f/dx2 = 2 y^3, d2f/dxdy = 6 x y^2
    x = _leaf(1.5)
    y = _leaf(-2.0)
    f = x**2 * y**3
    (gx,) = grad(f, [x], create_graph=True)
    assert isinstance(gx, Tensor)
    assert gx.item() == 2 * 1.5 * (-8.0)
    gxx, gxy = grad(gx, [x, y])
    assert gxx == 2 * (-8.0)
    assert gxy == 6 * 1.5 * 4.0
    assert x.grad is None and y.grad is None


def test_mixed_partial_of_product_via_backward():
    x = _leaf([2.0, 3.0])
    y = _leaf([5.0, 7.0])
    (x * y).sum().backward(create_graph=True)
    gx, gy = x.grad, y.grad
    np.testing.assert_array_equal(gx.data, [5.0, 7.0])
    np.testing.assert_array_equal(gy.data, [2.0, 3.0])
    x.zero_grad()
    y.zero_grad()
    (gx * gx).sum().backward()  # d/dy (y^2) = 2y; nothing reaches x
    np.testing.assert_array_equal(y.grad, [10.0, 14.0])
    assert x.grad is None


def test_grad_does_not_touch_dot_grad():
    x = _leaf([1.0, 2.0])
    y = _leaf([3.0, 4.0])
    x.grad = np.array([100.0, 100.0])
    f = (x * x * y).sum()
    gx, gy = grad(f, [x, y])
    assert type(gx) is np.ndarray and type(gy) is np.ndarray
    np.testing.assert_array_equal(gx, [6.0, 16.0])
    np.testing.assert_array_equal(gy, [1.0, 4.0])
    np.testing.assert_array_equal(x.grad, [100.0, 100.0])
    assert y.grad is None


def test_grad_of_unused_input_is_zeros():
    x = _leaf([1.0, 2.0])
    unused = _leaf([[1.0, 2.0, 3.0]])
    gx, gu = grad((x * x).sum(), [x, unused])
    np.testing.assert_array_equal(gx, [2.0, 4.0])
    np.testing.assert_array_equal(gu, np.zeros((1, 3)))


def test_grad_with_respect_to_an_intermediate():
    x = _leaf([1.0, 2.0])
    h = x * 3
    (gh,) = grad((h * h).sum(), [h])
    np.testing.assert_array_equal(gh, [6.0, 12.0])
    assert h.grad is None and x.grad is None


def test_grad_rejects_inputs_not_requiring_grad():
    x = _leaf([1.0, 2.0])
    c = _leaf([1.0, 2.0], requires_grad=False)
    with pytest.raises(BackwardError, match="input 1"):
        grad((x * c).sum(), [x, c])


def test_retain_grad_keeps_intermediate_gradient():
    x = _leaf([1.0, -2.0])
    h = x * 3
    assert h.retain_grad() is h  # chainable, as in PyTorch
    k = h * 2  # not retained
    (k * h).sum().backward()  # out = 2 h^2: d/dh = 4h, d/dx = 12 h = 36 x
    np.testing.assert_array_equal(h.grad, [12.0, -24.0])
    np.testing.assert_array_equal(x.grad, [36.0, -72.0])
    assert k.grad is None


# ----------------------------------------------------------------------------- broadcasting


def test_broadcast_against_constant_array():
    x = _leaf([1.0, 2.0, 3.0])
    c = np.arange(6.0).reshape(2, 3)
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 5.0, 7.0])


# ----------------------------------------------------------------------------- dtype


def test_float32_leaf_with_float64_constant_gets_float32_grad():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    c = np.array([0.5, 4.0], dtype=np.float64)
    y = (x * c).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.array([0.5, 4.0], dtype=np.float32))


def test_float32_input_gets_float32_gradient_from_grad_and_create_graph():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    c = np.array([0.5, 4.0], dtype=np.float64)
    (gx,) = grad((x * c).sum(), [x])
    assert gx.dtype == np.float32
    np.testing.assert_array_equal(gx, [0.5, 4.0])
    h = x * 1.0
    h.retain_grad()
    (h * c).sum().backward(create_graph=True)
    assert h.grad.dtype == np.float32
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [0.5, 4.0])


def test_mixed_precision_leaves_keep_their_own_grad_dtype():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = Tensor(np.array([3.0, 4.0], dtype=np.float64), requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    np.testing.assert_array_equal(y.grad, [1.0, 2.0])


def test_default_float32_graph_gives_float32_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x * 0.5).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_replay_backward_reports_each_step_and_writes_no_gradient():
    from tinygrad_edu.autograd import replay_backward

    x = _leaf([1.0, 2.0])
    h = x * 3.0
    out = (h * h).sum()  # d/dx sum 9 x^2 = 18 x
    out.backward()
    np.testing.assert_array_equal(x.grad, [18.0, 36.0])
    seen = []
    replay_backward(out, np.ones(()), lambda node, fn, g, in_grads: seen.append(
        (fn.name, np.array(g).tolist())))
    assert seen == [("Sum", 1.0), ("Mul", [1.0, 1.0]), ("Mul", [6.0, 12.0])]
    np.testing.assert_array_equal(x.grad, [18.0, 36.0])  # nothing added
    assert h.grad is None
    with pytest.raises(BackwardError, match="second time"):  # still released for backward
        out.backward()
    # Only the first steps, for a partial look at a large graph.
    seen.clear()
    replay_backward(out, np.ones(()), lambda node, fn, g, in_grads: seen.append(fn.name),
                    steps=2)
    assert seen == ["Sum", "Mul"]
