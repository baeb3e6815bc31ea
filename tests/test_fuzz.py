"""Fuzzing the engine with random programs: computed right, or rejected with the library's error.

A *program* is data: one to three float64 inputs ``v0, v1, v2`` of random shapes, then one to
six steps, each an operation of the one operation table (``tinygrad_edu.testing.op_table``,
the rows with a ``fuzz`` entry: its Tensor code, its numpy reference, how to draw its
arguments) applied to values computed so far (any of them, so shapes may well not fit) with
randomly drawn arguments (axes, shapes, indices, bounds that may be out of range). Two
interpreters run the same program: one with Tensors, one with plain numpy (the reference,
which also says which programs are invalid). For every program:

* if the reference rejects it, the library must raise a subclass of ``TinygradEduError``,
  never a bare numpy ``ValueError`` / ``IndexError`` / ``TypeError``, and never return a value;
* if the reference computes it, the library must compute the same value (same shape, same
  numbers), and backprop through the scalar L = sum(w * out) (w random) must agree with
  central differences (``gradcheck``; kinks are allowed, only a ``GradcheckError`` fails).

Valid programs also get their second derivatives checked (``gradgradcheck``), as Newton's
method and ``hessian`` differentiate the recorded backward pass.

Hypothesis shrinks a failing program to a few steps, and its ``repr`` is runnable Python that
reproduces it. Every test here carries the ``fuzz`` marker (``pytest -m fuzz`` runs only them,
``pytest -m "not fuzz"`` skips them); they run by default.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, find, given, settings
from hypothesis import strategies as st

from tinygrad_edu import Tensor, ops
from tinygrad_edu.errors import GradcheckError, ShapeError, TinygradEduError
from tinygrad_edu.gradcheck import GradcheckWarning, gradcheck, gradgradcheck
from tinygrad_edu.testing import fuzz_args, op_table
from tinygrad_edu.testing import strategies as tst

pytestmark = pytest.mark.fuzz

#: Values beyond this size (or non-finite) end a program before the step that makes them: big
#: numbers make central differences imprecise, and that is not what the fuzzer is after.
_LIMIT = 1e3


# ----------------------------------------------------------------------------- programs as data


@dataclass
class Step:
    """One operation: ``op`` applied to the values numbered ``args``, with keyword ``params``."""

    op: str
    args: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def source(self, out: int) -> str:
        spec = OPS[self.op].fuzz
        names = [f"v{i}" for i in self.args]
        fields = {k: _literal(v) for k, v in self.params.items()}
        if spec.arity == 0:
            fields["vs"] = "[" + ", ".join(names) + "]"
        else:
            fields.update(zip("abc", names))
        code = spec.source(**fields) if callable(spec.source) else spec.source.format(**fields)
        return f"v{out} = {code}"


@dataclass
class Program:
    """Inputs ``v0..`` (float64 arrays), the steps computing ``v{k}..``, and the output weights.

    The ``repr`` is a runnable Python script that builds the same tensors and runs the steps.
    """

    inputs: list[np.ndarray]
    steps: list[Step]
    weight_seed: int

    def __repr__(self) -> str:
        lines = ["", "import numpy as np", "from tinygrad_edu import Tensor"]
        for i, a in enumerate(self.inputs):
            lines.append(f"v{i} = Tensor(np.array({a.tolist()!r}), requires_grad=True)")
        for k, step in enumerate(self.steps):
            lines.append(step.source(len(self.inputs) + k))
        out = f"v{len(self.inputs) + len(self.steps) - 1}"
        lines.append(
            f"# checked: gradcheck of ({out} * w).sum() over v0..v{len(self.inputs) - 1}, "
            f"w = np.random.default_rng({self.weight_seed}).standard_normal({out}.shape)"
        )
        return "\n".join(lines) + "\n"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints dataclasses field by field; a failing example should read as code.
        printer.text(repr(self))

    def tensors(self) -> list[Tensor]:
        return [Tensor(a.copy(), requires_grad=True) for a in self.inputs]

    def weights(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.random.default_rng(self.weight_seed).standard_normal(shape)


def _literal(v: Any) -> str:
    """Python source for a parameter value (arrays as ``np.array([...])``)."""
    if isinstance(v, np.ndarray) and v.size == 0:  # [] would lose a shape like (0, 2)
        return f"np.zeros({v.shape}, dtype=np.{v.dtype.name})"
    if isinstance(v, np.ndarray):
        return f"np.array({v.tolist()!r})"
    if isinstance(v, tuple) and v and v[0] == "index":
        return fuzz_args.index_source(v[1])
    return repr(v)


# ----------------------------------------------------------------------------- the interpreters


def run_tensors(program: Program, inputs: list[Tensor]) -> Tensor:
    """The program's output computed with tinygrad_edu."""
    values: list[Any] = list(inputs)
    for step in program.steps:
        values.append(_apply(step, values, "tensor"))
    return values[-1]


