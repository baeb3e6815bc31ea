"""Fixtures shared by the drawing tests."""

import pytest

from tinygrad_edu.viz import find_renderer


@pytest.fixture(autouse=True)
def _renderer_from_the_machine(monkeypatch):
    """Each test starts with no TINYGRAD_EDU_DOT override; tests that want one set it."""
    monkeypatch.delenv("TINYGRAD_EDU_DOT", raising=False)


@pytest.fixture
def renderer():
    found = find_renderer()
    if found is None:
        pytest.skip("no Graphviz renderer installed (graphviz-pure or dot)")
    return found
