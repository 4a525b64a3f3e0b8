"""``calmech solve FILE``: the four values, the optimal mechanisms, the verdict."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from calmech.cli.common import console, emit_json, fmt, load_env
from calmech.mechanisms import Solution, solve

HELP = """\
Compute the optimal calibrated mechanism of an environment beside the three
benchmarks (no disclosure, full transparency, the textbook standard optimum)
and say whether the textbook optimum survives an agent who learns.

FILE is a .json or .toml environment file (see README, "File format") or
the name of a built-in example. With --json the output is one JSON document:
  {"environment": {...}, "values": {"standard", "calibrated",
   "full_transparency", "no_disclosure"}, "calibrated": {"value",
   "upper_bound", "signals": [{"probability", "posterior", "value",
   "allocation", "transfers"}]}, "standard": {"value", "allocation",
   "transfers", "calibrated"}, "private_values": bool}
Array axes are ordered (allocation, type, state); posteriors follow the
file's order of states.

example:
  calmech solve quality
  calmech solve my_market.toml --json > result.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="optimal calibrated mechanism and benchmarks",
        description=HELP,
    )
    p.add_argument("file", metavar="FILE", help="environment file or example name")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.add_argument(
        "--tol",
        type=float,
        default=None,
        help="target gap of the envelope, relative to the payoff scale "
        "(default 1e-9 with two states, 1e-6 with more)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="stop the envelope search after this long and report the gap (default 60)",
    )
    p.add_argument(
        "--method",
        choices=["auto", "envelope"],
        default="auto",
        help="auto: use the private-values theorem where it applies (default); "
        "envelope: always run the certified envelope search",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calmech.cli.multi import multi_source, run_multi
    from calmech.errors import InputError

    multi = multi_source(args.file)
    if multi is not None:
        return run_multi(multi, args)

    if args.tol is not None and not (0 < args.tol < 1):
        raise InputError("--tol", "must be between 0 and 1", args.tol)
    if not args.time_limit > 0:
        raise InputError("--time-limit", "must be positive", args.time_limit)
    env = load_env(args.file)
    sol = solve(env, method=args.method, tol=args.tol, time_limit=args.time_limit)
    if args.json:
        emit_json(sol.to_dict())
    else:
        render_solution(sol, console)
    return 0


def _belief(labels: tuple[str, ...], belief) -> str:
    return ", ".join(f"{s} {p:.4g}" for s, p in zip(labels, belief, strict=True))


def render_solution(sol: Solution, out: Console, explain: bool = True) -> None:
    """Tables of a solution: values, signals and rules, the verdict."""
    env = sol.environment
    M, N, K = env.shape
    money = "money" if env.transfers else "no money"
    kind = "private" if sol.private_values else "interdependent"
    out.print(
        f"[bold]{env.name}[/bold]: {K} states, {N} types, {M} allocations, "
        f"{money}, {kind} values"
    )

    values = Table(title="Designer's expected payoff", title_justify="left")
    values.add_column("benchmark")
    values.add_column("value", justify="right")
    values.add_column("meaning")
    cal = sol.calibrated
    cal_text = fmt(cal.value, 10)
    if cal.status == "limit" or cal.gap > 1e-9 * max(1.0, abs(cal.value)):
        cal_text += f" (bound {fmt(cal.upper_bound, 10)})"
    values.add_row(
        "standard", fmt(sol.standard.value, 10), "textbook optimum (full commitment)"
    )
    values.add_row("calibrated", cal_text, "best mechanism that survives learning")
    values.add_row(
        "full transparency", fmt(sol.full_transparency.value, 10), "reveal the state"
    )
    values.add_row("no disclosure", fmt(sol.no_disclosure.value, 10), "reveal nothing")
    out.print(values)

    if cal.signals:
        out.print(
            f"[bold]Optimal calibrated mechanism[/bold]: {len(cal.signals)} signal(s) "
            f"({cal.method}; gap {cal.gap:.2g})"
        )
        for s, sig in enumerate(cal.signals):
            out.print(
                f"signal {s + 1}: probability {sig.probability:.6g}, posterior "
                f"({_belief(env.states, sig.posterior)}), value {sig.value:.6g}"
            )
            table = Table()
            table.add_column("report")
            for a in env.allocations:
                table.add_column(f"P({a})", justify="right")
            if env.transfers:
                table.add_column("payment", justify="right")
            for n, label in enumerate(env.types):
                row = [label] + [f"{sig.allocation[m, n]:.4g}" for m in range(M)]
                if env.transfers:
                    row.append(f"{sig.transfers[n]:.6g}")
                table.add_row(*row)
            out.print(table)
    else:
        out.print(f"[bold red]No calibrated mechanism[/bold red]: {cal.message}")

    rep = sol.standard.calibration
    if rep is not None:
        cells = " | ".join("{" + ", ".join(c) + "}" for c in rep.partition)
        out.print(f"[bold]Textbook optimum[/bold]: reveals {cells}; {rep.verdict}")
        for v in rep.violations[1:5]:
            out.print(f"  also: {v}")
        if len(rep.violations) > 5:
            out.print(f"  ... {len(rep.violations) - 5} more")
    else:
        out.print(f"[bold]Textbook optimum[/bold]: {sol.standard.message}")
    if explain:
        for line in sol.explain():
            out.print(f"• {line}")
