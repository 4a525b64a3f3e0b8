"""Same input, same bytes; and no output file is overwritten without --force.

The JSON documents of ``solve``, ``check`` and ``verify`` are compared
byte for byte across two separate processes. Every subcommand with an
output-path option (found from the parser, not listed by hand) must refuse
to write over an existing file without ``--force``: exit code 2, one line
on standard error, the file untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from calmech.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]

#: Destinations of options that name a file or folder to write.
OUTPUT_DEST = re.compile(r"^(out|output|plot|write|save|csv|figure|report)$")

#: Extra arguments that keep a subcommand's work small.
QUICK = {
    "frontier": ["--points", "3"],
    "simulate": ["--rounds", "20", "--runs", "1"],
    "sweep": ["--set", "agent_payoff[1][1][0]=2,3"],
}


def _run(*argv: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    done = subprocess.run(
        [sys.executable, "-m", "calmech", *argv],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("results")
    out = {}
    for name in ("quality",):
        path = folder / f"{name}.json"
        path.write_bytes(_run("solve", name, "--json"))
        out[name] = path
    return out


@pytest.mark.parametrize("name", ["quality", "examples/monopoly.json"])
def test_solve_json_is_byte_identical(name):
    first = _run("solve", name, "--json")
    assert first == _run("solve", name, "--json")
    assert first.startswith(b"{")


@pytest.mark.parametrize("command", ["check", "verify"])
def test_check_and_verify_json_are_byte_identical(results, command):
    argv = (command, "quality", str(results["quality"]), "--json")
    assert _run(*argv) == _run(*argv)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _output_options() -> list[tuple[str, str]]:
    found = []
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if action.option_strings and OUTPUT_DEST.match(action.dest):
                found.append((name, action.option_strings[-1]))
    return found


def test_output_options_are_discovered():
    # solve, check and verify print to standard output only; examples
    # writes a template, so at least one output option must be found.
    commands = {name for name, _ in _output_options()}
    assert "examples" in commands
    assert not commands & {"solve", "check", "verify"}


def _positionals(parser: argparse.ArgumentParser, result: Path) -> list[str]:
    values = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        metavar = (action.metavar or action.dest).upper()
        if "MECHANISM" in metavar or "RESULT" in metavar:
            values.append(str(result))
        else:
            values.append("quality")
    return values


@pytest.mark.parametrize("command, option", _output_options())
def test_existing_output_is_not_overwritten(tmp_path, results, command, option):
    parser = _subcommands()[command]
    action = next(a for a in parser._actions if option in a.option_strings)
    has_force = any("--force" in a.option_strings for a in parser._actions)
    assert has_force, f"calmech {command} writes {option} but has no --force"

    # An existing file where the output would go, with a fitting suffix.
    metavar = action.metavar or ""
    suffix = Path(metavar).suffix if "." in metavar else ""
    target = tmp_path / f"existing{suffix}"
    original = b"keep me\n"
    target.write_bytes(original)
    before = target.stat().st_mtime_ns

    argv = [command, *_positionals(parser, results["quality"]), *QUICK.get(command, [])]
    argv += [option, str(target)]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 2, f"calmech {' '.join(argv)} exited {code}"
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, err.getvalue()
    assert target.read_bytes() == original
    assert target.stat().st_mtime_ns == before
