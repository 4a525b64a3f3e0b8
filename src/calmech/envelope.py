"""The concave envelope of V at the prior: the optimal calibrated value.

    cav V(μ₀) = max { Σ_s p_s V(μ_s) : Σ_s p_s μ_s = μ₀, p ≥ 0 }.

The maximum is found by column generation. A *master* LP splits μ₀ among a
pool of beliefs at which V is known; its dual is an affine function
h(μ) = α·μ with h ≥ V on the pool and h(μ₀) equal to the master's value.
*Pricing* looks for a belief with V(μ) > h(μ): first by a pattern search
from the most promising beliefs (exact kinks included, since the search
halves its step down to 1e-11), then by the branch and bound of
:mod:`calmech.certificate`, which either finds such a belief or proves
V − h ≤ ε on the whole simplex. The proof gives the upper bound
cav V(μ₀) ≤ h(μ₀) + ε, so every answer comes with its gap.

The master's basic optimal solution has at most K positive weights, the
Carathéodory bound of THEORY §5.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.certificate import BranchAndBound
from calmech.lp import solve_lp
from calmech.value import ValueFunction, ValuePoint

__all__ = ["EnvelopeResult", "concavify", "simplex_lattice"]

logger = logging.getLogger("calmech")


@dataclass
class EnvelopeResult:
    """The envelope at the prior with its split and its diagnostics.

    Attributes
    ----------
    value : float
        Σ_s p_s V(μ_s), a value attained by the returned split.
    upper_bound : float
        A certified upper bound on cav V(μ₀).
    points : list of ValuePoint
        The posteriors used (positive probability), with their mechanisms.
    probabilities : ndarray
        Their probabilities.
    alpha : ndarray, shape (K,)
        The supporting affine function h(μ) = α·μ at μ₀.
    status : str
        ``"optimal"`` (gap within tolerance), ``"limit"`` (stopped by the
        time or node limit; the gap says how far), or ``"infeasible"``.
    lps : int
        Value-function LPs solved.
    bound_nodes : int
        Regions bounded by the branch and bound.
    iterations : int
        Master LPs solved.
    seconds : float
    method : str
    message : str
    """

    value: float
    upper_bound: float
    points: list[ValuePoint]
    probabilities: np.ndarray
    alpha: np.ndarray
    status: str
    lps: int = 0
    bound_nodes: int = 0
    iterations: int = 0
    seconds: float = 0.0
    method: str = "column generation with certified bound"
    message: str = ""
    pool_size: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return self.upper_bound - self.value


def simplex_lattice(K: int, resolution: int) -> np.ndarray:
    """All beliefs with coordinates in multiples of ``1/resolution``.

    Examples
    --------
    >>> simplex_lattice(3, 2).shape
    (6, 3)
    """
    points = [
        np.array(c, dtype=float) / resolution
        for c in itertools.product(range(resolution + 1), repeat=K - 1)
        if sum(c) <= resolution
    ]
    return np.array([np.append(p, 1.0 - p.sum()) for p in points]).reshape(-1, K)


def _default_resolution(K: int) -> int:
    # About a hundred starting beliefs whatever K is.
    for r in range(64, 0, -1):
        if math.comb(r + K - 1, K - 1) <= 120:
            return r
    return 1


class _Pool:
    """Beliefs at which V was evaluated, with their results (cached)."""

    def __init__(self, vf: ValueFunction) -> None:
        self.vf = vf
        self.cache: dict[bytes, ValuePoint] = {}
        self.beliefs: list[np.ndarray] = []
        self.values: list[float] = []
        self.points: list[ValuePoint] = []

    def value(self, mu: np.ndarray) -> float:
        return self.point(mu).value

    def point(self, mu: np.ndarray) -> ValuePoint:
        mu = np.clip(mu, 0.0, None)
        mu = mu / mu.sum()
        key = np.round(mu, 14).tobytes()
        if key not in self.cache:
            self.cache[key] = self.vf._solve(mu)
        return self.cache[key]

    def add(self, mu: np.ndarray) -> bool:
        pt = self.point(mu)
        if not pt.feasible:
            return False
        for b in self.beliefs:
            if np.abs(b - pt.belief).max() < 1e-15:
                return False
        self.beliefs.append(pt.belief)
        self.values.append(pt.value)
        self.points.append(pt)
        return True


def _master(pool: _Pool, mu0: np.ndarray, penalty: float) -> tuple:
    """Split μ₀ over the pool; artificial vertex columns keep it feasible."""
    K = mu0.size
    B = np.array(pool.beliefs).T if pool.beliefs else np.zeros((K, 0))
    A_eq = np.hstack([B, np.eye(K)])
    c = np.concatenate([np.array(pool.values), np.full(K, -penalty)])
    bounds = np.zeros((c.size, 2))
    bounds[:, 1] = np.inf
    res = solve_lp(c, None, None, A_eq, mu0, bounds)
    if not res.optimal:  # pragma: no cover - the artificial columns prevent it
        raise RuntimeError(f"master LP failed: {res.message}")
    return res.value, res.x, res.eq_duals


def _pattern_search(
    f: Any, start: np.ndarray, step: float, min_step: float, budget: int
) -> tuple[np.ndarray, float, int]:
    """Maximise f on the simplex by moves along e_i − e_j, halving the step."""
    K = start.size
    dirs = [np.eye(K)[i] - np.eye(K)[j] for i in range(K) for j in range(K) if i != j]
    x, fx, used = start.copy(), f(start), 1
    while step >= min_step and used < budget:
        moved = False
        for d in dirs:
            y = x + step * d
            if y.min() < 0:
                y = np.clip(y, 0.0, None)
                y /= y.sum()
            fy = f(y)
            used += 1
            if fy > fx + 1e-15:
                x, fx, moved = y, fy, True
                break
        if not moved:
            step /= 2
    return x, fx, used


def concavify(
    vf: ValueFunction,
    mu0: np.ndarray | None = None,
    tol: float | None = None,
    time_limit: float = 60.0,
    max_iterations: int = 500,
) -> EnvelopeResult:
    """Concave envelope of V at μ₀, with a certified upper bound.

    Parameters
    ----------
    vf : ValueFunction
    mu0 : ndarray, optional
        The belief at which to concavify; the prior's marginal by default.
    tol : float, optional
        Target gap relative to the payoff scale (largest payoff magnitude):
        ``1e-9`` for two states, ``1e-6`` for more.
    time_limit : float, default 60
        Seconds; past them the best split is returned with its gap.
    max_iterations : int, default 500
        Master LPs.

    Returns
    -------
    EnvelopeResult

    Examples
    --------
    >>> from calmech.examples import quality
    >>> res = concavify(ValueFunction(quality()))
    >>> round(res.value, 9), res.gap < 1e-8
    (1.25, True)
    >>> sorted(round(float(p.belief[0]), 6) for p in res.points)
    [0.0, 0.7]
    """
    start = time.monotonic()
    deadline = start + time_limit
    prim = vf.prim
    M, N, K = prim.shape
    mu0 = prim.mu0 if mu0 is None else np.asarray(mu0, dtype=float)
    scale = prim.scale
    if tol is None:
        tol = 1e-9 if K <= 2 else 1e-6
    target = tol * scale
    found = 0.25 * target
    penalty = 1e3 * scale + 1e3 * max(abs(prim.box[0]), abs(prim.box[1]), 1.0)
    lps_before = vf.lp_count

    # Start from the vertices, the prior and a lattice of about 100 beliefs.
    pool = _Pool(vf)
    pool.add(mu0)
    for mu in simplex_lattice(K, _default_resolution(K)):
        pool.add(mu)
    resolution = _default_resolution(K)

    iterations = 0
    bound_nodes = 0
    upper = math.inf
    status = "limit"
    while iterations < max_iterations:
        iterations += 1
        value, weights, alpha = _master(pool, mu0, penalty)

        def gap_at(mu: np.ndarray, alpha: np.ndarray = alpha) -> float:
            return pool.value(mu) - float(mu @ alpha)

        # Pricing, first by local search from the support and its neighbours.
        S = len(pool.beliefs)
        scores = np.array(pool.values) - np.array(pool.beliefs).reshape(S, K) @ alpha
        order = np.argsort(-scores)[: min(S, 2 * K + 2)]
        new = []
        for idx in order:
            x, fx, _ = _pattern_search(
                gap_at, pool.beliefs[idx], 0.5 / resolution, 1e-11, 60 * K * K
            )
            if fx > found:
                new.append(x)
        added = sum(pool.add(x) for x in new)
        if added:
            continue
        if time.monotonic() > deadline:
            break

        # Then by branch and bound, which certifies when it finds nothing.
        bb = BranchAndBound(prim, alpha, pool.value)
        bound, points = bb.run(target, found, deadline)
        bound_nodes += bb.nodes
        upper = value + max(bound, 0.0)
        if points and sum(pool.add(x) for x in points):
            continue
        status = "optimal" if bound <= target else "limit"
        break

    value, weights, alpha = _master(pool, mu0, penalty)
    S = len(pool.beliefs)
    art = weights[S:]
    chosen = [s for s in range(S) if weights[s] > 1e-12]
    probabilities = weights[chosen]
    if art.sum() > 1e-9:
        status = "infeasible"
        message = (
            "no split of the prior has a feasible mechanism at every posterior: "
            "participation or transfer bounds cannot be met"
        )
    else:
        probabilities = probabilities / probabilities.sum()
        message = (
            "gap within tolerance"
            if status == "optimal"
            else ("stopped by the time or iteration limit; the gap says how far")
        )
    if math.isinf(upper):
        upper = value + max(
            BranchAndBound(prim, alpha, pool.value).run(math.inf, math.inf, 0.0)[0],
            0.0,
        )
    points = [pool.points[s] for s in chosen]
    achieved = float(
        sum(p * pt.value for p, pt in zip(probabilities, points, strict=True))
    )
    if status == "infeasible":
        achieved = -math.inf
    result = EnvelopeResult(
        value=achieved,
        upper_bound=max(upper, achieved) if status != "infeasible" else upper,
        points=points,
        probabilities=probabilities,
        alpha=alpha,
        status=status,
        lps=vf.lp_count - lps_before,
        bound_nodes=bound_nodes,
        iterations=iterations,
        seconds=time.monotonic() - start,
        message=message,
        pool_size=S,
    )
    logger.info(
        "envelope: value %.10g, bound %.10g, %d LPs, %d regions, %.2fs",
        result.value,
        result.upper_bound,
        result.lps,
        result.bound_nodes,
        result.seconds,
    )
    return result
