"""layouts: which buffers of a compiled step may be column-major, and the timed choice."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_jit import training_step
from tinygrad_edu import InvalidArgumentError, jit, layouts
from tinygrad_edu.autograd import outside
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP, BatchNorm1d, Linear, ReLU, Sequential
from tinygrad_edu.optim import SGD


def big(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


SOURCE = """def replay(a0, a1):
    np.matmul(d0, w0T_1, out=b0)
    np.add(b0, w1, out=b0)
    np.maximum(b0, k2, out=b0)  # k2 = 0
    np.matmul(b0, w2T_3, out=b1)
    t1 = b1.max(axis=-1, keepdims=True)
    np.matmul(b2, w4, out=b3)
    t0 = b3.T
    np.matmul(t0, b0, out=b4)
    P0._grad = b4
    np.matmul(d0, w0T_1, out=b5)
    np.matmul(d0, w0T_1, out=b6)
    np.greater(b6, k11, out=b7)
    return _own(b5)
"""


def test_candidates_are_the_products_outputs_that_only_products_and_ufuncs_touch():
    bufs = {f"b{i}": big(128, 512) for i in range(8)}
    bufs["b7"] = big(128, 512, dtype=bool)
    # b1: reduced; b3: viewed (.T); b4: becomes a .grad; b5: returned; b2: never a product's
    # output; b7: a bool mask written by a ufunc. b0 and b6 remain, in the order written.
    assert layouts.candidates(SOURCE, bufs) == ["b0", "b6"]


def test_candidates_skip_small_and_non_float_and_non_matrix_buffers():
    src = "def replay(a0):\n" + "".join(
        f"    np.matmul(d0, w, out=b{i})\n" for i in range(4))
    bufs = {"b0": big(128, 128), "b1": big(127, 128), "b2": big(128, 128, dtype=np.int64),
            "b3": big(4, 64, 64)}
    assert 128 * 128 >= layouts.MIN_ELEMENTS > 127 * 128
    assert layouts.candidates(src, bufs) == ["b0"]


def test_choose_keeps_a_layout_only_when_it_is_faster_by_the_margin():
    bufs = {"b0": big(8, 4), "b1": big(8, 4), "b2": big(8, 4)}

    def trial():
        t = 0.001  # seconds
        if bufs["b0"].flags.f_contiguous:
            t *= 0.90  # 10% faster: kept
        if bufs["b1"].flags.f_contiguous:
            t *= 0.995  # 0.5% faster: under the margin
        if bufs["b2"].flags.f_contiguous:
            t *= 1.2  # slower
        return t

    assert layouts.choose(["b0", "b1", "b2"], bufs, trial) == ["b0"]
    assert bufs["b0"].flags.f_contiguous and bufs["b0"].shape == (8, 4)
    assert bufs["b1"].flags.c_contiguous and bufs["b2"].flags.c_contiguous


def wide_mlp_step(seed):
    """A float32 MLP whose first layer's output (128 x 512 for a batch of 128) is large
    enough for its buffer to be tried column-major, and its training step."""
    model = MLP([64, 512, 64, 10], activation="relu", rng=seed)
    return model, training_step(model, SGD(model.parameters(), lr=0.05), cross_entropy)


@pytest.mark.parametrize("keep", [layouts.KEEP, float("inf")])
def test_a_replay_with_chosen_layouts_equals_eager_bit_for_bit(keep, monkeypatch):
    # keep=inf takes every candidate column-major, faster or not: then only the run beside
    # eager mode decides, and whatever it decides, the replays give eager's bits.
    monkeypatch.setattr(layouts, "KEEP", keep)
    m1, eager = wide_mlp_step(3)
    m2, step = wide_mlp_step(3)
    step = jit(step)
    rng = np.random.default_rng(5)
    for _ in range(6):
        x = rng.normal(size=(128, 64)).astype(np.float32)
        y = rng.integers(0, 10, 128)
        l1, l2 = eager(x, y), step(x, y)
        assert np.array_equal(l1.data, l2.data)
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert np.array_equal(p.data, q.data)
            assert np.array_equal(p.grad, q.grad)
    assert step.replays == 4


def test_a_first_replay_refused_by_the_optimiser_changes_nothing_and_later_ones_replay():
    m1, eager = wide_mlp_step(4)
    m2, step = wide_mlp_step(4)
    step = jit(step)
    rng = np.random.default_rng(6)
    batches = [(rng.normal(size=(128, 64)).astype(np.float32), rng.integers(0, 10, 128))
               for _ in range(4)]
    bad = batches[2][0].copy()
    bad[0, 0] = np.inf  # every gradient of the first layer becomes inf or NaN
    batches[2] = (bad, batches[2][1])
    for i, (x, y) in enumerate(batches):
        if i == 2:
            with np.errstate(all="ignore"):
                for f in (eager, step):
                    with pytest.raises(InvalidArgumentError, match="inf or NaN"):
                        f(x, y)
        else:
            assert np.array_equal(eager(x, y).data, step(x, y).data)
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert np.array_equal(p.data, q.data)
    assert step.replays == 2


@pytest.mark.parametrize("tune", [True, False])
def test_tune_layouts_false_replays_from_the_first_replay_on(tune, monkeypatch):
    # With every candidate taken (KEEP=inf), a tuned first replay checks its choice by
    # running the step eagerly once more; without tuning, the step runs eagerly only for
    # its two recordings.
    monkeypatch.setattr(layouts, "KEEP", float("inf"))
    model, inner = wide_mlp_step(7)
    calls = []

    def counted(x, y):
        calls.append(1)
        return inner(x, y)

    step = jit(counted, tune_layouts=tune)
    rng = np.random.default_rng(8)
    for _ in range(5):
        step(rng.normal(size=(128, 64)).astype(np.float32), rng.integers(0, 10, 128))
    assert len(calls) == (3 if tune else 2)
    assert "column-major" not in step.program or tune


def test_batchnorm_statistics_are_not_updated_by_the_layout_trials(monkeypatch):
    # The first replay runs the step many times from a saved state; BatchNorm's
    # running statistics, written by an outside call, are restored with the parameters.
    monkeypatch.setattr(layouts, "KEEP", float("inf"))

    def make():
        model = Sequential(Linear(64, 512, rng=1), ReLU(), Linear(512, 32, rng=2),
                           BatchNorm1d(32), ReLU(), Linear(32, 10, rng=3))
        return model, training_step(model, SGD(model.parameters(), lr=0.05), cross_entropy)

    (m1, eager), (m2, step) = make(), make()
    step = jit(step)
    rng = np.random.default_rng(9)
    for _ in range(5):
        x = rng.normal(size=(128, 64)).astype(np.float32)
        y = rng.integers(0, 10, 128)
        assert np.array_equal(eager(x, y).data, step(x, y).data)
    assert np.array_equal(m1[3].running_mean, m2[3].running_mean)
    assert np.array_equal(m1[3].running_var, m2[3].running_var)
    assert not np.allclose(m2[3].running_mean, 0)


def test_a_step_with_an_outside_call_of_unknown_effects_is_not_tried(monkeypatch):
    monkeypatch.setattr(layouts, "KEEP", float("inf"))
    model, inner = wide_mlp_step(10)
    seen = []

    def note(x):  # a side effect the saved state cannot undo
        seen.append(1)
        return x

    def step(x, y):
        return inner(outside(note, x), y)

    step = jit(step)
    rng = np.random.default_rng(11)
    for _ in range(5):
        step(rng.normal(size=(128, 64)).astype(np.float32), rng.integers(0, 10, 128))
    assert len(seen) == 5 and step.replays == 3


def test_choose_tries_nothing_for_a_step_too_slow_for_its_budget():
    bufs = {"b0": big(8, 4), "b1": big(8, 4)}
    calls = []

    def trial():  # 0.2 s a run: 2 buffers x (1 + 2 layouts x 3 rounds) runs take 2.8 s
        calls.append(1)
        return 0.1 if bufs["b0"].flags.f_contiguous else 0.2

    assert layouts.choose(["b0", "b1"], bufs, trial, budget=2.5) == []
    assert len(calls) == 1 and bufs["b0"].flags.c_contiguous
    assert layouts.choose(["b0", "b1"], bufs, trial, budget=3.0) == ["b0"]
    assert len(calls) == 1 + 1 + 2 * (1 + 2 * 3)  # measuring, then per buffer a warm-up run
    # and three rounds of two
