"""The benchmark suite computes the right things: correctness only, never timing.

The numpy reference is checked on its own (known values, central differences in float64), the
engine is checked against it on every MLP workload (this is also an end-to-end test of the
engine: MLP, losses, SGD), the chain both ways, the correctness gate must catch a wrong
implementation, and the runner must produce a complete report and JSON file in quick mode.
"""

import dataclasses
import doctest
import importlib
import json
import statistics
import tracemalloc

import numpy as np
import pytest

from benchmarks import agreement, instructions, run
from benchmarks.agreement import AgreementError, check_chain, check_mlp, require
from benchmarks.numpy_reference import NumpyChain, NumpyMLP
from benchmarks.ours import EngineChain, EngineMLP
from benchmarks.report import environment, format_header, format_table
from benchmarks.timing import (
    Budget,
    every_call,
    interleaved_rounds,
    interleaved_times,
    paired_ratio,
    peak_traced_memory,
    summarize,
    time_calls,
)
from benchmarks.workloads import (
    CHAIN_ADD,
    CHAIN_SCALE,
    DEEP_CHAIN,
    MEMORY_TARGET_RATIO,
    MLP_WORKLOADS,
    W1,
    W2,
    W3,
    W4,
    WORKLOADS,
    ChainWorkload,
    MLPProblem,
    MLPWorkload,
    make_chain_problem,
    make_mlp_problem,
)
from tinygrad_edu.errors import InvalidArgumentError

# A run of the whole suite that takes well under a second: every workload, a handful of steps.
TINY = dataclasses.replace(
    run.QUICK,
    warmup=1,
    min_calls=2,
    min_time=0.0,
    max_calls=2,
    rounds=1,
    chain_ops=400,
    chain_repeats=1,
    memory_repeats=1,
)
TINY_ARGS = [
    "--quick", "--no-torch", "--no-jax", "--warmup", "1", "--min-steps", "2", "--min-time", "0",
    "--max-steps", "2", "--chain-ops", "400",
]  # fmt: skip


# ----------------------------------------------------------------------------- workloads


def test_workloads_are_the_issue_s_with_its_targets():
    assert [w.sizes for w in (W1, W2, W3)] == [(2, 16, 16, 1), (64, 128, 10), (784, 512, 256, 10)]
    assert [w.activation for w in (W1, W2, W3)] == ["tanh", "relu", "relu"]
    assert [w.loss for w in (W1, W2, W3)] == ["mse", "cross_entropy", "cross_entropy"]
    assert [w.batch for w in (W1, W2, W3)] == [32, 64, 128]
    assert [w.target_ratio for w in (W1, W2, W3)] == [2.6, 2.0, 1.08]  # issue 14's
    assert (W4.n_ops, W4.size, W4.unit, W4.target) == (1000, 16, "us/op", 3.3)  # a ratio
    assert (DEEP_CHAIN.n_ops, DEEP_CHAIN.unit, DEEP_CHAIN.target) == (100_000, "s", 1.0)
    assert MEMORY_TARGET_RATIO == 1.3
    assert list(WORKLOADS) == ["W1", "W2", "W3", "W4", "chain", "CNN"]


@pytest.mark.parametrize("spec", list(MLP_WORKLOADS.values()), ids=list(MLP_WORKLOADS))
def test_mlp_problem_is_float32_reproducible_and_shaped(spec):
    a, b = make_mlp_problem(spec, seed=3), make_mlp_problem(spec, seed=3)
    other = make_mlp_problem(spec, seed=4)
    assert a.x.shape == (spec.batch, spec.sizes[0]) and a.x.dtype == np.float32
    assert [p.dtype for p in a.params] == [np.float32] * len(a.params)
    shapes = [
        s for n_in, n_out in zip(spec.sizes, spec.sizes[1:]) for s in ((n_out, n_in), (n_out,))
    ]
    assert [p.shape for p in a.params] == shapes
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.x, other.x)
    if spec.loss == "cross_entropy":
        assert a.target.shape == (spec.batch,) and a.target.dtype == np.int64
        assert 0 <= a.target.min() and a.target.max() < spec.sizes[-1]
    else:
        assert a.target.shape == (spec.batch, spec.sizes[-1]) and a.target.dtype == np.float32


