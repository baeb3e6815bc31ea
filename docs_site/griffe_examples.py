"""A griffe extension: read a docstring's ``Example:`` section as Google-style ``Examples:``.

The package's docstrings say ``Example:`` (singular) before a doctest, as Google's style guide
allows; griffe only knows the plural and would otherwise render the doctest as prose.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename each ``Example:`` heading to ``Examples:`` when an object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
