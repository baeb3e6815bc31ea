"""What a sweep found: every trial, a table per setting, the best setting, JSON and plots.

:class:`SearchResult` keeps every :class:`~tinygrad_edu.tune.trial.TrialResult` and summarises
them per setting: the mean and spread (population standard deviation over the folds, as
scikit-learn reports it) of the validation loss and accuracy, the per-fold values, and the
training time. A setting takes part in the ranking when none of its finished folds failed or
diverged; settings with every fold finished rank before those an interrupted sweep left
incomplete.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..train import History, write_json
from .trial import TrialResult, jsonable

__all__ = ["SCORES", "SearchResult"]

# score name -> whether larger is better
SCORES = {"val_loss": False, "val_accuracy": True}


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std())


@dataclass
class SearchResult:
    """The outcome of :func:`~tinygrad_edu.tune.grid_search` or
    :func:`~tinygrad_edu.tune.cross_validate`.

    Attributes:
        settings: the expanded grid, one dict of hyperparameters per setting.
        trials: every finished trial, ordered by trial index (settings outer, folds inner).
        k: the number of folds.
        seed: the sweep's seed (folds and every trial's seed derive from it).
        score: what ranks the settings: "val_loss" (lower is better) or "val_accuracy".
        backend: the engine that ran the trials.
        fit_options: how every trial trained (epochs, batch_size, shuffle, preprocess).
        interrupted: the sweep was stopped (Ctrl-C) before every trial finished.
        elapsed: wall-clock seconds of the whole sweep.
        best_model: the best setting retrained on all the data (``refit=True``), else None.
        best_history: the History of that retraining, else None.
        preprocessor: the preprocessing fitted on all the data for ``best_model`` (apply it
            to new inputs before the model), else None.
    """

    settings: list[dict[str, Any]]
    trials: list[TrialResult]
    k: int
    seed: int
    score: str = "val_loss"
    backend: str = "sequential"
    fit_options: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    elapsed: float = 0.0
    best_model: Any = field(default=None, repr=False)
    best_history: History | None = field(default=None, repr=False)
    preprocessor: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ per setting

    def trials_of(self, setting: int) -> list[TrialResult]:
        """The finished trials of one setting, by fold."""
        return sorted((t for t in self.trials if t.setting == setting), key=lambda t: t.fold)

    @property
    def table(self) -> list[dict[str, Any]]:
        """One row per setting.

        Keys: ``setting`` (index), ``params``, ``mean_val_loss``, ``std_val_loss``,
        ``mean_val_accuracy``, ``std_val_accuracy`` (None for regression), ``val_loss`` and
        ``val_accuracy`` (one entry per fold, None where the fold did not finish or failed),
        ``mean_time`` (seconds per trial), ``folds_done``, ``failed`` (failed or diverged
        folds), ``complete`` (every fold finished and none failed) and ``errors``.
        """
        rows = []
        for s, params in enumerate(self.settings):
            trials = self.trials_of(s)
            by_fold = {t.fold: t for t in trials}
            ok = [t for t in trials if t.ok]
            losses = [t.val_loss for t in ok]
            accs = [t.val_accuracy for t in ok if t.val_accuracy is not None]
            mean_loss, std_loss = _mean_std(losses)
            mean_acc, std_acc = _mean_std(accs) if accs else (None, None)
            failed = [t for t in trials if not t.ok]
            rows.append(
                {
                    "setting": s,
                    "params": params,
                    "mean_val_loss": mean_loss,
                    "std_val_loss": std_loss,
                    "mean_val_accuracy": mean_acc,
                    "std_val_accuracy": std_acc,
                    "val_loss": [
                        by_fold[f].val_loss if f in by_fold and by_fold[f].ok else None
                        for f in range(self.k)
                    ],
                    "val_accuracy": [
                        by_fold[f].val_accuracy if f in by_fold and by_fold[f].ok else None
                        for f in range(self.k)
                    ],
                    "mean_time": float(np.mean([t.time for t in trials])) if trials else None,
                    "folds_done": len(trials),
                    "failed": len(failed),
                    "complete": len(ok) == self.k,
                    "errors": [f"fold {t.fold}: {t.error}" for t in failed],
                }
            )
        return rows

    # ------------------------------------------------------------------ the best setting

    @property
    def best_index(self) -> int:
        """Index of the best setting by ``score`` (complete settings first).

        Raises:
            InvalidArgumentError: no setting has a finished fold without failure.
        """
        higher = SCORES[self.score]
        candidates = []
        for row in self.table:
            value = row["mean_" + self.score]
            if row["failed"] or value is None or not math.isfinite(value):
                continue
            candidates.append((not row["complete"], -value if higher else value, row["setting"]))
        if not candidates:
            raise InvalidArgumentError(
                "SearchResult: no setting has a finished fold that trained without failing, so "
                f"there is no best one; the errors: {self.errors()[:3]}"
            )
        return min(candidates)[2]

    @property
    def best_params(self) -> dict[str, Any]:
        """The hyperparameters of the best setting."""
        return dict(self.settings[self.best_index])

    @property
    def best_score(self) -> float:
        """The mean validation ``score`` of the best setting over its folds."""
        return float(self.table[self.best_index]["mean_" + self.score])

    def errors(self) -> list[str]:
        """Every failed or diverged trial's error, with its setting and fold."""
        return [
            f"setting {t.setting} {t.params}, fold {t.fold} ({t.status}): {t.error}"
            for t in self.trials
            if not t.ok
        ]

    def histories(self, setting: int) -> list[History]:
        """The training History of each finished fold of one setting."""
        return [t.history for t in self.trials_of(setting) if t.history is not None]

    # ------------------------------------------------------------------ text

    def format_table(self) -> str:
        """The table as markdown text, the best setting marked with ``*``."""
        try:
            best = self.best_index
        except InvalidArgumentError:
            best = -1
        lines = [
            "| | setting | val loss (mean ± std) | val accuracy | per-fold val loss | s/trial |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.table:
            params = ", ".join(f"{k}={v!r}" for k, v in row["params"].items()) or "(defaults)"
            loss = f"{row['mean_val_loss']:.4g} ± {row['std_val_loss']:.2g}"
            acc = (
                "–" if row["mean_val_accuracy"] is None
                else f"{row['mean_val_accuracy']:.3f} ± {row['std_val_accuracy']:.2g}"
            )  # fmt: skip
            folds = " ".join("–" if v is None else f"{v:.3g}" for v in row["val_loss"])
            if row["failed"]:
                folds += f" ({row['failed']} failed)"
            time = "–" if row["mean_time"] is None else f"{row['mean_time']:.2f}"
            mark = "*" if row["setting"] == best else ""
            lines.append(f"| {mark} | {params} | {loss} | {acc} | {folds} | {time} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """Everything but the refitted model, as JSON-friendly values."""
        try:
            best = self.best_index
        except InvalidArgumentError:
            best = None
        return {
            "settings": [jsonable(s) for s in self.settings],
            "k": self.k,
            "seed": self.seed,
            "score": self.score,
            "backend": self.backend,
            "fit_options": self.fit_options,
            "interrupted": self.interrupted,
            "elapsed": self.elapsed,
            "best_index": best,
            "table": [{**row, "params": jsonable(row["params"])} for row in self.table],
            "trials": [t.to_dict() for t in self.trials],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON, atomically (as History files are written).

        Example:
            >>> import os, tempfile
            >>> from tinygrad_edu.tune import SearchResult
            >>> path = os.path.join(tempfile.mkdtemp(), "sweep.json")
            >>> SearchResult([{"lr": 0.1}], [], k=2, seed=0).save(path)
            >>> SearchResult.load(path).settings
            [{'lr': 0.1}]
        """
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SearchResult:
        """Read a file written by :meth:`save` (without the refitted model)."""
        with open(path) as f:
            d = json.load(f)
        return cls(
            settings=d["settings"],
            trials=[TrialResult.from_dict(t) for t in d["trials"]],
            k=d["k"],
            seed=d["seed"],
            score=d["score"],
            backend=d["backend"],
            fit_options=d["fit_options"],
            interrupted=d["interrupted"],
            elapsed=d["elapsed"],
        )

    # ------------------------------------------------------------------ pictures

    def plot(self, param: str = "lr", **kwargs: Any) -> Any:
        """:func:`~tinygrad_edu.tune.plots.plot_validation_curve` of this result."""
        from .plots import plot_validation_curve

        return plot_validation_curve(self, param=param, **kwargs)

    def plot_curves(self, **kwargs: Any) -> Any:
        """:func:`~tinygrad_edu.tune.plots.plot_training_curves` of this result."""
        from .plots import plot_training_curves

        return plot_training_curves(self, **kwargs)
