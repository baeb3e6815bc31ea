"""The three plots: real PNG files of the asked size, and figure contents checked as numbers."""

import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tinygrad_edu import Tensor  # noqa: E402
from tinygrad_edu.data import DataLoader, make_blobs, make_moons  # noqa: E402
from tinygrad_edu.errors import InvalidArgumentError, ShapeError  # noqa: E402
from tinygrad_edu.losses import cross_entropy, mse_loss  # noqa: E402
from tinygrad_edu.nn import MLP, Dropout, Linear, Sequential, Tanh  # noqa: E402
from tinygrad_edu.optim import SGD, Adam  # noqa: E402
from tinygrad_edu.train import History, fit, predict  # noqa: E402
from tinygrad_edu.viz.plots import (  # noqa: E402
    plot_decision_boundary,
    plot_history,
    plot_loss_surface,
)

# ----------------------------------------------------------------------------- helpers


def png_size(path):
    """(width, height) from the PNG's IHDR chunk, after checking it is a whole PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert data[-8:] == b"IEND\xaeB`\x82"  # the file is complete
    return struct.unpack(">II", data[16:24])


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


@pytest.fixture(scope="module")
def two_rates():
    """The course's experiment: the same regression trained with eta = 0.001 and eta = 0.01."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32).reshape(-1, 1)
    runs = {}
    for lr in (0.001, 0.01):
        model = Linear(3, 1, rng=1)
        loader = DataLoader(X, y, batch_size=16, rng=2)
        runs[lr] = fit(
            model,
            mse_loss,
            SGD(model.parameters(), lr=lr),
            loader,
            epochs=5,
            val_data=(X, y),
            progress=False,
        )
    return runs


@pytest.fixture(scope="module")
def moons_model():
    X, y = make_moons(n_samples=120, noise=0.1, rng=0)
    model = MLP([2, 16, 2], activation="tanh", rng=0)
    fit(
        model,
        cross_entropy,
        Adam(model.parameters(), lr=0.05),
        DataLoader(X, y, batch_size=32, rng=0),
        epochs=30,
        progress=False,
    )
    return model, X, y


# ----------------------------------------------------------------------------- plot_history


def test_history_png_and_lines_equal_the_losses(tmp_path, two_rates):
    slow, fast = two_rates[0.001], two_rates[0.01]
    path = tmp_path / "loss.png"
    fig = plot_history([slow, fast], labels=["eta = 0.001", "eta = 0.01"], path=path)
    assert isinstance(fig, Figure)
    assert png_size(path) == (600, 450)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png"]  # no temporary left
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    for line, run in zip(ax.lines, (slow, fast)):
        np.testing.assert_array_equal(line.get_ydata(), run.losses)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(run.losses) + 1))
    assert len(slow.losses) == 20  # 64 / 16 batches x 5 epochs
    assert legend_texts(ax) == ["eta = 0.001", "eta = 0.01"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    # the larger rate does get further in the same number of steps
    assert fast.losses[-1] < slow.losses[-1]


def test_history_dict_labels_and_figsize(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot_history(
        {"a": [3.0, 2.0, 1.0], "b": [4.0, 1.0]}, path=path, figsize=(4, 3), dpi=50, title="two runs"
    )
    assert png_size(path) == (200, 150)
    ax = fig.axes[0]
    assert legend_texts(ax) == ["a", "b"]
    assert ax.get_title() == "two runs"
    assert [line.get_ydata().tolist() for line in ax.lines] == [[3.0, 2.0, 1.0], [4.0, 1.0]]


def test_history_single_run_and_plain_lists():
    fig = plot_history(History(losses=[0.5, 0.25]))
    ax = fig.axes[0]
    assert len(ax.lines) == 1 and ax.get_legend() is None
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0.5, 0.25])
    fig = plot_history([np.array([1.0, 2.0]), Tensor([3.0, 4.0, 5.0])])  # no labels: "run k"
    assert legend_texts(fig.axes[0]) == ["run 1", "run 2"]
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), [3.0, 4.0, 5.0])