def run_reference(program: Program) -> np.ndarray | None:
    """The program's output computed with numpy alone, or None when it is invalid."""
    values: list[Any] = list(program.inputs)
    for step in program.steps:
        out = _reference_step(step, values)
        if out is None:
            return None
        values.append(out)
    return values[-1]


def _apply(step: Step, values: list[Any], side: str) -> Any:
    """Run one step with the ``"tensor"`` or the ``"ref"`` implementation of its operation."""
    spec = OPS[step.op]
    fn = spec.fn if side == "tensor" else spec.ref
    params = {k: _materialize(v, side) for k, v in step.params.items()}
    operands = [values[i] for i in step.args]
    for k, guard in enumerate(spec.fuzz.guards):  # into the operation's domain
        if guard is not None:
            operands[k] = guard(operands[k])
    return fn(*operands, **params)


def _reference_step(step: Step, values: list[np.ndarray]) -> np.ndarray | None:
    """One step in numpy; None when numpy (or the reference, raising Rejected) rejects it."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(_apply(step, values, "ref"), dtype=np.float64)
    # AxisError is both of the first two
    except (ValueError, IndexError, TypeError, op_table.Rejected):
        return None


def _materialize(v: Any, side: str) -> Any:
    """Parameters stored as data become what the operation takes (an index tuple)."""
    if isinstance(v, tuple) and v and v[0] == "index":
        return fuzz_args.build_index(v[1], tensors=side == "tensor")
    return v


# ----------------------------------------------------------------------------- the operations

#: The operations of the one operation table that random programs use (those with ``fuzz``).
OPS = {name: spec for name, spec in op_table.OPS.items() if spec.fuzz is not None}
_OPS = list(OPS.values())
FAMILIES = sorted({spec.fuzz.family for spec in _OPS})


# ----------------------------------------------------------------------------- drawing programs


@st.composite
def input_shapes(draw: st.DrawFn) -> list[tuple[int, ...]]:
    """One to three shapes: unrelated, mutually broadcastable, or a matmul pair (plus one)."""
    count = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["any", "broadcast", "matmul"]))
    if kind == "broadcast":
        return list(draw(tst.broadcastable_shapes(count)))
    shapes = [draw(tst.shapes()) for _ in range(count)]
    if kind == "matmul":
        shapes[:2] = draw(tst.matmul_shapes(max_batch_dims=1))
    return shapes


@st.composite
def programs(draw: st.DrawFn, focus: str | None = None, wild: bool = True) -> Program:
    """A random program; with ``focus``, about two steps in three come from that family;
    without ``wild``, every argument is drawn to fit (operands' shapes may still not).

    The reference runs while the program is drawn, so arguments can be drawn knowing the
    operands' shapes (mostly valid, sometimes not). The program ends at the first step the
    reference rejects, and before any step whose values would be non-finite or huge.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Seeded values rather than drawn ones: hypothesis loves 0 and ties, which put composite
    # functions exactly on their kinks, where a subgradient of each piece need not be one of
    # the composition (relu(x) - relu(-x) at 0) and gradcheck would fail for no bug.
    inputs = [rng.uniform(-2, 2, shape) for shape in draw(input_shapes())]
    values: list[np.ndarray] = list(inputs)
    steps: list[Step] = []
    focused = [spec for spec in _OPS if spec.fuzz.family == focus]
    for _ in range(draw(st.integers(1, 6))):
        pool = focused if focused and draw(st.integers(0, 2)) > 0 else _OPS
        spec = draw(st.sampled_from(pool))
        wild_step = wild and draw(st.integers(0, 3)) == 3
        last = len(values) - 1
        pick = st.one_of(st.just(last), st.integers(0, last))
        if spec.fuzz.arity == 0:  # wild: maybe nothing to join
            args = tuple(draw(st.lists(pick, min_size=0 if wild_step else 1, max_size=3)))
        else:
            args = tuple(draw(pick) for _ in range(spec.fuzz.arity))
        shapes = [values[i].shape for i in args]
        step = Step(spec.name, args, spec.fuzz.params(draw, shapes, wild_step))
        out = _reference_step(step, values)
        if out is None:
            steps.append(step)
            break
        if not np.all(np.abs(out) <= _LIMIT):  # also catches nan (mean of an empty slice)
            break
        steps.append(step)
        values.append(out)
    if not steps:  # the first step already overflowed: keep a harmless one
        steps.append(Step("tanh", (len(inputs) - 1,)))
    return Program(inputs, steps, draw(st.integers(0, 2**16)))


# ----------------------------------------------------------------------------- the property


def check_program(program: Program) -> None:
    """Run ``program`` both ways and assert the contract described in the module docstring."""
    expected = run_reference(program)
    values: list[Any] = program.tensors()
    for step in program.steps:
        line = step.source(len(values))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's, on invalid values
                values.append(_apply(step, values, "tensor"))
        except TinygradEduError as exc:
            assert expected is None, (
                f"`{line}` rejects a program numpy computes: {type(exc).__name__}: {exc}"
            )
            return
        except Exception as exc:
            raise AssertionError(f"`{line}` let a bare {type(exc).__name__} escape: {exc}") from exc
    out = values[-1]
    assert expected is not None, f"`{line}` is invalid, yet the library returned {out.shape}"
    assert isinstance(out, Tensor) and out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-9, atol=1e-12)

    w = program.weights(out.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)  # kinks are allowed
        assert gradcheck(lambda *ts: (run_tensors(program, list(ts)) * w).sum(), program.tensors())


