"""Figures of calibrated mechanism design (matplotlib, Agg backend).

The value function V over beliefs and its concave envelope cav V, whose
value at the prior is the optimal calibrated payoff (THEORY §5); the four
values as bars; the mechanisms as tables. :func:`save_figure` writes a
figure as PNG and SVG atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from calmech.errors import InputError
from calmech.files import atomic_write_bytes
from calmech.plots.tables import (
    Table,
    calibrated_tables,
    environment_tables,
    plot_values,
    standard_tables,
    values_table,
)
from calmech.plots.value import (
    plot_value_function,
    plot_value_line,
    plot_value_triangle,
    sample_line,
    upper_concave_hull,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_FORMATS",
    "Table",
    "calibrated_tables",
    "environment_tables",
    "figure_bytes",
    "plot_value_function",
    "plot_value_line",
    "plot_value_triangle",
    "plot_values",
    "sample_line",
    "save_figure",
    "standard_tables",
    "upper_concave_hull",
    "values_table",
]

#: Formats :func:`save_figure` writes by default.
FIGURE_FORMATS = ("png", "svg")

#: Resolution of PNG output.
PNG_DPI = 150


def figure_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """The figure rendered as ``png`` or ``svg`` bytes.

    Examples
    --------
    >>> import calmech
    >>> fig = plot_values(calmech.solve(calmech.examples.monopoly()))
    >>> figure_bytes(fig)[:4]
    b'\\x89PNG'
    """
    if fmt not in FIGURE_FORMATS:
        raise InputError("format", f"must be one of {', '.join(FIGURE_FORMATS)}", fmt)
    buffer = io.BytesIO()
    options = {"metadata": {"Date": None}} if fmt == "svg" else {"dpi": PNG_DPI}
    fig.savefig(buffer, format=fmt, **options)
    return buffer.getvalue()


def save_figure(
    fig: Figure,
    path: str | Path,
    formats: tuple[str, ...] = FIGURE_FORMATS,
    force: bool = False,
) -> list[Path]:
    """Write a figure once per format, the suffix of ``path`` replaced.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        ``out/value.png`` writes ``out/value.png`` and ``out/value.svg``.
    formats : tuple of str, default ("png", "svg")
    force : bool, default False
        Overwrite existing files.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import calmech, pathlib, tempfile
    >>> fig = plot_values(calmech.solve(calmech.examples.monopoly()))
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "values.png"
    >>> [p.name for p in save_figure(fig, out)]
    ['values.png', 'values.svg']
    """
    path = Path(path)
    targets = [path.with_suffix(f".{fmt}") for fmt in formats]
    if not force:
        for target in targets:
            if target.exists():
                atomic_write_bytes(target, b"")  # raises the usual error
    for fmt, target in zip(formats, targets, strict=True):
        atomic_write_bytes(target, figure_bytes(fig, fmt), force=force)
    return targets
