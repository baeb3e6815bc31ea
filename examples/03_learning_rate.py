"""The learning rate: slow and smooth, fast with bumps, or too large and never converging.

The notes on the learning rate train a small tanh network by gradient descent, w <- w - eta
dL/dw, on the total (summed) cross-entropy loss, and compares eta = 0.001 with eta = 0.01: the
smaller rate decreases smoothly but needs more iterations; the larger one gets lower faster but
shows "funny bumps", steps where it overshoots the minimum and the loss goes up. With a rate
that is too large it overshoots all the time and never converges.

The script runs that experiment: two moons (200 points, noise 0.2), an MLP 2-10-2 with tanh,
full-batch plain SGD on the summed cross-entropy (so every step is one gradient-descent step on
the total loss), the same initial weights for every eta, and the same number of steps. It counts
the bumps, the steps where the loss rises by more than 1%.
"""

from __future__ import annotations

import numpy as np
from _shared import claim, parse_args, save
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.data import DataLoader, make_moons
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.train import History, fit
from tinygrad_edu.viz import plot_history

RATES = [0.001, 0.01, 0.5]  # slow, good, too large
BUMP = 0.01  # a step counts as a bump when the loss rises by more than 1%


def total_loss(scores: Tensor, labels: np.ndarray) -> Tensor:
    """The note's total loss L = sum_i -log p_(y_i): its gradient is not divided by n."""
    return cross_entropy(scores, labels, reduction="sum")


def bumps(history: History) -> np.ndarray:
    """The steps t where L_t > (1 + BUMP) L_(t-1): the loss went up, the step overshot."""
    L = np.asarray(history.losses)
    return np.flatnonzero(L[1:] > (1 + BUMP) * L[:-1]) + 1


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    steps = 300 if args.fast else 2000
    X, y = make_moons(n_samples=200, noise=0.2, rng=0)
    # one batch holding every point: one step of fit = one step of full gradient descent
    loader = DataLoader(X, y, batch_size=len(X), shuffle=False)
    start = MLP([2, 10, 2], activation="tanh", rng=0).state_dict()

    histories: dict[float, History] = {}
    for eta in RATES:
        model = MLP([2, 10, 2], activation="tanh")
        model.load_state_dict(start)  # every run starts from the same weights
        optimizer = SGD(model.parameters(), lr=eta)
        histories[eta] = fit(model, total_loss, optimizer, loader, epochs=steps, progress=False)

    L0 = histories[RATES[0]].losses[0]
    print(f"{steps} steps of gradient descent from the same start (loss {L0:.1f}):")
    print(f"  {'eta':>6} {'final loss':>11} {'lowest':>9} {'bumps (> 1% rise)':>18}")
    for eta, h in histories.items():
        print(f"  {eta:>6} {h.losses[-1]:11.2f} {min(h.losses):9.2f} {len(bumps(h)):18d}")
    slow, good, large = (histories[eta] for eta in RATES)

    print("\nwhat the notes on the learning rate say:")
    claim(
        all(histories[eta].losses[0] == L0 for eta in RATES),
        "every rate starts from the same weights (the same first loss)",
    )
    # how long the good rate takes to get where the slow one ends
    catch_up = int(np.argmax(np.asarray(good.losses) <= slow.losses[-1])) + 1
    claim(
        good.losses[-1] < slow.losses[-1] and catch_up < steps / 3,
        f"eta = 0.01 gets lower faster: it reaches eta = 0.001's final loss "
        f"{slow.losses[-1]:.2f} after {catch_up} of the {steps} steps, and ends at "
        f"{good.losses[-1]:.2f}",
    )
    claim(
        len(bumps(slow)) == 0 and np.all(np.diff(slow.losses) <= 0),
        "eta = 0.001 has no bumps: its loss never goes up",
    )
    claim(
        0 < len(bumps(good)) < 0.05 * steps,
        f"eta = 0.01 shows a few funny bumps ({len(bumps(good))} steps where the loss rises)",
    )
    claim(
        len(bumps(large)) > 10 * len(bumps(good)) and large.losses[-1] > good.losses[-1],
        f"eta = 0.5 overshoots all the time ({len(bumps(large))} bumps) and ends higher "
        f"({large.losses[-1]:.0f})",
    )
    claim(
        np.median(large.losses[steps // 2 :]) > L0,
        "eta = 0.5 never converges: over the second half its median loss is above the start",
    )

    fig = Figure(figsize=(13, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax_all, ax_zoom = fig.subplots(1, 2)
    labels = [f"eta = {eta}" for eta in RATES]
    plot_history(
        list(histories.values()),
        labels=labels,
        ax=ax_all,
        log_y=True,
        title=f"total loss, {steps} full-batch steps (log scale)",
    )
    # The note's own picture: the two good rates on a linear scale, the bumps marked.
    zoom = 60
    plot_history(
        [slow.losses[:zoom], good.losses[:zoom]],
        labels=labels[:2],
        ax=ax_zoom,
        title=f"the first {zoom} steps: eta = 0.01 overshoots",
    )
    t = bumps(good)
    t = t[t < zoom]
    # plot_history numbers steps from 1: loss index t is drawn at x = t + 1
    ax_zoom.scatter(
        t + 1, np.asarray(good.losses)[t], color="red", zorder=5, label="a bump: the loss went up"
    )
    ax_zoom.legend()
    save(fig, args, __file__)


if __name__ == "__main__":
    main()
