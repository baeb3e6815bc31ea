"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

With g = dL/dw (plus ``weight_decay * w`` when weight decay is on):

* plain:     w <- w - eta g
* momentum:  p <- mu p - eta g;  w <- w + p               (the course's velocity p)
* Nesterov:  p <- mu p - eta g;  w <- w + mu p - eta g

The momentum form is the classic v <- mu v + g; w <- w - eta v with p = -eta v, so at a fixed
learning rate it follows the same trajectory as PyTorch's ``SGD(momentum=mu)`` (and the
Nesterov form the same as ``SGD(momentum=mu, nesterov=True)``). When eta changes between steps
(a schedule), p keeps the steps already taken at their old rates, as the course's form says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import autograd
from ..buffers import one_array_views
from ..errors import InvalidArgumentError
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent w <- w - eta dL/dw, optionally with (Nesterov) momentum and L2 decay.

    Args:
        params: Tensors requiring grad, e.g. ``model.parameters()``.
        lr: the learning rate eta > 0.
        momentum: mu in [0, 1); 0 turns momentum off. The state ``"velocity"`` is p.
        nesterov: use Nesterov's look-ahead form (needs momentum > 0).
        weight_decay: lambda' >= 0 added as ``lambda' * w`` to every gradient. With
            lambda' = lambda / n this is the course's L2 regularisation
            L = L0 + lambda / (2n) sum w^2, whose step rescales the weights:
            w <- (1 - eta lambda / n) w - eta dL0/dw.

    Raises:
        InvalidArgumentError: an invalid value (see :class:`Optimizer`), or nesterov=True
            without momentum.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> w = Tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w * 2.0).sum().backward()   # dL/dw = 2
        ...     opt.step()
        >>> [round(x, 6) for x in w.tolist()]    # p = -0.2, then 0.5 * -0.2 - 0.2 = -0.3
        [0.5]
    """

    momentum: float
    nesterov: bool
    weight_decay: float
    _state_names = ("velocity",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )
        self._arena: _Arena | None = None  # the in-place step's buffers, made on first use

    def _check_combination(self, hyper: dict[str, Any], owner: str) -> None:
        if hyper["nesterov"] and hyper["momentum"] == 0:
            raise InvalidArgumentError(
                f"{owner}: nesterov=True needs momentum > 0 (it is a form of momentum); got "
                "momentum=0.0. Give momentum, e.g. 0.9, or set nesterov=False."
            )

    def _state_spec(self, hyper: dict[str, Any]) -> dict[str, str]:
        return {"velocity": "param"} if hyper["momentum"] > 0 else {}

    def _step_in_place(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> bool:
        """Plain SGD (no momentum) updates w -= eta g in place when it can prove first that
        every new weight is finite; returns whether it did (else nothing has changed and the
        staged step of :class:`Optimizer` runs, and raises what it finds).

        First every eta g (plus weight decay) goes into its buffer, with the arithmetic of
        :meth:`_update` (numpy raising there changes nothing). The buffers are views of one
        array per dtype (:class:`_Arena`), so one BLAS dot gives the sum of squares of all
        of them, and one dot per parameter gives ||w||^2: finite only if every element is
        (squares cannot cancel). When all are finite, |eta g_i| <= sqrt(max) of the dtype,
        far below half the gap between the largest float32 or float64 and infinity, so
        w_i - eta g_i cannot overflow, and a subtraction of finite numbers raises nothing
        else (a tiny result is exact). So every weight is written in place with the numbers
        the staged step gives. Gain, against the staged step: W1's SGD.step 342,627 ->
        202,605 instructions (callgrind), W3's 1.16 -> 0.60-0.81 ms (no copy of the weights,
        no staging buffers, two dots instead of an isfinite pass and a copy); the arena: see
        :class:`_Arena`.

        The same argument makes the new weights finite, so their dots are needed only when
        something may have changed them since. The arena keeps the engine's ``last_change``
        stamp that this step's writes left; while it is still the newest in-place change
        anywhere (``t.data = x``, another optimiser, a loader and a jit replay all move it),
        the weights are the finite ones written here, and the next step skips their dots.
        (The jit's replay of SGD rests on the same proof; writes into ``t.data[...]`` are
        not seen, see :attr:`Tensor.data <tinygrad_edu.tensor.Tensor.data>`.) Gain: W3's
        eager step 1.106 -> 1.052 and 1.118 -> 1.058 times the numpy reference (two
        interleaved runs, OpenBLAS's own kernels for this CPU).
        """
        if self.momentum:  # the velocity is state: the staged step keeps it all or nothing
            return False
        arena = self._arena
        if arena is None or not arena.fits(work):
            if any(w.dtype not in _PROVEN for _, w, _ in work):
                return False
            arena = self._arena = _Arena(work)
        lr, decay = self.lr, self.weight_decay
        bufs = arena.bufs
        weights_known = arena.finite_at == autograd.last_change[0]
        total = 0.0
        try:
            for (_, w, g), buf in zip(work, bufs):
                if decay:
                    # g + lambda' w goes into the buffer: p.grad itself stays dL/dw.
                    np.multiply(w, decay, out=buf)
                    np.add(buf, g, out=buf)
                    g = buf
                np.multiply(g, lr, out=buf)
                if not weights_known:
                    total += float(np.vdot(w, w))
        except FloatingPointError:
            return False
        for flat in arena.flats:
            total += float(np.vdot(flat, flat))
        if not math.isfinite(total):
            return False
        params = self.params
        for (i, w, _), buf in zip(work, bufs):
            np.subtract(w, buf, out=w)
            params[i]._bump_version()  # changed in place: see Tensor._bump_version
        arena.finite_at = autograd.last_change[0]
        return True

    def _update(
        self,
        w: np.ndarray,
        g: np.ndarray,
        state: dict[str, np.ndarray],
        scratch: list[np.ndarray],
        out: np.ndarray,
    ) -> None:
        buf = scratch[0]
        if self.weight_decay:
            # g + lambda' w goes into the buffer: p.grad itself stays dL/dw.
            np.multiply(w, self.weight_decay, out=buf)
            np.add(buf, g, out=buf)
            g = buf
        np.multiply(g, self.lr, out=buf)  # buf = eta g (g may be buf: elementwise is safe)
        if not self.momentum:
            np.subtract(w, buf, out=out)
            return
        p = state["velocity"]
        p *= self.momentum
        p -= buf  # p = mu p - eta g
        if self.nesterov:
            np.subtract(w, buf, out=out)  # w - eta g ...
            np.multiply(p, self.momentum, out=buf)
            np.add(out, buf, out=out)  # ... + mu p
        else:
            np.add(w, p, out=out)



# The dtypes for which SGD._step_in_place's proof holds: sqrt(max) < ulp(max) / 2.
_PROVEN = (np.dtype(np.float32), np.dtype(np.float64))


class _Arena:
    """The buffers of :meth:`SGD._step_in_place` for one list of parameters: eta g of each
    parameter is a view (of its shape) into one array per dtype, so that a single dot
    checks every update of that dtype (:func:`~tinygrad_edu.buffers.one_array_views`, which
    the jit's replay of SGD uses too). One dot for W1's six parameters instead of six: its
    SGD.step 202,189 -> 175,984 instructions, 3.0% of the step (callgrind).
    """

    def __init__(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        self.index = [i for i, _, _ in work]
        self.shapes = [w.shape for _, w, _ in work]
        self.dtypes = [w.dtype for _, w, _ in work]
        self.flats, self.bufs = one_array_views([w for _, w, _ in work])
        # The last_change stamp left by the last in-place step, whose weights are finite
        # (see SGD._step_in_place); none yet.
        self.finite_at = -1

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # A copy (deepcopy, pickle) would make each view an array of its own, which the dots
        # over ``flats`` would not see: a copied SGD starts without buffers instead.
        return (_no_arena, ())

    def fits(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> bool:
        """Whether these buffers are for exactly these parameters, shapes and dtypes."""
        if len(work) != len(self.index):
            return False
        for (i, w, _), j, shape, dtype in zip(work, self.index, self.shapes, self.dtypes):
            if i != j or w.shape != shape or (w.dtype is not dtype and w.dtype != dtype):
                return False
        return True


def _no_arena() -> None:
    return None
