"""Learning-rate schedules (annealing): eta_t, a function of how many steps t have been taken.

A schedule remembers the optimiser's starting rate eta_0 = ``optimizer.lr`` and a counter t = 0.
Each :meth:`Schedule.step` adds one to t and sets ``optimizer.lr`` to the formula at t, so
after t calls the optimiser's ``lr`` is eta_t. What one t means is the caller's choice:
:func:`~tinygrad_edu.train.fit` steps its scheduler once per epoch; call ``step()`` after every
``optimizer.step()`` to decay per update instead.

The formulas (eta_0 written lr0):

================================  ==========================================
``StepDecay(opt, n, x)``          lr0 x^floor(t / n)   (times x every n steps)
``ExponentialDecay(opt, k)``      lr0 e^(-k t)
``InverseTimeDecay(opt)``         lr0 / (t + 1)        (the notes' "linear decay")
``QuadraticDecay(opt)``           lr0 / (t + 1)^2
``DelayedInverseDecay(opt, tau)`` lr0 tau / max(t, tau)   (constant until t = tau)
``LambdaSchedule(opt, fn)``       lr0 fn(t)            (PyTorch's LambdaLR convention)
================================  ==========================================

Stochastic gradient descent converges when sum_t eta_t = infinity and sum_t eta_t^2 < infinity:
InverseTimeDecay and DelayedInverseDecay satisfy both; QuadraticDecay and ExponentialDecay
(k > 0) have a finite sum, so they can stop short of the minimum.

Example:
    >>> from tinygrad_edu import Tensor
    >>> from tinygrad_edu.optim import SGD
    >>> from tinygrad_edu.optim.schedules import InverseTimeDecay
    >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=0.3)
    >>> schedule = InverseTimeDecay(opt)
    >>> for _ in range(2):
    ...     schedule.step()
    >>> round(opt.lr, 10)                  # 0.3 / (2 + 1)
    0.1
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..checks import finite_number, positive_int
from ..errors import CheckpointError, InvalidArgumentError

__all__ = [
    "DelayedInverseDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LambdaSchedule",
    "QuadraticDecay",
    "Schedule",
    "StepDecay",
]


class Schedule:
    """Base class: eta_t = (the subclass's formula) at t, the number of ``step()`` calls.

    Args:
        optimizer: any optimiser with a public ``lr`` attribute (a finite number > 0), which
            becomes lr0.

    Attributes:
        optimizer: the optimiser whose ``lr`` the schedule sets.
        lr0: the starting learning rate.
        t: how many times :meth:`step` has run.

    Subclasses implement ``_lr_at(t)``. Construction already sets ``optimizer.lr`` to the
    formula at t = 0 (lr0 for every schedule here, unless a LambdaSchedule's fn(0) != 1).
    """

    _hyper_names: tuple[str, ...] = ()

    def __init__(self, optimizer: Any) -> None:
        owner = type(self).__name__
        if not hasattr(optimizer, "lr"):
            raise InvalidArgumentError(
                f"{owner}: needs an optimiser with an lr attribute; got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.lr0: float = finite_number(optimizer.lr, f"{owner}: optimizer.lr", "(0, inf)")
        self.t: int = 0
        self.optimizer.lr = self.get_lr()

    def _lr_at(self, t: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> float:
        """The learning rate the formula gives at the current t."""
        return self._checked_lr(self.t)

    def step(self) -> None:
        """t <- t + 1, then ``optimizer.lr`` <- the formula at the new t."""
        lr = self._checked_lr(self.t + 1)  # computed first: an error leaves everything as it was
        self.t += 1
        self.optimizer.lr = lr

    def state_dict(self) -> dict[str, Any]:
        """The schedule's type, lr0, t and its own arguments as a flat dict of plain values."""
        d: dict[str, Any] = {"schedule": type(self).__name__, "lr0": self.lr0, "t": self.t}
        d.update({name: getattr(self, name) for name in self._hyper_names})
        return d

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore lr0, t and the arguments, then set ``optimizer.lr`` to the formula at t.

        Raises:
            CheckpointError: ``d`` is from another schedule type, or has missing, unexpected
                or invalid entries. Nothing is changed then.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(d, Mapping):
            raise CheckpointError(
                f"{owner}: expected a dict from state_dict(); got {type(d).__name__}"
            )
        d = {k: v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v for k, v in d.items()}
        if d.get("schedule") != type(self).__name__:
            raise CheckpointError(
                f"{owner}: the state comes from schedule {d.get('schedule')!r}, not "
                f"{type(self).__name__!r}"
            )
        expected = {"schedule", "lr0", "t", *self._hyper_names}
        missing = sorted(expected - set(d))
        unexpected = sorted(set(d) - expected)
        if missing or unexpected:
            raise CheckpointError(
                f"{owner}: missing entries {missing}, unexpected entries {unexpected}"
            )
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise CheckpointError(f"{owner}: t must be an integer >= 0; got {t!r}")
        try:
            lr0 = finite_number(d["lr0"], f"{owner}: lr0", "(0, inf)")
            hyper = self._check_hyper({name: d[name] for name in self._hyper_names})
        except InvalidArgumentError as exc:
            raise CheckpointError(f"invalid entry in the state: {exc}") from None
        old = (self.lr0, self.t, {name: getattr(self, name) for name in self._hyper_names})
        self.lr0, self.t = lr0, int(t)
        for name, value in hyper.items():
            setattr(self, name, value)
        try:
            lr = self.get_lr()
        except InvalidArgumentError as exc:  # only a LambdaSchedule's fn can refuse a t
            self.lr0, self.t = old[0], old[1]
            for name, value in old[2].items():
                setattr(self, name, value)
            raise CheckpointError(f"{owner}: {exc}") from None
        self.optimizer.lr = lr

    def __repr__(self) -> str:
        args = "".join(f", {name}={getattr(self, name)!r}" for name in self._hyper_names)
        return f"{type(self).__name__}(lr0={self.lr0!r}{args}; t={self.t})"

    # ------------------------------------------------------------------ helpers

    def _check_hyper(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """The subclass's arguments, checked (the same rules at construction and loading)."""
        return hyper

    def _checked_lr(self, t: int) -> float:
        lr = self._lr_at(t)
        if not math.isfinite(lr) or lr < 0:
            raise InvalidArgumentError(
                f"{type(self).__name__}: the learning rate at t={t} would be {lr}; it must "
                "be a finite number >= 0"
            )
        return lr


# ----------------------------------------------------------------------------- the schedules


class StepDecay(Schedule):
    """Multiply the rate by ``factor`` every ``step_size`` steps: lr0 factor^floor(t / step_size).

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        step_size: n, an integer >= 1.
        factor: x in (0, 1].
        gamma: PyTorch's name for ``factor`` (``StepLR(opt, step_size, gamma=0.1)``); give one
            of the two.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import StepDecay
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
        >>> schedule = StepDecay(opt, step_size=2, factor=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     schedule.step(); lrs.append(opt.lr)
        >>> lrs
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _hyper_names = ("step_size", "factor")

    def __init__(
        self,
        optimizer: Any,
        step_size: int,
        factor: float | None = None,
        *,
        gamma: float | None = None,
    ) -> None:
        if (factor is None) == (gamma is None):
            raise InvalidArgumentError(
                "StepDecay needs the decay factor once: StepDecay(opt, step_size, 0.5) or "
                f"StepDecay(opt, step_size, gamma=0.5); got factor={factor!r}, gamma={gamma!r}"
            )
        factor = gamma if factor is None else factor
        checked = self._check_hyper({"step_size": step_size, "factor": factor})
        self.step_size: int = checked["step_size"]
        self.factor: float = checked["factor"]
        super().__init__(optimizer)

    def _check_hyper(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {
            "step_size": positive_int(
                hyper["step_size"], "StepDecay: step_size", "an integer >= 1"
            ),
            "factor": finite_number(hyper["factor"], "StepDecay: factor", "(0, 1]"),
        }

    def _lr_at(self, t: int) -> float:
        return self.lr0 * self.factor ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr0 e^(-k t).

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        k: the decay rate, a finite number >= 0 (0 keeps the rate constant).

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import ExponentialDecay
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
        >>> schedule = ExponentialDecay(opt, k=0.5)
        >>> schedule.step(); schedule.step()
        >>> round(opt.lr, 6)                   # e^-1
        0.367879
    """

    _hyper_names = ("k",)

    def __init__(self, optimizer: Any, k: float) -> None:
        self.k: float = self._check_hyper({"k": k})["k"]
        super().__init__(optimizer)

    def _check_hyper(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {"k": finite_number(hyper["k"], "ExponentialDecay: k", "[0, inf)")}

    def _lr_at(self, t: int) -> float:
        return self.lr0 * math.exp(-self.k * t)


class InverseTimeDecay(Schedule):
    """lr0 / (t + 1), the notes' "linear decay" (of 1/eta): half at t = 1, a third at t = 2.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import InverseTimeDecay
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
        >>> schedule = InverseTimeDecay(opt)
        >>> schedule.step(); opt.lr
        0.5
    """

    def _lr_at(self, t: int) -> float:
        return self.lr0 / (t + 1)


class QuadraticDecay(Schedule):
    """lr0 / (t + 1)^2.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import QuadraticDecay
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
        >>> schedule = QuadraticDecay(opt)
        >>> schedule.step(); opt.lr
        0.25
    """

    def _lr_at(self, t: int) -> float:
        return self.lr0 / (t + 1) ** 2


class DelayedInverseDecay(Schedule):
    """lr0 tau / max(t, tau): constant for the first tau steps, then falling like 1/t.

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        tau: when the decay starts, a finite number > 0.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import DelayedInverseDecay
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=1.0)
        >>> schedule = DelayedInverseDecay(opt, tau=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     schedule.step(); lrs.append(opt.lr)
        >>> lrs
        [1.0, 1.0, 0.6666666666666666, 0.5]
    """

    _hyper_names = ("tau",)

    def __init__(self, optimizer: Any, tau: float) -> None:
        self.tau: float = self._check_hyper({"tau": tau})["tau"]
        super().__init__(optimizer)

    def _check_hyper(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {"tau": finite_number(hyper["tau"], "DelayedInverseDecay: tau", "(0, inf)")}

    def _lr_at(self, t: int) -> float:
        return self.lr0 * self.tau / max(t, self.tau)


class LambdaSchedule(Schedule):
    """lr0 fn(t): ``fn`` gives the *factor* on lr0, not the rate (PyTorch's LambdaLR).

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        fn: a function of the step count t (an int) returning a finite number >= 0.
            Construction sets ``optimizer.lr`` to lr0 fn(0).

    ``state_dict()`` saves lr0 and t but not ``fn`` (code is not data); give the same ``fn``
    when rebuilding the schedule before ``load_state_dict``.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> from tinygrad_edu.optim.schedules import LambdaSchedule
        >>> opt = SGD([Tensor([1.0], requires_grad=True)], lr=0.5)
        >>> schedule = LambdaSchedule(opt, lambda t: 0.5 ** t)
        >>> schedule.step(); opt.lr
        0.25
    """

    def __init__(self, optimizer: Any, fn: Callable[[int], float]) -> None:
        if not callable(fn):
            raise InvalidArgumentError(
                f"LambdaSchedule: fn must be a function of t giving the factor on lr0; got "
                f"{type(fn).__name__}"
            )
        self.fn = fn
        super().__init__(optimizer)

    def _lr_at(self, t: int) -> float:
        factor = self.fn(t)
        if isinstance(factor, bool) or not isinstance(
            factor, (int, float, np.integer, np.floating)
        ):
            raise InvalidArgumentError(
                f"LambdaSchedule: fn({t}) must return a number (the factor on lr0); got {factor!r}"
            )
        return self.lr0 * float(factor)
