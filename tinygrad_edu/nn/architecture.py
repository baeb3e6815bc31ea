"""A model's architecture as JSON, so that ``MLP.load("m.npz")`` can build the model it fills.

:meth:`Module.save` stores, beside the arrays, one entry ``__architecture__``: the JSON text of
``{"class": ..., "config": ...}``, where ``config`` holds the keyword arguments that rebuild
the module (:meth:`Module.config`) and containers list their layers' own specs. Loading reads
it without pickle and builds only classes that are already defined (every Module subclass is
registered when its class statement runs): a file can name a class, never import or run code.
A module whose ``config()`` is None (a user's model that does not say how to rebuild it) is
saved without an architecture and loads only into an instance, as before.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import CheckpointError

__all__ = ["ARCHITECTURE_KEY", "build", "decode", "encode", "register", "spec_of"]

#: The .npz entry that holds the architecture (UTF-8 JSON as a uint8 array).
ARCHITECTURE_KEY = "__architecture__"
#: The most bytes an architecture entry may have: a spec is small, a larger entry is refused.
MAX_BYTES = 1 << 20

_CLASSES: dict[str, type] = {}


def register(cls: type) -> None:
    """Make ``cls`` buildable by its name (``Module.__init_subclass__`` calls this)."""
    _CLASSES[_name(cls)] = cls


def _name(cls: type) -> str:
    """Short names for the package's own layers, module-qualified names for everyone else's."""
    if cls.__module__.startswith("tinygrad_edu."):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def spec_of(module: Any) -> dict[str, Any] | None:
    """``{"class": name, "config": kwargs}`` for ``module``, or None if it cannot be rebuilt."""
    config = module.config()
    if config is None:
        return None
    return {"class": _name(type(module)), "config": config}


def encode(spec: dict[str, Any]) -> np.ndarray:
    """The spec as the uint8 array stored in the file."""
    return np.frombuffer(json.dumps(spec, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def decode(path: str, data: np.ndarray) -> dict[str, Any]:
    """The spec stored in a file, checked to be of the right form."""
    try:
        spec = json.loads(bytes(np.asarray(data, dtype=np.uint8)).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"load({path!r}): the architecture entry is not JSON: {exc}"
        ) from None
    _check_spec(path, spec)
    return spec


def _check_spec(path: str, spec: Any) -> None:
    if not (isinstance(spec, dict) and isinstance(spec.get("class"), str)
            and isinstance(spec.get("config"), dict)):
        raise CheckpointError(
            f"load({path!r}): the architecture entry must be {{'class': name, 'config': "
            f"{{...}}}}; got {str(spec)[:80]}"
        )


def build(path: str, spec: dict[str, Any]) -> Any:
    """A new module from its spec (layers of containers built first, each from its own spec)."""
    _check_spec(path, spec)
    name, config = spec["class"], dict(spec["config"])
    cls = _CLASSES.get(name)
    if cls is None:
        raise CheckpointError(
            f"load({path!r}): the file holds a {name}, which is not defined here; import the "
            f"module that defines it first, or build the model yourself and call model.load(path)"
        )
    if "layers" in config:  # a container: its layers are specs of their own
        config["layers"] = [build(path, layer) for layer in config["layers"]]
    try:
        return cls.from_config(config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"load({path!r}): cannot build {name}({config}): {exc}") from None
