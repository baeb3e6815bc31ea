"""Every operation of the op table, checked two ways: forward against numpy, gradient against
central differences (float64, hypothesis, every broadcasting pattern), and second derivatives
where they are not trivially zero."""

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_edu import Tensor
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing.op_table import OPS

NAMES = sorted(OPS)
SECOND_ORDER = sorted(name for name, spec in OPS.items() if spec.second_order)


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_numpy(name):
    spec = OPS[name]

    @given(spec.cases)
    def check(case):
        out = spec.fn(*case.tensors(requires_grad=False), **case.params)
        expected = spec.ref(*case.arrays, **case.params)
        assert isinstance(out, Tensor)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=5)
    def check(case):
        tensors = [Tensor(a.astype(np.float32), requires_grad=True) for a in case.arrays]
        out = spec.fn(*tensors, **case.params)
        assert out.dtype == np.float32
        np.testing.assert_allclose(
            out.data, spec.ref(*case.arrays, **case.params), rtol=2e-5, atol=2e-5
        )
        out.backward(np.ones(out.shape, dtype=np.float32))
        for t in tensors:
            assert t.grad.dtype == np.float32 and t.grad.shape == t.shape

    check()


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    spec = OPS[name]

    @given(spec.cases)
    def check(case):
        assert gradcheck(lambda *ts: spec.fn(*ts, **case.params), case.tensors())

    check()


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivative_matches_central_differences(name):
    spec = OPS[name]

    @given(spec.cases)
    @settings(max_examples=10)
    def check(case):
        assert gradgradcheck(lambda *ts: spec.fn(*ts, **case.params), case.tensors())

    check()


BROADCAST_PATTERNS = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
    ((1,), (2, 2)),
    ((2, 1, 1), (1, 3, 1)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": Tensor.maximum,
    "minimum": Tensor.minimum,
}


@pytest.mark.parametrize("shapes", BROADCAST_PATTERNS, ids=str)
@pytest.mark.parametrize("op", sorted(BINARY))
def test_every_broadcasting_pattern(op, shapes):
    rng = np.random.default_rng(0)
    # Positive, well-separated values: the domain of pow and div, and no ties for max/min.
    a = Tensor(rng.uniform(0.5, 1.5, shapes[0]), requires_grad=True)
    b = Tensor(rng.uniform(1.6, 2.5, shapes[1]), requires_grad=True)
    out = BINARY[op](a, b)
    assert out.shape == np.broadcast_shapes(*shapes)
    assert gradcheck(BINARY[op], [a, b])
    out.backward(np.ones(out.shape))
    assert a.grad.shape == shapes[0] and b.grad.shape == shapes[1]


def test_every_operation_of_the_api_is_in_the_table():
    api = {
        "add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs",
        "clip", "sum", "mean", "var", "max", "min", "reshape", "transpose", "flatten",
        "squeeze", "unsqueeze", "getitem", "concatenate", "stack", "where", "maximum",
        "minimum", "relu", "leaky_relu", "sigmoid", "tanh", "hardtanh", "softsign", "softmax",
        "log_softmax",
    }  # fmt: skip
    assert api <= set(OPS)
