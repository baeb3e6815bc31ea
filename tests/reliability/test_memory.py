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

from tinygrad_edu import BackwardError, Tensor, no_grad
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


def _weakrefs(root: Tensor):
    tensors, functions = graph_of(root)
    arrays = [t.data for t in tensors]
    assert len(tensors) >= 5 and len(functions) >= 5  # a real graph, not a vacuous check
    return [weakref.ref(o) for o in (*tensors, *functions, *arrays)]


def test_the_graph_outlives_backward_and_dies_with_its_output():
    model = MLP([4, 16, 16, 3], rng=0)  # 5 nodes before the loss (its mean is one node)
    X, y = _data()
    with gc_disabled():
        loss = cross_entropy(model(X), y)
        refs = _weakrefs(loss)
        assert all(r() is not None for r in refs)  # the recorded graph keeps them alive
        loss.backward()
        # Kept for drawing while loss lives; only the backward's own references are gone.
        assert all(r() is not None for r in refs)
        with pytest.raises(BackwardError, match="second time"):  # what only it needed is gone
            loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        del loss  # reference counting alone frees the whole graph: it holds no cycles
        dead = [r() is None for r in refs]
        assert all(dead), f"{dead.count(False)} of {len(refs)} graph objects are still alive"


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
