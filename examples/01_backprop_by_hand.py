"""Backprop by hand on the course's 4-2-1 network, side by side with the engine's gradients.

The notes on backprop score a true window x and a corrupt window x_c with the same network, s =
U^T sigmoid(W x + b) and s_c = U^T sigmoid(W x_c + b), and trains it with the max-margin
objective J = max(1 + s_c - s, 0). While J > 0 the notes derive, in their notation:

* dJ/ds = -1 and dJ/ds_c = +1: the error delta^(3) at the (linear) output;
* delta^(2)_i = sigma'(z_i) U_i delta^(3), with sigma'(z) = sigma(z) (1 - sigma(z));
* dJ/dW^(1)_ij = delta^(2)_i a^(1)_j with a^(1) = x (the outer product delta x^T), and the
  bias gradient dJ/db_i = delta^(2)_i;
* W, b and U are used by both s and s_c (fan-out), so their gradients are the sums of a part
  from s and a part from s_c;
* when the margin is met (J = 0) no update is needed: every gradient is zero.

This script computes all of that with numpy, prints it next to the engine's ``.grad``, asserts
they agree (float64), calls ``J.backward()`` and then ``trace_backward`` to show that pass
step by step and to check that each parameter's fan-out contributions add up to its
gradient, and saves the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu import Tensor
from tinygrad_edu.viz import save_graph, trace_backward

# The network's parameters and the two windows (4 inputs each). The values make J > 0.
W0 = np.array([[0.5, -0.3, 0.8, 0.1], [-0.6, 0.4, 0.2, -0.7]])
B0 = np.array([0.1, -0.2])
U0 = np.array([1.5, -1.0])
X_TRUE = np.array([1.0, 0.5, -0.5, 2.0])
X_CORRUPT = np.array([-1.0, 1.0, 0.5, 0.0])
# A corrupt window the network already scores far below x: the margin is met, J = 0.
X_CORRUPT_EASY = np.array([-2.0, 2.0, -1.0, -1.0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def by_hand(W: np.ndarray, b: np.ndarray, U: np.ndarray, x: np.ndarray,
            x_c: np.ndarray) -> dict[str, Any]:
    """The notes' backprop, written out with numpy: deltas, then gradients, per window."""
    z, z_c = W @ x + b, W @ x_c + b  # z^(2): inputs of the two hidden neurons
    a, a_c = sigmoid(z), sigmoid(z_c)  # a^(2)
    s, s_c = U @ a, U @ a_c
    J = max(1.0 + s_c - s, 0.0)
    # dJ/ds = -1 and dJ/ds_c = +1 while the margin is violated, 0 once it is met. The output
    # neuron is linear (a^(3) = z^(3) = s), so its local gradient is 1 and this is delta^(3).
    d3, d3_c = (-1.0, 1.0) if J > 0 else (0.0, 0.0)
    # delta^(2)_i = sigma'(z_i) U_i delta^(3): the error reaching z_i (the notes' steps 3-6)
    d2 = a * (1 - a) * U * d3
    d2_c = a_c * (1 - a_c) * U * d3_c
    # Each parameter gets one part per window it is used for (fan-out) ...
    parts = {
        "W": (np.outer(d2, x), np.outer(d2_c, x_c)),  # dJ/dW_ij = delta_i a_j with a = x
        "b": (d2, d2_c),  # a bias is a weight whose input is 1
        "U": (d3 * a, d3_c * a_c),  # dJ/dU_i = delta^(3) a^(2)_i
    }
    # ... and its gradient is their sum.
    grads = {name: p + p_c for name, (p, p_c) in parts.items()}
    return {"s": s, "s_c": s_c, "J": J, "z": z, "z_c": z_c, "d3": d3, "d3_c": d3_c,
            "d2": d2, "d2_c": d2_c, "parts": parts, "grads": grads}


def forward(x: np.ndarray, x_c: np.ndarray) -> tuple[Tensor, dict[str, Tensor]]:
    """The same network with the engine, every tensor named as in the notes."""
    params = {
        "W": Tensor(W0.copy(), requires_grad=True, name="W"),
        "b": Tensor(B0.copy(), requires_grad=True, name="b"),
        "U": Tensor(U0.copy(), requires_grad=True, name="U"),
    }
    W, b, U = params["W"], params["b"], params["U"]

    def score(window: np.ndarray, suffix: str) -> Tensor:
        # W x written elementwise, z_i = sum_j W_ij x_j: the trace then shows the local
        # derivative dz_i/dW_ij = x_j, so W receives delta_i x_j exactly as in the notes.
        z = (W * Tensor(window, name="x" + suffix)).sum(axis=1) + b
        z.name = "z" + suffix
        a = z.sigmoid()
        a.name = "a" + suffix
        s = (U * a).sum()  # s = U^T a
        s.name = "s" + suffix
        return s

    s, s_c = score(x, ""), score(x_c, "_c")
    J = (1.0 + s_c - s).relu()  # max(1 + s_c - s, 0)
    J.name = "J"
    return J, params


