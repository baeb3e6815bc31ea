"""Saddle points and plateaux: where the gradient vanishes, or nearly, away from a minimum.

Notes 001 and 002: a saddle point is a point where the gradient is zero and the error
increases in some directions but decreases in others; gradient descent can get stuck there
(exactly at it, dL/dw = 0 and nothing moves), but after a slight perturbation it gets unstuck.
The Hessian tells a saddle from a minimum: its eigenvalues have mixed signs at a saddle and
are all positive at a minimum. Plateaux are flat regions of the loss (for example a saturated
logistic unit trained with least squares) where the gradient is tiny and progress is slow.

On f(x, y) = x^2 - y^2 (a saddle at the origin) this script shows gradient descent started on
the x-axis converging to the saddle and staying there, the same run with y perturbed by 1e-6
escaping with |y| growing geometrically, the Hessians of x^2 - y^2 and x^2 + y^2 from the
engine, and a plateau where a thousand steps barely move the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.functional import grad, hessian
from tinygrad_edu.optim import SGD
from tinygrad_edu.viz import plot_loss_surface

ETA = 0.1  # the step: x <- (1 - 2 eta) x = 0.8 x and y <- (1 + 2 eta) y = 1.2 y


def saddle(w: Any) -> Any:
    """f(x, y) = x^2 - y^2, for a Tensor w = (x, y) or a numpy grid of shape (..., 2)."""
    return w[..., 0] ** 2 - w[..., 1] ** 2


def bowl(w: Any) -> Any:
    """f(x, y) = x^2 + y^2: a minimum at the origin, for comparison."""
    return w[..., 0] ** 2 + w[..., 1] ** 2


def descend(f: Any, start: list[float], steps: int, eta: float = ETA) -> np.ndarray:
    """Gradient descent w <- w - eta grad f(w) with the library; rows are w_0 ... w_steps."""
    w = Tensor(np.array(start), requires_grad=True)  # float64
    opt = SGD([w], lr=eta)
    path = [w.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        f(w).sum().backward()
        opt.step()
        path.append(w.data.copy())
    return np.array(path)


def plateau_loss(w: Any) -> Any:
    """A logistic unit with least squares, target 1: L(w) = (sigma(w) - 1)^2.

    For w << 0 the sigmoid is saturated: sigma'(w) ~ e^w, so dL/dw ~ -2 e^w is tiny although
    L ~ 1 is far from its infimum 0.
    """
    return ((w.sigmoid() - 1.0) ** 2).sum()


def draw(paths: dict[str, np.ndarray], plateau: dict[float, tuple[np.ndarray, np.ndarray]],
         out: Any) -> None:
    fig = Figure(figsize=(16, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_surface, ax_escape, ax_plateau = fig.subplots(1, 3, width_ratios=[1.15, 1, 1])

    # f is unbounded below: the grid's lowest point would only be a corner, not a minimum.
    plot_loss_surface(saddle, (-1.2, 1.2), (-1.2, 1.2), trajectories=paths, levels=25,
                      ax=ax_surface, mark_minimum=False, title="f = x^2 - y^2: a saddle at "
                      "(0, 0),\nHessian eigenvalues (2, -2)")
    ax_surface.legend(fontsize=9, loc="lower right")

    on_axis, perturbed = paths.values()
    t = np.arange(len(on_axis))
    ax_escape.semilogy(t, np.abs(on_axis[:, 0]), label="|x_t|, both runs (x 0.8 per step)")
    ax_escape.semilogy(t, np.abs(perturbed[:, 1]), label="|y_t|, y_0 = 1e-6 (x 1.2 per step)")
    ax_escape.axhline(1.0, color="grey", ls=":", lw=1)
    ax_escape.text(1, 2.5, "y_0 = 0: y_t = 0 exactly, for ever", fontsize=9)
    ax_escape.set_xlabel("step t")
    ax_escape.set_ylabel("distance from the saddle along x or y")
    ax_escape.set_title("escaping the saddle:\nthe perturbation grows geometrically")
    ax_escape.legend(fontsize=9, loc="lower left")

    for w0, (losses, _) in plateau.items():
        ax_plateau.semilogy(losses, label=f"loss L, w_0 = {w0:g}")
    ax_plateau.semilogy(plateau[-8.0][1], ls="--", color="tab:blue", label="|dL/dw|, w_0 = -8")
    ax_plateau.set_xlabel("step t (eta = 1)")
    ax_plateau.set_title("a plateau: L = (sigmoid(w) - 1)^2,\nsaturated start w_0 = -8")
    ax_plateau.legend(fontsize=9)
    fig.savefig(out)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)

    # ---- the saddle point itself: zero gradient, up in x, down in y
    origin = np.array([0.0, 0.0])
    g0 = grad(saddle)(origin)
    eps = 1e-3
    print(f"f(x, y) = x^2 - y^2 at (0, 0): gradient {g0}, f(eps, 0) = {eps**2:g} > 0, "
          f"f(0, eps) = {-eps**2:g} < 0")
    claim(np.all(g0 == 0) and saddle(np.array([eps, 0.0])) > 0 > saddle(np.array([0.0, eps])),
          "(0, 0) is a saddle point: the gradient is zero, f rises along x and falls along y")

    H_saddle = hessian(saddle, origin)
    H_bowl = hessian(bowl, origin)
    lam_saddle, lam_bowl = np.linalg.eigvalsh(H_saddle), np.linalg.eigvalsh(H_bowl)
    print(f"Hessian eigenvalues: x^2 - y^2 -> {lam_saddle}, x^2 + y^2 -> {lam_bowl}")
    claim(np.array_equal(lam_saddle, [-2.0, 2.0]) and lam_saddle.min() < 0 < lam_saddle.max(),
          "the Hessian of x^2 - y^2 has eigenvalues (2, -2): mixed signs, a saddle")
    claim(np.array_equal(lam_bowl, [2.0, 2.0]),
          "the Hessian of x^2 + y^2 has eigenvalues (2, 2): all positive, a minimum")

    # ---- gradient descent: stuck at the saddle, or escaping it
    steps = 90
    stuck = descend(saddle, [0.0, 0.0], steps)
    on_axis = descend(saddle, [1.0, 0.0], steps)
    perturbed = descend(saddle, [-1.0, 1e-6], steps)  # from the left, to be seen apart
    rng = np.random.default_rng(0)
    jitter = rng.normal(scale=1e-6, size=2)  # a slight random perturbation of the saddle
    jittered = descend(saddle, list(jitter), steps)
    print(f"\ngradient descent, eta = {ETA}, {steps} steps:")
    for name, path in [("from (0, 0)", stuck), ("from (1, 0)", on_axis),
                       ("from (-1, 1e-6)", perturbed), ("from (0, 0) + N(0, 1e-6)", jittered)]:
        w = path[-1]
        print(f"  {name:<25} -> ({w[0]:.3g}, {w[1]:.3g})   f = {saddle(w):.3g}")
    claim(np.all(stuck == 0),
          f"started exactly at the saddle, gradient descent never moves ({steps} steps)")
    claim(np.all(on_axis[:, 1] == 0) and np.abs(on_axis[-1]).max() < 1e-8,
          "started on the x-axis it converges to the saddle (0, 0), with y = 0 exactly at "
          "every step (dL/dy = -2y = 0)")
    ratio = perturbed[1:, 1] / perturbed[:-1, 1]
    escape = int(np.argmax(np.abs(perturbed[:, 1]) > 1.0))
    predicted = int(np.ceil(np.log(1e6) / np.log(1 + 2 * ETA)))
    print(f"  y_0 = 1e-6 grows by {ratio[0]:.12g} per step and passes |y| = 1 at step {escape}"
          f" (predicted log(1e6)/log(1.2) -> {predicted})")
    claim(np.allclose(ratio, 1 + 2 * ETA, rtol=1e-12) and escape == predicted,
          f"a perturbation of 1e-6 in y escapes: |y| grows by 1 + 2 eta = {1 + 2 * ETA:g} per "
          f"step and exceeds 1 after {predicted} steps")
    claim(np.abs(jittered[-1]).max() > 1.0 and saddle(jittered[-1]) < -1.0,
          "a random perturbation of size 1e-6 of the saddle itself escapes too (f < -1)")

    # ---- a plateau: the saturated logistic unit
    plateau: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for w0 in (-8.0, 0.0):
        w = Tensor(np.array([w0]), requires_grad=True)
        opt = SGD([w], lr=1.0)
        losses, grads = [], []
        for _ in range(2500):
            opt.zero_grad()
            loss = plateau_loss(w)
            loss.backward()
            losses.append(loss.item())
            grads.append(abs(w.grad.item()))
            opt.step()
        plateau[w0] = (np.array(losses), np.array(grads))
    flat_losses, flat_grads = plateau[-8.0]
    steep_losses, _ = plateau[0.0]
    slow = int(np.argmax(flat_losses < 0.1))
    fast = int(np.argmax(steep_losses < 0.1))
    print(f"\nplateau, L(w) = (sigmoid(w) - 1)^2, eta = 1: from w0 = -8, L = {flat_losses[0]:.4f} "
          f"with |dL/dw| = {flat_grads[0]:.2e};\n  L < 0.1 after {slow} steps from w0 = -8, "
          f"after {fast} steps from w0 = 0; after 1000 steps from -8, L = {flat_losses[1000]:.4f}")
    claim(flat_grads[0] < 1e-3 and flat_losses[0] > 0.99,
          "on the plateau the gradient is tiny (< 1e-3) though the loss (~1) is far from its "
          "infimum 0")
    claim(slow > 100 * fast and flat_losses[1000] > 0.9,
          f"progress is slow: {slow} steps to reach L < 0.1 from the plateau vs {fast} from w0 = 0")

    path = picture(args, __file__)
    shown = {"start (1, 0): to the saddle": on_axis, "start (-1, 1e-6): escapes": perturbed}
    draw(shown, plateau, path)
    print(f"\npicture: {path}")


if __name__ == "__main__":
    main()
