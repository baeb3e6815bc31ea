"""A convolutional network on the digits: shared local weights beat the MLP of lesson 13.

What the lesson shows: an MLP sees a digit as 64 unrelated numbers; a convolution layer sees
it as an image. Each of its units looks at a 3x3 patch only and the same 3x3 weights slide over
every position (weight sharing), so a layer of 16 filters has 16 * 9 + 16 = 160 parameters
whatever the image size, and what it learns at one place it knows everywhere. The backward pass
is the same chain rule as for a Linear layer: the convolution is a matrix product once every
patch is laid out as a column (im2col), and each weight's gradient sums over every position it
was used at.

What the script checks: the convolution's gradients (input and weights) agree with central
differences; sliding a 3x3 kernel over a one-pixel image paints the kernel rotated by 180
degrees around that pixel (conv2d is a cross-correlation, as in PyTorch); the CNN (two 3x3 conv
layers with 16 and 32 filters, a 2x2 max-pool and one Linear layer) beats the MLP of lesson 13
trained on the same split for the same number of epochs; and the picture shows the 16 learned
first-layer filters and the feature maps of one test digit.
"""

from __future__ import annotations

import numpy as np
from _shared import claim, parse_args, save
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor, no_grad
from tinygrad_edu.data import DataLoader, Standardizer, load_digits, train_test_split
from tinygrad_edu.gradcheck import gradcheck
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from tinygrad_edu.optim import SGD
from tinygrad_edu.optim.schedules import DelayedInverseDecay
from tinygrad_edu.train import History, accuracy, fit


def convolution_facts() -> None:
    print("1. What a convolution computes, and its gradient")
    kernel = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    dot = np.zeros((1, 1, 5, 5))
    dot[0, 0, 2, 2] = 1.0
    out = Tensor(dot).conv2d(Tensor(kernel), padding=1).data[0, 0]
    # Output (i, j) sums kernel[a, b] * x[i + a - 1, j + b - 1]: the dot at (2, 2) meets
    # kernel entry (a, b) at output (3 - a, 3 - b), so the kernel appears upside down.
    claim(np.array_equal(out[1:4, 1:4], kernel[0, 0, ::-1, ::-1]),
          "a 3x3 kernel slid over a one-pixel image paints the kernel, rotated by 180 degrees, "
          "around the pixel (conv2d is a cross-correlation, as in PyTorch)")
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    claim(gradcheck(lambda x, w, b: x.conv2d(w, b, stride=2, padding=1).tanh(), [x, w, b]),
          "backprop through conv2d (stride 2, padding 1) agrees with central differences for "
          "the input, the kernels and the biases")
    layer = Conv2d(1, 16, 3, padding=1)
    claim(layer.num_parameters() == 16 * 9 + 16,
          "16 filters of 3x3 have 160 parameters, whatever the size of the image")


def split() -> tuple[np.ndarray, ...]:
    """Lesson 13's split: 75% train (of which 20% validate), 25% test, the same seeds."""
    X, y = load_digits()
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, rng=0)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.2, rng=1)
    return X_train, X_val, X_test, y_train, y_val, y_test


def train(model, X_train, y_train, X_val, y_val, epochs: int) -> History:
    """Lesson 13's recipe: SGD with momentum 0.9 from lr 0.05, annealed after 5 epochs."""
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    return fit(model, cross_entropy, opt, DataLoader(X_train, y_train, 32, rng=0),
               epochs=epochs, val_data=(X_val, y_val),
               scheduler=DelayedInverseDecay(opt, tau=5), progress=False)


