"""``calmech frontier FILE``: designer payoff against agent surplus."""

from __future__ import annotations

import argparse
import math

from rich.table import Table

from calmech.cli.common import console, dumps, emit_json, fmt, load_env

HELP = """\
Trace the Pareto frontier of (designer's payoff, agent's expected surplus)
attainable by calibrated mechanisms and by standard (textbook) ones. For
weights λ from 0 to 1 the command maximises
  λ·E[v + τ t] + (1 − λ)·E[u − t]
over each class and reads the two payoffs off the optimal mechanism. The
agent's surplus is E[u − t] (its outside option is not subtracted).

With money and no lower bound on payments, weights below 1/(1 + τ) are
unbounded (the designer could hand out any amount), so λ starts just above
1/(1 + τ); pass --lower-bound to bound payments from below and trace the
whole range.

With --json the output is {"environment", "weights", "note",
"calibrated": [{"weight", "kind", "designer", "agent", "status"}],
"standard": [...]}; null marks a weight without a solution.

example:
  calmech frontier quality --points 11 --plot frontier.png
  calmech frontier monopoly --lower-bound 0 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "frontier",
        help="Pareto frontier of designer payoff and agent surplus",
        description=HELP,
    )
    p.add_argument("file", metavar="FILE", help="environment file or example name")
    p.add_argument(
        "--points", type=int, default=21, help="number of weights λ (default 21)"
    )
    p.add_argument(
        "--lower-bound",
        type=float,
        default=None,
        metavar="LO",
        help="lower bound on every payment (replaces the file's)",
    )
    p.add_argument(
        "--plot", metavar="OUT.png", help="write the figure (PNG and SVG beside it)"
    )
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.add_argument("--out", metavar="FILE.json", help="also write the JSON document")
    p.add_argument(
        "--workers", type=int, default=1, help="processes to use (default 1)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calmech.errors import InputError
    from calmech.files import atomic_write_text
    from calmech.frontier import pareto_frontier, plot_frontier

    if args.workers < 1:
        raise InputError("--workers", "must be at least 1", args.workers)
    env = load_env(args.file)
    bounds = None
    if args.lower_bound is not None:
        if not math.isfinite(args.lower_bound):
            raise InputError("--lower-bound", "must be finite", args.lower_bound)
        if not env.transfers:
            raise InputError(
                "--lower-bound", "only applies to environments with money", "given"
            )
        hi = env.bounds[1]
        bounds = (args.lower_bound, hi if math.isfinite(hi) else None)
    with console.status("tracing the frontier"):
        frontier = pareto_frontier(env, args.points, bounds, workers=args.workers)
    if args.out:
        atomic_write_text(args.out, dumps(frontier.to_dict()), force=args.force)
    if args.plot:
        from calmech.plots import save_figure

        save_figure(plot_frontier(frontier), args.plot, force=args.force)
    if args.json:
        emit_json(frontier.to_dict())
        return 0
    table = Table(title=f"{env.name}: Pareto frontier ({frontier.note})")
    table.add_column("λ", justify="right")
    table.add_column("calibrated: designer", justify="right")
    table.add_column("agent", justify="right")
    table.add_column("standard: designer", justify="right")
    table.add_column("agent", justify="right")
    for c, s in zip(frontier.calibrated, frontier.standard, strict=True):
        table.add_row(
            f"{c.weight:.4g}",
            *(fmt(x) if math.isfinite(x) else "-" for x in (c.designer, c.agent)),
            *(fmt(x) if math.isfinite(x) else "-" for x in (s.designer, s.agent)),
        )
    console.print(table)
    if args.plot:
        console.print(f"wrote {args.plot} (and .svg)")
    return 0
