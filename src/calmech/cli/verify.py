"""``calmech verify ENV_FILE RESULT.json``: re-check a result in exact arithmetic."""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from calmech.cli.common import console, emit_json, load_env
from calmech.files import read_document
from calmech.verify import (
    DEFAULT_DIGITS,
    MAX_DIGITS,
    SAFETY,
    VerificationReport,
    verify_result,
)

HELP = f"""\
Re-check a saved `calmech solve --json` result without trusting the solver
or floating point: every number of the mechanisms is rounded to D decimal
digits (--digits, default {DEFAULT_DIGITS}) and every constraint is
evaluated in exact rational arithmetic.

Checked for the calibrated mechanism: each signal's rule is a probability
distribution for every report, payments lie within the transfer bounds,
IC and IR hold for every type with positive weight under its posterior,
Bayes plausibility (the mean posterior is the prior), and the claimed values
equal the values the rules give. For the standard mechanism: feasibility,
interim IC and IR, and its value.

A check holds *exactly* when its exact slack is >= 0 (an equality: its
difference is 0). Rounding to D digits breaks binding constraints and
equalities by a small amount, so a check that fails by at most its
tolerance (a bound on what rounding to D digits can do, times {SAFETY})
holds *within tolerance*. Anything else fails.

exit code: 0 when the result verifies, 2 when a check fails (the worst
failing constraint is named on standard error).

example:
  calmech solve quality --json > result.json
  calmech verify quality result.json
  calmech verify quality result.json --digits 6 --json
"""


def _digits(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if not 1 <= value <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and {MAX_DIGITS}; got {value}"
        )
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="re-check a saved result in exact rational arithmetic",
        description=HELP,
    )
    p.add_argument("env", metavar="ENV_FILE", help="environment file or example name")
    p.add_argument("result", metavar="RESULT", help="output of calmech solve --json")
    p.add_argument(
        "--digits",
        type=_digits,
        default=DEFAULT_DIGITS,
        metavar="D",
        help=f"round the mechanism to D decimal digits (default {DEFAULT_DIGITS})",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.add_argument(
        "--all", action="store_true", help="list every check, not only inexact ones"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_env(args.env)
    report = verify_result(env, read_document(args.result), digits=args.digits)
    if args.json:
        emit_json(report.to_dict())
    else:
        _render(report, show_all=args.all)
    if report.verified:
        return 0
    sys.stderr.write(f"calmech: verification failed: {report.failures[0].describe()}\n")
    return 2


def _render(report: VerificationReport, show_all: bool) -> None:
    console.print(
        f"Mechanism rounded to {report.digits} decimal digits and checked in "
        f"exact rational arithmetic; tolerances are {SAFETY} × the largest "
        "change rounding can cause."
    )
    summary = Table(title="Minimum slack per family", title_justify="left")
    summary.add_column("family")
    summary.add_column("exact/within tol./fails", justify="right")
    summary.add_column("min slack", justify="right")
    summary.add_column("tightest constraint")
    for row in report.families():
        counts = f"{row['exact']}/{row['within_tolerance']}/{row['fails']}"
        summary.add_row(
            f"{row['mechanism']} {row['family']}",
            counts,
            f"{row['min_slack']:.3g}",
            row["worst"],
        )
    console.print(summary)
    shown = [c for c in report.checks if show_all or c.status != "exact"]
    if shown:
        title = "Every check" if show_all else "Checks that do not hold exactly"
        table = Table(title=title, title_justify="left")
        for column in ("where", "constraint", "slack", "tolerance", "status"):
            table.add_column(
                column, justify="right" if column in ("slack", "tolerance") else "left"
            )
        for c in shown:
            style = {"fails": "bold red", "within tolerance": "yellow"}.get(
                c.status, ""
            )
            numbers = c.to_dict()
            table.add_row(
                c.where,
                c.constraint,
                f"{numbers['slack']:.6g}",
                f"{numbers['tolerance']:.3g}",
                f"[{style}]{c.status}[/{style}]" if style else c.status,
            )
        console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    style = "bold green" if report.verified else "bold red"
    console.print(f"[{style}]Verdict[/{style}]: {report.verdict}")
