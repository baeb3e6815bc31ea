"""docs/errors.md stays true: every error class is documented, every example runs, and every
message shown is the one the library prints today.

Each ```python block of the document runs on its own (in a temporary directory, as the file
``example.py``). A ```text block right after it shows what it prints; the test compares the
two. After changing a message, regenerate the text blocks with

    .venv/bin/python tests/reliability/test_errors_doc.py
"""

from __future__ import annotations

import contextlib
import inspect
import io
import linecache
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu
import tinygrad_edu.errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
# A python block, optionally followed by the text block that shows its output.
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```\n)?", re.S)
EXAMPLE = "example.py"


def error_classes() -> list[type]:
    return [
        obj for _, obj in inspect.getmembers(tinygrad_edu.errors, inspect.isclass)
        if issubclass(obj, tinygrad_edu.errors.TinygradEduError)
    ]


def run_block(code: str) -> str:
    """Run one block as the script ``example.py`` in a fresh temporary directory; its stdout.

    The source is registered with linecache, so messages that quote the user's line
    (detect_anomaly's) show it, exactly as they would for a real script.
    """
    linecache.cache[EXAMPLE] = (len(code), None, code.splitlines(True), EXAMPLE)
    out = io.StringIO()
    cwd = os.getcwd()
    tinygrad_edu.set_default_dtype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's log(0) warnings
                exec(compile(code, EXAMPLE, "exec"), {"__name__": "__main__"})
        finally:
            os.chdir(cwd)
            linecache.cache.pop(EXAMPLE, None)
            tinygrad_edu.set_default_dtype(np.float32)
    return out.getvalue()


def blocks(text: str) -> list[tuple[str, str | None, int]]:
    """(code, shown output or None, line number) of every python block."""
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in BLOCK.finditer(text)]


TEXT = DOC.read_text() if DOC.exists() else ""
BLOCKS = blocks(TEXT)


def test_the_document_exists_and_has_examples():
    assert DOC.exists()
    assert len(BLOCKS) >= 30


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_a_section_and_an_example(cls):
    heading = f"\n## {cls.__name__}\n"
    assert heading in TEXT, f"no section '## {cls.__name__}'"
    anchor = cls.__name__.lower()
    assert f"](#{anchor})" in TEXT, f"the contents do not link to #{anchor}"
    section = TEXT.split(heading, 1)[1].split("\n## ", 1)[0]
    examples = blocks(section)
    if cls is tinygrad_edu.TinygradEduError:  # the base: shown catching its subclasses
        assert any("except TinygradEduError" in code for code, _, _ in examples)
    else:
        outputs = [shown or "" for _, shown, _ in examples]
        assert any(line.startswith(f"{cls.__name__}: ") for out in outputs
                   for line in out.splitlines()), f"no example in the section raises {cls.__name__}"
    # The built-in it also is, so readers know which except clauses catch it.
    builtin = next(b for b in cls.__mro__[1:] if not issubclass(b, tinygrad_edu.TinygradEduError))
    assert builtin.__name__ in section.split("```", 1)[0]


def test_the_contents_link_to_every_section():
    headings = re.findall(r"^## (.+)$", TEXT, flags=re.M)
    contents = TEXT.split("\n## ", 1)[0]
    for heading in headings:
        if heading == "Contents":
            continue
        anchor = re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")
        assert f"(#{anchor})" in contents or f"(#{anchor})" in TEXT.split("## Contents", 1)[1]


@pytest.mark.parametrize("index", range(len(BLOCKS)),
                         ids=[f"line{line}" for _, _, line in BLOCKS])
def test_every_python_block_runs_and_prints_what_is_shown(index):
    code, shown, line = BLOCKS[index]
    output = run_block(code)  # raises if the block does not run cleanly
    # Every example shows something: a block meant to raise that prints nothing did not raise.
    assert output, f"docs/errors.md line {line}: the block prints nothing"
    assert output == shown, (
        f"docs/errors.md line {line}: the block now prints\n{output}\nRegenerate with "
        "`.venv/bin/python tests/reliability/test_errors_doc.py`."
    )


def regenerate() -> None:
    """Rewrite every text block after a python block with what the block prints now."""
    text = DOC.read_text()

    def replace(match: re.Match) -> str:
        code = match.group(1)
        output = run_block(code)
        return f"```python\n{code}```\n\n```text\n{output}```\n"

    DOC.write_text(BLOCK.sub(replace, text))


if __name__ == "__main__":
    regenerate()
    print(f"regenerated the outputs in {DOC}", file=sys.stderr)