def test_history_per_epoch_with_dashed_validation(two_rates):
    run = two_rates[0.01]
    fig = plot_history(run, per="epoch", metric="loss")
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    train, val = ax.lines
    np.testing.assert_array_equal(train.get_ydata(), run.metric("loss"))
    np.testing.assert_array_equal(val.get_ydata(), run.metric("val_loss"))
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4, 5])
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert train.get_color() == val.get_color()
    assert legend_texts(ax) == ["train", "val"]
    assert ax.get_xlabel() == "epoch"

    fig = plot_history(two_rates, per="epoch")  # dict of float keys, two runs with val
    assert legend_texts(fig.axes[0]) == [
        "0.001 (train)",
        "0.001 (val)",
        "0.01 (train)",
        "0.01 (val)",
    ]
    fig = plot_history(run, per="epoch", val=False)
    assert len(fig.axes[0].lines) == 1
    fig = plot_history(run, per="epoch", metric="val_loss")
    (line,) = fig.axes[0].lines
    assert line.get_linestyle() == "--"
    np.testing.assert_array_equal(line.get_ydata(), run.metric("val_loss"))


def test_history_smoothing_is_a_trailing_moving_average():
    fig = plot_history([1.0, 2.0, 3.0, 4.0, 10.0], smooth=2)
    smooth, raw = fig.axes[0].lines
    np.testing.assert_allclose(smooth.get_ydata(), [1.0, 1.5, 2.5, 3.5, 7.0])
    np.testing.assert_array_equal(raw.get_ydata(), [1.0, 2.0, 3.0, 4.0, 10.0])
    assert raw.get_alpha() < 1 and raw.get_color() == smooth.get_color()
    fig = plot_history([1.0, 2.0, 3.0], smooth=1)  # a window of one changes nothing
    assert len(fig.axes[0].lines) == 1


def test_history_nan_and_inf_stop_the_curve_and_are_marked(tmp_path):
    path = tmp_path / "diverged.png"
    fig = plot_history(
        {
            "ok": [1.0, 0.5, 0.25, 0.1],
            "blew up": [1.0, 3.0, float("nan"), 2.0],
            "inf": [2.0, float("inf")],
        },
        path=path,
        log_y=True,
    )
    assert png_size(path) == (600, 450)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [1.0, 3.0])
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), [2.0])
    markers = [s.get_offsets().tolist() for s in scatters(ax)]
    assert markers == [[[2.0, 3.0]], [[1.0, 2.0]]]  # the last finite point of each
    assert legend_texts(ax) == ["ok", "blew up", "inf", "diverged"]
    assert ax.get_yscale() == "log"

    stopped = History(losses=[1.0, 4.0], stop_reason="the training loss became nan")
    fig = plot_history(stopped)
    assert [s.get_offsets().tolist() for s in scatters(fig.axes[0])] == [[[2.0, 4.0]]]
    fig = plot_history([float("nan"), 1.0])  # nothing finite before the NaN: an empty line
    assert len(fig.axes[0].lines[0].get_ydata()) == 0


def test_history_from_a_diverging_fit():
    X = np.linspace(-1, 1, 16, dtype=np.float32).reshape(-1, 1) * 100
    model = Linear(1, 1, rng=0)
    with pytest.warns(UserWarning, match="training loss became"), np.errstate(all="ignore"):
        run = fit(
            model,
            mse_loss,
            SGD(model.parameters(), lr=10.0),
            [(X, 3 * X)],
            epochs=200,
            progress=False,
        )
    assert run.stopped_early and len(run.losses) > 0
    fig = plot_history(run)
    (marker,) = scatters(fig.axes[0])
    assert marker.get_offsets().tolist() == [[len(run.losses), run.losses[-1]]]


def test_history_errors():
    with pytest.raises(InvalidArgumentError, match="3 labels for 2 runs"):
        plot_history([[1.0], [2.0]], labels=["a", "b", "c"])
    with pytest.raises(InvalidArgumentError, match="keys are the labels"):
        plot_history({"a": [1.0]}, labels=["b"])
    with pytest.raises(InvalidArgumentError, match="per must be"):
        plot_history([1.0], per="batch")
    with pytest.raises(InvalidArgumentError, match="per='epoch'"):
        plot_history(History(losses=[1.0]), metric="accuracy")
    with pytest.raises(InvalidArgumentError, match="smooth"):
        plot_history([1.0], smooth=0)
    with pytest.raises(InvalidArgumentError, match="no histories"):
        plot_history([])
    with pytest.raises(InvalidArgumentError, match="run 1 is a str"):
        plot_history([[1.0], "loss"])
    with pytest.raises(InvalidArgumentError, match="figsize"):
        plot_history([1.0], figsize=(0, 3))
    regression = History(epochs=[{"epoch": 1, "loss": 0.5, "accuracy": None}])
    with pytest.raises(InvalidArgumentError, match="recorded no 'accuracy'"):
        plot_history(regression, per="epoch", metric="accuracy")
    with pytest.raises(InvalidArgumentError, match="no metric 'f1'"):
        plot_history(regression, per="epoch", metric="f1")