def test_chain_length_must_be_whole_cycles():
    with pytest.raises(InvalidArgumentError, match="multiple of 4"):
        ChainWorkload("x", "x", n_ops=1002, size=16, unit="s", target=1.0)


# ----------------------------------------------------------------------------- numpy reference


def _float64(problem: MLPProblem) -> MLPProblem:
    return MLPProblem(
        x=problem.x.astype(np.float64),
        target=problem.target if problem.target.dtype.kind == "i" else problem.target.astype(float),
        params=[p.astype(np.float64) for p in problem.params],
    )


def _reference_loss(ref: NumpyMLP) -> float:
    acts = ref.forward()
    loss, _ = ref.loss_and_output_gradient(acts.pop())
    return float(loss)


SMALL = [
    MLPWorkload("s1", "tanh mse", (3, 4, 2), "tanh", "mse", batch=5, lr=0.1, target_ratio=1.0),
    MLPWorkload("s2", "relu ce", (3, 5, 4, 3), "relu", "cross_entropy", 6, 0.1, 1.0),
]


@pytest.mark.parametrize("spec", SMALL, ids=[s.key for s in SMALL])
def test_numpy_reference_gradients_match_central_differences(spec):
    # The hand-written formulas alone, in float64: no engine involved.
    ref = NumpyMLP(spec, _float64(make_mlp_problem(spec, seed=1)))
    acts = ref.forward()
    _, dz = ref.loss_and_output_gradient(acts.pop())
    ref.backward(acts, dz)
    eps = 1e-6
    for p, g in zip(ref.parameters(), ref.gradients()):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = _reference_loss(ref)
            p[i] = old - eps
            down = _reference_loss(ref)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        assert np.abs(g).max() > 1e-4  # a real gradient, not vacuously zero
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_numpy_reference_known_values_for_zero_weights():
    # All-zero weights and biases: the output is 0, so L = mean(y^2), dL/db_last = -2 mean(y),
    # and the last layer's bias moves by +eta 2 mean(y); every other gradient is zero.
    problem = make_mlp_problem(W1, seed=0)
    problem.params = [np.zeros_like(p) for p in problem.params]
    ref = NumpyMLP(W1, problem)
    ref.step()
    y = problem.target.astype(np.float64)
    assert ref.loss() == pytest.approx(np.mean(y**2), rel=1e-6)
    grads = ref.gradients()
    np.testing.assert_allclose(grads[-1], [-2 * y.mean()], rtol=1e-5)
    for g in grads[:-1]:
        np.testing.assert_array_equal(g, 0.0)
    np.testing.assert_allclose(ref.parameters()[-1], [W1.lr * 2 * y.mean()], rtol=1e-5)


def test_numpy_reference_cross_entropy_of_uniform_scores_is_log_c():
    # Zero weights give equal scores: L = log C exactly, dL/dz = (1/C - onehot) / N.
    problem = make_mlp_problem(W2, seed=0)
    problem.params = [np.zeros_like(p) for p in problem.params]
    ref = NumpyMLP(W2, problem)
    acts = ref.forward()
    loss, dz = ref.loss_and_output_gradient(acts.pop())
    assert float(loss) == pytest.approx(np.log(10), rel=1e-6)
    onehot = np.eye(10)[problem.target]
    np.testing.assert_allclose(dz, (0.1 - onehot) / W2.batch, rtol=1e-5, atol=1e-8)


def test_numpy_reference_leaves_the_problem_untouched():
    problem = make_mlp_problem(W1, seed=0)
    before = [p.copy() for p in problem.params]
    ref = NumpyMLP(W1, problem)
    ref.step()
    for p, q in zip(problem.params, before):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(ref.parameters()[0], before[0])


# ----------------------------------------------------------------------------- engine vs numpy


