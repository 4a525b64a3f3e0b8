"""Shared test machinery: Hypothesis profiles, strategies, a reference solver.

The reference solver re-derives the two linear programs of THEORY §3 and §5
from the formulas, with plain :func:`scipy.optimize.linprog` and the user's
transfer bounds only (no transfer box, no row scaling by the library), so
that the library can be checked against something it does not share code
with:

* ``V(μ) = max Σ_{θ,ω} w(θ,ω) [v(x(θ),θ,ω) + τ t(θ)]`` over state-independent
  rules, IC and IR for each type with ``Σ_ω w(θ,ω) > 0``, where
  ``w(θ,ω) = μ(ω) P(θ | ω)``;
* the standard problem over state-contingent rules with interim IC and IR;
* the concave envelope on a grid, ``max Σ_j p_j V(μ_j)`` subject to
  ``Σ_j p_j μ_j = μ₀`` (a lower bound on cav V(μ₀));
* IC, IR, Bayes plausibility and the value of a two-stage mechanism, and the
  calibration check of a state-contingent mechanism (THEORY §4).

Hypothesis profiles: ``ci`` (derandomised, few examples, loaded when the
environment variable ``CI`` is set) and ``dev`` (the default). Set
``HYPOTHESIS_PROFILE`` to choose one explicitly.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from calmech import Environment

# ----------------------------------------------------------------------
# Hypothesis profiles
# ----------------------------------------------------------------------
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def budget(fraction: float, least: int = 5) -> int:
    """A share of the active profile's ``max_examples`` for a costly test."""
    return max(least, int(settings().max_examples * fraction))


# ----------------------------------------------------------------------
# Tolerances (absolute, per unit of payoff scale)
# ----------------------------------------------------------------------
#: Constraints of a returned mechanism may fail by at most this.
CHECK_ATOL = 1e-6
#: Two LP optima computed by different codes agree to this.
VALUE_ATOL = 1e-6


def payoff_scale(env: Environment) -> float:
    """Largest payoff magnitude (at least 1): the unit of every tolerance."""
    return max(
        1.0,
        float(np.abs(env.agent_payoff).max()),
        float(np.abs(env.designer_payoff).max()),
        float(np.abs(env.outside_option).max()),
    )


# ----------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------
def _halves(low: int, high: int) -> st.SearchStrategy[float]:
    """Multiples of 0.5 in [low, high]."""
    return st.integers(2 * low, 2 * high).map(lambda i: i / 2)


def _arrays(elements: st.SearchStrategy[float], shape: tuple[int, ...]):
    size = math.prod(shape)
    return st.lists(elements, min_size=size, max_size=size).map(
        lambda xs: np.array(xs, dtype=float).reshape(shape)
    )


@st.composite
def priors(draw, N: int, K: int) -> np.ndarray:
    """Joint priors from integer weights 0..4: zero cells are common."""
    weights = draw(
        _arrays(st.integers(0, 4).map(float), (N, K)).filter(
            lambda w: w.sum(axis=0).min() > 0 and w.sum(axis=1).min() > 0
        )
    )
    return weights / weights.sum()


@st.composite
def environments(
    draw,
    max_states: int = 3,
    max_types: int = 4,
    max_allocations: int = 4,
    min_states: int = 1,
    money: bool | None = None,
    private: bool | None = None,
    outside: bool = True,
    floats: bool = False,
) -> Environment:
    """Small random environments.

    Parameters
    ----------
    money, private : bool, optional
        Force transfers on or off, private or interdependent values;
        drawn when ``None``.
    outside : bool
        Allow nonzero outside options.
    floats : bool
        Arbitrary floats in [-3, 4] instead of multiples of 0.5.
    """
    K = draw(st.integers(min_states, max_states))
    N = draw(st.integers(1, max_types))
    M = draw(st.integers(1, max_allocations))
    money = draw(st.booleans()) if money is None else money
    private = draw(st.booleans()) if private is None else private
    entries = (
        st.floats(-3, 4, allow_nan=False, allow_subnormal=False)
        if floats
        else _halves(-3, 4)
    )
    prior = draw(priors(N, K))
    if private:
        u = np.repeat(draw(_arrays(entries, (M, N)))[:, :, None], K, axis=2)
    else:
        u = draw(_arrays(entries, (M, N, K)))
    v = draw(_arrays(entries, (M, N, K)))
    u0 = np.zeros((N, K))
    if outside and draw(st.booleans()):
        small = _halves(-1, 1)
        if private:
            u0 = np.repeat(draw(_arrays(small, (N,)))[:, None], K, axis=1)
        else:
            u0 = draw(_arrays(small, (N, K)))
    options: dict = {"transfers": money}
    if money:
        bounds = draw(
            st.sampled_from(
                [None, None, (0.0, None), (-1.0, 2.0), (None, 1.5), (0.0, 0.0)]
            )
        )
        options["transfer_bounds"] = bounds
        lo = -math.inf if bounds is None or bounds[0] is None else bounds[0]
        weights = [1.0, 0.5] + ([-0.5] if math.isfinite(lo) else [])
        options["transfer_weight"] = draw(st.sampled_from(weights))
    return Environment(
        states=[f"s{k}" for k in range(K)],
        types=[f"t{n}" for n in range(N)],
        allocations=[f"a{m}" for m in range(M)],
        prior=prior,
        agent_payoff=u,
        designer_payoff=v,
        outside_option=u0,
        name="random",
        **options,
    )


