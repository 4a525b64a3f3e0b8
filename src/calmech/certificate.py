"""Certified upper bounds on V over regions of the belief simplex.

The concave envelope is bounded through an affine function h(μ) = α·μ: if
V(μ) − h(μ) ≤ ε for every belief μ, then cav V(μ₀) ≤ h(μ₀) + ε. This module
bounds ``max_{μ ∈ R} V(μ) − h(μ)`` on a simplex region R = conv(μ¹, …, μᴷ)
and runs a branch and bound over such regions.

The bound. Written with unnormalised weights w(θ, ω) = μ(ω) P(θ | ω), the
value problem is ``max c(μ)·z`` s.t. ``G(μ) z ≤ g(μ)``, ``E z = 1``, with
``c``, ``G``, ``g`` linear in μ and transfers in a fixed box [L, H]. Its dual
is ``min g(μ)·λ + 1·ν + H ρ⁺ − L ρ⁻`` s.t. ``G(μ)ᵀλ + Eᵀν + ρ⁺ − ρ⁻ ≥ c(μ)``
(equality on transfer columns), ``λ, ρ ≥ 0``. On R write μ(s) = Σ_i s_i μⁱ
with s in the unit simplex and take λ(s) = Σ_i s_i λⁱ affine, ν(s) and
ρ(s) quadratic forms. Every dual expression is then a quadratic form in s,
``Σ_ij s_i s_j Q_ij``; it is nonnegative on the simplex when its Bernstein
coefficients Q_ij are, and at most ``max_ij Q_ij``. Requiring so is a
linear program in (λⁱ, ν_ij, ρ_ij) whose optimal ``e`` bounds V − h on R by
weak duality. The bound is exact at a vertex and its error shrinks with
the square of the region's diameter where V is smooth.

Floating-point safety: the LP's answer is repaired before use — ν and ρ are
raised until the dual constraints hold exactly in floating point — so the
reported bound never relies on the solver's tolerances.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from calmech.fast import quiet_highs
from calmech.lp import Primitives, expected_payoffs

__all__ = ["BranchAndBound", "region_bound", "weighted_form"]

logger = logging.getLogger("calmech")


@dataclass(frozen=True)
class WeightedForm:
    """The value problem at one belief, with unnormalised weights.

    Rows are ``G z ≤ g`` (IC of every ordered pair of distinct types, then IR
    of every type); ``cx`` and ``ct`` are the objective's coefficients on
    ``x[m, n]`` (``m * N + n``) and ``t[n]``.
    """

    Gx: np.ndarray  # (R, M*N)
    Gt: np.ndarray  # (R, N)
    g: np.ndarray  # (R,)
    cx: np.ndarray  # (M*N,)
    ct: np.ndarray  # (N,)


def weighted_form(prim: Primitives, mu: np.ndarray) -> WeightedForm:
    """Assemble ``G(μ)``, ``g(μ)``, ``c(μ)``, all linear in μ.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> from calmech.lp import primitives
    >>> form = weighted_form(primitives(monopoly()), np.array([0.5, 0.5]))
    >>> form.Gx.shape, form.Gt.shape
    ((4, 4), (4, 2))
    """
    M, N, K = prim.shape
    w = prim.cond * mu[None, :]  # (N, K)
    W = w.sum(axis=1)
    U, U0, Vw = expected_payoffs(prim, w)
    R = N * N
    Gx = np.zeros((R, M * N))
    Gt = np.zeros((R, N))
    g = np.zeros(R)
    row = 0
    for n in range(N):
        for dev in range(N):
            if dev == n:
                continue
            Gx[row, np.arange(M) * N + dev] += U[:, n]
            Gx[row, np.arange(M) * N + n] -= U[:, n]
            Gt[row, n] += W[n]
            Gt[row, dev] -= W[n]
            row += 1
    for n in range(N):
        Gx[row, np.arange(M) * N + n] = -U[:, n]
        Gt[row, n] = W[n]
        g[row] = -U0[n]
        row += 1
    return WeightedForm(Gx, Gt, g, Vw.ravel(), prim.tau * W)


def _pairs(K: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(K) for j in range(i, K)]


def region_bound(prim: Primitives, vertices: np.ndarray, alpha: np.ndarray) -> float:
    """Upper bound on ``max V(μ) − α·μ`` over ``conv(vertices)``.

    Parameters
    ----------
    prim : Primitives
    vertices : ndarray, shape (J, K)
        Beliefs spanning the region (J ≤ K, rows on the simplex).
    alpha : ndarray, shape (K,)

    Returns
    -------
    float
        A bound, ``-inf`` where no mechanism is feasible on the region.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> from calmech.lp import primitives
    >>> b = region_bound(primitives(monopoly()), np.eye(2), np.array([1.0, 1.6]))
    >>> abs(b) < 1e-9  # V ≤ full-transparency chord: the envelope is 1.3
    True
    """
    M, N, _ = prim.shape
    J = vertices.shape[0]
    forms = [weighted_form(prim, v) for v in vertices]
    h = vertices @ alpha
    pairs = _pairs(J)
    P = len(pairs)
    R = N * N
    X = M * N
    money = prim.money and prim.box[0] < prim.box[1]
    L, H = prim.box

    # Variable layout: λ^i (J*R) | ν_ij (P*N) | ρ⁺_ij, ρ⁻_ij (P*N each) | e.
    n_lam = J * R
    n_nu = P * N
    n_rho = P * N if money else 0
    n_var = n_lam + n_nu + 2 * n_rho + 1
    e_col = n_var - 1

    # Nonzeros of Gx and Gt per vertex, as (row r, column, value).
    gx = [sp.coo_matrix(f.Gx) for f in forms]
    gt = [sp.coo_matrix(f.Gt) for f in forms]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []

    def put(r: Any, c: Any, v: Any) -> None:
        r, c, v = np.broadcast_arrays(r, c, v)
        rows.append(r.ravel())
        cols.append(c.ravel())
        vals.append(np.asarray(v, dtype=float).ravel())

    def lam_terms(row0: int, mats: list[sp.coo_matrix], i: int, j: int, sign: float):
        # (Gᵢᵀλʲ + Gⱼᵀλⁱ)/2: entry (r, col) of Gᵢ multiplies λʲ_r in row col.
        for a, b in ((i, j), (j, i)):
            m = mats[a]
            put(row0 + m.col, b * R + m.row, 0.5 * sign * m.data)

    ub_rhs, eq_rhs = [], []
    row = 0
    for p, (i, j) in enumerate(pairs):
        # x columns: −[(Gxᵢᵀλʲ + Gxⱼᵀλⁱ)/2 + Eᵀν_ij] ≤ −(cxᵢ + cxⱼ)/2.
        lam_terms(row, gx, i, j, -1.0)
        put(row + np.arange(X), n_lam + p * N + np.arange(X) % N, -1.0)
        ub_rhs.append(-0.5 * (forms[i].cx + forms[j].cx))
        row += X
        # The Bernstein coefficient of the objective is at most e.
        put(row, j * R + np.arange(R), 0.5 * forms[i].g)
        put(row, i * R + np.arange(R), 0.5 * forms[j].g)
        put(row, n_lam + p * N + np.arange(N), 1.0)
        if money:
            base = n_lam + n_nu
            put(row, base + p * N + np.arange(N), H)
            put(row, base + n_rho + p * N + np.arange(N), -L)
        put(row, e_col, -1.0)
        ub_rhs.append(np.array([0.5 * (h[i] + h[j])]))
        row += 1
    for p, (i, j) in enumerate(pairs if money else []):
        # t columns: (Gtᵢᵀλʲ + Gtⱼᵀλⁱ)/2 + ρ⁺ − ρ⁻ = (ctᵢ + ctⱼ)/2.
        lam_terms(row, gt, i, j, 1.0)
        base = n_lam + n_nu
        put(row + np.arange(N), base + p * N + np.arange(N), 1.0)
        put(row + np.arange(N), base + n_rho + p * N + np.arange(N), -1.0)
        eq_rhs.append(0.5 * (forms[i].ct + forms[j].ct))
        row += N
    A = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(row, n_var),
    )
    c = np.zeros(n_var)
    c[e_col] = 1.0
    bounds = np.zeros((n_var, 2))
    bounds[:, 1] = np.inf
    bounds[n_lam : n_lam + n_nu] = (-np.inf, np.inf)
    bounds[e_col] = (-np.inf, np.inf)
    status, z = _solve_bound_lp(
        c,
        A,
        np.concatenate(ub_rhs),
        np.concatenate(eq_rhs) if eq_rhs else np.zeros(0),
        bounds,
    )
    if status == "unbounded":
        return -math.inf
    if z is None:
        logger.warning("bound LP ended with status %s", status)
        return math.inf
    return _repaired_bound(z, forms, h, pairs, prim, money, n_lam, n_nu, n_rho)


# Above this many variables the bound LP goes to the interior-point solver
# without crossover: the repair makes any λ ≥ 0 a valid certificate, so a
# vertex solution is not needed.
_IPM_VARIABLES = 2000


_SOLVER: list = []


def _bound_solver() -> Any:
    """One HiGHS object per process for the bound LPs (creating one costs more
    than a small bound LP)."""
    if not _SOLVER:
        _SOLVER.append(quiet_highs())
    return _SOLVER[0]


def _solve_bound_lp(
    c: np.ndarray,
    A: sp.csc_matrix,
    b_ub: np.ndarray,
    b_eq: np.ndarray,
    bounds: np.ndarray,
) -> tuple[str, np.ndarray | None]:
    """Minimise ``c·z`` s.t. the first rows of A ≤ b_ub, the rest = b_eq."""
    import highspy

    h = _bound_solver()
    h.clearModel()
    if c.size > _IPM_VARIABLES:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
        h.setOptionValue("ipm_optimality_tolerance", 1e-10)
    else:
        h.setOptionValue("solver", "choose")
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = c
    lp.col_lower_ = np.where(np.isinf(bounds[:, 0]), -inf, bounds[:, 0])
    lp.col_upper_ = np.where(np.isinf(bounds[:, 1]), inf, bounds[:, 1])
    lp.row_lower_ = np.concatenate([np.full(b_ub.size, -inf), b_eq])
    lp.row_upper_ = np.concatenate([b_ub, b_eq])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    ok = highspy.HighsModelStatus
    if status in (ok.kUnbounded, ok.kUnboundedOrInfeasible):
        # The bound LP is always feasible (ν and ρ absorb any λ).
        return "unbounded", None
    if status != ok.kOptimal:
        return h.modelStatusToString(status), None
    return "optimal", np.asarray(h.getSolution().col_value, dtype=float)


def _repaired_bound(
    z: np.ndarray,
    forms: list[WeightedForm],
    h: np.ndarray,
    pairs: list[tuple[int, int]],
    prim: Primitives,
    money: bool,
    n_lam: int,
    n_nu: int,
    n_rho: int,
) -> float:
    """Recompute the bound from the LP's λ, fixing ν and ρ to be exactly valid."""
    M, N, _ = prim.shape
    R = N * N
    L, H = prim.box
    lams = [np.clip(z[i * R : (i + 1) * R], 0.0, None) for i in range(len(forms))]
    worst = -math.inf
    for _p, (i, j) in enumerate(pairs):
        fi, fj = forms[i], forms[j]
        # ν_n must cover the largest shortfall among type n's x columns.
        lhs = 0.5 * (fi.Gx.T @ lams[j] + fj.Gx.T @ lams[i])
        short = (0.5 * (fi.cx + fj.cx) - lhs).reshape(M, N)
        nu = short.max(axis=0)
        total = 0.5 * (fi.g @ lams[j] + fj.g @ lams[i]) + nu.sum()
        if money:
            need = 0.5 * (fi.ct + fj.ct) - 0.5 * (fi.Gt.T @ lams[j] + fj.Gt.T @ lams[i])
            total += (
                H * np.clip(need, 0.0, None).sum() - L * np.clip(-need, 0.0, None).sum()
            )
        elif prim.box != (0.0, 0.0):
            # Transfers fixed at L = H: their column is absorbed by the bound.
            need = 0.5 * (fi.ct + fj.ct) - 0.5 * (fi.Gt.T @ lams[j] + fj.Gt.T @ lams[i])
            total += L * need.sum()
        worst = max(worst, total - 0.5 * (h[i] + h[j]))
    return float(worst)


