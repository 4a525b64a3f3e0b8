"""Helpers shared by the subcommands: consoles, input loading, JSON output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from calmech.environment import Environment
from calmech.examples import EXAMPLES, get_example
from calmech.files import load_environment

__all__ = ["console", "dumps", "emit_json", "err_console", "fmt", "load_env", "plain"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def load_env(source: str) -> Environment:
    """An environment from a file path, or a built-in example by name."""
    if source in EXAMPLES and not Path(source).exists():
        return get_example(source)
    return load_environment(source)


def plain(value: Any) -> Any:
    """Turn arrays, NumPy scalars and non-finite floats into JSON values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        if not math.isfinite(x):
            return None
        return x + 0.0  # no negative zero
    return value


def dumps(document: Any) -> str:
    """Deterministic JSON text of a document (same input, same bytes)."""
    return json.dumps(plain(document), indent=2, allow_nan=False) + "\n"


def emit_json(document: Any) -> None:
    """Print a document as JSON on standard output, nothing else."""
    import sys

    sys.stdout.write(dumps(document))


def fmt(x: float | None, digits: int = 6) -> str:
    """A number for tables: ``-`` for none, ``-inf``/``inf`` spelled out."""
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "infeasible" if x < 0 else "unbounded"
    return f"{x:.{digits}g}"
