"""Module: the base class of layers and models, and their checkpoints.

A Module is an ordinary Python object whose attributes are searched, in the order they were
first assigned, for what makes up a model:

* a **parameter** is a leaf Tensor attribute with ``requires_grad=True`` (a Tensor computed
  from others, such as an activation kept for inspection, is not one);
* a **buffer** is non-trainable state, a numpy array registered with :meth:`register_buffer`
  (BatchNorm's running statistics);
* a **submodule** is a Module attribute. Lists, tuples and dicts of Modules or parameters are
  searched too.

Names are dotted paths, as in PyTorch: ``layers.0.weight``, ``blocks.key.bias``. A tensor or
module reached along two paths (tied weights) counts once, under the first name.

``state_dict`` / ``load_state_dict`` move the numbers in and out as numpy arrays; ``save`` /
``load`` write and read them as an ``.npz`` file without pickle, so loading a file never runs
code. Loading validates everything before changing anything.
"""

from __future__ import annotations

import os
import types
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd import Scope, grad_state, made_outside, recording_anywhere
from ..checkpoint import Entry, read_npz, write_npz
from ..checks import REAL_KINDS
from ..errors import CheckpointError, InvalidArgumentError
from ..tensor import Tensor, as_array
from . import architecture

__all__ = ["IncompatibleKeys", "Module"]

# np.savez(file, *args, allow_pickle=..., **kwds): entries with these names would be taken
# as its arguments.
_SAVEZ_ARGUMENTS = frozenset({"file", "allow_pickle"})
# The engine's per-thread state (see autograd.grad_state); each thread sees its own through it.
_ENGINE = grad_state()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(d, strict=False)`` skipped: keys missing from d, keys it ignored."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _is_parameter(value: Any) -> bool:
    # Only leaves: a non-leaf tensor kept on a module (say ``self.out``, the last activation
    # saved for plotting) is not something an optimiser can update.
    return isinstance(value, Tensor) and value.requires_grad and value.is_leaf


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


class _hybridmethod:  # noqa: N801  (used like classmethod)
    """A method that receives the class when called on the class, the instance otherwise.

    ``Module.load`` is one: ``MLP.load(path)`` builds a model from the architecture recorded
    in the file, ``model.load(path)`` fills an existing model in place (PyTorch users expect
    the first, the course's scripts use the second).
    """

    def __init__(self, func: Any) -> None:
        self.func = func
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        return types.MethodType(self.func, cls if obj is None else obj)


