"""Activations and their derivatives, with the derivatives taken from the engine's own backprop.

The notes on activations list six activations and their derivatives:

    sigmoid   sigma(z) = 1 / (1 + e^-z)        sigma'(z) = sigma(z) (1 - sigma(z))
    tanh      tanh(z) = 2 sigma(2z) - 1        tanh'(z) = 1 - tanh^2(z)
    hard tanh clip(z, -1, 1)                   1 on -1 <= z <= 1, 0 elsewhere
    soft sign z / (1 + |z|)                    1 / (1 + |z|)^2
    ReLU      max(z, 0)                        1 for z > 0, 0 otherwise
    leaky     max(z, k z), 0 < k < 1           1 for z > 0, k otherwise

(The notes have three slips, corrected above: they write sigma' = -e^-z / (1 + e^-z), the
soft-sign derivative as sgn(z) / (1 + z)^2 and the hard-tanh one as 1 on -1 <= z <= -1.)

The script does not differentiate anything by hand: it puts z on a grid as one Tensor that
requires grad, runs f(z).sum().backward(), and reads z.grad. Because every output a_i depends
only on z_i, d(sum_i a_i)/dz_i = f'(z_i): one backward pass gives the whole derivative curve.
It then checks the engine's curves against the formulas above, exactly where the formula is
piecewise constant, and draws each function next to its derivative.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _shared import claim, parse_args, save
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor

K = 0.1  # the leaky ReLU's slope k; larger than the usual 0.01 so the picture shows it


def engine_derivative(f: Callable[[Tensor], Tensor], z: np.ndarray) -> tuple[np.ndarray, ...]:
    """f(z) and f'(z) on a grid, the derivative from one backward pass of sum(f(z))."""
    zt = Tensor(z, requires_grad=True)  # a float64 array stays float64: exact comparisons
    a = f(zt)
    a.sum().backward()
    return a.data, zt.grad


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    # Integers / 100 are correctly rounded, so -1.0, 0.0 and 1.0 are exactly on the grid:
    # the kinks of hard tanh and ReLU are tested where they are, not next to them.
    steps = 200 if args.fast else 800
    z = np.arange(-steps, steps + 1) / (steps / 4)  # [-4, 4]
    s = 1 / (1 + np.exp(-z))  # numpy's sigma, to compare the engine with

    activations = {
        "sigmoid": (lambda t: t.sigmoid(), s * (1 - s)),
        "tanh": (lambda t: t.tanh(), 1 - np.tanh(z) ** 2),
        "hard tanh": (lambda t: t.hardtanh(), ((z >= -1) & (z <= 1)).astype(float)),
        "soft sign": (lambda t: t.softsign(), 1 / (1 + np.abs(z)) ** 2),
        "ReLU": (lambda t: t.relu(), (z > 0).astype(float)),
        f"leaky ReLU (k = {K})": (lambda t: t.leaky_relu(K), np.where(z > 0, 1.0, K)),
    }
    curves = {}
    print(f"{'activation':<20} {'f(0)':>7} {'f_prime(0)':>11} {'max |engine - formula|':>24}")
    for name, (f, formula) in activations.items():
        a, da = engine_derivative(f, z)
        curves[name] = (a, da)
        zero = steps  # index of z = 0
        error = np.max(np.abs(da - formula))
        print(f"{name:<20} {a[zero]:7.3f} {da[zero]:11.3f} {error:24.2e}")

    print("\nwhat the notes claim, checked on the engine's gradients:")
    smooth = ["sigmoid", "tanh", "soft sign"]
    for name in smooth:
        _, formula = activations[name]
        claim(
            np.allclose(curves[name][1], formula, rtol=1e-12, atol=1e-15),
            f"{name}: the engine's derivative equals the formula to 1e-12",
        )
    # The notes' sigma' slip: -e^-z / (1 + e^-z) is negative, sigma' is not; the correct
    # e^-z / (1 + e^-z)^2 is the same function as sigma (1 - sigma).
    claim(
        np.allclose(curves["sigmoid"][1], np.exp(-z) / (1 + np.exp(-z)) ** 2, rtol=1e-12)
        and np.all(curves["sigmoid"][1] > 0),
        "sigmoid' = e^-z / (1 + e^-z)^2 = sigma(1 - sigma) > 0 (not -e^-z / (1 + e^-z))",
    )
    claim(
        curves["sigmoid"][1][steps] == 0.25 and curves["tanh"][1][steps] == 1.0,
        "sigma'(0) = 1/4 exactly and tanh'(0) = 1 exactly: tanh's slope is 4 times steeper",
    )
    finite = z > -1  # the notes' soft-sign formula divides by zero at z = -1
    with_slip = np.sign(z[finite]) / (1 + z[finite]) ** 2
    claim(
        not np.allclose(curves["soft sign"][1][finite], with_slip),
        "soft sign: the notes' sgn(z) / (1 + z)^2 is not the derivative; 1 / (1 + |z|)^2 is",
    )
    for name in ["hard tanh", "ReLU", f"leaky ReLU (k = {K})"]:
        _, formula = activations[name]
        claim(
            np.array_equal(curves[name][1], formula),
            f"{name}: the engine's derivative is exactly the piecewise formula, kinks included",
        )
    edge = np.isin(z, [-1.0, 1.0])
    claim(
        edge.sum() == 2 and np.all(curves["hard tanh"][1][edge] == 1.0),
        "hard tanh' = 1 at z = -1 and z = 1 (the closed interval -1 <= z <= 1)",
    )
    # tanh and sigmoid are one curve, rescaled: the engine's own forward passes agree.
    two_sigma = 2 * Tensor(2 * z).sigmoid().data - 1
    claim(
        np.allclose(curves["tanh"][0], two_sigma, rtol=0, atol=1e-15),
        "tanh(z) = 2 sigma(2z) - 1 (to 1e-15)",
    )
    # Backprop against the slope of the curve itself, (f(z + h) - f(z - h)) / 2h, away from
    # the kinks where the left and right slopes differ.
    away = (np.abs(z) > 0.05) & (np.abs(np.abs(z) - 1) > 0.05)
    h = 1e-6
    worst = 0.0
    for name, (f, _) in activations.items():
        slope = (f(Tensor(z[away] + h)).data - f(Tensor(z[away] - h)).data) / (2 * h)
        worst = max(worst, float(np.max(np.abs(slope - curves[name][1][away]))))
    claim(worst < 1e-8, f"every derivative matches central differences (worst {worst:.1e})")
    saturated = np.abs(z) >= 3
    claim(
        curves["sigmoid"][1][saturated].max() < 0.05
        and curves["tanh"][1][saturated].max() < 0.01
        and curves["ReLU"][1][z >= 3].min() == 1.0,
        "sigmoid and tanh saturate (f' < 0.05 for |z| >= 3); ReLU does not (f' = 1 for z > 0)",
    )

    fig = Figure(figsize=(12, 7), dpi=100)
    FigureCanvasAgg(fig)
    for ax, (name, (a, da)) in zip(fig.subplots(2, 3).ravel(), curves.items()):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(z, a, lw=2, label="f(z)")
        ax.plot(z, da, lw=2, ls="--", label="f'(z) from z.grad")
        ax.set_title(name)
        ax.set_xlabel("z")
        unbounded = "ReLU" in name  # ReLU and leaky ReLU grow with z; the rest stay in (-1, 1)
        ax.set_ylim(-1.6, 4.2 if unbounded else 1.6)
        ax.legend(loc="upper left", fontsize="small")
    fig.suptitle("Activations and the derivatives the engine backpropagates: f(z).sum().backward()")
    save(fig, args, __file__)


if __name__ == "__main__":
    main()
