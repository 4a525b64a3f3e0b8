"""``calmech solve`` on a multi-agent file: the three families side by side.

Used by :mod:`calmech.cli.solve`, which hands over any file with an
``agents`` key and the built-in multi-agent examples (``two_buyers``,
``ad_platform``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from calmech.cli.common import console, emit_json, fmt
from calmech.errors import FormatError
from calmech.files import read_document
from calmech.multi.environment import MultiEnvironment
from calmech.multi.examples import MULTI_EXAMPLES, get_multi_example
from calmech.multi.files import is_multi_document, multi_from_dict
from calmech.multi.mechanisms import MultiSolution, solve_multi

__all__ = ["multi_source", "render_multi", "run_multi"]


def multi_source(source: str) -> MultiEnvironment | None:
    """The multi-agent environment named by ``source``, or None if it is not one."""
    path = Path(source)
    if source in MULTI_EXAMPLES and not path.exists():
        return get_multi_example(source)
    if not path.is_file():
        return None
    try:
        doc = read_document(path)
    except FormatError:
        return None  # the single-agent loader reports the error
    return multi_from_dict(doc) if is_multi_document(doc) else None


def run_multi(env: MultiEnvironment, args: argparse.Namespace) -> int:
    """Solve and print (a table, or JSON with ``--json``)."""
    sol = solve_multi(env)
    if getattr(args, "json", False):
        emit_json(sol.to_dict())
    else:
        render_multi(sol, console)
    return 0


def _cells(partition) -> str:
    return " | ".join("{" + ", ".join(c) + "}" for c in partition)


def render_multi(sol: MultiSolution, out: Console) -> None:
    """Values of the three families, what attains them, the verdicts."""
    env = sol.environment
    money = "money" if env.transfers else "no money"
    kind = "private" if env.private_values else "interdependent"
    out.print(
        f"[bold]{env.name}[/bold]: {env.n_agents} agents, types "
        f"{'×'.join(map(str, env.type_counts))}, {len(env.states)} states, "
        f"{len(env.outcomes)} outcomes, {money}, {kind} values"
    )
    table = Table(title="Designer's expected payoff", title_justify="left")
    table.add_column("family")
    table.add_column("value", justify="right")
    table.add_column("attained by")
    table.add_column("calibrated")
    std = sol.standard
    std_ok = "-" if std.calibration is None else str(std.calibration.calibrated)
    table.add_row("standard", fmt(std.value, 10), "Bayesian IC, ω used freely", std_ok)
    pub = sol.public
    signals = "; ".join(
        f"{s.probability:.4g} at ({', '.join(f'{p:.4g}' for p in s.point.belief)})"
        for s in pub.signals
    )
    table.add_row(
        "public disclosure",
        fmt(pub.value, 10),
        f"signals {signals}",
        str(pub.calibrated),
    )
    if sol.partition is not None:
        best = sol.partition.best
        profile = "; ".join(
            f"{a}: {_cells(p)}"
            for a, p in zip(env.agents, best.partitions or [], strict=True)
        )
        table.add_row("partition profile", fmt(best.value, 10), profile, "True")
        table.add_row(
            "  coarsest profile",
            fmt(sol.partition.coarsest, 10),
            "interim rules state-independent",
            "True",
        )
    table.add_row(
        "full transparency", fmt(pub.full_transparency, 10), "reveal ω", "True"
    )
    table.add_row(
        "no disclosure", fmt(pub.no_disclosure, 10), "one state-independent rule", "-"
    )
    out.print(table)
    out.print(f"public disclosure: {pub.method}, {pub.lps} LPs (a lower bound)")
    if std.calibration is not None:
        out.print(f"[bold]Standard optimum[/bold]: {std.calibration.verdict}")
    for note in sol.notes:
        out.print(f"• {note}")
