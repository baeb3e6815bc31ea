"""Threads: gradient mode is per thread, and two threads training two models do not interfere.

Both runs are compared bit for bit with the same runs done one after the other in the main
thread. A Barrier makes the interleaving deterministic: each thread does its training step
exactly while the other one sits inside ``no_grad``.
"""

import sys
import threading

import numpy as np
import pytest

from tinygrad_edu import Tensor, enable_grad, is_grad_enabled, no_grad
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, Adam

STEPS = 15


class Run:
    """One model's training: its data, model and optimiser, and what it has produced."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((16, 3)).astype(np.float32)
        self.y = rng.integers(0, 3, 16)
        self.model = MLP([3, 8, 3], rng=seed)
        self.opt = (SGD(self.model.parameters(), lr=0.1, momentum=0.9) if seed % 2 == 0
                    else Adam(self.model.parameters(), lr=0.01))
        self.losses: list[float] = []
        self.evals: list[np.ndarray] = []

    def train(self) -> None:
        assert is_grad_enabled()
        self.opt.zero_grad()
        loss = cross_entropy(self.model(self.X), self.y)
        assert loss.grad_fn is not None  # recorded, whatever the other thread is doing
        loss.backward()
        self.opt.step()
        self.losses.append(loss.item())

    def evaluate(self) -> None:
        """Call inside no_grad."""
        assert not is_grad_enabled()
        out = self.model(self.X)
        assert out.grad_fn is None and not out.requires_grad
        self.evals.append(out.data.copy())

    def result(self) -> tuple:
        return self.losses, self.evals, [p.data.copy() for p in self.model.parameters()]


def assert_same(a: tuple, b: tuple) -> None:
    (la, ea, pa), (lb, eb, pb) = a, b
    assert la == lb
    assert len(ea) == len(eb)
    for x, y in zip(ea, eb):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)


def sequential() -> tuple[tuple, tuple]:
    """The reference: run A (evaluate, then train) and run B (train, then evaluate)."""
    a, b = Run(0), Run(1)
    for _ in range(STEPS):
        with no_grad():
            a.evaluate()
        a.train()
    for _ in range(STEPS):
        b.train()
        with no_grad():
            b.evaluate()
    return a.result(), b.result()


def run_threads(*bodies) -> None:
    """Run each body in its own thread; re-raise the first failure in the main thread."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(bodies), timeout=20)

    def wrap(body):
        def target() -> None:
            try:
                body(barrier)
            except BaseException as exc:  # noqa: BLE001  (re-raised below)
                errors.append(exc)
                barrier.abort()  # release the other thread

        return target

    threads = [threading.Thread(target=wrap(body)) for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


def test_two_threads_train_while_the_other_is_inside_no_grad():
    a, b = Run(0), Run(1)

    def thread_a(barrier: threading.Barrier) -> None:
        for _ in range(STEPS):
            with no_grad():
                barrier.wait()  # 1: A is inside no_grad ...
                barrier.wait()  # 2: ... while B trained
                a.evaluate()
            barrier.wait()  # 3: B is inside no_grad ...
            a.train()  # ... while A trains
            barrier.wait()  # 4

    def thread_b(barrier: threading.Barrier) -> None:
        for _ in range(STEPS):
            barrier.wait()  # 1
            b.train()
            barrier.wait()  # 2
            with no_grad():
                barrier.wait()  # 3
                barrier.wait()  # 4
                b.evaluate()

    run_threads(thread_a, thread_b)
    ref_a, ref_b = sequential()
    assert_same(a.result(), ref_a)
    assert_same(b.result(), ref_b)
    assert len(a.losses) == len(b.evals) == STEPS


def test_two_threads_running_freely_match_the_sequential_runs():
    """No barrier, and the interpreter switching threads as often as it can."""
    a, b = Run(0), Run(1)

    def thread_a(barrier: threading.Barrier) -> None:
        for _ in range(STEPS):
            with no_grad():
                a.evaluate()
            a.train()

    def thread_b(barrier: threading.Barrier) -> None:
        for _ in range(STEPS):
            b.train()
            with no_grad():
                b.evaluate()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run_threads(thread_a, thread_b)
    finally:
        sys.setswitchinterval(interval)
    ref_a, ref_b = sequential()
    assert_same(a.result(), ref_a)
    assert_same(b.result(), ref_b)


def test_no_grad_in_one_thread_does_not_leak_into_another():
    """Each thread's state is its own, also for enable_grad nested in no_grad."""
    seen: dict[str, list] = {"a": [], "b": []}
    w = Tensor([1.0, 2.0], requires_grad=True)

    def thread_a(barrier: threading.Barrier) -> None:
        with no_grad():
            barrier.wait()  # 1: A inside no_grad
            barrier.wait()  # 2: B looked
            seen["a"].append((w * 2).requires_grad)
            with enable_grad():
                barrier.wait()  # 3
                seen["a"].append((w * 2).requires_grad)
                barrier.wait()  # 4
            seen["a"].append((w * 2).requires_grad)
        seen["a"].append((w * 2).requires_grad)

    def thread_b(barrier: threading.Barrier) -> None:
        barrier.wait()  # 1
        seen["b"].append((w * 2).requires_grad)  # A is inside no_grad right now
        barrier.wait()  # 2
        with no_grad():
            barrier.wait()  # 3: A is inside enable_grad, B inside no_grad
            seen["b"].append((w * 2).requires_grad)
            barrier.wait()  # 4
        seen["b"].append((w * 2).requires_grad)

    run_threads(thread_a, thread_b)
    assert seen == {"a": [False, True, False, True], "b": [True, False, True]}
    assert is_grad_enabled()  # and the main thread was never touched


def test_a_new_thread_starts_with_gradients_enabled():
    """Even when started from inside a no_grad block (the mode is not inherited): it records."""
    seen = []
    w = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        thread = threading.Thread(
            target=lambda: seen.append((is_grad_enabled(), (w * 2).grad_fn is not None))
        )
        thread.start()
        thread.join(10)
    assert seen == [(True, True)]


@pytest.mark.parametrize("decorated", [True, False])
def test_no_grad_as_a_decorator_is_per_thread_too(decorated):
    @no_grad()
    def inference(barrier: threading.Barrier) -> None:
        barrier.wait()  # 1: inside the decorated function
        barrier.wait()  # 2

    def other(barrier: threading.Barrier) -> None:
        barrier.wait()  # 1
        seen.append(is_grad_enabled())
        barrier.wait()  # 2

    seen: list[bool] = []

    def plain(barrier: threading.Barrier) -> None:
        with no_grad():
            barrier.wait()
            barrier.wait()

    run_threads(inference if decorated else plain, other)
    assert seen == [True]
