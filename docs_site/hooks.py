"""mkdocs hook: the lessons' gallery page, made from examples/README.md at build time.

examples/README.md is the gallery a reader of the repository sees; its pictures are linked as
``../docs/examples/...`` (relative to examples/). On the site the same page sits beside the
pictures, so the links are rewritten to ``examples/...`` and the scripts are linked as code.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def gallery_markdown(text: str) -> str:
    """examples/README.md's text with links that work from the site's root."""
    text = text.replace("](../docs/", "](")
    # Links to the scripts themselves (``](01_x.py)``) point into the repository, not the site.
    return re.sub(r"\]\((\d\d_[\w]+\.py|_shared\.py|demo\.py)\)", r"](#\1)", text)


def on_files(files, config):  # noqa: ANN001, ANN201  (mkdocs' hook signature)
    text = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "gallery.md", content=gallery_markdown(text)))
    return files
