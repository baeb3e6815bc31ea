"""Learning-rate schedules: which ones satisfy sum alpha_t = inf and sum alpha_t^2 < inf.

What the notes claim: annealing the rate helps (the notes on annealing: step decay by a factor
x every n steps, exponential alpha0 e^(-k t), and alpha0 tau / max(t, tau), "found to work
quite well"; the notes on convergence: linear alpha0 / (t + 1), quadratic alpha0 / (t + 1)^2
and exponential decay), and stochastic gradient descent converges when (the notes on SGD's
convergence)

    sum_t alpha_t = infinity     (the steps never run out: the start is forgotten)
    sum_t alpha_t^2 < infinity   (the steps shrink fast enough to average the noise away)

What the script shows: each schedule of ``tinygrad_edu.optim.schedules`` follows its closed
form; partial sums up to T = 10^6 show that 1/t and alpha0 tau / max(t, tau) satisfy both
conditions (sum alpha grows like log T, sum alpha^2 converges), while 1/t^2, exponential and
step decay have a finite sum alpha and a constant rate has an infinite sum alpha^2. Then SGD on
a noisy quadratic, 400 independent runs at once: with 1/t-type decay the runs converge to the
minimum; with 1/t^2 they stop short of it, exactly where the product of (1 - alpha_t) says;
with a constant rate they keep jittering.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.optim import SGD
from tinygrad_edu.optim.schedules import (
    DelayedInverseDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LambdaSchedule,
    QuadraticDecay,
    Schedule,
    StepDecay,
)

ALPHA0, TAU, K, STEP, FACTOR = 0.8, 20, 0.01, 10, 0.5

# name -> (how to make the schedule on an optimiser, the closed form alpha_t for an array of t)
SCHEDULES: dict[str, tuple[Callable[[SGD], Schedule], Callable[[np.ndarray], np.ndarray]]] = {
    "constant": (lambda opt: LambdaSchedule(opt, lambda t: 1.0),
                 lambda t: np.full(t.shape, ALPHA0)),
    f"step (x{FACTOR} every {STEP})": (lambda opt: StepDecay(opt, STEP, FACTOR),
                                       lambda t: ALPHA0 * FACTOR ** (t // STEP)),
    f"exponential (k={K})": (lambda opt: ExponentialDecay(opt, K),
                             lambda t: ALPHA0 * np.exp(-K * t)),
    "1/t": (InverseTimeDecay, lambda t: ALPHA0 / (t + 1.0)),
    "1/t^2": (QuadraticDecay, lambda t: ALPHA0 / (t + 1.0) ** 2),
    f"tau/max(t, tau), tau={TAU}": (lambda opt: DelayedInverseDecay(opt, TAU),
                                    lambda t: ALPHA0 * TAU / np.maximum(t, TAU)),
}
# what the notes on SGD's convergence say about each: (sum alpha = inf, sum alpha^2 < inf)
EXPECTED = {
    "constant": (True, False),
    f"step (x{FACTOR} every {STEP})": (False, True),
    f"exponential (k={K})": (False, True),
    "1/t": (True, True),
    "1/t^2": (False, True),
    f"tau/max(t, tau), tau={TAU}": (True, True),
}


def new_optimizer(w0: np.ndarray | None = None) -> tuple[Tensor, SGD]:
    w = Tensor(np.zeros(1) if w0 is None else w0.copy(), requires_grad=True)
    return w, SGD([w], lr=ALPHA0)


def check_closed_forms(n_steps: int) -> None:
    """Step every schedule n_steps times and jump to t = 10^6; compare with its formula."""
    print(f"1. Each schedule against its closed form (alpha0 = {ALPHA0}, t = 0..{n_steps})")
    t = np.arange(n_steps + 1)
    for name, (make, formula) in SCHEDULES.items():
        _, opt = new_optimizer()
        schedule = make(opt)
        rates = [opt.lr]
        for _ in range(n_steps):
            schedule.step()  # one call per update: after t calls the rate is alpha_t
            rates.append(opt.lr)
        # a far-away t through the public state: the formula must hold there too
        state = schedule.state_dict()
        state["t"] = 10**6
        schedule.load_state_dict(state)
        far = np.asarray(formula(np.array([10**6])))[0]
        claim(np.allclose(rates, formula(t), rtol=1e-12, atol=0) and
              math.isclose(opt.lr, far, rel_tol=1e-12),
              f"{name:28s} follows its formula for t <= {n_steps} and at t = 10^6")


def check_conditions(T_max: int, shown: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Partial sums S_T = sum_{t<T} alpha_t and Q_T = sum_{t<T} alpha_t^2 up to T_max.

    Returns both at the T in ``shown`` (for the picture; the full arrays would be large).
    """
    print(f"2. Partial sums up to T = {T_max:.0e}: S = sum alpha_t and Q = sum alpha_t^2")
    t = np.arange(T_max, dtype=np.float64)
    T_small = T_max // 10
    sums = {}
    print(f"   {'schedule':28s} {'S(T/10)':>10s} {'S(T)':>10s} {'Q(T/10)':>11s} {'Q(T)':>11s}")
    for name, (_, formula) in SCHEDULES.items():
        alpha = formula(t)
        S, Q = np.cumsum(alpha), np.cumsum(alpha**2)
        sums[name] = (S[shown - 1], Q[shown - 1])
        grows = S[-1] - S[T_small - 1]  # what the last 90% of the steps add to sum alpha
        settles = Q[-1] - Q[T_small - 1]
        # A diverging sum still grows by a fair share in the last decade (log 10 for 1/t, out
        # of log T in all); a converging one gains (almost) nothing. The exact limits are
        # checked below.
        verdict = (grows > 0.01 * S[-1], settles < 0.001 * Q[-1])
        print(f"   {name:28s} {S[T_small - 1]:10.4f} {S[-1]:10.4f} {Q[T_small - 1]:11.5f} "
              f"{Q[-1]:11.5f}   sum=inf: {verdict[0]!s:5s} sum^2<inf: {verdict[1]}")
        claim(verdict == EXPECTED[name],
              f"{name}: sum alpha = inf is {EXPECTED[name][0]}, "
              f"sum alpha^2 < inf is {EXPECTED[name][1]}")
        if name == "1/t":
            claim(abs(grows / ALPHA0 - math.log(10)) < 1e-4,
                  f"1/t: from T/10 to T the sum grows by alpha0 log 10 = "
                  f"{ALPHA0 * math.log(10):.4f} (got {grows:.4f}): it grows without bound")
            claim(abs(Q[-1] - ALPHA0**2 * math.pi**2 / 6) < 1e-5 * ALPHA0**2,
                  f"1/t: sum alpha^2 -> alpha0^2 pi^2 / 6 = {ALPHA0**2 * math.pi**2 / 6:.6f}")
        if name == "1/t^2":
            claim(abs(S[-1] - ALPHA0 * math.pi**2 / 6) < 1e-5 * ALPHA0,
                  f"1/t^2: sum alpha is within 1e-5 alpha0 of alpha0 pi^2 / 6 = "
                  f"{ALPHA0 * math.pi**2 / 6:.6f}: the steps run out")
        if name.startswith("tau/max"):
            claim(abs(grows / (ALPHA0 * TAU) - math.log(10)) < 1e-3,
                  "tau/max(t, tau): the sum grows by alpha0 tau log 10 per decade")
        if name.startswith("exponential"):
            limit = ALPHA0 / (1 - math.exp(-K))
            claim(abs(S[-1] - limit) < 1e-9, f"exponential: sum alpha = alpha0 / (1 - e^-k) "
                  f"= {limit:.4f}, however long we train")
        if name.startswith("step"):
            claim(abs(S[-1] - ALPHA0 * STEP / (1 - FACTOR)) < 1e-9,
                  "step decay: a geometric series, sum alpha = alpha0 n / (1 - x)")
    return sums