@given(programs())
@settings(max_examples=150, deadline=None)
def test_random_programs_compute_right_or_raise_the_library_error(program):
    check_program(program)


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
@settings(max_examples=60, deadline=None, report_multiple_bugs=False)  # the test above does
def test_random_programs_focused_on_one_family(family, data):
    check_program(data.draw(programs(focus=family), label="program"))


@given(programs(wild=False))
@settings(max_examples=40, deadline=None)
def test_random_programs_have_right_second_derivatives(program):
    """Newton's method and Hessians differentiate the recorded backward pass: check it too."""
    expected = run_reference(program)
    assume(expected is not None)
    w = program.weights(expected.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        assert gradgradcheck(
            lambda *ts: (run_tensors(program, list(ts)) * w).sum(), program.tensors()
        )


# ----------------------------------------------------------------------------- the fuzzer itself


def test_the_interpreters_agree_on_a_known_program():
    program = Program(
        [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -1.0])],
        [Step("mul", (0, 1)), Step("sum", (2,), {"axis": 0, "keepdims": False})],
        weight_seed=0,
    )
    out = run_tensors(program, program.tensors())
    np.testing.assert_allclose(out.data, [0.375, -1.0])
    np.testing.assert_allclose(run_reference(program), [0.375, -1.0])
    assert repr(program).splitlines()[-2] == "v3 = v2.sum(axis=0, keepdims=False)"


def test_a_rejected_program_is_rejected_by_both():
    program = Program([np.ones((2, 3)), np.ones((4,))], [Step("add", (0, 1))], weight_seed=0)
    assert run_reference(program) is None
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4,\)"):
        run_tensors(program, program.tensors())
    check_program(program)  # the contract holds


