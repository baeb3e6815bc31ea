"""The engine: recording operations into a graph and running reverse-mode backprop over it.

Forward: every differentiable operation is a :class:`Function`. ``Function.apply`` runs its
``forward`` on numpy arrays and, when gradients are being recorded, links the result to the
Function, which keeps its inputs (Tensor's operators call :func:`apply_unary` and
:func:`apply_binary`, the same path for one and two inputs without parameters, directly). The
graph is a DAG whose nodes are Tensors and whose edges are these links.

Backward: :func:`backward` walks the graph from the output to the leaves in a topological
order, the reverse of the order operations were recorded in: a heap hands out the most recent
operation that has received its gradient (no recursion: a chain of 100,000 operations is fine;
see :func:`_run_backward`). Each Function's ``backward`` receives the upstream gradient ``g``
(the course's delta, dL/d out) and returns the vector-Jacobian product for each input.
Gradients arriving at a value along several paths (fan-out) are added. A gradient is dropped as
soon as it has been passed on.

Backward formulas are written once, in numpy notation. In an ordinary backward pass they run on
numpy arrays. With ``create_graph=True`` the same formulas run on Tensors (which support numpy's
operators and ufuncs), so the backward pass is itself recorded and can be differentiated again.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import operator
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from heapq import heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .broadcast import unbroadcast
from .checks import REAL_KINDS, array_or_object
from .errors import AnomalyError, BackwardError, DTypeError, InPlaceError, ShapeError

if TYPE_CHECKING:
    from .tensor import Tensor
else:
    # The Tensor class, given to the engine by tensor.py when it is defined (see
    # register_tensor_type): the engine never imports tensor.py, so nothing imports in a cycle.
    Tensor = None

# One clock numbers both events the engine must order: recording an operation (its Function
# takes the next number, and creation order is a topological order of the graph) and changing
# a tensor's data in place (the tensor's version takes the next number). An operation whose
# number is below an input's version recorded that input before it changed.
clock = itertools.count(1)
last_change = [0]  # the number of the most recent in-place change anywhere

F = TypeVar("F", bound=Callable[..., Any])

# ----------------------------------------------------------------------------- gradient mode


class _ThreadState:
    """One thread's engine state (see _GradMode), a plain object.

    ``scope`` is the stack of named scopes (modules, losses) the current operations run in;
    recorded Functions keep it so that drawings can collapse a layer or a loss into one box.
    """

    __slots__ = ("enabled", "scope", "anomaly", "recorder")

    def __init__(self) -> None:
        self.enabled = True
        self.scope: tuple[Scope, ...] = ()
        self.anomaly = False
        #: A jit recording in progress in this thread (see jit.py), else None. Function.apply,
        #: backward and optimisers' step() tell it what they do; nothing else reads it.
        self.recorder: Any = None


def _forwarded(name: str) -> property:
    return property(lambda mode: getattr(mode.state, name),
                    lambda mode, value: setattr(mode.state, name, value))


class _GradMode(threading.local):
    """Per-thread state: a ``no_grad`` block in one thread does not affect another.

    ``.state`` is this thread's :class:`_ThreadState`, made on the thread's first use. The
    engine reads ``.state`` once per operation or module call and then its plain attributes:
    an attribute of a threading.local costs about 550 instructions to read (finding the
    thread's dict first), one of a plain object with slots about 40. Function.apply reads four:
    one read of ``.state`` instead saved 3.2% of W4's instructions (46.04M -> 44.57M per 1000
    operations) and 2.0% of W1's (932k -> 914k per step). ``.enabled``, ``.scope``,
    ``.anomaly`` and ``.recorder`` read and write the state's, for code outside the engine
    (the jit's guard reads two of them per call: +0.7% of its W1 step).
    """

    def __init__(self) -> None:  # called again in each thread that uses the object
        self.state = _ThreadState()

    enabled = _forwarded("enabled")
    scope = _forwarded("scope")
    anomaly = _forwarded("anomaly")
    recorder = _forwarded("recorder")


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations in this thread are being recorded for backprop."""
    return _grad_mode.state.enabled


class _SetGradEnabled:
    """Context manager and decorator that sets gradient recording for the current thread."""

    _mode: bool = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        state = _grad_mode.state
        self._prev.append(state.enabled)
        state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.state.enabled = self._prev.pop()

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_SetGradEnabled):  # noqa: N801  (PyTorch's spelling)
    """Record nothing inside: results do not require grad and keep no graph.

    Use it for inference and for parameter updates. Also works as a decorator.

    Example:
        >>> from tinygrad_edu import Tensor, no_grad
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> with no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    _mode = False


class enable_grad(_SetGradEnabled):  # noqa: N801  (PyTorch's spelling)
    """Record operations again inside a ``no_grad`` block. Also works as a decorator."""

    _mode = True


class detect_anomaly:  # noqa: N801  (PyTorch's spelling)
    """Inside, every result and every gradient is checked for NaN and infinity.

    The first operation that produces one raises :class:`AnomalyError` naming the operation,
    the shapes, and the line of your code that created it, for a forward result or for a
    gradient in the backward pass. Slower: use it to find where a NaN comes from. Per thread:
    a block in one thread does not check the operations of another.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.autograd import detect_anomaly
        >>> x = Tensor([0.0], requires_grad=True)
        >>> with detect_anomaly():
        ...     try:
        ...         y = x.log()
        ...     except Exception as e:
        ...         print(type(e).__name__, str(e)[:31])
        AnomalyError Log produced -inf in its result
    """

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> detect_anomaly:
        state = _grad_mode.state
        self._prev.append(state.anomaly)
        state.anomaly = True
        return self

    def __exit__(self, *exc: object) -> None:
        _grad_mode.state.anomaly = self._prev.pop()


_new_tensor: Any = None  # Tensor.__new__, once the Tensor class is registered


def register_tensor_type(cls: type) -> None:
    """Tell the engine which class its results are (tensor.py calls this once, for Tensor)."""
    global Tensor, _new_tensor
    Tensor = cls
    _new_tensor = cls.__new__
# How many jit recordings run in any thread (see jit.py): while none does, operations skip
# reading their thread's recorder.
_recordings = [0]


def _user_frame() -> str:
    """'file:line in function' of the innermost caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(package):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
    return "unknown location"


def _describe_bad(values: np.ndarray) -> str:
    bad = ~np.isfinite(values)
    kinds = [k for k, present in (("nan", np.isnan(values).any()),
                                  ("inf", np.isposinf(values).any()),
                                  ("-inf", np.isneginf(values).any())) if present]
    return f"{'/'.join(kinds)} in {int(bad.sum())} of {values.size} elements"


