"""The settings a sweep tries: a grid of hyperparameters expanded into a list of dicts.

A grid is either a dict of lists, ``{"lr": [0.01, 0.1], "hidden": [8, 16]}``, whose settings
are every combination (the Cartesian product, the first key varying slowest), or a list of such
dicts, whose expansions follow one another (to try combinations that only make sense together).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgumentError

__all__ = ["expand_grid"]


def _expand_one(grid: Any, where: str, op: str) -> list[dict[str, Any]]:
    if not isinstance(grid, Mapping):
        raise InvalidArgumentError(
            f"{op}: {where} must be a dict of lists such as {{'lr': [0.01, 0.1]}}; "
            f"got {type(grid).__name__} {grid!r}"
        )
    if not grid:
        raise InvalidArgumentError(
            f"{op}: {where} is empty: give at least one hyperparameter and the values to try, "
            "e.g. {'lr': [0.01, 0.1]}"
        )
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidArgumentError(
                f"{op}: {where} has the key {name!r}; keys are the keyword names build() takes"
            )
        if name == "rng":
            raise InvalidArgumentError(
                f"{op}: {where} has the key 'rng', which the sweep passes itself (the trial's "
                "Generator, for reproducible trials); choose the seed with seed= instead"
            )
        if not isinstance(values, (list, tuple)):
            raise InvalidArgumentError(
                f"{op}: the value of {name!r} in {where} must be a list of the values to try; "
                f"got {type(values).__name__} {values!r}. For a single value write "
                f"{{{name!r}: [{values!r}]}}"
            )
        if len(values) == 0:
            raise InvalidArgumentError(
                f"{op}: the list of values of {name!r} in {where} is empty: give at least one"
            )
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]


def expand_grid(grid: Any, op: str = "grid_search") -> list[dict[str, Any]]:
    """Every setting of ``grid``, in order, as a list of keyword dicts for ``build``.

    Args:
        grid: a dict mapping each hyperparameter to the list of values to try, or a non-empty
            list of such dicts.
        op: the name used in error messages.

    Raises:
        InvalidArgumentError: an empty grid, a value that is not a list, an empty list, a key
            that is not a keyword name (or is ``rng``, which the sweep passes itself).

    Example:
        >>> from tinygrad_edu.tune import expand_grid
        >>> expand_grid({"lr": [0.1, 1.0], "momentum": [0.0, 0.9]})
        [{'lr': 0.1, 'momentum': 0.0}, {'lr': 0.1, 'momentum': 0.9}, {'lr': 1.0, 'momentum': 0.0}, {'lr': 1.0, 'momentum': 0.9}]
        >>> expand_grid([{"lr": [0.1]}, {"lr": [0.01], "momentum": [0.9]}])
        [{'lr': 0.1}, {'lr': 0.01, 'momentum': 0.9}]
    """  # noqa: E501
    if isinstance(grid, Mapping):
        return _expand_one(grid, "the grid", op)
    if isinstance(grid, (list, tuple)):
        if not grid:
            raise InvalidArgumentError(
                f"{op}: the grid is an empty list; give a dict of lists such as "
                "{'lr': [0.01, 0.1]} or a non-empty list of them"
            )
        settings: list[dict[str, Any]] = []
        for i, part in enumerate(grid):
            settings += _expand_one(part, f"grid[{i}]", op)
        return settings
    raise InvalidArgumentError(
        f"{op}: grid must be a dict of lists such as {{'lr': [0.01, 0.1]}} or a list of them; "
        f"got {type(grid).__name__} {grid!r}"
    )
