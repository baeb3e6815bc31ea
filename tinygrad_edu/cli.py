"""The ``tinygrad-edu`` command (also ``python -m tinygrad_edu``).

Subcommands:

* ``demo``: train an MLP on the spiral with a progress bar and write the pictures: the loss
  curve, the decision boundary, the graph of one training step, the backward trace of the
  course's 4-2-1 max-margin network, and that backward pass step by step as an HTML page;
* ``graph EXPR``: draw the graph of an expression, after its backward pass;
* ``trace [EXPR]``: print the backward pass of an expression step by step;
* ``step EXPR --out DIR``: write that backward pass as a step-through HTML page and frames;
* ``gradcheck EXPR``: compare backprop with central differences for an expression.

Expressions are read by :mod:`tinygrad_edu.expression` (never ``eval``); variables are given
as ``--var x=1,2,3`` (``--var W="1,2;3,4"`` for a matrix) and default to a seeded random
vector of 3 elements; ``--const NAME`` makes a variable a constant (no gradient, not drawn
as a parameter). Exit status: 0 on success, 1 when a gradient check fails, 2 for a bad
command line or expression.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import GradcheckError, TinygradEduError
from .expression import FUNCTIONS, Expression, ExpressionError, parse_expression
from .tensor import Tensor

__all__ = ["build_parser", "course_example", "main", "parse_variable"]

PROG = "tinygrad-edu"
DEFAULT_EXPR = "tanh(w * x + b)"
DEFAULT_VARS = {"w": "0.5,-1", "x": "2,1", "b": "0.1"}
DEMO_OUT = "tinygrad_edu_out"
PICTURE_SUFFIXES = (".svg", ".png", ".dot", ".gv")


class UsageError(Exception):
    """A command line that cannot be carried out; main prints it and exits with status 2."""


# ----------------------------------------------------------------------------- variables


def parse_variable(text: str) -> tuple[str, np.ndarray]:
    """``"x=1,2,3"`` -> ``("x", array([1., 2., 3.]))``; rows split by ``;`` make a matrix.

    Example:
        >>> name, value = parse_variable("W=1,2;3,4")
        >>> name, value.tolist()
        ('W', [[1.0, 2.0], [3.0, 4.0]])
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUES such as x=1,2,3 (or W='1,2;3,4' for a matrix); got {text!r}"
        )
    if not name.isidentifier() or name.startswith("__") or name.endswith("__"):
        raise argparse.ArgumentTypeError(f"{name!r} is not a valid variable name")
    if name in FUNCTIONS:
        raise argparse.ArgumentTypeError(f"{name!r} is a function name; pick another name")
    try:
        rows = [[float(v) for v in row.split(",")] for row in values.split(";")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the values of {name} must be numbers separated by commas (rows by ';'); "
            f"got {values!r}"
        ) from None
    if len(rows) == 1:
        return name, np.array(rows[0], dtype=np.float64)
    if len({len(row) for row in rows}) != 1:
        raise argparse.ArgumentTypeError(
            f"the rows of {name} have different lengths: {[len(row) for row in rows]}"
        )
    return name, np.array(rows, dtype=np.float64)


def _variables(
    expression: Expression,
    given: Sequence[tuple[str, np.ndarray]],
    seed: int,
    constants: Sequence[str] = (),
) -> dict[str, Tensor]:
    """One float64 Tensor per variable, named after it, requiring grad unless it is one of
    ``constants``; random where not given."""
    values: dict[str, np.ndarray] = {}
    for name, value in given:
        if name in values:
            raise UsageError(f"--var {name} is given twice")
        values[name] = value
    unknown = [name for name in values if name not in expression.variables]
    if unknown:
        uses = ", ".join(expression.variables) or "no variables"
        raise UsageError(
            f"--var {', '.join(unknown)}: not in the expression {expression.text!r} "
            f"(it uses {uses})"
        )
    strangers = [name for name in constants if name not in expression.variables]
    if strangers:
        uses = ", ".join(expression.variables) or "no variables"
        raise UsageError(
            f"--const {', '.join(strangers)}: not in the expression {expression.text!r} "
            f"(it uses {uses})"
        )
    rng = np.random.default_rng(seed)
    out = {}
    for name in expression.variables:  # unspecified ones drawn in order: reproducible
        value = values[name] if name in values else rng.standard_normal(3)
        out[name] = Tensor(value, requires_grad=name not in constants, dtype=np.float64,
                           name=name)
    return out