def test_unknown_extension_writes_nothing(tmp_path):
    with pytest.raises(InvalidArgumentError, match="cannot write a 'xyz' file"):
        plot_history([1.0, 2.0], path=tmp_path / "loss.xyz")
    assert list(tmp_path.iterdir()) == []


def test_other_formats_and_no_extension(tmp_path):
    plot_history([1.0, 2.0], path=tmp_path / "loss.svg")
    assert (tmp_path / "loss.svg").read_text().lstrip().startswith("<?xml")
    plot_history([1.0, 2.0], path=str(tmp_path / "loss"))  # PNG by default
    assert png_size(tmp_path / "loss") == (600, 450)


def test_draws_on_a_given_axes(tmp_path):
    fig = Figure(figsize=(8, 3), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    out = plot_history([1.0, 0.5], ax=left, path=tmp_path / "two.png")
    plot_loss_surface(
        lambda w: w[0] ** 2 + w[1] ** 2, (-1, 1), (-1, 1), ax=right, resolution=10, colorbar=False
    )
    assert out is fig
    assert len(left.lines) == 1 and len(contour_sets(right)) == 2
    assert png_size(tmp_path / "two.png") == (800, 300)
    with pytest.raises(InvalidArgumentError, match="matplotlib Axes"):
        plot_history([1.0], ax="left")


def test_plots_in_threads(tmp_path):
    errors = []

    def work(i):
        try:
            plot_history([float(i), 1.0, 0.5], path=tmp_path / f"{i}.png")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [png_size(tmp_path / f"{i}.png") for i in range(4)] == [(600, 450)] * 4


# ----------------------------------------------------------------------------- plot_loss_surface


def bowl(w):
    """E(w) = (w0 - 0.5)^2 + 2 (w1 + 0.25)^2, minimum 0 at (0.5, -0.25); vectorised."""
    w = np.asarray(w)
    return (w[..., 0] - 0.5) ** 2 + 2 * (w[..., 1] + 0.25) ** 2


def test_loss_surface_levels_minimum_and_png(tmp_path):
    path = tmp_path / "surface.png"
    # steps of 0.1 on both axes, so the true minimum (0.5, -0.25) is a grid point
    fig = plot_loss_surface(
        bowl, (-1, 2), (-1.25, 0.75), resolution=31, levels=12, path=path, title="bowl"
    )
    assert png_size(path) == (600, 450)
    ax = fig.axes[0]
    filled, lines = contour_sets(ax)
    assert filled.filled and not lines.filled
    # corners (-1, -1.25) and (2, 0.75) both give 1.5^2 + 2 * 1^2 = 4.25
    np.testing.assert_allclose(filled.levels, np.linspace(0.0, 4.25, 12), atol=1e-12)
    np.testing.assert_allclose(lines.levels, filled.levels)
    (star,) = scatters(ax)
    np.testing.assert_allclose(star.get_offsets(), [[0.5, -0.25]], atol=1e-12)
    assert ax.get_xlim() == (-1.0, 2.0) and ax.get_ylim() == (-1.25, 0.75)
    assert ax.get_title() == "bowl"
    assert len(fig.axes) == 2  # the axes and its colour bar


def test_loss_surface_point_by_point_functions_give_the_same_picture():
    calls = []

    def vectorised(w):
        calls.append(np.shape(w))
        return bowl(w)

    def one_point(w):
        return (w[0] - 0.5) ** 2 + 2 * (w[1] + 0.25) ** 2

    def with_tensors(w):  # a scalar Tensor: sums everything when handed the whole grid
        return ((Tensor(w) - Tensor([0.5, -0.25])) ** 2 * Tensor([1.0, 2.0])).sum()

    pictures = [
        plot_loss_surface(f, (-2, 2), (-2, 2), resolution=40)
        for f in (vectorised, one_point, with_tensors)
    ]
    # the vectorised one was called on the whole grid, not 1600 times
    assert (40, 40, 2) in calls and len(calls) < 20
    levels = [contour_sets(fig.axes[0])[0].levels for fig in pictures]
    np.testing.assert_allclose(levels[1], levels[0], rtol=1e-12)
    np.testing.assert_allclose(levels[2], levels[0], rtol=1e-6)


def test_loss_surface_trajectories_from_an_optimiser(tmp_path):
    """Gradient descent and momentum on E(w) = 1/2 (w0^2 + 10 w1^2), recorded step by step."""

    def E(w):
        return 0.5 * (w[0] ** 2 + 10.0 * w[1] ** 2)

    paths = {}
    for name, momentum in (("GD", 0.0), ("momentum", 0.9)):
        w = Tensor([-1.8, 0.9], requires_grad=True, dtype=np.float64)
        opt = SGD([w], lr=0.05, momentum=momentum)
        points = [w.data.copy()]
        for _ in range(25):
            opt.zero_grad()
            E(w).backward()
            opt.step()
            points.append(w.data.copy())
        paths[name] = np.array(points)
    path = tmp_path / "paths.png"
    fig = plot_loss_surface(
        E, (-2, 2), (-1, 1), trajectories=paths, log_levels=True, path=path, resolution=50
    )
    assert png_size(path) == (600, 450)
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    for line, points in zip(ax.lines, paths.values()):
        np.testing.assert_array_equal(line.get_xydata(), points)
    star, start, end, start2, end2 = scatters(ax)
    np.testing.assert_array_equal(start.get_offsets(), paths["GD"][:1])
    np.testing.assert_array_equal(end2.get_offsets(), paths["momentum"][-1:])
    texts = legend_texts(ax)
    assert texts[0].startswith("grid minimum") and texts[1:] == ["GD", "start", "end", "momentum"]
    # log levels: a constant ratio between neighbours, from the smallest positive loss
    levels = contour_sets(ax)[0].levels
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    np.testing.assert_allclose(levels[-1], E(np.array([2.0, 1.0])))


def test_loss_surface_trajectory_forms_and_labels():
    one = [[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]]
    fig = plot_loss_surface(bowl, (-1, 1), (-1, 1), trajectories=one, labels="GD", resolution=10)
    assert fig.axes[0].lines[0].get_xydata().tolist() == one
    assert "GD" in legend_texts(fig.axes[0])
    stacked = np.zeros((3, 4, 2))  # three trajectories of four points
    fig = plot_loss_surface(bowl, (-1, 1), (-1, 1), trajectories=stacked, resolution=10)
    assert len(fig.axes[0].lines) == 3
    ragged = [np.zeros((2, 2)), [Tensor([0.1, 0.2]), Tensor([0.3, 0.4]), Tensor([0.5, 0.6])]]
    fig = plot_loss_surface(bowl, (-1, 1), (-1, 1), trajectories=ragged, resolution=10)
    np.testing.assert_allclose(
        fig.axes[0].lines[1].get_xydata(), [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], rtol=1e-6
    )
    blown = [[0.5, 0.5], [1.0, -1.0], [np.inf, np.nan]]
    fig = plot_loss_surface(bowl, (-1, 1), (-1, 1), trajectories=[blown], resolution=10)
    assert fig.axes[0].lines[0].get_xydata().tolist() == blown[:2]


def test_loss_surface_non_finite_values_are_left_out():
    fig = plot_loss_surface(lambda w: 1.0 / np.abs(w[..., 0]), (-1, 1), (-1, 1), resolution=11)
    levels = contour_sets(fig.axes[0])[0].levels
    assert np.all(np.isfinite(levels)) and levels[0] == pytest.approx(1.0)
    assert levels[-1] == pytest.approx(5.0)  # 1 / 0.2 at the grid's innermost columns


def test_loss_surface_errors():
    with pytest.raises(InvalidArgumentError, match="3 labels for 2 trajectories"):
        plot_loss_surface(
            bowl,
            (-1, 1),
            (-1, 1),
            trajectories=[[[0, 0]], [[1, 1]]],
            labels=["a", "b", "c"],
            resolution=5,
        )
    with pytest.raises(ShapeError, match=r"trajectory 0 has shape \(2, 3\)"):
        plot_loss_surface(bowl, (-1, 1), (-1, 1), trajectories=np.zeros((2, 3)))
    with pytest.raises(InvalidArgumentError, match="xlim"):
        plot_loss_surface(bowl, (1, -1), (-1, 1))
    with pytest.raises(InvalidArgumentError, match="levels"):
        plot_loss_surface(bowl, (-1, 1), (-1, 1), levels=[3.0, 1.0])
    with pytest.raises(InvalidArgumentError, match="resolution"):
        plot_loss_surface(bowl, (-1, 1), (-1, 1), resolution=1)
    with pytest.raises(InvalidArgumentError, match="no finite value"):
        plot_loss_surface(lambda w: np.nan, (-1, 1), (-1, 1), resolution=5)
    with pytest.raises(InvalidArgumentError, match="log_levels needs positive"):
        plot_loss_surface(lambda w: -1.0, (-1, 1), (-1, 1), resolution=5, log_levels=True)
    with pytest.raises(ShapeError, match="must give one number"):
        plot_loss_surface(lambda w: np.ones(3), (-1, 1), (-1, 1), resolution=5)


# ----------------------------------------------------------------------------- decision boundary


def region_classes(ax, points):
    """Which filled band (class index) of the decision plot contains each point."""
    (filled,) = contour_sets(ax)
    inside = np.array([[p.contains_point(q) for p in filled.get_paths()] for q in points])
    assert np.all(inside.sum(axis=1) == 1)  # every point lies in exactly one band
    return inside.argmax(axis=1)


def test_decision_boundary_of_a_trained_mlp(tmp_path, moons_model):
    model, X, y = moons_model
    path = tmp_path / "moons.png"
    fig = plot_decision_boundary(model, X, y, path=path, resolution=80, title="moons")
    assert png_size(path) == (600, 450)
    ax = fig.axes[0]
    (points,) = scatters(ax)
    assert len(points.get_offsets()) == len(X)
    np.testing.assert_array_equal(points.get_offsets(), X)
    np.testing.assert_array_equal(points.get_array(), y)  # coloured by label
    assert legend_texts(ax) == ["class 0", "class 1"]
    # the grid covers the data plus the margin
    np.testing.assert_allclose(ax.get_xlim(), [X[:, 0].min() - 0.5, X[:, 0].max() + 0.5], rtol=1e-6)
    # the painted class agrees with the model's argmax where the model is confident
    rng = np.random.default_rng(1)
    probe = rng.uniform(X.min(axis=0), X.max(axis=0), size=(300, 2)).astype(np.float32)
    scores = predict(model, probe)
    confident = np.abs(scores[:, 1] - scores[:, 0]) > 1.0
    assert confident.sum() > 100
    np.testing.assert_array_equal(
        region_classes(ax, probe[confident]), scores[confident].argmax(axis=1)
    )


def test_decision_boundary_three_classes_and_modes():
    X, y = make_blobs(n_samples=90, centers=3, rng=0)
    model = Sequential(Linear(2, 16, rng=0), Tanh(), Dropout(0.5, rng=0), Linear(16, 3, rng=1))
    fit(
        model,
        cross_entropy,
        Adam(model.parameters(), lr=0.05),
        DataLoader(X, y, batch_size=30, rng=0),
        epochs=20,
        progress=False,
    )
    model.train()
    fig = plot_decision_boundary(model, X, y, resolution=60)
    assert model.training  # restored after the eval-mode pass
    ax = fig.axes[0]
    assert legend_texts(ax) == ["class 0", "class 1", "class 2"]
    np.testing.assert_array_equal(contour_sets(ax)[0].levels, [-0.5, 0.5, 1.5, 2.5])
    # the regions follow eval-mode predictions (no dropout noise) at the blob centres
    centres = np.array([X[y == k].mean(axis=0) for k in range(3)])
    np.testing.assert_array_equal(region_classes(ax, centres), [0, 1, 2])
    np.testing.assert_array_equal(region_classes(ax, centres), predict(model, centres).argmax(1))


def test_decision_boundary_records_no_graph(moons_model):
    model, X, y = moons_model
    model.zero_grad()
    plot_decision_boundary(model, X, y, resolution=20)
    assert all(p.grad is None for p in model.parameters())


def test_decision_boundary_single_output_threshold():
    """s = x0 - x1: class 1 below the diagonal, with {0, 1} and with {-1, +1} labels."""
    w = Tensor([[1.0], [-1.0]])
    model = lambda x: x @ w  # noqa: E731
    X = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.0], [0.0, 0.5]], dtype=np.float32)
    below, above = np.array([[1.0, -1.0], [0.8, 0.0]]), np.array([[-1.0, 1.0], [0.0, 0.8]])
    for labels, names in (
        ([1, 0, 1, 0], ["class 0", "class 1"]),
        ([1, -1, 1, -1], ["class -1", "class 1"]),
    ):
        fig = plot_decision_boundary(model, X, np.array(labels), resolution=41, margin=0.25)
        ax = fig.axes[0]
        assert legend_texts(ax) == names
        np.testing.assert_array_equal(region_classes(ax, below), [1, 1])
        np.testing.assert_array_equal(region_classes(ax, above), [0, 0])
        np.testing.assert_array_equal(scatters(ax)[0].get_array(), [1, 0, 1, 0])
    # probabilities: the threshold moves the boundary to s = 0.5 (x0 - x1 = 0.5)
    fig = plot_decision_boundary(model, X, np.array([1, 0, 1, 0]), threshold=0.5, resolution=41)
    np.testing.assert_array_equal(region_classes(fig.axes[0], [[0.25, 0.0], [0.9, 0.0]]), [0, 1])


