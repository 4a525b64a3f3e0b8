"""Reading and writing environments and mechanisms as JSON or TOML files.

JSON and TOML files share one set of keys, those of :class:`Environment`:

=====================  ======================================================
key                    value
=====================  ======================================================
``name``               text used in reports (optional)
``states``             labels of Ω, or tables ``{name = "good", good = 1}``
``types``              labels of Θ, or tables with numeric attributes
``allocations``        labels of A, or tables with numeric attributes
``prior``              array (types, states), or a formula over type and state
                       attributes
``agent_payoff``       array (allocations, types, states), (allocations, types)
                       or (allocations,), or a formula over all attributes
``designer_payoff``    the same; optional, 0 when absent
``transfers``          true (quasilinear money, default) or false
``transfer_weight``    number, default 1
``outside_option``     array (types, states), (types,), a number, or a formula
                       over type and state attributes; default 0
``transfer_bounds``    ``[lo, hi]``; ``null`` (JSON) or ``inf`` (TOML) for none
``normalize``          true to divide the prior by its sum; default false
=====================  ======================================================

A formula (see :mod:`calmech.formula`) is evaluated on the grid of
allocations × types × states: each attribute name stands for the value of
the current allocation, type or state, so ``agent_payoff = "sale * value"``
gives ``u[m, n, k] = sale[m] * value[n]``. The format is chosen by the file
suffix, ``.json`` or ``.toml``.

A mechanism file holds ``allocation`` (allocations, types, states) and
``transfers`` (types, states); the output of ``calmech solve --json`` is
accepted too, through its ``standard`` object.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from calmech.environment import Environment
from calmech.errors import (
    FormatError,
    FormulaError,
    InputError,
    LabelError,
    MechanismError,
)
from calmech.formula import RESERVED, parse

__all__ = [
    "ALLOWED_KEYS",
    "MAX_CELLS",
    "MAX_FILE_BYTES",
    "MECHANISM_ATOL",
    "REQUIRED_KEYS",
    "atomic_write_bytes",
    "atomic_write_text",
    "environment_from_dict",
    "environment_to_document",
    "load_environment",
    "load_mechanism",
    "read_document",
    "save_environment",
]

#: Keys an environment document may have, in the order they are written.
ALLOWED_KEYS = (
    "name",
    "states",
    "types",
    "allocations",
    "prior",
    "agent_payoff",
    "designer_payoff",
    "transfers",
    "transfer_weight",
    "outside_option",
    "transfer_bounds",
    "normalize",
)

#: Keys an environment document must have.
REQUIRED_KEYS = ("states", "types", "allocations", "prior", "agent_payoff")

#: Largest file read, in bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024

#: Largest grid allocations × types × states built from a document.
MAX_CELLS = 10_000_000

#: Tolerance on a mechanism's probabilities and transfer bounds.
MECHANISM_ATOL = 1e-9

_SUFFIXES = (".json", ".toml")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_AXES = (("allocations", "allocation"), ("types", "type"), ("states", "state"))


# ----------------------------------------------------------------------
# Reading documents
# ----------------------------------------------------------------------
def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise FormatError("path", "must end in .json or .toml", str(path))
    return suffix


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(key, "appears twice in one JSON object", value)
        out[key] = value
    return out


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON or TOML file into a dictionary, without interpreting it.

    Parameters
    ----------
    path : str or path-like
        A file ending in ``.json`` or ``.toml`` of at most
        :data:`MAX_FILE_BYTES` bytes of UTF-8 text.

    Returns
    -------
    dict
        The top-level table of the file.

    Raises
    ------
    FormatError
        For another suffix, a missing, unreadable, too large or non-UTF-8
        file, or a syntax error (with its line and column).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "env.toml"
    >>> _ = path.write_text('states = ["L", "H"]\\n')
    >>> read_document(path)
    {'states': ['L', 'H']}
    >>> _ = path.write_text('states = ["L", "H"]\\nprior = [0.5 0.5]\\n')
    >>> read_document(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    calmech.errors.FormatError: ...env.toml: invalid TOML: Unclosed array (at line 2, \
column 14)
    """
    path = Path(path)
    suffix = _suffix(path)

    # Size first, so that a huge file is never read.
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FormatError(
                "path", f"file must be at most {MAX_FILE_BYTES} bytes", f"{size} bytes"
            )
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FormatError("path", f"cannot be read ({reason})", str(path)) from exc

    # Text, then syntax.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            str(path),
            "must be UTF-8 text",
            f"byte 0x{data[exc.start]:02x} at offset {exc.start}",
        ) from exc
    if suffix == ".json":
        try:
            document = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise FormatError(
                str(path),
                f"invalid JSON: {exc.msg} (at line {exc.lineno}, column {exc.colno})",
            ) from exc
        except RecursionError as exc:
            raise FormatError(str(path), "invalid JSON: nested too deeply") from exc
    else:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = " ".join(str(exc).split())
            raise FormatError(str(path), f"invalid TOML: {message}") from exc
        except RecursionError as exc:
            raise FormatError(str(path), "invalid TOML: nested too deeply") from exc
    if not isinstance(document, dict):
        raise FormatError(
            str(path),
            "the top level must be an object of keys",
            type(document).__name__,
        )
    return document


