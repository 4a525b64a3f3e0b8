#!/usr/bin/env python3
"""Set up and run calmech from a fresh checkout with nothing but python3.

    python3 dev.py demo    # create .venv, install calmech, run `calmech demo`
    python3 dev.py test    # create .venv, install with test tools, lint, test

The virtual environment is (re)installed whenever pyproject.toml changes.
Extra arguments after `test` go to pytest, e.g. `python3 dev.py test -k cli`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".calmech-installed"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if code:
        sys.exit(code)


def ensure_venv() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print(f"+ creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test]")
    STAMP.write_text(digest)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("demo", "test"):
        sys.exit(__doc__)
    ensure_venv()
    if argv[0] == "demo":
        run(BIN / "calmech", "demo", *argv[1:])
        return
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "docs")
    run(BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "docs")
    run(BIN / "python", "-m", "pytest", "-q", *argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
