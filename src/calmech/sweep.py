"""Sweeps: the four values as one or two parameters of a file vary.

A sweep re-solves an environment document on a grid of parameter values,
``values(θ₁, θ₂) = solve(document with θ₁, θ₂ substituted).values``, and
records the gain of calibration over the better simple disclosure,
``calibrated − max(no disclosure, full transparency)``.

A parameter is a *path* into the document (the keys of the file format,
:mod:`calmech.files`):

=========================  ==============================================
path                       meaning
=========================  ==============================================
``transfer_weight``        a top-level number
``prior[0][1]``            an array entry (type 0, state 1); the prior is
                           then renormalised (``normalize = true``)
``agent_payoff[1][0][1]``  an entry of a payoff array (allocation, type,
                           state)
``types[1].value``         an attribute of an axis entry, used by formulas
``correlation``            c in ``P_c = p ⊗ q + c (P − p ⊗ q)``, see below
=========================  ==============================================

``correlation`` keeps both marginals of the prior (p over types, q over
states) and scales its departure from independence: c = 0 makes type and
state independent, c = 1 is the file's prior, other values strengthen or
reverse the correlation as long as every entry stays nonnegative. It needs
the prior as an array (not a formula).

Values are written ``start:stop:count`` (evenly spaced, both ends
included) or as a list ``0.1,0.2,0.5``. A point whose environment is
invalid (say a negative probability) or has no solution is recorded with
empty values and the reason, never as a crash.
"""

from __future__ import annotations

import copy
import csv
import io
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from calmech.errors import CalmechError, InputError
from calmech.files import environment_from_dict
from calmech.lp import primitives
from calmech.parallel import parallel_map

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAX_POINTS",
    "Setting",
    "SweepResult",
    "apply_setting",
    "iter_sweep",
    "parse_path",
    "parse_setting",
    "parse_values",
    "plot_sweep",
    "sweep",
]

logger = logging.getLogger("calmech")

#: Gains below this (× payoff scale) are reported as 0.
GAIN_RTOL = 1e-8

#: Largest number of grid points a sweep accepts.
MAX_POINTS = 10_000

VALUE_KEYS = ("standard", "calibrated", "full_transparency", "no_disclosure")

_STEP = re.compile(r"\[(-?\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)")
_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Setting:
    """One swept parameter: a path into the document and its values.

    Examples
    --------
    >>> parse_setting("prior[0][1]=0:0.2:3")
    Setting(path='prior[0][1]', values=(0.0, 0.1, 0.2))
    """

    path: str
    values: tuple[float, ...]


def parse_values(text: str) -> tuple[float, ...]:
    """``start:stop:count`` or ``a,b,c`` as a tuple of floats.

    Examples
    --------
    >>> parse_values("0:1:5")
    (0.0, 0.25, 0.5, 0.75, 1.0)
    >>> parse_values("0.1, 0.5")
    (0.1, 0.5)
    >>> parse_values("0:1")
    Traceback (most recent call last):
    ...
    calmech.errors.InputError: VALUES: must be start:stop:count or a list a,b,c; \
got '0:1'
    """
    rule = "must be start:stop:count or a list a,b,c"
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop = float(parts[0]), float(parts[1])
            count = int(parts[2])
            if count < 1:
                raise InputError("VALUES", "count must be at least 1", text)
            values = np.linspace(start, stop, count)
        else:
            values = np.array([float(x) for x in text.split(",")])
    except ValueError as exc:
        raise InputError("VALUES", rule, text) from exc
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise InputError("VALUES", "values must be finite numbers", text)
    return tuple(float(v) + 0.0 for v in values)


def parse_path(path: str) -> list[str | int]:
    """Split ``key[i][j].attribute`` into its steps.

    Examples
    --------
    >>> parse_path("types[1].value")
    ['types', 1, 'value']
    >>> parse_path("prior[0]]")
    Traceback (most recent call last):
    ...
    calmech.errors.InputError: PATH: must look like key, key[i][j] or \
key[i].attribute; got 'prior[0]]'
    """
    rule = "must look like key, key[i][j] or key[i].attribute"
    head = _HEAD.match(path)
    if head is None:
        raise InputError("PATH", rule, path)
    steps: list[str | int] = [head.group(0)]
    position = head.end()
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise InputError("PATH", rule, path)
        index, attribute = step.groups()
        steps.append(int(index) if index is not None else attribute)
        position = step.end()
    return steps


def parse_setting(text: str) -> Setting:
    """``PATH=VALUES`` as a :class:`Setting`.

    Examples
    --------
    >>> parse_setting("transfer_weight=0.5,1").values
    (0.5, 1.0)
    """
    if "=" not in text:
        raise InputError("--set", "must be PATH=VALUES", text)
    path, values = text.split("=", 1)
    path = path.strip()
    parse_path(path)
    return Setting(path, parse_values(values))


