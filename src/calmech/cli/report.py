"""``calmech report FILE --out DIR``: one HTML page and its Markdown twin."""

from __future__ import annotations

import argparse

from calmech.cli.common import console, load_env

HELP = """\
Solve an environment and write a report into the folder DIR:

  report.html         one self-contained page (figures embedded as PNG)
  report.md           the same content in Markdown
  values.png          the four values as bars
  value_function.png  V over beliefs, its concave envelope, the optimal
                      posteriors (environments with 2 or 3 states)

The report states the environment, the four values (standard, calibrated,
full transparency, no disclosure), the optimal calibrated mechanism signal
by signal, whether the textbook optimum survives an agent who learns, and
the private-values theorem where it applies. Existing files are kept
unless --force is given.

example:
  calmech report quality --out quality-report
  calmech report my_market.toml --out reports/market --force
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="HTML and Markdown report with figures",
        description=HELP,
    )
    p.add_argument("file", metavar="FILE", help="environment file or example name")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calmech.mechanisms import solve
    from calmech.report import write_report

    env = load_env(args.file)
    with console.status("solving and drawing"):
        paths = write_report(solve(env), args.out, force=args.force)
    console.print(f"wrote {paths['html']} and {paths['markdown']}")
    return 0
