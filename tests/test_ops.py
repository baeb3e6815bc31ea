"""Every operation of the op table, checked two ways: forward against numpy, gradient against
central differences (float64, hypothesis, every broadcasting pattern), and second derivatives
where they are not trivially zero."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tinygrad_edu import Tensor, ops
from tinygrad_edu.autograd import Function, grad, topological_sort
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing.op_table import OPS

# The operations of the first API draw the profile's number of examples in every run. The
# later ones ("More operations") draw a few by default, to keep `make test` fast, and the
# profile's number under `-m slow` (make test-slow, CI).
CORE = {
    "add", "sub", "mul", "div", "pow", "pow_scalar", "rpow_scalar", "radd_scalar",
    "rsub_scalar", "rdiv_scalar", "neg", "maximum", "minimum", "where", "exp", "log", "sqrt",
    "abs", "clip", "relu", "leaky_relu", "sigmoid", "tanh", "hardtanh", "softsign", "softmax",
    "log_softmax", "matmul", "sum", "mean", "var", "max", "min", "logsumexp", "reshape",
    "transpose", "T", "flatten", "squeeze", "unsqueeze", "expand", "getitem", "concatenate",
    "stack", "linear",  # the hottest operation (every layer): its second derivative too
}  # fmt: skip
QUICK = 4


def _runs(names):
    """pytest params (name, max_examples): None takes the profile's number."""
    params = []
    for name in names:
        if name in CORE:
            params.append(pytest.param(name, None, id=name))
        else:
            params.append(pytest.param(name, QUICK, id=name))
            params.append(pytest.param(name, None, id=f"{name}-full", marks=pytest.mark.slow))
    return params


def _examples(n):
    """The settings for ``n`` examples (the profile's when None), as a decorator."""
    return settings(max_examples=n) if n else (lambda f: f)


NAMES = _runs(sorted(OPS))
SECOND_ORDER = _runs(sorted(name for name, spec in OPS.items() if spec.second_order))


@pytest.mark.parametrize("name, examples", NAMES)
def test_forward_matches_numpy(name, examples):
    spec = OPS[name]

    @_examples(examples)
    @given(spec.cases)
    def check(case):
        out = spec.fn(*case.tensors(requires_grad=False), **case.params)
        expected = spec.ref(*case.arrays, **case.params)
        assert isinstance(out, Tensor)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)

    check()


@pytest.mark.parametrize("name, examples", NAMES)
def test_float32_stays_float32(name, examples):
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=min(5, examples or 5))
    def check(case):
        tensors = [Tensor(a.astype(np.float32), requires_grad=True) for a in case.arrays]
        params = {k: v.astype(np.float32) if getattr(v, "dtype", None) == np.float64 else v
                  for k, v in case.params.items()}  # constant operands: float32 as well
        out = spec.fn(*tensors, **params)
        assert out.dtype == np.float32
        np.testing.assert_allclose(
            out.data, spec.ref(*case.arrays, **case.params), rtol=2e-5, atol=2e-5
        )
        out.backward(np.ones(out.shape, dtype=np.float32))
        for t in tensors:
            assert t.grad.dtype == np.float32 and t.grad.shape == t.shape

    check()


@pytest.mark.parametrize("name, examples", NAMES)
def test_gradient_matches_central_differences(name, examples):
    spec = OPS[name]

    @_examples(examples)
    @given(spec.cases)
    def check(case):
        assert gradcheck(lambda *ts: spec.fn(*ts, **case.params), case.tensors())

    check()


@pytest.mark.parametrize("name, examples", SECOND_ORDER)
def test_second_derivative_matches_central_differences(name, examples):
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=min(10, examples or 10))
    def check(case):
        assert gradgradcheck(lambda *ts: spec.fn(*ts, **case.params), case.tensors())

    check()


