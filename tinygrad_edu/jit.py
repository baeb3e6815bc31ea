"""A recorded training step, replayed as a flat numpy program: what a compiler does to backprop.

``step = jit(fn)`` wraps a function that runs one whole training step (forward, loss,
``backward()``, ``optimizer.step()``, ``zero_grad()``) and returns the loss. Its first calls
run eagerly while a recorder watches the engine's own operations (``Function.apply``, the
backward pass, optimisers' ``step()`` and the labels' checks and dropout's draws, which go
through :func:`tinygrad_edu.autograd.outside`). Two recordings that agree become a program:
straight-line Python source with one numpy call a line, writing into buffers allocated once and
reused as soon as the value they hold is dead (liveness over the program), with no Tensor, no
graph and no topological sort left. ``step.program`` shows that source. A program whose
matrix products write large buffers times, at its first replay, which of them run faster
column-major on this machine, and keeps a choice only if the step run that way beside eager
mode gives the same bits (:mod:`tinygrad_edu.layouts`).

What makes a replay trustworthy:

* guards, checked on every call: the arguments' types, shapes and dtypes (and requires_grad),
  the parameters' identity and requires_grad, the gradients' state, grad and anomaly mode, the
  default dtype, the modules' train/eval mode and the optimisers' structure. A changed guard
  records the step again (and says so once);
* the step is recorded twice before it is trusted: recordings that differ (Python control flow
  that changes the operations, a constant made from the data) are refused, with the reason,
  and the step stays eager;
* everything the recording cannot reproduce falls back to eager with a one-time warning:
  ``retain_graph``, ``create_graph``, ``trace_backward``, ``autograd.grad``, ``retain_grad``,
  parameters changed by hand, gradients accumulated across calls, arguments that require grad;
* the learning rate and the other hyper-parameters are read when the program runs, so a
  schedule works; dropout's mask is drawn again and labels are checked again on each call;
* ``jit(fn, verify=True)`` runs the replay and then eager mode from the same state and raises
  :class:`JitMismatchError` on the first value that differs in any bit.

After a replay every ``.grad`` and parameter holds exactly what eager mode would leave (the
tests compare them over many steps). Two differences remain, by design: the loss returned is
a Tensor without a graph, and a ``.grad`` left after a replayed step is a buffer that the next
replay overwrites (copy it to keep it). Numpy work on ``.data`` or ``.grad`` inside the step
is invisible to the recording: ``verify=True`` catches it, and a constant it makes from the
data is refused by the double recording. Which losses replay with new targets on every call:
``mse_loss`` and ``cross_entropy`` with class indices (their targets reach the program as
inputs); the others compute constants from their targets with numpy, and a step using them is
refused (it runs eagerly, with a warning naming the operation). A Python number the step uses
(``x * scale``) is part of the program: if it may change, pass it as an argument (arguments
that are numbers are guarded by value) or keep it in an optimiser's hyper-parameters, which are
read on every call. A jitted step's buffers are its own: do not call one step from two threads
at once.

Example:
    >>> import numpy as np
    >>> from tinygrad_edu import Tensor, jit
    >>> from tinygrad_edu.losses import mse_loss
    >>> from tinygrad_edu.optim import SGD
    >>> w = Tensor([[0.5, -0.5]], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> @jit
    ... def step(x, y):
    ...     loss = mse_loss(x @ w.T, y)
    ...     loss.backward()
    ...     opt.step()
    ...     opt.zero_grad()
    ...     return loss
    >>> x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    >>> losses = [round(step(x, y).item(), 6) for _ in range(4)]  # 2 recordings, 2 replays
    >>> losses
    [1.0, 0.36, 0.1296, 0.046656]
    >>> print(step.program)  # doctest: +NORMALIZE_WHITESPACE
    # buffer b0, allocated once, each reused once its value is dead;
    # a0, a1 ...: the arguments (d0, d1 ...: their arrays); t0, t1 ...: results
    # P0, P1 ...: the parameters (w0, w1 ...: their arrays)
    def replay(a0, a1):
        d0 = a0
        d1 = a1
        t0 = w0.transpose((1, 0))
        t1 = d0 @ t0
        t0 = t1 - d1
        t1 = t0 * t0
        t2 = np.asarray(t1.sum() / 4)
        t1 = c2 * t0
        t0 = t1 + t1
        t1 = d0.T
        t3 = t1 @ t0
        t0 = t3.transpose((1, 0))
        np.copyto(b0, t0)
        P0._grad = b0
        lr = O3.lr
        if lr.__class__ is float and 0.0 <= lr < _inf:
            lr4[()] = lr; lr0 = lr4
        else:
            O3._check_lr('step')
            lr0 = lr
        np.multiply(b0, lr0, out=sgd6)
        if not (_isfinite(_vdot(sgd5, sgd5)) and _last_change[0] == _my_stamp[0]):
            _refuse_update(O3, ((0, w0, sgd6),))
        np.subtract(w0, sgd6, out=w0)
        stamp = _last_change[0] = _my_stamp[0] = next(_clock)
        P0._version[0] = stamp
        O3.step_count += 1
        P0._grad = None
        return _own(t2)
    <BLANKLINE>
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import autograd, layouts
from .autograd import (
    Function,
    grad_state,
    recording_anywhere,
    start_recording,
    stop_recording,
    watched_backward,
)
from .broadcast import unbroadcast
from .buffers import one_array_views
from .checks import all_finite
from .errors import InvalidArgumentError, TinygradEduError
from .optim.sgd import SGD
from .tensor import Tensor, get_default_dtype

__all__ = ["Jit", "JitMismatchError", "JitWarning", "jit"]

# Arrays of at most this many elements are computed with operators (a new small array each
# time) rather than into a buffer with out=: numpy's out= keyword costs more than allocating a
# small array. Measured here: 16 floats 0.90 us (a * b) vs 1.16 us (out=); 2048 floats 1.57 vs
# 1.20 us; 8192 floats 6.4 vs 3.3 us. What the buffers (with the in-place bias add, activations
# and SGD update that come with them) buy a whole step, against the same programs with every
# array made anew, interleaved in one process, two runs: W2 0.973x/0.98x against 1.0x/1.02x of
# the numpy reference (2-4%); W3 1.006x/0.976x against 0.997x/0.974x (nothing measurable: its
# matmuls dominate), with less memory allocated per step.
SMALL = 1024


# Programs kept per step, one per kind of call (shapes, dtypes, modes): a training loop whose
# last batch is smaller switches between two without recording again.
MAX_PROGRAMS = 8


class JitWarning(UserWarning):
    """A jitted step re-records, or runs eagerly, and says why."""


class JitMismatchError(TinygradEduError, AssertionError):
    """``jit(fn, verify=True)``: the replay and eager mode left different values."""


class _Unsupported(Exception):
    """Raised inside a recording: the step cannot be replayed (the message says why)."""


# ----------------------------------------------------------------------------- the recording


class _Val:
    """A value of the recorded step: an argument, a parameter, a constant or a result."""

    __slots__ = ("kind", "index", "obj", "shape", "dtype", "by_value")

    def __init__(self, kind: str, index: int, obj: Any, shape: Any = (), dtype: Any = None):
        self.kind, self.index, self.obj, self.shape, self.dtype = kind, index, obj, shape, dtype
        self.by_value = False

    def key(self) -> Any:
        """What two recordings compare: constants (see _ConstKey), the rest by position."""
        if self.kind == "const":
            return ("const", _ConstKey(self.obj, self.by_value))
        if self.kind == "param":  # the same tensor both times (not one made by the step)
            return ("param", self.index, _Identity(self.obj))
        return (self.kind, self.index)


class _Identity:
    """Equal to another only when both hold the very same object."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"a tensor of shape {np.shape(self.obj.data)}"


