"""Bayesian IC and IR, cell by cell, for several agents: the LPs of THEORY §9.

Every multi-agent program calmech solves has the form, with W(θ, ω) ≥ 0 the
weights of type profiles and states (the prior, or μ(ω) P(θ | ω) at a
belief μ), x(m | θ, ω) the outcome rule and t_i(θ, ω) the payments::

    max  Σ_{θ,ω} W(θ,ω) [Σ_m x(m|θ,ω) v(m,θ,ω) + τ Σ_i t_i(θ,ω)]
    s.t. for every agent i, type a, report b, and cell C of agent i's
         partition with W(a, C) = Σ_{θ: θ_i = a, ω ∈ C} W(θ, ω) > 0:
         Σ_{θ_i = a, ω∈C} W(θ,ω) [u_i(x(·|b,θ_-i,ω), a, ω) − t_i(b,θ_-i,ω)]
             ≤ Σ_{θ_i = a, ω∈C} W(θ,ω) [u_i(x(·|θ,ω), a, ω) − t_i(θ,ω)]     (IC)
         Σ_{θ_i = a, ω∈C} W(θ,ω) [u₀_i(a,ω) − u_i(x(·|θ,ω), a, ω) + t_i(θ,ω)] ≤ 0 (IR)

Each row is divided by W(a, C), so that it reads in payoff units. The three
families differ only in which variables are shared:

* *standard*: x and t_i depend on (θ, ω) freely; one cell, Ω;
* *value at μ*: x(m | θ) and t_i(θ) do not depend on ω; one cell, Ω;
* *partition profile*: x depends on (θ, ω); agent i's payment depends on the
  whole profile in states that its partition singles out and only on its own
  report and cell elsewhere; agent i's interim outcome distribution
  Σ_{θ_-i} P(θ_-i | a, ω) x(m | b, θ_-i, ω) is equal across the states of a
  cell (linear equalities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from calmech.lp import LPData
from calmech.multi.environment import MultiEnvironment

__all__ = [
    "Layout",
    "MultiLP",
    "build_lp",
    "partition_layout",
    "standard_layout",
    "value_layout",
]

#: Weights below this count as zero: the type (or cell) is absent.
WEIGHT_EPS = 1e-13


@dataclass(frozen=True)
class Layout:
    """Which variable holds x(m | θ, ω) and t_i(θ, ω).

    Attributes
    ----------
    xidx : ndarray of int, shape (M, T, K)
    tidx : ndarray of int, shape (I, T, K)
        ``-1`` without money.
    n_vars : int
    n_x : int
        The first ``n_x`` variables are outcome probabilities.
    cells : list of list of list of int
        ``cells[i]``: agent i's partition of state indices.
    measurable : bool
        Whether to add the equalities on interim outcome distributions.
    """

    xidx: np.ndarray
    tidx: np.ndarray
    n_vars: int
    n_x: int
    cells: list[list[list[int]]]
    measurable: bool = False


@dataclass(frozen=True)
class MultiLP(LPData):
    """An assembled program (solved as any :class:`calmech.lp.LPData`) and its
    layout."""

    layout: Layout

    def mechanism(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outcome rule x[m, T, K] and payments t[I, T, K] from a solution."""
        x = z[self.layout.xidx]
        tidx = self.layout.tidx
        t = np.where(tidx >= 0, z[np.maximum(tidx, 0)], 0.0)
        return x, t


def _whole(env: MultiEnvironment) -> list[list[list[int]]]:
    return [[list(range(len(env.states)))] for _ in env.agents]


def standard_layout(env: MultiEnvironment) -> Layout:
    """Free dependence on (θ, ω); IC and IR on Ω (THEORY §3 for I agents)."""
    M, T, K, I = len(env.outcomes), env.n_profiles, len(env.states), env.n_agents
    xidx = np.arange(M * T * K).reshape(M, T, K)
    n_x = M * T * K
    if env.transfers:
        tidx = n_x + np.arange(I * T * K).reshape(I, T, K)
        n_vars = n_x + I * T * K
    else:
        tidx = np.full((I, T, K), -1)
        n_vars = n_x
    return Layout(xidx, tidx, n_vars, n_x, _whole(env))


def value_layout(env: MultiEnvironment) -> Layout:
    """A state-independent rule x(m | θ), t_i(θ); IC and IR on Ω."""
    M, T, K, I = len(env.outcomes), env.n_profiles, len(env.states), env.n_agents
    xidx = np.broadcast_to(np.arange(M * T).reshape(M, T, 1), (M, T, K))
    n_x = M * T
    if env.transfers:
        tidx = np.broadcast_to(n_x + np.arange(I * T).reshape(I, T, 1), (I, T, K))
        n_vars = n_x + I * T
    else:
        tidx = np.full((I, T, K), -1)
        n_vars = n_x
    return Layout(np.array(xidx), np.array(tidx), n_vars, n_x, _whole(env))


def partition_layout(
    env: MultiEnvironment, partitions: list[list[list[int]]]
) -> Layout:
    """The partition-profile family (module docstring).

    ``partitions[i]`` is agent i's partition of the state indices.
    """
    M, T, K, I = len(env.outcomes), env.n_profiles, len(env.states), env.n_agents
    xidx = np.arange(M * T * K).reshape(M, T, K)
    n = M * T * K
    tidx = np.full((I, T, K), -1)
    if env.transfers:
        own = env.profiles()
        for i in range(I):
            for cell in partitions[i]:
                if len(cell) == 1:
                    tidx[i, :, cell[0]] = n + np.arange(T)
                    n += T
                else:
                    # One payment per own report, the same in every state of the cell.
                    N_i = env.type_counts[i]
                    for k in cell:
                        tidx[i, :, k] = n + own[:, i]
                    n += N_i
    return Layout(xidx, tidx, n, M * T * K, partitions, measurable=True)


