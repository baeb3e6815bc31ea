"""Every lesson script runs in --fast mode, checks its own claims, and draws its picture."""

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("[0-9][0-9]_*.py"))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_there_is_an_example_per_lesson():
    assert len(EXAMPLES) >= 13


# A third of the suite's time: `make test` skips them, `make test-slow` and CI run them.
@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_checks_its_claims_and_draws(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(script), "--fast", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg", "TINYGRAD_EDU_DOT": "none"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[FAILED]" not in done.stdout
    assert "[ok]" in done.stdout  # it checked at least one claim of the notes
    image = tmp_path / f"{script.stem}.png"
    assert image.exists(), f"{script.name} wrote no {image.name}"
    width, height = png_size(image)
    assert width >= 200 and height >= 150


def test_gallery_lists_every_example():
    gallery = (ROOT / "examples" / "README.md").read_text()
    for script in EXAMPLES:
        assert script.name in gallery and f"{script.stem}.png" in gallery


def test_a_lesson_writes_into_the_current_folder_not_the_gallery(tmp_path):
    gallery = ROOT / "docs" / "examples"
    before = {p.name: p.stat().st_mtime_ns for p in gallery.iterdir()}
    script = ROOT / "examples" / "12_activations.py"
    done = subprocess.run(
        [sys.executable, str(script), "--fast"], capture_output=True, text=True, timeout=300,
        cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg", "TINYGRAD_EDU_DOT": "none"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "12_activations.png").exists()
    assert {p.name: p.stat().st_mtime_ns for p in gallery.iterdir()} == before
