"""Ravines: gradient descent zig-zags, momentum and standardised inputs fix it.

What the notes claim (the notes on ravines and momentum): where the loss is much steeper in
one direction than in another (a ravine: long, thin contours), gradient descent
w <- w - alpha dL/dw bounces from wall to wall and crawls along the floor. Two cures:

* momentum, p <- mu p - alpha dL/dw;  w <- w + p, which averages the bouncing away and builds
  up speed along the floor;
* standardised inputs, x_j <- (x_j - mu_j) / sigma_j: for least squares the Hessian is
  X^T X / n, and standardising makes it (nearly) the identity, so the contours become round
  and gradient descent heads straight for the minimum.

What the script shows: on E(w) = 0.5 (w1^2 + 50 w2^2) gradient descent flips the sign of w2 at
every step and needs hundreds of steps, momentum far fewer; on a least-squares problem with
badly scaled, uncentred inputs the condition number of X^T X / n drops from ~100 to ~1 after
standardising, and gradient descent goes from hundreds of steps to a handful.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.data import Standardizer
from tinygrad_edu.functional import hessian
from tinygrad_edu.optim import SGD
from tinygrad_edu.viz import plot_loss_surface

Loss = Callable[[Tensor], Tensor]


def descend(
    loss: Loss, w0: np.ndarray, lr: float, momentum: float, loss_min: float, max_steps: int
) -> tuple[int | None, np.ndarray]:
    """Run SGD (full batch, so plain GD) from w0 until the loss gap has shrunk 10^8 times.

    Returns the number of steps taken (None if max_steps was not enough) and the path w_0, w_1, ...
    The stopping rule E(w_t) - E* <= 1e-8 (E(w_0) - E*) does not depend on the units of w, so
    step counts on the raw and the standardised problems can be compared.
    """
    w = Tensor(w0.copy(), requires_grad=True)
    opt = SGD([w], lr=lr, momentum=momentum)
    path = [w.data.copy()]
    gap0 = loss(w).item() - loss_min
    for step in range(max_steps):
        opt.zero_grad()
        E = loss(w)
        if E.item() - loss_min <= 1e-8 * gap0:
            return step, np.array(path)
        E.backward()
        opt.step()
        path.append(w.data.copy())
    return None, np.array(path)


def ravine(max_steps: int) -> dict[str, np.ndarray]:
    """Part 1: the elongated quadratic, plain GD against momentum."""
    print("1. The ravine E(w) = 0.5 (w1^2 + 50 w2^2): curvatures 1 and 50")

    def loss(w: Tensor) -> Tensor:
        return 0.5 * (w[0] ** 2 + 50.0 * w[1] ** 2)

    w0 = np.array([-4.0, 1.0])
    # GD is stable only for alpha < 2 / 50 = 0.04 (the notes on convergence: eta < 2 eta_opt in
    # the steep direction); just below that limit it overshoots the steep direction at every step.
    lr = 0.035
    steps_gd, path_gd = descend(loss, w0, lr, 0.0, 0.0, max_steps)
    flips = np.mean(np.sign(path_gd[1:, 1]) != np.sign(path_gd[:-1, 1]))
    print(f"   GD, alpha = {lr}: {steps_gd} steps; w2 changes sign at {flips:.0%} of them")
    # In the flat direction each GD step keeps (1 - alpha * 1) of the distance: 0.965.
    steps = {}
    for mu in (0.5, 0.7, 0.9):
        steps[mu], _ = descend(loss, w0, lr, mu, 0.0, max_steps)
        print(f"   momentum mu = {mu}, same alpha: {steps[mu]} steps")
    _, path_mom = descend(loss, w0, lr, 0.7, 0.0, max_steps)

    claim(steps_gd is not None and flips > 0.95,
          "plain GD zig-zags across the ravine: w2 changes sign at more than 95% of the steps")
    claim(all(s is not None and s < steps_gd for s in steps.values()),
          "momentum (mu = 0.5, 0.7, 0.9) reaches the tolerance in fewer steps than plain GD")
    claim(steps[0.7] * 3 < steps_gd,
          f"with mu = 0.7 momentum needs less than a third of GD's steps "
          f"({steps[0.7]} vs {steps_gd})")
    claim(steps[0.9] > steps[0.7],
          "too much momentum (mu = 0.9) overshoots and needs more steps than mu = 0.7")
    # momentum first, so that the GD path is drawn on top of it
    return {"momentum 0.7": path_mom, "GD": path_gd}


def least_squares(n: int, max_steps: int) -> tuple[dict, dict]:
    """Part 2: linear regression on badly scaled inputs, before and after standardising."""
    print("2. Least squares E(w) = 1/(2n) sum (w . x - y)^2 on raw and standardised inputs")
    rng = np.random.default_rng(0)
    # Two features in different units, neither centred (a size in m^2/100 and a ratio, say).
    X = np.column_stack([rng.normal(5.0, 2.0, n), rng.normal(1.0, 0.5, n)])
    y = X @ np.array([1.5, -2.0]) + rng.normal(0.0, 0.3, n)
    # The standardised model predicts y - mean(y): centring x removes the intercept that the
    # uncentred features carried, so the target is centred with the training mean as well.
    Z = Standardizer().fit_transform(X)
    problems = {"raw": (X, y), "standardised": (Z, y - y.mean())}

    results = {}
    for name, (A, b) in problems.items():
        A_t, b_t = Tensor(A), Tensor(b)

        def loss(w: Tensor, A_t: Tensor = A_t, b_t: Tensor = b_t) -> Tensor:
            return 0.5 * ((A_t @ w - b_t) ** 2).mean()

        H = A.T @ A / len(A)  # the Hessian of this loss, at every w
        H_engine = hessian(loss, np.zeros(2))
        claim(np.allclose(H_engine, H, rtol=1e-12, atol=1e-12),
              f"{name}: the engine's Hessian equals X^T X / n")
        w_star = np.linalg.lstsq(A, b, rcond=None)[0]
        E_star = loss(Tensor(w_star)).item()
        # alpha = 1 / (largest curvature): eta_opt of the convergence notes, steepest direction.
        lam = np.linalg.eigvalsh(H)
        lr = 1.0 / lam[-1]
        steps_gd, path_gd = descend(loss, np.zeros(2), lr, 0.0, E_star, max_steps)
        steps_mom, path_mom = descend(loss, np.zeros(2), lr, 0.8, E_star, max_steps)
        cond = np.linalg.cond(H)
        print(f"   {name:12s}: cond(X^T X / n) = {cond:7.2f}, alpha = {lr:.4f}, "
              f"w* = {np.round(w_star, 3)}; GD {steps_gd} steps, momentum 0.8 {steps_mom}")
        results[name] = {"cond": cond, "gd": steps_gd, "mom": steps_mom, "A": A, "b": b,
                         "w_star": w_star, "paths": {"momentum 0.8": path_mom, "GD": path_gd}}

    raw, std = results["raw"], results["standardised"]
    corr = np.corrcoef(X, rowvar=False)[0, 1]
    claim(raw["cond"] > 50, f"the raw inputs make a ravine: cond(X^T X / n) = {raw['cond']:.0f}")
    # What is left after standardising is the sample correlation r: cond = (1 + |r|) / (1 - |r|).
    claim(std["cond"] < 1.3 and np.isclose(std["cond"], (1 + abs(corr)) / (1 - abs(corr))),
          f"standardised inputs make the contours round: cond = {std['cond']:.3f} "
          f"= (1 + |r|) / (1 - |r|) with r = {corr:.3f}")
    claim(raw["gd"] is not None and std["gd"] is not None and std["gd"] * 20 < raw["gd"],
          f"GD needs {raw['gd']} steps on the raw inputs, {std['gd']} after standardising")
    claim(raw["mom"] is not None and raw["mom"] * 3 < raw["gd"],
          "on the raw inputs momentum cuts GD's steps by more than 3x")
    # Momentum cures ravines; on round contours GD with alpha = 1/lambda_max is already
    # nearly exact, and the velocity only carries w past the minimum.
    claim(std["gd"] < std["mom"],
          f"with round contours momentum only overshoots: {std['mom']} steps vs GD's {std['gd']}")
    return raw, std


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    max_steps = 3000
    ravine_paths = ravine(max_steps)
    raw, std = least_squares(n=100 if args.fast else 500, max_steps=max_steps)

    fig = Figure(figsize=(16, 5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    plot_loss_surface(
        lambda W: 0.5 * (W[..., 0] ** 2 + 50.0 * W[..., 1] ** 2), (-4.5, 1.0), (-1.5, 1.5),
        trajectories=ravine_paths, ax=axes[0], levels=np.geomspace(0.01, 100, 25),
        log_levels=True, colorbar=False,
        title="ravine E = 0.5 (w1^2 + 50 w2^2)\nalpha = 0.035: GD zig-zags",
    )
    for ax, (name, res) in zip(axes[1:], (("raw", raw), ("standardised", std))):
        A, b = res["A"], res["b"]
        w_star = res["w_star"]
        half = 1.3 * np.max(np.abs(w_star)) + 0.3  # a square around the start and the minimum
        plot_loss_surface(
            lambda W, A=A, b=b: 0.5 * np.mean((W @ A.T - b) ** 2, axis=-1),
            (w_star[0] - half, w_star[0] + half), (w_star[1] - half, w_star[1] + half),
            trajectories=res["paths"], ax=ax, log_levels=True, colorbar=False,
            title=f"least squares, {name} inputs: cond(H) = {res['cond']:.1f}\n"
                  f"GD {res['gd']} steps, momentum {res['mom']} steps",
        )
    for ax in axes:
        ax.set_aspect("equal")  # round contours must look round
    fig.savefig(picture(args, __file__), dpi=90)
    print(f"picture: {picture(args, __file__)}")


if __name__ == "__main__":
    main()
