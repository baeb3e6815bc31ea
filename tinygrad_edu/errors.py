"""The library's own exceptions.

Every error tinygrad_edu raises on purpose derives from :class:`TinygradEduError` and also from
the built-in exception a Python user would expect (``ShapeError`` is a ``ValueError``), so both
``except TinygradEduError`` and ``except ValueError`` catch it.
"""

from __future__ import annotations


class TinygradEduError(Exception):
    """Base class of every error raised on purpose by tinygrad_edu."""


class ShapeError(TinygradEduError, ValueError):
    """Shapes that do not fit an operation (broadcasting, matmul, reshape, axes)."""


class AxisError(ShapeError, IndexError):
    """An axis out of range for the tensor: both a ``ValueError`` and an ``IndexError``.

    As numpy's ``AxisError``: ``except IndexError`` catches it as well as ``except ValueError``.
    """


class IndexingError(TinygradEduError, IndexError):
    """An index that does not fit the tensor it selects from."""


class BackwardError(TinygradEduError, RuntimeError):
    """A backward pass that cannot run as asked (non-scalar output, freed graph, no grad)."""


class InPlaceError(BackwardError):
    """A value that a recorded graph needs was changed in place before backward used it."""


class AnomalyError(TinygradEduError, FloatingPointError):
    """Under ``detect_anomaly()``: an operation produced NaN or infinity, forward or backward."""


class DTypeError(TinygradEduError, TypeError):
    """A dtype that cannot be used as asked (an integer tensor that should require grad)."""


class InvalidArgumentError(TinygradEduError, ValueError):
    """A value outside what an operation accepts (an unknown reduction, a negative rate)."""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong kind (a string where a seed goes): a TypeError as well."""


class CheckpointError(TinygradEduError, ValueError):
    """A saved model or optimiser file that cannot be loaded as it is; nothing was changed."""


class GradcheckError(TinygradEduError, AssertionError):
    """Analytic and numerical gradients disagree; the message names where and by how much.

    ``report`` is the :class:`~tinygrad_edu.gradcheck.GradcheckReport` behind the message
    (None when raised without one).
    """

    def __init__(self, message: str = "", report: object = None) -> None:
        super().__init__(message)
        self.report = report