@dataclass(order=True)
class _Node:
    priority: float
    serial: int
    vertices: np.ndarray = field(compare=False)
    bound: float = field(compare=False)


@dataclass
class BranchAndBound:
    """Branch and bound for ``max_μ V(μ) − α·μ`` over the belief simplex.

    Parameters
    ----------
    prim : Primitives
    alpha : ndarray, shape (K,)
    evaluate : callable
        ``evaluate(mu) -> float`` returns V(μ); used for lower bounds.

    Attributes
    ----------
    nodes : int
        Regions whose bound was computed.
    """

    prim: Primitives
    alpha: np.ndarray
    evaluate: object
    nodes: int = 0

    def run(
        self,
        target: float,
        found: float,
        deadline: float,
        max_nodes: int = 200_000,
    ) -> tuple[float, list[np.ndarray]]:
        """Prove ``V − h ≤ target`` everywhere or find beliefs with ``V − h > found``.

        Returns
        -------
        bound : float
            An upper bound on ``max V − h`` (≤ ``target`` when proved).
        points : list of ndarray
            Beliefs where ``V − h > found``; empty when the bound was proved
            or the budget ran out.
        """
        K = self.prim.shape[2]
        root = np.eye(K)
        heap: list[_Node] = []
        serial = 0
        pruned = -math.inf
        b = region_bound(self.prim, root, self.alpha)
        self.nodes += 1
        heapq.heappush(heap, _Node(-b, serial, root, b))
        while heap:
            node = heap[0]
            if node.bound <= target:
                return max(node.bound, pruned), []
            if time.monotonic() > deadline or self.nodes >= max_nodes:
                return node.bound, []
            heapq.heappop(heap)
            centre = node.vertices.mean(axis=0)
            if self.evaluate(centre) - centre @ self.alpha > found:
                return node.bound, [centre]
            for child in _bisect(node.vertices):
                b = region_bound(self.prim, child, self.alpha)
                self.nodes += 1
                if b > target:
                    serial += 1
                    heapq.heappush(heap, _Node(-b, serial, child, b))
                else:
                    pruned = max(pruned, b)
        return pruned, []


def _bisect(vertices: np.ndarray) -> list[np.ndarray]:
    """Split a simplex region at the midpoint of its longest edge."""
    J = vertices.shape[0]
    best, pair = -1.0, (0, 1)
    for i in range(J):
        for j in range(i + 1, J):
            d = float(np.abs(vertices[i] - vertices[j]).sum())
            if d > best:
                best, pair = d, (i, j)
    i, j = pair
    mid = 0.5 * (vertices[i] + vertices[j])
    left, right = vertices.copy(), vertices.copy()
    left[j] = mid
    right[i] = mid
    return [left, right]
