"""``calmech sweep FILE --set PATH=VALUES``: re-solve as parameters vary."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from calmech.cli.common import console, dumps, emit_json, err_console, fmt
from calmech.parallel import parallel_map

HELP = """\
Re-solve an environment while one or two of its parameters vary, and
report the four values (standard, calibrated, full transparency, no
disclosure) and the gain of calibration over the better simple disclosure
at every point.

PATH addresses a number of the file:
  transfer_weight          a top-level number
  prior[0][1]              an array entry (type 0, state 1); the prior is
                           renormalised to sum to 1 (normalize = true)
  agent_payoff[1][0][1]    a payoff entry (allocation, type, state)
  types[1].value           an attribute used by the file's formulas
  correlation              c in P_c = p⊗q + c·(P − p⊗q): keeps the
                           marginals of the prior; 0 = independent,
                           1 = the file's prior
VALUES is start:stop:count (both ends included) or a list a,b,c.
Points whose environment is invalid are kept, with empty values and the
reason. Results go to DIR/sweep.csv and DIR/sweep.json with --out.

example:
  calmech sweep quality --set "agent_payoff[1][1][0]=2:6:9" --plot gain.png
  calmech sweep monopoly --set correlation=0:1:6 --set "types[1].value=2,3" \\
      --out sweeps/monopoly --workers 2
"""

#: Whether parallel_map can send work to a cluster scheduler.
HAS_SCHEDULER = "scheduler" in inspect.signature(parallel_map).parameters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="re-solve while one or two parameters vary",
        description=HELP,
    )
    p.add_argument("file", metavar="FILE", help="environment file or example name")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        required=True,
        metavar="PATH=VALUES",
        help="a parameter and its values (give once or twice)",
    )
    p.add_argument("--out", metavar="DIR", help="write sweep.csv and sweep.json here")
    p.add_argument(
        "--plot", metavar="OUT.png", help="write the figure (PNG and SVG beside it)"
    )
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.add_argument(
        "--workers", type=int, default=None, help="processes (default: all cores)"
    )
    if HAS_SCHEDULER:
        p.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            default=None,
            help="run the points on this Dask scheduler instead of local cores",
        )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)


def _document(source: str) -> dict:
    from calmech.examples import EXAMPLES, get_example
    from calmech.files import environment_to_document, read_document

    if source in EXAMPLES and not Path(source).exists():
        return environment_to_document(get_example(source))
    return read_document(source)


def run(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from calmech.errors import FormatError, InputError
    from calmech.files import atomic_write_text
    from calmech.sweep import parse_setting, plot_sweep, sweep

    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", "must be at least 1", args.workers)
    settings = [parse_setting(text) for text in args.settings]
    doc = _document(args.file)
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise FormatError("--out", "must be a folder", str(out))
        for name in ("sweep.csv", "sweep.json"):
            if (out / name).exists() and not args.force:
                raise FormatError(
                    "path", "exists; pass --force to overwrite", str(out / name)
                )
    options = {}
    if HAS_SCHEDULER and args.scheduler:
        options["scheduler"] = args.scheduler

    columns = (
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("sweep", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = sweep(doc, settings, args.workers, progress, **options)

    if out is not None:
        out.mkdir(parents=False, exist_ok=True)
        atomic_write_text(out / "sweep.csv", result.to_csv(), force=args.force)
        atomic_write_text(out / "sweep.json", dumps(result.to_dict()), force=args.force)
    if args.plot:
        from calmech.plots import save_figure

        save_figure(plot_sweep(result), args.plot, force=args.force)
    if args.json:
        emit_json(result.to_dict())
        return 0
    table = Table(title=f"{result.name}: sweep")
    for column in result.columns[:-2]:
        table.add_column(column.replace("_", " "), justify="right")
    table.add_column("note")
    for row in result.rows:
        cells = [fmt(row[c]) for c in result.columns[:-2]]
        table.add_row(*cells, row["message"][:60])
    console.print(table)
    if out is not None:
        console.print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.json'}")
    if args.plot:
        console.print(f"wrote {args.plot} (and .svg)")
    return 0
