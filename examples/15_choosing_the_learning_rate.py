"""Choosing the learning rate by cross-validation: too small is slow, too large oscillates.

The notes on the learning rate say it is something "you will usually calculate using cross
validation", and the notes on training that it "is a hyperparameter that we need to tune using
train/validation/test sets" and that "good values are often between 0.001 and 0.1".

The script does exactly that with ``tinygrad_edu.tune.grid_search``: the two moons (200 points,
noise 0.2), a 2-16-2 tanh network trained by full-batch gradient descent on the total (summed)
cross-entropy, as in lesson 03, for eta from 10^-4 to 1 (three rates a decade). Each rate is
trained k times, once per fold of a stratified 5-fold split, with the inputs standardised on the
training folds only, and measured on the fold it has not seen. The trials run on local worker
processes (joblib; with --fast, fewer and shorter trials one after another in this process); a
seed makes every trial's numbers the same on any engine.
"""

from __future__ import annotations

import numpy as np
from _shared import claim, parse_args, save
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.data import make_moons
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.tune import grid_search, plot_training_curves, plot_validation_curve


def total_loss(scores: Tensor, labels: np.ndarray) -> Tensor:
    """The note's total loss L = sum_i -log p_(y_i)."""
    return cross_entropy(scores, labels, reduction="sum")


def build(lr: float, rng: np.random.Generator) -> tuple[MLP, object, SGD]:
    """One trial's network, loss and optimiser; ``rng`` is the trial's own Generator."""
    model = MLP([2, 16, 2], activation="tanh", rng=rng)
    return model, total_loss, SGD(model.parameters(), lr=lr)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    if args.fast:
        rates, k, steps, backend = [1e-4, 1e-3, 1e-2, 3e-2, 1.0], 3, 60, "sequential"
    else:
        rates, k, steps, backend = [float(f"{r:.1g}") for r in np.logspace(-4, 0, 13)], 5, 200, (
            "processes"
        )
    X, y = make_moons(n_samples=200, noise=0.2, rng=0)
    result = grid_search(
        build, {"lr": rates}, X, y, k=k, backend=backend, seed=0, epochs=steps,
        batch_size=None, preprocess="standardize", progress=False,
    )  # fmt: skip
    table = result.table
    n_val = len(X) // k  # stratified folds of equal size: the loss per validation sample

    print(f"{k}-fold cross-validation, {steps} full-batch steps per trial, {len(result.trials)} "
          f"trials on {backend!r} in {result.elapsed:.1f} s:")  # fmt: skip
    print(f"  {'eta':>7} {'val loss / sample':>18} {'val acc':>8}   train loss / sample: "
          "first step, median of the second half, last")  # fmt: skip

    def train_curve(s: int) -> np.ndarray:
        """The training loss per sample after each step, averaged over the folds."""
        n_train = len(X) - n_val
        return np.mean([h.losses for h in result.histories(s)], axis=0) / n_train

    def late(s: int) -> float:
        """The median training loss over the second half of the steps."""
        return float(np.median(train_curve(s)[steps // 2 :]))

    for s, row in enumerate(table):
        curve = train_curve(s)
        print(f"  {rates[s]:>7g} {row['mean_val_loss'] / n_val:>10.3f} ± "
              f"{row['std_val_loss'] / n_val:<6.3f} {row['mean_val_accuracy']:>8.3f}   "
              f"{curve[0]:8.3f} {late(s):8.3f} {curve[-1]:8.3f}")  # fmt: skip
    best = result.best_index
    eta = result.best_params["lr"]
    print(f"\nthe best rate: eta = {eta:g} (validation loss per sample "
          f"{result.best_score / n_val:.3f})")  # fmt: skip

    print("\nwhat the notes on the learning rate say:")
    val = np.array([row["mean_val_loss"] for row in table])
    small = train_curve(0)
    claim(
        bool(np.all(np.diff(small[steps // 2 :]) < 0)) and small[-1] > 3 * train_curve(best)[-1],
        f"too small converges slowly: with eta = {rates[0]:g} the training loss still falls at "
        f"every step of the second half, yet ends at {small[-1]:.3f}, over 3x the best rate's "
        f"{train_curve(best)[-1]:.3f}",
    )
    large = len(rates) - 1
    diverged = table[large]["failed"] > 0
    start = train_curve(large)[0]
    claim(
        diverged or (late(large) > start and val[large] > 10 * val[best]),
        f"too large diverges or oscillates: with eta = {rates[large]:g} the training loss never "
        f"settles (median {late(large):.2f} over the second half, above its first {start:.2f}) "
        f"and the validation loss is {val[large] / val[best]:.0f}x the best",
    )
    claim(
        0 < best < large and val[0] > 2 * val[best] and val[large] > 2 * val[best],
        f"the best rate lies in between: eta = {eta:g}, with both ends at over twice its "
        "validation loss",
    )
    claim(
        0.001 <= eta <= 0.1,
        f"good values are often between 0.001 and 0.1: cross-validation picks eta = {eta:g}",
    )

    fig = Figure(figsize=(13, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax_curve, ax_train = fig.subplots(1, 2)
    plot_validation_curve(
        result, param="lr", ax=ax_curve, log_y=True,
        title=f"validation loss (sum over a fold of {n_val}) against eta",
    )  # fmt: skip
    plot_training_curves(
        result, metric="loss", ax=ax_train, log_y=True,
        title=f"training loss per step, mean over {k} folds",
    )  # fmt: skip
    # one colour per rate, from dark (small) to yellow (large), instead of a repeating cycle
    colours = colormaps["viridis"](np.linspace(0, 1, len(ax_train.lines)))
    for line, colour in zip(ax_train.lines, colours):
        line.set_color(colour)
    ax_train.set_xlabel("step (one full-batch epoch)")
    ax_train.legend(fontsize=7, ncol=2)
    save(fig, args, __file__)


if __name__ == "__main__":
    main()
