"""Preprocessing: mean subtraction, normalisation and whitening, with training statistics only.

What the notes claim (the notes on data preprocessing): subtract the mean feature vector;
divide each feature by its standard deviation so that features in different units count alike;
whitening goes further and gives the data an identity covariance matrix (features uncorrelated,
variance 1): centre, take the SVD, project onto the basis U, divide each direction by its
singular value (by a small number instead of zero). The mean and the scales are computed on the
training set only and then applied to the validation and test sets, to prevent data leakage.

What the script shows, on a rotated, stretched 2-D Gaussian: after standardising the variances
are 1 but the correlation is untouched; after PCA or ZCA whitening the covariance is the
identity up to eps; ZCA stays closest to the data; and the test set, transformed with the
training statistics, is close to but not exactly centred and white -- fitting the transform on
the test set itself would make it exactly so by peeking at it.
"""

from __future__ import annotations

import numpy as np
from _shared import claim, parse_args, picture
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tinygrad_edu.data import Standardizer, Whitener


def covariance(X: np.ndarray) -> np.ndarray:
    """Sigma = Xc^T Xc / N with Xc = X - mean: the (population) covariance, as the notes."""
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / len(X)


def show(name: str, X: np.ndarray) -> None:
    C = covariance(X)
    r = round(C[0, 1] / np.sqrt(C[0, 0] * C[1, 1]), 3) + 0.0
    C = np.round(C, 3) + 0.0
    m = np.round(X.mean(axis=0), 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    print(f"   {name:22s} mean ({m[0]:6.3f}, {m[1]:6.3f})"
          f"  cov [[{C[0, 0]:7.3f} {C[0, 1]:7.3f}] [{C[1, 0]:7.3f} {C[1, 1]:7.3f}]]"
          f"  correlation {r:+.3f}")


def make_data(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian stretched to standard deviations 3 and 0.5, turned by 30 degrees, moved to
    (5, -2): two correlated features in different units."""
    angle = np.deg2rad(30)
    R = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    return rng.normal(size=(n, 2)) @ np.diag([3.0, 0.5]) @ R + np.array([5.0, -2.0])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    n_train = 500 if args.fast else 2000
    rng = np.random.default_rng(0)
    X_train, X_test = make_data(n_train, rng), make_data(n_train // 4, rng)
    eye = np.eye(2)

    print(f"1. {n_train} training points: the covariance before and after each transform")
    show("raw", X_train)
    scaler = Standardizer().fit(X_train)  # statistics of the training set only
    Z_std = scaler.transform(X_train)
    show("standardised", Z_std)
    C_raw, C_std = covariance(X_train), covariance(Z_std)
    r_raw = C_raw[0, 1] / np.sqrt(C_raw[0, 0] * C_raw[1, 1])
    claim(np.allclose(Z_std.mean(axis=0), 0, atol=1e-12),
          "mean subtraction: the training features have mean 0")
    claim(np.allclose(np.diag(C_std), 1, rtol=1e-12),
          "normalisation: every training feature has variance 1")
    claim(abs(r_raw) > 0.5 and np.isclose(C_std[0, 1], r_raw, rtol=1e-10),
          f"but standardising keeps the correlation: the off-diagonal is still r = {r_raw:+.3f}")

    whiteners = {}
    for method in ("pca", "zca"):
        eps = 1e-5
        white = Whitener(method, eps=eps).fit(X_train)
        whiteners[method] = white
        Z = white.transform(X_train)
        show(f"{method.upper()}-whitened", Z)
        S = white.variances_
        C = covariance(Z)
        # Exactly diag(S / (S + eps)) in the principal basis: the identity up to eps / S.
        expected = np.diag(S / (S + eps)) if method == "pca" else (
            white.components_ @ np.diag(S / (S + eps)) @ white.components_.T)
        claim(np.allclose(C, expected, rtol=1e-10, atol=1e-12) and
              np.abs(C - eye).max() < 2 * eps / S.min(),
              f"{method.upper()} whitening: covariance = identity up to eps "
              f"(largest deviation {np.abs(C - eye).max():.1e})")

    # The notes take the SVD of the centred data X' itself: its singular values are
    # sqrt(N S), so dividing by them gives the same directions with variance 1/N.
    Xc = X_train - X_train.mean(axis=0)
    singular = np.linalg.svd(Xc, compute_uv=False)
    claim(np.allclose(singular**2 / n_train, whiteners["pca"].variances_, rtol=1e-10),
          "the singular values of the centred data are sqrt(N * variance along each direction)")
    W_zca = whiteners["zca"].whitening_matrix_
    Z_pca, Z_zca = whiteners["pca"].transform(X_train), whiteners["zca"].transform(X_train)
    # Of all whitening matrices, ZCA's moves the centred points the least (on average).
    move_pca = np.mean(np.sum((Z_pca - Xc) ** 2, axis=1))
    move_zca = np.mean(np.sum((Z_zca - Xc) ** 2, axis=1))
    claim(np.allclose(W_zca, W_zca.T, atol=1e-12) and move_zca < move_pca,
          f"ZCA's matrix is symmetric and its output stays closer to the centred data than "
          f"PCA's: mean squared distance {move_zca:.3f} vs {move_pca:.3f}")

    print(f"2. {len(X_test)} test points, transformed with the TRAINING statistics")
    Z_test = scaler.transform(X_test)
    show("test, standardised", Z_test)
    W_test = whiteners["zca"].transform(X_test)
    show("test, ZCA-whitened", W_test)
    claim(np.allclose(Z_test, (X_test - X_train.mean(axis=0)) / X_train.std(axis=0),
                      rtol=1e-12, atol=1e-12),
          "the test set is standardised with the training mean and standard deviation")
    claim(np.abs(Z_test.mean(axis=0)).max() > 1e-3 and np.abs(Z_test.mean(axis=0)).max() < 0.3,
          f"so its mean is close to, but not exactly, 0: "
          f"{np.array2string(Z_test.mean(axis=0), precision=4)}")
    leaky = Standardizer().fit_transform(X_test)  # what fitting on the test set would do
    claim(np.allclose(leaky.mean(axis=0), 0, atol=1e-12) and not np.allclose(leaky, Z_test),
          "fitting on the test set would centre it exactly, with statistics the model must not "
          "see (leakage): its numbers would differ")

    fig = Figure(figsize=(16, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    panels = [
        ("raw", X_train, X_test),
        ("standardised (mean 0, variance 1)", Z_std, Z_test),
        ("PCA-whitened (covariance I)", Z_pca, whiteners["pca"].transform(X_test)),
        ("ZCA-whitened (covariance I)", Z_zca, W_test),
    ]
    for ax, (title, train, test) in zip(fig.subplots(1, 4), panels):
        ax.scatter(train[:, 0], train[:, 1], s=5, alpha=0.4, label="train")
        ax.scatter(test[:, 0], test[:, 1], s=9, marker="x", alpha=0.7, label="test")
        C = covariance(train)
        # the 2-standard-deviation ellipse of the training covariance: round means white
        vals, vecs = np.linalg.eigh(C)
        angle = np.linspace(0, 2 * np.pi, 200)
        ring = (vecs @ (2 * np.sqrt(vals)[:, None] * np.stack([np.cos(angle), np.sin(angle)])))
        centre = train.mean(axis=0)
        ax.plot(centre[0] + ring[0], centre[1] + ring[1], "k-", lw=1.2, label="2-std ellipse")
        c = np.round(C, 2) + 0.0  # + 0.0: no "-0.00" in the title
        ax.set_title(f"{title}\ntraining cov [[{c[0, 0]:.2f}, {c[0, 1]:.2f}], "
                     f"[{c[1, 0]:.2f}, {c[1, 1]:.2f}]]", fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    fig.savefig(picture(args, __file__), dpi=90)
    print(f"picture: {picture(args, __file__)}")


if __name__ == "__main__":
    main()
