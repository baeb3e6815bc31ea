"""Learning-rate schedules against their closed forms, their sums, validation and state."""

import math

import numpy as np
import pytest

import tinygrad_edu.optim.schedules as schedules_module
from tinygrad_edu import CheckpointError, InvalidArgumentError, Tensor
from tinygrad_edu.optim import SGD, Adam, Newton
from tinygrad_edu.optim.schedules import (
    DelayedInverseDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LambdaSchedule,
    QuadraticDecay,
    StepDecay,
)

LR0 = 0.3


def make_opt(lr=LR0):
    return SGD([Tensor([1.0], requires_grad=True)], lr=lr)


CASES = {
    "step": (lambda o: StepDecay(o, step_size=3, factor=0.5), lambda t: LR0 * 0.5 ** (t // 3)),
    "exponential": (lambda o: ExponentialDecay(o, k=0.1), lambda t: LR0 * math.exp(-0.1 * t)),
    "inverse": (InverseTimeDecay, lambda t: LR0 / (t + 1)),
    "quadratic": (QuadraticDecay, lambda t: LR0 / (t + 1) ** 2),
    "delayed": (lambda o: DelayedInverseDecay(o, tau=5), lambda t: LR0 * 5 / max(t, 5)),
    "lambda": (
        lambda o: LambdaSchedule(o, lambda t: 1 / (1 + 0.5 * t)),
        lambda t: LR0 / (1 + 0.5 * t),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lr_after_t_steps_is_the_closed_form(name):
    make, formula = CASES[name]
    opt = make_opt()
    schedule = make(opt)
    assert schedule.lr0 == LR0 and schedule.t == 0
    for t in range(21):
        if t:
            schedule.step()
        assert schedule.t == t
        np.testing.assert_allclose(opt.lr, formula(t), rtol=1e-15)
        np.testing.assert_allclose(schedule.get_lr(), formula(t), rtol=1e-15)


def test_values_written_out():
    opt = make_opt(1.0)
    s = StepDecay(opt, step_size=2, factor=0.1)
    lrs = [opt.lr]
    for _ in range(5):
        s.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01], rtol=1e-15)

    opt = make_opt(2.0)
    s = DelayedInverseDecay(opt, tau=2.5)
    lrs = [opt.lr]
    for _ in range(5):
        s.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [2.0, 2.0, 2.0, 5 / 3, 1.25, 1.0], rtol=1e-15)


def test_inverse_time_decay_after_t_steps_and_its_sums():
    # SGD's conditions: sum eta_t diverges (like log T), sum eta_t^2 stays below lr0^2 pi^2/6.
    opt = make_opt()
    s = InverseTimeDecay(opt)
    lrs = [opt.lr]
    for _ in range(4999):
        s.step()
        lrs.append(opt.lr)
    assert opt.lr == pytest.approx(LR0 / 5000, rel=1e-15)
    partial = np.cumsum(lrs)
    np.testing.assert_allclose(partial[-1], LR0 * (math.log(5000) + 0.5772156649), rtol=1e-4)
    assert partial[-1] > 2 * partial[9]  # keeps growing
    assert np.sum(np.square(lrs)) < LR0**2 * math.pi**2 / 6


def test_quadratic_decay_sums_to_lr0_pi_squared_over_six():
    opt = make_opt()
    s = QuadraticDecay(opt)
    total = opt.lr
    for _ in range(999):
        s.step()
        total += opt.lr
    limit = LR0 * math.pi**2 / 6
    assert limit - LR0 / 1000 < total < limit  # the tail after T terms is below lr0 / T


def test_exponential_decay_sums_to_a_geometric_series():
    opt = make_opt()
    s = ExponentialDecay(opt, k=0.5)
    total = opt.lr
    for _ in range(200):
        s.step()
        total += opt.lr
    np.testing.assert_allclose(total, LR0 / (1 - math.exp(-0.5)), rtol=1e-12)


def test_exponential_decay_with_k_zero_is_constant():
    opt = make_opt()
    s = ExponentialDecay(opt, k=0)
    for _ in range(5):
        s.step()
    assert opt.lr == LR0


def test_lambda_schedule_multiplies_lr0_and_applies_fn_of_zero_at_once():
    opt = make_opt(0.5)
    s = LambdaSchedule(opt, lambda t: 0.1 if t == 0 else 1.0)
    assert opt.lr == pytest.approx(0.05)  # lr0 * fn(0), like PyTorch's LambdaLR
    s.step()
    assert opt.lr == 0.5


def test_schedules_change_the_steps_the_optimiser_takes():
    # L = w: g = 1, so each step moves w by the current lr: 1, 1/2, 1/3.
    w = Tensor([0.0], requires_grad=True, dtype=np.float64)
    opt = SGD([w], lr=1.0)
    s = InverseTimeDecay(opt)
    for _ in range(3):
        opt.zero_grad()
        w.sum().backward()
        opt.step()
        s.step()
    np.testing.assert_allclose(w.data, [-(1 + 1 / 2 + 1 / 3)], rtol=1e-15)


def test_schedules_work_with_any_optimiser_with_lr():
    w = Tensor([1.0], requires_grad=True, dtype=np.float64)
    for opt in [Adam([w], lr=0.01), Newton([w])]:
        s = StepDecay(opt, step_size=1, factor=0.5)
        s.step()
        assert opt.lr == s.lr0 / 2


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda o: StepDecay(o, step_size=0, factor=0.5), r"step_size must be an integer >= 1"),
        (lambda o: StepDecay(o, step_size=2.5, factor=0.5), r"step_size .*got 2.5"),
        (lambda o: StepDecay(o, step_size=True, factor=0.5), r"step_size .*got True"),
        (lambda o: StepDecay(o, step_size=2, factor=0.0), r"factor .*\(0, 1\]; got 0.0"),
        (lambda o: StepDecay(o, step_size=2, factor=1.5), r"factor .*\(0, 1\]; got 1.5"),
        (lambda o: StepDecay(o, step_size=2, factor=float("nan")), r"factor .*got nan"),
        (lambda o: ExponentialDecay(o, k=-0.1), r"k must be a finite number in \[0, inf\)"),
        (lambda o: ExponentialDecay(o, k=float("inf")), r"k .*got inf"),
        (lambda o: DelayedInverseDecay(o, tau=0), r"tau .*\(0, inf\); got 0.0"),
        (lambda o: DelayedInverseDecay(o, tau=-3), r"tau .*got -3.0"),
        (lambda o: LambdaSchedule(o, 0.5), r"fn must be a function"),
        (lambda o: LambdaSchedule(o, lambda t: -1.0), r"at t=0 would be -0.3"),
        (lambda o: LambdaSchedule(o, lambda t: "x"), r"fn\(0\) must return a number"),
    ],
)
def test_invalid_arguments_are_refused(make, message):
    opt = make_opt()
    with pytest.raises(InvalidArgumentError, match=message):
        make(opt)
    assert opt.lr == LR0  # untouched


