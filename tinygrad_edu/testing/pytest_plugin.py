"""The pytest plugin: gradient checks as fixtures, and failures shown as the report table.

Installing tinygrad_edu registers this module with pytest (the ``pytest11`` entry point in
``pyproject.toml``), so any test suite in the same environment gets

* a ``gradcheck`` fixture: ``gradcheck(f, inputs, **options)`` checks first derivatives and
  returns the :class:`~tinygrad_edu.gradcheck.GradcheckReport`;
* a ``gradgradcheck`` fixture: the same for second derivatives;
* readable failures: a test that fails with a :class:`~tinygrad_edu.errors.GradcheckError`
  (from a fixture, from ``tinygrad_edu.gradcheck.gradcheck`` or from
  :func:`tinygrad_edu.testing.assert_grads_close`) is reported as its report (what failed,
  the upstream gradient used, one row per input) and the line of the test that ran the
  check, without a traceback through the library.

Example (a test file; no import of the plugin is needed)::

    import numpy as np
    from tinygrad_edu import Tensor

    def test_my_swish(gradcheck):
        x = Tensor(np.linspace(-2, 2, 5), requires_grad=True)
        gradcheck(lambda x: x * x.sigmoid(), [x])

Turn it off with ``pytest -p no:tinygrad_edu``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from ..errors import GradcheckError
from ..gradcheck import GradcheckReport, assert_gradgrads_close, assert_grads_close

Checker = Callable[..., GradcheckReport]


# Session scope: the fixtures hold no state, and hypothesis refuses function-scoped fixtures
# in @given tests.
@pytest.fixture(scope="session")
def gradcheck() -> Checker:
    """``gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0)``: fail the test unless
    backprop through ``f(*inputs)`` agrees with central differences; returns the report."""
    return assert_grads_close


@pytest.fixture(scope="session")
def gradgradcheck() -> Checker:
    """``gradgradcheck(f, inputs, ...)``: the same check for second derivatives."""
    return assert_gradgrads_close


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator:
    """Replace the traceback of a failed gradient check with its report."""
    outcome = yield
    excinfo = call.excinfo
    if excinfo is None or not isinstance(excinfo.value, GradcheckError):
        return
    report = excinfo.value.report
    if report is None:
        return
    result = outcome.get_result()
    if result.when != "call":
        return
    where = [
        f"{entry.path}:{entry.lineno + 1}: {str(entry.statement).strip()}"
        for entry in excinfo.traceback
        if str(entry.path) == str(item.path)
    ]
    location = where[-1] if where else str(item.path)
    # Notes carry what other tools add, e.g. hypothesis's "Falsifying example: ...".
    notes = "".join(f"\n{note}" for note in getattr(excinfo.value, "__notes__", ()))
    # The report's first line (what failed) leads: pytest's short summary shows it.
    result.longrepr = f"{report}\n\nchecked at {location}{notes}"
