"""Gradient descent on a quadratic: the best learning rate, the four cases, and Newton's method.

The notes on convergence study w^(t+1) = w^t - eta dE/dw on E(w) = a/2 w^2 + b w + c, whose
minimum is w* = -b/a. Newton's step w = w^t - E'(w^t)/E''(w^t) gives the best learning rate
eta_opt = 1/E'' = 1/a, and then four cases:

1. eta < eta_opt: w^t approaches w* monotonically (w^t - w* never changes sign);
2. eta = eta_opt: w* is reached in exactly one step;
3. eta = 2 eta_opt: w^t oscillates forever between w^0 and 2 w* - w^0;
4. eta > 2 eta_opt: w^t diverges, |w^t - w*| growing geometrically.

Since w^(t+1) - w* = (1 - eta a)(w^t - w*), the error shrinks by |1 - eta a| per step (the
convergence rate; the notes' R, measured on E - E*, is its square). Newton's method reaches
the minimum in one step from anywhere, and with several weights, E(w) = 1/2 w^T A w, gradient
descent converges only for eta < 2 / lambda_max, the largest eigenvalue of the Hessian A.

Every run below is gradient descent with the library: a Tensor w, E.backward(), an SGD step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.functional import hessian
from tinygrad_edu.optim import SGD, Newton

# E(w) = a/2 w^2 + b w + c. Powers of two keep every step exact in floating point, so "one
# step" and "oscillates forever" can be checked with == rather than a tolerance.
A_, B_, C_ = 2.0, -4.0, 1.0
W_STAR = -B_ / A_  # 2.0
W0 = -1.0


def E(w: Tensor) -> Tensor:
    return 0.5 * A_ * w**2 + B_ * w + C_


def gradient_descent(eta: float, w0: float, steps: int) -> np.ndarray:
    """w^0, w^1, ..., w^steps of w <- w - eta dE/dw, the gradient from backprop."""
    w = Tensor(np.array([w0]), requires_grad=True, name="w")  # float64
    opt = SGD([w], lr=eta)
    path = [w0]
    for _ in range(steps):
        opt.zero_grad()
        E(w).sum().backward()
        opt.step()
        path.append(w.item())
    return np.array(path)


def newton_step(w0: float) -> float:
    """One step of tinygrad_edu.optim.Newton: w <- w - E'(w) / E''(w)."""
    w = Tensor(np.array([w0]), requires_grad=True)
    opt = Newton([w])

    def closure() -> Tensor:
        opt.zero_grad()
        loss = E(w).sum()
        loss.backward(create_graph=True)  # E'' comes from differentiating E' again
        return loss

    opt.step(closure)
    return w.item()


def descent_nd(A: np.ndarray, eta: float, w0: np.ndarray, steps: int) -> np.ndarray:
    """Gradient descent on E(w) = 1/2 w^T A w; the rows are w^0 ... w^steps."""
    w = Tensor(w0.copy(), requires_grad=True)
    opt = SGD([w], lr=eta)
    path = [w0.copy()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (w @ (Tensor(A) @ w))).backward()
        opt.step()
        path.append(w.data.copy())
    return np.array(path)


