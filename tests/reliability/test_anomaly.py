"""detect_anomaly: the first NaN or infinity, forward or backward, names its operation and line.

The messages must point at *this* file (the user's code), not at the library's internals.
numpy's RuntimeWarnings for log(0) and friends are silenced: the anomaly is the subject here.
"""

import os
import re
import threading

import numpy as np
import pytest

from tinygrad_edu import AnomalyError, Tensor, TinygradEduError, detect_anomaly, no_grad
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP

HERE = os.path.basename(__file__)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _where(err: AnomalyError, line_text: str) -> str:
    """The message of ``err``, checked to name this file and the line's code."""
    assert isinstance(err, FloatingPointError) and isinstance(err, TinygradEduError)
    message = str(err)
    assert HERE in message, message
    assert line_text in message, message
    return message


# (id, the operation on x, the operation's name, what it produces, the code in the message)
FORWARD = [
    ("log0", lambda x: x.log(), "Log", "-inf", "x.log()", [0.0, 1.0]),
    ("log-negative", lambda x: x.log(), "Log", "nan", "x.log()", [-1.0, 1.0]),
    ("sqrt-negative", lambda x: x.sqrt(), "Sqrt", "nan", "x.sqrt()", [-4.0, 4.0]),
    ("div0", lambda x: 1.0 / x, "Div", "inf", "1.0 / x", [0.0, 2.0]),
    ("exp-overflow", lambda x: x.exp(), "Exp", "inf", "x.exp()", [1000.0, 0.0]),
    ("pow-overflow", lambda x: x**400, "Pow", "inf", "x**400", [10.0, 1.0]),
]


@pytest.mark.parametrize("op, name, kind, code, values", [c[1:] for c in FORWARD],
                         ids=[c[0] for c in FORWARD])
def test_a_non_finite_forward_result_names_operation_and_line(op, name, kind, code, values):
    x = Tensor(np.array(values), requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as excinfo:
        op(x)
    message = _where(excinfo.value, code)
    assert message.startswith(f"{name} produced {kind}"), message
    assert f"{HERE}:{op.__code__.co_firstlineno} " in message  # the file and line
    assert "1 of 2 elements" in message and "(2,)" in message


@pytest.mark.parametrize("op, values", [(c[1], c[5]) for c in FORWARD], ids=[c[0] for c in FORWARD])
def test_without_detect_anomaly_nothing_is_raised(op, values):
    y = op(Tensor(np.array(values), requires_grad=True))
    assert not np.isfinite(y.data).all()


def test_a_nan_in_a_loss_names_the_users_line_not_the_library():
    logits = Tensor([[np.inf, 0.0]], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as excinfo:
        cross_entropy(logits, [0])  # the call site
    message = _where(excinfo.value, "cross_entropy(logits, [0])  # the call site")
    assert "losses.py" not in message and "ops.py" not in message
    assert re.match(r"\w+ produced nan", message), message  # the operation inside the loss


def test_no_grad_results_are_checked_too():
    x = Tensor([0.0], requires_grad=True)
    with detect_anomaly(), no_grad(), pytest.raises(AnomalyError) as excinfo:
        x.log()
    _where(excinfo.value, "x.log()")


# ----------------------------------------------------------------------------- backward

BACKWARD = [
    ("sqrt", lambda x: x.sqrt(), "Sqrt"),
    ("pow", lambda x: x**0.5, "Pow"),
    ("norm", lambda x: (x * x).sum().sqrt(), "Sqrt"),
]


@pytest.mark.parametrize("op, name", [c[1:] for c in BACKWARD], ids=[c[0] for c in BACKWARD])
def test_a_non_finite_gradient_names_operation_and_where_it_was_created(op, name):
    x = Tensor([0.0, 0.0], requires_grad=True)
    with detect_anomaly():
        y = op(x).sum()
        assert np.isfinite(y.data)  # the forward pass is fine: sqrt(0) = 0
        with pytest.raises(AnomalyError) as excinfo:
            y.backward()
    message = str(excinfo.value)
    assert message.startswith(f"the backward of {name} produced inf"), message
    assert "gradient for its input 0" in message
    assert f"{HERE}:{op.__code__.co_firstlineno} " in message  # where the op was created
    assert x.grad is None  # the bad gradient never reached the leaf


def test_without_detect_anomaly_the_gradient_is_silently_inf():
    x = Tensor([0.0, 1.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad[0]) and x.grad[1] == 0.5


def test_a_graph_recorded_outside_the_block_is_checked_in_backward():
    x = Tensor([0.0], requires_grad=True)
    y = x.sqrt().sum()
    with detect_anomaly(), pytest.raises(AnomalyError) as excinfo:
        y.backward()
    message = str(excinfo.value)
    assert "Sqrt" in message and "recorded outside detect_anomaly" in message


def test_a_finite_training_step_is_unchanged_by_detect_anomaly():
    def run(anomaly: bool) -> list:
        model = MLP([3, 4, 2], rng=0)
        x = np.arange(6.0).reshape(2, 3)
        if anomaly:
            with detect_anomaly():
                cross_entropy(model(x), [0, 1]).backward()
        else:
            cross_entropy(model(x), [0, 1]).backward()
        return [p.grad.tolist() for p in model.parameters()]

    assert run(True) == run(False)


# ----------------------------------------------------------------------------- scope of the mode


def _log0() -> Tensor:
    return Tensor([0.0]).log() * Tensor([1.0], requires_grad=True)


def test_the_mode_ends_with_the_block():
    with detect_anomaly():
        pass
    assert np.isneginf(_log0().data).all()


def test_the_mode_ends_with_the_block_after_an_exception():
    with pytest.raises(AnomalyError), detect_anomaly():
        _log0()
    assert np.isneginf(_log0().data).all()
    with pytest.raises(KeyError), detect_anomaly():
        raise KeyError("unrelated")
    assert np.isneginf(_log0().data).all()


def test_nested_blocks_restore_the_outer_mode():
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):
            _log0()


def test_the_mode_is_per_thread():
    """Thread B computes log(0) while the main thread is inside detect_anomaly, and the other
    way round; Events make the interleaving deterministic."""
    inside, computed = threading.Event(), threading.Event()
    results: dict = {}

    def other() -> None:
        try:
            assert inside.wait(10)
            results["other"] = _log0().data  # main is inside detect_anomaly right now
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            results["error"] = exc
        finally:
            computed.set()

    thread = threading.Thread(target=other)
    thread.start()
    with detect_anomaly():
        inside.set()
        assert computed.wait(10)
        with pytest.raises(AnomalyError):
            _log0()
    thread.join(10)
    assert "error" not in results, results.get("error")
    assert np.isneginf(results["other"]).all()

    # A thread that enters detect_anomaly does not switch it on for the main thread.
    entered, checked = threading.Event(), threading.Event()

    def anomalous() -> None:
        with detect_anomaly():
            entered.set()
            checked.wait(10)
            try:
                _log0()
            except AnomalyError:
                results["thread raised"] = True

    thread = threading.Thread(target=anomalous)
    thread.start()
    assert entered.wait(10)
    assert np.isneginf(_log0().data).all()  # main: no error although the thread is inside
    checked.set()
    thread.join(10)
    assert results.get("thread raised")
