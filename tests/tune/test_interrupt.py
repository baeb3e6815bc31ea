"""Ctrl-C during a sweep on worker processes returns the finished trials and stops the rest.

A real SIGINT to a real Python process running a real engine: the sweep's script prints what
grid_search returned, so the test reads how many trials finished and that the others did not.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from pathlib import Path
from tinygrad_edu.data import make_spiral
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.tune import grid_search

folder = Path(sys.argv[2])

def build(lr, rng):
    (folder / f"built-{lr}-{rng.integers(1 << 30)}").touch()  # one file per trial started
    model = MLP([2, 32, 3], activation="tanh", rng=rng)
    return model, cross_entropy, SGD(model.parameters(), lr=lr)

if __name__ == "__main__":  # Dask's LocalCluster starts its workers by spawning
    X, y = make_spiral(n_per_class=50, n_classes=3, rng=0)
    result = grid_search(build, {"lr": [0.01 * i for i in range(1, 41)]}, X, y, k=2, epochs=30,
                         backend=sys.argv[1], n_jobs=2, progress=False)
    statuses = {t.status for t in result.trials}
    print("interrupted", result.interrupted, "finished", len(result.trials), "statuses", statuses)
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_ctrl_c_returns_the_finished_trials(backend, tmp_path):
    if backend == "dask":
        pytest.importorskip("distributed")
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), backend, str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        # a child started from a background job may inherit SIGINT ignored: restore Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("built-*"))) < 8 and child.poll() is None:
            assert time.monotonic() < deadline, "the sweep started no trials"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    words = out.split()
    assert words[:2] == ["interrupted", "True"], out + err
    finished = int(words[3])
    assert 0 < finished < 80  # the finished trials came back; the rest were stopped
    assert "statuses {'ok'}" in out
    assert "interrupted; returning the" in err
    assert os.path.exists(script)
