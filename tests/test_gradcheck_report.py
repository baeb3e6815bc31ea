"""What gradcheck reports: values a person can act on, the upstream gradient used, the
Jacobian entries of the worst element, kinks apart from every maximum, and the report table."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from tinygrad_edu import Function, GradcheckError, Tensor
from tinygrad_edu.cli import main
from tinygrad_edu.gradcheck import GradcheckReport, GradcheckWarning, check_gradients, gradcheck


def t64(values, name=None):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True, name=name)


class MatmulTransposedG(Function):
    """z = x @ y with g transposed in the VJP (wrong unless g is symmetric)."""

    def forward(self, x, y):
        return x @ y

    def backward(self, g, out, x, y):
        return g.T @ y.T, x.T @ g.T


def detached_square(x):
    # d/dx of sum(x * x.detach()) + sum(x) is x + 1 by backprop, 2x + 1 in truth.
    return (x * x.detach()).sum() + x.sum()


def test_a_one_element_output_reports_the_gradient_elements_themselves():
    x = t64([0.25, 0.5, 4.0], name="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(detached_square, [x])
    msg = str(info.value)
    assert "worst element (2,): analytic 5 vs numerical 9, error 4" in msg
    assert "upstream gradient is 1" in msg
    [check] = info.value.report.inputs
    np.testing.assert_allclose(check.analytic, [1.25, 1.5, 5.0])
    np.testing.assert_allclose(check.numerical, [1.5, 2.0, 9.0], rtol=1e-8)
    assert check.max_abs_error == pytest.approx(4.0, rel=1e-6)
    assert check.max_rel_error == pytest.approx(4.0 / 9.0, rel=1e-6)


def test_other_outputs_name_the_upstream_gradient_and_the_jacobian_entries():
    x = t64([[1.0, 2.0], [3.0, 4.0]], name="x")
    y = t64([[0.5, -1.0], [2.0, 0.25]], name="y")
    report = gradcheck(MatmulTransposedG.apply, [x, y], seed=3, raise_exception=False)
    assert isinstance(report, GradcheckReport) and not report
    text = str(report)
    assert "upstream gradient v is standard normal of that shape (seed 3)" in text
    assert "output has shape (2, 2)" in text
    cx = report.inputs[0]
    a, b = cx.worst
    # d out[k, l] / d x[a, b] = [k == a] y[b, l]: the true column; backprop gives its transpose.
    expected = np.zeros((2, 2))
    expected[a] = y.data[b]
    analytic, numerical = cx.jacobian
    np.testing.assert_allclose(numerical, expected, atol=1e-8)
    np.testing.assert_allclose(analytic, expected.T, atol=1e-12)
    assert f"d out[k] / d x[{a}, {b}]" in text
    k = (a, 1 - a)  # an entry where the transposed column and the true one differ
    assert f"out[{a}, {1 - a}]: analytic {expected.T[k]:.6g}, numerical {expected[k]:.6g}" in text


def test_large_outputs_skip_the_jacobian_entries():
    x = t64(np.arange(25.0).reshape(5, 5) / 10)
    y = t64(np.eye(5) + 0.1)
    report = check_gradients(MatmulTransposedG.apply, [x, y])
    assert not report.ok and all(c.jacobian is None for c in report.inputs)
    assert "d out[k] / d x" not in str(report)


def test_kinks_are_left_out_of_every_maximum_and_listed_apart():
    x = t64([0.0, 1.0, -2.0], name="x")
    report = check_gradients(lambda x: x.relu(), [x])
    [check] = report.inputs
    assert report.ok and check.kinks == [(0,)]
    raw = np.abs(check.analytic - check.numerical)
    assert raw[0] > 0.01  # the kink's own disagreement (half the slope times v) ...
    assert check.max_abs_error < 1e-8  # ... is in no maximum
    assert check.max_rel_error < 1e-6
    assert check.worst != (0,)
    text = str(report)
    assert "kinks (excluded from the maxima above):" in text
    assert "1 element(s) at a kink" in text and ": (0,)" in text


def test_the_table_has_one_row_per_input_with_errors_values_and_kinks():
    a = t64([1.0, 2.0], name="a")
    w = t64([0.0, 3.0], name="w")

    class SquareForgot2(Function):
        def forward(self, x):
            return x * x

        def backward(self, g, out, x):
            return g * x

    report = check_gradients(lambda a, w: a.sum() + SquareForgot2.apply(w.relu()).sum(), [a, w])
    lines = report.table().splitlines()
    assert lines[0].split() == ["input", "shape", "max", "abs", "err", "max", "rel", "err",
                                "worst", "analytic", "numerical", "kinks", "result"]
    row_a = lines[2].split()
    assert row_a[:3] == ["0", "'a'", "(2,)"] and row_a[-1] == "ok"
    row_w = re.split(r"\s{2,}", lines[3])
    # w = 3: backprop gives 3, the truth is 6; w = 0 is relu's kink (both sides 0 here).
    assert row_w == ["1 'w'", "(2,)", "3", "0.5", "(1,)", "3", "6", "0", "FAILED"]


def test_a_passing_report_is_true_and_still_a_table():
    x = t64([0.5, 1.5], name="x")
    report = gradcheck(lambda x: x.tanh(), [x], raise_exception=False)
    assert report and report.ok
    text = str(report)
    assert text.startswith("gradcheck passed")
    assert re.search(r"0 'x'\s+\(2,\)\s+\S+\s+\S+\s+\(\d,\)", text)
    assert gradcheck(lambda x: x.tanh(), [x]) is True


def test_gradgradcheck_reports_say_they_are_about_second_derivatives():
    from tinygrad_edu.gradcheck import gradgradcheck

    class CubeUnrecorded(Function):
        def forward(self, x):
            return x**3

        def backward(self, g, out, x):
            return g * 3 * np.asarray(x.data if isinstance(x, Tensor) else x) ** 2

    report = gradgradcheck(CubeUnrecorded.apply, [t64([1.0, 2.0])], raise_exception=False)
    assert not report
    assert str(report).startswith("gradgradcheck failed for input 0")
    assert "second derivatives" in str(report)


def test_the_cli_leaves_kinks_out_of_its_maximum_and_lists_them(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        assert main(["gradcheck", "relu(x)", "--var", "x=0,1"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"max \|backprop - numerical\| = (\S+); kinks, not counted: \(0,\)", out)
    assert found, out
    assert float(found.group(1)) < 1e-8


def test_the_cli_prints_the_report_table_on_failure(capsys):
    assert main(["gradcheck", "sqrt(x)", "--var", "x=0,1"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and re.search(r"0 'x'\s+\(2,\)\s+inf", err), err


def test_the_readme_shows_what_its_report_example_prints(capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    pairs = re.findall(r"```python\n((?:(?!```).)*?)```\n\n```text\n(.*?)```", readme, re.S)
    assert pairs, "the README shows a gradcheck report"
    for code, shown in pairs:
        exec(compile(code, "README.md", "exec"), {})
        assert capsys.readouterr().out == shown
