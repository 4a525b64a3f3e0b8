"""The concave envelope of V at the prior: the optimal calibrated value.

    cav V(μ₀) = max { Σ_s p_s V(μ_s) : Σ_s p_s μ_s = μ₀, p ≥ 0 }.

The maximum is found by column generation. A *master* LP splits μ₀ among a
pool of beliefs at which V is known; its dual is an affine function
h(μ) = α·μ with h ≥ V on the pool and h(μ₀) equal to the master's value.
*Pricing* looks for a belief with V(μ) > h(μ): first by local search
(with two states, golden section on the brackets of the pool's best
points, down to width 1e-12, which lands on kinks and, V being upper
semicontinuous, on jump points; with more states a pattern search that
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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from calmech.certificate import BranchAndBound
from calmech.lp import Primitives, solve_lp
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


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _golden_max(
    f: Any, a: float, b: float, width: float, budget: int
) -> tuple[float, float, int]:
    """Maximise f on [a, b] by golden-section search down to ``width``.

    Upper semicontinuity is what makes this find jump points: on a bracket
    whose best point sits next to a jump, the bracket keeps the jump and
    shrinks onto it, and the best point evaluated is on its high side.
    """
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    best_x, best_f = (c, fc) if fc >= fd else (d, fd)
    used = 2
    while b - a > width and used < budget:
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = f(c)
            if fc > best_f:
                best_x, best_f = c, fc
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = f(d)
            if fd > best_f:
                best_x, best_f = d, fd
        used += 1
    return best_x, best_f, used


def _price_two_states(
    pool: _Pool, alpha: np.ndarray, found: float, candidates: int = 3
) -> list[np.ndarray]:
    """Beliefs with V − h > ``found`` on the segment of two-state beliefs.

    The pool, sorted by P(state 0), brackets the local maxima of V − h;
    each of the best few brackets is searched to width 1e-12.
    """
    if not pool.beliefs:
        return []
    q = np.array([b[0] for b in pool.beliefs])
    order = np.argsort(q)
    q = q[order]
    g = np.array(pool.values)[order] - np.array(pool.beliefs)[order] @ alpha
    peaks = [
        i
        for i in range(q.size)
        if (i == 0 or g[i] >= g[i - 1]) and (i == q.size - 1 or g[i] >= g[i + 1])
    ]
    peaks.sort(key=lambda i: -g[i])

    def gap_at(x: float) -> float:
        mu = np.array([x, 1.0 - x])
        return pool.value(mu) - float(mu @ alpha)

    new = []
    for i in peaks[:candidates]:
        lo = q[max(i - 1, 0)]
        hi = q[min(i + 1, q.size - 1)]
        x, fx, _ = _golden_max(gap_at, lo, hi, 1e-12, 120)
        if fx > found and fx > g[i]:
            new.append(np.array([x, 1.0 - x]))
    return new


def _generate(
    pool: _Pool,
    prim: Primitives,
    mu0: np.ndarray,
    target: float,
    found: float,
    penalty: float,
    deadline: float,
    max_iterations: int,
    resolution: int,
) -> tuple[str, float, int, int]:
    """Column generation until certified, or out of time or iterations.

    Returns the status (``"optimal"`` when certified), the upper bound on
    the envelope at ``mu0``, the master iterations and the regions bounded.
    """
    K = mu0.size
    iterations = 0
    bound_nodes = 0
    upper = math.inf
    status = "limit"
    while iterations < max_iterations:
        iterations += 1
        value, weights, alpha = _master(pool, mu0, penalty)

        def gap_at(mu: np.ndarray, alpha: np.ndarray = alpha) -> float:
            return pool.value(mu) - float(mu @ alpha)

        # Pricing, first by local search: golden section on the brackets of
        # the pool's best points for two states, a pattern search otherwise.
        if K == 2:
            new = _price_two_states(pool, alpha, found)
        else:
            S = len(pool.beliefs)
            beliefs = np.array(pool.beliefs).reshape(S, K)
            scores = np.array(pool.values) - beliefs @ alpha
            new = []
            for idx in np.argsort(-scores)[: min(S, 2 * K + 2)]:
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

    return status, upper, iterations, bound_nodes


def _infeasible(
    pool: _Pool,
    mu0: np.ndarray,
    proved: bool,
    lps: int,
    phase1: tuple[str, float, int, int],
    start: float,
) -> EnvelopeResult:
    """The result when no split of the prior has feasible posteriors."""
    reason = (
        "no split of the prior has a feasible mechanism at every posterior: "
        "participation or transfer bounds cannot be met"
    )
    if not proved:
        reason += " (found by search; the proof ran out of time)"
    return EnvelopeResult(
        value=-math.inf,
        upper_bound=-math.inf if proved else math.inf,
        points=[],
        probabilities=np.zeros(0),
        alpha=np.zeros(mu0.size),
        status="infeasible",
        lps=lps + pool.vf.lp_count,
        bound_nodes=phase1[3],
        iterations=phase1[2],
        seconds=time.monotonic() - start,
        message=reason,
        pool_size=len(pool.beliefs),
    )


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

    # Start from the prior and a lattice with the vertices (33 beliefs for two
    # states, about 100 otherwise).
    pool = _Pool(vf)
    pool.add(mu0)
    resolution = 32 if K == 2 else _default_resolution(K)
    for mu in simplex_lattice(K, resolution):
        pool.add(mu)

    # Phase 1, only when the pool cannot average to the prior: is there any
    # split of the prior whose posteriors all have a feasible mechanism? The
    # same search on V with the designer's payoff set to zero answers it, in
    # units where the artificial columns cost 1 instead of a large penalty.
    lps_phase1 = 0
    _, weights, _ = _master(pool, mu0, penalty)
    if weights[len(pool.beliefs) :].sum() > 1e-9:
        zero = replace(prim, v=np.zeros_like(prim.v), tau=0.0)
        vf1 = ValueFunction(zero, backend=getattr(vf, "backend", "highspy"))
        pool1 = _Pool(vf1)
        for mu in pool.beliefs:
            pool1.add(mu)
        state1 = _generate(
            pool1, zero, mu0, 1e-9, 2.5e-10, 1.0, deadline, max_iterations, resolution
        )
        _, weights1, _ = _master(pool1, mu0, 1.0)
        lps_phase1 = vf1.lp_count
        if weights1[len(pool1.beliefs) :].sum() > 1e-9:
            proved = state1[0] == "optimal" and state1[1] < 0
            return _infeasible(pool, mu0, proved, lps_phase1, state1, start)
        for mu in pool1.beliefs:
            pool.add(mu)

    # Phase 2: the envelope itself.
    status, upper, iterations, bound_nodes = _generate(
        pool, prim, mu0, target, found, penalty, deadline, max_iterations, resolution
    )

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
        message = "gap within tolerance" if status == "optimal" else ""
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
    if status == "limit":
        message = (
            f"stopped by the time or iteration limit with gap "
            f"{max(upper, achieved) - achieved:.3g} (target {target:.3g})"
        )
    result = EnvelopeResult(
        value=achieved,
        upper_bound=max(upper, achieved) if status != "infeasible" else upper,
        points=points,
        probabilities=probabilities,
        alpha=alpha,
        status=status,
        lps=vf.lp_count - lps_before + lps_phase1,
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