# Every kind of pattern: equal shapes, a missing leading axis on either side, 1s stretched on
# both sides, a scalar on either side, and ranks that differ by more than one.
BROADCAST_PATTERNS = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
    ((1,), (2, 2)),
    ((2, 1, 1), (1, 3, 1)),
    ((4,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "mod": lambda a, b: a % b,
    "maximum": Tensor.maximum,
    "minimum": Tensor.minimum,
}
# dL/da and dL/db of L = sum(w * op(a, b)) on the broadcast values A, B, before summing back.
BY_HAND = {
    "add": lambda w, A, B: (w, w),
    "sub": lambda w, A, B: (w, -w),
    "mul": lambda w, A, B: (w * B, w * A),
    "div": lambda w, A, B: (w / B, -w * A / B**2),
}


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reference: dL/d input for an input of ``shape`` broadcast to g.shape, by counting.

    Every output element adds its g to the input element it was copied from.
    """
    n = int(np.prod(shape))
    owner = np.broadcast_to(np.arange(n).reshape(shape), g.shape)
    return np.bincount(owner.ravel(), weights=g.ravel(), minlength=n).reshape(shape)


@pytest.mark.parametrize("shapes", BROADCAST_PATTERNS, ids=str)
@pytest.mark.parametrize("op", sorted(BINARY))
def test_every_broadcasting_pattern(op, shapes):
    rng = np.random.default_rng(0)
    # Positive, well-separated values: the domain of pow and div, and no ties for max/min.
    av, bv = rng.uniform(0.5, 1.5, shapes[0]), rng.uniform(1.6, 2.5, shapes[1])
    a, b = Tensor(av, requires_grad=True), Tensor(bv, requires_grad=True)
    out = BINARY[op](a, b)
    assert out.shape == np.broadcast_shapes(*shapes)
    assert gradcheck(BINARY[op], [a, b])
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    assert a.grad.shape == shapes[0] and b.grad.shape == shapes[1]
    if op in BY_HAND:  # exact: the broadcast gradient summed back by counting
        A, B = np.broadcast_to(av, out.shape), np.broadcast_to(bv, out.shape)
        ga, gb = BY_HAND[op](w, A, B)
        np.testing.assert_allclose(a.grad, _sum_to(ga, shapes[0]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b.grad, _sum_to(gb, shapes[1]), rtol=1e-12, atol=1e-12)


def test_every_operation_of_the_api_is_in_the_table():
    api = {
        "add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs",
        "clip", "sum", "mean", "var", "max", "min", "reshape", "transpose", "flatten",
        "squeeze", "unsqueeze", "getitem", "concatenate", "stack", "where", "maximum",
        "minimum", "relu", "leaky_relu", "sigmoid", "tanh", "hardtanh", "softsign", "softmax",
        "log_softmax",
        # More operations
        "sin", "cos", "tan", "sinh", "cosh", "arcsin", "arccos", "arctan", "softplus", "gelu",
        "elu", "selu", "silu", "mish", "relu6", "hardsigmoid", "hardswish", "logsigmoid",
        "log2", "exp2", "log1p", "expm1", "square", "reciprocal", "rsqrt", "sign", "floor",
        "ceil", "round", "trunc", "mod", "cumsum", "cumprod", "prod", "logsumexp", "std",
        "sort", "topk", "pad", "flip", "roll", "repeat", "tile", "expand", "split", "chunk",
        "tril", "triu", "diag", "gather", "scatter_add", "lerp", "einsum",
    }  # fmt: skip
    assert api <= set(OPS)


# Functions the table cannot check by central differences, and where they are checked instead.
NOT_IN_THE_TABLE = {
    "Cast": "a dtype conversion: float32 rounding defeats central differences (test_tensor.py)",
}


def _functions_in(roots):
    """The names of the Functions recorded behind ``roots`` (the engine's own graph walk)."""
    return {type(t.grad_fn).__name__ for root in roots if isinstance(root, Tensor)
            for t in topological_sort(root, freed_ok=True) if t.grad_fn is not None}


def test_every_function_of_ops_is_exercised_by_the_table():
    """A new Function subclass fails this test until a row of the table (forward and its
    recorded backward) runs it, or it is listed above with the reason."""
    used = set()

    def runs(spec):
        @settings(max_examples=8, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(spec.cases)
        def run(case):
            ts = [Tensor(a, requires_grad=True, dtype=np.float64) for a in case.arrays]
            out = spec.fn(*ts, **case.params)
            used.update(_functions_in([out]))
            used.update(_functions_in(grad(out.sum(), ts, create_graph=True)))

        return run

    for spec in OPS.values():
        runs(spec)()
    defined = {
        name for name, obj in vars(ops).items()
        if isinstance(obj, type) and issubclass(obj, Function) and obj.__module__ == ops.__name__
    }  # fmt: skip
    assert defined - used - set(NOT_IN_THE_TABLE) == set()