def _correlated_prior(doc: Mapping[str, Any], c: float) -> list[list[float]]:
    prior = doc.get("prior")
    if isinstance(prior, str) or prior is None:
        raise InputError("correlation", "needs the prior as an array", prior)
    P = np.asarray(prior, dtype=float)
    if P.ndim != 2 or P.sum() <= 0:
        raise InputError("correlation", "needs a prior array (types, states)", prior)
    P = P / P.sum()
    independent = np.outer(P.sum(axis=1), P.sum(axis=0))
    return (independent + c * (P - independent)).tolist()


def apply_setting(doc: Mapping[str, Any], path: str, value: float) -> dict[str, Any]:
    """A copy of the document with the entry at ``path`` set to ``value``.

    Raises
    ------
    InputError
        When the path does not lead to a number of the document (top-level
        numbers such as ``transfer_weight`` may be absent).

    Examples
    --------
    >>> doc = {"prior": [[0.4, 0.1], [0.1, 0.4]]}
    >>> apply_setting(doc, "prior[0][1]", 0.3)
    {'prior': [[0.4, 0.3], [0.1, 0.4]], 'normalize': True}
    >>> apply_setting(doc, "correlation", 0.0)["prior"]
    [[0.25, 0.25], [0.25, 0.25]]
    """
    out = copy.deepcopy(dict(doc))
    steps = parse_path(path)
    if steps == ["correlation"]:
        out["prior"] = _correlated_prior(out, value)
        return out
    if len(steps) == 1:
        current = out.get(steps[0], 0.0)
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise InputError("PATH", "must lead to a number of the file", path)
        out[steps[0]] = value
        return out
    node: Any = out
    for step in steps[:-1]:
        node = _step(node, step, path)
    last = steps[-1]
    target = _step(node, last, path)
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise InputError("PATH", "must lead to a number of the file", path)
    node[last] = value
    if steps[0] == "prior":
        out["normalize"] = True
    return out


def _step(node: Any, step: str | int, path: str) -> Any:
    if isinstance(step, int):
        if not isinstance(node, list) or not -len(node) <= step < len(node):
            raise InputError("PATH", "index out of range of the file's array", path)
        return node[step]
    if not isinstance(node, dict) or step not in node:
        raise InputError("PATH", f"no key {step!r} there in the file", path)
    return node[step]


@dataclass(frozen=True)
class SweepResult:
    """The rows of a sweep, one per grid point, in grid order.

    Attributes
    ----------
    name : str
        The environment's name.
    settings : list of Setting
    rows : list of dict
        Each with the parameter values (by path), the four values, ``gain``
        (calibrated − best of the simple disclosures), ``status`` and
        ``message``; values are ``None`` at points without a solution.
    """

    name: str
    settings: list[Setting]
    rows: list[dict[str, Any]]

    @property
    def columns(self) -> list[str]:
        return [
            *(s.path for s in self.settings),
            *VALUE_KEYS,
            "gain",
            "status",
            "message",
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.name,
            "parameters": [
                {"path": s.path, "values": list(s.values)} for s in self.settings
            ],
            "rows": self.rows,
        }

    def to_csv(self) -> str:
        """The rows as CSV text; empty cells where there is no value."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: "" if row[k] is None else row[k] for k in self.columns})
        return buffer.getvalue()

    def grid(self, key: str) -> np.ndarray:
        """A column on the grid, shape (len(values₁), [len(values₂)]); NaN if none."""
        shape = tuple(len(s.values) for s in self.settings)
        data = [math.nan if r[key] is None else r[key] for r in self.rows]
        return np.array(data, dtype=float).reshape(shape)


def _solve_point(task: tuple[dict[str, Any], tuple[tuple[str, float], ...]]) -> dict:
    from calmech.mechanisms import solve

    doc, assignment = task
    row: dict[str, Any] = {path: value for path, value in assignment}
    try:
        for path, value in assignment:
            doc = apply_setting(doc, path, value)
        env = environment_from_dict(doc)
        sol = solve(env)
    except CalmechError as exc:
        row.update({k: None for k in (*VALUE_KEYS, "gain")})
        row.update(status="error", message=str(exc))
        return row
    values = sol.values
    for key in VALUE_KEYS:
        row[key] = float(values[key]) if math.isfinite(values[key]) else None
    simple = max(values["no_disclosure"], values["full_transparency"])
    gain = values["calibrated"] - simple
    if abs(gain) < GAIN_RTOL * primitives(env).scale:
        gain = 0.0  # solver noise, not a gain
    row["gain"] = float(gain) if math.isfinite(gain) else None
    row["status"] = sol.calibrated.status
    row["message"] = (
        "" if sol.calibrated.status == "optimal" else sol.calibrated.message
    )
    return row


def _tasks(doc: Mapping[str, Any], settings: list[Setting]) -> list[tuple]:
    if not 1 <= len(settings) <= 2:
        raise InputError("--set", "give one or two parameters", len(settings))
    if len({s.path for s in settings}) != len(settings):
        raise InputError("--set", "parameters must differ", [s.path for s in settings])
    count = math.prod(len(s.values) for s in settings)
    if count > MAX_POINTS:
        raise InputError("--set", f"at most {MAX_POINTS} grid points", count)
    for s in settings:  # a wrong path is the user's error, not a point's
        apply_setting(doc, s.path, s.values[0])
    if len(settings) == 1:
        grid = [((settings[0].path, v),) for v in settings[0].values]
    else:
        a, b = settings
        grid = [((a.path, x), (b.path, y)) for x in a.values for y in b.values]
    return [(dict(doc), g) for g in grid]


def iter_sweep(
    doc: Mapping[str, Any],
    settings: list[Setting],
    workers: int | None = 1,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Solve every grid point, yielding rows in grid order as they finish.

    ``options`` are passed on to :func:`calmech.parallel.parallel_map`.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> from calmech.files import environment_to_document
    >>> rows = iter_sweep(environment_to_document(monopoly()),
    ...                   [parse_setting("correlation=0,1")])
    >>> [round(r["standard"], 6) for r in rows]
    [1.0, 1.5]
    """
    tasks = _tasks(doc, settings)
    yield from parallel_map(_solve_point, tasks, workers, **options)


