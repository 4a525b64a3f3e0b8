"""``calmech simulate FILE``: the repeated interaction with a learning agent."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from calmech.cli.common import console, emit_json, err_console, fmt, load_env
from calmech.errors import InputError

HELP = """\
Simulate the repeated interaction of THEORY §10 and compare it with its exact
long run. Nature draws the agent's type and the state (and the signal of a
two-stage mechanism) once; every round the agent reports the type that is best
under its Bayesian belief (the truth on ties), explores another report with
probability eps0 / (1 + t)^decay, learns from its allocation and payment, and
leaves for good when the outside option is strictly better.

--mechanism is `standard` (the textbook optimum), `calibrated` (the optimal
two-stage mechanism) or a mechanism file (allocation[m][n][k], transfers[n][k],
as for `calmech check`).

With --json the output is one JSON document:
  {"mechanism", "rounds", "runs", "parameters", "promised_value",
   "long_run_value", "long_run": {"value", "truthful_share", "exit_share",
   "rows": [...]}, "summary": {"designer_payoff", "truthful_share",
   "exit_share", ...}, "series": {"round", "designer_payoff",
   "truthful_share", "exit_share"}}
The summary averages runs and the last 10% of rounds. The same input and
--seed give the same bytes.

example:
  calmech simulate monopoly --rounds 1000 --runs 2000 --seed 1
  calmech simulate quality --mechanism calibrated --json --plot quality.png
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a learning agent facing a mechanism, round after round",
        description=HELP,
    )
    p.add_argument("file", metavar="FILE", help="environment file or example name")
    p.add_argument(
        "--mechanism",
        default="standard",
        metavar="standard|calibrated|PATH",
        help="which mechanism to run (default: standard)",
    )
    p.add_argument("--rounds", type=int, default=1000, help="rounds (default 1000)")
    p.add_argument("--runs", type=int, default=1000, help="runs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--epsilon0",
        type=float,
        default=0.5,
        help="exploration probability in the first round (default 0.5)",
    )
    p.add_argument(
        "--decay",
        type=float,
        default=0.6,
        help="exponent γ of the exploration schedule, in [0, 1] (default 0.6)",
    )
    p.add_argument(
        "--observe-payoffs",
        action="store_true",
        help="the agent also learns from its realised payoffs",
    )
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.add_argument("--plot", metavar="OUT.png", help="write the figure (.png/.svg)")
    p.add_argument("--force", action="store_true", help="overwrite --plot's file")
    p.set_defaults(func=run)


def _mechanism(env, choice: str):
    if choice in ("standard", "calibrated"):
        return choice
    if not Path(choice).exists():
        raise InputError(
            "--mechanism", "must be standard, calibrated or an existing file", choice
        )
    from calmech.files import load_mechanism

    return load_mechanism(choice, env)


def run(args: argparse.Namespace) -> int:
    from calmech.simulation import simulate

    if args.plot:
        suffix = Path(args.plot).suffix.lower()
        if suffix not in (".png", ".svg"):
            raise InputError("--plot", "must end in .png or .svg", args.plot)
        if Path(args.plot).exists() and not args.force:
            raise InputError("--plot", "exists; pass --force to overwrite", args.plot)
    env = load_env(args.file)
    mechanism = _mechanism(env, args.mechanism)
    show = not args.json and err_console.is_terminal
    kwargs = dict(
        rounds=args.rounds,
        runs=args.runs,
        epsilon0=args.epsilon0,
        decay=args.decay,
        observe_payoffs=args.observe_payoffs,
        random_state=args.seed,
    )
    if show:
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task("simulating", total=args.rounds)
            result = simulate(
                env,
                mechanism,
                progress=lambda done: bar.update(task, completed=done),
                **kwargs,
            )
    else:
        result = simulate(env, mechanism, **kwargs)
    if args.mechanism not in ("standard", "calibrated"):
        result = _renamed(result, args.mechanism)
    if args.plot:
        from calmech.plots.simulation import plot_simulation, save_figure

        save_figure(plot_simulation(result), args.plot, force=args.force, dpi=120)
    if args.json:
        emit_json(result.to_dict())
        return 0
    _render(result, env.name)
    return 0


def _renamed(result, name: str):
    from dataclasses import replace

    return replace(result, mechanism=str(name))


def _render(result, name: str) -> None:
    s = result.summary
    a = result.analysis
    console.print(
        f"[bold]{name}[/bold], {result.mechanism} mechanism: {result.runs} runs x "
        f"{result.rounds} rounds (exploration {result.parameters['epsilon0']:g} / "
        f"(1 + t)^{result.parameters['decay']:g})"
    )
    table = Table(title="Designer's payoff per round", title_justify="left")
    table.add_column("")
    table.add_column("designer's payoff", justify="right")
    table.add_column("truthful share", justify="right")
    table.add_column("exit share", justify="right")
    table.add_row("promised (all truthful)", fmt(result.promised_value), "1", "0")
    table.add_row(
        "long run (exact)",
        fmt(result.long_run_value),
        fmt(a.truthful_share, 4),
        fmt(a.exit_share, 4),
    )
    first, last = s["window"]
    table.add_row(
        f"simulated, rounds {first}-{last}",
        f"{fmt(s['designer_payoff'])} ± {s['designer_payoff_se']:.2g}",
        fmt(s["truthful_share"], 4),
        fmt(s["exit_share"], 4),
    )
    console.print(table)
    rows = Table(title="What each type learns in the long run", title_justify="left")
    for col in ("type", "hidden value", "probability", "learned cell", "long run"):
        rows.add_column(col)
    for row in a.rows:
        rows.add_row(
            row.type,
            row.hidden,
            f"{row.probability:.4g}",
            "{" + ", ".join(row.cell) + "}",
            "leaves" if row.report is None else f"reports {row.report}",
        )
    console.print(rows)
