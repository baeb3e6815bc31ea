"""The sweep benchmark computes the right things (never timing): every engine agrees, the
report has the two ratios against their targets."""

import json

import pytest

pytest.importorskip("distributed")
pytest.importorskip("threadpoolctl")

from benchmarks import sweep  # noqa: E402

TINY = sweep.SweepSettings(epochs=1, k=2, rounds=1, workers=2)


@pytest.mark.slow
def test_the_sweep_benchmark_reports_both_ratios(tmp_path, capsys):
    results = sweep.run_sweep_benchmark(TINY, log=lambda message: None)
    assert results["trials"] == 16
    seconds = results["seconds"]
    for name, target in (("processes", 0.6), ("dask", 0.7)):
        row = results["ratios"][name]
        assert row["target"] == target
        assert row["ratio"] == pytest.approx(
            seconds[name]["median"] / seconds["sequential"]["median"]
        )
        assert row["met"] == (row["ratio"] <= target)
    table = sweep.format_sweep(results)
    assert "| joblib loky, 2 processes |" in table and "| Dask LocalCluster, 2 processes |" in table

    path = tmp_path / "sweep.json"
    assert sweep.main(["--quick", "--json", str(path)]) == 0
    assert "ratio to sequential" in capsys.readouterr().out
    assert json.loads(path.read_text())["trials"] == 16
