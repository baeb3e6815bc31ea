"""The base class of every optimiser: parameters, hyper-parameters, state and checkpoints.

An optimiser holds a list of parameters w (Tensors that require grad) and, for each of them,
the state its rule keeps from one step to the next (a velocity, a running sum of squared
gradients ...). One call of :meth:`Optimizer.step` reads every gradient g = dL/dw left by
``loss.backward()`` and moves its parameter *in place*:

    w <- w + (a change computed from g, the hyper-parameters and the state)

In place means ``p.data`` keeps its identity: a model, a plot or a test holding the array sees
the new values, and no new arrays are made per step (each parameter gets scratch buffers once).

A step is all or nothing: the new weights and state of every parameter are computed first (the
weights into a buffer, the state into copies), checked (finite), and only then written. A step
that fails, for a huge gradient, a NaN or ``np.errstate(all="raise")``, leaves every parameter
and every state array as it was. That costs two passes over the weights (a check and a copy),
except where a rule can prove beforehand that its update is finite and raises nothing: plain
SGD then checks the weights and its step eta g with one dot each and writes in place.

Subclasses name their hyper-parameters, say which state arrays they keep
(:meth:`Optimizer._state_spec`) and write the rule for one parameter (:meth:`Optimizer._update`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..autograd import current_recorder, no_grad
from ..checkpoint import Entry, read_npz, write_npz
from ..checks import REAL_KINDS, all_finite, array_or_object, finite_number, positive_int
from ..errors import CheckpointError, DTypeError, InvalidArgumentError, ShapeError
from ..tensor import Tensor

__all__ = ["Optimizer"]

# ----------------------------------------------------------------------------- validation

def _check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{owner}: {name} must be True or False; got {value!r}")
    return bool(value)


def _check_betas(owner: str, name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, np.ndarray):  # a pair read back from an .npz file
        value = value.tolist()
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidArgumentError(
            f"{owner}: {name} must be a pair (beta1, beta2), each a number in [0, 1); got {value!r}"
        )
    return (
        finite_number(value[0], f"{owner}: {name}[0]", "[0, 1)"),
        finite_number(value[1], f"{owner}: {name}[1]", "[0, 1)"),
    )


# How each known hyper-parameter is checked; the same rules guard construction and loading.
_HYPER_RULES: dict[str, Callable[[str, str, Any], Any]] = {
    "lr": lambda o, n, v: finite_number(v, f"{o}: {n}", "(0, inf)"),
    "momentum": lambda o, n, v: finite_number(v, f"{o}: {n}", "[0, 1)"),
    "decay": lambda o, n, v: finite_number(v, f"{o}: {n}", "[0, 1)"),
    "eps": lambda o, n, v: finite_number(v, f"{o}: {n}", "(0, inf)"),
    "weight_decay": lambda o, n, v: finite_number(v, f"{o}: {n}", "[0, inf)"),
    "damping": lambda o, n, v: finite_number(v, f"{o}: {n}", "[0, inf)"),
    "betas": _check_betas,
    "nesterov": _check_bool,
    "max_params": lambda o, n, v: positive_int(v, f"{o}: {n}", "an integer >= 1"),
}


def _collect_params(params: Any, owner: str) -> list[Tensor]:
    """The parameters as a list without duplicates, each a leaf Tensor requiring grad."""
    if isinstance(params, Tensor):
        raise InvalidArgumentError(
            f"{owner}: params must be an iterable of Tensors, such as [w, b] or "
            f"model.parameters(); got a single Tensor of shape {params.shape}. Wrap it: [w]."
        )
    if hasattr(params, "parameters") and callable(params.parameters):
        raise InvalidArgumentError(
            f"{owner}: params must be an iterable of Tensors; got a {type(params).__name__}. "
            "Pass model.parameters() rather than the model itself."
        )
    try:
        given = list(params)
    except TypeError:
        raise InvalidArgumentError(
            f"{owner}: params must be an iterable of Tensors, such as [w, b] or "
            f"model.parameters(); got {type(params).__name__}"
        ) from None
    if not given:
        raise InvalidArgumentError(
            f"{owner}: got an empty list of parameters, so there is nothing to optimise. "
            "Check that the model has parameters and that a generator was not used up already."
        )
    out: list[Tensor] = []
    seen: set[int] = set()
    for i, p in enumerate(given):
        if not isinstance(p, Tensor):
            raise InvalidArgumentError(
                f"{owner}: parameter {i} is a {type(p).__name__}, not a Tensor; pass Tensors "
                "created with requires_grad=True"
            )
        if not p.requires_grad:
            raise InvalidArgumentError(
                f"{owner}: parameter {i} (shape {p.shape}) does not require grad, so it would "
                "never get a gradient; create it with requires_grad=True, or leave it out"
            )
        if not p.is_leaf:
            raise InvalidArgumentError(
                f"{owner}: parameter {i} (shape {p.shape}) is the result of an operation "
                f"({p.grad_fn.name}), not a leaf; backward() does not fill .grad of such "
                "tensors. Optimise the leaf tensors it was computed from."
            )
        if id(p) not in seen:  # the same tensor twice would be updated twice per step
            seen.add(id(p))
            out.append(p)
    return out


# ----------------------------------------------------------------------------- Optimizer


class Optimizer:
    """Base class: holds the parameters, checks hyper-parameters, keeps state, saves it.

    Args:
        params: an iterable of Tensors requiring grad, e.g. ``model.parameters()`` or
            ``[w, b]``. The same tensor given twice is kept once.
        lr: the learning rate eta (> 0). A public attribute: schedules change it.
        **hyper: the subclass's hyper-parameters, checked here (finite, in range).

    Attributes:
        params: the list of parameters.
        lr: the learning rate used by the next step.
        state: one dict per parameter (aligned with ``params``) of numpy arrays the rule keeps.
        step_count: how many times :meth:`step` has run.

    Raises:
        InvalidArgumentError: empty ``params``, a parameter that does not require grad, or a
            hyper-parameter that is not finite or out of its range.

    Example:
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.optim import SGD
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.tolist()
        [0.0, 0.0]
    """

    # Scratch arrays per parameter that the rule uses, so that a step makes no new arrays.
    _n_scratch: int = 1
    # Every state name the rule can keep (whatever its hyper-parameters): a checkpoint may
    # hold these and nothing else, which bounds what loading one may allocate.
    _state_names: tuple[str, ...] = ()
    # State arrays that are sums or averages of squares: a negative entry is corrupt (its
    # square root, in the next step, would be NaN).
    _nonnegative_state: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], lr: float, **hyper: Any) -> None:
        owner = type(self).__name__
        self.params: list[Tensor] = _collect_params(params, owner)
        checked = self._check_hyper({"lr": lr, **hyper}, owner)
        self._hyper_names: tuple[str, ...] = tuple(checked)
        for name, value in checked.items():
            setattr(self, name, value)
        self.lr: float = checked["lr"]
        self.step_count: int = 0
        spec = self._state_spec(checked)
        self.state: list[dict[str, np.ndarray]] = [_new_state(p, spec) for p in self.params]
        self._scratch: list[list[np.ndarray]] = [[] for _ in self.params]
        self._stage: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def __setattr__(self, name: str, value: Any) -> None:
        # Hyper-parameters are public attributes (schedules set lr): a value set by hand is
        # checked by the same rules as at construction, so opt.momentum = "0.9" fails here,
        # not inside a later step. lr is checked by step() and by schedules (_check_lr).
        if name != "lr" and name in getattr(self, "_hyper_names", ()):
            value = _HYPER_RULES[name](type(self).__name__, name, value)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ what subclasses define

    def _check_combination(self, hyper: dict[str, Any], owner: str) -> None:
        """Check rules that involve several hyper-parameters (each is already valid alone)."""

    def _state_spec(self, hyper: dict[str, Any]) -> dict[str, str]:
        """The state arrays kept per parameter: name -> ``"param"`` (the parameter's shape and
        dtype, starting at zero) or ``"count"`` (a 0-d int64 counter)."""
        return {}

    def _update(
        self,
        w: np.ndarray,
        g: np.ndarray,
        state: dict[str, np.ndarray],
        scratch: list[np.ndarray],
        out: np.ndarray,
    ) -> None:
        """Write the new weights into ``out``, given the weights ``w`` and the gradient ``g``
        (neither modified), updating the state arrays in place (they are copies: the step
        commits them only when every parameter's update is valid)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the public interface

    def zero_grad(self) -> None:
        """Forget every parameter's gradient: each ``.grad`` becomes None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place; skip those whose grad is None.

        All or nothing: every new weight and every new state array is computed first (into
        copies, under whatever ``np.errstate`` the caller set) and checked (finite, the
        parameter's shape and dtype); only when all are valid is anything written. (Plain SGD
        checks its inputs instead, when that proves the result finite; see ``_step_in_place``.)

        Raises:
            ShapeError: a gradient whose shape is not its parameter's (nothing is changed).
            DTypeError: a gradient, parameter or state array that is not a real float array.
            InvalidArgumentError: ``lr`` was set to a negative or non-finite value, or the step
                would make a weight or a state value infinite or NaN (nothing is changed).
            FloatingPointError: numpy raised (``np.errstate(all="raise")``); nothing changed.
        """
        self._check_lr("step")
        work = self._gradients("step")
        recorder = current_recorder()
        if recorder is not None:  # a jit recording: its replay repeats this update
            recorder.on_optimizer_step(self, work)
        if not self._step_in_place(work):
            self._step_staged(work)
        self.step_count += 1

    def _step_in_place(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> bool:
        """Make the step in place, without staging copies, when the rule can prove first that
        every new value is finite and that nothing in the update can raise; return whether it
        did. Nothing may change when it returns False: :meth:`_step_staged` then runs.

        The base class proves nothing (False): subclasses whose rule allows a cheap proof
        override it (:class:`SGD` without momentum).
        """
        return False

    def _step_staged(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        """The all-or-nothing step for any rule: every new weight and state array is computed
        into copies and checked before anything is written."""
        owner = f"{type(self).__name__}.step"
        spec = self._state_spec(self._hyper())
        updates = []
        with no_grad():
            for i, w, g in work:
                # The rule runs on copies; the parameter and its state are untouched until
                # every parameter's new values have been computed and checked.
                live = self.state[i]
                for name, kind in spec.items():
                    if name not in live:  # a hyper-parameter was changed by hand (momentum)
                        live[name] = _new_array(w, kind)
                state, new_w = self._staged(i, w, live)
                try:
                    self._update(w, g, state, self._scratch_for(i, w), new_w)
                except FloatingPointError as exc:
                    raise FloatingPointError(
                        f"{owner}: numpy raised while updating parameter {i} (shape "
                        f"{w.shape}): {exc}; nothing was changed"
                    ) from None
                for what, value in (("its new value", new_w), *state.items()):
                    if value.dtype.kind == "f" and not all_finite(value):
                        raise InvalidArgumentError(
                            f"{owner}: the step would make {what} of parameter {i} (shape "
                            f"{w.shape}) inf or NaN; nothing was changed. Is the gradient "
                            "huge or non-finite? Try a smaller learning rate, gradient "
                            "clipping or standardised inputs."
                        )
                updates.append((i, w, new_w, state))
            for i, w, new_w, state in updates:
                np.copyto(w, new_w)
                for name, value in state.items():
                    np.copyto(self.state[i][name], value)
                self.params[i]._bump_version()  # changed in place: see Tensor._bump_version

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume training exactly, as a flat dict of plain values.

        Keys: ``"optimizer"`` (the class name), the hyper-parameters (``"lr"`` ...),
        ``"step_count"``, ``"num_params"``, ``"shape.<i>"`` (parameter i's shape) and
        ``"state.<i>.<name>"`` (copies of the state arrays). Every value is a number, a string,
        a tuple or a numpy array, so ``np.savez(path, **opt.state_dict())`` stores it without
        pickle and ``opt.load_state_dict(dict(np.load(path)))`` reads it back.

        Example:
            >>> from tinygrad_edu import Tensor
            >>> from tinygrad_edu.optim import SGD
            >>> opt = SGD([Tensor([1.0, 2.0], requires_grad=True)], lr=0.1, momentum=0.9)
            >>> sorted(opt.state_dict())  # doctest: +NORMALIZE_WHITESPACE
            ['lr', 'momentum', 'nesterov', 'num_params', 'optimizer', 'shape.0',
             'state.0.velocity', 'step_count', 'weight_decay']
        """
        d: dict[str, Any] = {"optimizer": type(self).__name__}
        d.update(self._hyper())
        d["step_count"] = self.step_count
        d["num_params"] = len(self.params)
        # The arrays the current hyper-parameters call for (momentum may have been set by hand).
        spec = self._state_spec(self._hyper())
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            d[f"shape.{i}"] = tuple(p.shape)
            for name, kind in spec.items():
                value = state.get(name)
                d[f"state.{i}.{name}"] = _new_array(p.data, kind) if value is None else value.copy()
        return d

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state_dict` to ``path`` as an ``.npz`` archive, atomically.

        Save the model beside it (``model.save``) to resume training exactly.

        Example:
            >>> import os, tempfile
            >>> from tinygrad_edu import Tensor
            >>> from tinygrad_edu.optim import SGD
            >>> w = Tensor([1.0], requires_grad=True)
            >>> path = os.path.join(tempfile.mkdtemp(), "opt.npz")
            >>> SGD([w], lr=0.1, momentum=0.9).save(path)
            >>> SGD([w], lr=0.5, momentum=0.9).load(path).lr
            0.1
        """
        write_npz(path, self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> Optimizer:
        """Restore the state saved by :meth:`save` (checked first: nothing changes on error).

        The file's headers are checked before any data is read (only the entries
        :meth:`state_dict` writes, each of the size it should have), so a hostile or damaged
        file is refused without allocating more than the model's own size.
        """
        path = os.fspath(path)
        arrays = read_npz(path, check=lambda found, read: self._check_entries(path, found, read))
        self.load_state_dict(arrays)
        return self

    def _check_entries(
        self, path: str, entries: dict[str, Entry], read: Callable[[str], np.ndarray]
    ) -> None:
        """Refuse a file from its headers alone, before any data is read.

        Only the names :meth:`state_dict` can write are accepted, each of a bounded size: a
        state array has its parameter's shape (or is a 0-d counter), everything else holds at
        most a few numbers. So what reading allocates is bounded by the size of the model.
        """
        owner = f"{type(self).__name__}.load({path!r})"
        n = len(self.params)
        tag = entries.get("optimizer")
        if tag is not None and tag.shape == () and tag.dtype.kind == "U" and tag.nbytes <= 1024:
            kind = str(read("optimizer"))
            if kind != type(self).__name__:
                raise CheckpointError(
                    f"{owner}: the state comes from optimiser {kind!r}, not "
                    f"{type(self).__name__!r}; nothing else was read"
                )
        small = {"optimizer", "num_params", "step_count", *self._hyper_names}
        for key, entry in entries.items():
            parts = key.split(".")
            index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
            if key in small or (len(parts) == 2 and parts[0] == "shape" and 0 <= index < n):
                limit = 64
            elif (
                len(parts) == 3
                and parts[0] == "state"
                and 0 <= index < n
                and parts[2] in self._state_names
            ):
                if entry.shape not in ((), self.params[index].shape):
                    raise CheckpointError(
                        f"{owner}: entry {key!r} has shape {entry.shape} but parameter {index} "
                        f"has shape {self.params[index].shape}; nothing was read"
                    )
                limit = max(self.params[index].size, 1)
            else:
                raise CheckpointError(
                    f"{owner}: unexpected entry {key!r} (this optimiser has {n} parameters and "
                    f"keeps the state {list(self._state_names)}); nothing was read"
                )
            if math.prod(entry.shape) > limit or entry.dtype.itemsize > 256:
                raise CheckpointError(
                    f"{owner}: entry {key!r} is too large (shape {entry.shape}, dtype "
                    f"{entry.dtype}) for what it should hold; nothing was read"
                )

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore hyper-parameters, step count and state saved by :meth:`state_dict`.

        Everything is checked before anything changes: the optimiser type, the number of
        parameters, their shapes, every hyper-parameter and every state array. The arrays are
        copied, so later steps do not write into ``d``.

        Raises:
            CheckpointError: ``d`` comes from another optimiser type or another model, or has
                missing, unexpected or invalid entries. The optimiser is then unchanged.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(d, Mapping):
            raise CheckpointError(
                f"{owner}: expected a dict from state_dict(); got {type(d).__name__}"
            )
        d = {k: _plain(v) for k, v in d.items()}
        kind = d.get("optimizer")
        if kind != type(self).__name__:
            raise CheckpointError(
                f"{owner}: the state comes from optimiser {kind!r}, not {type(self).__name__!r}"
            )
        n = d.get("num_params")
        if n != len(self.params):
            raise CheckpointError(
                f"{owner}: the state is for {n} parameters but this optimiser has "
                f"{len(self.params)}"
            )
        missing = [name for name in (*self._hyper_names, "step_count") if name not in d]
        if missing:
            raise CheckpointError(f"{owner}: missing entries {missing}")
        try:
            hyper = self._check_hyper({name: d[name] for name in self._hyper_names}, owner)
        except InvalidArgumentError as exc:
            raise CheckpointError(f"invalid hyper-parameter in the state: {exc}") from None
        step_count = d["step_count"]
        if (
            isinstance(step_count, bool)
            or not isinstance(step_count, (int, np.integer))
            or (step_count < 0)
        ):
            raise CheckpointError(
                f"{owner}: step_count must be an integer >= 0; got {step_count!r}"
            )
        spec = self._state_spec(hyper)
        expected = {"optimizer", "num_params", "step_count", *self._hyper_names}
        states: list[dict[str, np.ndarray]] = []
        for i, p in enumerate(self.params):
            shape = _as_shape(d.get(f"shape.{i}"))
            if shape != p.shape:
                raise CheckpointError(
                    f"{owner}: parameter {i} has shape {p.shape} but the state was saved for "
                    f"shape {d.get(f'shape.{i}')}"
                )
            expected.add(f"shape.{i}")
            state = {}
            for name, kind in spec.items():
                key = f"state.{i}.{name}"
                expected.add(key)
                state[name] = _checked_state(
                    owner, key, d.get(key), p, kind, name in self._nonnegative_state
                )
            states.append(state)
        unexpected = sorted(set(d) - expected)
        if unexpected:
            raise CheckpointError(
                f"{owner}: unexpected entries {unexpected}; is the state from another "
                "optimiser configuration?"
            )
        # Everything is valid: now change the optimiser.
        for name, value in hyper.items():
            object.__setattr__(self, name, value)  # already checked, together
        self.step_count = int(step_count)
        self.state = states

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({hyper}; {len(self.params)} parameters)"

    # ------------------------------------------------------------------ helpers

    def _hyper(self) -> dict[str, Any]:
        """The current hyper-parameters, by name."""
        return {name: getattr(self, name) for name in self._hyper_names}

    def _check_hyper(self, hyper: dict[str, Any], owner: str) -> dict[str, Any]:
        checked = {}
        for name, value in hyper.items():
            rule = _HYPER_RULES.get(name)
            if rule is None:
                raise InvalidArgumentError(
                    f"{owner}: unknown hyper-parameter {name!r}; known ones are "
                    f"{sorted(_HYPER_RULES)}"
                )
            checked[name] = rule(owner, name, value)
        self._check_combination(checked, owner)
        return checked

    def _check_lr(self, op: str) -> None:
        """``lr`` is public and may have been set by hand: refuse values that would corrupt w."""
        lr = self.lr
        if (
            isinstance(lr, bool)
            or not isinstance(lr, (int, float, np.integer, np.floating))
            or not math.isfinite(lr)
            or lr < 0
        ):
            raise InvalidArgumentError(
                f"{type(self).__name__}.{op}: lr must be a finite number >= 0; got {lr!r}. "
                "Was it set by hand or by a schedule?"
            )

    def _gradients(self, op: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(index, w, g) for every parameter with a gradient, all checked before any update."""
        owner = f"{type(self).__name__}.{op}"
        work = []
        states = self.state
        for i, p in enumerate(self.params):
            g = p._grad
            if g is None:
                continue
            w = p._data
            # What every backward pass leaves (a float array of the parameter's own shape and
            # dtype) needs none of the conversions and messages below, only the checks; the
            # state, if any, is checked below.
            if (
                g.__class__ is np.ndarray
                and g.dtype is w.dtype
                and g.shape == w.shape
                and w.dtype.kind == "f"
                and w.flags.writeable
                and not states[i]
            ):
                work.append((i, w, g))
                continue
            if isinstance(g, Tensor):  # left by backward(create_graph=True): use its value
                g = g.data
            g = array_or_object(g)
            w = p.data
            if w.dtype.kind != "f":
                raise DTypeError(
                    f"{owner}: parameter {i} (shape {w.shape}) holds {w.dtype} data; only "
                    "real floating-point parameters can be optimised. Was p.data replaced?"
                )
            if g.dtype.kind not in REAL_KINDS:
                raise DTypeError(
                    f"{owner}: the gradient of parameter {i} (shape {w.shape}) is "
                    f"{_describe(p.grad)}, not an array of real numbers; .grad must be None or "
                    "a float array of the parameter's shape"
                )
            if g.shape != w.shape:
                raise ShapeError(
                    f"{owner}: the gradient of parameter {i} has shape {g.shape} but the "
                    f"parameter has shape {w.shape}; they must be equal"
                )
            for name, value in self.state[i].items():
                if (
                    not isinstance(value, np.ndarray)
                    or value.dtype.kind not in "iuf"
                    or (value.ndim and value.shape != w.shape)
                ):
                    raise ShapeError(
                        f"{owner}: the state {name!r} of parameter {i} is "
                        f"{_describe(value)}, but it must be a real array of the parameter's "
                        f"shape {w.shape} (or a 0-d counter)"
                    )
            if not w.flags.writeable:
                raise InvalidArgumentError(
                    f"{owner}: parameter {i} (shape {w.shape}) holds a read-only array, which "
                    "cannot be updated in place; give it its own copy: p.data = p.data.copy()"
                )
            if g.dtype != w.dtype:
                g = g.astype(w.dtype)
            work.append((i, w, g))
        return work

    def _staged(
        self, i: int, w: np.ndarray, state: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Copies of parameter i's state for a step to work on, and a buffer for its new
        weights (under ""). Made once and reused (again only if a shape or dtype changed),
        so the all-or-nothing step costs a copy per array, not new arrays every step."""
        old = self._stage[i]
        new = {}
        for name, value in (("", w), *state.items()):
            buf = old.get(name)
            if buf is None or buf.shape != value.shape or buf.dtype != value.dtype:
                buf = np.empty_like(value)
            if name:  # the rule reads the state from its copy; the weights it reads from w
                np.copyto(buf, value)
            new[name] = buf
        self._stage[i] = new
        copies = dict(new)
        return copies, copies.pop("")

    def _scratch_for(self, i: int, w: np.ndarray) -> list[np.ndarray]:
        """Parameter i's scratch buffers, made once (again only if its shape or dtype changed)."""
        bufs = self._scratch[i]
        if not bufs or bufs[0].shape != w.shape or bufs[0].dtype != w.dtype:
            bufs = [np.empty_like(w) for _ in range(self._n_scratch)]
            self._scratch[i] = bufs
        return bufs


def _describe(value: Any) -> str:
    """An unexpected value, for a message: its type, and shape and dtype where it has them."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Tensor):
        return f"a Tensor of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__} ({value!r:.40})"


def _new_array(w: np.ndarray, kind: str) -> np.ndarray:
    return np.zeros((), dtype=np.int64) if kind == "count" else np.zeros_like(w)


def _new_state(p: Tensor, spec: dict[str, str]) -> dict[str, np.ndarray]:
    return {name: _new_array(p.data, kind) for name, kind in spec.items()}


def _plain(value: Any) -> Any:
    """0-d arrays (what ``np.load`` gives for numbers and strings) become Python values."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biufU":
        return value.item()
    return value


def _as_shape(value: Any) -> tuple[int, ...] | None:
    """A saved shape as a tuple (``np.savez`` turns the tuple into a 1-d array), or None."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (tuple, list)):
        return None
    for n in value:
        if not isinstance(n, (int, float, np.integer, np.floating)) or not float(n).is_integer():
            return None
    return tuple(int(n) for n in value)


def _checked_state(
    owner: str, key: str, value: Any, p: Tensor, kind: str, nonnegative: bool = False
) -> np.ndarray:
    """A private copy of a saved state array, after checking its shape, dtype and values."""
    if value is None:
        raise CheckpointError(f"{owner}: missing entry {key!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested lists
        raise CheckpointError(
            f"{owner}: {key} must be an array of numbers; got a ragged or non-numeric "
            f"{type(value).__name__}"
        ) from None
    if kind == "count":
        if arr.shape != () or arr.dtype.kind not in "iu" or arr < 0:
            raise CheckpointError(
                f"{owner}: {key} must be an integer >= 0 (a 0-d array); got {value!r}"
            )
        return np.array(arr, dtype=np.int64)
    if arr.shape != p.shape:
        raise CheckpointError(
            f"{owner}: {key} has shape {arr.shape} but parameter has shape {p.shape}"
        )
    if arr.dtype.kind not in "iuf":
        raise CheckpointError(f"{owner}: {key} must hold real numbers; got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(arr, dtype=p.dtype, copy=True)
    if not np.isfinite(out).all():
        what = f"too large for {p.dtype}" if np.isfinite(arr).all() else "inf or NaN"
        raise CheckpointError(f"{owner}: {key} holds values that are {what}")
    if nonnegative and (out < 0).any():
        raise CheckpointError(
            f"{owner}: {key} is a running sum or average of squares, so it cannot be "
            f"negative; it holds {out[out < 0].flat[0]:g}. The state is corrupt."
        )
    return out