@pytest.mark.parametrize("spec", list(MLP_WORKLOADS.values()), ids=list(MLP_WORKLOADS))
def test_engine_matches_numpy_reference_for_three_steps(spec):
    problem = make_mlp_problem(spec, seed=0)
    ref, ours = NumpyMLP(spec, problem), EngineMLP(spec, problem)
    losses = []
    for _ in range(3):
        ref.step()
        ours.step()
        losses.append(ref.loss())
        assert ours.loss() == pytest.approx(ref.loss(), rel=1e-5)
        for g_ours, g_ref in zip(ours.gradients(), ref.gradients(), strict=True):
            assert g_ours.dtype == np.float32
            np.testing.assert_allclose(g_ours, g_ref, rtol=1e-4, atol=1e-6)
        for p_ours, p_ref in zip(ours.parameters(), ref.parameters(), strict=True):
            assert p_ours.dtype == np.float32
            np.testing.assert_allclose(p_ours, p_ref, rtol=1e-4, atol=1e-6)
    # Not vacuous: SGD moved the parameters and lowered the loss on this fixed batch.
    assert losses[2] < losses[0]
    assert not np.allclose(ours.parameters()[0], problem.params[0], rtol=0, atol=1e-7)
    # The correctness gate says the same.
    result = check_mlp(spec, problem, EngineMLP, steps=3)
    assert result.ok, result.problems
    assert 0 <= result.max_rel_diff < 1e-4