def _expression(args: argparse.Namespace) -> tuple[Expression, dict[str, Tensor]]:
    expression = parse_expression(args.expr)
    if not expression.variables:
        raise UsageError(
            f"the expression {args.expr!r} has no variables, so there is no gradient to show; "
            "use names such as x or w"
        )
    constants = getattr(args, "const", None) or []
    return expression, _variables(expression, args.var or [], args.seed, constants)


def _objective(expression: Expression, variables: dict[str, Tensor]) -> tuple[Tensor, bool]:
    """The expression's value, summed when it has several elements (a loss L to backprop),
    named L unless a variable is; and whether it was summed."""
    with warnings.catch_warnings():  # log(0), x / 0: the drawing flags the inf in red
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            out = expression.evaluate(variables)
        except (ArithmeticError, TypeError, ValueError) as exc:
            if isinstance(exc, TinygradEduError):
                raise
            raise UsageError(f"{expression.text!r} cannot be evaluated: {exc}") from None
        summed = out.size != 1
        if summed:
            out = out.sum()
    if not out.requires_grad:
        raise UsageError(
            f"{expression.text!r} does not depend on its variables through differentiable "
            "operations; there is no backward pass to show"
        )
    if out.name is None and "L" not in variables:
        out.name = "L"
    return out, summed


# ----------------------------------------------------------------------------- graph, trace


def _check_folder(folder: Path, option: str) -> None:
    """Refuse a folder that cannot be made because it, or a folder above it, is a file."""
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"{option}: {part} is a file, not a folder")
            return


def _picture(dot: Any, path: Path, tree: str | None, quiet: bool) -> tuple[Path, bool]:
    """Render ``dot`` to ``path`` (the .dot source without a renderer); and whether a broken
    renderer made it fall back to the source, which it says on stderr."""
    from .viz import render

    try:
        return render(dot, path, tree=tree, quiet=quiet), False
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        fallback = render(dot, path.with_suffix(".dot"))
        print(f"{PROG}: could not render {path} ({e}); wrote the DOT source {fallback} "
              "instead", file=sys.stderr)
        return fallback, True



def _cmd_graph(args: argparse.Namespace) -> int:
    from .viz import draw_graph, text_tree, trace_backward

    out = Path(args.out)
    if out.suffix.lower() not in PICTURE_SUFFIXES:
        raise UsageError(f"--out {args.out}: the picture must end in .svg, .png or .dot")
    _check_folder(out.parent, f"--out {args.out}")
    expression, variables = _expression(args)
    root, _ = _objective(expression, variables)
    trace = trace_backward(root)
    collapse = None if args.collapse is None else (args.collapse or True)
    dot = draw_graph(root, trace=trace, rankdir=args.rankdir, collapse=collapse,
                     show_order=True)
    path, failed = _picture(dot, out, text_tree(root), quiet=False)
    print(f"wrote {path}")
    return 1 if failed else 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from .viz import summarize, trace_backward

    if args.expr is None:
        args.expr = DEFAULT_EXPR
        given = {name for name, _ in args.var or []}
        defaults = [parse_variable(f"{n}={v}") for n, v in DEFAULT_VARS.items() if n not in given]
        args.var = (args.var or []) + defaults
    expression, variables = _expression(args)
    root, summed = _objective(expression, variables)
    shown = f"sum({expression.text})" if summed else expression.text
    print(f"{root.name or 'L'} = {shown} = {root.item():.6g}")
    for name, t in variables.items():
        kind = "" if t.requires_grad else "  (constant)"
        print(f"  {name} = {summarize(t.data, args.max_elements).replace(chr(10), '; ')}{kind}")
    print()
    print(trace_backward(root).to_text(max_elements=args.max_elements))
    return 0


