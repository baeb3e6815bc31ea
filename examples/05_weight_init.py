"""Weight initialisation: why std 1/sqrt(N_in) (and Xavier) rather than the standard normal.

The initialisation notes take 1000 inputs all equal to 1 and one unit z = w.x + b. With every
w_j and b drawn from the standard normal, z is a sum of 1001 independent N(0, 1), so std(z) =
sqrt(1001) ~ 31.6: tanh(z) is almost always +-1, where its derivative 1 - tanh^2(z) is ~0, and
the update w <- w - eta (1 - tanh^2(z)) x delta barely moves w. With w_j ~ N(0, 1/1000) (b
still N(0, 1)), var(z) = 1000/1000 + 1, std(z) = sqrt(2) ~ 1.41, and the unit starts where it
can learn.

The notes on Xavier initialisation add U(+-sqrt(6 / (fan_in + fan_out))), which
keeps the variances of activations and of backpropagated gradients roughly constant across
layers. (For square layers its variance 2 / (n + n) = 1/n is exactly the fan-in rule's.)

The script measures std(z) over many draws of tinygrad_edu.nn.init.standard_normal and
normal_fan_in, counts the saturated units, lets the engine backpropagate through the layer to
show the vanishing gradient, and then compares the gradient norm of every layer of a deep tanh
network (10 hidden layers of 256 units) under Xavier, fan-in, standard-normal and "small"
N(0, 0.01^2) weights, after one backward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from _shared import claim, parse_args, save
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP, init

N_IN = 1000  # the initialisation notes' inputs, all equal to 1
WIDTH, DEPTH = 256, 10  # the deep network: 10 hidden tanh layers of 256 units


def small_normal(shape: tuple[int, ...], rng: Any = None) -> np.ndarray:
    """N(0, 0.01^2) whatever the fans: the "small random numbers" of the notes."""
    return init.as_generator(rng).normal(0.0, 0.01, size=shape)


def one_layer(weights: Callable[..., np.ndarray], draws: int, seed: int) -> dict[str, np.ndarray]:
    """The notes' layer: ``draws`` units, each z = w.x + b, x = (1, ..., 1), b ~ N(0, 1).

    Returns z, and dL/dW from the engine for L = sum tanh(z) (one backward pass).
    """
    rng = np.random.default_rng(seed)
    W = Tensor(weights((draws, N_IN), rng=rng), requires_grad=True)  # one row per unit
    b = Tensor(init.standard_normal((draws,), rng=rng))
    x = Tensor(np.ones(N_IN))
    z = W @ x + b
    z.tanh().sum().backward()
    return {"z": z.data, "grad": W.grad}


def layer_gradient_norms(weights: str | Callable[..., np.ndarray], seed: int) -> list[float]:
    """||dL/dW|| of every layer of a deep tanh MLP after one backward pass on random data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((128, WIDTH))
    y = rng.integers(0, 10, size=128)  # random labels: only the flow of gradients matters here
    model = MLP([WIDTH] * (DEPTH + 1) + [10], activation="tanh", init=weights, rng=seed)
    cross_entropy(model(X), y).backward()
    weights_only = [p for name, p in model.named_parameters() if name.endswith("weight")]
    return [float(np.linalg.norm(p.grad)) for p in weights_only]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    draws = 2000 if args.fast else 8000

    # 1. The initialisation notes' experiment: the spread of z.
    print(f"1000 inputs equal to 1, b ~ N(0, 1), {draws} independent units:")
    layers = {
        "standard normal w": one_layer(init.standard_normal, draws, seed=0),
        "w ~ N(0, 1/1000)": one_layer(init.normal_fan_in, draws, seed=1),
    }
    z_std = {name: float(layer["z"].std()) for name, layer in layers.items()}
    saturated = {name: float(np.mean(np.abs(np.tanh(L["z"])) > 0.99)) for name, L in layers.items()}
    median_grad = {name: float(np.median(np.abs(L["grad"][:, 0]))) for name, L in layers.items()}
    for name in layers:
        print(
            f"  {name:<18} std(z) = {z_std[name]:6.2f}   |tanh(z)| > 0.99 for "
            f"{saturated[name]:6.1%}   median |dL/dw| = {median_grad[name]:.2e}"
        )
    wide, narrow = layers
    claim(
        abs(z_std[wide] / math.sqrt(1001) - 1) < 0.05,
        f"standard normal weights: std(z) = {z_std[wide]:.2f} ~ sqrt(1001) = 31.64 (within 5%)",
    )
    claim(
        abs(z_std[narrow] / math.sqrt(2) - 1) < 0.05,
        f"std 1/sqrt(1000) weights: std(z) = {z_std[narrow]:.3f} ~ sqrt(2) = 1.414 (within 5%)",
    )
    claim(
        saturated[wide] > 0.9 and saturated[narrow] < 0.1,
        f"tanh saturates for {saturated[wide]:.0%} of the standard-normal units, "
        f"{saturated[narrow]:.0%} of the 1/sqrt(N_in) ones",
    )
    # The engine's dL/dW_ij is the notes' (1 - tanh^2(z_i)) x_j: the activation's derivative
    # scales every update, so a saturated unit gets (almost) none.
    claim(
        all(
            np.allclose(L["grad"], (1 - np.tanh(L["z"]) ** 2)[:, None] * np.ones(N_IN))
            for L in layers.values()
        ),
        "the engine's dL/dw_ij equals (1 - tanh^2(z_i)) x_j, for both initialisations",
    )
    # For |z| > ~19, tanh(z) rounds to exactly +-1 in float64 and the gradient is exactly 0:
    # that is where most standard-normal units sit.
    claim(
        median_grad[wide] < 1e-6 * median_grad[narrow],
        "a saturated layer passes back (almost) nothing: the median |dL/dw| is over a million "
        "times smaller with standard normal weights",
    )

    # 2. Xavier's notes: a deep tanh network, gradient norms layer by layer.
    schemes: dict[str, str | Callable[..., np.ndarray]] = {
        "xavier_uniform": "xavier_uniform",
        "xavier_normal": "xavier_normal",
        "normal_fan_in": "normal_fan_in",
        "standard_normal": "standard_normal",
        "small N(0, 0.01^2)": small_normal,
    }
    seeds = [0] if args.fast else [0, 1, 2]
    norms = {
        name: np.mean([layer_gradient_norms(s, seed) for seed in seeds], axis=0)
        for name, s in schemes.items()
    }
    # first hidden layer against the last hidden one: how much the gradient grew or shrank
    # on its way back through DEPTH - 1 tanh layers
    ratio = {name: n[0] / n[DEPTH - 1] for name, n in norms.items()}
    print(f"\n||dL/dW|| per layer of a {DEPTH}-layer tanh network (layer 1 = nearest the input):")
    for name, n in norms.items():
        print(
            f"  {name:<19} layer 1: {n[0]:9.2e}  layer {DEPTH}: {n[DEPTH - 1]:9.2e}  "
            f"ratio {ratio[name]:9.3g}"
        )
    for name in ["xavier_uniform", "xavier_normal", "normal_fan_in"]:
        claim(
            0.5 < ratio[name] < 2,
            f"{name}: the gradient norm stays within a factor 2 "
            f"from layer {DEPTH} back to layer 1 (ratio {ratio[name]:.2f})",
        )
    claim(
        ratio["standard_normal"] > 100,
        f"standard normal: the gradient explodes on its way back, ratio "
        f"{ratio['standard_normal']:.3g} (> 100)",
    )
    claim(
        norms["small N(0, 0.01^2)"].max() < 1e-4 * norms["xavier_uniform"].min(),
        "tiny N(0, 0.01^2) weights: every layer's gradient vanishes (< 1e-4 of Xavier's)",
    )

    fig = Figure(figsize=(15, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_z, ax_d, ax_g = fig.subplots(1, 3)
    bins = np.linspace(-100, 100, 201)
    for (name, layer), color in zip(layers.items(), ["C3", "C2"]):
        ax_z.hist(
            layer["z"],
            bins=bins,
            density=True,
            alpha=0.6,
            color=color,
            label=f"{name}: std {z_std[name]:.2f}",
        )
        ax_d.hist(
            1 - np.tanh(layer["z"]) ** 2,
            bins=np.linspace(0, 1, 41),
            alpha=0.6,
            color=color,
            label=name,
        )
    grid = np.linspace(-100, 100, 1001)
    for s, color in [(math.sqrt(1001), "darkred"), (math.sqrt(2), "darkgreen")]:
        pdf = np.exp(-(grid**2) / (2 * s * s)) / (s * math.sqrt(2 * math.pi))
        ax_z.plot(grid, pdf, color=color, lw=1, label=f"N(0, {s:.2f}^2)")
    ax_z.set_yscale("log")
    ax_z.set_ylim(1e-4, 1)
    ax_z.set(title="z = w.x + b, 1000 inputs equal to 1", xlabel="z", ylabel="density (log)")
    ax_z.legend(fontsize="small")
    ax_d.set_yscale("log")
    ax_d.set(
        title="tanh'(z) = 1 - tanh^2(z): what scales dL/dw", xlabel="tanh'(z)", ylabel="units (log)"
    )
    ax_d.legend(fontsize="small")
    layers_axis = np.arange(1, len(norms["xavier_uniform"]) + 1)
    for name, n in norms.items():
        ax_g.plot(layers_axis, n, marker="o", label=name)
    ax_g.set_yscale("log")
    ax_g.set(
        title=f"{DEPTH} tanh layers of {WIDTH}: ||dL/dW|| after one backward",
        xlabel=f"layer (1 = input side, {DEPTH + 1} = output)",
        ylabel="||dL/dW|| (log)",
    )
    ax_g.legend(fontsize="small", loc="lower right", bbox_to_anchor=(1, 0.12))  # empty band
    save(fig, args, __file__)


if __name__ == "__main__":
    main()