def test_step_decay_takes_pytorchs_gamma():
    ours, theirs = make_opt(), make_opt()
    a, b = StepDecay(ours, 2, factor=0.1), StepDecay(theirs, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        a.step(), b.step()
        lrs.append((ours.lr, theirs.lr))
    assert [x for x, _ in lrs] == [y for _, y in lrs]
    assert [x for x, _ in lrs] == pytest.approx([0.3, 0.03, 0.03, 0.003, 0.003])


@pytest.mark.parametrize("kwargs", [{}, {"factor": 0.5, "gamma": 0.5}])
def test_step_decay_needs_the_factor_exactly_once(kwargs):
    with pytest.raises(InvalidArgumentError, match="needs the decay factor once"):
        StepDecay(make_opt(), 2, **kwargs)


def test_an_optimiser_without_lr_is_refused():
    with pytest.raises(InvalidArgumentError, match="needs an optimiser with an lr attribute"):
        InverseTimeDecay(object())


def test_a_failing_step_changes_nothing():
    opt = make_opt()
    s = LambdaSchedule(opt, lambda t: 1.0 if t < 2 else float("nan"))
    s.step()
    with pytest.raises(InvalidArgumentError, match="at t=2 would be nan"):
        s.step()
    assert s.t == 1 and opt.lr == LR0


# ----------------------------------------------------------------------------- state


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_resumes_the_schedule(name):
    make, formula = CASES[name]
    opt = make_opt()
    s = make(opt)
    for _ in range(7):
        s.step()
    d = s.state_dict()
    assert d["schedule"] == type(s).__name__ and d["t"] == 7 and d["lr0"] == LR0

    opt2 = make_opt(lr=99.0)
    s2 = make(opt2)
    s2.load_state_dict(d)
    assert s2.t == 7 and s2.lr0 == LR0 and opt2.lr == opt.lr
    s.step()
    s2.step()
    assert opt2.lr == opt.lr
    np.testing.assert_allclose(opt2.lr, formula(8), rtol=1e-15)


def test_state_dict_restores_the_arguments_and_survives_npz(tmp_path):
    s = StepDecay(make_opt(), step_size=4, factor=0.25)
    for _ in range(9):
        s.step()
    np.savez(tmp_path / "s.npz", **s.state_dict())
    with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
        loaded = dict(f)
    opt = make_opt()
    s2 = StepDecay(opt, step_size=1, factor=1.0)
    s2.load_state_dict(loaded)
    assert (s2.step_size, s2.factor, s2.t) == (4, 0.25, 9)
    assert opt.lr == LR0 * 0.25**2


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schedule": "QuadraticDecay"}, "from schedule 'QuadraticDecay', not 'InverseTimeDecay'"),
        ({"t": -1}, "t must be an integer >= 0"),
        ({"t": 2.5}, "t must be an integer >= 0"),
        ({"lr0": 0.0}, r"lr0 must be a finite number in \(0, inf\)"),
        ({"extra": 1}, r"unexpected entries \['extra'\]"),
    ],
)
def test_load_state_dict_validates_before_changing_anything(change, message):
    d = InverseTimeDecay(make_opt()).state_dict()
    d.update(change)
    opt = make_opt()
    s = InverseTimeDecay(opt)
    s.step()
    with pytest.raises(CheckpointError, match=message):
        s.load_state_dict(d)
    assert s.t == 1 and s.lr0 == LR0 and opt.lr == LR0 / 2


def test_missing_entries_are_named():
    opt = make_opt()
    s = StepDecay(opt, step_size=2, factor=0.5)
    d = s.state_dict()
    del d["factor"]
    with pytest.raises(CheckpointError, match=r"missing entries \['factor'\]"):
        s.load_state_dict(d)


def test_a_lambda_refusing_the_loaded_t_restores_everything():
    opt = make_opt()
    s = LambdaSchedule(opt, lambda t: 1.0 if t < 5 else -1.0)
    d = s.state_dict()
    d["t"] = 6
    with pytest.raises(CheckpointError, match="at t=6 would be -0.3"):
        s.load_state_dict(d)
    assert s.t == 0 and opt.lr == LR0


def test_the_module_is_importable_by_its_dotted_name():
    assert schedules_module.InverseTimeDecay is InverseTimeDecay
    assert "InverseTimeDecay(lr0=0.3; t=0)" == repr(InverseTimeDecay(make_opt()))