# ----------------------------------------------------------------------
# Reference solver (THEORY §3 and §5, written from the formulas)
# ----------------------------------------------------------------------
@dataclass
class Rule:
    """A state-independent rule and its value; ``value`` is -inf if none."""

    value: float
    allocation: np.ndarray | None  # (M, N)
    transfers: np.ndarray | None  # (N,)


def _user_bounds(env: Environment) -> tuple[float | None, float | None]:
    if not env.transfers:
        return (0.0, 0.0)
    if env.transfer_bounds is None:
        return (None, None)
    lo, hi = env.transfer_bounds
    return (None if math.isinf(lo) else lo, None if math.isinf(hi) else hi)


def _linprog_max(c, A_ub, b_ub, A_eq, b_eq, bounds):
    res = linprog(
        -np.asarray(c),
        A_ub=np.asarray(A_ub) if len(A_ub) else None,
        b_ub=np.asarray(b_ub) if len(b_ub) else None,
        A_eq=np.asarray(A_eq),
        b_eq=np.asarray(b_eq),
        bounds=bounds,
        method="highs",
    )
    return res


def reference_value(env: Environment, mu) -> Rule:
    """V(μ) of THEORY §5 with unnormalised weights w(θ, ω) = μ(ω) P(θ | ω)."""
    mu = np.asarray(mu, dtype=float)
    M, N, K = env.shape
    u, v, u0 = env.agent_payoff, env.designer_payoff, env.outside_option
    cond = env.prior / env.prior.sum(axis=0, keepdims=True)
    w = cond * mu[None, :]  # (N, K)
    tau = env.transfer_weight

    # Variables: x[m, n] at m * N + n, then t[n] at M * N + n.
    def x(m: int, n: int) -> int:
        return m * N + n

    def t(n: int) -> int:
        return M * N + n

    size = M * N + N
    c = np.zeros(size)
    for m, n in itertools.product(range(M), range(N)):
        c[x(m, n)] = float(w[n] @ v[m, n])
    for n in range(N):
        c[t(n)] = tau * w[n].sum()
    A_ub, b_ub = [], []
    for n in range(N):
        if w[n].sum() <= 0:
            continue
        util = np.array([w[n] @ u[m, n] for m in range(M)])  # Σ_ω w u(a_m)
        for dev in range(N):
            if dev == n:
                continue
            row = np.zeros(size)
            for m in range(M):
                row[x(m, dev)] += util[m]
                row[x(m, n)] -= util[m]
            row[t(n)] += w[n].sum()
            row[t(dev)] -= w[n].sum()
            A_ub.append(row)
            b_ub.append(0.0)
        row = np.zeros(size)
        for m in range(M):
            row[x(m, n)] -= util[m]
        row[t(n)] += w[n].sum()
        A_ub.append(row)
        b_ub.append(-float(w[n] @ u0[n]))
    A_eq = np.zeros((N, size))
    for m, n in itertools.product(range(M), range(N)):
        A_eq[n, x(m, n)] = 1.0
    bounds = [(0.0, None)] * (M * N) + [_user_bounds(env)] * N
    res = _linprog_max(c, A_ub, b_ub, A_eq, np.ones(N), bounds)
    if res.status == 2:
        return Rule(-math.inf, None, None)
    assert res.status == 0, res.message
    return Rule(-res.fun, res.x[: M * N].reshape(M, N), res.x[M * N :])


