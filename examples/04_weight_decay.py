"""Weight decay: the L2 penalty shrinks every weight at every step and curbs overfitting.

The notes on weight decay add a regularisation term to the loss L0,

    L = L0 + lambda / (2n) sum_w w^2,      dL/dw = dL0/dw + (lambda / n) w

(the notes write (lambda / n) sum_w w for the second term: a slip, the derivative of
w^2 / 2 is w itself), so a gradient step becomes

    w <- w - eta dL0/dw - (eta lambda / n) w = (1 - eta lambda / n) w - eta dL0/dw:

every step first shrinks every weight by the factor (1 - eta lambda / n), "weight decay".

Part 1 checks that three ways of writing this are one update, to 1e-12 in float64: the
penalty ``losses.l2_penalty(params, lam, n)`` added to the loss with plain SGD, decoupled decay
``SGD(weight_decay=lam / n)`` on L0 alone, and the course's rescaling written out by hand.
(Here the penalty covers every parameter, biases too, because SGD's weight_decay does; pass only
the weights to l2_penalty to spare the biases.)

Part 2 shows what it is for: 30 noisy points of y = sin(x) + noise and a network far too big
for them (1-64-64-1, tanh). Without decay the weights grow and the curve threads through the
noise (low training loss, high test loss); with decay the weights stay small, the curve stays
smooth, and the gap between test and training loss shrinks. (The spikes in the loss of the run
without decay are steps that overshoot, as in example 03.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _shared import claim, parse_args, save
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor, no_grad, set_default_dtype
from tinygrad_edu.losses import l2_penalty, mse_loss
from tinygrad_edu.nn import MLP, Module
from tinygrad_edu.optim import SGD

N = 30  # training points: n in lambda / (2n)
LAM = 0.3  # lambda, so lambda / n = 0.01
ETA = 0.05


def noisy_sine(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points x ~ U(-3, 3), y = sin(x) + N(0, 0.3^2): the truth plus noise to overfit."""
    x = rng.uniform(-3, 3, size=(n, 1))
    return x, np.sin(x) + 0.3 * rng.standard_normal((n, 1))


def weight_norm(model: Module) -> float:
    """sqrt(sum_w w^2) over the weight matrices: the size the penalty pulls down."""
    weights = [p.data for name, p in model.named_parameters() if name.endswith("weight")]
    return float(np.sqrt(sum((w**2).sum() for w in weights)))


def three_updates(X: np.ndarray, y: np.ndarray, steps: int) -> float:
    """Run the three forms of the L2 update side by side; the largest difference seen."""
    start = MLP([1, 8, 8, 1], activation="tanh", rng=1).state_dict()
    models = []
    for _ in range(3):
        model = MLP([1, 8, 8, 1], activation="tanh")
        model.load_state_dict(start)
        models.append(model)
    penalised, decoupled, by_hand = models
    opt_penalty = SGD(penalised.parameters(), lr=ETA)
    opt_decay = SGD(decoupled.parameters(), lr=ETA, weight_decay=LAM / N)
    worst = 0.0
    for _ in range(steps):
        # (1) L = L0 + lambda / (2n) sum w^2, plain gradient descent
        opt_penalty.zero_grad()
        loss = mse_loss(penalised(X), y) + l2_penalty(penalised.parameters(), LAM, N)
        loss.backward()
        opt_penalty.step()
        # (2) L0 only; the optimiser adds (lambda / n) w to the gradient
        opt_decay.zero_grad()
        mse_loss(decoupled(X), y).backward()
        opt_decay.step()
        # (3) the course's rescaling, by hand: w <- (1 - eta lambda / n) w - eta dL0/dw
        by_hand.zero_grad()
        mse_loss(by_hand(X), y).backward()
        with no_grad():
            for p in by_hand.parameters():
                p.data[...] = (1 - ETA * LAM / N) * p.data - ETA * p.grad
        for a, b, c in zip(*(m.parameters() for m in models)):
            worst = max(
                worst, float(np.abs(a.data - b.data).max()), float(np.abs(a.data - c.data).max())
            )
    return worst


