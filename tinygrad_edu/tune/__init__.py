"""Choosing hyperparameters the way the course notes say: cross-validation and sweeps.

* ``search.py``: :func:`grid_search` and :func:`cross_validate`;
* ``grid.py``: :func:`expand_grid` (a dict of lists, or a list of them, into settings);
* ``folds.py``: :func:`make_folds` (k folds, stratified for class labels);
* ``trial.py``: one (setting, fold) trial, :func:`run_trial`, and its :class:`TrialResult`;
* ``engines.py``: where the trials run: in this process, joblib threads or processes, Dask, Ray;
* ``results.py``: :class:`SearchResult` (table, best setting, JSON);
* ``plots.py``: validation loss against the learning rate, and the training curves.

Example:
    >>> from tinygrad_edu.tune import expand_grid
    >>> len(expand_grid({"lr": [1e-3, 1e-2, 1e-1], "momentum": [0.0, 0.9]}))
    6
"""

from .folds import make_folds
from .grid import expand_grid
from .plots import plot_training_curves, plot_validation_curve
from .results import SearchResult
from .search import TuneWarning, cross_validate, grid_search
from .trial import TrialResult, trial_seed

__all__ = [
    "SearchResult",
    "TrialResult",
    "TuneWarning",
    "cross_validate",
    "expand_grid",
    "grid_search",
    "make_folds",
    "plot_training_curves",
    "plot_validation_curve",
    "trial_seed",
]