def reference_standard(env: Environment) -> float:
    """The standard optimum of THEORY §3 (-inf if infeasible)."""
    M, N, K = env.shape
    P, u, v, u0 = env.prior, env.agent_payoff, env.designer_payoff, env.outside_option
    tau = env.transfer_weight

    def x(m: int, n: int, k: int) -> int:
        return (m * N + n) * K + k

    def t(n: int, k: int) -> int:
        return M * N * K + n * K + k

    size = M * N * K + N * K
    c = np.zeros(size)
    for m, n, k in itertools.product(range(M), range(N), range(K)):
        c[x(m, n, k)] = P[n, k] * v[m, n, k]
    for n, k in itertools.product(range(N), range(K)):
        c[t(n, k)] = tau * P[n, k]
    A_ub, b_ub = [], []
    for n in range(N):
        for dev in range(N):
            if dev == n:
                continue
            row = np.zeros(size)
            for m, k in itertools.product(range(M), range(K)):
                row[x(m, dev, k)] += P[n, k] * u[m, n, k]
                row[x(m, n, k)] -= P[n, k] * u[m, n, k]
            for k in range(K):
                row[t(n, k)] += P[n, k]
                row[t(dev, k)] -= P[n, k]
            A_ub.append(row)
            b_ub.append(0.0)
        row = np.zeros(size)
        for m, k in itertools.product(range(M), range(K)):
            row[x(m, n, k)] -= P[n, k] * u[m, n, k]
        for k in range(K):
            row[t(n, k)] += P[n, k]
        A_ub.append(row)
        b_ub.append(-float(P[n] @ u0[n]))
    A_eq = np.zeros((N * K, size))
    for m, n, k in itertools.product(range(M), range(N), range(K)):
        A_eq[n * K + k, x(m, n, k)] = 1.0
    bounds = [(0.0, None)] * (M * N * K) + [_user_bounds(env)] * (N * K)
    res = _linprog_max(c, A_ub, b_ub, A_eq, np.ones(N * K), bounds)
    if res.status == 2:
        return -math.inf
    assert res.status == 0, res.message
    return float(-res.fun)


def grid(K: int, resolution: int) -> np.ndarray:
    """Beliefs whose coordinates are multiples of ``1 / resolution``."""
    rows = [
        c + (resolution - sum(c),)
        for c in itertools.product(range(resolution + 1), repeat=K - 1)
        if sum(c) <= resolution
    ]
    return np.array(rows, dtype=float).reshape(-1, K) / resolution


def grid_envelope(env: Environment, resolution: int) -> tuple[float, np.ndarray, dict]:
    """``max Σ_j p_j V(μ_j)`` s.t. ``Σ_j p_j μ_j = μ₀`` over a grid plus μ₀.

    Returns the value (-inf when no split is feasible), the beliefs and
    their values (a dict from belief tuples to V).
    """
    K = env.shape[2]
    mu0 = env.state_prior
    beliefs = np.vstack([grid(K, resolution), mu0[None, :]])
    values = np.array([reference_value(env, mu).value for mu in beliefs])
    keep = np.isfinite(values)
    table = {tuple(b): val for b, val in zip(beliefs, values, strict=True)}
    if not keep.any():
        return -math.inf, beliefs, table
    B, V = beliefs[keep], values[keep]
    res = linprog(-V, A_eq=B.T, b_eq=mu0, bounds=[(0, None)] * len(V), method="highs")
    if res.status == 2:
        return -math.inf, beliefs, table
    assert res.status == 0, res.message
    return float(-res.fun), beliefs, table


# ----------------------------------------------------------------------
# Independent checks of mechanisms
# ----------------------------------------------------------------------
def type_beliefs(env: Environment, mu) -> tuple[np.ndarray, np.ndarray]:
    """Weights Σ_ω w(θ, ω) and beliefs P(ω | θ, μ) of each type."""
    cond = env.prior / env.prior.sum(axis=0, keepdims=True)
    w = cond * np.asarray(mu, dtype=float)[None, :]
    weights = w.sum(axis=1)
    beliefs = np.divide(
        w, weights[:, None], out=np.zeros_like(w), where=weights[:, None] > 0
    )
    return weights, beliefs