def train(
    X: Any, y: Any, X_test: Any, y_test: Any, weight_decay: float, steps: int, every: int
) -> dict[str, Any]:
    """Full-batch SGD with momentum; every few steps the train/test losses and ||w||."""
    model = MLP([1, 64, 64, 1], activation="tanh", rng=0)  # the same start for both runs
    opt = SGD(model.parameters(), lr=ETA, momentum=0.9, weight_decay=weight_decay)
    log: dict[str, Any] = {"step": [], "train": [], "test": [], "norm": []}

    def record(t: int) -> None:
        with no_grad():
            log["step"].append(t)
            log["train"].append(mse_loss(model(X), y).item())
            log["test"].append(mse_loss(model(X_test), y_test).item())
            log["norm"].append(weight_norm(model))

    for t in range(steps):
        if t % every == 0:
            record(t)
        opt.zero_grad()
        mse_loss(model(X), y).backward()
        opt.step()
    record(steps)
    log["model"] = model
    return log


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    set_default_dtype(np.float64)  # exact comparisons to 1e-12 need float64
    rng = np.random.default_rng(0)
    X, y = noisy_sine(N, rng)
    X_test, y_test = noisy_sine(500, rng)  # fresh points from the same distribution

    print("Part 1: three ways to write one L2-regularised step (float64)")
    w = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    l2_penalty([w], LAM, N).backward()
    claim(
        np.allclose(w.grad, LAM / N * w.data, rtol=1e-14, atol=0),
        "the gradient of lambda/(2n) sum w^2 is (lambda/n) w, weight by weight (not a sum)",
    )
    worst = three_updates(X, y, steps=5 if args.fast else 20)
    claim(
        worst < 1e-12,
        f"L0 + l2_penalty, SGD(weight_decay=lam/n) and w <- (1 - eta lam/n) w - eta dL0/dw "
        f"agree at every step (largest difference {worst:.1e})",
    )

    steps = 1000 if args.fast else 4000
    print(f"\nPart 2: {N} noisy points, an MLP 1-64-64-1 trained for {steps} full-batch steps")
    runs = {
        "no decay": train(X, y, X_test, y_test, 0.0, steps, every=10),
        f"lambda/n = {LAM / N:g}": train(X, y, X_test, y_test, LAM / N, steps, every=10),
    }
    print(f"  {'':<16} {'train loss':>10} {'test loss':>10} {'gap':>7} {'||w||':>7}")
    gap, norm, final = {}, {}, {}
    for name, log in runs.items():
        final[name] = (log["train"][-1], log["test"][-1])
        gap[name] = log["test"][-1] - log["train"][-1]
        norm[name] = log["norm"][-1]
        print(
            f"  {name:<16} {final[name][0]:10.3f} {final[name][1]:10.3f} {gap[name]:7.3f} "
            f"{norm[name]:7.2f}"
        )
    plain, decayed = runs
    claim(
        norm[decayed] < 0.5 * norm[plain],
        f"decay keeps the weights small: ||w|| = {norm[decayed]:.2f} against {norm[plain]:.2f}",
    )
    claim(
        final[plain][0] < final[decayed][0],
        "without decay the network fits the training points more closely (lower train loss)",
    )
    claim(
        gap[decayed] < 0.7 * gap[plain],
        f"... but overfits: the gap test - train is {gap[plain]:.3f} without decay, "
        f"{gap[decayed]:.3f} with it",
    )
    claim(
        final[decayed][1] < final[plain][1],
        "and with decay the test loss is lower: it generalises better",
    )

    fig = Figure(figsize=(15, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_fit, ax_norm, ax_loss = fig.subplots(1, 3)
    grid = np.linspace(-3.2, 3.2, 400)[:, None]
    ax_fit.plot(grid, np.sin(grid), color="0.6", ls=":", label="truth sin(x)")
    ax_fit.scatter(X, y, color="k", s=15, zorder=3, label=f"{N} training points")
    for (name, log), color in zip(runs.items(), ["C3", "C0"]):
        with no_grad():
            ax_fit.plot(grid, log["model"](grid).data, color=color, label=name)
        ax_norm.plot(log["step"], log["norm"], color=color, label=name)
        ax_loss.plot(log["step"], log["train"], color=color, label=f"{name}: train")
        ax_loss.plot(log["step"], log["test"], color=color, ls="--", label=f"{name}: test")
    ax_fit.set(title="the fitted curves", xlabel="x", ylabel="y", ylim=(-2, 2))
    ax_norm.set(title="||w|| during training", xlabel="step", ylabel="sqrt(sum w^2)")
    ax_loss.set(title="training and test loss (MSE)", xlabel="step", ylabel="loss", yscale="log")
    for ax in (ax_fit, ax_norm, ax_loss):
        ax.legend(fontsize="small")
    save(fig, args, __file__)


if __name__ == "__main__":
    main()