def entry_names() -> list[str]:
    """Labels of the 12 numbers W_11 ... W_24, b_1, b_2, U_1, U_2 (1-based as in the notes)."""
    w = [f"W{i + 1}{j + 1}" for i in range(2) for j in range(4)]
    return w + ["b1", "b2", "U1", "U2"]


def flat(d: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(d[k]) for k in ("W", "b", "U")])


def draw(hand: dict[str, Any], engine: dict[str, np.ndarray], path: Any) -> None:
    """Left: dJ/dW as a heatmap. Right: every gradient entry, by hand and by the engine."""
    fig = Figure(figsize=(13, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_w, ax_all = fig.subplots(1, 2, width_ratios=[1, 2.4])

    gW = hand["grads"]["W"]
    lim = np.abs(gW).max()
    image = ax_w.imshow(gW, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for (i, j), v in np.ndenumerate(gW):
        ax_w.text(j, i, f"{v:+.3f}", ha="center", va="center", fontsize=10,
                  color="white" if abs(v) > 0.6 * lim else "black")
    ax_w.set_xticks(range(4), [f"x_{j + 1}" for j in range(4)])
    ax_w.set_yticks(range(2), ["hidden 1", "hidden 2"])
    ax_w.set_title("dJ/dW_ij = delta_i x_j + delta_c,i x_c,j")
    fig.colorbar(image, ax=ax_w, shrink=0.6)

    names = entry_names()
    pos = np.arange(len(names))
    from_s = np.concatenate([np.ravel(hand["parts"][k][0]) for k in ("W", "b", "U")])
    from_c = np.concatenate([np.ravel(hand["parts"][k][1]) for k in ("W", "b", "U")])
    ax_all.bar(pos - 0.2, from_s, 0.4, color="tab:blue", alpha=0.6, label="part from s (by hand)")
    ax_all.bar(pos + 0.2, from_c, 0.4, color="tab:orange", alpha=0.6,
               label="part from s_c (by hand)")
    ax_all.scatter(pos, flat(hand["grads"]), s=90, color="black", label="sum (by hand)", zorder=3)
    ax_all.scatter(pos, flat(engine), s=40, marker="x", color="red", label="engine .grad",
                   zorder=4)
    ax_all.axhline(0, color="grey", lw=0.8)
    ax_all.set_xticks(pos, names)
    ax_all.set_ylabel("dJ / d(parameter)")
    ax_all.set_title(f"fan-out: each gradient is the sum of two parts (J = {hand['J']:.4f})")
    ax_all.legend(fontsize=9)
    fig.savefig(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    np.set_printoptions(precision=4, suppress=True)

    print("The 4-2-1 network: s = U^T sigmoid(W x + b), s_c = U^T sigmoid(W x_c + b),")
    print("J = max(1 + s_c - s, 0).  All numbers in float64.\n")
    hand = by_hand(W0, B0, U0, X_TRUE, X_CORRUPT)
    print(f"forward:  s = {hand['s']:.4f}   s_c = {hand['s_c']:.4f}   J = {hand['J']:.4f}")
    print(f"output error:  delta^(3) = dJ/ds = {hand['d3']:+.0f},  "
          f"delta^(3)_c = dJ/ds_c = {hand['d3_c']:+.0f}")
    print(f"hidden error:  delta^(2)   = sigma'(z) * U * delta^(3)   = {hand['d2']}")
    print(f"               delta^(2)_c = sigma'(z_c) * U * delta^(3)_c = {hand['d2_c']}")
    # One entry spelled out as in the notes' section 5.2: dJ/dW_14 = a_4 f'(z_1) U_1 delta^(3)
    sp = sigmoid(hand["z"][0]) * (1 - sigmoid(hand["z"][0]))
    print(f"e.g. the part of dJ/dW_14 from s: x_4 sigma'(z_1) U_1 delta^(3) = "
          f"{X_TRUE[3]:.1f} * {sp:.4f} * {U0[0]:.1f} * {hand['d3']:+.0f} = "
          f"{X_TRUE[3] * sp * U0[0] * hand['d3']:+.4f}\n")

    # The engine, in micrograd's order: backward() first; trace_backward then replays that
    # pass step by step through the graph it kept, writing no gradient a second time.
    J, params = forward(X_TRUE, X_CORRUPT)
    J.backward()
    engine = {name: p.grad.copy() for name, p in params.items()}
    trace = trace_backward(J)
    claim(all(np.array_equal(p.grad, engine[name]) for name, p in params.items()),
          "tracing after J.backward() reports the pass and changes no .grad")

    print(f"{'entry':>6} {'from s':>9} {'from s_c':>9} {'hand sum':>9} {'engine':>9}  |diff|")
    hand_parts = [np.concatenate([np.ravel(hand["parts"][k][i]) for k in ("W", "b", "U")])
                  for i in (0, 1)]
    for name, p, p_c, h, e in zip(entry_names(), *hand_parts, flat(hand["grads"]), flat(engine)):
        print(f"{name:>6} {p:+9.4f} {p_c:+9.4f} {h:+9.4f} {e:+9.4f}  {abs(h - e):.1e}")
    print()

    claim(J.dtype == np.float64 and abs(J.item() - hand["J"]) < 1e-15 and hand["J"] > 0,
          f"the engine's J equals the hand-computed J = {hand['J']:.6f} > 0 (float64)")
    claim(trace.grads["s"].item() == -1.0 and trace.grads["s_c"].item() == 1.0,
          "dJ/ds = -1 and dJ/ds_c = +1 while the margin is violated (delta^(3))")
    claim(np.allclose(trace.grads["z"], hand["d2"], rtol=0, atol=1e-14)
          and np.allclose(trace.grads["z_c"], hand["d2_c"], rtol=0, atol=1e-14),
          "the error reaching z is delta^(2)_i = sigma'(z_i) U_i delta^(3) (both windows)")
    for name in ("W", "b", "U"):
        err = np.abs(engine[name] - hand["grads"][name]).max()
        claim(err < 1e-14, f"dJ/d{name} by hand = engine's {name}.grad (max |diff| {err:.1e})")
    claim(np.allclose(engine["W"], np.outer(hand["d2"], X_TRUE)
                      + np.outer(hand["d2_c"], X_CORRUPT), rtol=0, atol=1e-14),
          "dJ/dW^(1) = delta x^T + delta_c x_c^T (dJ/dW_ij = delta_i a_j, a = x)")

    # Fan-out, as the engine saw it: what each operation sent back to W, b and U.
    print("\n" + trace.to_text(max_elements=8) + "\n")
    for name in ("W", "b", "U"):
        parts = [part for _, part in trace.contributions[name]]
        total = np.sum(parts, axis=0)
        # which trace part is which window's: match them against the hand-computed parts
        matched = all(any(np.allclose(part, mine, rtol=0, atol=1e-14) for part in parts)
                      for mine in hand["parts"][name])
        claim(len(parts) == 2 and matched and np.allclose(total, engine[name], rtol=0,
                                                          atol=1e-15),
              f"{name} fans out to s and s_c: its 2 traced contributions are the hand parts "
              f"and add up to {name}.grad")

    # The margin is met: J = 0, and no parameter is updated.
    easy = by_hand(W0, B0, U0, X_TRUE, X_CORRUPT_EASY)
    J_easy, params_easy = forward(X_TRUE, X_CORRUPT_EASY)
    J_easy.backward()
    print(f"\nA corrupt window scored far below x: s = {easy['s']:.4f}, s_c = {easy['s_c']:.4f}, "
          f"1 + s_c - s = {1 + easy['s_c'] - easy['s']:.4f}, so J = {J_easy.item():.1f}")
    claim(J_easy.item() == 0.0 and all(np.all(p.grad == 0) for p in params_easy.values())
          and all(np.all(g == 0) for g in easy["grads"].values()),
          "when the margin is met (J = 0) every gradient is exactly zero, by hand and engine")

    # The graph, numbered in backprop order and labelled with each fan-out edge's share.
    # Without Graphviz this writes the .dot source (and prints a text tree) instead.
    written = save_graph(J, args.out / "01_backprop_by_hand_graph.svg", trace=trace,
                         show_order=True)
    print(f"graph: {written}")
    path = picture(args, __file__)
    draw(hand, engine, path)
    print(f"picture: {path}")


if __name__ == "__main__":
    main()
