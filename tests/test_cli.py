"""Tests for the tinygrad-edu command, run end to end as ``python -m tinygrad_edu``.

Every subcommand runs in a subprocess and its files are checked: real PNGs of the expected
size, SVGs that parse as XML, the trace with its numbers, and the DOT fallback with the hint
when no renderer is available. Error handling (bad expressions, bad options) is checked
in-process through ``main``, which returns the exit status.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu.cli import course_example, main, parse_variable
from tinygrad_edu.viz import find_renderer
from tinygrad_edu.viz.render import HINT

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd, env=None):
    environ = {k: v for k, v in os.environ.items() if k != "TINYGRAD_EDU_DOT"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=240)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR")
    return struct.unpack(">II", data[16:24])


def svg_texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    return [" ".join(t.text.split()) for t in root.iter(SVG + "text") if t.text]


@pytest.fixture(autouse=True)
def _renderer_from_the_machine(monkeypatch):
    monkeypatch.delenv("TINYGRAD_EDU_DOT", raising=False)


# ----------------------------------------------------------------------------- help and version


def test_main_help_lists_the_commands(tmp_path):
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for word in ("demo", "graph", "trace", "gradcheck", "--version", "usage: tinygrad-edu"):
        assert word in done.stdout


@pytest.mark.parametrize("command, options", [
    ("demo", ["--out", "--epochs", "--seed", "--no-progress"]),
    ("graph", ["EXPR", "--var", "--out", "--collapse", "--rankdir", "--seed"]),
    ("trace", ["EXPR", "--var", "--seed", "--max-elements"]),
    ("gradcheck", ["EXPR", "--var", "--eps", "--atol", "--rtol"]),
])
def test_each_command_has_help(tmp_path, command, options):
    done = run(command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: tinygrad-edu {command}")
    for option in options:
        assert option in done.stdout, option


def test_version(tmp_path):
    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"tinygrad-edu {tinygrad_edu.__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "usage: tinygrad-edu" in err and "choose a command" in err


# ----------------------------------------------------------------------------- demo


def test_demo_writes_every_file(tmp_path):
    done = run("demo", "--out", "out", "--epochs", "20", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/20" not in done.stderr  # --no-progress: no bar
    accuracy = float(re.search(r"Final training accuracy: ([0-9.]+)", done.stdout).group(1))
    assert accuracy >= 0.95
    out = tmp_path / "out"
    # the plots' default figure: 6 x 4.5 inches at 100 dpi
    assert png_size(out / "loss.png") == (600, 450)
    assert png_size(out / "decision_boundary.png") == (600, 450)
    frames_suffix = ".svg" if find_renderer() else ".dot"
    if find_renderer():
        texts = svg_texts(out / "graph.svg")
        for label in ("Linear", "cross_entropy", "Relu", "layers.0.weight (param)", "loss"):
            assert label in texts, label
    else:
        assert "digraph backprop" in (out / "graph.dot").read_text()
    trace = (out / "trace.txt").read_text()
    assert "step 1: J = Relu(" in trace and "Fan-out" in trace
    assert "step 15:" in trace and "step 16:" not in trace
    assert "dL/dU = [0.4256, 0.7109] (step 5) + [-0.5622, -0.1091] (step 11)" in trace
    frames = sorted(p.name for p in (out / "backward").glob("step_*"))
    assert frames == [f"step_{k:03d}{frames_suffix}" for k in range(1, 16)]
    page = (out / "backward" / "backward.html").read_text()
    assert page.count("<section") == 15
    for name in ("loss.png", "decision_boundary.png", "graph", "trace.txt", "backward.html"):
        assert name in done.stdout


def test_demo_without_a_renderer_writes_dot_and_one_hint(tmp_path):
    done = run("demo", "--out", "o", "--epochs", "2", "--no-progress", cwd=tmp_path,
               env={"TINYGRAD_EDU_DOT": "none"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(HINT) == 1
    assert (tmp_path / "o" / "graph.dot").exists() and not (tmp_path / "o" / "graph.svg").exists()
    assert len(list((tmp_path / "o" / "backward").glob("step_*.dot"))) == 15


def test_course_example_matches_the_hand_computation():
    J = course_example()
    W = np.array([[0.5, -0.3, 0.8, 0.1], [-0.6, 0.4, 0.2, -0.7]])
    b, U = np.array([0.1, -0.2]), np.array([1.5, -1.0])
    x, x_c = np.array([1.0, 0.5, -0.5, 2.0]), np.array([-1.0, 1.0, 0.5, 0.0])
    a = 1 / (1 + np.exp(-(W @ x + b)))
    a_c = 1 / (1 + np.exp(-(W @ x_c + b)))
    s, s_c = U @ a, U @ a_c
    assert 1 + s_c - s > 0
    np.testing.assert_allclose(J.item(), 1 + s_c - s, rtol=1e-12)


# ----------------------------------------------------------------------------- graph


def test_graph_writes_a_parseable_svg(tmp_path):
    if find_renderer() is None:
        pytest.skip("no Graphviz renderer installed")
    done = run("graph", "tanh(x*w)", "--var", "x=1,2", "--var", "w=0.5,-1", "--out", "f.svg",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wrote f.svg"
    texts = svg_texts(tmp_path / "f.svg")
    for label in ("x (param)", "w (param)", "Mul", "Tanh", "Sum", "L", "#1", "#3"):
        assert label in texts, label
    # dL/dx = w (1 - tanh(x w)^2) = [0.5 (1 - tanh(0.5)^2), -(1 - tanh(-2)^2)]
    assert "grad [0.3932, -0.07065]" in texts
    assert done.stderr == ""


def test_graph_without_a_renderer_writes_dot_and_the_hint(tmp_path):
    done = run("graph", "tanh(x*w)", "--var", "x=1,2", "--var", "w=0.5,-1", "--out", "f.svg",
               cwd=tmp_path, env={"TINYGRAD_EDU_DOT": "none"})
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "f.svg").exists()
    source = (tmp_path / "f.dot").read_text()
    assert "digraph backprop" in source and "Tanh" in source
    assert HINT in done.stderr
    assert "x  (param)" in done.stdout  # the text tree
    assert done.stdout.strip().endswith("wrote f.dot")


def test_graph_with_a_broken_renderer_writes_dot_and_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", str(tmp_path / "no-such-dot"))
    assert main(["graph", "x * 2", "--out", "g.svg"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
    out, err = capsys.readouterr()
    assert out.strip() == "wrote g.dot"
    assert "could not render g.svg" in err and "no-such-dot" in err


def test_graph_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    assert main(["graph", "exp(x).sum(0)", "--var", "x=1,2;3,4", "--rankdir", "TB",
                 "--out", "g.dot"]) == 0
    source = (tmp_path / "g.dot").read_text()
    assert "rankdir=TB" in source and "shape (2, 2)" in source
    assert capsys.readouterr().out.strip().endswith("wrote g.dot")


def test_const_marks_a_variable_as_an_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_EDU_DOT", "none")
    assert main(["graph", "tanh(w * x)", "--var", "w=0.5,-1", "--var", "x=1,2",
                 "--const", "x", "--out", "g.dot"]) == 0
    source = (tmp_path / "g.dot").read_text()
    assert "w  (param)" in source and "x  (param)" not in source
    assert re.search(r'label="x\nshape \(2,\)', source)
    # x gets no gradient; dL/dw = x (1 - tanh(w x)^2)
    d = np.array([1.0, 2.0]) * (1 - np.tanh(np.array([0.5, -2.0])) ** 2)
    grads = re.findall(r"grad \[([^\]]*)\]", source)
    assert f"{d[0]:.4g}, {d[1]:.4g}" in grads
    assert main(["graph", "w * x", "--const", "y", "--out", "h.dot"]) == 2
    assert "--const y: not in the expression" in capsys.readouterr().err
    assert main(["graph", "w * x", "--const", "w", "--const", "x", "--out", "h.dot"]) == 2


def test_step_writes_a_page_and_one_frame_per_step(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["step", "sum(tanh(w * x + b))", "--var", "w=0.5,-1.5", "--var", "x=2,1",
                 "--var", "b=0.1,0.3", "--const", "x", "--out", "film"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote film/backward.html (4 steps;")
    names = sorted(p.name for p in (tmp_path / "film").iterdir())
    suffix = ".svg" if find_renderer() else ".dot"
    assert names == ["backward.html"] + [f"step_00{k}{suffix}" for k in range(1, 5)]
    page = (tmp_path / "film" / "backward.html").read_text(encoding="utf-8")
    assert page.count('<section class="frame') == 4
    assert "VJP: dL/dw = g * x" in page  # the user's names in the step texts
    assert main(["step", "2 * 3", "--out", "film"]) == 2


# ----------------------------------------------------------------------------- trace


def test_trace_prints_the_steps_with_their_numbers(tmp_path):
    done = run("trace", "x*x", "--var", "x=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "L = x*x = 9" in out
    assert "step 1: L = Mul(x, x)" in out
    assert out.count("x receives [3]") == 2
    assert "dL/dx = [3] (step 1) + [3] (step 1) = [6]" in out


def test_trace_default_expression(capsys):
    assert main(["trace"]) == 0
    out = capsys.readouterr().out
    # tanh(w x + b), w = [0.5, -1], x = [2, 1], b = [0.1]: z = [1.1, -0.9]
    assert "L = sum(tanh(w * x + b))" in out
    assert "step 2: t3 = Tanh(t2)" in out
    assert "VJP: dL/dt2 = g * (1 - t3^2)" in out  # the user's names, not the docstring's
    d = 1 - np.tanh(np.array([1.1, -0.9])) ** 2
    assert f"local dt3/dt2 = [{d[0]:.4f}, {d[1]:.4f}]" in out
    assert f"b  receives [{d.sum():.4f}]" in out  # the broadcast b receives the sum


def test_trace_default_expression_with_a_value_replaced(capsys):
    assert main(["trace", "--var", "b=0"]) == 0
    d = 1 - np.tanh(np.array([1.0, -1.0])) ** 2
    assert f"b  receives [{d.sum():.4f}]" in capsys.readouterr().out


# ----------------------------------------------------------------------------- gradcheck


def test_gradcheck_passes(tmp_path):
    done = run("gradcheck", "x*x", "--var", "x=1,2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gradcheck passed" in done.stdout
    error = float(re.search(r"x\s+shape \(2,\): max \|backprop - numerical\| = (\S+)",
                            done.stdout).group(1))
    assert 0 <= error < 1e-6


def test_gradcheck_every_variable(capsys):
    code = main(["gradcheck", "max(x, 0.5) * log_softmax(w, axis=0) + W.sum(0)",
                 "--var", "x=0,1", "--var", "W=1,2;3,4", "--var", "w=1,2"])
    assert code == 0
    out = capsys.readouterr().out
    for name, shape in (("x", "(2,)"), ("w", "(2,)"), ("W", "(2, 2)")):
        assert re.search(rf"{name}\s+shape {re.escape(shape)}: max", out), name


def test_gradcheck_with_random_defaults_and_a_kink(capsys):
    assert main(["gradcheck", "softsign(x) * tanh(y)"]) == 0  # x, y random (3,)
    assert main(["gradcheck", "relu(x)", "--var", "x=0,1"]) == 0
    assert "kink" in capsys.readouterr().out


def test_gradcheck_fails_where_the_gradient_is_not_finite(capsys):
    assert main(["gradcheck", "sqrt(x)", "--var", "x=0,1"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "not finite at element (0,)" in err


# ----------------------------------------------------------------------------- bad input


def test_unsafe_expression_exits_2_with_a_clear_message(tmp_path):
    done = run("graph", "__import__('os')", cwd=tmp_path)
    assert done.returncode == 2
    assert "tinygrad-edu graph: error: the name '__import__' is not allowed" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("expr, message", [
    ("x.__class__", "the name '__class__' is not allowed"),
    ("x.data", "the attribute 'data' is not allowed"),
    ("lambda: 0", "a lambda is not allowed"),
    ("import os", "not a valid expression"),
    ("open('f')", "unknown function 'open'"),
    ("x if x else x", "an if-expression is not allowed"),
    ("'text'", "the constant 'text' is not allowed"),
    ("[x][0]", "a list is not allowed"),
    ("2 * 3", "has no variables"),
    ("x @ W", "ShapeError"),
])
@pytest.mark.parametrize("command", ["graph", "trace", "gradcheck"])
def test_bad_expressions_exit_2(command, expr, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [command, expr] + (["--var", "W=1,2;3,4"] if "W" in expr else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tinygrad-edu {command}: error: ") and message in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["graph", "x", "--var", "y=1"], "--var y: not in the expression"),
    (["graph", "x", "--var", "x=1", "--var", "x=2"], "--var x is given twice"),
    (["graph", "x", "--out", "x.jpg"], "must end in .svg, .png or .dot"),
])
def test_bad_options_exit_2(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["graph", "x", "--var", "x"],
    ["graph", "x", "--var", "x=1,a"],
    ["graph", "x", "--var", "x=1,2;3"],
    ["graph", "x", "--var", "__x__=1"],
    ["graph", "x", "--var", "exp=1"],
    ["demo", "--epochs", "0"],
    ["graph", "x", "--rankdir", "XY"],
])
def test_bad_arguments_are_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "usage: tinygrad-edu" in capsys.readouterr().err


def test_parse_variable():
    assert parse_variable("x=1,2,3")[0] == "x"
    np.testing.assert_array_equal(parse_variable("x=1,2,3")[1], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(parse_variable(" s_c = -0.5 ")[1], [-0.5])
    name, value = parse_variable("W=1,2;3,4;5,6")
    assert name == "W" and value.shape == (3, 2) and value.dtype == np.float64
