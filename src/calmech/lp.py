"""The linear-programming layer: assembly of every LP calmech solves.

Two programs matter (THEORY §3 and §5). With ``x`` an allocation rule and
``t`` a transfer rule,

* the *standard* problem, state-contingent ``x[m, n, k]``, ``t[n, k]``::

      max  Σ_{n,k} P(n,k) [Σ_m x[m,n,k] v[m,n,k] + τ t[n,k]]
      s.t. Σ_k P(k|n) [Σ_m (x[m,n',k] − x[m,n,k]) u[m,n,k] + t[n,k] − t[n',k]] ≤ 0
           Σ_k P(k|n) [u₀[n,k] − Σ_m x[m,n,k] u[m,n,k] + t[n,k]] ≤ 0

* the *value* problem V(μ), state-independent ``x[m, n]``, ``t[n]``, with
  type n's belief β_n(k) ∝ μ(k) P(n|k) and weight W_n = Σ_k μ(k) P(n|k)::

      max  Σ_n W_n [Σ_m x[m,n] V̄[m,n] + τ t[n]]
      s.t. Σ_m Ū[m,n] (x[m,n'] − x[m,n]) + t[n] − t[n'] ≤ 0   (W_n > 0)
           Ū₀[n] − Σ_m Ū[m,n] x[m,n] + t[n] ≤ 0                 (W_n > 0)

  where Ū, V̄, Ū₀ are expectations under β_n. Rows of a type are divided by
  its weight, which keeps the matrix well scaled near the simplex's faces.

Both are solved by HiGHS through :func:`scipy.optimize.linprog`, which hands
back status, duals and messages without console output; the warm-started
re-solves of :mod:`calmech.fast` use ``highspy`` directly.

Transfers in the value problem are kept in a box ``[L, H]`` that provably
contains an optimal mechanism (:func:`transfer_box`); the box makes every
value problem bounded and lets :mod:`calmech.certificate` bound V.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from calmech.environment import Environment

__all__ = [
    "LPResult",
    "Primitives",
    "primitives",
    "solve_lp",
    "standard_lp",
    "transfer_box",
    "value_lp",
]

logger = logging.getLogger("calmech")

# Feasibility tolerances are 1e-10 by default, tighter than HiGHS's 1e-7: the
# envelope's search would otherwise drift into beliefs where constraints hold
# only within tolerance.

#: Constraint-matrix nonzeros above which ``method="auto"`` uses the IPM.
IPM_NONZEROS = 200_000

_STATUS = {0: "optimal", 1: "limit", 2: "infeasible", 3: "unbounded", 4: "error"}


@dataclass(frozen=True)
class LPResult:
    """Outcome of one LP solve, in maximisation form.

    Attributes
    ----------
    status : {"optimal", "infeasible", "unbounded", "limit", "error"}
    message : str
        HiGHS's explanation.
    value : float
        Optimal objective (``-inf`` if infeasible, ``inf`` if unbounded).
    x : ndarray or None
        Primal solution.
    ineq_duals, eq_duals : ndarray or None
        Marginal values of the rows (of the maximisation).
    """

    status: str
    message: str
    value: float
    x: np.ndarray | None
    ineq_duals: np.ndarray | None = None
    eq_duals: np.ndarray | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve_lp(
    c: np.ndarray,
    A_ub: sp.spmatrix | np.ndarray | None,
    b_ub: np.ndarray | None,
    A_eq: sp.spmatrix | np.ndarray | None,
    b_eq: np.ndarray | None,
    bounds: np.ndarray,
    maximize: bool = True,
    tolerance: float = 1e-10,
    method: str = "auto",
) -> LPResult:
    """Solve ``max c·z`` (or min) s.t. ``A_ub z ≤ b_ub``, ``A_eq z = b_eq``.

    Parameters
    ----------
    c : ndarray, shape (Z,)
    A_ub, b_ub, A_eq, b_eq : matrices and vectors, optional
    bounds : ndarray, shape (Z, 2)
        Lower and upper bounds, ``±inf`` allowed.
    maximize : bool, default True
    tolerance : float, default 1e-10
        HiGHS's primal and dual feasibility tolerances.
    method : {"auto", "simplex", "ipm"}, default "auto"
        ``"auto"`` runs the dual simplex on small problems and the interior
        point method (with crossover to a vertex) once the constraint matrix
        has more than :data:`IPM_NONZEROS` nonzeros, where the simplex is
        far slower on the dense incentive rows.

    Returns
    -------
    LPResult

    Examples
    --------
    >>> res = solve_lp(np.array([1.0, 1.0]), np.array([[1.0, 2.0]]),
    ...                np.array([2.0]), None, None,
    ...                np.array([[0, np.inf], [0, np.inf]]))
    >>> res.status, round(res.value, 9)
    ('optimal', 2.0)
    """
    sign = -1.0 if maximize else 1.0
    if method == "auto":
        nonzeros = sum(
            int(A.nnz) if sp.issparse(A) else int(np.count_nonzero(A))
            for A in (A_ub, A_eq)
            if A is not None
        )
        method = "ipm" if nonzeros > IPM_NONZEROS else "simplex"
    if method == "ipm":
        return _solve_ipm(c, A_ub, b_ub, A_eq, b_eq, bounds, sign, tolerance)
    res = linprog(
        sign * np.asarray(c, dtype=float),
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs-ipm" if method == "ipm" else "highs",
        options={
            "primal_feasibility_tolerance": tolerance,
            "dual_feasibility_tolerance": tolerance,
        },
    )
    status = _STATUS.get(res.status, "error")
    if status == "optimal":
        ineq = None if A_ub is None else sign * res.ineqlin.marginals
        eq = None if A_eq is None else sign * res.eqlin.marginals
        return LPResult(status, res.message, sign * res.fun, res.x, ineq, eq)
    value = {"infeasible": -math.inf, "unbounded": math.inf}.get(status, math.nan)
    if not maximize and status in ("infeasible", "unbounded"):
        value = -value
    logger.debug("LP ended with status %s: %s", status, res.message)
    return LPResult(status, res.message, value, None)


def _solve_ipm(
    c: np.ndarray,
    A_ub: Any,
    b_ub: np.ndarray | None,
    A_eq: Any,
    b_eq: np.ndarray | None,
    bounds: np.ndarray,
    sign: float,
    tolerance: float,
) -> LPResult:
    """HiGHS's interior point method without crossover, through highspy.

    Crossover to a vertex costs a third of the time on large standard
    problems and buys nothing there: any optimal mechanism will do.
    """
    import highspy

    from calmech.fast import quiet_highs

    blocks = [sp.csr_matrix(A) for A in (A_ub, A_eq) if A is not None]
    A = sp.vstack(blocks, format="csr")
    inf = highspy.kHighsInf
    n_ub = 0 if A_ub is None else blocks[0].shape[0]
    lower = np.concatenate(
        [np.full(n_ub, -inf), np.asarray(b_eq, float) if A_eq is not None else []]
    )
    upper = np.concatenate(
        [
            np.asarray(b_ub, float) if A_ub is not None else [],
            np.asarray(b_eq, float) if A_eq is not None else [],
        ]
    )
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = A.shape[1], A.shape[0]
    model.col_cost_ = sign * np.asarray(c, float)
    model.col_lower_ = np.where(np.isinf(bounds[:, 0]), -inf, bounds[:, 0])
    model.col_upper_ = np.where(np.isinf(bounds[:, 1]), inf, bounds[:, 1])
    model.row_lower_, model.row_upper_ = lower, upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = A.indptr
    model.a_matrix_.index_ = A.indices
    model.a_matrix_.value_ = A.data
    h = quiet_highs()
    h.passModel(model)
    for name, value in (
        ("solver", "ipm"),
        ("run_crossover", "off"),
        ("primal_feasibility_tolerance", tolerance),
        ("dual_feasibility_tolerance", tolerance),
    ):
        h.setOptionValue(name, value)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if status == "Optimal":
        solution = h.getSolution()
        row_dual = sign * np.asarray(solution.row_dual)
        return LPResult(
            "optimal",
            status,
            sign * h.getInfo().objective_function_value,
            np.asarray(solution.col_value),
            row_dual[:n_ub] if A_ub is not None else None,
            row_dual[n_ub:] if A_eq is not None else None,
        )
    kind = {"Infeasible": "infeasible", "Unbounded": "unbounded"}.get(status)
    if kind is None and "nfeasible" in status:
        kind = "infeasible"
    kind = kind or "error"
    value = {"infeasible": -math.inf, "unbounded": math.inf}.get(kind, math.nan)
    if sign > 0 and kind in ("infeasible", "unbounded"):
        value = -value
    return LPResult(kind, status, value, None)


@dataclass(frozen=True)
class Primitives:
    """The arrays of an environment that the LPs need, and the transfer box.

    Attributes
    ----------
    u, v : ndarray, shape (M, N, K)
    u0 : ndarray, shape (N, K)
    prior : ndarray, shape (N, K)
    cond : ndarray, shape (N, K)
        ``P(θ_n | ω_k)``.
    mu0 : ndarray, shape (K,)
    tau : float
    money : bool
    lo, hi : float
        The user's transfer bounds (``±inf`` for none, 0 without money).
    box : (float, float)
        Transfers of the value problem (see :func:`transfer_box`).
    """

    u: np.ndarray
    v: np.ndarray
    u0: np.ndarray
    prior: np.ndarray
    cond: np.ndarray
    mu0: np.ndarray
    tau: float
    money: bool
    lo: float
    hi: float
    box: tuple[float, float]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.u.shape  # type: ignore[return-value]

    @property
    def scale(self) -> float:
        """Magnitude of payoffs, the unit of every tolerance."""
        big = max(
            float(np.abs(self.u).max()),
            float(np.abs(self.v).max()),
            float(np.abs(self.u0).max()),
        )
        return big if big > 0 else 1.0


def transfer_box(
    u: np.ndarray, u0: np.ndarray, tau: float, lo: float, hi: float
) -> tuple[float, float]:
    """A box of transfers that contains an optimal state-independent mechanism.

    Parameters
    ----------
    u : ndarray, shape (M, N, K)
    u0 : ndarray, shape (N, K)
    tau : float
    lo, hi : float
        The user's bounds.

    Returns
    -------
    (L, H) : tuple of float

    Notes
    -----
    Let Δ = max u − min u. Participation caps every payment of a type with
    positive weight at ``max u − min u₀``; reports of types with zero weight
    can copy the rule of a present type at no loss. For ``τ ≥ 0`` raising
    every payment by the same amount keeps incentive compatibility and does
    not hurt the designer, so some participation constraint binds or the
    largest payment reaches ``hi``; incentive compatibility keeps payments
    within Δ of each other, whence ``L = min(min u − max u₀, hi) − Δ``. For
    ``τ < 0`` the user's finite lower bound is kept.

    The box may be empty (``L > H``), for instance when the lower transfer
    bound exceeds what any type would pay to participate. The value problem
    is then infeasible, as it should be, and reported so.

    Examples
    --------
    >>> u = np.array([[[0.0]], [[2.0]]])
    >>> transfer_box(u, np.zeros((1, 1)), 1.0, -np.inf, np.inf)
    (-2.0, 2.0)
    """
    umax, umin = float(u.max()), float(u.min())
    delta = umax - umin
    high = min(hi, umax - float(u0.min()))
    if tau >= 0:
        low = max(lo, min(umin - float(u0.max()), hi) - delta)
    else:
        low = lo
    return (low, high)


def primitives(env: Environment) -> Primitives:
    """Extract the LP data of an environment.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> primitives(monopoly()).box
    (-2.0, 2.0)
    """
    lo, hi = env.bounds
    u = np.asarray(env.agent_payoff, dtype=float)
    u0 = np.asarray(env.outside_option, dtype=float)
    tau = env.transfer_weight
    box = transfer_box(u, u0, tau, lo, hi) if env.transfers else (0.0, 0.0)
    return Primitives(
        u=u,
        v=np.asarray(env.designer_payoff, dtype=float),
        u0=u0,
        prior=np.asarray(env.prior, dtype=float),
        cond=np.asarray(env.type_given_state, dtype=float),
        mu0=np.asarray(env.state_prior, dtype=float),
        tau=tau,
        money=env.transfers,
        lo=lo,
        hi=hi,
        box=box,
    )


# Weights below this count as zero: the type is absent at that belief.
WEIGHT_EPS = 1e-14


def type_beliefs(prim: Primitives, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``W_n`` and beliefs ``β_n`` of every type at state belief ``mu``.

    Returns
    -------
    weights : ndarray, shape (N,)
    beliefs : ndarray, shape (N, K)
        Rows of absent types (weight 0) are zeros.
    """
    joint = prim.cond * mu[None, :]
    weights = joint.sum(axis=1)
    present = weights > WEIGHT_EPS
    beliefs = np.zeros_like(joint)
    beliefs[present] = joint[present] / weights[present, None]
    weights = np.where(present, weights, 0.0)
    return weights, beliefs


