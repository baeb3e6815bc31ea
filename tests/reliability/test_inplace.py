"""In-place safety: changing a value a recorded graph saved makes that backward raise.

Without the check, backward would compute the gradient from the new values and return a
wrong number silently. Every way the library offers to change data in place is covered:
assigning ``.data`` (also ``t.data -= x``), the in-place operators under ``no_grad``, every
optimiser's ``step``, ``load_state_dict`` and ``load``.
"""

import os

import numpy as np
import pytest

from tinygrad_edu import BackwardError, InPlaceError, Tensor, TinygradEduError, no_grad
from tinygrad_edu.nn import Linear
from tinygrad_edu.optim import SGD, AdaGrad, Adam, Newton, RMSProp

X0 = [1.0, 2.0, 3.0]
W0 = [4.0, 5.0, 6.0]


def _assign(w: Tensor) -> None:
    w.data = w.data * 2


def _isub_data(w: Tensor) -> None:
    w.data -= 1.0


def _apply(t: Tensor, symbol: str) -> None:
    if symbol == "+=":
        t += 1.0
    elif symbol == "-=":
        t -= 1.0
    elif symbol == "*=":
        t *= 2.0
    else:
        t /= 2.0


def _operator(symbol: str):
    def change(w: Tensor) -> None:
        with no_grad():
            _apply(w, symbol)

    return change


def _optimiser(make):
    def change(w: Tensor) -> None:
        opt = make([w])
        w.grad = np.ones(3)
        opt.step()
        w.grad = None

    return change


def _newton(w: Tensor) -> None:
    opt = Newton([w], damping=1.0)
    opt.step(lambda: (w * w).sum().backward(create_graph=True))
    w.grad = None


CHANGES = {
    "w.data = new": _assign,
    "w.data -= 1": _isub_data,
    "no_grad: w += 1": _operator("+="),
    "no_grad: w -= 1": _operator("-="),
    "no_grad: w *= 2": _operator("*="),
    "no_grad: w /= 2": _operator("/="),
    "SGD.step": _optimiser(lambda p: SGD(p, lr=0.1, momentum=0.9)),
    "Adam.step": _optimiser(lambda p: Adam(p, lr=0.1)),
    "RMSProp.step": _optimiser(lambda p: RMSProp(p, lr=0.1)),
    "AdaGrad.step": _optimiser(lambda p: AdaGrad(p, lr=0.1)),
    "Newton.step": _newton,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_changing_a_saved_input_before_backward_raises(change):
    x = Tensor(X0, requires_grad=True)
    w = Tensor(W0, requires_grad=True)
    y = (x * w).sum()  # Mul saved w to compute dL/dx = g * w
    change(w)
    assert w.tolist() != W0  # the change really happened
    with pytest.raises(InPlaceError) as excinfo:
        y.backward()
    err = excinfo.value
    assert isinstance(err, BackwardError) and isinstance(err, RuntimeError)
    assert isinstance(err, TinygradEduError)
    message = str(err)
    assert "Mul" in message, message
    assert "input 1 (shape (3,))" in message, message
    assert "modified in place" in message
    assert "after backward()" in message  # the fix
    # Nothing half-done: no gradient reached the leaves.
    assert x.grad is None and w.grad is None


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_the_same_change_after_backward_is_fine(change):
    x = Tensor(X0, requires_grad=True)
    w = Tensor(W0, requires_grad=True)
    y = (x * w).sum()
    y.backward()
    change(w)
    assert x.grad.tolist() == W0  # computed from the values at forward time
    assert w.grad is None or w.grad.tolist() == X0
    # And the next forward/backward uses the new values.
    x.grad = None
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.data)


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_before_the_forward_pass_is_fine(change):
    x = Tensor(X0, requires_grad=True)
    w = Tensor(W0, requires_grad=True)
    change(w)
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.data)


def test_a_constant_changed_in_place_is_detected_too():
    x = Tensor(X0, requires_grad=True)
    c = Tensor(W0)  # no grad: in-place operators are allowed even with grad enabled
    y = (x * c).sum()
    c *= 2.0
    with pytest.raises(InPlaceError, match=r"Mul .*input 1 \(shape \(3,\)\)"):
        y.backward()