def images(X: np.ndarray) -> np.ndarray:
    """Rows of 64 intensities 0..16 -> NCHW images (N, 1, 8, 8) in [0, 1]."""
    return (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    epochs = 3 if args.fast else 20
    convolution_facts()

    X_train, X_val, X_test, y_train, y_val, y_test = split()
    print(f"2. Lesson 13's MLP 64-64-10 on the standardised pixels, {epochs} epochs")
    scaler = Standardizer().fit(X_train)
    mlp = MLP([64, 64, 10], activation="relu", rng=0)
    mlp_history = train(mlp, scaler.transform(X_train), y_train, scaler.transform(X_val),
                        y_val, epochs)
    mlp_acc = accuracy(mlp, scaler.transform(X_test), y_test)
    print(f"   test accuracy {mlp_acc:.3f} ({mlp.num_parameters()} parameters)")

    print(f"3. A CNN on the 8x8 images, {epochs} epochs")
    cnn = Sequential(
        Conv2d(1, 16, 3, padding=1, rng=0), ReLU(),    # 16 maps of 8x8
        Conv2d(16, 32, 3, padding=1, rng=1), ReLU(),   # 32 maps of 8x8
        MaxPool2d(2), Flatten(),                       # 32 maps of 4x4 -> 512 features
        Linear(32 * 4 * 4, 10, rng=2),
    )  # fmt: skip
    cnn_history = train(cnn, images(X_train), y_train, images(X_val), y_val, epochs)
    cnn_acc = accuracy(cnn, images(X_test), y_test)
    print(f"   test accuracy {cnn_acc:.3f} ({cnn.num_parameters()} parameters)")
    wrong_mlp, wrong_cnn = round((1 - mlp_acc) * len(y_test)), round((1 - cnn_acc) * len(y_test))
    claim(cnn_acc > mlp_acc,
          f"the CNN beats the MLP on the same {len(y_test)} test digits: {cnn_acc:.3f} > "
          f"{mlp_acc:.3f} ({wrong_cnn} mistakes instead of {wrong_mlp})")
    if not args.fast:
        claim(cnn_acc >= 0.98, f"the CNN reaches {cnn_acc:.3f} >= 0.98 test accuracy")

    # What the first layer learned, and what one test digit looks like after each stage.
    digit = images(X_test[:1])
    with no_grad():
        maps1 = cnn[1](cnn[0](Tensor(digit))).data[0]           # (16, 8, 8) after ReLU
        maps2 = cnn[3](cnn[2](Tensor(maps1[None]))).data[0]     # (32, 8, 8) after ReLU
        pooled = cnn[4](Tensor(maps2[None])).data[0]            # (32, 4, 4)
    claim(np.array_equal(pooled, maps2.reshape(32, 4, 2, 4, 2).max(axis=(2, 4))),
          "each pooled value is the largest of its 2x2 block of the conv2 map")

    fig = Figure(figsize=(15, 9.5))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 4)
    ax_digit = fig.add_subplot(grid[0, 0])
    ax_digit.imshow(digit[0, 0], cmap="gray_r")
    ax_digit.set_title(f"a test digit (label {y_test[0]})")
    ax_digit.set_axis_off()
    filters = cnn[0].weight.data[:, 0]
    _montage(fig.add_subplot(grid[0, 1]), filters, 4, "the 16 learned conv1 filters (3x3)",
             cmap="RdBu_r", symmetric=True)
    _montage(fig.add_subplot(grid[0, 2]), maps1, 4, "its 16 conv1 feature maps (after ReLU)")
    _montage(fig.add_subplot(grid[0, 3]), maps2, 8, "its 32 conv2 feature maps (after ReLU)")
    _montage(fig.add_subplot(grid[1, 3]), pooled, 8, "after the 2x2 max-pool: 32 maps of 4x4")
    ax_acc = fig.add_subplot(grid[1, 0:3])
    t = np.arange(1, epochs + 1)
    ax_acc.plot(t, mlp_history.metric("val_accuracy"), "o-",
                label=f"MLP 64-64-10 ({mlp.num_parameters()} parameters), test {mlp_acc:.3f}")
    ax_acc.plot(t, cnn_history.metric("val_accuracy"), "s-",
                label=f"CNN ({cnn.num_parameters()} parameters), test {cnn_acc:.3f}")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_title("the same data, split and optimiser: the CNN learns the digits better")
    ax_acc.legend(loc="lower right")
    ax_acc.grid(alpha=0.3)
    save(fig, args, __file__)


def _montage(ax, maps: np.ndarray, columns: int, title: str, cmap: str = "viridis",
             symmetric: bool = False) -> None:
    """Draw maps (K, h, w) in a grid of ``columns``, one pixel of white between them."""
    k, h, w = maps.shape
    rows = -(-k // columns)
    canvas = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i in range(k):
        r, c = divmod(i, columns)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = maps[i]
    limit = np.nanmax(np.abs(canvas)) if symmetric else None
    ax.imshow(canvas, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit)
    ax.set_title(title)
    ax.set_axis_off()


if __name__ == "__main__":
    main()