def _check_result(name: str, data: Any, args: tuple[Any, ...]) -> None:
    values = np.asarray(data)
    if values.dtype.kind != "f" or np.isfinite(values).all():
        return
    shapes = ", ".join(str(np.shape(a.data if isinstance(a, Tensor) else a)) for a in args)
    bad_inputs = [
        i for i, a in enumerate(args)
        if np.asarray(a.data if isinstance(a, Tensor) else a).dtype.kind == "f"
        and not np.isfinite(a.data if isinstance(a, Tensor) else a).all()
    ]
    origin = (
        f"; its input(s) {bad_inputs} were already non-finite: the NaN/Inf was made before, "
        "outside detect_anomaly or in data you passed in"
        if bad_inputs else ""
    )
    raise AnomalyError(
        f"{name} produced {_describe_bad(values).replace(' in ', ' in its result (', 1)}) "
        f"from inputs of shapes {shapes}, at {_user_frame()}{origin}"
    )


def _check_gradients(fn: Function, in_grads: tuple[Any, ...]) -> None:
    for i, gi in enumerate(in_grads):
        if gi is None:
            continue
        values = np.asarray(gi.data if isinstance(gi, Tensor) else gi)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            where = getattr(fn, "created_at", None) or "(recorded outside detect_anomaly)"
            raise AnomalyError(
                f"the backward of {fn.name} produced {_describe_bad(values)} of the gradient for "
                f"its input {i}; the {fn.name} was created at {where}"
            )


class Scope:
    """A named scope: operations recorded inside ``with Scope(name):`` remember it.

    Each entry of the scope stack is a name (``"Linear"``, ``"cross_entropy"``) and a serial
    number that tells two calls of the same name apart. ``Module.__call__`` and the losses use
    it, so that ``draw_graph(..., collapse="Linear")`` can draw each layer as one box.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.autograd import scope
        >>> x = Tensor([1.0], requires_grad=True)
        >>> with scope("double"):
        ...     y = x * 2
        >>> [s.name for s in y.grad_fn.scope]
        ['double']
    """

    __slots__ = ("name", "_serial", "_outer")
    _serials = itertools.count()

    def __init__(self, name: str) -> None:
        self.name = name
        self._serial: int | None = None

    @property
    def serial(self) -> int:
        """The number telling this entry from others of the same name, taken on first read:
        only drawings read it, and not numbering every module call saves 600 of a call's
        instructions (part of W1's -3.3%: see Module.__call__)."""
        if self._serial is None:
            self._serial = next(Scope._serials)
        return self._serial

    def __enter__(self) -> Scope:
        # A plain class, not a generator-based context manager: modules enter one per call.
        state = _grad_mode.state
        self._outer = outer = state.scope
        state.scope = (*outer, self)
        return self

    def __exit__(self, *exc: object) -> None:
        _grad_mode.state.scope = self._outer

    def __repr__(self) -> str:
        return f"Scope({self.name!r}, {self.serial})"


scope = Scope  # ``with scope("name"):`` reads as what it does


def scoped(func: F) -> F:
    """Decorator: run ``func`` inside ``scope(func.__name__)``."""

    name = func.__name__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # What ``with scope(name):`` does, written out as Module.__call__ does (see there).
        state = _grad_mode.state
        outer = state.scope
        state.scope = (*outer, Scope(name))
        try:
            return func(*args, **kwargs)
        finally:
            state.scope = outer

    return wrapper  # type: ignore[return-value]