class Module:
    """Base class of layers and models: subclass it, set attributes, write ``forward``.

    ``model(x)`` runs ``model.forward(x)``. Parameters, buffers and submodules are found from
    the attributes (see the module docstring), so nothing needs registering except buffers.

    Example:
        >>> import numpy as np
        >>> from tinygrad_edu import Tensor
        >>> from tinygrad_edu.nn import Linear, Module
        >>> class Net(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = Linear(2, 3, rng=0)
        ...         self.out = Linear(3, 1, rng=1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).tanh())
        >>> net = Net()
        >>> [name for name, _ in net.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
        >>> net(np.ones((4, 2))).shape
        (4, 1)
    """

    # Class-level defaults, so a subclass that forgets super().__init__() still works.
    training: bool = True
    _buffer_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.training = True
        self._buffer_names = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        architecture.register(cls)  # so that a saved architecture can name it

    # ------------------------------------------------------------------ architecture

    def config(self) -> dict[str, Any] | None:
        """The keyword arguments that rebuild this module (its weights aside), or None.

        Saved with the weights, so that ``type(model).load(path)`` can build the model
        before filling it. The package's layers return their settings (``Linear``:
        ``in_features``, ``out_features``, ``bias``); containers return ``{"layers":
        [...]}``. A subclass of yours returns None unless it overrides this (and, when its
        constructor is not ``cls(**config)``, :meth:`from_config`); its files then load
        only into an instance built by hand, with ``model.load(path)``.
        """
        return None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        """A new module from :meth:`config`'s dict (``cls(**config)`` unless overridden)."""
        return cls(**config)

    # ------------------------------------------------------------------ running

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it. Call the module, not ``forward``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(); define forward(self, x) in the subclass"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows the module's layers as a picture (when a renderer exists)."""
        from ..viz.jupyter import mimebundle

        return mimebundle(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # This thread's engine state, read once; then what ``with Scope(name):`` does, written
        # out (no __enter__/__exit__ calls), and __class__ read instead of calling type():
        # with Scope's serial taken lazily and autograd.scoped written out the same way, a
        # module call went from 10,500 to 6,600 instructions and W1 (7 module calls and a
        # loss a step) from 914k to 884k (-3.3%).
        state = _ENGINE.state
        if state.recorder is not None:
            # A jit recording guards its replays on this module's train/eval mode.
            state.recorder.on_module(self)
        # The scope lets drawings collapse this call into one box named after the class.
        outer = state.scope
        state.scope = (*outer, Scope(self.__class__.__name__))
        try:
            return self.forward(*args, **kwargs)
        finally:
            state.scope = outer

    # ------------------------------------------------------------------ discovery

    def _attributes(self) -> Iterator[tuple[str, Any]]:
        """The (name, value) pairs searched for parameters, buffers and submodules.

        The instance's attributes in the order they were first assigned. Containers
        (Sequential) override this to name their items "0", "1", ...
        """
        return iter(vars(self).items())

    def _direct_members(self) -> Iterator[tuple[str, Any]]:
        """(relative name, value) of every parameter, buffer and child module held directly:
        attributes, and the items of lists, tuples and dicts in them (at any nesting)."""
        buffers = set(self._buffer_names)
        for name, value in self._attributes():
            if name in buffers:
                if isinstance(value, np.ndarray):
                    yield name, value
                continue
            yield from _search(value, name, set())

    def _walk(self) -> Iterator[tuple[str, str, Any]]:
        """(kind, dotted name, value) for every submodule, parameter and buffer below self.

        Depth first in definition order; kind is "module", "parameter" or "buffer". Each
        object appears once, under the first name that reaches it (tied weights, a module
        used twice); cycles (a child that refers back to its parent) are cut.
        """
        seen_modules = {id(self)}
        seen_values: set[int] = set()

        def visit(module: Module, prefix: str) -> Iterator[tuple[str, str, Any]]:
            for name, value in module._direct_members():
                full = prefix + name
                if isinstance(value, Module):
                    if id(value) in seen_modules:
                        continue
                    seen_modules.add(id(value))
                    yield "module", full, value
                    yield from visit(value, full + ".")
                elif id(value) not in seen_values:
                    seen_values.add(id(value))
                    yield ("parameter" if isinstance(value, Tensor) else "buffer"), full, value

        return visit(self, "")

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """(dotted name, tensor) for every parameter, in definition order, each once."""
        return [(name, v) for kind, name, v in self._walk() if kind == "parameter"]

    def parameters(self) -> list[Tensor]:
        """Every parameter (leaf tensor with ``requires_grad=True``), each once.

        Example:
            >>> from tinygrad_edu.nn import Linear
            >>> [p.shape for p in Linear(3, 2).parameters()]
            [(2, 3), (2,)]
        """
        return [v for kind, _, v in self._walk() if kind == "parameter"]

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        """(dotted name, array) for every registered buffer, in definition order."""
        return [(name, v) for kind, name, v in self._walk() if kind == "buffer"]

    def buffers(self) -> list[np.ndarray]:
        """Every registered buffer array (the arrays themselves, not copies)."""
        return [v for kind, _, v in self._walk() if kind == "buffer"]

    def named_modules(self) -> list[tuple[str, Module]]:
        """("", self) and then (dotted name, module) for every submodule, each once."""
        return [("", self)] + [(name, v) for kind, name, v in self._walk() if kind == "module"]

    def modules(self) -> list[Module]:
        """self and every submodule, depth first, each once."""
        return [m for _, m in self.named_modules()]

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, module) for the modules held directly by self (not their submodules)."""
        out: list[tuple[str, Module]] = []
        seen = {id(self)}
        for name, value in self._direct_members():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                out.append((name, value))
        return out

    def children(self) -> list[Module]:
        """The modules held directly by self."""
        return [m for _, m in self.named_children()]

    def num_parameters(self) -> int:
        """The number of trainable numbers: the sum of the sizes of :meth:`parameters`."""
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------------ buffers

    def register_buffer(self, name: str, value: Any) -> None:
        """Keep a numpy array as non-trainable state: saved and loaded, never optimised.

        The array becomes the attribute ``name``. Update it in place (``buf[...] = new``) so
        that it stays the array that ``load_state_dict`` fills.

        Example:
            >>> import numpy as np
            >>> from tinygrad_edu.nn import Module
            >>> m = Module()
            >>> m.register_buffer("count", np.zeros(1))
            >>> m.named_buffers()
            [('count', array([0.]))]
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidArgumentError(
                f"register_buffer: the name must be a valid attribute name; got {name!r}"
            )
        array = np.array(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in REAL_KINDS:
            raise InvalidArgumentError(
                f"register_buffer({name!r}): a buffer must be a numeric array; got "
                f"{_describe(array)}"
            )
        if name not in self._buffer_names:
            self._buffer_names = (*self._buffer_names, name)
        setattr(self, name, array)

    # ------------------------------------------------------------------ modes and gradients

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``training=mode``) on self and every submodule; returns self.

        Training mode changes what Dropout and BatchNorm1d compute.
        """
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode on the whole tree (``train(False)``); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad = None``)."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------------ state

    def _state(self) -> list[tuple[str, np.ndarray]]:
        """(name, the live array) of every parameter and buffer, in definition order."""
        return [
            (name, v.data if kind == "parameter" else v)
            for kind, name, v in self._walk()
            if kind != "module"
        ]

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Name -> a copy of the array, for every parameter and buffer.

        Copies: changing the dictionary never changes the model (and vice versa).

        Example:
            >>> from tinygrad_edu.nn import Linear
            >>> list(Linear(3, 2, rng=0).state_dict())
            ['weight', 'bias']
        """
        return OrderedDict((name, np.array(a, copy=True)) for name, a in self._state())

    def _check_state(
        self, state: Any, strict: bool
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], IncompatibleKeys, list[str]]:
        """Validate ``state`` against the model without changing anything.

        Returns the (target, value) pairs to copy, the keys that do not match, and the list of
        problems (empty when the state can be loaded).
        """
        if not isinstance(state, Mapping):
            return [], IncompatibleKeys([], []), [
                f"expected a mapping of names to arrays (a state_dict); got {type(state).__name__}"
            ]
        targets = dict(self._state())
        missing = [k for k in targets if k not in state]
        # dict(np.load(path)) of a saved model holds its architecture too: not a weight.
        unexpected = [str(k) for k in state
                      if k not in targets and k != architecture.ARCHITECTURE_KEY]
        problems: list[str] = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        pairs = []
        for name, target in targets.items():
            if name not in state:
                continue
            raw = state[name]
            try:
                value = np.asarray(raw.data if isinstance(raw, Tensor) else raw)
            except (TypeError, ValueError):  # ragged lists and other non-arrays
                problems.append(f"{name!r}: not an array ({type(raw).__name__})")
                continue
            problem = _entry_problem(name, value.shape, value.dtype, target)
            if problem is None and not target.flags.writeable:
                problem = f"{name!r}: the model's array is read-only"
            if problem is None:
                # Cast now, so that a value the model's dtype cannot hold (1e300 into float32)
                # is found before anything is copied, not halfway through the copy.
                with np.errstate(over="ignore", invalid="ignore"):
                    cast = value.astype(target.dtype, copy=value.dtype != target.dtype)
                if value.dtype.kind == "f" and cast is not value:
                    overflow = np.isfinite(value) & ~np.isfinite(cast)
                    if overflow.any():
                        worst = value[overflow].flat[0]
                        problem = (
                            f"{name!r}: {int(overflow.sum())} value(s) such as {worst:g} are too "
                            f"large for the model's dtype {target.dtype}"
                        )
            if problem is None:
                pairs.append((target, cast))
            else:
                problems.append(problem)
        return pairs, IncompatibleKeys(missing, unexpected), problems

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy the arrays of ``state_dict`` into the model's parameters and buffers, in place.

        Everything is validated first: missing or unexpected keys (when ``strict``), shapes,
        and dtypes (numeric only). On any problem a :class:`CheckpointError` lists them all and
        the model is unchanged. Values are cast to each parameter's dtype and written into the
        existing arrays (``p.data[...] = value``), so an optimiser holding the tensors keeps
        working.

        Args:
            state_dict: name -> array (or Tensor), as made by :meth:`state_dict`.
            strict: require exactly the model's keys; with False, missing and unexpected keys
                are skipped (shapes and dtypes are still checked) and returned.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Example:
            >>> from tinygrad_edu.nn import Linear
            >>> a, b = Linear(3, 2, rng=0), Linear(3, 2, rng=1)
            >>> b.load_state_dict(a.state_dict())
            IncompatibleKeys(missing_keys=[], unexpected_keys=[])
            >>> bool((a.weight.data == b.weight.data).all())
            True
        """
        pairs, keys, problems = self._check_state(state_dict, strict)
        if problems:
            raise CheckpointError(
                f"load_state_dict: cannot load into {type(self).__name__}; nothing was changed. "
                + "; ".join(problems)
            )
        self._assign(pairs)
        return keys

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state_dict` to ``path`` as an ``.npz`` archive, atomically.

        The file is written at exactly ``path`` (no ".npz" is appended). It is first written
        to a temporary file in the same directory and then moved onto ``path`` in one step, so
        a crash midway leaves the previous file intact and never a half-written one.

        Example:
            >>> import os, tempfile
            >>> from tinygrad_edu.nn import Linear
            >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
            >>> Linear(3, 2, rng=0).save(path)
            >>> Linear(3, 2).load(path).weight.shape
            (2, 3)
        """
        path = os.fspath(path)
        arrays = self.state_dict()
        clash = [k for k in arrays if k in _SAVEZ_ARGUMENTS]
        if clash:
            raise InvalidArgumentError(
                f"save: np.savez cannot store entries named {clash}: they are its own argument "
                "names. Rename those attributes."
            )
        spec = architecture.spec_of(self)
        if spec is not None:
            arrays[architecture.ARCHITECTURE_KEY] = architecture.encode(spec)
        write_npz(path, arrays)

    @_hybridmethod
    def load(self, path: str | os.PathLike[str]) -> Module:
        """Fill the model in place from a file written by :meth:`save`; returns self.

        Called on a class instead (``MLP.load(path)``, as in PyTorch), it builds the model
        from the architecture the file records (see :meth:`config`) and fills that; the file
        must hold an instance of that class (``Module.load(path)`` takes any).

        The file is read with ``allow_pickle=False``: loading never runs code. A file that is
        not an ``.npz`` archive of numeric arrays, or whose names or shapes do not match the
        model, raises :class:`CheckpointError` and leaves the model unchanged. Names, shapes
        and dtypes are checked from the entries' headers before any data is read, so what
        loading allocates is bounded by the size of the model (a small file that claims a
        huge array, or inflates to one, is refused at once). If ``path`` does
        not exist but ``path + ".npz"`` does (numpy's own naming), that file is read.

        Example:
            >>> import os, tempfile
            >>> from tinygrad_edu.nn import MLP
            >>> path = os.path.join(tempfile.mkdtemp(), "mlp")
            >>> MLP([2, 4, 1], rng=0).save(path)
            >>> model = MLP([2, 4, 1]).load(path)
        """
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path = path + ".npz"
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no checkpoint file at {path!r}")
        if isinstance(self, type):
            return self._load_new(path)
        arrays = read_npz(path, check=lambda entries, _: self._check_entries(path, entries))
        arrays.pop(architecture.ARCHITECTURE_KEY, None)
        return self._fill(path, arrays)

    @classmethod
    def _load_new(cls, path: str) -> Module:
        """``cls.load(path)``: build the recorded architecture, check, read, fill."""
        built: list[Module] = []

        def check(entries: dict[str, Entry], read: Any) -> None:
            entry = entries.get(architecture.ARCHITECTURE_KEY)
            if entry is None:
                raise CheckpointError(
                    f"{cls.__name__}.load({path!r}): the file records no architecture (it was "
                    "saved from a model whose config() is None, or by hand). Build the model "
                    f"and fill it: model = {cls.__name__}(...); model.load(path)"
                )
            limit = architecture.MAX_BYTES
            if entry.dtype != np.uint8 or len(entry.shape) != 1 or entry.nbytes > limit:
                raise CheckpointError(
                    f"{cls.__name__}.load({path!r}): the architecture entry must be at most "
                    f"{limit} bytes of JSON; got {entry.dtype} of shape {entry.shape}"
                )
            spec = architecture.decode(path, read(architecture.ARCHITECTURE_KEY))
            model = architecture.build(path, spec)
            if not isinstance(model, cls):
                raise CheckpointError(
                    f"{cls.__name__}.load({path!r}): the file holds a {type(model).__name__}, "
                    f"not a {cls.__name__}; use {type(model).__name__}.load or Module.load"
                )
            model._check_entries(path, entries)
            built.append(model)

        arrays = read_npz(path, check=check)
        arrays.pop(architecture.ARCHITECTURE_KEY, None)
        return built[0]._fill(path, arrays)

    def _fill(self, path: str, arrays: dict[str, np.ndarray]) -> Module:
        """Copy a file's arrays into the model, all or nothing; returns self."""
        pairs, _, problems = self._check_state(arrays, strict=True)
        if problems:
            raise CheckpointError(
                f"load({path!r}): the file does not fit {type(self).__name__}; the model was not "
                "changed. " + "; ".join(problems)
            )
        self._assign(pairs)
        return self

    def _check_entries(self, path: str, entries: dict[str, Entry]) -> None:
        """Refuse a file from its headers alone, before any data is read: exactly the
        model's names, each with the model's shape and a numeric dtype. What reading then
        allocates is bounded by the size of the model."""
        targets = dict(self._state())
        entries = {k: v for k, v in entries.items() if k != architecture.ARCHITECTURE_KEY}
        problems = []
        missing = [k for k in targets if k not in entries]
        unexpected = [k for k in entries if k not in targets]
        if missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, entry in entries.items():
            if name in targets:
                problem = _entry_problem(name, entry.shape, entry.dtype, targets[name])
                if problem is not None:
                    problems.append(problem)
        if problems:
            raise CheckpointError(
                f"load({path!r}): the file does not fit {type(self).__name__}; nothing was read "
                "and the model was not changed. " + "; ".join(problems)
            )

    def _assign(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Copy validated values into the existing arrays, and mark the parameters changed
        (a graph recorded before the load must not backpropagate through the new values)."""
        for target, value in pairs:
            target[...] = value
        for p in self.parameters():
            p._bump_version()

    # ------------------------------------------------------------------ display

    def extra_repr(self) -> str:
        """The layer's settings shown inside its parentheses, e.g. ``in_features=2, ...``."""
        return ""

    def _tree_repr(self, ancestors: frozenset[int]) -> str:
        head = type(self).__name__
        extra = [line for line in self.extra_repr().split("\n") if line]
        entries = []
        if not extra:
            # Modules without their own description show their direct parameters instead.
            shown: set[int] = set()
            for name, value in self._direct_members():
                if isinstance(value, Tensor) and id(value) not in shown:
                    shown.add(id(value))
                    entries.append(f"({name}): Parameter(shape={value.shape}, dtype={value.dtype})")
        inner = ancestors | {id(self)}
        for name, child in self.named_children():
            if id(child) in inner:
                text = f"<cycle: {type(child).__name__}>"
            else:
                text = child._tree_repr(inner)
            entries.append(f"({name}): {text}")
        if not entries and len(extra) <= 1:
            return f"{head}({extra[0] if extra else ''})"
        body = "\n".join("  " + line for text in extra + entries for line in text.split("\n"))
        return f"{head}(\n{body}\n)"

    def __repr__(self) -> str:
        """A PyTorch-like tree of the submodules, then ``Trainable parameters: 1,234``.

        The count appears once, under the whole tree; modules with nothing trainable and no
        submodules (``ReLU()``) show no count.
        """
        tree = self._tree_repr(frozenset())
        count = self.num_parameters()
        if count == 0 and not self.named_children():
            return tree  # ReLU(), not ReLU() with "Trainable parameters: 0" under it
        return f"{tree}\nTrainable parameters: {count:,}"


# ----------------------------------------------------------------------------- helpers


def _search(value: Any, name: str, seen: set[int]) -> Iterator[tuple[str, Any]]:
    """Modules and parameters in ``value``: itself, or the items of a list, tuple or dict."""
    if isinstance(value, Module) or _is_parameter(value):
        yield name, value
    elif isinstance(value, (list, tuple, dict)):
        if id(value) in seen:  # a container that contains itself
            return
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _search(item, f"{name}.{key}", seen)


def _entry_problem(
    name: str, shape: tuple[int, ...], dtype: np.dtype, target: np.ndarray
) -> str | None:
    """Why a value of this shape and dtype cannot be loaded into ``target``, or None."""
    if dtype.kind not in "iuf" or dtype.itemsize > 16:
        return f"{name!r}: dtype {dtype} is not numeric; expected a float array"
    if shape != target.shape:
        return f"{name!r}: shape {shape} does not match the model's {target.shape}"
    return None


def as_input(x: Any, dtype: Any = None) -> Tensor:
    """A layer's input as a Tensor: Tensors as they are, arrays and lists converted.

    ``dtype`` (a layer's parameter dtype) is given to converted data, so float64 numpy data
    meets float32 weights as float32, the way the model computes.
    """
    if isinstance(x, Tensor):
        return x
    data = as_array(x, dtype)
    if data is not x and recording_anywhere():  # a jit replay converts each new batch again
        made_outside(as_array, (x, dtype), data)
    return Tensor(data, dtype=dtype)
