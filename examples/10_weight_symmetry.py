"""Weight-space symmetry: permuting hidden units changes the weights, not the network.

The notes on local minima explain why training a neural network is not convex. Permute the
hidden neurons of a layer (the rows of W1, the entries of b1 and the columns of W2 together)
and you obtain the same model: the same outputs and the same loss at a different point w' = P w
of weight space, so every minimum comes with H! copies for H hidden units. If the loss L were
convex, the average of two such copies would be at least as good: L((w + w')/2) <= (L(w) +
L(w'))/2 = L(w). It is worse: averaging permuted networks mixes unrelated units, and averaging
over all permutations gives a degenerate network whose hidden neurons are all identical. tanh
units have a second symmetry: flipping the signs of a unit's incoming and outgoing weights
gives the same function, since tanh(-z) = -tanh(z).

This script trains a 2-8-1 tanh network on the two moons (float64, seeded), checks that its
permuted and sign-flipped copies compute the same outputs (to 1e-12) and loss, that the
midpoints are worse, and draws the loss along the straight line from w to P w: a bump.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor, no_grad, set_default_dtype
from tinygrad_edu.data import DataLoader, make_moons
from tinygrad_edu.losses import binary_cross_entropy_with_logits
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import accuracy, fit
from tinygrad_edu.viz import plot_decision_boundary

HIDDEN = 8
State = dict[str, np.ndarray]


def bce(logits: Tensor, y: Any) -> Tensor:
    """Binary cross-entropy of the network's single output (a logit) against labels 0/1."""
    return binary_cross_entropy_with_logits(logits.reshape(-1), np.asarray(y, np.float64))


def network(state: State) -> MLP:
    """A 2-H-1 tanh MLP holding the given weights."""
    model = MLP([2, HIDDEN, 1], activation="tanh")
    model.load_state_dict(state)
    return model


def loss_of(state: State, X: np.ndarray, y: np.ndarray) -> float:
    with no_grad():
        return bce(network(state)(X), y).item()


def outputs_of(state: State, X: np.ndarray) -> np.ndarray:
    with no_grad():
        return network(state)(X).numpy().ravel()


def permute(state: State, perm: np.ndarray) -> State:
    """Hidden unit perm[k] becomes unit k: rows of W1, entries of b1, columns of W2."""
    new = {k: v.copy() for k, v in state.items()}
    new["layers.0.weight"] = state["layers.0.weight"][perm]
    new["layers.0.bias"] = state["layers.0.bias"][perm]
    new["layers.2.weight"] = state["layers.2.weight"][:, perm]
    return new


def flip_signs(state: State, units: list[int]) -> State:
    """Negate the incoming weights, bias and outgoing weights of the given tanh units."""
    new = {k: v.copy() for k, v in state.items()}
    new["layers.0.weight"][units] *= -1
    new["layers.0.bias"][units] *= -1
    new["layers.2.weight"][:, units] *= -1
    return new


def mix(a: State, b: State, alpha: float) -> State:
    """The point (1 - alpha) a + alpha b on the straight line between two weight vectors."""
    return {k: (1 - alpha) * a[k] + alpha * b[k] for k in a}


def distance(a: State, b: State) -> float:
    return float(np.sqrt(sum(np.sum((a[k] - b[k]) ** 2) for k in a)))


