"""CI runs the suite with the fixed hypothesis profile, chosen explicitly by .ci/run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_ci_script_sets_ci_before_running_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("make test")


@pytest.mark.parametrize(("ci", "profile"), [("true", "ci"), ("1", "ci"), ("", "dev"),
                                             ("false", "dev")])
def test_conftest_picks_the_profile_from_ci(ci, profile):
    code = ("import runpy; from hypothesis import settings; "
            f"runpy.run_path({str(ROOT / 'tests' / 'conftest.py')!r}); "
            "print(settings.default.derandomize, settings.default.max_examples)")
    env = {**os.environ, "CI": ci}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    expected = {"ci": "True 40", "dev": "False 25"}[profile]
    assert done.stdout.strip() == expected
