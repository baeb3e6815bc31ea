"""Memory: the graph lives as long as its output, long training stays flat, no_grad records
nothing.

After backward() the graph's structure and values stay while the output is referenced (so it
can be drawn), and "released" is checked strictly: with the cyclic garbage collector switched
off, the intermediate tensors, their Functions and their arrays must die by reference
counting alone the moment the user drops the output, which proves the graph holds no
reference cycles.
"""

import contextlib
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

from tinygrad_edu import BackwardError, InPlaceError, Tensor, no_grad
from tinygrad_edu.autograd import Function, grad, topological_sort
from tinygrad_edu.losses import cross_entropy, mse_loss
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD


@contextlib.contextmanager
def gc_disabled():
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def graph_of(root: Tensor) -> tuple[list[Tensor], list[Function]]:
    """Every non-leaf tensor and every Function recorded below ``root`` (root excluded)."""
    inner = [t for t in topological_sort(root, freed_ok=True)
             if t.grad_fn is not None and t is not root]
    return inner, [t.grad_fn for t in inner]


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 3, 8)


def _weakrefs(root: Tensor, arrays: bool = True):
    tensors, functions = graph_of(root)
    values = [t.data for t in tensors] if arrays else []
    assert len(tensors) >= 5 and len(functions) >= 5  # a real graph, not a vacuous check
    return [weakref.ref(o) for o in (*tensors, *functions, *values)]


def _assert_values(root: Tensor, values: list[np.ndarray]) -> None:
    for t, value in zip(graph_of(root)[0], values, strict=True):
        np.testing.assert_array_equal(t.data, value, strict=True)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_graph_outlives_backward_and_dies_with_its_output(activation):
    model = MLP([4, 16, 16, 3], activation=activation, rng=0)  # 5 nodes before the loss
    X, y = _data()
    with gc_disabled():
        loss = cross_entropy(model(X), y)
        refs = _weakrefs(loss)
        assert all(r() is not None for r in refs)  # the recorded graph keeps them alive
        values = [t.data.copy() for t in graph_of(loss)[0]]
        del refs[-len(values):]  # ReLU outputs give their arrays back (see the next tests)
        loss.backward()
        # Kept for drawing while loss lives; only the backward's own references are gone.
        assert all(r() is not None for r in refs)
        _assert_values(loss, values)  # every value, bit for bit
        refs += _weakrefs(loss)[-len(values):]  # the arrays as they are now
        with pytest.raises(BackwardError, match="second time"):  # what only it needed is gone
            loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        del loss  # reference counting alone frees the whole graph: it holds no cycles
        dead = [r() is None for r in refs]
        assert all(dead), f"{dead.count(False)} of {len(refs)} graph objects are still alive"


def _relu_graph(dtype=np.float64):
    """z = x @ w, h = relu(z), loss = sum(h * h): h is a ReLU of an operation's output."""
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((6, 4)).astype(dtype))
    w = Tensor(rng.standard_normal((4, 5)).astype(dtype), requires_grad=True)
    z = x @ w
    h = z.relu()
    return x, w, h, (h * h).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_relu_output_is_released_by_backward_and_computed_again_when_read(dtype):
    x, w, h, loss = _relu_graph(dtype)
    recorded = h.data.copy()
    array = weakref.ref(h.data)
    loss.backward()
    assert array() is None  # its memory went back after the pass's last use of it
    np.testing.assert_array_equal(h.data, recorded, strict=True)  # the same bits
    assert h.data is h.data  # computed once, then kept
    np.testing.assert_allclose(w.grad, x.data.T @ (2 * recorded), rtol=1e-6)


@pytest.mark.parametrize(
    "use",
    [
        lambda h: h * 2.0,  # two inputs, the released one first
        lambda h: 1.0 - h,  # two inputs, the released one second
        lambda h: h.tanh(),  # one input
        lambda h: h.sum(axis=0),  # with parameters
        lambda h: h.linear(Tensor(np.ones((2, 5))), Tensor(np.ones(2))),  # three inputs
    ],
    ids=["binary", "reflected", "unary", "parameters", "three inputs"],
)
def test_an_operation_on_a_released_value_computes_it_again(use):
    x, w, h, loss = _relu_graph()
    expected = use(Tensor(h.data.copy())).data
    array = weakref.ref(h.data)
    loss.backward()
    assert array() is None
    out = use(h)  # reads h's value, released by the pass, computed again first
    np.testing.assert_array_equal(out.data, expected, strict=True)
    assert out.requires_grad  # and recorded as usual (h requires grad through w)


