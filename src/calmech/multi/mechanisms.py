"""The three multi-agent families of THEORY §9 and their best mechanisms.

* *Standard*: Bayesian IC and interim IR on Ω, x(m | θ, ω) and t_i(θ, ω)
  free (the multi-agent version of THEORY §3). An upper bound on every
  other value here; in general not calibrated.
* *Public disclosure*: a public signal s ~ π(· | ω), then a state-independent
  Bayesian IC mechanism at the posterior μ_s. With the multi-agent value
  function

      V(μ) = max Σ_{θ,ω} μ(ω) P(θ | ω) [v(x(θ), θ, ω) + τ Σ_i t_i(θ)]
             s.t. BIC and IR of every agent under P(θ_-i, ω | θ_i, μ),

  the family's best value is cav V(μ₀), found here by a grid and a master
  LP with local refinement (:func:`public_disclosure`): the value returned
  is attained by the split it reports, so it is a lower bound on cav V(μ₀).
* *Partition profile*: one partition of Ω per agent; interim rules
  measurable with respect to it, IC and IR cell by cell (one LP,
  :func:`partition_optimum`); the best profile by enumeration
  (:func:`best_partition_profile`).

Which of these are calibrated: a partition-profile mechanism always is
(its interim rules reveal at most the given cells, and IC/IR on each cell
add up to IC/IR on any union of cells). A public-disclosure mechanism is
calibrated when the agent learns nothing beyond the signal; with several
agents whose types are correlated with ω, the frequency with which an agent
wins reveals ω too, so calmech checks every signal's mechanism with
:func:`~calmech.multi.calibration.check_multi_calibration` and says so.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.errors import InputError
from calmech.lp import solve_lp
from calmech.multi.calibration import MultiCalibrationReport, check_multi_calibration
from calmech.multi.environment import MultiEnvironment
from calmech.multi.lp import build_lp, partition_layout, standard_layout, value_layout

__all__ = [
    "MAX_PARTITION_PROFILES",
    "MultiMechanism",
    "MultiSolution",
    "MultiValuePoint",
    "PartitionSearch",
    "PublicDisclosure",
    "PublicSignal",
    "best_partition_profile",
    "multi_standard_optimum",
    "multi_value",
    "partition_optimum",
    "public_disclosure",
    "set_partitions",
    "solve_multi",
]

logger = logging.getLogger("calmech")

#: Largest number of partition profiles :func:`best_partition_profile` tries.
MAX_PARTITION_PROFILES = 2000


def _float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class MultiMechanism:
    """A state-contingent multi-agent mechanism and what it is worth.

    Attributes
    ----------
    family : str
        ``"standard"`` or ``"partition profile"``.
    value : float
        Designer's expected payoff (``-inf`` if infeasible).
    status : str
        The LP's status.
    allocation : ndarray, shape (M, N_1, …, N_I, K) or None
    transfers : ndarray, shape (I, N_1, …, N_I, K) or None
    partitions : list or None
        The partition profile (cells of state labels per agent).
    calibration : MultiCalibrationReport or None
    """

    family: str
    value: float
    status: str
    allocation: np.ndarray | None
    transfers: np.ndarray | None
    partitions: list[list[tuple[str, ...]]] | None = None
    calibration: MultiCalibrationReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "value": _float(self.value),
            "status": self.status,
            "partitions": None
            if self.partitions is None
            else [[list(c) for c in p] for p in self.partitions],
            "allocation": self.allocation,
            "transfers": self.transfers,
            "calibration": None
            if self.calibration is None
            else self.calibration.to_dict(),
        }


def _solve_family(
    env: MultiEnvironment, layout, family: str, partitions=None, check: bool = True
) -> MultiMechanism:
    T, K = env.n_profiles, len(env.states)
    lp = build_lp(env, env.prior.reshape(T, K), layout)
    res = lp.solve()
    if not res.optimal:
        return MultiMechanism(family, res.value, res.status, None, None, partitions)
    x, t = lp.mechanism(res.x)
    x = np.clip(x, 0.0, None)
    x = x / x.sum(axis=0, keepdims=True)
    report = check_multi_calibration(env, x, t) if check else None
    return MultiMechanism(
        family,
        res.value,
        res.status,
        x.reshape(env.shape),
        t.reshape(env.n_agents, *env.type_counts, K),
        partitions,
        report,
    )


def multi_standard_optimum(env: MultiEnvironment, check: bool = True) -> MultiMechanism:
    """The standard optimum: Bayesian IC and interim IR, ω used freely.

    Examples
    --------
    >>> from calmech.multi.examples import two_buyers
    >>> mech = multi_standard_optimum(two_buyers())
    >>> round(mech.value, 6), mech.calibration.calibrated  # the full surplus
    (2.21, False)
    """
    return _solve_family(env, standard_layout(env), "standard", None, check)


# ----------------------------------------------------------------------
# Public disclosure
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class MultiValuePoint:
    """V(μ) and the state-independent mechanism attaining it.

    Attributes
    ----------
    belief : ndarray, shape (K,)
    value : float
        ``-inf`` when no mechanism meets every participation constraint.
    allocation : ndarray, shape (M, N_1, …, N_I) or None
    transfers : ndarray, shape (I, N_1, …, N_I) or None
    """

    belief: np.ndarray
    value: float
    allocation: np.ndarray | None
    transfers: np.ndarray | None


def _belief_weights(env: MultiEnvironment, mu: np.ndarray) -> np.ndarray:
    T, K = env.n_profiles, len(env.states)
    P = env.prior.reshape(T, K)
    return P / env.state_prior[None, :] * mu[None, :]


def multi_value(env: MultiEnvironment, belief: Any) -> MultiValuePoint:
    """The multi-agent value function V(μ) (module docstring).

    Examples
    --------
    >>> from calmech.multi.examples import ad_platform
    >>> round(multi_value(ad_platform(), [1.0, 0.0]).value, 6)
    0.75
    """
    K = len(env.states)
    try:
        mu = np.asarray(belief, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError("belief", "must be a list of numbers", belief) from exc
    if mu.shape != (K,) or mu.min() < -1e-12 or abs(mu.sum() - 1) > 1e-9:
        raise InputError(
            "belief", f"must be {K} nonnegative numbers summing to 1", belief
        )
    mu = np.clip(mu, 0.0, None)
    layout = value_layout(env)
    lp = build_lp(env, _belief_weights(env, mu), layout)
    res = lp.solve()
    if not res.optimal:
        return MultiValuePoint(mu, res.value, None, None)
    x, t = lp.mechanism(res.x)
    M, I = len(env.outcomes), env.n_agents
    return MultiValuePoint(
        mu,
        res.value,
        x[:, :, 0].reshape(M, *env.type_counts),
        t[:, :, 0].reshape(I, *env.type_counts),
    )


@dataclass(frozen=True)
class PublicSignal:
    """One public signal: its probability, posterior, mechanism and check."""

    probability: float
    point: MultiValuePoint
    calibration: MultiCalibrationReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability": self.probability,
            "posterior": self.point.belief,
            "value": _float(self.point.value),
            "allocation": self.point.allocation,
            "transfers": self.point.transfers,
            "calibration": self.calibration.to_dict(),
        }


@dataclass(frozen=True)
class PublicDisclosure:
    """The best public disclosure found, with the two fixed disclosures.

    Attributes
    ----------
    value : float
        Σ_s p_s V(μ_s) of the returned split: a lower bound on cav V(μ₀).
    signals : list of PublicSignal
    no_disclosure : float
        V(μ₀).
    full_transparency : float
        Σ_k μ₀(k) V(δ_k).
    calibrated : bool
        Whether every signal's mechanism passes the calibration check.
    method : str
        What was done: grid resolution, refinement rounds.
    lps : int
        Value-function LPs solved.
    seconds : float
    """

    value: float
    signals: list[PublicSignal]
    no_disclosure: float
    full_transparency: float
    calibrated: bool
    method: str
    lps: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _float(self.value),
            "no_disclosure": _float(self.no_disclosure),
            "full_transparency": _float(self.full_transparency),
            "calibrated": self.calibrated,
            "method": self.method,
            "lps": self.lps,
            "seconds": round(self.seconds, 3),
            "signals": [s.to_dict() for s in self.signals],
        }


def _lattice(K: int, r: int) -> np.ndarray:
    """Beliefs whose coordinates are multiples of 1/r."""
    pts = [
        np.array(c, dtype=float) / r
        for c in itertools.product(range(r + 1), repeat=K - 1)
        if sum(c) <= r
    ]
    return np.array([np.append(p, 1.0 - p.sum()) for p in pts])


def _default_resolution(K: int) -> int:
    return {1: 1, 2: 50, 3: 20, 4: 10}.get(K, 5)


#: Splits within this (relative) of no disclosure are not worth a signal.
_TIE_RTOL = 1e-9


def _key(mu: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.round(mu / mu.sum(), 13))


class _Pool:
    """Beliefs at which V has been evaluated."""

    def __init__(self, env: MultiEnvironment) -> None:
        self.env = env
        self.points: dict[tuple[float, ...], MultiValuePoint] = {}

    def add(self, mu: np.ndarray) -> None:
        mu = np.clip(mu, 0.0, None)
        mu = mu / mu.sum()
        key = _key(mu)
        if key not in self.points:
            self.points[key] = multi_value(self.env, np.array(key) / sum(key))

    def master(
        self, mu0: np.ndarray
    ) -> tuple[float, list[MultiValuePoint], np.ndarray]:
        pts = [p for p in self.points.values() if math.isfinite(p.value)]
        if not pts:
            return -math.inf, [], np.zeros(0)
        B = np.array([p.belief for p in pts]).T  # (K, S)
        c = np.array([p.value for p in pts])
        bounds = np.tile([0.0, np.inf], (len(pts), 1))
        res = solve_lp(c, None, None, B, mu0, bounds)
        if not res.optimal:
            return -math.inf, [], np.zeros(0)
        keep = np.flatnonzero(res.x > 1e-12)
        probs = res.x[keep] / res.x[keep].sum()
        return res.value, [pts[s] for s in keep], probs


def public_disclosure(
    env: MultiEnvironment,
    resolution: int | None = None,
    rounds: int | None = None,
) -> PublicDisclosure:
    """Best public disclosure, then a state-independent Bayesian IC mechanism.

    Parameters
    ----------
    env : MultiEnvironment
    resolution : int, optional
        Grid step 1/resolution on Δ(Ω): 50 for two states, 20 for three,
        10 for four, 5 beyond.
    rounds : int, optional
        Local refinements around the split's posteriors, each with a step ten
        times finer: 6 for two states, 3 beyond.

    Returns
    -------
    PublicDisclosure

    Notes
    -----
    The master LP over the evaluated beliefs gives a split of μ₀ and its
    value Σ_s p_s V(μ_s), attained by the mechanisms returned, so the value
    is a lower bound on cav V(μ₀); it is exact when the envelope's
    supporting posteriors lie on the refined grid (kinks of V at simple
    fractions, as in the examples). No upper bound is certified.

    Examples
    --------
    >>> from calmech.multi.examples import ad_platform
    >>> pd = public_disclosure(ad_platform())
    >>> round(pd.value, 6), round(pd.no_disclosure, 6), pd.calibrated
    (0.75, 0.675, True)
    """
    start = time.monotonic()
    K = len(env.states)
    mu0 = env.state_prior
    r = _default_resolution(K) if resolution is None else int(resolution)
    R = (6 if K == 2 else 3) if rounds is None else int(rounds)
    if r < 1 or R < 0:
        raise InputError("resolution", "must be a positive integer", resolution)
    pool = _Pool(env)

    # Grid, vertices and the prior.
    pool.add(mu0)
    for mu in np.eye(K):
        pool.add(mu)
    if K > 1:
        for mu in _lattice(K, r):
            pool.add(mu)

    # Refine around the split's posteriors with steps ten times finer.
    step = 1.0 / r
    directions = [
        np.eye(K)[j] - np.eye(K)[l] for j in range(K) for l in range(K) if j != l
    ]
    reach = 10 if K == 2 else 3
    for _ in range(R if K > 1 else 0):
        _, support, _ = pool.master(mu0)
        for pt in support:
            for d in directions:
                for c in range(1, reach + 1):
                    mu = pt.belief + c * step / reach * d
                    if mu.min() >= -1e-15:
                        pool.add(mu)
        step /= reach

    value, support, probs = pool.master(mu0)
    # Prefer no disclosure when it does as well: the master's split is then
    # one of many optimal ones.
    prior_point = pool.points[_key(mu0)]
    if prior_point.value >= value - _TIE_RTOL * max(1.0, abs(value)):
        value, support, probs = prior_point.value, [prior_point], np.ones(1)
    W = env.prior.reshape(env.n_profiles, K)
    signals = []
    for p, pt in zip(probs, support, strict=True):
        weights = W / mu0[None, :] * pt.belief[None, :]
        x = np.repeat(pt.allocation[..., None], K, axis=-1)
        t = np.repeat(pt.transfers[..., None], K, axis=-1)
        report = check_multi_calibration(env, x, t, weights=weights)
        signals.append(PublicSignal(float(p), pt, report))
    none = prior_point.value
    full = float(sum(mu0[k] * pool.points[_key(np.eye(K)[k])].value for k in range(K)))
    method = (
        f"grid 1/{r} on the simplex, {R} local refinement(s), master LP"
        if K > 1
        else "one state"
    )
    seconds = time.monotonic() - start
    logger.info(
        "public disclosure: value %.10g, %d signal(s), %d LPs, %.2fs",
        value,
        len(signals),
        len(pool.points),
        seconds,
    )
    return PublicDisclosure(
        value=value,
        signals=signals,
        no_disclosure=none,
        full_transparency=full,
        calibrated=all(s.calibration.calibrated for s in signals),
        method=method,
        lps=len(pool.points),
        seconds=seconds,
    )


# ----------------------------------------------------------------------
# Partition profiles
# ----------------------------------------------------------------------
def set_partitions(K: int) -> list[list[list[int]]]:
    """All partitions of {0, …, K−1} (Bell(K) of them), finest last.

    Examples
    --------
    >>> set_partitions(3)
    [[[0, 1, 2]], [[0, 1], [2]], [[0, 2], [1]], [[0], [1, 2]], [[0], [1], [2]]]
    """
    out = []
    for code in itertools.product(range(K), repeat=K):
        # Restricted growth strings: each block number at most one above the max so far.
        if code[0] != 0 or any(code[j] > max(code[:j]) + 1 for j in range(1, K)):
            continue
        blocks: list[list[int]] = [[] for _ in range(max(code) + 1)]
        for k, b in enumerate(code):
            blocks[b].append(k)
        out.append(blocks)
    return out


def _partition_indices(env: MultiEnvironment, partitions: Any) -> list[list[list[int]]]:
    I, K = env.n_agents, len(env.states)
    if not isinstance(partitions, list | tuple) or len(partitions) != I:
        raise InputError(
            "partitions", f"must give one partition per agent ({I})", partitions
        )
    out = []
    for i, part in enumerate(partitions):
        cells = []
        for cell in part:
            idx = []
            for s in cell:
                if isinstance(s, str):
                    if s not in env.states:
                        raise InputError(f"partitions[{i}]", "unknown state", s)
                    idx.append(env.states.index(s))
                else:
                    idx.append(int(s))
            cells.append(sorted(idx))
        flat = sorted(k for c in cells for k in c)
        if flat != list(range(K)) or any(not c for c in cells):
            raise InputError(
                f"partitions[{i}]",
                "must split the states into disjoint nonempty cells",
                part,
            )
        out.append(cells)
    return out


def partition_optimum(
    env: MultiEnvironment, partitions: Any, check: bool = True
) -> MultiMechanism:
    """Best mechanism whose interim rules are measurable for a partition profile.

    Parameters
    ----------
    env : MultiEnvironment
    partitions : list
        One partition of Ω per agent, cells as lists of state labels or
        indices.
    check : bool
        Run the calibration check on the result.

    Notes
    -----
    Agent i's payment depends on the whole type profile in states that its
    partition singles out, and on its own report and cell elsewhere; with
    types independent across agents given the state this loses nothing
    (only interim expected payments matter), with correlation given the
    state it is a restriction of the family.

    Examples
    --------
    >>> from calmech.multi.examples import two_buyers
    >>> env = two_buyers()
    >>> finest = [[["low"], ["high"]]] * 2
    >>> mech = partition_optimum(env, finest)
    >>> mech.calibration.calibrated
    True
    """
    cells = _partition_indices(env, partitions)
    labels = [[tuple(env.states[k] for k in c) for c in p] for p in cells]
    return _solve_family(
        env, partition_layout(env, cells), "partition profile", labels, check
    )


@dataclass(frozen=True)
class PartitionSearch:
    """The best partition profile, with the two extreme profiles.

    Attributes
    ----------
    best : MultiMechanism
    finest : float
        Every agent learns ω: equals full transparency.
    coarsest : float
        Every agent's interim rule is state-independent.
    profiles : int
        Profiles solved.
    seconds : float
    """

    best: MultiMechanism
    finest: float
    coarsest: float
    profiles: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "best": self.best.to_dict(),
            "finest": _float(self.finest),
            "coarsest": _float(self.coarsest),
            "profiles": self.profiles,
            "seconds": round(self.seconds, 3),
        }


def best_partition_profile(
    env: MultiEnvironment, max_profiles: int = MAX_PARTITION_PROFILES
) -> PartitionSearch:
    """Best mechanism over all Bell(K)^I partition profiles.

    Raises
    ------
    InputError
        When Bell(K)^I exceeds ``max_profiles``.

    Examples
    --------
    >>> from calmech.multi.examples import ad_platform
    >>> search = best_partition_profile(ad_platform())
    >>> search.profiles, round(search.best.value, 6), round(search.coarsest, 6)
    (4, 0.75, 0.675)
    """
    start = time.monotonic()
    K, I = len(env.states), env.n_agents
    parts = set_partitions(K)
    count = len(parts) ** I
    if count > max_profiles:
        raise InputError(
            "partition profiles",
            f"Bell({K})^{I} = {count} profiles exceed the limit {max_profiles}; "
            "use partition_optimum for chosen profiles",
            count,
        )
    best: MultiMechanism | None = None
    values = {}
    for profile in itertools.product(range(len(parts)), repeat=I):
        cells = [parts[j] for j in profile]
        mech = partition_optimum(env, cells, check=False)
        values[profile] = mech.value
        if best is None or mech.value > best.value + 1e-10:
            best = mech
    best = partition_optimum(env, best.partitions, check=True)  # type: ignore[union-attr]
    logger.info(
        "partition profiles: %d LPs, best %.10g, %.2fs",
        count,
        best.value,
        time.monotonic() - start,
    )
    return PartitionSearch(
        best=best,
        finest=values[(len(parts) - 1,) * I],
        coarsest=values[(0,) * I],
        profiles=count,
        seconds=time.monotonic() - start,
    )


# ----------------------------------------------------------------------
# Everything at once
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class MultiSolution:
    """Standard, public-disclosure and partition-profile optima of one environment."""

    environment: MultiEnvironment
    standard: MultiMechanism
    public: PublicDisclosure
    partition: PartitionSearch | None
    notes: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, float | None]:
        return {
            "standard": self.standard.value,
            "public_disclosure": self.public.value,
            "partition_profile": None
            if self.partition is None
            else self.partition.best.value,
            "full_transparency": self.public.full_transparency,
            "no_disclosure": self.public.no_disclosure,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment.to_dict(),
            "values": {
                k: None if v is None else _float(v) for k, v in self.values.items()
            },
            "standard": self.standard.to_dict(),
            "public_disclosure": self.public.to_dict(),
            "partition_profile": None
            if self.partition is None
            else self.partition.to_dict(),
            "notes": self.notes,
        }


def solve_multi(
    env: MultiEnvironment, max_profiles: int = MAX_PARTITION_PROFILES
) -> MultiSolution:
    """Solve the three families of a multi-agent environment.

    Examples
    --------
    >>> from calmech.multi.examples import two_buyers
    >>> sol = solve_multi(two_buyers())
    >>> values = {k: round(v, 4) for k, v in sol.values.items()}
    >>> values  # doctest: +NORMALIZE_WHITESPACE
    {'standard': 2.21, 'public_disclosure': 2.21, 'partition_profile': 2.015,
     'full_transparency': 2.015, 'no_disclosure': 2.21}
    >>> sol.public.calibrated  # buyers learn the quality from how often they win
    False
    """
    notes = []
    standard = multi_standard_optimum(env)
    public = public_disclosure(env)
    K, I = len(env.states), env.n_agents
    count = len(set_partitions(K)) ** I
    partition = None
    if count <= max_profiles:
        partition = best_partition_profile(env, max_profiles)
    else:
        notes.append(
            f"partition profiles skipped: Bell({K})^{I} = {count} exceeds "
            f"{max_profiles}"
        )
    if not public.calibrated:
        notes.append(
            "the public-disclosure mechanism is not calibrated: agents learn the "
            "state from how the others' reports vary with it"
        )
    return MultiSolution(env, standard, public, partition, notes)
