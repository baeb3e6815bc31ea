"""The sweep's pictures: the validation curve and the training curves, checked as numbers."""

import math

import numpy as np
import pytest
from conftest import make_build

pytest.importorskip("matplotlib")

from matplotlib.container import ErrorbarContainer  # noqa: E402

from tinygrad_edu.data import make_blobs  # noqa: E402
from tinygrad_edu.errors import InvalidArgumentError  # noqa: E402
from tinygrad_edu.tune import (  # noqa: E402
    SearchResult,
    grid_search,
    plot_training_curves,
    plot_validation_curve,
)


@pytest.fixture(scope="module")
def result():
    good = make_build()

    def build(lr, rng, momentum=0.0):
        model, loss_fn, optimizer = good(lr, rng, momentum)
        if lr > 10:  # this rate "diverges": its loss is NaN from the first step
            return model, (lambda out, target: loss_fn(out, target) * math.nan), optimizer
        return model, loss_fn, optimizer

    grid = {"lr": [1e-3, 0.03, 0.3, 30.0], "momentum": [0.0, 0.9]}
    X, y = make_blobs(n_samples=60, centers=3, std=2.0, rng=0)  # the blobs fixture's data
    return grid_search(build, grid, X, y, k=3, epochs=4, backend="sequential", progress=False)


def test_validation_curve_draws_means_with_fold_spread_on_a_log_axis(result, tmp_path):
    path = tmp_path / "curve.png"
    fig = plot_validation_curve(result, param="lr", path=path, title="choosing eta")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "choosing eta"
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [b.get_label() for b in bars] == ["momentum=0", "momentum=0.9"]
    for bar, momentum in zip(bars, [0.0, 0.9]):
        rows = [r for r in result.table if r["params"]["momentum"] == momentum and not r["failed"]]
        x, y = bar.lines[0].get_data()
        assert list(x) == [0.001, 0.03, 0.3]  # the diverged rate has no point on the line
        np.testing.assert_allclose(np.asarray(y, float), [r["mean_val_loss"] for r in rows])
        (segments,) = bar.lines[2]
        heights = [seg[1, 1] - seg[0, 1] for seg in segments.get_segments()]
        np.testing.assert_allclose(heights, [2 * r["std_val_loss"] for r in rows], rtol=1e-6)
    labels = [c.get_label() for c in ax.collections]
    assert "diverged or failed" in labels
    crosses = ax.collections[labels.index("diverged or failed")].get_offsets()
    assert list(crosses[:, 0]) == [30.0, 30.0]
    best = [c for c in ax.collections if c.get_label().startswith("best:")]
    assert len(best) == 1
    best_row = result.table[result.best_index]
    np.testing.assert_allclose(
        np.asarray(best[0].get_offsets())[0], [best_row["params"]["lr"], best_row["mean_val_loss"]]
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_curve_of_accuracy_and_from_a_saved_result(result, tmp_path):
    result.save(tmp_path / "sweep.json")
    loaded = SearchResult.load(tmp_path / "sweep.json")
    ax = plot_validation_curve(loaded, metric="val_accuracy").axes[0]
    x, y = ax.containers[0].lines[0].get_data()
    rows = [r for r in result.table if r["params"]["momentum"] == 0.0 and not r["failed"]]
    np.testing.assert_allclose(np.asarray(y, float), [r["mean_val_accuracy"] for r in rows])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"param": "batch"}, "'batch' is not a hyperparameter .* the grid has \\['lr', 'momentum'"),
        ({"metric": "loss"}, "metric must be one of"),
        ({"param": "momentum"}, "log axis needs positive values of 'momentum'; got 0.0"),
        ({"path": "curve.xyz"}, "cannot write a 'xyz' file"),
    ],
)
def test_validation_curve_refuses_what_it_cannot_draw(result, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        plot_validation_curve(result, **kwargs)
    assert plot_validation_curve(result, param="momentum", log_x=False).axes[0].get_xscale() == (
        "linear"
    )


def test_training_curves_are_the_fold_means_per_epoch(result, tmp_path):
    fig = plot_training_curves(result, metric="val_loss", path=tmp_path / "curves.png")
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert "lr=0.3, momentum=0.9" in lines
    for s, params in enumerate(result.settings):
        label = f"lr={params['lr']:g}, momentum={params['momentum']:g}"
        if params["lr"] > 10:  # diverged in the first step of every fold: no epoch to draw
            assert label not in lines
            continue
        expected = np.mean([h.metric("val_loss") for h in result.histories(s)], axis=0)
        x, y = lines[label].get_data()
        assert list(x) == [1, 2, 3, 4]
        np.testing.assert_allclose(y, expected)
    assert (tmp_path / "curves.png").exists()
    with pytest.raises(InvalidArgumentError, match="metric must be one of"):
        plot_training_curves(result, metric="lr")
