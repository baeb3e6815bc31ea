"""What every lesson script shares: its command line and where its picture goes.

Each example is run as ``python examples/NN_topic.py [--fast] [--out DIR]``:

* ``--fast`` makes it small enough for the test suite (a few seconds) without weakening
  what it checks;
* ``--out DIR`` is where its picture goes (default: the current folder). Only ``make examples``
  writes into the tracked gallery, ``docs/examples``, so running a lesson never changes it.

The examples *assert* the claims of the course notes: if a claim fails, the script exits with an
error, and ``tests/test_examples.py`` fails with it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The options every example takes: ``--fast`` and ``--out``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--fast", action="store_true", help="a small, quick run (what the tests use)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."),
        help="folder for the picture (default: the current folder)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def picture(args: argparse.Namespace, script: str) -> Path:
    """The path of the example's picture: ``<out>/<script name>.png``."""
    return args.out / (Path(script).stem + ".png")


def save(fig: Any, args: argparse.Namespace, script: str) -> Path:
    """Lay out ``fig`` and write it as the example's picture; say where."""
    fig.tight_layout()
    path = picture(args, script)
    fig.savefig(path)
    print(f"\npicture: {path}")
    return path


def claim(ok: bool, text: str) -> None:
    """Print a claim of the notes with its verdict; stop the example if it does not hold."""
    print(("  [ok] " if ok else "  [FAILED] ") + text)
    if not ok:
        raise SystemExit(f"claim failed: {text}")