def build_lp(env: MultiEnvironment, weights: np.ndarray, layout: Layout) -> MultiLP:
    """Assemble the program of the module docstring.

    Parameters
    ----------
    env : MultiEnvironment
    weights : ndarray, shape (T, K)
        W(θ, ω) on flattened type profiles (C order) and states.
    layout : Layout

    Returns
    -------
    MultiLP

    Examples
    --------
    >>> from calmech.multi.examples import two_buyers
    >>> env = two_buyers()
    >>> W = env.prior.reshape(env.n_profiles, -1)
    >>> res = build_lp(env, W, standard_layout(env)).solve()
    >>> res.status
    'optimal'
    """
    M, T, K, I = len(env.outcomes), env.n_profiles, len(env.states), env.n_agents
    prof = env.profiles()
    counts = env.type_counts
    xidx, tidx, Z = layout.xidx, layout.tidx, layout.n_vars
    money = env.transfers
    v = env.designer_payoff.reshape(M, T, K)

    # Objective: coefficients accumulate over the (θ, ω) that share a variable.
    c = np.zeros(Z)
    np.add.at(c, xidx.ravel(), (v * weights[None]).ravel())
    if money:
        np.add.at(
            c,
            tidx.ravel(),
            np.broadcast_to(env.transfer_weight * weights[None], (I, T, K)).ravel(),
        )

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rhs: list[float] = []
    ms = np.arange(M)

    def add_row(col: np.ndarray, val: np.ndarray, b: float) -> None:
        rows.append(np.full(col.size, len(rhs)))
        cols.append(col)
        vals.append(val)
        rhs.append(b)

    eq_rows: list[np.ndarray] = []
    eq_cols: list[np.ndarray] = []
    eq_vals: list[np.ndarray] = []
    n_eq = 0

    strides = np.array([int(np.prod(counts[i + 1 :])) for i in range(I)])
    for i in range(I):
        u = env.agent_payoff[i]
        u0 = env.outside_option[i]
        for a in range(counts[i]):
            mine = np.flatnonzero(prof[:, i] == a)  # profiles with θ_i = a
            for cell in layout.cells[i]:
                ks = np.array(cell)
                w = weights[np.ix_(mine, ks)]  # (P_a, |C|)
                total = w.sum()
                if total <= WEIGHT_EPS:
                    continue
                w = w / total
                pp, kk = np.meshgrid(mine, ks, indexing="ij")
                pp, kk, ww = pp.ravel(), kk.ravel(), w.ravel()
                keep = ww > 0
                pp, kk, ww = pp[keep], kk[keep], ww[keep]
                # Coefficients of x(m | θ, ω) in type a's expected utility.
                ux = u[:, a, kk] * ww[None, :]  # (M, S)
                x_truth = xidx[:, pp, kk]
                t_truth = tidx[i, pp, kk]
                for b in range(counts[i]):
                    if b == a:
                        continue
                    dev = pp + (b - a) * strides[i]
                    col = [x_truth.ravel(), xidx[:, dev, kk].ravel()]
                    val = [-ux.ravel(), ux.ravel()]
                    if money:
                        col += [t_truth, tidx[i, dev, kk]]
                        val += [ww, -ww]
                    add_row(np.concatenate(col), np.concatenate(val), 0.0)
                col = [x_truth.ravel()]
                val = [-ux.ravel()]
                if money:
                    col.append(t_truth)
                    val.append(ww)
                add_row(
                    np.concatenate(col), np.concatenate(val), -float(ww @ u0[a, kk])
                )

                # Measurability: type a's interim outcome distribution of each
                # report is the same in every state of the cell it can face.
                if not layout.measurable or len(cell) < 2:
                    continue
                Wa = weights[mine][:, ks]  # (P_a, |C|)
                present = Wa.sum(axis=0) > WEIGHT_EPS
                live = ks[present]
                if live.size < 2:
                    continue
                cond = Wa[:, present] / Wa[:, present].sum(axis=0)
                for b in range(counts[i]):
                    dev = mine + (b - a) * strides[i]
                    for j in range(1, live.size):
                        for m in ms:
                            col = np.concatenate(
                                [xidx[m, dev, live[0]], xidx[m, dev, live[j]]]
                            )
                            val = np.concatenate([cond[:, 0], -cond[:, j]])
                            eq_rows.append(np.full(col.size, n_eq))
                            eq_cols.append(col)
                            eq_vals.append(val)
                            n_eq += 1

    A_ub = (
        sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(rhs), Z),
        )
        if rhs
        else sp.csr_matrix((0, Z))
    )

    # Each (θ, ω) group of outcome variables is a distribution.
    groups = np.unique(xidx.reshape(M, -1), axis=1)  # (M, G)
    G = groups.shape[1]
    simplex = sp.csr_matrix(
        (np.ones(M * G), (np.tile(np.arange(G), M), groups.ravel())), shape=(G, Z)
    )
    blocks = [simplex]
    b_eq = [np.ones(G)]
    if n_eq:
        blocks.append(
            sp.csr_matrix(
                (
                    np.concatenate(eq_vals),
                    (np.concatenate(eq_rows), np.concatenate(eq_cols)),
                ),
                shape=(n_eq, Z),
            )
        )
        b_eq.append(np.zeros(n_eq))
    A_eq = sp.vstack(blocks, format="csr")

    bounds = np.empty((Z, 2))
    bounds[: layout.n_x] = (0.0, 1.0)
    bounds[layout.n_x :] = env.transfer_bounds
    return MultiLP(c, A_ub, np.asarray(rhs), A_eq, np.concatenate(b_eq), bounds, layout)