def _cmd_step(args: argparse.Namespace) -> int:
    from .viz import save_stepper, trace_backward

    expression, variables = _expression(args)
    root, _ = _objective(expression, variables)
    trace = trace_backward(root)
    page = save_stepper(root, args.out, trace=trace, rankdir=args.rankdir,
                        max_elements=args.max_elements)
    frames = sorted(p.name for p in page.parent.glob("step_*") if p.suffix in (".svg", ".dot"))
    print(f"wrote {page} ({len(trace)} steps; frames {frames[0]} ... {frames[-1]}): open it "
          "in a browser")
    return 0


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import GradcheckWarning, check_gradients, gradcheck

    expression, variables = _expression(args)
    names = list(variables)
    tensors = [variables[name] for name in names]

    def f(*values: Tensor) -> Tensor:
        return expression.evaluate(dict(zip(names, values)))

    _objective(expression, variables)  # refuses an expression without a gradient
    options = {"eps": args.eps, "atol": args.atol, "rtol": args.rtol}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GradcheckWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # sqrt(0) and the like: reported below
        try:
            gradcheck(f, tensors, **options)
        except GradcheckError as e:
            print(f"{PROG} gradcheck: FAILED for {expression.text!r}\n{e}", file=sys.stderr)
            return 1
        report = check_gradients(f, tensors, **options)
    for w in caught:
        if issubclass(w.category, GradcheckWarning):
            print(f"note: {w.message}")
    print(f"gradcheck passed for {expression.text!r}: backprop agrees with central "
          f"differences (eps {args.eps:g}, atol {args.atol:g}, rtol {args.rtol:g})")
    for check in report.inputs:
        # Kinks are left out of the maximum (their one-sided slopes differ) and listed apart.
        kinks = f"; kinks, not counted: {', '.join(map(str, check.kinks))}" if check.kinks else ""
        print(f"  {names[check.index]:<8} shape {check.shape}: max |backprop - numerical| = "
              f"{check.max_abs_error:.3g}{kinks}")
    return 0


# ----------------------------------------------------------------------------- demo


def course_example() -> Tensor:
    """The course's 4-2-1 network with the max-margin loss of the backprop notes, as a graph.

    A true window x and a corrupt one x_c go through the same hidden layer of two sigmoid
    units and the same output weights: s = U . sigmoid(W x + b), s_c = U . sigmoid(W x_c + b),
    and J = max(1 + s_c - s, 0). The values make J > 0, so every gradient is non-zero; W, b
    and U are used for both scores, so their gradients are sums of two parts (fan-out).
    W x is written elementwise, z_i = sum_j W_ij x_j, so that the trace shows the course's
    dJ/dW_ij = delta_i x_j directly.

    Example:
        >>> J = course_example()
        >>> J.name, round(J.item(), 4)
        ('J', 0.1932)
    """
    from .losses import max_margin_loss

    W = Tensor(np.array([[0.5, -0.3, 0.8, 0.1], [-0.6, 0.4, 0.2, -0.7]]), requires_grad=True,
               name="W")
    b = Tensor(np.array([0.1, -0.2]), requires_grad=True, name="b")
    U = Tensor(np.array([1.5, -1.0]), requires_grad=True, name="U")
    x = Tensor(np.array([1.0, 0.5, -0.5, 2.0]), name="x")
    x_c = Tensor(np.array([-1.0, 1.0, 0.5, 0.0]), name="x_c")

    def score(window: Tensor, suffix: str) -> Tensor:
        z = (W * window).sum(axis=1) + b
        z.name = "z" + suffix
        a = z.sigmoid()
        a.name = "a" + suffix
        s = (U * a).sum()
        s.name = "s" + suffix
        return s

    s, s_c = score(x, ""), score(x_c, "_c")
    J = max_margin_loss(s, s_c, reduction="none")
    J.name = "J"
    return J


COURSE_HEADER = """\
The course's 4-2-1 network with the max-margin loss (the course's notes on backprop):
  s   = U . sigmoid(W x + b)      score of the true window x
  s_c = U . sigmoid(W x_c + b)    score of the corrupt window x_c
  J   = max(1 + s_c - s, 0)
W x is computed elementwise (z_i = sum_j W_ij x_j), so dJ/dW_ij = delta_i x_j shows directly.
W, b and U are used by both scores: their gradients are sums of two parts (fan-out).

"""