def test_a_released_value_is_drawn_and_traced_with_its_numbers():
    from tinygrad_edu.viz import draw_graph, trace_backward

    x, w, h, loss = _relu_graph()
    loss.backward(retain_graph=True)  # every array kept
    kept = draw_graph(loss).source
    x, w, h, loss = _relu_graph()
    loss.backward()
    w_grad = w.grad.copy()
    assert draw_graph(loss).source == kept  # h computed again to be drawn: the same picture
    steps = list(trace_backward(loss))  # a trace of a finished pass: nothing added twice
    assert [s.op for s in steps] == ["Sum", "Mul", "Relu", "Matmul"]
    np.testing.assert_array_equal(w.grad, w_grad)


def test_a_value_someone_holds_is_kept_and_retain_graph_keeps_every_value():
    x, w, h, loss = _relu_graph()
    held = h.data
    loss.backward()
    assert h.data is held  # releasing it would free nothing
    x, w, h, loss = _relu_graph()
    array = weakref.ref(h.data)
    loss.backward(retain_graph=True)
    assert array() is not None
    loss.backward()  # the second pass runs with every value and adds the same gradient
    np.testing.assert_allclose(w.grad, 2 * (x.data.T @ (2 * h.data)), rtol=1e-12)


def test_a_refused_pass_that_released_values_can_run_again_once_fixed():
    from tinygrad_edu import ShapeError

    x, w, h, other = _relu_graph()
    del other  # its graph would hold h's array (and keep it from being released)
    b = Tensor(np.ones(3), requires_grad=True)
    (b * b).sum().backward()  # b.grad has shape (3,) ...
    b.data = np.ones(5)  # ... and then b's data another shape
    loss = ((h * h).sum(axis=0) * b).sum()
    recorded = h.data.copy()
    array = weakref.ref(h.data)
    with pytest.raises(ShapeError, match="already has a .grad"):
        loss.backward()  # refused at the end, after h was released
    assert array() is None
    b.grad = None
    loss.backward()  # the graph was given back whole, h computed again where released
    np.testing.assert_allclose(w.grad, x.data.T @ (2 * recorded), rtol=1e-12)
    np.testing.assert_array_equal(h.data, recorded, strict=True)


def test_a_chain_of_released_values_is_computed_again_from_its_start():
    x = Tensor(np.linspace(-2, 2, 9).reshape(3, 3), requires_grad=True)
    z = x * 3.0
    h1 = z.relu()
    h2 = (h1 - 1.0).relu()
    h3 = h2.relu()
    expected = [t.data.copy() for t in (h1, h2, h3)]
    arrays = [weakref.ref(t.data) for t in (h2, h3)]
    h3.sum().backward()
    assert all(r() is None for r in arrays)
    for t, value in zip((h3, h2, h1), expected[::-1]):  # the last first: its inputs too
        np.testing.assert_array_equal(t.data, value, strict=True)
    np.testing.assert_array_equal(x.grad, 3.0 * (x.data * 3.0 > 1.0))


def test_a_released_value_whose_input_changed_in_place_raises_instead_of_lying():
    x, w, h, loss = _relu_graph()
    loss.backward()
    z = h.grad_fn.inputs[0]
    with no_grad():
        z -= 1.0
    with pytest.raises(InPlaceError, match=r"Relu's output was released.*input 0 \(shape "
                                           r"\(6, 5\)\) changed in place since"):
        print(h.data)
    with pytest.raises(InPlaceError, match="retain_graph=True"):
        h + 1.0  # an operation reads the value the same way


def test_w3s_training_step_peaks_within_1_3x_the_hand_written_numpy_step():
    """The benchmark's W3 (MLP 784-512-256-10 ReLU, batch 128, float32), as ``make bench``
    measures it: the step's peak traced memory, gradients included, against numpy by hand.

    Without the release of ReLU outputs after backward this reads 1.33x.
    """
    from benchmarks.numpy_reference import NumpyMLP
    from benchmarks.ours import EngineMLP
    from benchmarks.timing import peak_traced_memory
    from benchmarks.workloads import W3, make_mlp_problem

    problem = make_mlp_problem(W3, seed=0)
    peaks = []
    for impl in (EngineMLP(W3, problem), NumpyMLP(W3, problem)):
        impl.step()  # the first step makes what later steps reuse
        peaks.append(peak_traced_memory(impl.step, 2, before=impl.release_gradients))
    assert peaks[0] <= 1.3 * peaks[1], f"peak memory {peaks[0] / peaks[1]:.2f}x numpy's"