def rule_problems(
    env: Environment, mu, allocation, transfers, atol: float
) -> list[str]:
    """Why a state-independent rule is not IC, IR or feasible at belief μ."""
    allocation = np.asarray(allocation, dtype=float)
    transfers = np.asarray(transfers, dtype=float)
    M, N, K = env.shape
    problems = []
    if allocation.shape != (M, N) or transfers.shape != (N,):
        return [f"shapes {allocation.shape}, {transfers.shape}"]
    if allocation.min() < -atol or np.abs(allocation.sum(axis=0) - 1).max() > atol:
        problems.append("allocation is not a distribution")
    lo, hi = env.bounds
    if transfers.min() < lo - atol or transfers.max() > hi + atol:
        problems.append("transfers outside the bounds")
    weights, beliefs = type_beliefs(env, mu)
    for n in range(N):
        if weights[n] <= 1e-12:
            continue
        # Expected utility of type n from each report r under its belief.
        eu = [
            sum(
                beliefs[n, k] * env.agent_payoff[m, n, k] * allocation[m, r]
                for m in range(M)
                for k in range(K)
            )
            - transfers[r]
            for r in range(N)
        ]
        if max(eu) - eu[n] > atol:
            problems.append(f"IC fails for type {n} by {max(eu) - eu[n]:.3g}")
        outside = float(beliefs[n] @ env.outside_option[n])
        if outside - eu[n] > atol:
            problems.append(f"IR fails for type {n} by {outside - eu[n]:.3g}")
    return problems


def rule_value(env: Environment, mu, allocation, transfers) -> float:
    """Σ_{θ,ω} w(θ,ω) [v(x(θ),θ,ω) + τ t(θ)] for a state-independent rule."""
    M, N, K = env.shape
    cond = env.prior / env.prior.sum(axis=0, keepdims=True)
    total = 0.0
    for n, k in itertools.product(range(N), range(K)):
        w = mu[k] * cond[n, k]
        total += w * (
            sum(allocation[m][n] * env.designer_payoff[m, n, k] for m in range(M))
            + env.transfer_weight * transfers[n]
        )
    return float(total)


def cells_of(x: np.ndarray, t: np.ndarray, atol: float) -> list[list[int]]:
    """States grouped by identical interim rules (THEORY §4)."""
    K = x.shape[2]
    rules = [np.concatenate([x[:, :, k].ravel(), t[:, k]]) for k in range(K)]
    cells: list[list[int]] = []
    for k in range(K):
        for cell in cells:
            if np.abs(rules[cell[0]] - rules[k]).max() <= atol:
                cell.append(k)
                break
        else:
            cells.append([k])
    return cells


def worst_violation(
    env: Environment, x: np.ndarray, t: np.ndarray, cells: list[list[int]]
) -> float:
    """Largest IC or IR violation, per unit of the type's cell probability."""
    M, N, K = env.shape
    worst = -math.inf
    for cell in cells:
        for n in range(N):
            mass = env.prior[n, cell].sum()
            if mass <= 0:
                continue
            belief = {k: env.prior[n, k] / mass for k in cell}

            def payoff(r: int, n: int = n, belief: dict = belief) -> float:
                return sum(
                    b * (float(env.agent_payoff[:, n, k] @ x[:, r, k]) - t[r, k])
                    for k, b in belief.items()
                )

            truth = payoff(n)
            for r in range(N):
                worst = max(worst, payoff(r) - truth)
            outside = sum(b * env.outside_option[n, k] for k, b in belief.items())
            worst = max(worst, outside - truth)
    return worst


def seeded_environment(
    N: int, M: int, K: int, seed: int, money: bool, absent: float = 0.15
) -> Environment:
    """A random environment with normal payoffs, reproducible from ``seed``.

    A share ``absent`` of the (type, state) cells gets probability zero
    (types absent in some states); states and types left empty are refilled.
    """
    rng = np.random.default_rng(seed)
    prior = rng.random((N, K))
    prior[rng.random((N, K)) < absent] = 0.0
    prior[:, prior.sum(axis=0) == 0] = 1.0
    prior[prior.sum(axis=1) == 0, 0] = 1.0
    return Environment(
        states=[f"s{k}" for k in range(K)],
        types=[f"t{n}" for n in range(N)],
        allocations=[f"a{m}" for m in range(M)],
        prior=prior,
        agent_payoff=rng.normal(size=(M, N, K)),
        designer_payoff=rng.normal(size=(M, N, K)),
        transfers=money,
        normalize=True,
    )
