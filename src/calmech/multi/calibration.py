"""Is a multi-agent mechanism calibrated? (THEORY §9)

Agent i of type a who reports b in state ω sees, round after round, an
outcome and a payment drawn from its *interim rule*

    R_i^a(b, ω) = law of (m, t_i(b, θ_-i, ω)) when θ_-i ~ P(θ_-i | a, ω)
                  and m ~ x(· | b, θ_-i, ω),

the others reporting truthfully. calmech compares the full distribution of
(outcome, payment) pairs: two states are in one cell of type a's revealed
partition when, for every report b, each pair has the same probability in
both (payments equal within :data:`PARTITION_ATOL`). The agent observes the
joint outcome label, not only its own share. The mechanism is calibrated
when, for every agent, type and cell C with P(a, C) > 0, Bayesian IC and IR
hold under the belief P(θ_-i, ω | a, C). Amounts are expected payoffs under
that belief; as in THEORY §10 an indifferent agent tells the truth.

With types independent across agents given the state the interim rule does
not depend on a; with correlation given the state it can, and the revealed
partition is then computed type by type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.errors import MechanismError
from calmech.multi.environment import MultiEnvironment

__all__ = [
    "MultiCalibrationReport",
    "MultiViolation",
    "check_multi_calibration",
    "interim_rules",
]

#: Default tolerance on constraints, relative to the payoff scale.
CHECK_RTOL = 1e-7
#: Probabilities and payments closer than this are equal.
PARTITION_ATOL = 1e-8
_WEIGHT_EPS = 1e-13


@dataclass(frozen=True)
class MultiViolation:
    """One failing constraint of one agent's type on one revealed cell."""

    kind: str
    agent: str
    type: str
    cell: tuple[str, ...]
    deviation: str | None
    amount: float

    def __str__(self) -> str:
        where = "{" + ", ".join(self.cell) + "}"
        if self.kind == "IC":
            return (
                f"IC of {self.agent} in cell {where}: type {self.type!r} gains "
                f"{self.amount:.6g} by reporting {self.deviation!r}"
            )
        return (
            f"IR of {self.agent} in cell {where}: type {self.type!r} loses "
            f"{self.amount:.6g} by participating"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "agent": self.agent,
            "type": self.type,
            "cell": list(self.cell),
            "deviation": self.deviation,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class MultiCalibrationReport:
    """What a mechanism reveals to each agent, and whether it survives.

    Attributes
    ----------
    calibrated : bool
    partitions : dict
        ``partitions[agent][type]``: the cells (tuples of state labels) of
        that type's revealed partition, over the states it can face.
    violations : list of MultiViolation
        Largest first.
    interim_ic : bool
        Bayesian IC and IR before any learning (one cell, Ω).
    """

    calibrated: bool
    partitions: dict[str, dict[str, list[tuple[str, ...]]]]
    violations: list[MultiViolation] = field(default_factory=list)
    interim_ic: bool = True

    @property
    def verdict(self) -> str:
        if self.calibrated:
            return "calibrated: every constraint holds on every revealed cell"
        return (
            f"not calibrated: {len(self.violations)} violation(s); worst: "
            f"{self.violations[0]}"
        )

    def agent_partition(self, agent: str) -> list[tuple[str, ...]] | None:
        """The agent's partition when all its types see the same one, else None."""
        parts = list(self.partitions[agent].values())
        return parts[0] if all(p == parts[0] for p in parts) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibrated": self.calibrated,
            "interim_incentive_compatible": self.interim_ic,
            "partitions": {
                a: {t: [list(c) for c in cells] for t, cells in by_type.items()}
                for a, by_type in self.partitions.items()
            },
            "violations": [v.to_dict() for v in self.violations],
            "verdict": self.verdict,
        }


