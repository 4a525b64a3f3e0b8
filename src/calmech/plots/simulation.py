"""Figures of the simulated repeated interaction (THEORY §10).

Two pictures tell the story of :func:`calmech.simulation.simulate`: the
designer's average payoff per round, which starts at the mechanism's promise
Σ P(θ, h)[v + τ t] and settles at its long-run value once the agent has
learned its cell, beside the share of truthful reports; and a few runs'
belief in the hidden value that actually holds, which climbs to the prior
restricted to the learned cell.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from calmech.errors import InputError  # noqa: E402
from calmech.files import atomic_write_bytes  # noqa: E402
from calmech.simulation import SimulationResult  # noqa: E402

__all__ = ["plot_beliefs", "plot_simulation", "save_figure"]


def plot_simulation(result: SimulationResult, title: str | None = None) -> Figure:
    """The designer's average payoff and the truthful share over rounds.

    Parameters
    ----------
    result : SimulationResult
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two panels on a log round axis; the promised and long-run values are
        horizontal lines named in the legend.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> from calmech.simulation import simulate
    >>> fig = plot_simulation(simulate(monopoly(), rounds=50, runs=50,
    ...                                random_state=0))
    >>> len(fig.axes)
    2
    """
    series = result.series
    rounds = series["round"]
    fig = Figure(figsize=(7.5, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)

    top.plot(rounds, series["designer_payoff"], color="C0", label="simulated")
    top.axhline(
        result.promised_value,
        color="C3",
        linestyle="--",
        label=f"promised value {result.promised_value:.4g}",
    )
    top.axhline(
        result.long_run_value,
        color="C2",
        linestyle=":",
        label=f"long-run value {result.long_run_value:.4g}",
    )
    top.set_ylabel("designer's payoff per round")
    top.legend(loc="best", fontsize="small")

    bottom.plot(rounds, series["truthful_share"], color="C0", label="truthful share")
    bottom.plot(rounds, series["exit_share"], color="C1", label="exit share")
    bottom.axhline(
        result.analysis.truthful_share,
        color="C2",
        linestyle=":",
        label=f"long-run truthful share {result.analysis.truthful_share:.3g}",
    )
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_xlabel("round")
    bottom.set_ylabel("share of runs")
    bottom.legend(loc="best", fontsize="small")
    if rounds[-1] > 10:
        bottom.set_xscale("log")
    fig.suptitle(
        title
        or f"{result.mechanism} mechanism: {result.runs} runs x {result.rounds} rounds"
    )
    return fig


def plot_beliefs(
    result: SimulationResult, runs: int = 6, title: str | None = None
) -> Figure:
    """A few runs' belief in the hidden value that holds, over rounds.

    Parameters
    ----------
    result : SimulationResult
        Simulated with ``keep_paths=True``.
    runs : int, default 6
        How many runs to draw (spread over the types).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        When the result kept no paths.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> from calmech.simulation import simulate
    >>> res = simulate(quality(), "calibrated", rounds=30, runs=20,
    ...                keep_paths=True, random_state=0)
    >>> len(plot_beliefs(res, runs=3).axes[0].lines)
    3
    """
    paths = result.paths
    if paths is None:
        raise InputError("result", "must be simulated with keep_paths=True", None)
    truth = paths.belief_in_truth()
    total = paths.types.size
    chosen = np.unique(np.linspace(0, total - 1, min(runs, total)).astype(int))
    labels = result.analysis.labels
    type_names = {row.type_index: row.type for row in result.analysis.rows}
    rounds = np.arange(truth.shape[0])  # rounds observed; 0 is the prior
    fig = Figure(figsize=(7.5, 4), layout="constrained")
    ax = fig.subplots()
    for i in chosen:
        left = np.flatnonzero(paths.reports[:, i] < 0)
        note = f", leaves in round {left[0] + 1}" if left.size else ""
        ax.step(
            rounds,
            truth[:, i],
            where="post",
            label=f"run {i}: type {type_names[int(paths.types[i])]}, "
            f"hidden value {labels[paths.hidden[i]]}{note}",
        )
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("rounds observed (0: the prior)")
    ax.set_ylabel("belief in the true hidden value")
    if rounds[-1] > 10:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, rounds[-1])
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title or f"{result.mechanism} mechanism: what the agent learns")
    return fig


def save_figure(
    fig: Figure, path: str | os.PathLike[str], force: bool = False, **options: Any
) -> Path:
    """Write a figure as PNG or SVG (by the file's suffix), atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Ends in ``.png`` or ``.svg``.
    force : bool, default False
        Overwrite an existing file.
    **options
        Passed to :meth:`~matplotlib.figure.Figure.savefig` (e.g. ``dpi``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        On another suffix, or an existing file without ``force``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> fig = Figure(); _ = fig.subplots().plot([0, 1])
    >>> out = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "f.svg")
    >>> out.read_text()[:5]
    '<?xml'
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise InputError("path", "must end in .png or .svg", str(path))
    buffer = io.BytesIO()

    # Fixed metadata and ids so that the same figure gives the same bytes.
    options.setdefault("metadata", {"Date": None} if fmt == "svg" else {})
    with matplotlib.rc_context({"svg.hashsalt": "calmech"}):
        fig.savefig(buffer, format=fmt, **options)
    atomic_write_bytes(path, buffer.getvalue(), force=force)
    return path