def draw(lines: dict[str, tuple[np.ndarray, np.ndarray]], boundaries: dict[str, State],
         X: np.ndarray, y: np.ndarray, path: Any) -> None:
    fig = Figure(figsize=(13, 9.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()

    ax = axes[0]
    for label, (alphas, losses) in lines.items():
        ax.plot(alphas, losses, "o-", ms=3, label=label)
    end = next(iter(lines.values()))[1][0]
    ax.axhline(end, color="grey", ls="--", lw=1,
               label="chord (L(w) + L(w'))/2 = L(w): the convex bound")
    ax.set_xlabel("alpha:  (1 - alpha) w + alpha w'")
    ax.set_ylabel("training loss (binary cross-entropy)")
    ax.set_yscale("log")
    ax.set_title("loss along the straight line between two copies of one minimum")
    ax.legend(fontsize=9)

    for ax, (title, state) in zip(axes[1:], boundaries.items()):
        plot_decision_boundary(network(state), X, y, ax=ax, title=title)
    fig.savefig(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    # float64 throughout, so that "the same function" can be checked to 1e-12
    set_default_dtype(np.float64)

    X, y = make_moons(n_samples=200, noise=0.15, rng=0)
    model = MLP([2, HIDDEN, 1], activation="tanh", rng=0)
    epochs = 150 if args.fast else 400
    fit(model, bce, Adam(model.parameters(), lr=0.05), DataLoader(X, y, batch_size=200, rng=0),
        epochs=epochs, progress=False)
    w = {k: v.copy() for k, v in model.state_dict().items()}
    L = loss_of(w, X, y)
    print(f"2-{HIDDEN}-1 tanh network on the moons, {epochs} epochs of Adam: loss "
          f"{L:.4f}, training accuracy {accuracy(model, X, y):.3f}\n")

    # ---- permuting the hidden units
    rng = np.random.default_rng(0)
    perm = rng.permutation(HIDDEN)
    wp = permute(w, perm)
    out, out_p = outputs_of(w, X), outputs_of(wp, X)
    Lp = loss_of(wp, X, y)
    print(f"permutation of the hidden units: {perm.tolist()}")
    print(f"  |w - P w| = {distance(w, wp):.3f},  max |f_w(x) - f_Pw(x)| = "
          f"{np.abs(out - out_p).max():.1e},  L(P w) - L(w) = {Lp - L:.1e}")
    claim(np.abs(out - out_p).max() < 1e-12 and abs(Lp - L) < 1e-12 and distance(w, wp) > 1,
          "permuting the hidden units (rows of W1, entries of b1, columns of W2) moves the "
          "weights but gives the same outputs (to 1e-12) and the same loss")
    W1 = np.concatenate([w["layers.0.weight"], w["layers.0.bias"][:, None]], axis=1)
    gaps = [np.abs(W1[i] - W1[j]).max() for i in range(HIDDEN) for j in range(i)]
    claim(min(gaps) > 1e-3,
          f"the {HIDDEN} hidden units all differ, so the {HIDDEN}! = {math.factorial(HIDDEN)} "
          "permutations are that many distinct points with the same loss")

    # ---- the sign symmetry of tanh units
    units = [0, 3, 5]
    ws = flip_signs(w, units)
    out_s = outputs_of(ws, X)
    print(f"sign flip of units {units}: max |f_w(x) - f_Sw(x)| = {np.abs(out - out_s).max():.1e}")
    claim(np.abs(out - out_s).max() < 1e-12 and abs(loss_of(ws, X, y) - L) < 1e-12,
          "flipping the signs of a tanh unit's incoming and outgoing weights gives the same "
          f"function too: {HIDDEN}! x 2^{HIDDEN} = {math.factorial(HIDDEN) * 2**HIDDEN} copies")

    # ---- averaging copies: convexity would make the midpoint at least as good
    mid = mix(w, wp, 0.5)
    L_mid = loss_of(mid, X, y)
    L_mid_s = loss_of(mix(w, ws, 0.5), X, y)
    print(f"\nL(w) = L(P w) = {L:.4f};  L((w + P w)/2) = {L_mid:.4f};  "
          f"L((w + S w)/2) = {L_mid_s:.4f}")
    claim(L_mid > (L + Lp) / 2 + 0.05,
          f"L((w + P w)/2) = {L_mid:.3f} > (L(w) + L(P w))/2 = {L:.3f}: the loss is not convex")
    claim(L_mid_s > L + 0.05,
          "the midpoint of w and its sign-flipped copy is worse too (the flipped units "
          "average to 0)")

    # The average over all H! permutations: each unit position sees every unit equally often,
    # so every hidden unit gets the mean incoming weights and the mean outgoing weight. The H
    # cyclic shifts already give that average (each unit visits every position once).
    shifts = [permute(w, np.roll(np.arange(HIDDEN), k)) for k in range(HIDDEN)]
    avg = {k: np.mean([s[k] for s in shifts], axis=0) for k in w}
    L_avg = loss_of(avg, X, y)
    with no_grad():
        hidden = network(avg).layers[:2](X).numpy()  # activations of the hidden layer
    print(f"average over all permutations: L = {L_avg:.4f}, accuracy "
          f"{accuracy(network(avg), X, y):.3f}")
    claim(np.abs(hidden - hidden[:, :1]).max() < 1e-12 and L_avg > L + 0.1,
          "averaging all permuted networks gives a degenerate network: all hidden neurons "
          f"identical, and a much worse loss ({L_avg:.3f} vs {L:.3f})")

    # ---- the straight line from w to P w (and to S w): a bump in the middle
    alphas = np.linspace(0, 1, 21 if args.fast else 51)
    line_p = np.array([loss_of(mix(w, wp, a), X, y) for a in alphas])
    line_s = np.array([loss_of(mix(w, ws, a), X, y) for a in alphas])
    claim(abs(line_p[0] - line_p[-1]) < 1e-12 and line_p.max() > line_p[0] + 0.05,
          f"along the line from w to P w the loss rises from {line_p[0]:.3f} to "
          f"{line_p.max():.3f} and falls back: a bump between two equal minima")

    path = picture(args, __file__)
    draw({"w' = P w (permuted hidden units)": (alphas, line_p),
          f"w' = S w (signs of units {units} flipped)": (alphas, line_s)},
         {f"w (= P w, = S w): loss {L:.3f}": w,
          f"(w + P w)/2: loss {L_mid:.3f}": mid,
          f"average of all {HIDDEN}! permutations: loss {L_avg:.3f}": avg},
         X, y, path)
    print(f"\npicture: {path}")


if __name__ == "__main__":
    main()
