"""``calmech check ENV_FILE MECHANISM_FILE``: is a mechanism calibrated?"""

from __future__ import annotations

import argparse

from rich.table import Table

from calmech.calibration import check_calibration
from calmech.cli.common import console, emit_json, load_env
from calmech.files import load_mechanism

HELP = """\
Check whether a state-contingent mechanism is calibrated: which partition of
the states its repeated use reveals, each type's belief on every cell, and
every incentive (IC) or participation (IR) constraint that fails once the
agent has learned its cell, with the amount.

MECHANISM_FILE (.json or .toml) holds
  allocation = [[[...]]]   # [m][n][k]: P(allocation m | report n, state k)
  transfers  = [[...]]     # [n][k]: payment (optional, zero by default)
or is the output of `calmech solve --json`, whose textbook optimum is checked.

exit code: 0 whether or not the mechanism is calibrated; read the verdict.

example:
  calmech solve monopoly --json > result.json
  calmech check monopoly result.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="is a given mechanism calibrated, and why not",
        description=HELP,
    )
    p.add_argument("env", metavar="ENV_FILE", help="environment file or example name")
    p.add_argument("mechanism", metavar="MECHANISM_FILE", help="mechanism file")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_env(args.env)
    allocation, transfers = load_mechanism(args.mechanism, env)
    report = check_calibration(env, allocation, transfers)
    if args.json:
        emit_json(report.to_dict())
        return 0
    cells = " | ".join("{" + ", ".join(c) + "}" for c in report.partition)
    console.print(f"[bold]Revealed partition[/bold]: {cells}")
    beliefs = Table(title="Beliefs on each cell", title_justify="left")
    beliefs.add_column("cell")
    beliefs.add_column("type")
    beliefs.add_column("belief over the cell's states")
    for cell, by_type in report.posteriors.items():
        for label, belief in by_type.items():
            text = ", ".join(f"{s} {p:.4g}" for s, p in zip(cell, belief, strict=True))
            beliefs.add_row("{" + ", ".join(cell) + "}", label, text)
    console.print(beliefs)
    if report.violations:
        table = Table(title="Violated constraints", title_justify="left")
        for col in ("kind", "cell", "type", "better report", "amount"):
            table.add_column(col)
        for v in report.violations:
            table.add_row(
                v.kind,
                "{" + ", ".join(v.cell) + "}",
                v.type,
                v.deviation or "walk away",
                f"{v.amount:.6g}",
            )
        console.print(table)
    one_shot = "is" if report.interim_ic else "is NOT"
    console.print(f"The mechanism {one_shot} incentive compatible before learning.")
    console.print(f"[bold]Verdict[/bold]: {report.verdict}")
    return 0
