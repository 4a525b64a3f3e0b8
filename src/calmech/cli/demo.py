"""``calmech demo`` and ``calmech examples``: the built-in environments."""

from __future__ import annotations

import argparse

from calmech.cli.common import console
from calmech.cli.solve import render_solution
from calmech.examples import EXAMPLES, get_example
from calmech.mechanisms import solve

DEMO_HELP = """\
Solve every built-in example and explain each result in a few lines:
  monopoly    THEORY §8 A, correlated private values: the textbook optimum
              extracts the full surplus with Crémer–McLean lotteries but is
              not calibrated; full transparency is optimal.
  quality     THEORY §8 B, the buyer cannot see quality: partial disclosure
              beats both no disclosure and full transparency.
  assignment  no money: disclosure is the designer's only lever.
"""

EXAMPLES_HELP = """\
List the built-in examples, or write one to a file to start your own:
  calmech examples
  calmech examples quality --write my.toml     # .json or .toml
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="solve the built-in examples and explain them",
        description=DEMO_HELP,
    )
    p.set_defaults(func=run_demo)
    q = sub.add_parser(
        "examples",
        help="list the built-in examples or write one to a file",
        description=EXAMPLES_HELP,
    )
    q.add_argument("name", nargs="?", help="an example to show or write")
    q.add_argument("--write", metavar="PATH", help="write it to a .json or .toml file")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=run_examples)


def run_demo(args: argparse.Namespace) -> int:
    for name in EXAMPLES:
        console.rule(f"[bold]{name}[/bold]: {EXAMPLES[name][1]}")
        render_solution(solve(get_example(name)), console)
        console.print()
    return 0


def run_examples(args: argparse.Namespace) -> int:
    from calmech.errors import InputError
    from calmech.files import environment_to_document, save_environment
    from calmech.multi.examples import MULTI_EXAMPLES

    if args.name is None:
        for name, (_, text) in EXAMPLES.items():
            console.print(f"[bold]{name:<12}[/bold] {text}")
        for name, (_, text) in MULTI_EXAMPLES.items():
            console.print(f"[bold]{name:<12}[/bold] {text} (several agents)")
        return 0
    if args.name in MULTI_EXAMPLES:
        raise InputError(
            "example",
            "several-agent examples are solved by name (calmech solve "
            f"{args.name}); their files are examples/auction.toml and "
            "examples/ad_platform.toml in the repository",
            args.name,
        )
    env = get_example(args.name)
    if args.write:
        path = save_environment(env, args.write, force=args.force)
        console.print(f"wrote {path}")
        return 0
    from calmech.cli.common import dumps

    console.print(dumps(environment_to_document(env)), end="")
    return 0
