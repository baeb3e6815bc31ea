"""The README stays true: every Python block in it runs, and the demo trains."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_demo_loss_falls(capsys):
    demo = runpy.run_path(str(ROOT / "examples" / "demo.py"))
    final = demo["main"](steps=300)
    out = capsys.readouterr().out
    first = float(re.search(r"step\s+0\s+loss (\S+)", out).group(1))
    assert "gradcheck of the network: True" in out
    assert final < first / 10
