"""The runnable examples in the package's docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import tinygrad_edu

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(tinygrad_edu.__path__, prefix="tinygrad_edu.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
