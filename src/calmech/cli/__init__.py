"""The ``calmech`` command line.

Each subcommand lives in a module of this package with a ``register``
function that adds its parser; :func:`main` turns every
:class:`~calmech.errors.CalmechError` into one line on standard error and
exit code 2, so that no input can produce a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from calmech.errors import CalmechError

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Calibrated mechanism design: the best mechanism that stays incentive
compatible once a learning agent has seen what it reveals.

Start with `calmech demo`, then write your own environment file
(`calmech examples quality --write my.toml` gives a template) and run
`calmech solve my.toml`. Every FILE argument also accepts the name of a
built-in example (monopoly, quality, assignment).
"""

EPILOG = """\
exit codes: 0 success, 1 internal error (a bug), 2 bad input or usage.
Set CALMECH_DEBUG=1 to see a traceback for internal errors."""


# Subcommands in the order --help lists them; any other module of this
# package with a ``register`` function is added after these.
ORDER = (
    "solve",
    "check",
    "simulate",
    "report",
    "frontier",
    "sweep",
    "verify",
    "demo",
    "examples",
)


def _commands() -> list:
    import importlib
    import pkgutil

    import calmech.cli as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__)]
    names = [n for n in names if n not in ("common", "__main__")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    modules = [importlib.import_module(f"calmech.cli.{n}") for n in names]
    return [m for m in modules if hasattr(m, "register")]


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr.

    Subcommand parsers are of the same class, so every description keeps
    the line breaks of its examples.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _OneLineParser(
        prog="calmech",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    from calmech import __version__

    parser.add_argument("--version", action="version", version=f"calmech {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log solver progress on stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _commands():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code or 0)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CalmechError as exc:
        sys.stderr.write(f"calmech: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("calmech: interrupted\n")
        return 130
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("CALMECH_DEBUG"):
            raise
        text = str(exc).splitlines()[0] if str(exc) else ""
        sys.stderr.write(
            f"calmech: internal error: {type(exc).__name__}: {text} "
            "(set CALMECH_DEBUG=1 for details)\n"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