# ----------------------------------------------------------------------
# Documents to environments
# ----------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _axis(key: str, entries: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """Split an axis into its labels and its attribute columns."""
    if not isinstance(entries, list):
        raise LabelError(key, "must be a list of labels", entries)
    if not any(isinstance(entry, dict) for entry in entries):
        return entries, {}
    labels = []
    columns: dict[str, list[float]] = {}
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise FormatError(
                where, "all entries must be tables when one of them is", entry
            )
        if "name" not in entry:
            raise FormatError(where, "a table needs a 'name'", entry)
        labels.append(entry["name"])
        attributes = {a: v for a, v in entry.items() if a != "name"}
        expected = set(columns) if i else set(attributes)
        if set(attributes) != expected:
            missing = sorted(expected - set(attributes))
            extra = sorted(set(attributes) - expected)
            rule = (
                f"lacks attribute {missing[0]!r} of {key}[0]"
                if missing
                else f"has attribute {extra[0]!r} that {key}[0] lacks"
            )
            raise FormatError(where, rule + "; all entries need the same ones")
        for attribute, value in attributes.items():
            if not _IDENTIFIER.match(attribute) or attribute in RESERVED:
                raise FormatError(
                    f"{where}.{attribute}",
                    "attribute names must be identifiers and not one of "
                    f"{', '.join(sorted(RESERVED))}",
                    attribute,
                )
            if not _is_number(value) or not math.isfinite(value):
                raise FormatError(
                    f"{where}.{attribute}", "must be a finite number", value
                )
            columns.setdefault(attribute, []).append(float(value))
    return labels, {a: np.array(v) for a, v in columns.items()}


