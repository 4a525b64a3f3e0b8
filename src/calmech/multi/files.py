"""Multi-agent environment files: the single-agent format with an ``agents`` list.

A document is multi-agent when it has an ``agents`` key. Top-level keys:

=====================  ======================================================
key                    value
=====================  ======================================================
``name``               text used in reports (optional)
``states``             labels of Ω
``agents``             list of tables, one per agent (below)
``outcomes``           labels of the joint allocations, or a table
                       ``{kind = "one_object"}`` or ``{kind = "slots",
                       slots = S}`` built from the agents' names
``prior``              nested array (N_1, …, N_I, K); or instead
``state_prior``        array (K,) with each agent's ``type_given_state``
``designer_payoff``    array (M, N_1, …, N_I, K), (M, K) or (M,); default 0
``transfers``          true (default) or false
``transfer_weight``    number, default 1
``transfer_bounds``    ``[lo, hi]`` on every payment; ``null``/``inf`` for none
=====================  ======================================================

Agent tables: ``name``, ``types`` (labels), ``agent_payoff`` (M, N_i, K) or
(M, N_i), ``outside_option`` ((N_i, K), (N_i,) or a number; default 0),
``type_given_state`` ((N_i, K), columns summing to 1; with ``state_prior``).
Formulas are not read in multi-agent files.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from typing import Any

from calmech.errors import FormatError
from calmech.files import read_document
from calmech.multi.environment import (
    MultiEnvironment,
    one_object_outcomes,
    slot_outcomes,
)

__all__ = ["is_multi_document", "load_multi_environment", "multi_from_dict"]

_KEYS = (
    "name",
    "states",
    "agents",
    "outcomes",
    "prior",
    "state_prior",
    "designer_payoff",
    "transfers",
    "transfer_weight",
    "transfer_bounds",
)
_AGENT_KEYS = ("name", "types", "agent_payoff", "outside_option", "type_given_state")


def is_multi_document(doc: Mapping[str, Any]) -> bool:
    """Whether a document describes several agents (has an ``agents`` key).

    Examples
    --------
    >>> is_multi_document({"agents": []}), is_multi_document({"types": []})
    (True, False)
    """
    return isinstance(doc, Mapping) and "agents" in doc


def _check_keys(where: str, doc: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FormatError(
                where, f"unknown key{hint}; allowed: {', '.join(allowed)}", key
            )


def _bounds(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise FormatError("transfer_bounds", "must be [lo, hi]", value)
    lo = -math.inf if value[0] is None else value[0]
    hi = math.inf if value[1] is None else value[1]
    try:
        return float(lo), float(hi)
    except (TypeError, ValueError) as exc:
        raise FormatError("transfer_bounds", "must hold two numbers", value) from exc


def multi_from_dict(doc: Mapping[str, Any]) -> MultiEnvironment:
    """Build a :class:`MultiEnvironment` from a document (module docstring).

    Examples
    --------
    >>> doc = {"states": ["w"], "outcomes": {"kind": "one_object"},
    ...        "prior": [[0.5], [0.5]],
    ...        "agents": [{"name": "A", "types": ["lo", "hi"],
    ...                    "agent_payoff": [[0, 0], [1, 2]]}]}
    >>> multi_from_dict(doc).outcomes
    ('nobody', 'A')
    """
    _check_keys("document", doc, _KEYS)
    for key in ("states", "agents", "outcomes"):
        if key not in doc:
            raise FormatError(key, "is required in a multi-agent file")
    agents = doc["agents"]
    if not isinstance(agents, list) or not agents:
        raise FormatError("agents", "must be a nonempty list of tables", agents)
    names, types, payoffs, options, conds = [], [], [], [], []
    for j, agent in enumerate(agents):
        where = f"agents[{j}]"
        if not isinstance(agent, Mapping):
            raise FormatError(where, "must be a table", agent)
        _check_keys(where, agent, _AGENT_KEYS)
        for key in ("types", "agent_payoff"):
            if key not in agent:
                raise FormatError(f"{where}.{key}", "is required")
        names.append(str(agent.get("name", f"agent {j + 1}")))
        types.append(agent["types"])
        payoffs.append(agent["agent_payoff"])
        options.append(agent.get("outside_option", 0.0))
        conds.append(agent.get("type_given_state"))

    outcomes = doc["outcomes"]
    if isinstance(outcomes, Mapping):
        kind = outcomes.get("kind")
        if kind == "one_object":
            outcomes = one_object_outcomes(names)[0]
        elif kind == "slots":
            outcomes = slot_outcomes(names, outcomes.get("slots", 1))[0]
        else:
            raise FormatError("outcomes.kind", 'must be "one_object" or "slots"', kind)

    common = {
        "designer_payoff": doc.get("designer_payoff"),
        "transfers": doc.get("transfers", True),
        "transfer_weight": doc.get("transfer_weight", 1.0),
        "outside_option": options,
        "transfer_bounds": _bounds(doc.get("transfer_bounds")),
        "name": doc.get("name", "environment"),
    }
    has_prior = "prior" in doc
    has_cond = "state_prior" in doc or any(c is not None for c in conds)
    if has_prior == has_cond:
        raise FormatError(
            "prior",
            "give either prior (types of every agent, then states) or state_prior "
            "with every agent's type_given_state",
        )
    if has_prior:
        return MultiEnvironment(
            states=doc["states"],
            agents=names,
            types=types,
            outcomes=outcomes,
            prior=doc["prior"],
            agent_payoff=payoffs,
            **common,
        )
    if "state_prior" not in doc or any(c is None for c in conds):
        raise FormatError(
            "type_given_state",
            "state_prior and every agent's type_given_state must be given together",
        )
    return MultiEnvironment.independent(
        states=doc["states"],
        state_prior=doc["state_prior"],
        agents=names,
        types=types,
        type_given_state=conds,
        outcomes=outcomes,
        agent_payoff=payoffs,
        **common,
    )


def load_multi_environment(path: str | os.PathLike[str]) -> MultiEnvironment:
    """Read a multi-agent environment from a ``.json`` or ``.toml`` file."""
    doc = read_document(path)
    if not is_multi_document(doc):
        raise FormatError(str(path), "is not a multi-agent file (no agents key)")
    return multi_from_dict(doc)
