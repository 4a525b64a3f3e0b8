"""Exceptions raised by calmech.

Every error caused by input names the field it concerns, the rule that was
broken and what was received, in the form ``"field: rule; got value"``. The
command line turns any :class:`CalmechError` into one line on standard error
and exit code 2.

The hierarchy is small on purpose::

    CalmechError
    ├── InputError (also a ValueError)
    │   ├── ShapeError        an array has the wrong shape or is ragged
    │   ├── ProbabilityError  a distribution is negative or does not sum to 1
    │   ├── LabelError        labels are missing, empty or duplicated
    │   ├── FormatError       a file cannot be read or has unknown keys
    │   ├── FormulaError      a payoff formula is invalid or too costly
    │   └── MechanismError    a mechanism given for checking is not valid
    └── SolverError           the LP solver failed for a reason of its own
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CalmechError",
    "FormatError",
    "FormulaError",
    "InputError",
    "LabelError",
    "MechanismError",
    "ProbabilityError",
    "ShapeError",
    "SolverError",
    "describe",
]


class CalmechError(Exception):
    """Base class of every error raised on purpose by calmech."""


class InputError(CalmechError, ValueError):
    """An input (environment, mechanism, file, option) breaks a rule."""

    def __init__(self, field: str, rule: str, got: Any = None) -> None:
        self.field = field
        self.rule = rule
        self.got = got
        message = f"{field}: {rule}"
        if got is not None:
            message += f"; got {describe(got)}"
        super().__init__(message)


class ShapeError(InputError):
    """An array has the wrong number of entries along some axis."""


class ProbabilityError(InputError):
    """A probability distribution is invalid."""


class LabelError(InputError):
    """State, type or allocation labels are invalid."""


class FormatError(InputError):
    """A file or document cannot be read as calmech input."""


class FormulaError(InputError):
    """A payoff formula cannot be parsed or evaluated safely."""


class MechanismError(InputError):
    """A mechanism passed in for checking is not a valid mechanism."""


class SolverError(CalmechError):
    """The linear-programming solver failed for a reason of its own."""


def describe(value: Any, limit: int = 60) -> str:
    """Return a short, printable description of ``value`` for messages.

    Parameters
    ----------
    value : object
        What was received.
    limit : int, optional
        Longest text returned; longer descriptions are cut with ``...``.

    Returns
    -------
    str
        ``repr`` of small values, a shape summary for arrays.

    Examples
    --------
    >>> describe(0.97)
    '0.97'
    >>> describe("x" * 100, limit=10)
    "'xxxxxx..."
    """
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        text = f"array of shape {tuple(int(s) for s in shape)}"
    elif isinstance(value, float):
        text = f"{value:.12g}"
    else:
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
