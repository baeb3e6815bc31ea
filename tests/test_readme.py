"""The README stays true: every Python and shell block in it runs, its links stay inside the
repository, and the demo trains."""

import os
import re
import runpy
import subprocess
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


TEXT = (ROOT / "README.md").read_text()
SHELL_BLOCKS = re.findall(r"```bash\n(.*?)```", TEXT, flags=re.S)


def test_readme_links_only_to_files_inside_the_repository():
    targets = re.findall(r"\]\(([^)\s]+)\)", TEXT)
    assert targets, "the README links to its pictures and documents"
    for target in targets:
        assert "://" not in target or target.startswith("https://"), target
        if "://" in target:
            continue
        path = (ROOT / target.split("#")[0]).resolve()
        assert ROOT in path.parents, f"{target} points outside the repository"
        assert path.exists(), f"{target} does not exist"


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z][a-z-]*)`", TEXT))
    for block in SHELL_BLOCKS:
        named |= set(re.findall(r"^make ([a-z][a-z-]*)", block, flags=re.M))
    assert {"demo", "test", "test-slow", "docs-site"} <= named
    assert named <= targets, f"not in the Makefile: {sorted(named - targets)}"


@pytest.mark.slow  # about 5 s each (processes that import the package): make test-slow, CI
@pytest.mark.parametrize("index", [i for i, b in enumerate(SHELL_BLOCKS) if ".venv/bin/" in b])
def test_readme_shell_block_runs_and_writes_nothing_into_the_repository(index):
    def files() -> list[str]:  # caches (.pytest_cache, .hypothesis) may appear: not outputs
        return sorted(p.name for p in ROOT.iterdir() if not p.name.startswith("."))

    before = files()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", SHELL_BLOCKS[index]], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert files() == before


def test_nothing_in_the_project_points_outside_it():
    """No file cites the course notes by a path or a file number the clone lacks."""
    outside = "../" + "shared"  # spelled apart, so this file does not find itself
    numbered = re.compile(r"\bnote" + r"[ _]\d{3}\b")
    skip = {".git", ".venv", "site", "build", ".pytest_cache", ".hypothesis", ".ruff_cache"}
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        for name in files:
            if name.endswith((".py", ".md", ".txt", ".yml", ".toml", ".html", ".cfg")):
                text = (Path(folder) / name).read_text(errors="replace")
                if outside in text or numbered.search(text):
                    found.append(str((Path(folder) / name).relative_to(ROOT)))
    assert found == []