def draw(runs: dict[str, Any], newton: dict[float, float], sweep: Any, nd: Any,
         path: Any) -> None:
    fig = Figure(figsize=(16, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 4)
    panels = list(axes[0]) + [axes[1][0]]
    for ax, (title, w) in zip(panels, runs.items()):
        ax.plot(range(len(w)), w, "o-", ms=4)
        ax.axhline(W_STAR, color="green", ls="--", lw=1, label="w* = -b/a")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step t")
        ax.set_ylabel("w_t")
    panels[0].legend()

    ax = axes[1][1]
    for w0, w1 in newton.items():
        ax.plot([0, 1, 2], [w0, w1, w1], "o-", ms=4)
    ax.axhline(W_STAR, color="green", ls="--", lw=1)
    ax.set_title("Newton: w - E'/E'' lands on w* in one step\nfrom every start", fontsize=10)
    ax.set_ylabel("w_t")
    ax.set_xlabel("step t")

    ax = axes[1][2]
    etas, ratios = sweep
    grid = np.linspace(0, etas.max(), 300)
    ax.plot(grid * A_, np.abs(1 - grid * A_), color="grey", label="|1 - eta a|")
    ax.plot(etas * A_, ratios, "o", ms=4, label="measured |e_(t+1)| / |e_t|")
    ax.axhline(1, color="red", lw=0.8, ls=":")
    ax.axvline(2, color="red", lw=0.8, ls=":")
    ax.set_xlabel("eta / eta_opt")
    ax.set_ylabel("convergence rate")
    ax.set_title("rate R = |1 - eta a| < 1 only for eta < 2 eta_opt", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1][3]
    lam_max, curves = nd
    for label, norms in curves.items():
        ax.semilogy(norms, label=label)
    ax.set_xlabel("step t")
    ax.set_ylabel("|w_t - w*|")
    ax.set_title(f"E = 1/2 w^T A w, lambda_max = {lam_max:g}:\nconverges only for "
                 "eta < 2/lambda_max", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    steps = 12 if args.fast else 20

    # eta_opt from the engine's own second derivative: E'' = a everywhere.
    E2 = [hessian(lambda w: E(w).sum(), np.array([w0])).item() for w0 in (-3.0, 0.0, 7.5)]
    eta_opt = 1.0 / E2[0]
    print(f"E(w) = {A_:g}/2 w^2 + ({B_:g}) w + {C_:g}: w* = -b/a = {W_STAR:g}, "
          f"E'' = {E2[0]:g}, eta_opt = 1/E'' = {eta_opt:g}; start w0 = {W0:g}\n")
    claim(all(h == A_ for h in E2) and eta_opt == 1 / A_,
          "E'' = a at every w (functional.hessian), so eta_opt = 1/E'' = 1/a")

    # eta as a multiple of eta_opt -> the title of its panel
    cases = {
        0.25: "1. eta = 0.25 eta_opt: monotone",
        1.0: "2. eta = eta_opt: one step",
        1.5: "eta = 1.5 eta_opt: overshoots, converges",
        2.0: "3. eta = 2 eta_opt: oscillates forever",
        2.25: "4. eta = 2.25 eta_opt: diverges",
    }
    runs: dict[float, np.ndarray] = {}
    for k in cases:
        w = gradient_descent(k * eta_opt, W0, steps)
        runs[k] = w
        shown = ", ".join(f"{v:.4g}" for v in w[:7])
        print(f"eta = {k:<4g} eta_opt  R = |1 - eta a| = {abs(1 - k):<5g} w_t: {shown}, ... "
              f"|w_T - w*| = {abs(w[-1] - W_STAR):.3g}")
    print()

    def ratios(w: np.ndarray) -> np.ndarray:
        e = np.abs(w - W_STAR)
        return e[1:] / e[:-1]

    e1 = runs[0.25] - W_STAR
    claim(np.all(np.sign(e1) == np.sign(e1[0])) and np.all(np.abs(np.diff(np.abs(e1))) > 0)
          and np.allclose(ratios(runs[0.25]), 0.75, rtol=1e-12),
          "case 1, eta < eta_opt: w - w* never changes sign and shrinks by |1 - eta a| = 0.75 "
          "every step (monotone convergence)")
    w2 = runs[1.0]
    claim(w2[1] == W_STAR and np.all(w2[1:] == W_STAR),
          f"case 2, eta = eta_opt: w_1 = w* = {W_STAR:g} exactly, after one step, and stays")
    e15 = runs[1.5] - W_STAR
    claim(np.all(np.sign(e15[1:]) == -np.sign(e15[:-1]))
          and np.allclose(ratios(runs[1.5]), 0.5, rtol=1e-12),
          "between eta_opt and 2 eta_opt: it still converges (rate 0.5), overshooting w* "
          "every step")
    w3 = runs[2.0]
    claim(np.all(w3[0::2] == W0) and np.all(w3[1::2] == 2 * W_STAR - W0),
          f"case 3, eta = 2 eta_opt: w oscillates forever between w0 = {W0:g} and "
          f"2w* - w0 = {2 * W_STAR - W0:g} (|w - w*| = {abs(W0 - W_STAR):g} at every step)")
    w4 = runs[2.25]
    claim(np.allclose(ratios(w4), 1.25, rtol=1e-12)
          and abs(w4[-1] - W_STAR) > 10 * abs(W0 - W_STAR),
          "case 4, eta > 2 eta_opt: |w - w*| grows by |1 - eta a| = 1.25 every step "
          "(divergence)")

    # The rate over a sweep of learning rates, against |1 - eta a|; and the notes' R on E.
    etas = np.linspace(0.05, 2.95, 12 if args.fast else 40) * eta_opt
    etas = etas[np.abs(etas - eta_opt) > 1e-3]  # at eta_opt the error is 0 after one step: 0/0
    measured, on_E = [], []
    for eta in etas:
        w = gradient_descent(eta, W0, 3)
        measured.append(ratios(w)[1])
        Ew = E(Tensor(w)).data - E(Tensor(np.array([W_STAR]))).item()
        on_E.append(Ew[2] / Ew[1])
    measured, on_E = np.array(measured), np.array(on_E)
    theory = np.abs(1 - etas * A_)
    claim(np.allclose(measured, theory, rtol=1e-9) and np.allclose(on_E, theory**2, rtol=1e-9),
          f"for {len(etas)} learning rates: |e_(t+1)| / |e_t| = |1 - eta a|, and the notes' "
          "R = |E(w_(t+1)) - E*| / |E(w_t) - E*| = (1 - eta a)^2")
    claim(bool(np.all((measured < 1) == (etas < 2 * eta_opt))),
          "the rate is below 1 (convergence) exactly when eta < 2 eta_opt")

    # Newton's method: one step from anywhere.
    newton = {w0: newton_step(w0) for w0 in (-10.0, -1.0, 0.3, 3.7, 25.0)}
    print("\nNewton, one step:  " + ",  ".join(f"{w0:g} -> {w1:.12g}" for w0, w1 in newton.items()))
    claim(all(abs(w1 - W_STAR) < 1e-12 for w1 in newton.values()),
          "Newton's method (optim.Newton) reaches w* in one step from every start")

    # Several weights: E(w) = 1/2 w^T A w, eigenvalues 1 and 10 along rotated axes.
    angle = np.pi / 6
    Q = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    A = Q @ np.diag([1.0, 10.0]) @ Q.T
    H = hessian(lambda w: 0.5 * (w @ (Tensor(A) @ w)), np.array([0.3, -0.2]))
    lam = np.linalg.eigvalsh(H)
    lam_max = lam[-1]
    limit = 2 / lam_max
    w0 = np.array([1.0, 1.0])
    n_steps = 40 if args.fast else 80
    curves = {}
    for k in (0.5, 0.95, 1.05):
        path = descent_nd(A, k * limit, w0, n_steps)
        curves[f"eta = {k:g} x 2/lambda_max"] = np.linalg.norm(path, axis=1)
    print(f"\nE(w) = 1/2 w^T A w: Hessian eigenvalues {lam.round(12)}, so eta must be < "
          f"2/lambda_max = {limit:g}")
    for label, norms in curves.items():
        print(f"  {label:<24} |w_0| = {norms[0]:.3g}  ->  |w_{n_steps}| = {norms[-1]:.3g}")
    claim(np.allclose(H, A, atol=1e-12) and np.allclose(lam, [1.0, 10.0]),
          "the Hessian of 1/2 w^T A w is A (eigenvalues 1 and 10)")
    below, above = curves["eta = 0.95 x 2/lambda_max"], curves["eta = 1.05 x 2/lambda_max"]
    claim(below[-1] < 1e-1 * below[0] and above[-1] > 10 * above[0],
          "with several weights gradient descent converges for eta = 0.95 x 2/lambda_max "
          "and diverges for eta = 1.05 x 2/lambda_max")
    # The steepest direction alone decides: along it the error grows by |1 - eta lambda_max|.
    top = Q[:, 1]
    along = np.abs(descent_nd(A, 1.05 * limit, w0, n_steps) @ top)
    claim(np.allclose(along[1:] / along[:-1], abs(1 - 1.05 * limit * lam_max), rtol=1e-9),
          f"along the top eigenvector the error grows by |1 - eta lambda_max| = "
          f"{abs(1 - 1.05 * limit * lam_max):g} per step, though eta < 2/lambda_min")

    path = picture(args, __file__)
    draw({cases[k]: w for k, w in runs.items()}, newton, (etas, measured), (lam_max, curves), path)
    print(f"\npicture: {path}")


if __name__ == "__main__":
    main()