def test_before_backward_the_graph_lives_exactly_as_long_as_its_output():
    model = MLP([4, 16, 16, 3], rng=0)
    X, y = _data()
    with gc_disabled():
        loss = cross_entropy(model(X), y)
        refs = _weakrefs(loss)
        del loss  # never differentiated: dropping the output frees the whole graph
        assert all(r() is None for r in refs)


def test_grad_releases_the_graph_too():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    with gc_disabled():
        h = (x * x).tanh()
        out = ((h @ x.T).exp() + 1.0).log().sum()
        refs = _weakrefs(out)
        del h
        grad(out, [x])
        assert all(r() is not None for r in refs)  # drawable until out is dropped
        del out
        assert all(r() is None for r in refs)


def test_retain_graph_keeps_it_until_the_last_backward():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    with gc_disabled():
        out = (((x * x).tanh() @ x.T).exp() + 1.0).log().sum()
        refs = _weakrefs(out)
        out.backward(retain_graph=True)
        assert all(r() is not None for r in refs)
        out.backward()
        assert all(r() is not None for r in refs)
        del out
        assert all(r() is None for r in refs)


def test_no_grad_inference_records_nothing():
    model = MLP([4, 16, 3], rng=0)
    X, _ = _data()
    with gc_disabled():
        with no_grad():
            x = Tensor(X)
            hidden = model.layers[0](x)
            out = model.layers[2](model.layers[1](hidden))
        assert out.grad_fn is None and not out.requires_grad
        assert hidden.grad_fn is None
        # No Function refers to the weights or the input...
        for obj in (*model.parameters(), x):
            holders = [r for r in gc.get_referrers(obj) if isinstance(r, Function)]
            assert holders == []
        del obj
        # ...and an intermediate dies as soon as it is dropped, although the output lives.
        ref_hidden, ref_input = weakref.ref(hidden), weakref.ref(x)
        del hidden, x
        assert ref_hidden() is None and ref_input() is None
    np.testing.assert_allclose(out.data, model(X).data, rtol=1e-6)


def _train_step(model, opt, X, T):
    opt.zero_grad()
    loss = mse_loss(model(X), T)
    loss.backward()
    opt.step()
    return loss


def test_ten_thousand_training_steps_keep_memory_flat():
    """tracemalloc's current memory after step 1,000 and after step 10,000 differ by < 200 KB.

    (9,000 steps: a leak of 23 bytes per step would already fail.) The cyclic collector is
    off, so memory must stay flat through reference counting alone.
    """
    X, y = _data()
    T = np.eye(3, dtype=np.float32)[y]
    model = MLP([4, 16, 3], rng=0)
    opt = SGD(model.parameters(), lr=0.05)
    first = _train_step(model, opt, X, T).item()
    with gc_disabled():
        for _ in range(999):
            _train_step(model, opt, X, T)
        tracemalloc.start()  # allocations before now are not traced: only growth counts
        try:
            at_1000 = tracemalloc.get_traced_memory()[0]
            for _ in range(9000):
                loss = _train_step(model, opt, X, T)
            at_10000 = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert at_10000 - at_1000 < 200_000, f"grew by {at_10000 - at_1000} bytes"
    assert loss.item() < first / 2  # it did train


@pytest.mark.parametrize("keep", ["losses", "graphs"])
def test_the_memory_measurement_sees_a_leak(keep):
    """The same measurement is not blind: keeping every step's loss (and graph) shows up."""
    X, y = _data()
    T = np.eye(3, dtype=np.float32)[y]
    model = MLP([4, 16, 3], rng=0)
    opt = SGD(model.parameters(), lr=0.05)
    kept = []
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            opt.zero_grad()
            loss = mse_loss(model(X), T)
            loss.backward(retain_graph=(keep == "graphs"))
            opt.step()
            kept.append(loss)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown > (20_000 if keep == "losses" else 200_000), grown