class _ConstKey:
    """A constant compared between recordings.

    An array must be the same object both times: an array made anew on each call was computed
    by the step (with numpy, from its data, most often), and a replay would keep using the
    second recording's values for every later batch, so such a step is refused. Numbers and
    other plain values compare by value. ``by_value``: arrays too (backward's seed of ones).
    """

    __slots__ = ("value", "by_value")

    def __init__(self, value: Any, by_value: bool = False) -> None:
        self.value = value
        self.by_value = by_value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _ConstKey):
            return False
        a, b = self.value, other.value
        if isinstance(a, np.ndarray) and not self.by_value:
            return a is b
        return _same(a, b)

    def __repr__(self) -> str:
        return _describe(self.value)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Recorder:
    """Watches one eager run of the step (installed by ``autograd.start_recording``)."""

    def __init__(self, args: tuple[Any, ...], entry: dict[int, bool] | None = None) -> None:
        # Whether each parameter of the previous recording had no .grad when this call began
        # (a parameter is only seen at its first use, perhaps after a zero_grad()).
        self.entry = entry or {}
        self.events: list[tuple[Any, ...]] = []
        self.tensors: dict[int, _Val] = {}  # id(Tensor) -> its value
        self.arrays: dict[int, _Val] = {}  # id(ndarray) -> the value it holds
        self.objects: dict[int, _Val] = {}  # id(argument Tensor) -> the argument itself
        self.keep: list[Any] = []  # everything whose id() is a key above stays alive
        self.params: list[Tensor] = []
        self.param_vals: dict[int, _Val] = {}
        self.first_version: dict[int, Any] = {}
        self.first_grad: dict[int, Any] = {}
        self.entry_grad_none: dict[int, bool] = {}
        self.ops: dict[int, int] = {}  # id(result Tensor) -> index of its event
        self.leaf_grads: dict[int, Any] = {}  # id(param) -> the .grad array a backward left
        self.updated: set[int] = set()  # params an optimiser step changed
        self.modules: dict[int, tuple[Any, bool]] = {}
        self.n_results = 0
        self.n_consts = 0
        self.problem: str | None = None
        self.skipped: str | None = None  # why this call cannot become the program, if so
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a.requires_grad:
                    raise _Unsupported(f"argument {i} requires grad (only parameters may)")
                v = _Val("arg", i, None, a.shape, a.dtype)
                self.tensors[id(a)] = v
                self.arrays[id(a._data)] = v
                self.objects[id(a)] = _Val("argobj", i, None)
            elif isinstance(a, np.ndarray):
                self.arrays[id(a)] = _Val("arg", i, None, a.shape, a.dtype)
            elif not isinstance(a, (int, float, bool, str, type(None), np.generic)):
                raise _Unsupported(
                    f"argument {i} is a {type(a).__name__}; pass numpy arrays, Tensors or numbers"
                )
            self.keep.append(a)

    # ------------------------------------------------------------------ values

    def _result(self, array: Any) -> _Val:
        v = _Val("result", self.n_results, None, np.shape(array), getattr(array, "dtype", None))
        self.n_results += 1
        self.arrays[id(array)] = v
        self.keep.append(array)
        return v

    def _const(self, value: Any) -> _Val:
        self.n_consts += 1
        return _Val("const", self.n_consts, value, np.shape(value), getattr(value, "dtype", None))

    def _param(self, t: Tensor) -> _Val:
        v = self.param_vals.get(id(t))
        if v is None:
            v = _Val("param", len(self.params), t, t.shape, t.dtype)
            self.param_vals[id(t)] = v
            self.params.append(t)
            self.first_version[id(t)] = None if t._version is None else t._version[0]
            self.entry_grad_none[id(t)] = self.entry.get(id(t), t.grad is None)
            self.first_grad[id(t)] = t.grad
            self.keep.append(t)
        return v

    def _input(self, a: Any) -> _Val:
        """An operand of an operation."""
        if isinstance(a, Tensor):
            v = self.tensors.get(id(a)) or self.arrays.get(id(a._data))
            if v is not None:
                return v
            if a.requires_grad and a._ctx is None:
                return self._param(a)
            if a._ctx is not None:
                raise _Unsupported(
                    "the step uses a tensor computed before it started (its graph is outside "
                    "the step)"
                )
            return self._const(a._data)
        if isinstance(a, np.ndarray):
            return self.arrays.get(id(a)) or self._const(a)
        return self._const(a)

    def _call_input(self, a: Any) -> _Val:
        """An argument of an ``outside`` call (an argument Tensor is passed as itself)."""
        if isinstance(a, Tensor):
            v = self.objects.get(id(a))
            if v is not None:
                return v
            if id(a) in self.tensors or id(a._data) in self.arrays:
                raise _Unsupported("a Tensor computed in the step is passed to an outside call")
            return self._const(a)
        if isinstance(a, np.ndarray):
            return self.arrays.get(id(a)) or self._const(a)
        return self._const(a)

    # ------------------------------------------------------------------ hooks (see autograd.py)

    def on_module(self, module: Any) -> None:
        """A Module called in the step: its train/eval mode becomes part of the guard."""
        if id(module) not in self.modules:
            self.modules[id(module)] = (module, bool(getattr(module, "training", True)))
            self.keep.append(module)

    def unsupported(self, what: str) -> None:
        if self.problem is None:
            self.problem = f"the step uses {what}, which a replay cannot repeat"

    def skip(self, reason: str) -> None:
        """This call cannot become the program (autograd.skip_recording): it stays eager."""
        if self.skipped is None:
            self.skipped = reason

    def on_op(self, fn: Function, args: tuple[Any, ...], params: dict[str, Any], out: Tensor):
        try:
            ins = [self._input(a) for a in args]
            kw = {k: self._input(p) if isinstance(p, np.ndarray) else self._const(p)
                  for k, p in params.items()}
        except _Unsupported as exc:
            self.problem = self.problem or str(exc)
            return
        v = self._result(out._data)
        self.tensors[id(out)] = v
        self.keep.append(out)
        self.ops[id(out)] = len(self.events)
        self.events.append(("op", type(fn), fn, ins, kw, v, out._ctx is not None))

    def on_call(self, func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
        if out is not None and not isinstance(out, np.ndarray):
            self.unsupported(f"{getattr(func, '__name__', func)} returning a non-array")
            return
        try:
            ins = [self._call_input(a) for a in args]
        except _Unsupported as exc:
            self.problem = self.problem or str(exc)
            return
        self.events.append(("call", func, ins, None if out is None else self._result(out)))

    def on_backward(self, root: Tensor, g: Any, create_graph: bool, retain_graph: bool) -> None:
        if create_graph or retain_graph:
            self.unsupported("backward(create_graph=True)" if create_graph
                             else "backward(retain_graph=True)")
        steps: list[tuple[int, tuple[Any, ...]]] = []
        if self.problem is None and id(root) not in self.ops:
            self.unsupported("backward() from a tensor computed outside the step")
        grads_before = {id(p): p.grad for p in self.params}

        def watch(node: Tensor, fn: Function, g: Any, in_grads: tuple[Any, ...]) -> None:
            if node._retains_grad:
                self.unsupported("retain_grad()")
            index = self.ops.get(id(node))
            if index is None:
                self.unsupported("a graph that begins outside the step")
                return
            steps.append((index, tuple(
                None if gi is None else (np.shape(gi), np.result_type(gi)) for gi in in_grads
            )))

        # The pass's own operations are not the step's: it runs outside the recording.
        mode = grad_state()
        mode.recorder = None
        try:
            watched_backward(root, g, watch, retain_graph, create_graph)
        finally:
            mode.recorder = self
        leaves = []
        for p in list(self.params):
            if p.grad is not grads_before.get(id(p)):
                if grads_before.get(id(p)) is not None:
                    self.unsupported(
                        "gradients added to a .grad left by an earlier backward (zero the "
                        "gradients in the step, before backward)"
                    )
                self.leaf_grads[id(p)] = p.grad
                leaves.append(self.param_vals[id(p)])
        seed = self._const(np.asarray(g))
        seed.by_value = True  # ones made by backward() on each call
        self.events.append(("backward", self.tensors.get(id(root)), seed, steps, leaves))

    def on_optimizer_step(self, opt: Any, work: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        items = []
        for i, _w, g in work:
            p = opt.params[i]
            if id(p) not in self.param_vals or self.leaf_grads.get(id(p)) is not g:
                self.unsupported(
                    "an optimiser step on gradients that no backward of this step computed"
                )
                return
            items.append((i, self.param_vals[id(p)]))
            self.updated.add(id(p))
        self.events.append(("opt", opt, items))

    # ------------------------------------------------------------------ the end of the call

    def finish(self, result: Any) -> dict[str, Any]:
        """What the program needs besides the events; raises _Unsupported."""
        if self.problem is not None:
            raise _Unsupported(self.problem)
        end_grads = []
        for p in self.params:
            if id(p) not in self.updated:
                version = None if p._version is None else p._version[0]
                if version != self.first_version[id(p)]:
                    raise _Unsupported(
                        f"a parameter of shape {p.shape} changed in place without an "
                        "optimiser's step() (the recording cannot see such changes)"
                    )
            if p.grad is None:
                end_grads.append(False)
            elif p.grad is self.leaf_grads.get(id(p)):
                end_grads.append(True)
            elif id(p) not in self.leaf_grads and p.grad is self.first_grad[id(p)]:
                end_grads.append(None)  # a gradient the step never touched
            else:
                raise _Unsupported(f".grad of a parameter of shape {p.shape} set by hand")
        if isinstance(result, (tuple, list)):
            out = tuple(self._output(r) for r in result)
        else:
            out = self._output(result)
        return {"end_grads": end_grads, "result": out, "many": isinstance(result, (tuple, list))}

    def _output(self, r: Any) -> _Val | None:
        if r is None:
            return None
        if isinstance(r, Tensor):
            v = self.tensors.get(id(r)) or self.arrays.get(id(r._data))
            if v is not None and v.kind == "result":
                return v
        raise _Unsupported(
            f"the step returns {type(r).__name__}; return the loss Tensor (or a tuple of "
            "Tensors computed in the step), not a number"
        )


def _signature(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The recording as comparable tuples: operations, wiring, constants by value."""
    sig = []
    for ev in events:
        kind = ev[0]
        if kind == "op":
            _, cls, _fn, ins, kw, out, recorded = ev
            sig.append((cls.__name__, cls, tuple(v.key() for v in ins),
                        tuple((k, v.key()) for k, v in kw.items()), out.key(), recorded))
        elif kind == "call":
            _, func, ins, out = ev
            sig.append((getattr(func, "__name__", "call"), _ConstKey(func),
                        tuple(v.key() for v in ins), None if out is None else out.key()))
        elif kind == "backward":
            _, root, seed, steps, leaves = ev
            sig.append(("backward", root.key(), seed.key(), tuple(steps),
                        tuple(v.key() for v in leaves)))
        else:
            _, opt, items = ev
            sig.append((type(opt).__name__ + ".step", _ConstKey(opt),
                        tuple((i, v.key()) for i, v in items)))
    return sig


def _what_differs(x: tuple[Any, ...], y: tuple[Any, ...]) -> str:
    """Which input or parameter of one recorded step differs, in words."""
    if len(x) == 6:  # an operation: (name, class, inputs, parameters, result, recorded)
        for k, (a, b) in enumerate(zip(x[2], y[2])):
            if a != b:
                return (f"got for its input {k} {_key_text(a)} the first time, {_key_text(b)} "
                        "the second")
        for (name, a), (_, b) in zip(x[3], y[3]):
            if a != b:
                return f"got {name}={_key_text(a)} the first time, {_key_text(b)} the second"
    return "differs between the two recordings"


def _key_text(key: Any) -> str:
    kind, what = key[0], key[1]
    if kind == "const":
        return f"the constant {what!r}"
    if kind == "param":
        return f"a parameter ({key[2]!r}, a new one each call?)"
    return {"arg": f"argument {what}", "param": f"parameter {what}"}.get(kind, f"result {what}")


def _first_difference(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> str | None:
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        if x[0] != y[0]:
            return f"step {i + 1} of the recording ran {x[0]} the first time and {y[0]} the second"
        where = _what_differs(x, y)
        return (f"step {i + 1} ({x[0]}) {where} (a constant made from the data, e.g. with "
                "numpy on .data, or Python state that changes between calls)")
    if len(a) != len(b):
        return (f"the first recording has {len(a)} steps and the second {len(b)} (Python "
                "control flow changes the operations)")
    return None


# ----------------------------------------------------------------------------- the program


class _Slot:
    """A name of the program: an argument, parameter, constant, buffer or local result."""

    __slots__ = ("kind", "shape", "dtype", "name", "value", "parent", "last", "pinned",
                 "fresh", "phys", "reuse")

    def __init__(self, kind: str, shape: Any = (), dtype: Any = None, value: Any = None):
        self.kind, self.shape, self.dtype, self.value = kind, tuple(shape), dtype, value
        self.name = ""
        self.parent: _Slot = self  # union-find over aliasing: a group shares memory
        self.last = -1
        self.pinned = kind in ("arg", "argobj", "param", "const")
        self.fresh = False  # a new array nothing else refers to (may become a .grad as it is)
        self.phys: str | None = None
        self.reuse: tuple[_Slot, ...] = ()

    def root(self) -> _Slot:
        s = self
        while s.parent is not s:
            s = s.parent
        return s


def _literal(value: Any) -> bool:
    """Whether repr(value) is Python source giving back exactly this value."""
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return bool(np.isfinite(value))
    return type(value) is tuple and all(_literal(v) for v in value)


def _fit(g: np.ndarray, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A gradient summed back to its input's shape and cast to its dtype (as backward does)."""
    if g.shape != shape:
        g = unbroadcast(g, shape)
    return g if g.dtype == dtype else g.astype(dtype)


def _tuple(r: Any) -> tuple[Any, ...]:
    return r if r.__class__ is tuple else (r,)


def _wrap(a: Any) -> Tensor:
    """A returned value held in a buffer, as a Tensor of its own (a copy: buffers are reused)."""
    t = Tensor.__new__(Tensor)
    t._init(np.array(a))
    return t


class _Eager:
    """What a replay returns when the arguments' checks refused its batch: run it eagerly."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _own(a: Any) -> Tensor:
    """A returned value made anew by this call, as a Tensor (no copy needed)."""
    t = Tensor.__new__(Tensor)
    t._init(a)
    return t


class _Builder:
    """Turns a recording into Python source, one numpy call a line, and plans its buffers."""

    def __init__(self, rec: _Recorder, info: dict[str, Any], args: tuple[Any, ...]) -> None:
        self.rec, self.info, self.args = rec, info, args
        self.code: list[tuple[str, list[_Slot], tuple[_Slot, ...]]] = []
        self.ns: dict[str, Any] = {"np": np, "_fit": _fit, "_tuple": _tuple, "_wrap": _wrap,
                                   "_own": _own, "_Eager": _Eager}
        self.n_prologue = 0
        self.slots: dict[int, _Slot] = {}  # id(_Val) -> slot
        self.n_names = 0
        self.opt_guards: list[tuple[str, Any]] = []
        self.arg_slots: list[_Slot] = []
        for i, a in enumerate(args):
            s = _Slot("arg", np.shape(a), getattr(a, "dtype", None))
            s.name = f"d{i}" if isinstance(a, (Tensor, np.ndarray)) else f"a{i}"
            self.arg_slots.append(s)
        self.param_slots = []
        for k, p in enumerate(rec.params):
            s = _Slot("param", p.shape, p.dtype, p._data)
            s.name = f"w{k}"
            self.ns[s.name] = p._data
            self.ns[f"P{k}"] = p
            self.param_slots.append(s)

    # ------------------------------------------------------------------ names and lines

    def const(self, value: Any, hint: str = "c") -> _Slot:
        """A constant: written as a literal when it is a plain Python value, else named."""
        s = _Slot("const", np.shape(value) if isinstance(value, np.ndarray) else (),
                  getattr(value, "dtype", None), value)
        if _literal(value):
            s.name = repr(value)
            return s
        self.n_names += 1
        s.name = f"{hint}{self.n_names}"
        self.ns[s.name] = value
        return s

    def slot(self, v: _Val) -> _Slot:
        if v.kind == "arg":
            return self.arg_slots[v.index]
        if v.kind == "argobj":
            s = _Slot("argobj")
            s.name = f"a{v.index}"
            return s
        if v.kind == "param":
            return self.param_slots[v.index]
        s = self.slots.get(id(v))
        if s is None:
            if v.kind != "const":
                raise _Unsupported("a value used before the program computes it")
            s = self.slots[id(v)] = self.const(v.obj)
        return s

    def local(self, shape: Any = (), dtype: Any = None, fresh: bool = False) -> _Slot:
        s = _Slot("tmp", shape, dtype)
        s.fresh = fresh
        return s

    def out(self, shape: Any, dtype: Any, reuse: tuple[_Slot, ...] = ()) -> _Slot:
        """A result's slot: a reused buffer when large, a new small array otherwise."""
        if int(np.prod(shape)) > SMALL:
            s = _Slot("buf", shape, dtype)
            s.reuse = reuse
            return s
        return self.local(shape, dtype, fresh=True)

    def emit(self, template: str, refs: list[_Slot], writes: tuple[_Slot, ...] = ()) -> None:
        self.code.append((template, refs, writes))

    def alias(self, a: _Slot, *others: _Slot) -> None:
        """``a`` may share memory with ``others``: their buffers live as long as it does."""
        for o in others:
            if o.kind in ("buf", "tmp"):
                ra, ro = a.root(), o.root()
                if ra is not ro:
                    ra.parent = ro

    def fold(self, o: _Slot, value: Any) -> None:
        """Constant folding: ``o`` is computed now, once, from constants only."""
        o.kind, o.value, o.pinned, o.reuse = "const", value, True, ()
        if _literal(value):
            o.name = repr(value)
        else:
            self.n_names += 1
            o.name = f"c{self.n_names}"
            self.ns[o.name] = value

    def inplace(self, name: str, symbol: str, o: _Slot, other: _Slot) -> None:
        """``o <symbol>= other``: with out= into o's own buffer, else the augmented operator."""
        if o.kind == "buf":
            self.emit(f"np.{name}({{0}}, {{1}}, out={{0}})", [o, other], (o,))
        else:
            self.emit(f"{{0}} {symbol}= {{1}}", [o, other], (o,))

    def ufunc(self, name: str, symbol: str | None, o: _Slot, *ins: _Slot) -> None:
        """``o = name(*ins)``: into o's buffer with out=, or as an expression for small arrays.

        With constants only (the mean's backward from the seed 1: 1 / n) it is folded: computed
        here by the same numpy function, so with the same bits. W1: 0.96x -> 0.93x, W2:
        1.09x -> 1.02x of the numpy reference (four numpy calls less a step; one run each).
        """
        if all(s.kind == "const" for s in ins):
            self.fold(o, getattr(np, name)(*[s.value for s in ins]))
            return
        n = len(ins)
        args = ", ".join(f"{{{i}}}" for i in range(n))
        ins, note = self._typed_numbers(ins)
        if o.kind == "buf":  # into a buffer too: ReLU's max(x, 0) and x > 0, 2.7k each (W2's
            # step 978.6k -> 972.0k instructions, 0.7%)
            self.emit(f"np.{name}({args}, out={{{n}}}){note}", [*ins, o], (o,))
            return
        if symbol is not None and n == 2:
            self.emit(f"{{2}} = {{0}} {symbol} {{1}}{note}", [*ins, o], (o,))
        elif symbol is not None:
            self.emit(f"{{1}} = {symbol}{{0}}{note}", [*ins, o], (o,))
        else:
            self.emit(f"{{{n}}} = np.{name}({args}){note}", [*ins, o], (o,))

    def _typed_numbers(self, ins: tuple[_Slot, ...]) -> tuple[tuple[_Slot, ...], str]:
        """A Python number meeting small float arrays of one dtype, as a 0-d array of it.

        numpy casts the number to the arrays' dtype anyway (a Python number is "weak"), so
        the result has the same bits; a 0-d operand skips that conversion on every call:
        ``a * 1.5`` on 16 floats costs 6.6k instructions, ``a * c`` with a 0-d c 3.8k
        (callgrind). W4 (three numbers a cycle, forward and backward): 13.1M -> 10.5M
        instructions a run. Returns the operands and a comment naming the numbers.
        """
        arrays = [s for s in ins if s.kind != "const"]
        if not arrays or any(s.dtype is None for s in arrays):
            return ins, ""
        dtypes = {np.dtype(s.dtype) for s in arrays}
        dt = dtypes.pop()
        if dtypes or dt.kind != "f":
            return ins, ""
        typed, notes = [], []
        for s in ins:
            v = s.value
            # ints beyond 2**53 would round twice through a float64 on numpy's way
            if s.kind == "const" and (type(v) is float or (type(v) is int and abs(v) < 2**53)):
                with np.errstate(over="ignore"):
                    c = np.array(v, dtype=dt)
                if np.isfinite(c) or not math.isfinite(v):
                    s = self.const(c, "k")
                    notes.append(f"{s.name} = {v!r}")
            typed.append(s)
        return tuple(typed), f"  # {', '.join(notes)}" if notes else ""

    # ------------------------------------------------------------------ the whole step

    def build(self) -> None:
        self.fwd: dict[int, Any] = {}
        # Calls that read only the arguments and constants (the labels' checks, a batch's
        # conversion: functions of their inputs) run first, before anything changes, so that
        # a batch they refuse (labels equal to ignore_index, or wrong) can run eagerly instead
        # and eager mode says or does what it would. A random draw stays in its place.
        prologue: list[tuple[str, list[_Slot], tuple[_Slot, ...]]] = []
        early: set[int] = set()
        for index, ev in enumerate(self.rec.events):
            kind = ev[0]
            if kind == "op":
                self.op(index, ev)
            elif kind == "call":
                _, func, ins, out = ev
                f = self.const(func, getattr(func, "__name__", "fn").lstrip("_") + "_")
                refs = [self.slot(v) for v in ins]
                args = ", ".join(f"{{{i + 1}}}" for i in range(len(refs)))
                if out is None:  # called for what it does (BatchNorm's running statistics)
                    self.emit(f"{{0}}({args})", [f, *refs])
                    continue
                o = self.local(out.shape, out.dtype)
                self.slots[id(out)] = o
                self.emit(f"{{{len(refs) + 1}}} = {{0}}({args})", [f, *refs, o], (o,))
                if all(v.kind in ("arg", "argobj") or id(v) in early or (
                        v.kind == "const" and not isinstance(v.obj, np.random.Generator))
                       for v in ins):
                    early.add(id(out))
                    prologue.append(self.code.pop())
            elif kind == "backward":
                self.backward(ev)
            else:
                self.optimizer(ev)
        end = []
        rec = self.rec
        for k, keep in enumerate(self.info["end_grads"]):
            p = rec.params[k]
            # None at the end: zeroed by the step (after its backward, or from a gradient it
            # found); a .grad the step never touched is left as it is.
            if keep is False and (id(p) in rec.leaf_grads or not rec.entry_grad_none[id(p)]):
                end.append(f"P{k}._grad = None")
        for line in end:
            self.emit(line, [])
        result = self.info["result"]
        outs = result if self.info["many"] else (result,)
        refs = [self.slot(v) for v in outs if v is not None]
        texts, i = [], 0
        for v in outs:
            if v is None:
                texts.append("None")
            else:
                r = refs[i]
                writes = sum(1 for _, _, w in self.code for x in w if x is r)
                fresh = r.kind == "tmp" and r.fresh and writes == 1  # made once, never changed
                texts.append(f"{'_own' if fresh else '_wrap'}({{{i}}})")
                i += 1
        body = ", ".join(texts) + ("," if self.info["many"] and len(texts) == 1 else "")
        self.emit(f"return ({body})" if self.info["many"] else f"return {body}", refs)
        self.n_prologue = len(prologue)
        self.code = prologue + self.code

    def op(self, index: int, ev: tuple[Any, ...]) -> None:
        _, cls, fn, ins, kw, out, recorded = ev
        in_slots = [self.slot(v) for v in ins]
        kw_slots = {k: self.slot(v) for k, v in kw.items()}
        rule = _RULES.get(cls)
        made = rule[0](self, fn, in_slots, kw_slots, out) if rule is not None else None
        if made is None:
            made = _generic_forward(self, cls, fn, in_slots, kw_slots, out)
            rule = (None, _generic_backward)
        o, ctx = made
        self.slots[id(out)] = o
        self.fwd[index] = (rule[1], fn, in_slots, o, ctx)

    def backward(self, ev: tuple[Any, ...]) -> None:
        _, root, seed, steps, leaves = ev
        grads: dict[int, _Slot] = {id(root): self.slot(seed)}
        owned: set[int] = set()  # accumulators this pass made: safe to add into in place
        events = self.rec.events
        for index, in_info in steps:
            rule_bwd, fn, in_slots, o, ctx = self.fwd[index]
            ins = events[index][3]
            g = grads.pop(id(events[index][5]))
            needs = fn.needs_input_grad
            want = [bool(n) and k < len(in_info) and in_info[k] is not None
                    for k, n in enumerate(needs)]
            gis = rule_bwd(self, fn, in_slots, o, ctx, g, want, in_info)
            for k, v in enumerate(ins):
                if not want[k]:
                    continue
                gi = gis[k]
                shape, dtype = in_info[k]
                if shape != v.shape or dtype != v.dtype:
                    fitted = self.local(v.shape, v.dtype)
                    s, d = self.const(tuple(v.shape), "s"), self.const(v.dtype, "dt")
                    self.emit("{3} = _fit({0}, {1}, {2})", [gi, s, d, fitted], (fitted,))
                    self.alias(fitted, gi)
                    gi = fitted
                prev = grads.get(id(v))
                if prev is None:
                    grads[id(v)] = gi
                elif id(prev) in owned and prev.kind != "const":
                    self.inplace("add", "+", prev, gi)
                else:
                    acc = self.out(v.shape, v.dtype)
                    self.ufunc("add", "+", acc, prev, gi)
                    owned.add(id(acc))
                    grads[id(v)] = acc
        self.leaf_grad: dict[int, _Slot] = {}
        claimed: set[int] = set()
        for v in leaves:
            s = grads[id(v)]
            p = self.param_slots[v.index]
            k = v.index
            if s.kind == "buf" and id(s.root()) not in claimed and s.root() is s:
                s.pinned = True
                claimed.add(id(s))
            elif not (s.fresh and id(s) not in claimed and s.root() is s):
                copy = _Slot("buf", p.shape, p.dtype)
                copy.pinned = True
                self.emit("np.copyto({1}, {0})", [s, copy], (copy,))
                s = copy
            claimed.add(id(s))
            # Into the slot, past Tensor.grad's setter: the program made this array with the
            # parameter's shape and dtype, all the setter checks (W1: 3.1k -> 0.25k
            # instructions per parameter, 4.7% of the step; W2 1.1%; callgrind).
            self.emit(f"P{k}._grad = {{0}}", [s])
            self.leaf_grad[k] = s

    def optimizer(self, ev: tuple[Any, ...]) -> None:
        _, opt, items = ev
        self.n_names += 1
        o = f"O{self.n_names}"
        self.ns[o] = opt
        self.opt_guards.append((o, opt))
        grads = [self.leaf_grad[v.index] for _, v in items]
        if not _inline_sgd(opt):
            # Every other rule: the optimiser's own step() on the gradients just set.
            self.emit(f"{o}.step()", grads)
            return
        # The learning rate, read live and checked as SGD.step checks it; the usual Python
        # float passes one comparison (W1: 3.0k -> 0.3k instructions) and is multiplied as a
        # 0-d array of the parameters' dtype: numpy casts a Python float to that dtype anyway,
        # and a 0-d operand skips the conversion (6.7k -> 3.8k instructions per parameter;
        # with the check, 5% of W1's step, callgrind).
        self.ns["_inf"] = math.inf
        dtypes = list(dict.fromkeys(np.dtype(self.param_slots[v.index].dtype) for _, v in items))
        cells = [self.const(np.zeros((), dt), "lr") for dt in dtypes]
        self.emit(f"lr = {o}.lr", [])
        self.emit("if lr.__class__ is float and 0.0 <= lr < _inf:", [])
        for k, cell in enumerate(cells):
            self.emit(f"    {{0}}[()] = lr; lr{k} = {{0}}", [cell])
        self.emit("else:", [])
        self.emit(f"    {o}._check_lr('step')", [])
        for k in range(len(cells)):
            self.emit(f"    lr{k} = lr", [])
        # Exactly SGD._update: buf = eta g, then w -= buf (or the velocity's update). The
        # buffers of one dtype are views of one array, so that all or nothing costs one dot:
        # the sum of squares of every eta g is finite only if each is (then |eta g| <=
        # sqrt(max), and w - eta g cannot overflow from a finite w), and every update is
        # computed and checked before any weight moves. W1: 42.7k -> 6k instructions, 10% of
        # the step, against a dot per gradient (callgrind). When the sum is not finite,
        # _refuse_update checks every new value, as the staged step does.
        # (Tried: proving a Linear weight's eta dW = eta dZ^T X finite from eta ||dZ|| ||X||,
        # Cauchy-Schwarz, instead of a dot over dW: W3's check 37 -> 20 us, 0.14% of its
        # instructions and about 0.4% of its time, under the 3% a trick must buy.)
        flats, views = one_array_views([self.param_slots[v.index].value for _, v in items])
        arenas = [self.const(flat, "sgd") for flat in flats]
        bufs = []
        for (_, v), g, view in zip(items, grads, views):
            w = self.param_slots[v.index]
            buf = self.const(view, "sgd")
            bufs.append(buf)
            k = dtypes.index(w.value.dtype)
            self.emit(f"np.multiply({{0}}, lr{k}, out={{1}})", [g, buf])
        # The proof assumes finite weights, which the last replay left behind (it checked
        # them) unless something changed data in place since: any such change moves the
        # engine's last_change stamp past the one this program wrote, and then every new
        # value is checked, as the staged step does (a weight set to inf by hand is refused
        # as eager refuses it). One comparison per call.
        self.ns.update(_isfinite=math.isfinite, _vdot=np.vdot, _refuse_update=_refuse_update,
                       _my_stamp=[-1], _clock=autograd.clock, _last_change=autograd.last_change)
        n = len(arenas)
        checks = " and ".join(f"_isfinite(_vdot({{{k}}}, {{{k}}}))" for k in range(n))
        checks += " and _last_change[0] == _my_stamp[0]"
        listed = ", ".join(f"({i}, {{{n + 2 * k}}}, {{{n + 2 * k + 1}}})"
                           for k, (i, _) in enumerate(items))
        pairs = [s for (_, v), buf in zip(items, bufs) for s in (self.param_slots[v.index], buf)]
        self.emit(f"if not ({checks}):", arenas)
        self.emit(f"    _refuse_update({o}, ({listed},))", [*arenas, *pairs])
        momentum = opt.momentum != 0
        if momentum:
            self.emit(f"mu = {o}.momentum", [])
        for (i, v), buf in zip(items, bufs):
            w = self.param_slots[v.index]
            if momentum:
                self.emit(f"p = {o}.state[{i}]['velocity']", [])
                self.emit("p *= mu", [])
                self.emit("p -= {0}", [buf])
                self.emit("np.add({0}, p, out={0})", [w])
            else:
                self.emit("np.subtract({0}, {1}, out={0})", [w, buf])
        # Tensor._bump_version for every parameter, with one stamp: the recording made each
        # parameter's version cell already. ~0.06 us less per parameter (0.13 -> 0.07 us),
        # 0.5% of W1's step: kept because it is also the shorter program to read.
        self.emit("stamp = _last_change[0] = _my_stamp[0] = next(_clock)", [])
        for _, v in items:
            self.emit(f"P{v.index}._version[0] = stamp", [])
        self.emit(f"{o}.step_count += 1", [])

    # ------------------------------------------------------------------ buffers and source

    def plan(self) -> None:
        """Liveness: give each buffer slot an array, reusing those whose value is dead."""
        for i, (_, refs, _) in enumerate(self.code):
            for s in refs:
                r = s.root()
                r.last = max(r.last, i)
                if s.pinned:
                    r.pinned = True
        pool: dict[tuple[Any, ...], list[str]] = {}
        groups: dict[int, list[_Slot]] = {}
        for _, refs, _ in self.code:
            for s in refs:
                if s.kind == "buf":
                    groups.setdefault(id(s.root()), [])
                    if s not in groups[id(s.root())]:
                        groups[id(s.root())].append(s)
        n_bufs = 0
        for i, (_, refs, writes) in enumerate(self.code):
            handed: set[int] = set()
            for w in writes:
                if w.kind != "buf" or w.phys is not None:
                    continue
                key = (w.shape, np.dtype(w.dtype).str)
                for c in w.reuse:
                    rc = c.root()
                    if (c.kind == "buf" and c.phys is not None and rc.last == i and not rc.pinned
                            and (c.shape, np.dtype(c.dtype).str) == key
                            and all(m.phys == c.phys or m is w for m in groups[id(rc)])):
                        w.phys = c.phys
                        handed.add(id(rc))
                        break
                if w.phys is None:
                    free = pool.get(key)
                    if free:
                        w.phys = free.pop()
                    else:
                        w.phys = f"b{n_bufs}"
                        n_bufs += 1
                        self.ns[w.phys] = np.empty(w.shape, dtype=w.dtype)
            for s in refs:
                r = s.root()
                if r.last == i and not r.pinned and id(r) not in handed and id(r) in groups:
                    for m in groups.pop(id(r)):
                        if m.phys is not None and not any(m.phys == w.phys for w in writes):
                            pool.setdefault((m.shape, np.dtype(m.dtype).str), []).append(m.phys)
        self.n_buffers = n_bufs

    def source(self) -> str:
        # Local results get names as registers do: a name is given again once the value it
        # held is dead, so that value is released then (numpy reuses its memory at once), not
        # when the whole program returns. W4 (1000 small arrays a step): 1.13x -> 0.95x of the
        # numpy reference.
        last: dict[int, int] = {}
        for i, (_, refs, _) in enumerate(self.code):
            for s in refs:
                last[id(s)] = i
        free: list[str] = []
        n_tmp = 0
        for i, (_, refs, _) in enumerate(self.code):
            for s in refs:
                if s.name:
                    continue
                if s.kind == "buf":
                    s.name = s.phys or ""
                elif free:
                    s.name = free.pop()
                else:
                    s.name = f"t{n_tmp}"
                    n_tmp += 1
            for s in refs:
                if s.kind == "tmp" and last[id(s)] == i and s.name not in free:
                    free.append(s.name)
        params = ", ".join(f"a{i}" for i in range(len(self.args)))
        lines = [f"def replay({params}):"]
        for i, a in enumerate(self.args):
            if isinstance(a, Tensor):
                lines.append(f"    d{i} = a{i}._data")
            elif isinstance(a, np.ndarray):
                lines.append(f"    d{i} = a{i}")
        if self.n_prologue:
            lines.append("    try:  # the arguments' checks: a batch they refuse runs eagerly")
        for i, (template, refs, _) in enumerate(self.code):
            indent = "        " if i < self.n_prologue else "    "
            lines.append(indent + template.format(*[s.name for s in refs]))
            if i + 1 == self.n_prologue:
                lines += ["    except Exception as exc:", "        return _Eager(exc)"]
        return "\n".join(lines) + "\n"

    def guard_source(self) -> str:
        """The guard: True when a call may replay the program (checked on every call)."""
        mode = grad_state()
        self.ns.update(_T=Tensor, _nd=np.ndarray, _gm=mode, _dt=get_default_dtype,
                       _dd=get_default_dtype())
        checks = [f"_gm.enabled is {mode.enabled}", f"_gm.anomaly is {mode.anomaly}",
                  "_dt() is _dd"]
        for i, a in enumerate(self.args):
            if isinstance(a, (Tensor, np.ndarray)):
                self.ns[f"_s{i}"], self.ns[f"_t{i}"] = a.shape, a.dtype
                if isinstance(a, Tensor):
                    checks += [f"a{i}.__class__ is _T", f"a{i}.requires_grad is False",
                               f"a{i}._data.shape == _s{i}", f"a{i}._data.dtype == _t{i}"]
                else:
                    checks += [f"a{i}.__class__ is _nd", f"a{i}.shape == _s{i}",
                               f"a{i}.dtype == _t{i}"]
            else:
                self.ns[f"_v{i}"] = a
                checks += [f"a{i}.__class__ is {type(a).__name__}" if type(a) in (int, float, bool)
                           else f"a{i}.__class__ is _v{i}.__class__", f"a{i} == _v{i}"]
        for k, p in enumerate(self.rec.params):
            checks += [f"P{k}._data is w{k}", f"P{k}.requires_grad is True"]
            if self.rec.entry_grad_none[id(p)] and id(p) in self.rec.leaf_grads:
                checks.append(f"P{k}.grad is None")  # else a replay would not add to it
        for k, (module, training) in enumerate(self.rec.modules.values()):
            self.ns[f"M{k}"] = module
            checks.append(f"M{k}.training is {training}")
        for o, opt in self.opt_guards:
            if _inline_sgd(opt):
                checks += [f"{o}.__class__ is _SGD", f"{o}.nesterov is False",
                           f"{o}.weight_decay == 0",
                           f"{o}.momentum {'!=' if opt.momentum != 0 else '=='} 0"]
                self.ns["_SGD"] = SGD
        params = ", ".join(f"a{i}" for i in range(len(self.args)))
        body = " and\n            ".join(checks)
        return f"def guard({params}):\n    return ({body})\n"


def _refuse_update(opt: Any, work: tuple[tuple[int, np.ndarray, np.ndarray], ...]) -> None:
    """A replayed SGD update whose proof failed: check it as the staged step does, before any
    change, and refuse it as SGD.step would.

    ``work`` holds (parameter index, w, eta g) for every parameter. The proof (a finite sum
    of squares of the updates) fails when an update holds inf or NaN, or when it is merely
    large: then every new value is computed into a copy and checked, as the staged step
    does, and the step goes on only if all are finite (a finite update can still make a weight
    inf: w = -1e38, eta g = 3e38).
    """
    for i, w, u in work:
        new = [u]
        if opt.momentum:  # p = mu p - eta g, then w + p
            p = opt.state[i]["velocity"] * opt.momentum - u
            new += [p, w + p]
        else:
            new.append(w - u)
        if not all(all_finite(x) for x in new):
            raise InvalidArgumentError(
                f"{type(opt).__name__}.step: the step would make parameter {i} (shape "
                f"{w.shape}) inf or NaN; nothing was changed. Is the gradient huge or "
                "non-finite? Try a smaller learning rate, gradient clipping or standardised "
                "inputs."
            )


def _inline_sgd(opt: Any) -> bool:
    return type(opt) is SGD and not opt.nesterov and opt.weight_decay == 0


# ----------------------------------------------------------------------------- replay rules
#
# A rule turns one recorded Function into numpy calls: forward(b, fn, ins, kw, out) returns
# (out_slot, ctx) or None (not handled here: the generic rule runs the Function's own forward
# and backward methods), backward(b, fn, ins, out, ctx, g, want, info) returns one gradient
# slot per input (only those in ``want`` are used). Every rule gives eager's numbers bit for
# bit: the same numpy operations in the same order, only with out= buffers.


def _generic_forward(b: _Builder, cls: type, fn: Any, ins: list[_Slot], kw: dict[str, _Slot],
                     out: _Val) -> tuple[_Slot, Any]:
    f = b.local()
    k = b.const(cls, cls.__name__)
    needs = b.const(getattr(fn, "needs_input_grad", (False,) * len(ins)), "N")
    b.emit("{0} = {1}()", [f, k], (f,))
    b.emit("{0}.needs_input_grad = {1}", [f, needs])
    o = b.local(out.shape, out.dtype)
    refs = [f, *ins, *kw.values()]
    args = [f"{{{i + 1}}}" for i in range(len(ins))]
    args += [f"{name}={{{len(ins) + 1 + j}}}" for j, name in enumerate(kw)]
    b.emit(f"{{{len(refs)}}} = np.asarray({{0}}.forward({', '.join(args)}))", [*refs, o], (o,))
    b.alias(o, *ins, *kw.values())
    return o, f


def _generic_backward(b: _Builder, fn: Any, ins: list[_Slot], o: _Slot, f: _Slot, g: _Slot,
                      want: list[bool], info: tuple[Any, ...]) -> list[_Slot | None]:
    r = b.local()
    args = ", ".join(f"{{{i + 3}}}" for i in range(len(ins)))
    b.emit(f"{{0}} = _tuple({{1}}.backward({{2}}, {{{len(ins) + 3}}}{', ' if ins else ''}{args}))",
           [r, f, g, *ins, o], (r,))
    b.alias(r, g, o, *ins)
    gis: list[_Slot | None] = []
    for k, w in enumerate(want):
        if not w:
            gis.append(None)
            continue
        gi = b.local(info[k][0], info[k][1])
        b.emit(f"{{0}} = {{1}}[{k}]", [gi, r], (gi,))
        b.alias(gi, r)
        gis.append(gi)
    return gis


def _is(s: _Slot, value: Any) -> bool:
    return s.kind == "const" and s.value is value


def _binary_forward(name: str, symbol: str) -> Callable[..., Any]:
    def forward(b: _Builder, fn: Any, ins: list[_Slot], kw: dict[str, _Slot], out: _Val):
        x, y = ins
        o = b.out(out.shape, out.dtype, reuse=(x, y))
        b.ufunc(name, symbol, o, x, y)
        return o, None

    return forward


def _add_backward(b, fn, ins, o, ctx, g, want, info):
    return [g, g]


def _sub_backward(b, fn, ins, o, ctx, g, want, info):
    gy = None
    if want[1]:
        gy = b.out(g.shape, g.dtype, reuse=(g,) if not want[0] else ())
        b.ufunc("negative", "-", gy, g)
    return [g, gy]


def _mul_backward(b, fn, ins, o, ctx, g, want, info):
    x, y = ins
    gx = gy = None
    if want[0]:  # g * y
        gx = b.out(info[0][0], info[0][1], reuse=() if want[1] else (g,))
        b.ufunc("multiply", "*", gx, g, y)
    if want[1]:  # g * x
        gy = b.out(info[1][0], info[1][1], reuse=(g,))
        b.ufunc("multiply", "*", gy, g, x)
    return [gx, gy]


def _div_backward(b, fn, ins, o, ctx, g, want, info):
    x, y = ins
    gx = gy = None
    if want[0]:  # g / y
        gx = b.out(info[0][0], info[0][1], reuse=() if want[1] else (g,))
        b.ufunc("divide", "/", gx, g, y)
    if want[1]:  # -g * out / y, in eager's order
        t = b.out(g.shape, g.dtype, reuse=(g,))
        b.ufunc("negative", "-", t, g)
        t2 = b.out(info[1][0], info[1][1], reuse=(t,))
        b.ufunc("multiply", "*", t2, t, o)
        gy = b.out(info[1][0], info[1][1], reuse=(t2,))
        b.ufunc("divide", "/", gy, t2, y)
    return [gx, gy]


def _neg_forward(b, fn, ins, kw, out):
    o = b.out(out.shape, out.dtype, reuse=(ins[0],))
    b.ufunc("negative", "-", o, ins[0])
    return o, None


def _neg_backward(b, fn, ins, o, ctx, g, want, info):
    gx = b.out(g.shape, g.dtype, reuse=(g,))
    b.ufunc("negative", "-", gx, g)
    return [gx]


def _unary_forward(name: str) -> Callable[..., Any]:
    def forward(b, fn, ins, kw, out):
        o = b.out(out.shape, out.dtype, reuse=(ins[0],))
        b.ufunc(name, None, o, ins[0])
        return o, None

    return forward


def _tanh_backward(b, fn, ins, o, ctx, g, want, info):  # g * (1 - out * out)
    t = b.out(o.shape, o.dtype)
    b.ufunc("multiply", "*", t, o, o)
    t2 = b.out(o.shape, o.dtype, reuse=(t,))
    b.ufunc("subtract", "-", t2, b.const(1, "one"), t)
    gx = b.out(info[0][0], info[0][1], reuse=(g, t2))
    b.ufunc("multiply", "*", gx, g, t2)
    return [gx]


def _exp_backward(b, fn, ins, o, ctx, g, want, info):  # g * out
    gx = b.out(info[0][0], info[0][1], reuse=(g,))
    b.ufunc("multiply", "*", gx, g, o)
    return [gx]


def _log_backward(b, fn, ins, o, ctx, g, want, info):  # g / x
    gx = b.out(info[0][0], info[0][1], reuse=(g,))
    b.ufunc("divide", "/", gx, g, ins[0])
    return [gx]


def _relu_forward(b, fn, ins, kw, out):  # max(x, 0)
    o = b.out(out.shape, out.dtype, reuse=(ins[0],))
    b.ufunc("maximum", None, o, ins[0], b.const(0))
    return o, None


def _relu_backward(b, fn, ins, o, ctx, g, want, info):  # g * (x > 0)
    # out > 0 exactly where x > 0 (NaN included), and reading out instead of x lets the
    # forward write relu(x) over x: one buffer less. Its time gain is within this machine's
    # noise (W2 1.02-1.03x of the reference with it, 0.93-1.05x without, two runs each).
    mask = b.out(ins[0].shape, np.dtype(bool))
    b.ufunc("greater", ">", mask, o, b.const(0))
    # In place into g when g is dead: the ReLU backward of the numpy reference.
    gx = b.out(info[0][0], info[0][1], reuse=(g,))
    b.ufunc("multiply", "*", gx, g, mask)
    return [gx]


def _linear_forward(b, fn, ins, kw, out):
    x, w = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 and not _is(ins[2], None) else None
    if len(x.shape) != 2 or len(w.shape) != 2:
        return None
    wt = _transposed(b, w)
    o = b.out(out.shape, out.dtype)
    if o.kind == "buf":
        b.emit("np.matmul({0}, {1}, out={2})", [x, wt, o], (o,))
        if bias is not None:  # in place, as Linear.forward does
            b.emit("np.add({0}, {1}, out={0})", [o, bias], (o,))
    else:
        b.emit("{2} = {0} @ {1}", [x, wt, o], (o,))
        if bias is not None:
            b.emit("{0} += {1}", [o, bias], (o,))
    return o, None


def _transposed(b: _Builder, w: _Slot) -> _Slot:
    """w.T: made once when w is a parameter or a constant (they never move), else each call."""
    if w.kind in ("param", "const"):
        return b.const(w.value.T, f"{w.name}T_" if w.kind == "param" else "T")
    t = b.local(w.shape[::-1], w.dtype)
    b.emit("{1} = {0}.T", [w, t], (t,))
    b.alias(t, w)
    return t


def _linear_backward(b, fn, ins, o, ctx, g, want, info):
    x, w = ins[0], ins[1]
    gis: list[_Slot | None] = [None] * len(ins)
    gt = None
    if want[0]:  # g W
        gis[0] = b.out(info[0][0], info[0][1])
        _matmul(b, g, w, gis[0])
    if want[1]:  # g^T x
        gt = b.local((g.shape[1], g.shape[0]), g.dtype)
        b.emit("{1} = {0}.T", [g, gt], (gt,))
        b.alias(gt, g)
        gis[1] = b.out(info[1][0], info[1][1])
        _matmul(b, gt, x, gis[1])
    if len(want) > 2 and want[2]:  # the sum of g over the samples
        gb = b.out(info[2][0], info[2][1])
        if gb.kind == "buf":
            b.emit("np.sum({0}, axis=0, out={1})", [g, gb], (gb,))
        else:
            b.emit("{1} = {0}.sum(axis=0)", [g, gb], (gb,))
        gis[2] = gb
    return gis


def _matmul(b: _Builder, x: _Slot, y: _Slot, o: _Slot) -> None:
    if o.kind == "buf":
        b.emit("np.matmul({0}, {1}, out={2})", [x, y, o], (o,))
    else:
        b.emit("{2} = {0} @ {1}", [x, y, o], (o,))


def _matmul_forward(b, fn, ins, kw, out):
    x, y = ins
    if len(x.shape) != 2 or len(y.shape) != 2:
        return None
    o = b.out(out.shape, out.dtype)
    _matmul(b, x, y, o)
    return o, None


def _matmul_backward(b, fn, ins, o, ctx, g, want, info):
    x, y = ins
    gx = gy = None
    if want[0]:  # g y^T
        gx = b.out(info[0][0], info[0][1])
        _matmul(b, g, _transposed(b, y), gx)
    if want[1]:  # x^T g
        gy = b.out(info[1][0], info[1][1])
        _matmul(b, _transposed(b, x), g, gy)
    return [gx, gy]


def _sum_forward(b, fn, ins, kw, out):
    axis = kw["axis"].value if "axis" in kw else None
    keepdims = kw["keepdims"].value if "keepdims" in kw else False
    o = b.local(out.shape, out.dtype, fresh=True)
    a = b.const(axis, "ax")
    if keepdims:
        b.emit("{2} = {0}.sum(axis={1}, keepdims=True)", [ins[0], a, o], (o,))
    else:
        shape = b.const(tuple(out.shape), "s")
        b.emit("{3} = {0}.sum(axis={1}, keepdims=True).reshape({2})", [ins[0], a, shape, o], (o,))
    return o, None


def _sum_backward(b, fn, ins, o, ctx, g, want, info):  # g broadcast over the summed axes
    gx = _Slot("buf", ins[0].shape, info[0][1])
    if g.kind == "const":  # a mean's backward: the same 1 / n every call
        value = np.empty(ins[0].shape, dtype=info[0][1])
        value[...] = g.value.reshape(fn.kept_shape)
        b.fold(gx, value)
        return [gx]
    kept = b.const(tuple(fn.kept_shape), "s")
    b.emit("{0}[...] = {1}.reshape({2})", [gx, g, kept], (gx,))
    return [gx]


def _reshape_forward(b, fn, ins, kw, out):
    o = b.local(out.shape, out.dtype)
    b.emit("{2} = {0}.reshape({1})", [ins[0], b.const(tuple(out.shape), "s"), o], (o,))
    b.alias(o, ins[0])
    return o, None


def _reshape_backward(b, fn, ins, o, ctx, g, want, info):
    gx = b.local(ins[0].shape, g.dtype)
    b.emit("{2} = {0}.reshape({1})", [g, b.const(tuple(fn.in_shape), "s"), gx], (gx,))
    b.alias(gx, g)
    return [gx]


def _transpose_forward(b, fn, ins, kw, out):
    axes = kw["axes"].value if "axes" in kw else None
    axes = tuple(range(len(ins[0].shape)))[::-1] if axes is None else tuple(axes)
    o = b.local(out.shape, out.dtype)
    b.emit("{2} = {0}.transpose({1})", [ins[0], b.const(axes), o], (o,))
    b.alias(o, ins[0])
    return o, None


def _transpose_backward(b, fn, ins, o, ctx, g, want, info):
    gx = b.local(ins[0].shape, g.dtype)
    b.emit("{2} = {0}.transpose({1})", [g, b.const(tuple(fn.inverse)), gx], (gx,))
    b.alias(gx, g)
    return [gx]


def _cross_entropy_forward(b, fn, ins, kw, out):
    x = ins[0]
    labels = kw.get("labels")
    if len(x.shape) != 2 or labels is None:
        return None
    n, c = x.shape
    # x[i, y_i] as x.take(i c + y_i): the labels' checks (run first) keep y_i in [0, c). A
    # one-index pick costs 4.5k instructions, x[rows, y] 11.5k, and the backward's
    # p[i, y_i] -= 1 13.1k against 28.6k, for 3.7k to make the index (callgrind, W2's 64x10):
    # W2's step 996.9k -> 978.6k instructions (1.8%).
    start = b.const(np.arange(n) * c, "row_start")
    picks = b.local()
    b.emit("{2} = {0} + {1}  # the flat positions of x[i, y_i]", [labels, start, picks], (picks,))
    m, total, o = b.local(), b.local(), b.local(out.shape, out.dtype, fresh=True)
    e = b.out(x.shape, x.dtype)
    # Exactly SoftmaxCrossEntropy.forward, with e and the probabilities in one buffer.
    b.emit("{1} = {0}.max(axis=-1, keepdims=True)", [x, m], (m,))
    b.ufunc("subtract", "-", e, x, m)
    p = b.out(x.shape, x.dtype, reuse=(e,))
    b.ufunc("exp", None, p, e)
    b.emit("{1} = {0}.sum(axis=-1, keepdims=True)", [p, total], (total,))
    b.emit("{4} = (np.log({0}) + {1})[:, 0] - {2}.take({3})", [total, m, x, picks, o], (o,))
    probs = b.out(x.shape, x.dtype, reuse=(p,))
    b.ufunc("divide", "/", probs, p, total)
    return o, (probs, picks, n)


def _cross_entropy_backward(b, fn, ins, o, ctx, g, want, info):  # (p - onehot) g
    # The probabilities serve only this backward: it turns them into the gradient in place
    # (p - 1 where p - onehot subtracts 1, p itself where it subtracts 0: the same numbers).
    probs, picks, _ = ctx
    b.emit("{0}.reshape(-1)[{1}] -= 1", [probs, picks], (probs,))
    col = b.local()
    if g.kind == "const":
        b.fold(col, g.value.reshape((-1, 1)))
    else:
        b.emit("{1} = {0}.reshape((-1, 1))", [g, col], (col,))
    b.inplace("multiply", "*", probs, col)
    return [probs]


def _cross_entropy_mean_forward(b, fn, ins, kw, out):  # SoftmaxCrossEntropyMean
    x = ins[0]
    if len(x.shape) != 2 or kw.get("labels") is None:
        return None
    rows = _Val("tmp", -1, None, (x.shape[0],), out.dtype)  # the per-sample losses' shape
    per_sample, ctx = _cross_entropy_forward(b, fn, ins, kw, rows)
    o = b.local((), out.dtype, fresh=True)
    b.emit("{2} = np.asarray({0}.sum() / {1})", [per_sample, b.const(x.shape[0]), o], (o,))
    return o, ctx


def _cross_entropy_mean_backward(b, fn, ins, o, ctx, g, want, info):  # (g / N) (p - onehot)
    probs, picks, n = ctx
    gn = b.local((), g.dtype)
    b.ufunc("divide", "/", gn, g, b.const(n))
    b.emit("{0}.reshape(-1)[{1}] -= 1", [probs, picks], (probs,))
    b.inplace("multiply", "*", probs, gn)
    return [probs]


def _mse_forward(b, fn, ins, kw, out):  # MeanSquaredError: (1/n) sum (y - t)^2
    y, t = ins
    d = b.out(y.shape, y.dtype)
    b.ufunc("subtract", "-", d, y, t)
    sq = b.out(y.shape, y.dtype)
    b.ufunc("multiply", "*", sq, d, d)
    o = b.local((), out.dtype, fresh=True)
    b.emit("{2} = np.asarray({0}.sum() / {1})", [sq, b.const(int(np.prod(y.shape))), o], (o,))
    return o, d


def _mse_backward(b, fn, ins, o, d, g, want, info):  # s = g / n * d; 2 s; -2 s
    gn = b.local((), g.dtype)
    b.ufunc("divide", "/", gn, g, b.const(int(np.prod(d.shape))))
    s = b.out(d.shape, d.dtype, reuse=(d,))
    b.ufunc("multiply", "*", s, gn, d)
    gy = b.out(d.shape, d.dtype, reuse=(s,))
    b.ufunc("add", "+", gy, s, s)
    gt = None
    if want[1]:
        gt = b.out(d.shape, d.dtype)
        b.ufunc("negative", "-", gt, gy)
    return [gy, gt]


def _rules() -> dict[type, tuple[Callable[..., Any], Callable[..., Any]]]:
    from . import ops

    return {
        ops.Add: (_binary_forward("add", "+"), _add_backward),
        ops.Sub: (_binary_forward("subtract", "-"), _sub_backward),
        ops.Mul: (_binary_forward("multiply", "*"), _mul_backward),
        ops.Div: (_binary_forward("divide", "/"), _div_backward),
        ops.Neg: (_neg_forward, _neg_backward),
        ops.Tanh: (_unary_forward("tanh"), _tanh_backward),
        ops.Exp: (_unary_forward("exp"), _exp_backward),
        ops.Log: (_unary_forward("log"), _log_backward),
        ops.Relu: (_relu_forward, _relu_backward),
        ops.Linear: (_linear_forward, _linear_backward),
        ops.Matmul: (_matmul_forward, _matmul_backward),
        ops.Sum: (_sum_forward, _sum_backward),
        ops.Reshape: (_reshape_forward, _reshape_backward),
        ops.Transpose: (_transpose_forward, _transpose_backward),
        ops.SoftmaxCrossEntropy: (_cross_entropy_forward, _cross_entropy_backward),
        ops.MeanSquaredError: (_mse_forward, _mse_backward),
        ops.SoftmaxCrossEntropyMean: (_cross_entropy_mean_forward,
                                      _cross_entropy_mean_backward),
    }


_RULES = _rules()


# ----------------------------------------------------------------------------- jit


def _call_key(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a recording depends on that a call shows: the arguments and the modes."""
    described = []
    for a in args:
        if isinstance(a, Tensor):
            described.append(("Tensor", a.shape, str(a.dtype), a.requires_grad))
        elif isinstance(a, np.ndarray):
            described.append(("ndarray", a.shape, str(a.dtype)))
        else:
            described.append((type(a).__name__, repr(a)))
    mode = grad_state()
    return (tuple(described), mode.enabled, mode.anomaly, np.dtype(get_default_dtype()).name)


def _key_change(old: tuple[Any, ...], new: tuple[Any, ...]) -> str:
    (a_old, g_old, an_old, d_old), (a_new, g_new, an_new, d_new) = old, new
    if len(a_old) != len(a_new):
        return f"it is called with {len(a_new)} arguments instead of {len(a_old)}"
    for i, (x, y) in enumerate(zip(a_old, a_new)):
        if x != y:
            if x[0] == y[0] and x[0] in ("Tensor", "ndarray") and x[1] != y[1]:
                return f"argument {i} now has shape {y[1]} (it had {x[1]})"
            return f"argument {i} is now {' '.join(map(str, y))} (it was {' '.join(map(str, x))})"
    if g_old != g_new:
        return "it is called inside no_grad()" if not g_new else "grad mode is enabled again"
    if an_old != an_new:
        return "detect_anomaly() changed"
    if d_old != d_new:
        return f"the default dtype is now {d_new} (it was {d_old})"
    return ("a parameter (its array or requires_grad), a gradient, an optimiser setting or a "
            "module's train/eval mode changed")


class _Program:
    """A compiled step: the guard, the replay function and its source."""

    def __init__(self, rec: _Recorder, info: dict[str, Any], args: tuple[Any, ...],
                 key: tuple[Any, ...]) -> None:
        b = _Builder(rec, info, args)
        b.build()
        b.plan()
        self.source = b.source()
        self.guard_text = b.guard_source()
        namespace = b.ns
        exec(compile(self.source, "<jit replay>", "exec"), namespace)  # noqa: S102
        exec(compile(self.guard_text, "<jit guard>", "exec"), namespace)  # noqa: S102
        self.replay = namespace["replay"]
        self.guard = namespace["guard"]
        self.n_args = len(args)
        self.key = key
        self.n_buffers = b.n_buffers
        self.params = list(rec.params)
        self.optimizers = [opt for _, opt in b.opt_guards]
        self.generators = [a.value for _, refs, _ in b.code for a in refs
                           if a.kind == "const" and isinstance(a.value, np.random.Generator)]
        # The arrays the program's outside calls receive (BatchNorm's running statistics are
        # written there): saved and restored with the parameters when a step runs twice.
        calls = [ev for ev in rec.events if ev[0] == "call"]
        self.call_arrays = list({id(v.obj): v.obj for ev in calls for v in ev[2]
                                 if v.kind == "const" and isinstance(v.obj, np.ndarray)}.values())
        # Buffers the first replay may make column-major (see tinygrad_edu.layouts), and
        # those it did: tried only when every outside call may run again from a saved state.
        repeatable = all(autograd.is_repeatable(ev[1]) for ev in calls)
        self.untried = layouts.candidates(self.source, namespace) if repeatable else []
        self.column_major: list[str] = []




class Jit:
    """A training step recorded once and replayed as a numpy program (see :func:`jit`)."""

    def __init__(self, fn: Callable[..., Any], verify: bool = False, announce: bool = True,
                 tune_layouts: bool = True) -> None:
        self.fn = fn
        self.verify = verify
        self.tune_layouts = tune_layouts
        # Whether recording again (a new kind of call) is warned about; refusals always are.
        # fit passes False: its last batch of an epoch is often smaller, as expected.
        self.announce = announce
        self._program: _Program | None = None  # the one the last replay used
        self._programs: dict[tuple[Any, ...], _Program] = {}  # by the kind of call
        self._pending: tuple[tuple[Any, ...], list[Any]] | None = None
        self._refused: dict[tuple[Any, ...], str] = {}
        self._said: set[str] = set()
        self._last_params: list[Tensor] = []
        self.replays = 0  # calls the guard let through to the program (the rest ran eagerly)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        program = self._program
        if (program is not None and len(args) == program.n_args and not recording_anywhere()
                and program.guard(*args)):
            self.replays += 1
            if self.verify:
                return self._verified(program, args)
            out = program.replay(*args)
            return self._eager(args, out) if out.__class__ is _Eager else out
        return self._slow(args)

    def _replay(self, program: _Program, args: tuple[Any, ...]) -> Any:
        self.replays += 1
        if self.verify:
            return self._verified(program, args)
        out = program.replay(*args)
        return self._eager(args, out) if out.__class__ is _Eager else out

    def _eager(self, args: tuple[Any, ...], refused: _Eager) -> Any:
        """A batch the program's checks refused, run eagerly: eager mode raises what it finds
        wrong, or computes what the program cannot (labels equal to ignore_index)."""
        result = self.fn(*args)
        self._say(f"a batch ran eagerly, the program refused it: {refused.error}")
        return result

    @property
    def program(self) -> str:
        """The recorded step as Python source: one numpy call a line, buffers by name."""
        if self._program is None:
            return "# not recorded yet: the step has run eagerly so far (see jit's docstring)\n"
        p = self._program
        names = "buffer b0" if p.n_buffers == 1 else f"buffers b0..b{p.n_buffers - 1}"
        head = (f"# {names}, allocated once, each reused once its value is dead;\n"
                if p.n_buffers else "# no buffers: every array is small enough to make anew;\n")
        if p.column_major:
            head += (f"# {', '.join(p.column_major)}: column-major (order 'F'): their products "
                     "ran faster so here, with the same bits (timed at the first replay)\n")
        head += ("# a0, a1 ...: the arguments (d0, d1 ...: their arrays); t0, t1 ...: results\n"
                 "# P0, P1 ...: the parameters (w0, w1 ...: their arrays)\n")
        return head + p.source

    @property
    def guard(self) -> str:
        """The checks every call passes before it may replay, as Python source."""
        return "" if self._program is None else self._program.guard_text

    def reset(self) -> None:
        """Forget the recordings: the next calls record the step again."""
        self._program = None
        self._programs.clear()
        self._pending = None
        self._refused.clear()

    # ------------------------------------------------------------------ eager calls

    def _say(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            warnings.warn(f"jit({getattr(self.fn, '__name__', 'step')}): {message}", JitWarning,
                          stacklevel=3)

    def _slow(self, args: tuple[Any, ...]) -> Any:
        if grad_state().recorder is not None:  # inside another recording: it sees it all
            return self.fn(*args)
        key = _call_key(args)
        known = self._programs.get(key)
        if known is not None and known.guard(*args):  # a kind of call seen before
            self._program = known
            return self._replay(known, args)
        if key in self._refused:
            return self.fn(*args)
        if self._program is not None:
            before = known.key if known is not None else self._program.key
            if self.announce:
                self._say(f"recording the step again: {_key_change(before, key)}")
            self._programs.pop(key, None)
        if self._pending is not None and self._pending[0] != key:
            self._pending = None
        entry = {id(p): p.grad is None for p in self._last_params}
        try:
            rec = _Recorder(args, entry)
        except _Unsupported as exc:
            return self._refuse(key, str(exc), args)
        start_recording(rec)
        try:
            result = self.fn(*args)
        finally:
            stop_recording()
        self._last_params = list(rec.params)
        if rec.skipped is not None:  # this call only: the next one records again
            self._pending = None
            self._say(f"{rec.skipped}: such a call runs eagerly")
            return result
        try:
            info = rec.finish(result)
        except _Unsupported as exc:
            self._refuse(key, str(exc))
            return result
        signature = _signature(rec.events)
        if self._pending is None:
            self._pending = (key, signature)
            return result
        difference = _first_difference(self._pending[1], signature)
        self._pending = None
        if difference is not None:
            self._refuse(key, f"its two recordings differ: {difference}")
            return result
        program = self._program = self._programs[key] = _Program(rec, info, args, key)
        if program.untried and self.tune_layouts:
            program.replay = functools.partial(self._first_replay, program, program.replay)
        while len(self._programs) > MAX_PROGRAMS:  # the oldest kind of call goes first
            del self._programs[next(iter(self._programs))]
        return result

    def _refuse(self, key: tuple[Any, ...], reason: str, args: tuple[Any, ...] | None = None):
        self._refused[key] = reason
        self._pending = None
        self._say(f"{reason}; running it eagerly")
        return None if args is None else self.fn(*args)

    def _first_replay(self, program: _Program, replay: Callable[..., Any], *args: Any) -> Any:
        """The first replay of a program with large products: time its buffers column-major
        (:func:`tinygrad_edu.layouts.choose`, each trial from the same saved state), then run
        the chosen program and eager mode from that state and keep the choice only if every
        value agrees in every bit. Returns eager mode's result then (the state is eager's);
        otherwise the buffers stay row-major and this is an ordinary replay."""
        program.replay = replay  # from now on, whatever happens here
        ns = replay.__globals__
        rows = {name: ns[name] for name in program.untried}
        state = _State(program)

        def trial() -> float:
            state.restore()
            start = time.perf_counter()
            out = replay(*args)
            elapsed = time.perf_counter() - start
            if out.__class__ is _Eager:
                raise _Unsupported("the arguments' checks refused the batch")
            return elapsed

        try:
            chosen = layouts.choose(program.untried, ns, trial)
            if chosen:
                state.restore()
                replayed = replay(*args)
        except Exception:  # a refused batch or update: the plain replay below says it again
            chosen = []
        columns = {name: ns[name] for name in chosen}
        ns.update(rows)  # row-major unless eager mode agrees in every bit
        if not chosen or replayed.__class__ is _Eager:
            state.restore()
            return replay(*args)
        eager, difference = self._beside_eager(state, replayed, args)
        if difference is None:
            ns.update(columns)
            program.column_major = chosen
        return eager

    # ------------------------------------------------------------------ verify=True

    def _verified(self, program: _Program, args: tuple[Any, ...]) -> Any:
        """Replay, then run eagerly from the same state; raise on the first difference."""
        state = _State(program)
        replayed = program.replay(*args)
        if replayed.__class__ is _Eager:
            return self._eager(args, replayed)
        eager, difference = self._beside_eager(state, replayed, args)
        if difference is not None:
            name, got, want = difference
            raise JitMismatchError(
                f"jit(verify=True): {name} differs after the step: replay gave "
                f"{_summary(got)}, eager mode {_summary(want)}. The step does something "
                "the recording cannot see (numpy work on .data or .grad, Python state that "
                "changes the computation): run it without jit."
            )
        return eager

    def _beside_eager(self, state: _State, replayed: Any,
                      args: tuple[Any, ...]) -> tuple[Any, tuple[str, Any, Any] | None]:
        """After a replay from ``state``: run the step eagerly from that state too. Returns
        eager mode's result and the first value that differs in any bit (its name, the
        replay's and eager mode's), or None; the state is eager mode's."""
        after = state.capture(replayed)
        state.restore()
        eager = self.fn(*args)
        expected = state.capture(eager)
        for name, got in after.items():
            if not _identical(got, expected[name]):
                return eager, (name, got, expected[name])
        return eager, None


class _State:
    """Parameters, optimiser state and random generators, saved to run a step twice."""

    def __init__(self, program: _Program) -> None:
        self.program = program
        self.params = [(p, p._data.copy(), None if p.grad is None else np.array(p.grad))
                       for p in program.params]
        self.opts = [(o, [{k: v.copy() for k, v in st.items()} for st in o.state], o.step_count)
                     for o in program.optimizers]
        self.rngs = [(g, g.bit_generator.state) for g in program.generators]
        self.arrays = [(a, a.copy()) for a in program.call_arrays]

    def capture(self, result: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"the returned value": _value_of(result)}
        for k, p in enumerate(self.program.params):
            out[f"the gradient of parameter {k} (shape {p.shape})"] = (
                None if p.grad is None else np.array(p.grad))
            out[f"parameter {k} (shape {p.shape})"] = p._data.copy()
        for j, (o, _, _) in enumerate(self.opts):
            for i, st in enumerate(o.state):
                for name, v in st.items():
                    out[f"optimiser {j}'s state {name!r} of parameter {i}"] = np.array(v)
        for k, (a, _) in enumerate(self.arrays):
            out[f"array {k} (shape {a.shape}) that the step's outside calls write"] = a.copy()
        return out

    def restore(self) -> None:
        for p, data, grad in self.params:
            np.copyto(p._data, data)
            p.grad = grad
        for o, states, count in self.opts:
            for st, saved in zip(o.state, states):
                for k, v in saved.items():
                    np.copyto(st[k], v)
            o.step_count = count
        for g, st in self.rngs:
            g.bit_generator.state = st
        for a, saved in self.arrays:
            np.copyto(a, saved)


def _value_of(result: Any) -> Any:
    if isinstance(result, (tuple, list)):
        return tuple(_value_of(r) for r in result)
    return None if result is None else np.array(result.data)


def _identical(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(map(_identical, a, b)))
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _summary(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, tuple):
        return "(" + ", ".join(map(_summary, v)) + ")"
    text = np.array2string(np.asarray(v).reshape(-1)[:4], precision=17)
    return f"shape {v.shape} {v.dtype}, first values {text}"


def jit(fn: Callable[..., Any] | None = None, *, verify: bool = False,
        tune_layouts: bool = True) -> Any:
    """Record a training step once, then replay it as a flat numpy program.

    Args:
        fn: the step: ``fn(*args)`` runs forward, loss, ``backward()``, ``optimizer.step()``
            and ``zero_grad()``, and returns the loss Tensor. Arguments: numpy arrays, Tensors
            (not requiring grad) or numbers.
        verify: run every replay and then eager mode from the same state, and raise
            :class:`JitMismatchError` on the first value that differs (slow: for testing).
        tune_layouts: let the first replay time large product buffers column-major and keep
            what is faster and gives eager mode's bits (:mod:`tinygrad_edu.layouts`). False
            keeps every buffer row-major: the same program on every run and machine, for
            counting instructions or comparing programs.

    Returns:
        A :class:`Jit` (callable like ``fn``); ``jit(verify=True)`` without ``fn`` returns a
        decorator. ``.program`` is the recorded numpy program, ``.guard`` its guard,
        ``.replays`` how many calls passed its guard, ``.reset()`` forgets the recordings.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import jit
        >>> from tinygrad_edu.nn import Linear
        >>> from tinygrad_edu.losses import cross_entropy
        >>> from tinygrad_edu.optim import SGD
        >>> model = Linear(3, 2, rng=0)
        >>> opt = SGD(model.parameters(), lr=0.5)
        >>> @jit(verify=True)
        ... def step(x, y):
        ...     opt.zero_grad()
        ...     loss = cross_entropy(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> x, y = np.eye(3, dtype=np.float32), np.array([0, 1, 1])
        >>> first = step(x, y).item()
        >>> last = [step(x, y) for _ in range(20)][-1].item()
        >>> last < first, step.replays
        (True, 19)
    """
    if fn is None:
        return lambda f: Jit(f, verify=verify, tune_layouts=tune_layouts)
    return Jit(fn, verify=verify, tune_layouts=tune_layouts)
