"""The command line answers a bad argument with exit status 2 and one message, never a
traceback, and never reports a gradient check of a non-real expression as passed."""

import os
import subprocess
import sys

import pytest

from tinygrad_edu.cli import main


def run(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args, message",
    [
        (["trace", "x", "--seed", "-1"], "a seed must be a whole number >= 0; got -1"),
        (["gradcheck", "x * x", "--seed", "-5"], "a seed must be a whole number >= 0"),
        (["trace", "x + 1 @ 2"], "'1 @ 2': MatMult needs tensors"),
        (["trace", "(-8)**(1/3)*x"], "has no real value"),
        (["graph", "(-8)**(1/3)*x", "--out", "g.svg"], "has no real value"),
        (["gradcheck", "(-8)**(1/3)*x"], "has no real value"),
        (["trace", "x * 2**10000"], "a number is too large"),
        (["trace", "x * (1/0)"], "division by zero"),
        (["graph", "x * x", "--out", "plain/g.svg"], "plain is a file, not a folder"),
        (["graph", "x * x", "--out", "plain/deeper/g.svg"], "plain is a file, not a folder"),
        (["demo", "--out", "plain/demo", "--epochs", "1"], "plain is a file, not a folder"),
    ],
    ids=["seed", "seed-gradcheck", "matmul-numbers", "complex-trace", "complex-graph",
         "complex-gradcheck", "overflow", "zero-division", "out-under-file", "out-deeper",
         "demo-out-under-file"],
)
def test_bad_input_exits_2_with_one_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain").write_text("a regular file")
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert "passed" not in captured.out
    assert sorted(os.listdir(tmp_path)) == ["plain"]  # nothing was written


def test_the_same_in_a_real_process_has_no_traceback(tmp_path):
    """The installed command, not just main(): argparse errors included."""
    (tmp_path / "plain").write_text("a regular file")
    for args in (["trace", "x", "--seed", "-1"], ["gradcheck", "(-8)**(1/3)*x"],
                 ["graph", "x*x", "--out", "plain/g.svg"]):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1


def test_an_empty_reduction_in_an_expression_exits_cleanly(capsys):
    """max over an empty axis: whatever Tensor.max gives (numpy gives shape (0,)), the command
    finishes with a result or one message, never a traceback."""
    code = main(["trace", "sum(max(W[0:0], axis=1)) + sum(W)", "--var", "W=1,2;3,4"])
    captured = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in captured.err
    if code == 2:
        assert "max" in captured.err and "(0, 2)" in captured.err


def test_gradcheck_of_a_nan_expression_fails(capsys):
    """Negative numbers to a fractional power are NaN in numpy: gradcheck must not pass."""
    assert main(["gradcheck", "x ** (1/3)", "--var", "x=-8,2"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err and "not finite" in captured.err
    assert "passed" not in captured.out