def expected_payoffs(
    prim: Primitives, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each type's expected payoffs under per-type weights over states.

    Parameters
    ----------
    prim : Primitives
    weights : ndarray, shape (N, K)
        Beliefs ``β_n`` (rows summing to 1) or unnormalised weights.

    Returns
    -------
    U : ndarray, shape (M, N)
        ``Σ_k w[n,k] u[m,n,k]``: type n's utility from allocation m.
    U0 : ndarray, shape (N,)
        ``Σ_k w[n,k] u₀[n,k]``.
    V : ndarray, shape (M, N)
        ``Σ_k w[n,k] v[m,n,k]``: the designer's payoff.
    """
    return (
        np.einsum("mnk,nk->mn", prim.u, weights),
        np.einsum("nk,nk->n", prim.u0, weights),
        np.einsum("mnk,nk->mn", prim.v, weights),
    )


@dataclass(frozen=True)
class LPData:
    """An assembled LP in maximisation form, ready for :func:`solve_lp`."""

    c: np.ndarray
    A_ub: sp.csr_matrix
    b_ub: np.ndarray
    A_eq: sp.csr_matrix
    b_eq: np.ndarray
    bounds: np.ndarray

    def solve(self, tolerance: float = 1e-10, method: str = "auto") -> LPResult:
        """Solve with HiGHS (see :func:`solve_lp` for the options)."""
        return solve_lp(
            self.c,
            self.A_ub,
            self.b_ub,
            self.A_eq,
            self.b_eq,
            self.bounds,
            tolerance=tolerance,
            method=method,
        )


def _incentive_rows(
    U: np.ndarray, U0: np.ndarray, rows_for: np.ndarray, M: int, N: int
) -> tuple[sp.csr_matrix, np.ndarray]:
    """IC and IR rows for a state-independent rule ``z = (x[m, n], t[n])``.

    ``U[m, n]`` is type n's expected utility of allocation m, ``U0[n]`` its
    expected outside option, ``rows_for`` the types whose rows are kept.
    Columns: ``x[m, n]`` at ``m * N + n``, ``t[n]`` at ``M * N + n``.
    """
    data: list[np.ndarray] = []
    row_idx: list[np.ndarray] = []
    col_idx: list[np.ndarray] = []
    rhs: list[float] = []
    row = 0
    ms = np.arange(M)
    for n in rows_for:
        for dev in range(N):
            if dev == n:
                continue
            # Σ_m U[m,n] (x[m,dev] − x[m,n]) + t[n] − t[dev] ≤ 0
            cols = np.concatenate([ms * N + dev, ms * N + n, [M * N + n, M * N + dev]])
            vals = np.concatenate([U[:, n], -U[:, n], [1.0, -1.0]])
            data.append(vals)
            col_idx.append(cols)
            row_idx.append(np.full(cols.size, row))
            rhs.append(0.0)
            row += 1
        # U0[n] − Σ_m U[m,n] x[m,n] + t[n] ≤ 0
        cols = np.concatenate([ms * N + n, [M * N + n]])
        vals = np.concatenate([-U[:, n], [1.0]])
        data.append(vals)
        col_idx.append(cols)
        row_idx.append(np.full(cols.size, row))
        rhs.append(-U0[n])
        row += 1
    if row == 0:
        return sp.csr_matrix((0, M * N + N)), np.zeros(0)
    A = sp.csr_matrix(
        (np.concatenate(data), (np.concatenate(row_idx), np.concatenate(col_idx))),
        shape=(row, M * N + N),
    )
    return A, np.asarray(rhs)


def _simplex_rows(M: int, N: int, groups: int) -> sp.csr_matrix:
    """Rows ``Σ_m x[m, g] = 1`` for ``groups`` groups laid out as ``m*groups+g``."""
    cols = (np.arange(M)[None, :] * groups + np.arange(groups)[:, None]).ravel()
    rows = np.repeat(np.arange(groups), M)
    return sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(groups, M * groups))


def value_lp(prim: Primitives, mu: np.ndarray) -> LPData:
    """Assemble the value problem V(μ) (module docstring).

    Variables: ``x[m, n]`` at ``m * N + n`` then ``t[n]`` at ``M * N + n``.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> lp = value_lp(primitives(monopoly()), np.array([0.0, 1.0]))
    >>> round(lp.solve().value, 9)  # sell at price 2 to the high type
    1.6
    """
    M, N, K = prim.shape
    weights, beliefs = type_beliefs(prim, mu)
    U, U0, Vbar = expected_payoffs(prim, beliefs)
    present = np.flatnonzero(weights > 0)
    A_ub, b_ub = _incentive_rows(U, U0, present, M, N)
    simplex = _simplex_rows(M, N, N)
    A_eq = sp.hstack([simplex, sp.csr_matrix((N, N))], format="csr")
    c = np.concatenate([(Vbar * weights[None, :]).ravel(), prim.tau * weights])
    bounds = np.empty((M * N + N, 2))
    bounds[: M * N] = (0.0, np.inf)
    bounds[M * N :] = prim.box
    return LPData(c, A_ub, b_ub, A_eq, np.ones(N), bounds)


def standard_lp(prim: Primitives) -> LPData:
    """Assemble the standard (full-commitment) problem of THEORY §3.

    Variables: ``x[m, n, k]`` at ``(m * N + n) * K + k``, then ``t[n, k]`` at
    ``M * N * K + n * K + k``, then the auxiliary ``y[n, r]`` at
    ``M * N * K + N * K + n * N + r``: type n's expected utility from
    reporting r, ``Σ_k P(k|n) [Σ_m u[m,n,k] x[m,r,k] − t[r,k]]``. With them
    each IC row has two entries instead of 2(M + 1)K, which halves the
    matrix and lets the interior point method solve N = 100, K = 5, M = 20
    in seconds.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> round(standard_lp(primitives(monopoly())).solve().value, 9)
    1.5
    """
    M, N, K = prim.shape
    P = prim.prior
    given = P / P.sum(axis=1)[:, None]  # P(k | n)
    X, T, Y = M * N * K, N * K, N * N
    n_var = X + T + Y

    # Definitions of y[n, r]: Σ_k P(k|n) [Σ_m u[m,n,k] x[m,r,k] − t[r,k]] − y = 0.
    n_idx, r_idx = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    n_idx, r_idx = n_idx.ravel(), r_idx.ravel()  # row n * N + r
    ms, ks = np.meshgrid(np.arange(M), np.arange(K), indexing="ij")
    ms, ks = ms.ravel(), ks.ravel()
    x_cols = (ms[None, :] * N + r_idx[:, None]) * K + ks[None, :]
    x_vals = prim.u[ms[None, :], n_idx[:, None], ks[None, :]] * given[n_idx][:, ks]
    t_cols = X + r_idx[:, None] * K + np.arange(K)[None, :]
    t_vals = -given[n_idx]
    y_cols = (X + T + np.arange(Y))[:, None]
    cols = np.hstack([x_cols, t_cols, y_cols])
    vals = np.hstack([x_vals, t_vals, -np.ones((Y, 1))])
    rows = np.repeat(np.arange(Y), cols.shape[1])
    definitions = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(Y, n_var))
    simplex = sp.hstack(
        [_simplex_rows(M, N * K, N * K), sp.csr_matrix((N * K, T + Y))], format="csr"
    )

    # IC: y[n, r] − y[n, n] ≤ 0 for r ≠ n; IR: −y[n, n] ≤ −Σ_k P(k|n) u₀[n,k].
    off = n_idx != r_idx
    ic_rows = np.arange(int(off.sum()))
    own = X + T + n_idx[off] * N + n_idx[off]
    ic = sp.csr_matrix(
        (
            np.concatenate([np.ones(ic_rows.size), -np.ones(ic_rows.size)]),
            (np.tile(ic_rows, 2), np.concatenate([X + T + np.flatnonzero(off), own])),
        ),
        shape=(ic_rows.size, n_var),
    )
    ir = sp.csr_matrix(
        (-np.ones(N), (np.arange(N), X + T + np.arange(N) * (N + 1))), shape=(N, n_var)
    )
    b_ub = np.concatenate([np.zeros(ic_rows.size), -(given * prim.u0).sum(axis=1)])

    c = np.concatenate(
        [(prim.v * P[None, :, :]).ravel(), prim.tau * P.ravel(), np.zeros(Y)]
    )
    bounds = np.empty((n_var, 2))
    bounds[:X] = (0.0, np.inf)
    bounds[X : X + T] = (prim.lo, prim.hi)
    bounds[X + T :] = (-np.inf, np.inf)
    return LPData(
        c,
        sp.vstack([ic, ir], format="csr"),
        b_ub,
        sp.vstack([definitions, simplex], format="csr"),
        np.concatenate([np.zeros(Y), np.ones(N * K)]),
        bounds,
    )
