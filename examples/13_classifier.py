"""A complete classifier: mini-batch SGD with momentum on the spiral and on handwritten digits.

What the notes claim (the notes on mini-batches): instead of one example per update, use a
mini-batch; the gradient is that of the average loss over the batch (an unbiased estimate of
the full gradient, computed with matrix-matrix products). With momentum, an annealed rate (the
annealing schedule alpha0 tau / max(t, tau)), a validation set to watch and inputs standardised
with training statistics (the notes on preprocessing), a small MLP learns what no linear model
can.

What the script shows: the average of the mini-batch gradients over an epoch is exactly the
full-batch gradient; ``train.fit`` with a ``DataLoader`` trains an MLP on the three-arm spiral
to >= 95% training accuracy (decision boundary and train/validation curves in the picture),
and an MLP on the 8x8 digits, standardised with the training set's statistics, to >= 95% test
accuracy.
"""

from __future__ import annotations

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor, no_grad
from tinygrad_edu.data import DataLoader, Standardizer, load_digits, make_spiral, train_test_split
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.optim.schedules import DelayedInverseDecay
from tinygrad_edu.train import History, accuracy, fit
from tinygrad_edu.viz import plot_decision_boundary, plot_history


def gradient(model: MLP, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dw of the mean cross-entropy on (X, y), all parameters flattened into one vector."""
    model.zero_grad()
    cross_entropy(model(Tensor(X)), y).backward()
    return np.concatenate([p.grad.ravel() for p in model.parameters()])


def spiral(epochs: int) -> tuple[MLP, np.ndarray, np.ndarray, History]:
    print("1. The spiral: 3 arms x 100 points, 80% to train, 20% to validate")
    X, y = make_spiral(n_per_class=100, n_classes=3, rng=0)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, rng=0)
    model = MLP([2, 64, 64, 3], activation="relu", rng=0)
    loader = DataLoader(X_train, y_train, batch_size=30, rng=0)  # 240 points: 8 batches

    # The notes on mini-batches: the mini-batch gradient estimates the full one. Over one epoch
    # the batches partition the training set, so (all batches being the same size) their
    # average is it.
    full = gradient(model, X_train, y_train)
    batches = [gradient(model, xb, yb) for xb, yb in loader]
    claim(len(batches) == 8 and np.allclose(np.mean(batches, axis=0), full, rtol=1e-4,
                                            atol=1e-6),
          "the average of the 8 mini-batch gradients of an epoch is the full-batch gradient")
    spread = np.linalg.norm(batches[0] - full) / np.linalg.norm(full)
    print(f"   one batch's gradient is off the full one by {spread:.0%}: a noisy estimate")

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = DelayedInverseDecay(opt, tau=20)  # constant for 20 epochs, then ~1/t
    history = fit(model, cross_entropy, opt, loader, epochs=epochs, val_data=(X_val, y_val),
                  scheduler=schedule, progress=False, jit=True)
    train_acc, val_acc = accuracy(model, X_train, y_train), accuracy(model, X_val, y_val)
    print(f"   {epochs} epochs of SGD (alpha0 = 0.1, mu = 0.9, alpha0 tau / max(t, tau)): "
          f"training accuracy {train_acc:.3f}, validation accuracy {val_acc:.3f}")

    rates = np.array(history.metric("lr"))
    t = np.arange(epochs)
    claim(len(history.losses) == epochs * len(loader) and
          np.allclose(rates, 0.1 * 20 / np.maximum(t, 20), rtol=1e-12),
          f"fit made {len(loader)} updates per epoch, and the rate of epoch t was "
          f"alpha0 tau / max(t, tau)")
    claim(train_acc >= 0.95, f"the MLP fits the spiral: training accuracy {train_acc:.3f} >= 0.95")
    claim(val_acc >= 0.9, f"and it generalises: validation accuracy {val_acc:.3f} >= 0.9")
    return model, X_train, y_train, history


def digits(epochs: int, fast: bool) -> tuple[History, np.ndarray, np.ndarray, np.ndarray]:
    print("2. The 8x8 digits: 75% train (of which 20% validate), 25% test")
    X, y = load_digits()
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, rng=0)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.2, rng=1)
    # Statistics of the training set only; validation and test data get the same transform.
    scaler = Standardizer().fit(X_train)
    X_train, X_val, X_test_std = (scaler.transform(A) for A in (X_train, X_val, X_test))
    model = MLP([64, 64, 10], activation="relu", rng=0)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(model, cross_entropy, opt, DataLoader(X_train, y_train, 32, rng=0),
                  epochs=epochs, val_data=(X_val, y_val),
                  scheduler=DelayedInverseDecay(opt, tau=5), progress=False, jit=True)
    test_acc = accuracy(model, X_test_std, y_test)
    print(f"   {len(y_train)} training images, {epochs} epochs: "
          f"test accuracy {test_acc:.3f} on {len(y_test)} images never seen")
    claim(test_acc >= (0.9 if fast else 0.95),
          f"the digits are learned: test accuracy {test_acc:.3f} >= {0.9 if fast else 0.95}")
    with no_grad():
        predicted = model(Tensor(X_test_std)).data.argmax(axis=1)
    return history, X_test, y_test, predicted


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    model, X_train, y_train, spiral_history = spiral(epochs=60 if args.fast else 200)
    digits_history, X_test, y_test, predicted = digits(epochs=5 if args.fast else 20,
                                                       fast=args.fast)

    fig = Figure(figsize=(16, 9.5), layout="constrained")
    FigureCanvasAgg(fig)
    (ax_boundary, ax_loss, ax_acc), (ax_wrong, ax_dloss, ax_dacc) = fig.subplots(2, 3)
    plot_decision_boundary(model, X_train, y_train, ax=ax_boundary,
                           title="spiral: decision boundary (training points)")
    plot_history(spiral_history, per="epoch", ax=ax_loss, log_y=True,
                 title="spiral: loss per epoch")
    plot_history(spiral_history, per="epoch", metric="accuracy", ax=ax_acc,
                 title="spiral: accuracy per epoch")
    plot_history(digits_history, per="epoch", ax=ax_dloss, log_y=True,
                 title="digits: loss per epoch")
    plot_history(digits_history, per="epoch", metric="accuracy", ax=ax_dacc,
                 title="digits: accuracy per epoch")

    # The test digits the model gets wrong, in one montage: true -> predicted label.
    wrong = np.flatnonzero(predicted != y_test)[:12]
    montage = np.ones((3 * 10, 4 * 10))
    for k, i in enumerate(wrong):
        r, c = divmod(k, 4)
        montage[r * 10 + 1 : r * 10 + 9, c * 10 + 1 : c * 10 + 9] = 1 - X_test[i].reshape(8, 8) / 16
        ax_wrong.text(c * 10 + 5, r * 10 + 9.8, f"{y_test[i]} -> {predicted[i]}", ha="center",
                      color="red", fontsize=9)
    ax_wrong.imshow(montage, cmap="gray", vmin=0, vmax=1)
    ax_wrong.set_axis_off()
    ax_wrong.set_title(f"digits: test images it gets wrong ({np.sum(predicted != y_test)} of "
                       f"{len(y_test)}), true -> predicted")
    fig.savefig(picture(args, __file__), dpi=80)
    print(f"picture: {picture(args, __file__)}")


if __name__ == "__main__":
    main()