def test_decision_boundary_one_hot_labels():
    w = Tensor([[1.0, -1.0], [-1.0, 1.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    fig = plot_decision_boundary(lambda x: x @ w, X, np.eye(2)[[0, 1, 0]], resolution=20)
    np.testing.assert_array_equal(scatters(fig.axes[0])[0].get_array(), [0, 1, 0])


def test_decision_boundary_errors(moons_model):
    model, X, y = moons_model
    X3 = np.zeros((5, 3))
    with pytest.raises(ShapeError, match=r"shape \(N, 2\).*got \(5, 3\)"):
        plot_decision_boundary(model, X3, np.zeros(5, dtype=int))
    with pytest.raises(ShapeError, match="one label per row"):
        plot_decision_boundary(model, X, y[:-1])
    with pytest.raises(InvalidArgumentError, match=r"class indices 0\.\.1"):
        plot_decision_boundary(model, X, np.where(y == 1, 2, 0))
    with pytest.raises(InvalidArgumentError, match="margin"):
        plot_decision_boundary(model, X, y, margin=-1.0)
    with pytest.raises(ShapeError, match="expected"):
        plot_decision_boundary(lambda x: x.sum(), X, y, resolution=5)


# ----------------------------------------------------------------------------- matplotlib missing


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_edu\[plot\]'"):
        plot_history([1.0, 0.5])
    with pytest.raises(ImportError, match="plot_loss_surface needs matplotlib"):
        plot_loss_surface(bowl, (-1, 1), (-1, 1))
    with pytest.raises(ImportError, match="plot_decision_boundary needs matplotlib"):
        plot_decision_boundary(lambda x: x, np.zeros((2, 2)), np.array([0, 1]))


def test_no_pyplot_and_lazy_import():
    code = (
        "import sys\n"
        "import tinygrad_edu.viz.plots as p\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        "p.plot_history([1.0, 0.5])\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_loss_surface_can_leave_out_the_minimum_star():
    def saddle(w):
        return w[..., 0] ** 2 - w[..., 1] ** 2

    with_star = plot_loss_surface(saddle, (-1, 1), (-1, 1), resolution=20)
    without = plot_loss_surface(saddle, (-1, 1), (-1, 1), resolution=20, mark_minimum=False)

    def stars(fig):
        return [c for c in fig.axes[0].collections if c.get_label().startswith("grid minimum")]

    assert len(stars(with_star)) == 1 and stars(without) == []