def test_the_repr_is_runnable_source():
    parts = (
        ("slice", None, None, -1),
        ("none",),
        ("tensor", (0, 2, 2)),
    )
    program = Program(
        [np.arange(6.0).reshape(2, 3)],
        [
            Step("getitem", (0,), {"index": ("index", (True, parts))}),
            Step("getitem", (1,), {"index": ("index", (True, (("ellipsis",), ("list", (1,)))))}),
            Step("getitem", (0,), {"index": ("index", (False, (("bool", (False, True)),)))}),
        ],
        weight_seed=0,
    )
    namespace: dict[str, Any] = {}
    exec(repr(program), namespace)  # our own generated source
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(namespace["v1"].data, a[::-1, None, [0, 2, 2]])
    np.testing.assert_array_equal(namespace["v2"].data, a[::-1, None, [0, 2, 2]][..., [1]])
    np.testing.assert_array_equal(namespace["v3"].data, [[3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(namespace["v3"].data, run_reference(program))


@given(programs(wild=False))
@settings(max_examples=30, deadline=None)
def test_a_programs_source_computes_what_the_interpreters_do(program):
    """Each table row's ``fuzz.source`` states its guards: the printed program is the program."""
    expected = run_reference(program)
    assume(expected is not None)
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        exec(repr(program), namespace)  # our own generated source
    out = namespace[f"v{len(program.inputs) + len(program.steps) - 1}"]
    np.testing.assert_allclose(out.data, expected, rtol=1e-9, atol=1e-12)


def test_programs_reach_long_valid_chains_and_invalid_steps():
    """The strategy is not vacuous: it makes six-step programs that compute, and programs that
    end at their first (and only) invalid step."""
    long = find(programs(), lambda p: len(p.steps) == 6 and run_reference(p) is not None)
    assert run_reference(long) is not None
    bad = find(programs(), lambda p: len(p.steps) >= 3 and run_reference(p) is None)
    assert run_reference(Program(bad.inputs, bad.steps[:-1], 0)) is not None


# ------------------------------------------------------------------ sabotage: the check catches


def test_check_program_catches_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "backward", lambda self, g, out, x: g * (1 - out))
    program = Program([np.array([0.3, -0.7])], [Step("tanh", (0,))], weight_seed=0)
    with pytest.raises(GradcheckError):
        check_program(program)


def test_check_program_catches_a_wrong_value(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "forward", lambda self, x: np.tanh(x) + 1e-6)
    program = Program([np.array([0.3, -0.7])], [Step("tanh", (0,))], weight_seed=0)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        check_program(program)


def test_check_program_catches_a_bare_numpy_error(monkeypatch):
    def reshape(self, *shape):
        raise IndexError("tuple index out of range")

    monkeypatch.setattr(Tensor, "reshape", reshape)
    program = Program([np.ones((2, 3))], [Step("reshape", (0,), {"shape": (3, 2)})], 0)
    with pytest.raises(AssertionError, match=r"`v1 = v0.reshape\(\(3, 2\)\)` let a bare Index"):
        check_program(program)


def test_check_program_catches_an_invalid_program_accepted(monkeypatch):
    monkeypatch.setattr(Tensor, "clip", lambda self, lo, hi: Tensor(np.clip(self.data, lo, hi)))
    program = Program([np.ones(3)], [Step("clip", (0,), {"lo": 1.0, "hi": 0.0})], 0)
    with pytest.raises(AssertionError, match=r"`v1 = v0.clip\(1.0, 0.0\)` is invalid, yet"):
        check_program(program)


def test_check_program_catches_a_valid_program_rejected(monkeypatch):
    def forward(self, x):
        raise ShapeError("tanh: no")

    monkeypatch.setattr(ops.Tanh, "forward", forward)
    program = Program([np.ones(3)], [Step("tanh", (0,))], 0)
    with pytest.raises(AssertionError, match="rejects a program numpy computes"):
        check_program(program)