def test_a_changed_output_is_detected():
    """Exp's backward uses its own output e^x: changing it is caught as well."""
    x = Tensor(X0, requires_grad=True)
    y = x.exp()
    with no_grad():
        y *= 2.0
    with pytest.raises(InPlaceError) as excinfo:
        y.backward(np.ones(3))
    assert "Exp" in str(excinfo.value) and "its output" in str(excinfo.value)


def test_a_change_deep_in_the_graph_names_that_operation():
    x = Tensor(X0, requires_grad=True)
    w = Tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    h = (x.reshape(1, 3) @ w).tanh()
    loss = (h * h).sum()
    with no_grad():
        w -= 0.5
    with pytest.raises(InPlaceError) as excinfo:
        loss.backward()
    assert "Matmul" in str(excinfo.value) and "input 1 (shape (3, 1))" in str(excinfo.value)


def test_a_change_between_two_backward_passes_of_a_retained_graph():
    x = Tensor(X0, requires_grad=True)
    w = Tensor(W0, requires_grad=True)
    y = (x * w).sum()
    y.backward(retain_graph=True)
    assert x.grad.tolist() == W0
    w.data = w.data + 1
    with pytest.raises(InPlaceError):
        y.backward()
    assert x.grad.tolist() == W0  # the first pass's gradient, not doubled with wrong values


def test_load_state_dict_between_forward_and_backward():
    layer = Linear(3, 2, rng=0)
    other = Linear(3, 2, rng=1).state_dict()
    y = layer(Tensor([X0], requires_grad=True)).sum()
    layer.load_state_dict(other)
    np.testing.assert_array_equal(layer.weight.data, other["weight"])
    with pytest.raises(InPlaceError) as excinfo:
        y.backward()
    assert "modified in place" in str(excinfo.value)
    assert layer.weight.grad is None and layer.bias.grad is None


def test_module_load_between_forward_and_backward(tmp_path):
    path = os.path.join(tmp_path, "layer.npz")
    Linear(3, 2, rng=1).save(path)
    layer = Linear(3, 2, rng=0)
    y = layer(Tensor([X0], requires_grad=True)).sum()
    layer.load(path)
    with pytest.raises(InPlaceError):
        y.backward()


# ----------------------------------------------------------------------------- refused outright


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/="])
@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "intermediate"])
def test_inplace_operator_on_a_tensor_requiring_grad_with_grad_enabled(symbol, leaf):
    w = Tensor(W0, requires_grad=True)
    t = w if leaf else w * 1.0
    before = t.tolist()
    with pytest.raises(BackwardError) as excinfo:
        _apply(t, symbol)
    err = excinfo.value
    assert type(err) is BackwardError and isinstance(err, RuntimeError)
    message = str(err)
    assert f"'{symbol}'" in message and "requires grad" in message and "(shape (3,))" in message
    assert "with no_grad():" in message  # the fix
    assert t.tolist() == before


# ----------------------------------------------------------------------------- aliases


ALIASES = {
    "detach": lambda x: x.detach(),
    "slice": lambda x: x[0:2],
    "reshape": lambda x: x.reshape(3, 1),
    "transpose": lambda x: x.reshape(3, 1).T,
}


@pytest.mark.parametrize("alias", ALIASES.values(), ids=ALIASES.keys())
def test_inplace_operator_through_an_alias_is_detected(alias):
    """``x.detach()`` and basic views share x's memory: changing them changes x.

    PyTorch shares one version counter between a tensor and its views and detached copies;
    here a change through the alias bumps only the alias, and backward silently returns the
    gradient of the new values (for y = sum(x * x): 2 * (x + 1) instead of 2 * x).
    """
    x = Tensor(X0, requires_grad=True)
    y = (x * x).sum()
    view = alias(x)
    with no_grad():
        view += 1.0
    assert x.tolist() != X0  # the alias really shares x's memory
    try:
        y.backward()
    except InPlaceError:
        assert x.grad is None
        return
    pytest.fail(
        f"no InPlaceError: backward returned {x.grad.tolist()}, the gradient at the changed "
        "values, instead of [2.0, 4.0, 6.0]"
    )