def _mechanism_arrays(
    env: MultiEnvironment, allocation: Any, transfers: Any | None
) -> tuple[np.ndarray, np.ndarray]:
    M, T, K, I = len(env.outcomes), env.n_profiles, len(env.states), env.n_agents
    try:
        x = np.asarray(allocation, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MechanismError(
            "allocation", "must be an array of numbers", allocation
        ) from exc
    if x.shape not in ((M, T, K), env.shape):
        raise MechanismError("allocation", f"must have shape {env.shape}", x.shape)
    x = x.reshape(M, T, K)
    if not np.all(np.isfinite(x)) or x.min() < -1e-9:
        raise MechanismError("allocation", "must be finite and nonnegative", x.min())
    sums = x.sum(axis=0)
    if np.any(np.abs(sums - 1) > 1e-7):
        raise MechanismError(
            "allocation",
            "must sum to 1 over outcomes",
            float(sums.flat[np.argmax(np.abs(sums - 1))]),
        )
    if transfers is None:
        return x, np.zeros((I, T, K))
    t = np.asarray(transfers, dtype=float)
    if t.shape not in ((I, T, K), (I, *env.type_counts, K)):
        raise MechanismError(
            "transfers", f"must have shape {(I, *env.type_counts, K)}", t.shape
        )
    if not np.all(np.isfinite(t)):
        raise MechanismError("transfers", "entries must be finite", transfers)
    return x, t.reshape(I, T, K)


def interim_rules(
    env: MultiEnvironment,
    x: np.ndarray,
    t: np.ndarray,
    agent: int,
    own_type: int,
    weights: np.ndarray,
) -> dict[int, list[dict[tuple[int, float], float]]]:
    """Type ``own_type``'s interim rule in each state it can face.

    Returns
    -------
    dict
        ``rules[k][b]`` maps (outcome index, payment) to its probability
        when reporting b in state k; states where the type has no weight are
        left out.
    """
    prof = env.profiles()
    counts = env.type_counts
    stride = int(np.prod(counts[agent + 1 :]))
    mine = np.flatnonzero(prof[:, agent] == own_type)
    rules: dict[int, list[dict[tuple[int, float], float]]] = {}
    for k in range(len(env.states)):
        w = weights[mine, k]
        if w.sum() <= _WEIGHT_EPS:
            continue
        q = w / w.sum()
        by_report = []
        for b in range(counts[agent]):
            dev = mine + (b - own_type) * stride
            law: dict[tuple[int, float], float] = {}
            for p, qp in zip(dev, q, strict=True):
                if qp <= 0:
                    continue
                pay = round(float(t[agent, p, k]) / PARTITION_ATOL) * PARTITION_ATOL
                for m in np.flatnonzero(x[:, p, k] > 0):
                    key = (int(m), pay)
                    law[key] = law.get(key, 0.0) + qp * float(x[m, p, k])
            by_report.append(law)
        rules[k] = by_report
    return rules


def _same_rule(r1: list[dict], r2: list[dict]) -> bool:
    for d1, d2 in zip(r1, r2, strict=True):
        for key in set(d1) | set(d2):
            if abs(d1.get(key, 0.0) - d2.get(key, 0.0)) > PARTITION_ATOL:
                return False
    return True


def _cells(rules: dict[int, list[dict]]) -> list[list[int]]:
    cells: list[list[int]] = []
    for k, rule in rules.items():
        for cell in cells:
            if _same_rule(rules[cell[0]], rule):
                cell.append(k)
                break
        else:
            cells.append([k])
    return cells


def _cell_violations(
    env: MultiEnvironment,
    x: np.ndarray,
    t: np.ndarray,
    weights: np.ndarray,
    i: int,
    a: int,
    cell: list[int],
    atol: float,
) -> list[MultiViolation]:
    prof = env.profiles()
    counts = env.type_counts
    stride = int(np.prod(counts[i + 1 :]))
    mine = np.flatnonzero(prof[:, i] == a)
    ks = np.array(cell)
    w = weights[np.ix_(mine, ks)]
    if w.sum() <= _WEIGHT_EPS:
        return []
    w = w / w.sum()
    u = env.agent_payoff[i][:, a, :][:, ks]  # (M, |C|)

    def payoff(profiles: np.ndarray) -> float:
        gross = np.einsum("mpk,mk,pk->", x[:, profiles][:, :, ks], u, w)
        return float(gross - np.sum(w * t[i][np.ix_(profiles, ks)]))

    labels = tuple(env.states[k] for k in cell)
    agent, types = env.agents[i], env.types[i]
    truth = payoff(mine)
    out = []
    for b in range(counts[i]):
        if b == a:
            continue
        gain = payoff(mine + (b - a) * stride) - truth
        if gain > atol:
            out.append(MultiViolation("IC", agent, types[a], labels, types[b], gain))
    loss = float(np.sum(w * env.outside_option[i][a, ks][None, :])) - truth
    if loss > atol:
        out.append(MultiViolation("IR", agent, types[a], labels, None, loss))
    return out


def check_multi_calibration(
    env: MultiEnvironment,
    allocation: Any,
    transfers: Any | None = None,
    weights: Any | None = None,
    rtol: float = CHECK_RTOL,
) -> MultiCalibrationReport:
    """Revealed partitions and cell-by-cell Bayesian IC/IR of a mechanism.

    Parameters
    ----------
    env : MultiEnvironment
    allocation : array, shape (M, N_1, …, N_I, K) or (M, T, K)
        x(m | θ, ω).
    transfers : array, shape (I, N_1, …, N_I, K) or (I, T, K), optional
        t_i(θ, ω); zero by default.
    weights : array, shape (T, K), optional
        W(θ, ω); the prior by default. Pass μ(ω) P(θ | ω) to check the
        mechanism that runs after a public signal with posterior μ.
    rtol : float
        Tolerance relative to the largest payoff magnitude.

    Returns
    -------
    MultiCalibrationReport

    Examples
    --------
    >>> import numpy as np
    >>> from calmech.multi.examples import two_buyers
    >>> env = two_buyers()
    >>> x = np.zeros(env.shape); x[0] = 1.0  # never sell
    >>> check_multi_calibration(env, x).calibrated
    True
    """
    x, t = _mechanism_arrays(env, allocation, transfers)
    T, K = env.n_profiles, len(env.states)
    W = env.prior.reshape(T, K) if weights is None else np.asarray(weights, float)
    if W.shape != (T, K):
        raise MechanismError("weights", f"must have shape {(T, K)}", W.shape)
    scale = max(
        max(float(np.abs(u).max()) for u in env.agent_payoff),
        max(float(np.abs(o).max()) for o in env.outside_option),
        float(np.abs(t).max()) if t.size else 0.0,
        1e-300,
    )
    atol = rtol * max(scale, 1.0)

    partitions: dict[str, dict[str, list[tuple[str, ...]]]] = {}
    violations: list[MultiViolation] = []
    interim = True
    for i, agent in enumerate(env.agents):
        partitions[agent] = {}
        for a, label in enumerate(env.types[i]):
            rules = interim_rules(env, x, t, i, a, W)
            cells = _cells(rules)
            partitions[agent][label] = [tuple(env.states[k] for k in c) for c in cells]
            for cell in cells:
                violations += _cell_violations(env, x, t, W, i, a, cell, atol)
            if rules and _cell_violations(env, x, t, W, i, a, list(rules), atol):
                interim = False
    violations.sort(key=lambda v: -v.amount)
    return MultiCalibrationReport(not violations, partitions, violations, interim)