def _cmd_demo(args: argparse.Namespace) -> int:
    from .data import DataLoader, make_spiral
    from .losses import cross_entropy
    from .nn import MLP
    from .optim import Adam
    from .train import accuracy, fit
    from .viz import draw_graph, find_renderer, trace_backward
    from .viz.render import HINT
    from .viz.stepper import save_stepper

    out = Path(args.out)
    _check_folder(out, f"--out {args.out}")
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_spiral(n_per_class=100, n_classes=3, rng=args.seed)
    model = MLP([2, 64, 64, 3], activation="relu", rng=args.seed)
    optimizer = Adam(model.parameters(), lr=0.01)
    loader = DataLoader(X, y, batch_size=32, rng=args.seed)
    print(f"Training an MLP [2, 64, 64, 3] (relu) on the spiral: {len(X)} points, 3 classes; "
          f"Adam lr 0.01, batches of 32, {args.epochs} epoch{'s' if args.epochs > 1 else ''}.")
    history = fit(model, cross_entropy, optimizer, loader, args.epochs,
                  progress=not args.no_progress)
    acc = accuracy(model, X, y)
    print(f"Final training accuracy: {acc:.3f} (loss {history.epochs[-1]['loss']:.4f})")

    written: list[tuple[Path, str]] = []
    try:
        from .viz import plot_decision_boundary, plot_history

        steps = len(history.losses)
        plot_history(history, path=out / "loss.png", smooth=max(1, min(10, steps // 10)),
                     title="Training loss on the spiral (Adam, lr 0.01)")
        written.append((out / "loss.png", "the training loss after every step"))
        plot_decision_boundary(model, X, y, path=out / "decision_boundary.png",
                               title=f"Decision boundary (accuracy {acc:.1%})")
        written.append((out / "decision_boundary.png", "the classes the MLP predicts"))
    except ImportError as e:
        print(f"skipped loss.png and decision_boundary.png: {e}", file=sys.stderr)

    # One training step on a small batch, two points per class, as a picture. Parameters get
    # their module paths as names so that the drawing tells the two layers apart.
    for name, p in model.named_parameters():
        p.name = name
    picks = [i for k in range(3) for i in np.flatnonzero(y == k)[[33, 66]]]
    model.zero_grad()
    loss = cross_entropy(model(Tensor(X[picks])), y[picks])
    loss.name = "loss"
    loss.backward()  # micrograd's order: backward, then draw (the trace replays the pass)
    dot = draw_graph(loss, trace=trace_backward(loss), collapse=("Linear", "cross_entropy"),
                     max_elements=6)
    graph_path, _ = _picture(dot, out / "graph.svg", None, quiet=True)
    model.zero_grad()
    written.append((graph_path, "one training step (6 points): layers and loss as boxes"))

    J = course_example()
    trace = trace_backward(J)
    trace_path = out / "trace.txt"
    trace_path.write_text(COURSE_HEADER + trace.to_text(max_elements=8) + "\n", encoding="utf-8")
    written.append((trace_path, "the backward pass of the course's 4-2-1 max-margin network"))
    page = save_stepper(J, out / "backward", trace=trace, quiet=True, max_elements=8)
    frames = sorted(p for p in page.parent.glob("step_*") if p.suffix in (".svg", ".dot"))
    written.append((page, f"that pass step by step: open it in a browser ({len(frames)} "
                          f"frames, {frames[0].name} ... {frames[-1].name})"))

    if find_renderer() is None:
        print(HINT, file=sys.stderr)
    print("Wrote:")
    width = max(len(str(path)) for path, _ in written)
    for path, what in written:
        print(f"  {str(path):<{width}}  {what}")
    return 0


# ----------------------------------------------------------------------------- the parser


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {value}")
    return value


def _seed(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a whole number >= 0; got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite positive number; got {text}")
    return value


EXPRESSION_HELP = (
    "An expression of numbers, variables, + - * / ** @, unary -, indexing (x[0], W[:, 1]) "
    f"and the functions {' '.join(FUNCTIONS)}, also as methods (x.tanh()). max(a, b) and "
    "min(a, b) are elementwise; sum(x, axis=0) and x.sum(0) reduce. Quote it for the shell."
)


def _add_expression_options(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        parser.add_argument("expr", nargs="?", metavar="EXPR",
                            help=f"the expression (default: {DEFAULT_EXPR!r} with "
                                 + ", ".join(f"{k}={v}" for k, v in DEFAULT_VARS.items()) + ")")
    else:
        parser.add_argument("expr", metavar="EXPR", help="the expression, e.g. 'tanh(w * x)'")
    parser.add_argument("--var", action="append", type=parse_variable, metavar="NAME=VALUES",
                        help="a variable's value: x=1,2,3 (a vector) or W='1,2;3,4' (a matrix, "
                             "rows split by ;); repeat for each variable. Variables not given "
                             "are random vectors of 3 elements (see --seed)")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="seed of the random values of variables not given (default 0)")
    parser.add_argument("--const", action="append", metavar="NAME",
                        help="make this variable a constant: no gradient, drawn as an input "
                             "rather than a parameter; repeat for each")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinygrad-edu`` command, with its subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="See backprop: train and draw with tinygrad_edu, a small, exact autograd "
                    "engine for learning backpropagation.",
        epilog="Run 'tinygrad-edu COMMAND --help' for the options of a command. Examples:\n"
               "  tinygrad-edu demo\n"
               "  tinygrad-edu graph 'tanh(w * x + b)' --var x=1,2 --var w=0.5,-1\n"
               "  tinygrad-edu trace 'x * x' --var x=3\n"
               "  tinygrad-edu step 'sum(tanh(w * x + b))' --var w=0.5,-1.5 --var x=2,1 "
               "--const x --out backward\n"
               "  tinygrad-edu gradcheck 'softmax(x) * x' --var x=1,2,3",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", formatter_class=formatter,
        help="train an MLP on the spiral and write pictures of it",
        description="Train an MLP [2, 64, 64, 3] on the spiral (3 classes, 100 points each) "
                    "with a live progress bar, print the accuracy, and write into --out:\n"
                    "  loss.png               the training loss after every step\n"
                    "  decision_boundary.png  the classes the model predicts over the plane\n"
                    "  graph.svg              the graph of one training step (.dot without "
                    "a renderer)\n"
                    "  trace.txt              the backward pass of the course's 4-2-1 "
                    "max-margin network\n"
                    "  backward/backward.html that backward pass step by step (and "
                    "step_001.svg ...)",
    )
    demo.add_argument("--out", default=DEMO_OUT, metavar="DIR",
                      help=f"folder for the pictures (default ./{DEMO_OUT}/)")
    demo.add_argument("--epochs", type=_positive_int, default=60, metavar="N",
                      help="passes over the data (default 60)")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of data, weights and batches")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(run=_cmd_demo)

    graph = commands.add_parser(
        "graph", formatter_class=formatter, help="draw the graph of an expression",
        description="Draw the graph of an expression with its values and, after the backward "
                    "pass (of its sum, if it has several elements), every gradient and the "
                    "order backprop visits the operations.\n\n" + EXPRESSION_HELP,
    )
    _add_expression_options(graph)
    graph.add_argument("--out", default="graph.svg", metavar="FILE",
                       help="the picture: .svg, .png or .dot (default graph.svg; the .dot "
                            "source when no Graphviz renderer is installed)")
    graph.add_argument("--collapse", nargs="*", metavar="NAME",
                       help="draw these scopes (e.g. cross_entropy) as one box each; without "
                            "names, every outermost scope")
    graph.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                       help="direction of the drawing (default LR: left to right)")
    graph.set_defaults(run=_cmd_graph)

    trace = commands.add_parser(
        "trace", formatter_class=formatter, help="print the backward pass of an expression",
        description="Print the backward pass of an expression step by step: for each "
                    "operation the incoming gradient g (the course's delta), the local "
                    "derivative, what each input receives, and the sums where a value fans "
                    "out.\n\n" + EXPRESSION_HELP,
    )
    _add_expression_options(trace, optional=True)
    trace.add_argument("--max-elements", type=_positive_int, default=8, metavar="N",
                       help="arrays with more elements are summarised (default 8)")
    trace.set_defaults(run=_cmd_trace)

    step = commands.add_parser(
        "step", formatter_class=formatter,
        help="write the backward pass of an expression as a step-through page",
        description="Write the backward pass of an expression (of its sum, if it has several "
                    "elements) as an HTML page to open in a browser: one picture per step with "
                    "a slider, the trace text of each step, and the pictures as step_001.svg "
                    "... (.dot without a Graphviz renderer).\n\n" + EXPRESSION_HELP,
    )
    _add_expression_options(step)
    step.add_argument("--out", default="backward", metavar="DIR",
                      help="folder for backward.html and the frames (default ./backward/)")
    step.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                      help="direction of the drawing (default LR: left to right)")
    step.add_argument("--max-elements", type=_positive_int, default=6, metavar="N",
                      help="arrays with more elements are summarised (default 6)")
    step.set_defaults(run=_cmd_step)

    check = commands.add_parser(
        "gradcheck", formatter_class=formatter,
        help="check backprop against central differences",
        description="Compare the gradient backprop gives for every variable with central "
                    "differences (float64). Exit status 1 when they disagree.\n\n"
                    + EXPRESSION_HELP,
    )
    _add_expression_options(check)
    check.add_argument("--eps", type=_positive_float, default=1e-6, help="the step (1e-6)")
    check.add_argument("--atol", type=_positive_float, default=1e-5,
                       help="absolute tolerance (1e-5)")
    check.add_argument("--rtol", type=_positive_float, default=1e-3,
                       help="relative tolerance (1e-3)")
    check.set_defaults(run=_cmd_gradcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 gradcheck failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        print(f"\n{PROG}: error: choose a command: demo, graph, trace, step or gradcheck",
              file=sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except (UsageError, ExpressionError) as e:
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 2
    except TinygradEduError as e:  # shapes that do not fit, bad values
        print(f"{PROG} {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file or folder that cannot be written
        where = f" {e.filename}" if e.filename else ""
        print(f"{PROG} {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