def _namespace(
    attributes: dict[str, dict[str, np.ndarray]], axes: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Attribute columns reshaped to broadcast on the grid of ``axes``."""
    out = {}
    for position, axis in enumerate(axes):
        for attribute, column in attributes[axis].items():
            shape = [1] * len(axes)
            shape[position] = len(column)
            out[attribute] = column.reshape(shape)
    return out


def _formula_array(
    key: str,
    text: str,
    labels: dict[str, Any],
    attributes: dict[str, dict[str, np.ndarray]],
    axes: tuple[str, ...],
) -> np.ndarray:
    """Evaluate the formula of ``key`` on the grid of ``axes``."""
    formula = parse(text, key)
    if "allocations" not in axes:
        for name in formula.names:
            if name in attributes["allocations"]:
                raise FormulaError(
                    key,
                    f"uses allocation attribute {name!r}, but {key} depends "
                    "only on the type and the state",
                )
    grid = [(dict(_AXES)[axis], [str(x) for x in labels[axis]]) for axis in axes]
    return formula.evaluate(_namespace(attributes, axes), axes=grid)


def environment_from_dict(doc: Mapping[str, Any]) -> Environment:
    """Build an environment from a document (the keys of the file format).

    Parameters
    ----------
    doc : mapping
        Keys as in the module docstring; arrays as nested lists, or formula
        strings over the attributes of the axes.

    Returns
    -------
    Environment

    Raises
    ------
    FormatError
        For unknown or missing keys, or malformed attribute tables.
    FormulaError
        For a formula that cannot be parsed or evaluated.
    InputError
        For anything :class:`Environment` rejects.

    Examples
    --------
    THEORY §8 A, with attributes and a formula:

    >>> env = environment_from_dict({
    ...     "states": ["L", "H"],
    ...     "types": [{"name": "low", "value": 1}, {"name": "high", "value": 2}],
    ...     "allocations": [{"name": "no sale", "sale": 0},
    ...                     {"name": "sale", "sale": 1}],
    ...     "prior": [[0.4, 0.1], [0.1, 0.4]],
    ...     "agent_payoff": "sale * value"})
    >>> env.agent_payoff[:, :, 0]
    array([[0., 0.],
           [1., 2.]])
    >>> environment_from_dict({"states": ["L"], "colour": "red"})
    Traceback (most recent call last):
    ...
    calmech.errors.FormatError: colour: unknown key (allowed: name, states, types, \
allocations, prior, agent_payoff, designer_payoff, transfers, transfer_weight, \
outside_option, transfer_bounds, normalize)
    """
    if not isinstance(doc, Mapping):
        raise FormatError("document", "must be a table of keys", type(doc).__name__)

    # Keys.
    for key in doc:
        if key not in ALLOWED_KEYS:
            raise FormatError(
                str(key), f"unknown key (allowed: {', '.join(ALLOWED_KEYS)})"
            )
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise FormatError(
                key, f"is required (required keys: {', '.join(REQUIRED_KEYS)})"
            )

    # Axes: labels and attribute columns; an attribute name must be unique.
    labels: dict[str, Any] = {}
    attributes: dict[str, dict[str, np.ndarray]] = {}
    owner: dict[str, str] = {}
    for axis, _ in _AXES:
        labels[axis], attributes[axis] = _axis(axis, doc[axis])
        for attribute in attributes[axis]:
            if attribute in owner:
                raise FormatError(
                    f"{axis}[0].{attribute}",
                    f"attribute name also used by {owner[attribute]}, so a "
                    "formula could not tell them apart",
                    attribute,
                )
            owner[attribute] = axis
    sizes = {
        axis: len(labels[axis]) if isinstance(labels[axis], list) else 0
        for axis, _ in _AXES
    }
    cells = sizes["allocations"] * sizes["types"] * sizes["states"]
    if cells > MAX_CELLS:
        raise FormatError(
            "allocations",
            f"allocations × types × states must be at most {MAX_CELLS} cells",
            cells,
        )

    # Arrays: formulas are evaluated on their grid, numbers broadcast.
    grids = {
        "prior": ("types", "states"),
        "agent_payoff": ("allocations", "types", "states"),
        "designer_payoff": ("allocations", "types", "states"),
        "outside_option": ("types", "states"),
    }
    arrays: dict[str, Any] = {"designer_payoff": np.zeros(sizes["allocations"])}
    for key, axes in grids.items():
        if key not in doc:
            continue
        value = doc[key]
        if isinstance(value, str):
            value = _formula_array(key, value, labels, attributes, axes)
        elif _is_number(value) and key != "prior":
            value = np.full(tuple(sizes[axis] for axis in axes), float(value))
        arrays[key] = value

    # Options.
    name = doc.get("name", "environment")
    if not isinstance(name, str):
        raise FormatError("name", "must be a string", name)
    normalize = doc.get("normalize", False)
    if not isinstance(normalize, bool):
        raise InputError("normalize", "must be true or false", normalize)
    options = {
        key: doc[key]
        for key in ("transfers", "transfer_weight", "transfer_bounds")
        if key in doc
    }
    return Environment(
        states=labels["states"],
        types=labels["types"],
        allocations=labels["allocations"],
        name=name,
        normalize=normalize,
        **arrays,
        **options,
    )


def load_environment(path: str | os.PathLike[str]) -> Environment:
    """Read an environment from a ``.json`` or ``.toml`` file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Environment

    Raises
    ------
    FormatError, FormulaError, InputError
        See :func:`read_document` and :func:`environment_from_dict`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "one.toml"
    >>> _ = path.write_text('''
    ... states = ["only"]
    ... types = [{name = "buyer", value = 3}]
    ... allocations = ["keep", "sell"]
    ... prior = [[1.0]]
    ... agent_payoff = [0, 3]
    ... ''')
    >>> load_environment(path)
    Environment('environment': 1 states, 1 types, 2 allocations, money, \
private values)
    """
    return environment_from_dict(read_document(path))


# ----------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------
def environment_to_document(env: Environment) -> dict[str, Any]:
    """The environment as a document of plain lists, ready for JSON.

    Transfer bounds without a side are ``None``; :func:`save_environment`
    writes them as ``inf`` in TOML, which has no null.

    Examples
    --------
    >>> env = environment_from_dict({"states": ["s"], "types": ["t"],
    ...     "allocations": ["a"], "prior": [[1]], "agent_payoff": [1]})
    >>> environment_to_document(env)["agent_payoff"]
    [[[1.0]]]
    """
    return env.to_dict()


def _toml_document(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    if "transfer_bounds" in out:
        lo, hi = out["transfer_bounds"]
        out["transfer_bounds"] = [
            -math.inf if lo is None else lo,
            math.inf if hi is None else hi,
        ]
    return out


def _json_text(doc: dict[str, Any]) -> str:
    # One key a line keeps the file readable without spreading arrays out.
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in doc.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_environment(
    env: Environment, path: str | os.PathLike[str], force: bool = False
) -> Path:
    """Write an environment to a ``.json`` or ``.toml`` file, atomically.

    Parameters
    ----------
    env : Environment
    path : str or path-like
        The suffix chooses the format.
    force : bool, default False
        Overwrite an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FormatError
        For another suffix, or an existing file without ``force``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> env = environment_from_dict({"states": ["s"], "types": ["t"],
    ...     "allocations": ["a"], "prior": [[1]], "agent_payoff": [1]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "env.toml"
    >>> _ = save_environment(env, path)
    >>> load_environment(path).agent_payoff.tolist()
    [[[1.0]]]
    """
    path = Path(path)
    doc = environment_to_document(env)
    if _suffix(path) == ".json":
        text = _json_text(doc)
    else:
        text = tomli_w.dumps(_toml_document(doc))
    atomic_write_text(path, text, force=force)
    return path


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, force: bool = False
) -> None:
    """Write ``data`` to ``path`` so that readers never see half a file.

    The data go to a temporary file in the same folder, which then replaces
    (or, without ``force``, is linked to) the target in one step.

    Parameters
    ----------
    path : str or path-like
    data : bytes
    force : bool, default False
        Overwrite an existing file.

    Raises
    ------
    FormatError
        When the file exists and ``force`` is false, or cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> atomic_write_bytes(path, b"abc")
    >>> atomic_write_bytes(path, b"xyz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    calmech.errors.FormatError: path: exists; pass --force to overwrite; got '...'
    >>> atomic_write_bytes(path, b"xyz", force=True)
    >>> path.read_bytes()
    b'xyz'
    """
    path = Path(path)
    folder = path.parent
    if path.exists() and not force:
        raise FormatError("path", "exists; pass --force to overwrite", str(path))
    if not folder.is_dir():
        raise FormatError("path", "folder does not exist", str(folder))
    try:
        handle, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FormatError("path", f"cannot be written ({reason})", str(path)) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _file_mode(path))
        _move(temporary, path, force)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; otherwise follow the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _move(temporary: str, path: Path, force: bool) -> None:
    if force:
        os.replace(temporary, path)
        return

    # A hard link fails if the target appeared since the check above.
    try:
        os.link(temporary, path)
    except FileExistsError as exc:
        raise FormatError(
            "path", "exists; pass --force to overwrite", str(path)
        ) from exc
    except OSError:
        if path.exists():
            raise FormatError(
                "path", "exists; pass --force to overwrite", str(path)
            ) from None
        os.replace(temporary, path)
    else:
        os.unlink(temporary)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, force: bool = False
) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically; see :func:`atomic_write_bytes`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write_text(path, "calibrated")
    >>> path.read_text()
    'calibrated'
    """
    atomic_write_bytes(path, text.encode("utf-8"), force=force)


# ----------------------------------------------------------------------
# Mechanisms
# ----------------------------------------------------------------------
def _mechanism_array(key: str, value: Any, shape: tuple[int, ...], axes: str) -> Any:
    """Nested lists to a float array of ``shape``, or MechanismError."""
    expected = f"must have shape {axes} = {shape}"
    try:
        array = np.array(value, dtype=object)
    except ValueError as exc:
        raise MechanismError(key, expected + " (rows differ in length)", value) from exc
    for item in array.reshape(-1):
        if isinstance(item, list | tuple):
            raise MechanismError(key, expected + " (rows differ in length)", value)
        if not isinstance(item, int | float | np.number) or isinstance(item, bool):
            raise MechanismError(key, "entries must be numbers", item)
    if array.shape != shape:
        raise MechanismError(key, expected, array.shape)
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)][0]
        raise MechanismError(key, "entries must be finite (no NaN or infinity)", bad)
    return array


def _point(env: Environment, n: int, k: int) -> str:
    return f"type {env.types[n]!r}, state {env.states[k]!r}"


def load_mechanism(
    path_or_doc: str | os.PathLike[str] | Mapping[str, Any], env: Environment
) -> tuple[np.ndarray, np.ndarray]:
    """Read a state-contingent mechanism ``(x, t)`` and check it against ``env``.

    Parameters
    ----------
    path_or_doc : str, path-like or mapping
        A ``.json``/``.toml`` file or a document with ``allocation``
        (allocations, types, states) and, optionally, ``transfers``
        (types, states). A document with a ``standard`` object (the output
        of ``calmech solve --json``) is read from that object.
    env : Environment
        The environment the mechanism is meant for.

    Returns
    -------
    allocation : numpy.ndarray, shape (M, N, K)
        ``x(a_m | θ_n, ω_k)``.
    transfers : numpy.ndarray, shape (N, K)
        ``t(θ_n, ω_k)``; zeros when absent.

    Raises
    ------
    MechanismError
        When a shape is wrong, an entry is not a finite number, a
        probability is negative or the probabilities of a (type, state) do
        not sum to 1 within :data:`MECHANISM_ATOL`, or a transfer is nonzero
        without money or outside the transfer bounds.

    Notes
    -----
    Probabilities in ``[-MECHANISM_ATOL, 0)``, as solvers produce, are read
    as 0.

    Examples
    --------
    >>> env = environment_from_dict({"states": ["L", "H"],
    ...     "types": ["low", "high"], "allocations": ["no sale", "sale"],
    ...     "prior": [[0.4, 0.1], [0.1, 0.4]], "agent_payoff": [[0, 0], [1, 2]]})
    >>> x, t = load_mechanism({"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, 1]]],
    ...                        "transfers": [[1, 1], [1, 1]]}, env)
    >>> x.shape, t.shape
    ((2, 2, 2), (2, 2))
    >>> load_mechanism({"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, 0.5]]]}, env)
    Traceback (most recent call last):
    ...
    calmech.errors.MechanismError: allocation: must sum to 1 over allocations \
for type 'high', state 'H' (within 1e-09); got 0.5
    """
    if isinstance(path_or_doc, Mapping):
        doc: Mapping[str, Any] = path_or_doc
    else:
        doc = read_document(path_or_doc)
    if isinstance(doc.get("standard"), Mapping):
        doc = doc["standard"]
    for key in doc:
        close = difflib.get_close_matches(str(key), ["allocation", "transfers"], 1, 0.8)
        if close and close[0] != key:
            raise MechanismError(str(key), f"unknown key (did you mean {close[0]!r}?)")
    if "allocation" not in doc:
        raise MechanismError("allocation", "is required in a mechanism document")
    M, N, K = env.shape

    # Allocation: a probability distribution for every (type, state).
    x = _mechanism_array(
        "allocation", doc["allocation"], (M, N, K), "(allocations, types, states)"
    )
    if np.any(x < -MECHANISM_ATOL):
        m, n, k = np.argwhere(x < -MECHANISM_ATOL)[0]
        raise MechanismError(
            "allocation",
            f"entries must be nonnegative (allocation {env.allocations[m]!r}, "
            f"{_point(env, n, k)})",
            float(x[m, n, k]),
        )
    x = np.maximum(x, 0.0)
    totals = x.sum(axis=0)
    wrong = np.abs(totals - 1.0) > MECHANISM_ATOL
    if np.any(wrong):
        n, k = np.argwhere(wrong)[0]
        raise MechanismError(
            "allocation",
            f"must sum to 1 over allocations for {_point(env, n, k)} "
            f"(within {MECHANISM_ATOL:g})",
            float(totals[n, k]),
        )

    # Transfers: zero without money, within the bounds with it.
    raw = doc.get("transfers")
    if raw is None:
        return x, np.zeros((N, K))
    t = _mechanism_array("transfers", raw, (N, K), "(types, states)")
    if not env.transfers and np.any(t != 0):
        n, k = np.argwhere(t != 0)[0]
        raise MechanismError(
            "transfers",
            "must be absent or zero when the environment has no money "
            f"({_point(env, n, k)})",
            float(t[n, k]),
        )
    lo, hi = env.bounds
    outside = (t < lo - MECHANISM_ATOL) | (t > hi + MECHANISM_ATOL)
    if np.any(outside):
        n, k = np.argwhere(outside)[0]
        raise MechanismError(
            "transfers",
            f"must lie within the transfer bounds [{lo:g}, {hi:g}] "
            f"({_point(env, n, k)})",
            float(t[n, k]),
        )
    return x, t