# ----------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation: its forward computation and its vector-Jacobian product.

    Subclasses define

    * ``forward(self, *arrays, **params) -> ndarray``: computes the result from numpy arrays and
      keeps on ``self`` whatever non-differentiable facts backward needs (an axis, a mask);
    * ``backward(self, g, out, *inputs)``: given ``g = dL/d out``, returns dL/d input for each
      input (a tuple, or a single value for one input; ``None`` where no gradient is needed,
      see ``self.needs_input_grad``). ``out`` and ``inputs`` are numpy arrays in an ordinary
      backward pass and Tensors when the pass is recorded (``create_graph=True``), so a formula
      must use only operations both understand: arithmetic operators, ``@``, numpy ufuncs such
      as ``np.exp``, the methods ``.sum .reshape .transpose .swapaxes``, indexing, and other
      Functions' ``apply``.

    The gradient a formula returns may have the broadcast shape of the output; the engine sums
    it back to the input's shape (:func:`unbroadcast`).

    Calling ``apply`` with no Tensor among the arguments simply computes the forward on the
    arrays and returns an array. That is what lets one Function's backward use another Function
    (``Sum`` uses ``Expand``) whether or not the backward pass is being recorded.

    A backward may return a new array or one it keeps where the engine can see it: ``g``
    itself, an input or output, or a direct attribute of ``self`` (``return self.c``). It
    must not return an array that it (or anything else) keeps where the engine cannot see it
    and reads again later: inside a list, tuple or dict on ``self``, in a global cache. The
    engine relies on this rule: a leaf's ``.grad`` takes a returned array without a copy when
    it is none of the visible ones, not a view, and not returned for two inputs at once
    (see ``_made_here``; W's gradient is the largest array of a training step), and later
    passes add into ``.grad`` in place.

    The engine checks what a backward returns: one gradient per positional argument of
    ``apply`` (``None`` for arguments without one; extra trailing ``None`` are allowed), each an
    array (a Tensor when recorded) of a floating dtype whose shape is the input's or one that
    broadcasting the input gives. Anything else raises an error naming the Function, the
    input and both shapes. A gradient of another float dtype is cast to the input's dtype.

    PyTorch's spelling works too: static methods ``forward(ctx, *tensors, **params)`` and
    ``backward(ctx, g)``, with ``ctx.save_for_backward(...)``, ``ctx.saved_tensors`` and
    ``ctx.needs_input_grad`` (in backward). Such a forward and backward receive Tensors and may
    use any Tensor method; the engine hands backward the inputs and output as recorded tensors
    when ``create_graph=True``, so second derivatives work through them.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Function, Tensor
        >>> class Cube(Function):  # z = x^3,  VJP: dL/dx = 3 x^2 g
        ...     def forward(self, x):
        ...         return x ** 3
        ...     def backward(self, g, out, x):
        ...         return 3 * x ** 2 * g
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> Cube.apply(x).sum().backward()
        >>> x.grad.tolist()
        [3.0, 12.0]
    """

    # No __slots__: every subclass has a __dict__ anyway, and slots on the base saved 0.4% of
    # W4's instructions (45,150 -> 44,980 per operation), under the 3% a trick must buy.

    inputs: tuple[Any, ...] | None
    arrays: Sequence[Any]
    needs_input_grad: tuple[bool, ...]
    scope: tuple[Scope, ...]
    seq: int  # the clock when recorded: a topological order, and see _check_unmodified
    #: Set on the Function of a backward pass's output: the gradient that pass started from
    #: (a numpy array). With it, a drawing or trace after ``backward()`` replays the pass
    #: (:func:`replay_backward`) to show every tensor's gradient. Unset before any pass.
    seed: Any

    #: True for operations applied element by element (z_i depends on x_i only), whose
    #: backward with g = 1 gives the local derivative dz/dx itself (used by the trace).
    elementwise: bool = False
    #: True when the result may share memory with the first input (reshape, transpose ...):
    #: then it shares the input's version, so an in-place change of either is seen by both.
    view: bool = False
    #: What to do about a shape error, added to numpy's message (see _shape_error).
    shape_hint: str = ""
    #: True when ``forward(*input values)`` (no params) computes the output again, exactly and
    #: in one cheap pass. A backward pass without ``retain_graph`` then releases the output's
    #: array once the pass no longer needs it and nothing else holds it, and reading the
    #: value later computes it again from the inputs (:func:`restore_value`): the graph keeps
    #: its values for drawing while a training step's peak memory stays near a hand-written
    #: loop's. Only for outputs of recorded operations whose inputs are themselves outputs of
    #: operations (a leaf such as a weight changes in the optimiser's step).
    recompute: bool = False

    def forward(self, *arrays: Any, **params: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g: Any, out: Any, *inputs: Any) -> Any:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs once per class definition, never per operation.
        super().__init_subclass__(**kwargs)
        forward, backward = cls.__dict__.get("forward"), cls.__dict__.get("backward")
        static = [isinstance(m, staticmethod) for m in (forward, backward)]
        if any(static):
            # A subclass of a PyTorch-style Function may redefine just one of the two.
            if not all(static) and not hasattr(cls, "ctx_forward"):
                raise TypeError(_signature_help(cls, "define both forward and backward as "
                                                     "@staticmethod, or neither"))
            # PyTorch's spelling: keep the user's static methods, and let the engine call
            # them through the adapters below (the engine's own calling convention).
            if static[0]:
                cls.ctx_forward = forward
                cls.forward = Function._forward_with_ctx  # type: ignore[method-assign]
            if static[1]:
                cls.ctx_backward = backward
                cls.backward = Function._backward_with_ctx  # type: ignore[method-assign]
        elif backward is not None and not _accepts_engine_backward(backward):
            raise TypeError(_signature_help(cls, f"its backward{inspect.signature(backward)} "
                                                 "cannot take (g, out, *inputs)"))

    # ------------------------------------------------------------ PyTorch-style (ctx) Functions

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward`` (PyTorch's ``ctx.save_for_backward``)."""
        self._saved = tensors  # type: ignore[attr-defined]  (subclasses have a __dict__)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What ``save_for_backward`` kept; inputs and output as the backward pass sees them.

        In a recorded backward pass (``create_graph=True``) a saved input or output is the
        recorded tensor itself, so a formula using it can be differentiated again; values
        computed inside forward are constants.
        """
        current = getattr(self, "_current", {})
        return tuple(current.get(id(t), t) for t in getattr(self, "_saved", ()))

    def _forward_with_ctx(self, *arrays: Any, **params: Any) -> Any:
        """Call a static ``forward(ctx, *tensors)`` with constant Tensors; return an array."""
        wrapped = tuple(_constant(a) for a in arrays)
        with no_grad():
            out = type(self).ctx_forward(self, *wrapped, **params)
        self._ctx_args = wrapped  # type: ignore[attr-defined]
        self._ctx_out = out  # type: ignore[attr-defined]
        return out.data if isinstance(out, Tensor) else out

    def _backward_with_ctx(self, g: Any, out: Any, *inputs: Any) -> Any:
        """Call a static ``backward(ctx, g)``: Tensors in, arrays out unless recorded."""
        recorded = isinstance(g, Tensor)
        seen = tuple(x if recorded and isinstance(x, Tensor) else _constant(x) for x in inputs)
        current = {id(w): x for w, x in zip(self._ctx_args, seen)}
        current[id(self._ctx_out)] = out if recorded else _constant(out)
        self._current = current  # type: ignore[attr-defined]
        try:
            grads = type(self).ctx_backward(self, g if recorded else _constant(g))
        finally:
            del self._current
        if recorded:
            return grads
        if type(grads) is not tuple:
            return grads.data if isinstance(grads, Tensor) else grads
        return tuple(gi.data if isinstance(gi, Tensor) else gi for gi in grads)

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *args: Any, **params: Any) -> Any:
        """Run the operation on Tensors (recording it when needed) or on plain arrays."""
        if not params:  # one or two inputs and no parameters: see apply_binary
            if len(args) == 2:
                return apply_binary(cls, args[0], args[1])
            if len(args) == 1 and isinstance(args[0], Tensor):
                return apply_unary(cls, args[0])
        # Plain loops and local names, no generator expressions.
        arrays = []
        needs = []
        tensors = record = False
        for a in args:
            if isinstance(a, Tensor):
                value = a._data
                if value is None:  # released after a backward pass (see recompute)
                    value = restore_value(a)
                arrays.append(value)
                needs.append(a.requires_grad)
                tensors = True
                record = record or a.requires_grad
            else:
                arrays.append(a)
                needs.append(False)
        fn = cls()
        try:
            data = fn.forward(*arrays, **params)
        except ValueError as exc:  # numpy's broadcasting, reshape and axis errors
            raise _shape_error(fn, args, exc) from None
        if not tensors:
            return data
        return _result(fn, data, args, arrays, tuple(needs), record, params)

    def __repr__(self) -> str:
        return f"<{self.name} backward>"


def apply_unary(cls: type[Function], x: Tensor) -> Tensor:
    """``cls.apply(x)`` for one Tensor input and no parameters (see :func:`apply_binary`)."""
    record = x.requires_grad
    value = x._data
    if value is None:  # released after a backward pass (see recompute)
        value = restore_value(x)
    fn = cls()
    try:
        data = fn.forward(value)
    except ValueError as exc:
        raise _shape_error(fn, (x,), exc) from None
    return _result(fn, data, (x,), (value,), _NEEDS_ONE[record], record, _NO_PARAMS)


def apply_binary(cls: type[Function], x: Any, y: Any) -> Any:
    """``cls.apply(x, y)`` for two inputs and no parameters: what Tensor's operators call.

    The same result, recorded the same way, as the general path of :meth:`Function.apply`,
    written out for two inputs: no loop, no lists to grow, no call with ``*arrays,
    **params``, and (from an operator) no class method with its argument tuple and keyword
    dict. Nearly every elementwise operation takes this path or :func:`apply_unary`; W4's
    chain, against the general path for all: 38,830 -> 36,463 instructions per operation,
    -6.1% (``python -m benchmarks.instructions``, callgrind).
    """
    if isinstance(x, Tensor):
        record = need_x = x.requires_grad
        a = x._data
        if a is None:  # released after a backward pass (see recompute)
            a = restore_value(x)
        tensors = True
    else:
        a = x
        tensors = record = need_x = False
    if isinstance(y, Tensor):
        need_y = y.requires_grad
        record = record or need_y
        b = y._data
        if b is None:
            b = restore_value(y)
        tensors = True
    else:
        b = y
        need_y = False
    fn = cls()
    try:
        data = fn.forward(a, b)
    except ValueError as exc:
        raise _shape_error(fn, (x, y), exc) from None
    if not tensors:
        return data
    return _result(fn, data, (x, y), (a, b), _NEEDS_TWO[need_x][need_y], record, _NO_PARAMS)


_NO_PARAMS: dict[str, Any] = {}  # the parameters of apply_unary and apply_binary (read only)

# needs_input_grad of apply_unary and apply_binary: one shared tuple per combination instead of
# a new one per operation. Each new tuple was one more object for the cycle collector's young
# passes to walk (five per operation: the Tensor, the Function, and the inputs', arrays' and
# needs' tuples). W4, against the same engine in the same process, interleaved, three runs:
# 0.978x, 0.962x, 0.969x the time (the collector took 9% of W4's time).
_NEEDS_ONE = {False: (False,), True: (True,)}
_NEEDS_TWO = {False: {False: (False, False), True: (False, True)},
              True: {False: (True, False), True: (True, True)}}


def _result(
    fn: Function,
    data: Any,
    args: tuple[Any, ...],
    arrays: Sequence[Any],
    needs: tuple[bool, ...],
    record: bool,
    params: dict[str, Any],
) -> Tensor:
    """The Tensor of ``data``, computed by ``fn`` from ``args``, with ``fn`` recorded as the
    operation that made it when an input requires grad and grad mode is on (see apply)."""
    mode = _grad_mode.state
    # The thread's own flag, read for every operation: a process-wide count of open blocks
    # that let operations skip the read saved 1.2% of W4's instructions (45,537 -> 44,980
    # per operation), under the 3% a trick must buy.
    if mode.anomaly:
        _check_result(type(fn).__name__, data, args)
        fn.created_at = _user_frame()
    if data.__class__ is not np.ndarray:  # ufuncs on 0-d arrays return numpy scalars
        data = np.asarray(data)
    # Tensor._init called, not copied here: inlining its assignments saved 1.3% of W4's
    # instructions (45,548 -> 44,980 per operation), under the 3% a trick must buy.
    out = _new_tensor(Tensor)
    out._init(data)
    if fn.view:  # a view shares its input's memory, so its version (see _bump_version)
        out._version = args[0]._shared_version()
    if record and mode.enabled:
        fn.inputs = args
        # A tuple from apply_unary and apply_binary; the general path's list as it is
        # (turning it into a tuple, which the garbage collector stops tracking, cost 0.5% of
        # W4's instructions). needs_input_grad is a tuple, as PyTorch's is.
        fn.arrays = arrays
        fn.needs_input_grad = needs
        fn.scope = mode.scope
        fn.seq = next(clock)
        out.requires_grad = True
        out._ctx = fn
    # A jit recording sees every operation. The thread's own recorder is read every time:
    # a process-wide count that let operations skip the read saved ~65 ns of ~3.3 us per
    # operation (2%), under the 3% a trick must buy.
    if mode.recorder is not None:
        mode.recorder.on_op(fn, args, params, out)
    return out


def current_recorder() -> Any:
    """The jit recording in progress in this thread, or None (see :mod:`tinygrad_edu.jit`)."""
    return _grad_mode.state.recorder


_REPEATABLE: set[Any] = set()  # see repeatable


def repeatable(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function given to :func:`outside` as safe to run again from a saved state: its
    only effects are its result, writes into its array arguments and draws from a Generator
    argument. A jit's first replay then may try the step several times (restoring those
    arrays and generators in between, see :mod:`tinygrad_edu.layouts`); a step with any
    other outside function is not tried. Returns ``func`` (use it as a decorator).

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.autograd import is_repeatable, repeatable
        >>> @repeatable
        ... def scaled(x, s):
        ...     return x * s
        >>> is_repeatable(scaled), is_repeatable(print), is_repeatable(np.greater)
        (True, False, True)
    """
    _REPEATABLE.add(func)
    return func


def is_repeatable(func: Any) -> bool:
    """Whether ``func`` was marked with :func:`repeatable`, or is a numpy ufunc called without
    ``out=`` (pure: it only returns its result)."""
    return isinstance(func, np.ufunc) or func in _REPEATABLE


def outside(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)``: numpy work on a step's inputs that no Function records.

    Losses check and convert their labels with it, and Dropout draws its mask with it: a jit
    recording (see :mod:`tinygrad_edu.jit`) then calls ``func`` again on every replay, so the
    checks still run and a new batch's labels or a new random draw are inputs, not constants.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu.autograd import outside
        >>> outside(np.add, np.array([1, 2]), 3).tolist()
        [4, 5]
    """
    out = func(*args)
    if _recordings[0]:
        made_outside(func, args, out)
    return out


def made_outside(func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    """Tell a jit recording in this thread, if any, that ``out = func(*args)`` was just run
    (as :func:`outside` does, for a caller that only sometimes needs to)."""
    recorder = _grad_mode.state.recorder
    if recorder is not None:
        recorder.on_call(func, args, out)


def _constant(x: Any) -> Any:
    """An array as a Tensor that shares its memory and records nothing; others as they are."""
    if not isinstance(x, np.ndarray):
        return x
    t = _new_tensor(Tensor)
    t._init(x)
    return t


def _accepts_engine_backward(method: Any) -> bool:
    """Whether ``method`` can be called as ``backward(self, g, out, *inputs)``."""
    params = inspect.signature(method).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 3


def _signature_help(cls: type, problem: str) -> str:
    return (
        f"Function {cls.__name__}: {problem}. Write either\n"
        "    def forward(self, *arrays, **params) -> array\n"
        "    def backward(self, g, out, *inputs) -> one gradient per input\n"
        "or PyTorch's spelling\n"
        "    @staticmethod\n    def forward(ctx, *tensors, **params) -> tensor\n"
        "    @staticmethod\n    def backward(ctx, g) -> one gradient per input\n"
        "and call it as " + cls.__name__ + ".apply(...)."
    )


def _shape_error(fn: Function, args: tuple[Any, ...], exc: Exception) -> ShapeError:
    shapes = ", ".join(str(np.shape(a.data if isinstance(a, Tensor) else a)) for a in args)
    hint = f" {fn.shape_hint}" if fn.shape_hint else ""
    return ShapeError(f"{fn.name}: {exc} (input shapes: {shapes}).{hint}")


# ----------------------------------------------------------------------------- backward pass


def topological_sort(root: Tensor, freed_ok: bool = False) -> list[Tensor]:
    """Every node ``root`` depends on (through tensors that require grad), inputs first.

    Operations are numbered as they are recorded, and an operation can only be recorded after
    its inputs exist, so the order of creation is a topological order. The sort collects the
    graph with an explicit stack (no recursion: graph depth is limited only by memory) and
    orders it by those numbers, leaves first. Raises :class:`BackwardError` when it meets a
    part of the graph already backpropagated without ``retain_graph`` (unless ``freed_ok``:
    the structure is still there, and drawings and traces read it).
    """
    inner: list[Tensor] = []
    leaves: list[Tensor] = []
    # The tensors themselves, which hash by identity (as in _run_backward's table): no id() calls.
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        fn = node._ctx
        if fn is None:
            leaves.append(node)
            continue
        inner.append(node)
        inputs = fn.inputs
        # A recorded Function has at least one input array: none left means a backward pass
        # without retain_graph released them (see _run_backward).
        if not fn.arrays and not freed_ok:
            raise _freed_error(node, fn)
        for parent in inputs:
            if isinstance(parent, Tensor) and parent.requires_grad and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    inner.sort(key=_creation_number)
    return leaves + inner


_creation_number = operator.attrgetter("_ctx.seq")


def backward(
    root: Tensor, grad: Any = None, create_graph: bool = False, retain_graph: bool = False
) -> None:
    """Backpropagate from ``root``, accumulating gradients into ``.grad`` of the leaves.

    See :meth:`Tensor.backward` for the arguments.
    """
    g = _seed_gradient(root, grad, create_graph, "backward")
    recorder = _grad_mode.state.recorder
    if recorder is not None:  # a jit recording runs the pass itself, watching each step
        recorder.on_backward(root, g, create_graph, retain_graph)
        return
    _run_backward(root, g, create_graph, retain_graph or create_graph, wanted=None)


def grad(
    output: Tensor,
    inputs: Sequence[Tensor],
    grad_output: Any = None,
    create_graph: bool = False,
    retain_graph: bool = False,
) -> list[Any]:
    """The gradients of ``output`` with respect to ``inputs``, returned instead of accumulated.

    Nothing is written to any ``.grad``. An input that ``output`` does not depend on gets zeros.
    With ``create_graph=True`` the results are Tensors that can be differentiated again.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.autograd import grad
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> grad((x ** 3).sum(), [x])[0].tolist()
        [3.0, 12.0]
    """
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise BackwardError(
                f"grad: input {i} must be a Tensor with requires_grad=True; "
                f"got {type(t).__name__}"
                + (" that does not require grad" if isinstance(t, Tensor) else "")
            )
    g = _seed_gradient(output, grad_output, create_graph, "grad")
    if _grad_mode.state.recorder is not None:
        _grad_mode.state.recorder.unsupported("autograd.grad (gradients returned, not accumulated)")
    wanted: dict[int, Any] = {id(t): None for t in inputs}
    _run_backward(output, g, create_graph, retain_graph or create_graph, wanted=wanted)
    results = []
    for t in inputs:
        gt = wanted[id(t)]
        if gt is None:
            gt = np.zeros_like(t.data)
            gt = Tensor(gt) if create_graph else gt
        elif create_graph and not isinstance(gt, Tensor):
            gt = Tensor(gt, dtype=t.dtype)
        elif not create_graph:
            # As .grad: an array of the input's dtype (0-d arithmetic gives numpy scalars).
            gt = np.asarray(gt, dtype=t.dtype)
        results.append(gt)
    return results


def _run_backward(
    root: Tensor,
    g: Any,
    create_graph: bool,
    retain: bool,
    wanted: dict[int, Any] | None,
    hook: Callable[[Tensor, Function, Any, tuple[Any, ...]], None] | None = None,
) -> None:
    """The backward loop: leaves accumulate into ``.grad``, or ``wanted`` nodes are captured.

    ``hook(node, fn, g, in_grads)``, if given, sees every step before the graph is freed:
    the tensor, the Function that made it, dL/dnode and the gradients the Function returns
    (not yet summed back to broadcast inputs' shapes). ``trace_backward`` is built on it.

    The order needs no sort beforehand: operations are numbered as they are recorded, so a
    node's consumers all carry larger numbers than the node. The loop keeps the nodes that
    have received a gradient in a heap (the newest parent just reached waits beside it, see
    ``best``) and always takes the largest number next: by then
    every consumer reachable from ``root`` has passed its gradient on (the first unvisited
    node on a path from ``root`` would be waiting in the heap with a larger number). A node
    enters the heap when its first gradient arrives, so the pass visits only what carries a
    gradient, in one walk: a sort first walked the whole graph once more (W4, instructions per
    operation: backward 22,545 -> 20,101, the whole step 43,602 -> 41,144, -5.6%). Leaves wait
    until the end: nothing is written into a ``.grad`` before every leaf has been checked, and
    a pass refused on the way gives back what it released (see _give_back), so that it can run
    again once the cause is fixed.
    """
    if hook is not None and _grad_mode.state.recorder is not None:
        _grad_mode.state.recorder.unsupported("a backward pass watched by a hook (trace_backward)")
    fn = root_fn = root._ctx
    previous_seed = getattr(root_fn, "seed", None)
    if fn is not None and fn.arrays:  # what a drawing after the pass replays (replay_backward)
        fn.seed = g.data if isinstance(g, Tensor) else g
    # Keyed by the tensors themselves: they hash by identity (Tensor.__hash__), and a dict
    # compares stored hashes before keys, so Tensor.__eq__ is never called here. Against keys
    # made with id(): 10% fewer instructions per operation (see docs/performance.md).
    grads: dict[Tensor, Any] = {root: g}
    # (-number, node): heapq pops the smallest, so the largest number comes out first.
    heap: list[tuple[int, Tensor]] = []
    node = None if fn is None else root
    leaves: list[Tensor] = [root] if fn is None else []
    retained: list[tuple[Tensor, Any]] = []  # inner nodes with retain_grad, and their g
    released: list[Function] = []  # what this pass freed, given back if it is refused
    # Leaves whose gradient is an array this pass made and nobody else holds: .grad can take
    # it as it is, without a copy (W's gradient is the largest array of a training step).
    owned: dict[Tensor, bool] = {}
    anomaly = _grad_mode.state.anomaly
    # Values a recompute Function can compute again are released after their last use, except
    # when something watches the pass (a hook, a jit recording) or the graph is kept.
    release = not retain and hook is None and _grad_mode.state.recorder is None
    # Record the backward pass exactly when asked, whatever the surrounding mode.
    with enable_grad() if create_graph else no_grad():
        # The next node is the pending one with the largest number. A node's first new parent
        # waits in ``best`` rather than in the heap: when no pending node is newer (in a chain,
        # always) it is simply next, without a heap entry, a push and a pop (W4: 36,425 ->
        # 35,639 instructions per operation, -2.2%, and 4.3% less time, the two loops
        # interleaved in one process).
        best = None
        while node is not None:
            g = grads.pop(node)
            fn = node._ctx
            arrays = fn.arrays
            # A recorded Function has at least one input array: none left means a backward
            # pass without retain_graph released them.
            if not arrays:
                _give_back(released)  # refused: the rest of the graph is as it was
                raise _freed_error(node, fn)
            if wanted is not None:
                if id(node) in wanted:
                    wanted[id(node)] = g
            elif node._retains_grad:
                retained.append((node, g))
            if fn.seq < last_change[0]:  # something changed in place since: was it ours?
                _check_unmodified(node, fn)
            inputs = fn.inputs
            if create_graph:
                in_grads = fn.backward(g, node, *inputs)
            else:
                # Written out for two inputs and one (nearly every operation): a call with
                # *arrays builds an argument tuple and a bound method each time (W4 39,859 ->
                # 38,344 instructions per operation, -3.8%).
                if len(arrays) == 2:
                    in_grads = fn.backward(g, node._data, arrays[0], arrays[1])
                elif len(arrays) == 1:
                    in_grads = fn.backward(g, node._data, arrays[0])
                else:
                    in_grads = fn.backward(g, node._data, *arrays)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if anomaly:
                _check_gradients(fn, in_grads)
            if hook is not None:
                hook(node, fn, g, in_grads)
            if len(in_grads) != len(inputs):
                _check_gradient_count(fn, in_grads, inputs)
            if not retain:
                # The structure (inputs) and the values stay for drawing as long as the output
                # lives; the arrays are only the backward's own references to the inputs'
                # values, and none left marks the Function as backpropagated.
                fn.arrays = ()
                released.append(fn)
                if release and fn.recompute and node is not root and not node._retains_grad:
                    value = None  # read for the previous node: it may be this node's array
                    _release_value(node, fn)
            # A counter and indexing, not zip(inputs, needs, in_grads), whose object costs more
            # than the loop (W4 41,144 -> 39,859 instructions per operation, -3.1%).
            needs = fn.needs_input_grad
            i = -1
            for gi in in_grads:  # (extra trailing None allowed: skipped before indexing)
                i += 1
                if gi is None or not needs[i]:
                    continue
                parent = inputs[i]
                value = parent._data
                try:
                    if gi.shape != value.shape or gi.dtype != value.dtype:
                        gi = _fit_gradient(gi, value, fn, in_grads)
                except AttributeError:  # not an array at all: a list, a string, a number
                    index = _input_index(in_grads, gi)
                    raise _gradient_type_error(fn, index, gi, value) from None
                prev = grads.get(parent)
                if prev is not None:
                    grads[parent] = prev + gi
                    owned[parent] = True
                elif parent.requires_grad:  # (turned off since it was recorded: no gradient)
                    grads[parent] = gi
                    parent_fn = parent._ctx
                    if parent_fn is not None:
                        if best is None:
                            best, best_seq = parent, parent_fn.seq
                        elif parent_fn.seq > best_seq:
                            heappush(heap, (-best_seq, best))
                            best, best_seq = parent, parent_fn.seq
                        else:
                            heappush(heap, (-parent_fn.seq, parent))
                    else:
                        leaves.append(parent)
                        if not create_graph:
                            owned[parent] = _made_here(gi, g, fn, in_grads)
            if best is not None:  # the newest of best and the heap's top comes next
                if heap and -heap[0][0] > best_seq:
                    node = heapreplace(heap, (-best_seq, best))[1]
                else:
                    node = best
                best = None
            else:
                node = heappop(heap)[1] if heap else None
        if wanted is not None:
            for node in leaves:
                if id(node) in wanted:
                    wanted[id(node)] = grads[node]
            return
        try:
            _check_leaf_grads(leaves)
        except ShapeError:
            _give_back(released)  # refused: the graph can run again once .grad is fixed
            if root_fn is not None:
                root_fn.seed = previous_seed
            raise
        for node, g in retained:
            _accumulate_leaf(node, g, create_graph)
        for node in leaves:
            _accumulate_leaf(node, grads[node], create_graph, owned.get(node, False))


def _freed_error(node: Tensor, fn: Function) -> BackwardError:
    return BackwardError(
        f"backward through the graph a second time: the {fn.name} that produced "
        f"a tensor of shape {node.shape} was freed by an earlier backward(). "
        "Pass retain_graph=True to the first backward() to keep the graph."
    )


def _give_back(released: list[Function]) -> None:
    """Give released Functions their input arrays back, taken from their inputs (unchanged since,
    or the version check refuses the pass; a released value is computed again by ``.data``)."""
    for fn in released:
        fn.arrays = tuple(a.data if isinstance(a, Tensor) else a for a in fn.inputs)


def replay_backward(
    root: Tensor,
    g: Any,
    hook: Callable[[Tensor, Function, Any, tuple[Any, ...]], None],
    steps: int | None = None,
    order: list[Tensor] | None = None,
) -> None:
    """Run the backward pass from ``root`` again for the record, writing no gradient anywhere.

    ``hook(node, fn, g, in_grads)`` sees every step as in a real pass (see
    :func:`_run_backward`). It works on a graph an earlier ``backward()`` went through without
    ``retain_graph``: that pass kept the structure and the values and released only the
    Functions' own references to their inputs' values, which the replay takes back from the
    inputs and releases again afterwards (a second real backward still raises). No ``.grad``
    changes: this is how a trace of a graph already backpropagated reports the pass without
    adding its gradients twice. ``steps``: run only the first ones (those nearest the output,
    enough for a partial drawing of a huge graph); None runs them all. ``order``:
    ``topological_sort(root, freed_ok=True)`` if the caller has it already.
    """
    order = topological_sort(root, freed_ok=True) if order is None else order
    for t in order:
        if t._data is None:  # released by that pass (see Function.recompute): computed again
            restore_value(t)
    released = [t._ctx for t in order if t._ctx is not None and not t._ctx.arrays]
    _give_back(released)
    watch = hook
    if steps is not None and sum(1 for t in order[-steps:] if t._ctx is not None) == steps:
        done = [0]

        def watch(node: Tensor, fn: Function, g: Any, in_grads: tuple[Any, ...]) -> None:
            hook(node, fn, g, in_grads)
            done[0] += 1
            if done[0] == steps:
                raise _StepsDone

    try:
        _run_backward(root, g, False, True, wanted={}, hook=watch)
    except _StepsDone:
        pass
    finally:
        for fn in released:
            fn.arrays = ()


def _release_value(node: Tensor, fn: Function) -> None:
    """Drop the array of ``node``, made by a recompute Function whose backward has run.

    Only when every input is an operation's output (a leaf, such as a weight, changes in the
    optimiser's step, and the value could not be computed again) and nobody else holds the
    array: the tensor's slot and getrefcount's argument make two references. A user's
    reference, a view (its base) or a consumer's backward still to come keep it, and
    releasing would free nothing.
    """
    for a in fn.inputs:
        if not isinstance(a, Tensor) or a._ctx is None:
            return
    if node._version is None and sys.getrefcount(node._data) == 2:
        node._data = None


def restore_value(t: Tensor) -> np.ndarray:
    """The value of ``t`` computed again after a backward pass released it, and kept again.

    See :attr:`Function.recompute`. Released inputs are computed first, with an explicit
    stack (chains of any length). The result is the array the forward pass made, bit for
    bit: the same numpy call on the same input values. Raises :class:`InPlaceError` when an
    input was changed in place after the operation was recorded: the old value is gone.
    """
    stack = [t]
    while stack:
        node = stack[-1]
        fn = node._ctx
        missing = [a for a in fn.inputs if isinstance(a, Tensor) and a._data is None]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        if node._data is not None:  # reached again through another path
            continue
        changed = [
            f"input {i} (shape {a._data.shape})"
            for i, a in enumerate(fn.inputs)
            if isinstance(a, Tensor) and a._version is not None and a._version[0] > fn.seq
        ]
        if changed:
            raise InPlaceError(
                f"the value of a {fn.name}'s output was released after backward() to save "
                f"memory, to be computed again from its inputs when read, but "
                f"{', '.join(changed)} changed in place since: the old value is gone. Read "
                "the value before changing the input, or pass retain_graph=True to "
                "backward() to keep every value."
            )
        data = fn.forward(*[a._data if isinstance(a, Tensor) else a for a in fn.inputs])
        node._data = data if data.__class__ is np.ndarray else np.asarray(data)
    return t._data


class _StepsDone(Exception):
    """Ends a replay after the steps asked for (see replay_backward)."""


def _check_leaf_grads(leaves: list[Tensor]) -> None:
    """Refuse, before anything is written, a leaf whose existing ``.grad`` cannot take this
    pass's gradient (its data was replaced by one of another shape since)."""
    for node in leaves:
        old = node._grad
        if old is not None and old.shape != node._data.shape:
            raise ShapeError(
                f"backward: a leaf of shape {node.shape}{_named(node)} already has a .grad of "
                f"shape {old.shape}, which this pass cannot add to (was .data replaced by an "
                "array of another shape?). Nothing was changed; zero the gradient first "
                "(t.grad = None or optimizer.zero_grad())."
            )


def _named(t: Tensor) -> str:
    return f" ({t.name!r})" if t.name else ""


def _check_unmodified(node: Tensor, fn: Function) -> None:
    """Refuse to backpropagate through values changed in place after they were recorded.

    The backward formula would use the new values and return a wrong gradient silently.
    """
    changed = [
        f"input {i} (shape {t.shape})"
        for i, t in enumerate(fn.inputs)
        if isinstance(t, Tensor) and t._version is not None and t._version[0] > fn.seq
    ]
    if node._version is not None and node._version[0] > fn.seq:
        changed.append(f"its output (shape {node.shape})")
    if changed:
        raise InPlaceError(
            f"a tensor needed to backpropagate through {fn.name} was modified in place after "
            f"{fn.name} used it: {', '.join(changed)}. Its gradient would be computed from the "
            "new values and be wrong. Change data only after backward(), or change a copy "
            "(Tensor(t.data.copy())); t.detach() and views share the memory."
        )


def _seed_gradient(root: Tensor, grad: Any, create_graph: bool, op: str) -> Any:
    """The gradient backward starts from: ones for a one-element output, else ``grad``."""
    if not isinstance(root, Tensor) or not root.requires_grad:
        raise BackwardError(
            f"{op}() on a tensor that does not require grad (shape {np.shape(root)}): nothing "
            "it depends on has requires_grad=True. Create the inputs with requires_grad=True, "
            "and do not compute the output inside no_grad()."
        )
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(
                f"{op}() needs a one-element output or an explicit grad; got shape "
                f"{root.shape}. Try out.sum().backward(), or out.backward(grad) with grad of "
                f"shape {root.shape}."
            )
        g = np.ones_like(root.data)
    else:
        g = grad
        if not isinstance(g, Tensor):
            value = array_or_object(g)
            if value.dtype.kind not in REAL_KINDS:
                # numpy would drop a complex grad's imaginary part and turn None into NaN.
                raise DTypeError(
                    f"{op}(grad): grad must hold real numbers; got {type(grad).__name__} of "
                    f"dtype {value.dtype}"
                )
            g = value.astype(root.data.dtype, copy=False)
        elif g.dtype.kind != "f":
            raise DTypeError(f"{op}(grad): grad must be floating point; got dtype {g.dtype}")
        if g.shape != root.shape:
            raise ShapeError(
                f"{op}(grad): grad has shape {g.shape} but the output has shape "
                f"{root.shape}; they must be equal."
            )
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor(g)
    return g.data if isinstance(g, Tensor) else g


def _fit_gradient(
    gi: Any, value: np.ndarray, fn: Function, in_grads: tuple[Any, ...] = ()
) -> Any:
    """Sum a broadcast gradient back to the input's shape; match the input's dtype.

    The slow path of the backward loop (taken only when the shape or dtype differ), so the
    checks of what a user's backward returned live here: the type, a floating dtype, a
    shape broadcasting could have made. ``in_grads`` (everything the backward returned) only
    serves to name the input in an error.
    """
    if not isinstance(gi, (np.ndarray, np.generic, Tensor)):
        raise _gradient_type_error(fn, _input_index(in_grads, gi), gi, value)
    if np.dtype(gi.dtype).kind != "f":
        index = _input_index(in_grads, gi)
        raise DTypeError(
            f"{fn.name}.backward returned a gradient of dtype {gi.dtype} (shape {gi.shape}) "
            f"for its input {index} of dtype {value.dtype} and shape {value.shape}; a "
            "gradient must be floating point, e.g. g * mask.astype(g.dtype) instead of a "
            "boolean mask."
        )
    shape = value.shape
    if gi.shape != shape:
        fitted = unbroadcast(gi, shape)
        if fitted is None:
            index = _input_index(in_grads, gi)
            raise ShapeError(
                f"{fn.name}.backward returned a gradient of shape {gi.shape} for its input "
                f"{index} of shape {shape}; a gradient must have its input's shape (or a shape "
                f"broadcasting {shape} gives, which is summed back to {shape})."
            )
        gi = fitted
    dtype = value.dtype
    if gi.dtype != dtype:
        gi = gi.astype(dtype)
    return gi


def _input_index(in_grads: tuple[Any, ...], gi: Any) -> int:
    """Which input ``gi`` was returned for (for error messages only)."""
    for i, other in enumerate(in_grads):
        if other is gi:
            return i
    return 0


def _gradient_type_error(fn: Function, index: int, gi: Any, value: np.ndarray) -> DTypeError:
    got = f"{type(gi).__name__} {gi!r}" if len(repr(gi)) <= 40 else type(gi).__name__
    shape = getattr(gi, "shape", None)
    return DTypeError(
        f"{fn.name}.backward returned {got}"
        + (f" of shape {shape}" if shape is not None else " (no shape)")
        + f" as the gradient for its input {index} of shape {value.shape}; a gradient must be "
        "a numpy array (a Tensor when create_graph=True) of the input's shape, or None. "
        "Convert with np.asarray(...), and return one gradient per input as a tuple."
    )


def _check_gradient_count(fn: Function, in_grads: tuple[Any, ...], inputs: tuple[Any, ...]) -> None:
    """One gradient per positional argument of apply; extra trailing None are tolerated."""
    n = len(inputs)
    if len(in_grads) > n and all(gi is None for gi in in_grads[n:]):
        return
    described = ", ".join(
        f"{i}: {type(x).__name__} of shape {np.shape(x.data if isinstance(x, Tensor) else x)}"
        for i, x in enumerate(inputs)
    )
    hint = (
        f" It returned a {type(in_grads[0]).__name__}: return a tuple instead."
        if len(in_grads) == 1 and isinstance(in_grads[0], list) else ""
    )
    raise BackwardError(
        f"{fn.name}.backward returned {len(in_grads)} gradient(s) for {n} input(s) "
        f"({described}); return a tuple with one gradient per positional argument of "
        f"{fn.name}.apply, None for those that need none.{hint}"
    )


def _made_here(gi: Any, g: Any, fn: Function, in_grads: tuple[Any, ...]) -> bool:
    """Whether a VJP result is a new array that nothing else refers to.

    Not the upstream gradient passed through (Add sends g itself), not a view, not one of the
    operation's saved arrays or of the arrays it keeps on itself (a backward may return
    ``self.cache``), and not sent to two inputs at once. Only then may a leaf's ``.grad``
    take the array as it is (no copy) and later passes add into it in place: W's gradient is
    the largest array of a training step (not copying it: W3's peak memory 1.56x -> 1.11x of
    the numpy reference, before the graph outlived backward). It rests on Function's rule
    that a backward never returns an array kept where this cannot see (in a container on
    ``self``, a global). Called for leaves only, so the scan of the Function's own attributes
    costs a few comparisons per parameter, not per operation.
    """
    if type(gi) is not np.ndarray or gi is g or gi.base is not None or not gi.flags.writeable:
        return False
    for a in fn.arrays:
        if a is gi:
            return False
    for a in getattr(fn, "__dict__", {}).values():
        if a is gi:
            return False
    seen = 0
    for other in in_grads:
        if other is gi:
            seen += 1
    return seen == 1


def _accumulate_leaf(node: Tensor, g: Any, create_graph: bool, owned: bool = False) -> None:
    """Add ``g`` to ``node.grad`` (a Tensor when the backward pass is recorded).

    ``owned``: g was made by this backward pass and nobody else holds it, so ``.grad`` may
    be g itself; otherwise it gets a private copy (g may be shared: Add sends the same g to
    both inputs; or it may be the caller's own array).

    One type per mode: after a recorded pass ``.grad`` is a Tensor, after a plain one an
    ndarray of the tensor's own shape and dtype (never a numpy scalar, even for 0-d), whatever
    the earlier passes left there.
    """
    old = node.grad
    if create_graph:
        if not isinstance(g, Tensor):  # a user's backward may return an array
            g = Tensor(g, dtype=node._data.dtype)
        node.grad = g if old is None else g + old
        return
    if isinstance(g, Tensor):  # a user's backward may return a Tensor in a plain pass too
        g = g.data
    if old is None:
        dtype = node._data.dtype
        # type(): a numpy scalar (0-d arithmetic gives those) has flags too, but no out=.
        if owned and type(g) is np.ndarray and g.dtype == dtype and g.flags.c_contiguous:
            node.grad = g
        else:
            # Row-major: a transposed view would otherwise leave a column-major .grad that
            # numpy updates many times slower in place.
            node.grad = np.array(g, dtype=dtype, copy=True, order="C")
    elif isinstance(old, Tensor):
        node.grad = np.array(old.data + g, dtype=node._data.dtype)
    else:
        np.add(old, g, out=old)



def recording_anywhere() -> bool:
    """True while a jit recording runs in any thread (see :mod:`tinygrad_edu.jit`).

    A cheap first test for code that tells a recording about itself: only when it is true
    is :func:`current_recorder` (this thread's recording) worth asking.

    Example:
        >>> from tinygrad_edu.autograd import recording_anywhere
        >>> recording_anywhere()
        False
    """
    return _recordings[0] > 0


# ----------------------------------------------------------------------------- watching a pass
# The public hook a backward trace is built on (viz/trace.py): the same pass, seen step by step.


def seed_gradient(root: Tensor, grad: Any = None, op: str = "backward") -> Any:
    """The array a backward pass from ``root`` starts from, checked as ``backward`` does.

    Ones for a one-element ``root`` when ``grad`` is None, else ``grad`` in ``root``'s dtype;
    errors name ``op``.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.autograd import seed_gradient
        >>> seed_gradient((Tensor([2.0], requires_grad=True) * 3).sum()).tolist()
        1.0
    """
    return _seed_gradient(root, grad, False, op)


def fit_gradient(g: Any, like: np.ndarray, fn: Function) -> Any:
    """A gradient ``fn.backward`` returned for an input valued ``like``, as the pass sends it.

    Summed over the axes broadcasting added (the input's shape) and in the input's dtype.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import ops
        >>> from tinygrad_edu.autograd import fit_gradient
        >>> fit_gradient(np.ones((2, 3)), np.zeros(3), ops.Add()).tolist()
        [2.0, 2.0, 2.0]
    """
    return _fit_gradient(g, like, fn)


def watched_backward(
    root: Tensor,
    g: Any,
    hook: Callable[[Tensor, Function, Any, tuple[Any, ...]], None],
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """:func:`backward` from ``root`` with seed ``g`` (see :func:`seed_gradient`), calling
    ``hook(node, fn, g, in_grads)`` at every step, before anything of the step is released.

    The hook sees the tensor, the Function that made it, dL/dnode and the gradients the
    Function returned (not yet summed back to broadcast inputs' shapes: see
    :func:`fit_gradient`). The leaves' ``.grad`` accumulate as in ``backward``. On a graph
    already backpropagated, :func:`replay_backward` reports the pass without a new ``.grad``.
    ``retain_graph`` and ``create_graph`` mean what they mean for ``backward``. Inside a jit
    recording the pass tells the recording it cannot be compiled; a recording that watches the
    pass itself takes its recorder away for the call.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.autograd import seed_gradient, watched_backward
        >>> x = Tensor([3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> seen = []
        >>> watched_backward(y, seed_gradient(y), lambda node, fn, g, gs: seen.append(fn.name))
        >>> seen, x.grad.tolist()
        (['Sum', 'Mul'], [6.0])
    """
    _run_backward(root, g, create_graph, retain_graph or create_graph, wanted=None, hook=hook)


# ----------------------------------------------------------------------------- hooks for jit
#
# What a jit recording (tinygrad_edu/jit.py) and the code that tells it things (nn/module.py,
# losses.py, optimisers) need from the engine, without reaching into its private names.


def grad_state() -> Any:
    """This thread's engine state, for a jit guard to read on every call: ``.enabled`` (grad
    mode), ``.anomaly`` (detect_anomaly), ``.recorder`` (the recording in progress, or None).
    The object is shared by all threads; each thread sees its own values through it.
    ``.state`` is the calling thread's own object with the same four attributes (and
    ``.scope``), cheaper to read several times: read it once per call, in that thread."""
    return _grad_mode


def start_recording(recorder: Any) -> None:
    """Install ``recorder`` as this thread's jit recording: Function.apply, backward(),
    optimisers' step(), outside() and modules tell it what they do until stop_recording()."""
    _grad_mode.state.recorder = recorder
    _recordings[0] += 1


def stop_recording() -> None:
    """End this thread's jit recording (see start_recording)."""
    _grad_mode.state.recorder = None
    _recordings[0] -= 1


def skip_recording(reason: str) -> None:
    """Tell this thread's jit recording, if any, that this call cannot become its program
    (``reason`` says why): the call runs eagerly as always, and a later call records again."""
    recorder = _grad_mode.state.recorder
    if recorder is not None:
        recorder.skip(reason)