def sweep(
    doc: Mapping[str, Any],
    settings: list[Setting],
    workers: int | None = 1,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> SweepResult:
    """Solve the document on the grid of one or two parameters.

    Parameters
    ----------
    doc : mapping
        An environment document (:func:`calmech.files.read_document`).
    settings : list of Setting
        One or two parameters (:func:`parse_setting`).
    workers : int, optional
        Processes; 1 runs in this process.
    progress : callable ``(done, total)``, optional
        Called after every point.
    **options
        Passed on to :func:`calmech.parallel.parallel_map`.

    Returns
    -------
    SweepResult

    Raises
    ------
    InputError
        For a path that is not in the document, or too many points.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> from calmech.files import environment_to_document
    >>> res = sweep(environment_to_document(quality()),
    ...             [parse_setting("agent_payoff[1][1][0]=2,4")])
    >>> [round(r["calibrated"], 6) for r in res.rows]
    [1.0, 1.25]
    """
    total = math.prod(len(s.values) for s in settings)
    rows = []
    for row in iter_sweep(doc, settings, workers, **options):
        rows.append(row)
        if progress is not None:
            progress(len(rows), total)
    name = doc.get("name", "environment")
    logger.info("sweep of %s: %d points", name, total)
    return SweepResult(str(name), list(settings), rows)


def plot_sweep(result: SweepResult) -> Figure:
    """The four values along a 1-D sweep; lines and a gain heatmap in 2-D.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> from calmech.files import environment_to_document
    >>> res = sweep(environment_to_document(quality()),
    ...             [parse_setting("agent_payoff[1][1][0]=2,4")])
    >>> plot_sweep(res).axes[0].get_xlabel()
    'agent_payoff[1][1][0]'
    """
    from calmech.plots.value import VALUE_COLOURS, VALUE_NAMES, _new_figure

    first = result.settings[0]
    x = np.array(first.values)
    if len(result.settings) == 1:
        fig = _new_figure(6.6, 4.4)
        ax = fig.add_subplot()
        styles = {"standard": "--", "calibrated": "-"}
        for key in VALUE_KEYS:
            ax.plot(
                x,
                result.grid(key),
                styles.get(key, "-."),
                marker="o",
                ms=3,
                color=VALUE_COLOURS[key],
                label=VALUE_NAMES[key],
            )
        ax.set_xlabel(first.path)
        ax.set_ylabel("designer's expected payoff")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.25)
        ax.set_title(f"{result.name}: the four values along {first.path}")
        return fig

    import matplotlib

    second = result.settings[1]
    y = np.array(second.values)
    fig = _new_figure(11.0, 4.4)
    left, right = fig.subplots(1, 2)
    cal = result.grid("calibrated")
    cmap = matplotlib.colormaps["viridis"]
    for j, value in enumerate(y):
        colour = cmap(j / max(1, len(y) - 1))
        left.plot(x, cal[:, j], "-o", ms=3, color=colour, label=f"{value:.4g}")
    left.set_xlabel(first.path)
    left.set_ylabel("calibrated value")
    left.legend(title=second.path, fontsize=7, title_fontsize=8, ncol=2)
    left.grid(alpha=0.25)
    gain = np.ma.masked_invalid(result.grid("gain"))
    mesh = right.pcolormesh(
        np.arange(len(x) + 1) - 0.5,
        np.arange(len(y) + 1) - 0.5,
        gain.T,
        cmap="magma",
        shading="flat",
    )
    right.set_xticks(range(len(x)), [f"{v:.3g}" for v in x], rotation=45, fontsize=7)
    right.set_yticks(range(len(y)), [f"{v:.3g}" for v in y], fontsize=7)
    right.set_xlabel(first.path)
    right.set_ylabel(second.path)
    fig.colorbar(mesh, ax=right, label="calibrated − max(no disclosure, full)")
    fig.suptitle(f"{result.name}: sweep of {first.path} and {second.path}")
    return fig