def noisy_sgd(T: int, runs: int) -> dict[str, np.ndarray]:
    """SGD on E(w) = E_x[(w - x)^2] / 2 with x ~ N(mu, 1), one fresh sample per step.

    The gradient of one sample is w - x, so w_{t+1} = (1 - alpha_t) w_t + alpha_t x_t: the mean
    of w_T misses mu by (w_0 - mu) prod_t (1 - alpha_t) and the noise left in w_T has
    variance sum_t alpha_t^2 prod_{s>t} (1 - alpha_s)^2. Every entry of w is an independent run.
    """
    print(f"3. SGD on a noisy quadratic, minimum mu = 2, start -8, {runs} runs of {T} steps")
    mu, w_start = 2.0, -8.0
    rng = np.random.default_rng(0)
    paths = {}
    for name in ("constant", "1/t", "tau/max(t, tau), tau=20", "1/t^2"):
        make, formula = SCHEDULES[name]
        w, opt = new_optimizer(np.full(runs, w_start))
        schedule = make(opt)
        path = [w.data.copy()]
        for _ in range(T):
            x = Tensor(rng.normal(mu, 1.0, runs))
            opt.zero_grad()
            (0.5 * ((w - x) ** 2).sum()).backward()  # the sum keeps the runs independent
            opt.step()
            schedule.step()
            path.append(w.data.copy())
        paths[name] = np.array(path)
        end = paths[name][-1]
        bias = (w_start - mu) * np.prod(1 - formula(np.arange(T, dtype=np.float64)))
        print(f"   {name:28s} mean w_T - mu = {end.mean() - mu:+.4f} (predicted {bias:+.4f}),"
              f" spread {end.std():.4f}")
        paths[name + " bias"] = np.array(bias)

    for name in ("constant", "1/t", "tau/max(t, tau), tau=20", "1/t^2"):
        end = paths[name][-1]
        se = end.std() / np.sqrt(runs)  # the standard error of the mean over the runs
        claim(abs(end.mean() - mu - paths[name + " bias"]) < 4 * se + 1e-3,
              f"{name}: the mean of the runs misses mu by (w0 - mu) prod (1 - alpha_t), "
              f"as predicted")
    for name in ("1/t", "tau/max(t, tau), tau=20"):
        end = paths[name][-1]
        claim(abs(end.mean() - mu) < 0.1 and end.std() < 0.15,
              f"{name}: both conditions hold, and the runs end at the minimum "
              f"(mean off by {end.mean() - mu:+.3f}, spread {end.std():.3f})")
    # prod_t (1 - alpha0 / t^2) over all t = sin(pi x) / (pi x) with x = sqrt(alpha0)
    x = math.sqrt(ALPHA0)
    stuck = (w_start - mu) * math.sin(math.pi * x) / (math.pi * x)
    end = paths["1/t^2"][-1]
    claim(abs(paths["1/t^2 bias"] - stuck) < 1e-2 and end.mean() - mu < -1.0,
          f"1/t^2: sum alpha < inf, so the runs stop short of the minimum, on average at "
          f"mu + (w0 - mu) sin(pi sqrt(a0)) / (pi sqrt(a0)) = mu {stuck:+.3f} "
          f"(got mu {end.mean() - mu:+.3f})")
    end = paths["constant"][-1]
    floor = math.sqrt(ALPHA0 / (2 - ALPHA0))
    claim(abs(end.std() - floor) < 0.15 * floor,
          f"constant rate: sum alpha^2 = inf, so the noise never averages out: the spread stays "
          f"at sqrt(a / (2 - a)) = {floor:.3f} (got {end.std():.3f})")
    return paths


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    check_closed_forms(n_steps=500 if args.fast else 5000)
    T_max = 10**6 if args.fast else 10**7
    shown = np.unique(np.geomspace(1, T_max, 400).astype(int))  # log-spaced T to draw
    sums = check_conditions(T_max, shown)
    T = 1000 if args.fast else 5000
    paths = noisy_sgd(T=T, runs=400)

    fig = Figure(figsize=(13, 10), layout="constrained")
    FigureCanvasAgg(fig)
    (ax_rate, ax_sum), (ax_sq, ax_sgd) = fig.subplots(2, 2)
    color = {name: f"C{i}" for i, name in enumerate(SCHEDULES)}  # one colour per schedule
    for name, (_, formula) in SCHEDULES.items():
        ax_rate.plot(shown, formula(shown - 1.0), label=name, color=color[name])
        ax_sum.plot(shown, sums[name][0], label=name, color=color[name])
        ax_sq.plot(shown, sums[name][1], label=name, color=color[name])
    ax_rate.set(xscale="log", yscale="log", ylim=(1e-8, 1), xlabel="update t",
                ylabel="alpha_t", title=f"the schedules, alpha0 = {ALPHA0}")
    ax_sum.set(xscale="log", yscale="log", xlabel="T", ylabel="sum_{t<T} alpha_t",
               title="sum alpha: grows for ever (constant, 1/t, tau/max) or levels off")
    ax_sq.set(xscale="log", yscale="log", xlabel="T", ylabel="sum_{t<T} alpha_t^2",
              title="sum alpha^2: levels off for all but the constant rate")
    steps = np.arange(1, T + 2)  # t + 1, so that w_0 fits on a log axis
    for name in ("constant", "1/t", "tau/max(t, tau), tau=20", "1/t^2"):
        mean, spread = paths[name].mean(axis=1), paths[name].std(axis=1)
        ax_sgd.plot(steps, mean, label=f"{name}: mean of the runs +- 1 std", color=color[name])
        ax_sgd.fill_between(steps, mean - spread, mean + spread, color=color[name], alpha=0.2)
    ax_sgd.axhline(2.0, color="k", ls=":", label="minimum mu = 2")
    ax_sgd.set(xscale="log", xlabel="t + 1 (w_0 = -8 at the left edge)", ylabel="w_t",
               ylim=(-2, 3.5), title="SGD on a noisy quadratic: 400 runs per schedule")
    for ax in (ax_rate, ax_sum, ax_sq, ax_sgd):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.savefig(picture(args, __file__), dpi=80)
    print(f"picture: {picture(args, __file__)}")


if __name__ == "__main__":
    main()
