"""CI runs the suite with the fixed hypothesis profile, chosen explicitly by .ci/run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_ci_script_sets_ci_before_running_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("make test")


def test_conftest_picks_the_profile_from_ci():
    # One interpreter tries every value (each start costs seconds): run conftest, read it back.
    code = (
        "import os, runpy\n"
        "from hypothesis import settings\n"
        "for ci in ('true', '1', '', 'false'):\n"
        "    os.environ['CI'] = ci\n"
        f"    runpy.run_path({str(ROOT / 'tests' / 'conftest.py')!r})\n"
        "    print(ci or '-', settings.default.derandomize, settings.default.max_examples)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, timeout=120, check=True)
    assert done.stdout.splitlines() == ["true True 40", "1 True 40", "- False 25", "false False 25"]