def _chain_by_formula(x0: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """L = sum(s tanh(x0 w + c)) for one cycle, and its gradients, written out."""
    x0, w = x0.astype(np.float64), w.astype(np.float64)
    t = np.tanh(x0 * w + CHAIN_ADD)
    d = CHAIN_SCALE * (1 - t * t)
    return float(np.sum(CHAIN_SCALE * t)), d * w, d * x0


@pytest.mark.parametrize("impl", [NumpyChain, EngineChain])
def test_one_cycle_of_the_chain_matches_the_formula(impl):
    problem = make_chain_problem(W4, seed=2)
    chain = impl(4, problem)
    chain.run()
    value, gx, gw = _chain_by_formula(problem.x0, problem.w)
    assert chain.value() == pytest.approx(value, rel=1e-6)
    np.testing.assert_allclose(chain.gradients()[0], gx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(chain.gradients()[1], gw, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n_ops", [8, 1000])
def test_chain_gives_the_same_result_both_ways(n_ops):
    problem = make_chain_problem(W4, seed=0)
    ref, ours = NumpyChain(n_ops, problem), EngineChain(n_ops, problem)
    ref.run()
    ours.run()
    ours.run()  # a second run starts afresh: gradients do not pile up across runs
    assert ours.value() == pytest.approx(ref.value(), rel=1e-6)
    for g_ours, g_ref in zip(ours.gradients(), ref.gradients(), strict=True):
        assert g_ours.dtype == np.float32
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-4, atol=1e-6)
    assert np.abs(ref.gradients()[1]).max() > 0.01  # dL/dw is substantial at any length
    if n_ops == 8:
        assert np.abs(ref.gradients()[0]).max() > 1e-3  # short enough for dL/dx0 to survive
    assert check_chain("W4", n_ops, problem, EngineChain).ok


# ----------------------------------------------------------------------------- the gate


class _WrongLearningRate(EngineMLP):
    """The engine with a doubled learning rate: the same gradients, different parameters."""

    def __init__(self, spec, problem):
        super().__init__(spec, problem)
        self.optimizer.lr = 2 * spec.lr


class _NoBias(NumpyChain):
    def run(self):
        super().run()
        self.grad_w = self.grad_w * 1.001  # a gradient off by 0.1 %


def test_gate_catches_a_wrong_update_and_names_it():
    result = check_mlp(W1, make_mlp_problem(W1), _WrongLearningRate, steps=3)
    assert not result.ok
    assert result.problems[0].startswith("step 1 W_1 after SGD: differs by up to")
    # Gradients and loss of step 1 agreed; the first disagreement is the update.
    assert not any("loss" in p or "dL/d" in p for p in result.problems)
    with pytest.raises(AgreementError, match="ours disagrees with the numpy reference on W1"):
        require([result])


def test_gate_catches_a_gradient_off_by_a_tenth_of_a_percent():
    result = check_chain("W4", 40, make_chain_problem(W4), _NoBias, implementation="x")
    assert [p.split(":")[0] for p in result.problems] == ["dL/dw"]


def test_gate_rejects_float64_and_missing_gradients():
    a = agreement.Agreement("W1", "ours", 1)
    a.compare("w", np.ones(3), np.ones(3, dtype=np.float32))
    a.compare("g", None, np.ones(3, dtype=np.float32))
    a.compare("h", np.ones(2, dtype=np.float32), np.ones(3, dtype=np.float32))
    assert [p.split(":")[1].strip() for p in a.problems] == [
        "dtype float64, expected float32",
        "missing (None), expected shape (3,)",
        "shape (2,), expected (3,)",
    ]


def test_gate_reports_nan_as_disagreement():
    a = agreement.Agreement("W1", "ours", 1)
    a.compare("w", np.array([1.0, np.nan], np.float32), np.array([1.0, 2.0], np.float32))
    assert not a.ok and "index (1,)" in a.problems[0]


def test_suite_refuses_to_time_when_ours_disagrees(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(run, "EngineMLP", _WrongLearningRate)
    with pytest.raises(AgreementError):
        run.run_suite(TINY, keys=["W1"], use_torch=False, use_jax=False, log=lambda _: None)
    out = tmp_path / "r.json"
    assert run.main([*TINY_ARGS, "--workloads", "W1", "--json", str(out)]) == 2
    assert not out.exists()
    captured = capsys.readouterr()
    assert captured.out == ""  # no table
    assert "disagrees with the numpy reference on W1" in captured.err


# ----------------------------------------------------------------------------- timing


def test_summarize_gives_median_quartiles_and_minimum():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.minimum, s.calls) == (3.0, 1.0, 5)
    assert s.q1 <= s.median <= s.q3
    assert summarize([0.5]).as_dict(1e3) == {
        "median": 500.0, "q1": 500.0, "q3": 500.0, "min": 500.0, "calls": 1,
    }  # fmt: skip


def test_time_calls_respects_min_and_max_calls():
    calls = []
    times = time_calls(lambda: calls.append(1), min_calls=7, min_time=0.0, max_calls=100)
    assert len(times) == len(calls) == 7 and all(t >= 0 for t in times)
    calls.clear()
    assert len(time_calls(lambda: calls.append(1), 1, min_time=10.0, max_calls=3)) == 3


def test_interleaved_times_warms_up_then_splits_calls_into_rounds():
    log = []
    budget = Budget(warmup=2, min_calls=6, min_time=0.0, max_calls=6, rounds=3)
    times = interleaved_times({"a": lambda: log.append("a"), "b": lambda: log.append("b")}, budget)
    assert {k: len(v) for k, v in times.items()} == {"a": 6, "b": 6}
    assert "".join(log) == "aabb" + "aabb" * 3  # warm-ups, then 3 rounds of 2 calls each


def test_interleaved_rounds_keeps_each_round_apart():
    budget = Budget(warmup=0, min_calls=6, min_time=0.0, max_calls=6, rounds=3)
    by_round = interleaved_rounds({"a": lambda: None, "b": lambda: None}, budget)
    assert [len(share) for share in by_round["a"]] == [2, 2, 2]
    assert every_call(by_round["b"]) == [t for share in by_round["b"] for t in share]


def test_paired_ratio_sees_through_the_machine_changing_speed_between_rounds():
    # a always takes twice b's time; the machine is twice as slow in round 2, where b happened
    # to get more calls. The ratio of all calls' medians says 1.0; within rounds it is 2.0.
    a = [[2.0, 2.0, 2.0], [4.0]]
    b = [[1.0, 1.0, 1.0], [2.0] * 5]
    assert statistics.median(every_call(a)) / statistics.median(every_call(b)) == 1.0
    assert paired_ratio(a, b) == 2.0
    assert paired_ratio([[3.0], [1.0], [100.0]], [[1.0], [1.0], [1.0]]) == 3.0  # a median


def test_peak_traced_memory_counts_what_a_call_allocates():
    keep = []
    peak = peak_traced_memory(lambda: np.ones(1_000_000), repeats=2)
    assert 8_000_000 <= peak < 8_200_000  # one float64 array of a million elements
    # What `before` frees is not credited to the call; the call's own arrays are.
    keep.append(np.ones(1_000_000))
    peak = peak_traced_memory(lambda: keep.append(np.ones(500_000)), 1, before=keep.clear)
    assert 4_000_000 <= peak < 4_200_000
    assert not tracemalloc.is_tracing()


# ----------------------------------------------------------------------------- report and runner


def _paired(row, side):
    """The median over rounds of side / numpy within a round; the memory row: of the medians."""
    if "rounds" not in row["numpy"]:
        return row[side]["median"] / row["numpy"]["median"]
    ratios = [a / b for a, b in zip(row[side]["rounds"], row["numpy"]["rounds"])]
    return statistics.median(ratios)


def test_suite_reports_every_workload_in_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "sub" / "results.json"
    assert run.main([*TINY_ARGS, "--json", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    rows = results["workloads"]
    assert list(rows) == ["W1", "W2", "W3", "W3_memory", "W4", "chain", "CNN"]
    expected_calls = {"W1": 2, "W2": 2, "W3": 2, "W4": 2, "chain": 1, "CNN": 2}
    for key, row in rows.items():
        assert row["numpy"]["median"] > 0 and row["ours"]["median"] > 0
        assert row["ratio"] == pytest.approx(_paired(row, "ours"))
        assert isinstance(row["met"], bool) and row["torch"] is None
        if key in expected_calls:
            assert row["ours"]["calls"] == row["numpy"]["calls"] == expected_calls[key]
    assert [rows[k]["unit"] for k in rows] == ["ms/step"] * 3 + ["MiB", "us/op", "s", "ms/step"]
    assert rows["W3_memory"]["ours"]["bytes"] > 1_000_000  # W3's gradients alone are 2 MiB
    assert rows["chain"]["title"].startswith("deep chain of 400 ops")
    assert results["meta"]["mode"] == "quick" and results["meta"]["settings"]["chain_ops"] == 400
    assert all(a["ours"]["ok"] for a in results["agreement"].values())
    # The compiled step: checked and timed on W1-W4, beside ours, against its own goal.
    for key in ("W1", "W2", "W3", "W4"):
        assert results["agreement"][key]["jit"]["ok"]
        assert rows[key]["jit"]["calls"] == expected_calls[key]
        assert rows[key]["jit_ratio"] == pytest.approx(_paired(rows[key], "jit"))
        assert isinstance(rows[key]["jit_met"], bool)
    assert rows["chain"]["jit"] is None and results["agreement"]["chain"]["jit"] is None
    table = results["table"]
    assert table.splitlines()[0] == (
        "| workload | numpy | ours | ratio | target | met | jit (≤ 1× numpy) |")
    assert len(table.splitlines()) == 2 + 7
    assert "≤ 2.6× numpy" in table and "≤ 3.3× numpy" in table and "< 1 s" in table
    assert rows["W3_memory"]["target"]["text"] == "≤ 1.3× numpy"
    printed = capsys.readouterr().out
    assert table in printed and "## tinygrad_edu benchmarks (quick run)" in printed


def test_run_suite_in_process_with_a_subset(monkeypatch):
    results = run.run_suite(
        TINY, keys=["W4", "W1", "W4"], use_torch=False, use_jax=False, log=lambda _: None
    )
    assert list(results["workloads"]) == ["W4", "W1"]
    assert results["workloads"]["W4"]["target"] == {
        "kind": "ratio_at_most", "value": 3.3, "text": "≤ 3.3× numpy",
    }  # fmt: skip


def test_strict_exits_1_when_a_target_is_missed(tmp_path, monkeypatch):
    # Make every target unreachable: met is False everywhere, and --strict turns it into 1.
    monkeypatch.setattr(run, "_met", lambda *args: False)
    out = tmp_path / "r.json"
    assert run.main([*TINY_ARGS, "--workloads", "W1", "--json", str(out), "--strict"]) == 1
    assert run.main([*TINY_ARGS, "--workloads", "W1", "--json", str(out)]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain-ops", "401"], "chain_ops must be a positive multiple of 4"),
        (["--min-steps", "0"], "min_calls must be an integer >= 1"),
        (["--min-time", "nan"], "min_time must be a finite number"),
    ],
)
def test_bad_settings_exit_2_with_a_message(args, message, tmp_path, capsys):
    assert run.main([*TINY_ARGS, *args, "--json", str(tmp_path / "r.json")]) == 2
    assert message in capsys.readouterr().err


def test_unknown_workload_is_refused():
    with pytest.raises(SystemExit):
        run.main(["--workloads", "W9"])
    with pytest.raises(InvalidArgumentError, match="unknown workload"):
        run.run_suite(TINY, keys=["W9"], use_torch=False, use_jax=False)


def test_table_has_a_torch_column_when_torch_is_measured():
    row = {
        "title": "W1", "numpy": {"median": 0.04}, "ours": {"median": 0.1}, "ratio": 2.5,
        "torch": {"median": 0.2}, "torch_ratio": 5.0, "target": {"text": "t"}, "met": True,
    }  # fmt: skip
    mem = {**row, "title": "mem", "torch": None, "torch_ratio": None, "torch_note": "not traced"}
    lines = format_table({"W1": row, "mem": mem}, with_torch=True).splitlines()
    assert lines[0].endswith("| met | torch |")
    assert lines[2] == "| W1 | 0.04 | 0.1 | 2.50× | t | yes | 0.2 (5.00×) |"
    assert lines[3] == "| mem | 0.04 | 0.1 | 2.50× | t | yes | not traced |"


def test_table_has_a_jax_column_when_some_row_measured_jax():
    row = {
        "title": "W1", "numpy": {"median": 0.04}, "ours": {"median": 0.1}, "ratio": 2.5,
        "jax": {"median": 0.06}, "jax_ratio": 1.5, "target": {"text": "t"}, "met": True,
    }  # fmt: skip
    chain = {**row, "title": "chain", "jax": None, "jax_ratio": None}
    lines = format_table({"W1": row, "chain": chain}, with_torch=False).splitlines()
    assert lines[0].endswith("| met | jax.jit |")
    assert lines[2] == "| W1 | 0.04 | 0.1 | 2.50× | t | yes | 0.06 (1.50×) |"
    assert lines[3] == "| chain | 0.04 | 0.1 | 2.50× | t | yes | — |"
    assert "jax" not in format_table({"chain": chain}, with_torch=False)


def test_a_ratio_that_two_digits_would_round_onto_its_goal_shows_which_side_it_is_on():
    row = {
        "title": "W3", "numpy": {"median": 4.0}, "ours": {"median": 4.3}, "ratio": 1.0829,
        "target": {"kind": "ratio_at_most", "value": 1.08, "text": "t"}, "met": False,
        "jit": {"median": 4.0}, "jit_ratio": 1.0001, "jit_met": False,
        "jit_target": {"kind": "ratio_at_most", "value": 1.0, "text": "j"},
    }  # fmt: skip
    line = format_table({"W3": row}, with_torch=False).splitlines()[2]
    assert line == "| W3 | 4 | 4.3 | 1.083× | t | **no** | 4 (1.0001×, **no**) |"
    met = {**row, "ratio": 1.0771, "met": True, "jit_ratio": 0.9974, "jit_met": True}
    line = format_table({"W3": met}, with_torch=False).splitlines()[2]
    assert line == "| W3 | 4 | 4.3 | 1.077× | t | yes | 4 (0.997×, yes) |"


def test_header_says_how_to_get_the_jax_column_or_which_jax_ran():
    meta = environment()
    meta.update(mode="quick", settings=dataclasses.asdict(run.QUICK))
    assert "- jax: not installed (`pip install jax`" in format_header(meta)
    meta["jax"] = {"version": "0.10.2", "xla_flags": None}
    assert "- jax: 0.10.2, jax.jit on CPU (XLA_FLAGS=unset)" in format_header(meta)


def test_header_names_blas_and_warns_about_openblas_coretype(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    meta = environment()
    assert meta["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    meta.update(mode="full", settings=dataclasses.asdict(run.FULL), cpus=2, load_average=[0.9])
    header = format_header(meta)
    assert "OPENBLAS_CORETYPE=Haswell" in header
    assert "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" in header
    assert f"numpy {np.__version__}" in header and "- BLAS: " in header
    assert "load average 0.9 (1 min)" in header and "busy" not in header
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    meta["env"] = environment()["env"]
    assert "warning" not in format_header(meta)
    meta["load_average"] = [3.0]
    assert "warning: the machine was busy" in format_header(meta)


def test_torch_agrees_with_the_numpy_reference_when_installed():
    pytest.importorskip("torch")
    from benchmarks.torch_reference import TorchChain, TorchMLP

    for spec in MLP_WORKLOADS.values():
        result = check_mlp(spec, make_mlp_problem(spec), TorchMLP, "torch", steps=3)
        assert result.ok, result.problems
    assert check_chain("W4", 1000, make_chain_problem(W4), TorchChain, "torch").ok


def test_jax_jit_agrees_with_the_numpy_reference_when_installed():
    pytest.importorskip("jax", reason="`pip install jax` to check the jax.jit column")
    from benchmarks.jax_reference import JaxChain, JaxMLP

    for spec in MLP_WORKLOADS.values():
        result = check_mlp(spec, make_mlp_problem(spec), JaxMLP, "jax", steps=3)
        assert result.ok, result.problems
    assert check_chain("W4", 1000, make_chain_problem(W4), JaxChain, "jax").ok


@pytest.mark.parametrize(
    "name",
    [
        "benchmarks.agreement",
        "benchmarks.numpy_reference",
        "benchmarks.ours",
        "benchmarks.jax_reference",
        "benchmarks.report",
        "benchmarks.timing",
        "benchmarks.torch_reference",
        "benchmarks.workloads",
    ],
)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags)
    assert result.failed == 0
    assert name == "benchmarks.torch_reference" or result.attempted > 0


# ----------------------------------------------------------------------------- the CNN workload


def test_cnn_workload_is_the_issue_s():
    from benchmarks.workloads import CNN, make_cnn_problem

    assert (CNN.channels, CNN.image, CNN.batch, CNN.target_torch_ratio) == ((16, 32), 8, 64, 2.0)
    p = make_cnn_problem(CNN, seed=0)
    assert p.x.shape == (64, 1, 8, 8) and p.x.dtype == np.float32 and 0 <= p.x.min()
    assert p.x.max() <= 1 and p.target.dtype == np.int64
    assert [a.shape for a in p.params] == [
        (16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (10, 512), (10,),
    ]  # fmt: skip


def test_numpy_cnn_reference_gradients_match_central_differences():
    from benchmarks.numpy_reference import NumpyCNN
    from benchmarks.workloads import CNN, CNNProblem, make_cnn_problem

    p = make_cnn_problem(dataclasses.replace(CNN, batch=4), seed=1)
    p = CNNProblem(p.x.astype(np.float64), p.target, [a.astype(np.float64) for a in p.params])
    frozen = dataclasses.replace(CNN, batch=4, lr=0.0)

    def loss(params):
        ref = NumpyCNN(frozen, CNNProblem(p.x, p.target, params))
        ref.step()
        return ref.loss()

    ref = NumpyCNN(frozen, p)
    ref.step()
    rng = np.random.default_rng(0)
    eps = 1e-6
    for k, grad in enumerate(ref.gradients()):
        for flat in rng.choice(grad.size, size=min(3, grad.size), replace=False):
            i = np.unravel_index(flat, grad.shape)
            up = [a.copy() for a in p.params]
            down = [a.copy() for a in p.params]
            up[k][i] += eps
            down[k][i] -= eps
            assert grad[i] == pytest.approx((loss(up) - loss(down)) / (2 * eps), abs=1e-7)


def test_engine_cnn_agrees_with_the_reference():
    from benchmarks.ours import EngineCNN
    from benchmarks.workloads import CNN, make_cnn_problem

    result = check_mlp(CNN, make_cnn_problem(CNN, seed=0), EngineCNN, steps=2)
    assert result.ok, result.problems


def test_cnn_goal_is_judged_against_torch():
    met = run._met({"kind": "torch_ratio_at_most", "value": 2.0}, 3.0, 0.5, None)
    assert met is False  # no torch, no verdict in its favour
    assert run._met({"kind": "torch_ratio_at_most", "value": 2.0}, 3.0, 9.0, 1.5) is True


def test_torch_cnn_agrees_with_the_numpy_reference_when_installed():
    pytest.importorskip("torch")
    from benchmarks.torch_reference import TorchCNN
    from benchmarks.workloads import CNN, make_cnn_problem

    result = check_mlp(CNN, make_cnn_problem(CNN, seed=0), TorchCNN, "torch", steps=2)
    assert result.ok, result.problems


# ----------------------------------------------------------------------------- instruction counts


def test_a_quick_run_counts_no_instructions_and_says_so(tmp_path, capsys):
    assert run.main([*TINY_ARGS, "--workloads", "W1", "--json", str(tmp_path / "r.json")]) == 0
    printed = capsys.readouterr().out
    assert "- instructions per step: not counted in this run" in printed
    assert "| instructions per step |" not in printed


def test_without_valgrind_the_report_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(run, "valgrind_path", lambda: None)
    args = [*TINY_ARGS, "--workloads", "W1", "--instructions", "--json", str(tmp_path / "r.json")]
    assert run.main(args) == 0
    printed = capsys.readouterr().out
    assert "- instructions per step: not counted, valgrind is not installed" in printed
    results = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert results["meta"]["instructions"] == {"status": "no valgrind"}


def test_counts_go_into_the_rows_and_a_table(monkeypatch, tmp_path, capsys):
    counted = []

    def fake_counts(keys):
        counted.extend(keys)
        return {k: {"numpy": 4.0e5, "ours": 1.2e6, "jit": 3.6e5} for k in keys}

    monkeypatch.setattr(run, "valgrind_path", lambda: "/usr/bin/valgrind")
    monkeypatch.setattr(run, "instruction_counts", fake_counts)
    args = [*TINY_ARGS, "--workloads", "W1", "chain", "--instructions", "--json",
            str(tmp_path / "r.json")]  # fmt: skip
    assert run.main(args) == 0
    assert counted == ["W1"]  # the deep chain is not counted (100,000 operations)
    printed = capsys.readouterr().out
    assert "| W1 | 400,000 | 1,200,000 | 360,000 | 3.00× | 0.90× |" in printed
    results = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert results["workloads"]["W1"]["instructions"]["jit"] == 3.6e5
    assert "instructions" not in results["workloads"]["chain"]


def test_count_instructions_refuses_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="workload must be one of W1, W2, W3, W4"):
        instructions.count_instructions("chain", "jit", 2)
    with pytest.raises(InvalidArgumentError, match="implementation must be one of"):
        instructions.count_instructions("W1", "torch", 2)
    with pytest.raises(InvalidArgumentError, match="steps must be an integer >= 1"):
        instructions.count_instructions("W1", "jit", 0)


@pytest.mark.slow
@pytest.mark.skipif(instructions.valgrind_path() is None, reason="valgrind is not installed")
def test_callgrind_counts_one_step_whatever_the_number_of_steps():
    # Set-up and warm-up are outside the count: 2 and 6 steps give the same count per step.
    two = instructions.count_instructions("W1", "jit", 2)
    six = instructions.count_instructions("W1", "jit", 6)
    assert 1e5 < two < 5e6
    assert six == pytest.approx(two, rel=0.02)
    assert instructions.count_instructions("W1", "numpy", 2) > 1e5
