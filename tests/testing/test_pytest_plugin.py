"""The pytest plugin, used as a user would: pytest run in a subprocess on a user's test file
(and on the example file users copy), found through the package's pytest11 entry point."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import unittest
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import Function, GradcheckError, Tensor
from tinygrad_edu.gradcheck import GradcheckReport
from tinygrad_edu.testing import assert_gradgrads_close, assert_grads_close

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tinygrad_edu import Function, Tensor


class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, g, out, x):
        return 2 * g * x


class SquareForgot2(Function):
    def forward(self, x):
        return x * x

    def backward(self, g, out, x):
        return g * x


def test_square_passes(gradcheck, gradgradcheck):
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    assert gradcheck(Square.apply, [x]).ok
    gradgradcheck(Square.apply, [x])


def test_square_forgot_the_2(gradcheck):
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True, name="x")
    gradcheck(lambda x: SquareForgot2.apply(x).sum(), [x])


@settings(max_examples=5, database=None, derandomize=True)
@given(st.floats(0.5, 2.0))
def test_square_property(gradcheck, scale):
    x = Tensor(np.array([1.0, -2.0]) * scale, requires_grad=True)
    gradcheck(Square.apply, [x])


@settings(max_examples=5, database=None, derandomize=True)
@given(st.floats(0.5, 2.0))
def test_square_forgot_the_2_property(gradcheck, scale):
    x = Tensor(np.array([1.0, -2.0]) * scale, requires_grad=True)
    gradcheck(SquareForgot2.apply, [x])
'''


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    registered = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert registered.get("tinygrad_edu") == "tinygrad_edu.testing.pytest_plugin"


def test_pytest_on_a_user_test_file_shows_the_report_table(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    shutil.copy(ROOT / "examples" / "test_my_operation.py", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "2 failed, 6 passed" in out  # the example file's four tests pass
    assert "FAILED test_user.py::test_square_forgot_the_2 - gradcheck failed for input 0" in out
    # Under hypothesis (the fixture works with @given), its falsifying example is kept.
    assert "FAILED test_user.py::test_square_forgot_the_2_property - gradcheck failed" in out
    assert re.search(r"test_square_forgot_the_2_property\(\n(.*\n)*\s+scale=\S+,", out), out
    # The report: one-element output, so the values are dL/dx = 2x against backprop's x.
    assert "gradcheck failed for input 0 ('x') of shape (3,): worst element (2,): analytic 3 " \
           "vs numerical 6, error 3" in out
    assert "upstream gradient is 1" in out
    header = ["input", "shape", "max abs err", "max rel err", "worst", "analytic", "numerical"]
    assert all(word in out for word in header)
    row = next(line for line in out.splitlines() if line.startswith("0 'x'"))
    assert row.split() == ["0", "'x'", "(3,)", "3", "0.5", "(2,)", "3", "6", "0", "FAILED"]
    check = "    gradcheck(lambda x: SquareForgot2.apply(x).sum(), [x])"
    line = USER_TESTS.splitlines().index(check)
    assert f"checked at {tmp_path / 'test_user.py'}:{line + 1}: gradcheck(lambda" in out
    # No traceback through the library: the report replaces it.
    assert "Traceback" not in out and "tinygrad_edu/gradcheck.py" not in out


class _Cube(Function):
    def forward(self, x):
        return x**3

    def backward(self, g, out, x):
        return 3 * g * x**2


class _CubeWrong(_Cube):
    def backward(self, g, out, x):
        return 2 * g * x**2


class _CubeUnrecorded(_Cube):
    """Right first derivatives, but computed from x's plain value: no second derivative."""

    def backward(self, g, out, x):
        return 3 * g * np.asarray(x.data if isinstance(x, Tensor) else x) ** 2


def test_assert_grads_close_for_unittest_users_fails_with_the_table():
    class TestCubes(unittest.TestCase):
        def test_right(self):
            assert_grads_close(_Cube.apply, [Tensor(np.array([1.0, 2.0]), requires_grad=True)])

        def test_wrong(self):
            assert_grads_close(_CubeWrong.apply, [Tensor(np.array([1.0, 2.0]),
                                                         requires_grad=True)])

    stream = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TestCubes)
    result = unittest.TextTestRunner(stream=stream).run(suite)
    assert result.testsRun == 2 and not result.errors  # a failure, not an error
    [(case, text)] = result.failures
    assert case.id().endswith("test_wrong")
    assert "GradcheckError" in text and "max abs err" in text
    assert "worst element (1,)" in text  # |2 - 3| g x^2 is largest at x = 2


def test_assert_helpers_return_the_report_when_the_check_passes():
    x = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    report = assert_grads_close(lambda x: _Cube.apply(x).sum(), [x])
    assert isinstance(report, GradcheckReport) and report.ok
    np.testing.assert_allclose(report.inputs[0].numerical, [0.75, 6.75], rtol=1e-8)
    assert assert_gradgrads_close(_Cube.apply, [x]).ok
    with pytest.raises(GradcheckError) as info:
        assert_gradgrads_close(_CubeUnrecorded.apply, [x])
    assert info.value.report.kind == "gradgradcheck"
