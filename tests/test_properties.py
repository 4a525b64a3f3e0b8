"""Invariants of :func:`calmech.solve` on random small environments.

Environments have at most 3 states, 4 types and 4 allocations, with and
without money, outside options, transfer bounds and correlated priors with
zero cells (``conftest.environments``). Every check is made with the test's
own code (``conftest``), never with the library's verifier:

* each signal's rule is feasible, IC and IR at its posterior; the signals
  are Bayes plausible, at most K, and their values add up to the claim;
* max(no disclosure, full transparency) ≤ calibrated ≤ upper bound, and
  calibrated ≤ standard (THEORY §5);
* the certified upper bound is at least the concave envelope over a grid
  of beliefs computed by the reference solver (soundness);
* with two states the gap is at most ``GAP_ATOL``;
* with private values the envelope algorithm finds full transparency
  (THEORY §6);
* the calibration verdict on the standard optimum agrees with an
  independent check (THEORY §4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings

import calmech
from calmech import Environment
from conftest import (
    CHECK_ATOL,
    VALUE_ATOL,
    budget,
    cells_of,
    environments,
    grid_envelope,
    payoff_scale,
    reference_value,
    rule_problems,
    rule_value,
    worst_violation,
)

#: Largest gap (× payoff scale) accepted with two states; the solver aims
#: at 1e-9.
GAP_ATOL = 1e-7
#: Grid resolutions of the reference envelope (45 beliefs with 3 states).
GRID = {1: 1, 2: 40, 3: 8}
#: Seconds granted to one envelope; past them the result has status "limit".
TIME_LIMIT = 30.0


def check_signals(env: Environment, mech: calmech.CalibratedMechanism) -> None:
    """IC, IR, Bayes plausibility and values of a two-stage mechanism."""
    atol = CHECK_ATOL * payoff_scale(env)
    K = env.shape[2]
    assert 1 <= len(mech.signals) <= K
    probabilities = np.array([s.probability for s in mech.signals])
    assert probabilities.min() > 0
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    mean = sum(s.probability * s.posterior for s in mech.signals)
    np.testing.assert_allclose(mean, env.state_prior, rtol=0, atol=1e-8)
    total = 0.0
    for sig in mech.signals:
        assert sig.posterior.min() >= 0
        assert sig.posterior.sum() == pytest.approx(1.0, abs=1e-12)
        problems = rule_problems(
            env, sig.posterior, sig.allocation, sig.transfers, atol
        )
        assert problems == [], (sig.posterior, problems)
        value = rule_value(env, sig.posterior, sig.allocation, sig.transfers)
        assert value == pytest.approx(sig.value, abs=atol)
        total += sig.probability * value
    assert total == pytest.approx(mech.value, abs=atol)


def check_solution(env: Environment, sol: calmech.Solution) -> None:
    """Every invariant of THEORY §5 that a solution must satisfy."""
    atol = VALUE_ATOL * payoff_scale(env)
    K = env.shape[2]
    cal, std = sol.calibrated, sol.standard
    nd, ft = sol.no_disclosure.value, sol.full_transparency.value

    # The benchmarks against the reference solver.
    expected_nd = reference_value(env, env.state_prior).value
    vertices = [reference_value(env, np.eye(K)[k]).value for k in range(K)]
    expected_ft = float(env.state_prior @ vertices)
    for got, expected in ((nd, expected_nd), (ft, expected_ft)):
        assert got == expected or abs(got - expected) <= atol, (got, expected)

    # The reference envelope on a grid: a lower bound on cav V(μ₀).
    grid_value = grid_envelope(env, GRID[K])[0]
    if cal.status == "infeasible":
        assert cal.value == -math.inf and cal.signals == []
        assert grid_value == -math.inf
        assert nd == -math.inf and ft == -math.inf
        return
    assert math.isfinite(cal.value)
    check_signals(env, cal)
    assert max(nd, ft) <= cal.value + atol
    assert cal.upper_bound >= cal.value
    assert cal.upper_bound >= grid_value - atol, (cal.upper_bound, grid_value)
    assert std.status == "optimal"
    assert cal.value <= std.value + atol
    if K <= 2:
        assert cal.status == "optimal"
        assert cal.gap <= GAP_ATOL * payoff_scale(env)


@settings(max_examples=budget(0.5))
@given(environments())
def test_solution_invariants(env: Environment) -> None:
    check_solution(env, calmech.solve(env, time_limit=TIME_LIMIT))


@settings(max_examples=budget(0.2))
@given(environments(max_states=2, min_states=2, private=False))
def test_solution_invariants_two_states_interdependent(env: Environment) -> None:
    check_solution(env, calmech.solve(env, time_limit=TIME_LIMIT))


@settings(max_examples=budget(0.3))
@given(environments(floats=True, max_types=3, max_allocations=3))
def test_solution_invariants_with_arbitrary_floats(env: Environment) -> None:
    check_solution(env, calmech.solve(env, time_limit=TIME_LIMIT))


@settings(max_examples=budget(1.0))
@given(environments(private=True))
def test_private_values_envelope_finds_full_transparency(env: Environment) -> None:
    atol = VALUE_ATOL * payoff_scale(env)
    mech = calmech.calibrated_optimum(env, method="envelope", time_limit=5.0)
    ft = calmech.full_transparency(env).value
    if not math.isfinite(ft):
        # Some state has no feasible mechanism; no split avoids that state.
        assert mech.status == "infeasible"
        return
    assert mech.value - atol <= ft <= mech.upper_bound + atol
    auto = calmech.calibrated_optimum(env)
    assert auto.value == pytest.approx(ft, abs=atol)
    assert auto.gap == 0.0


@given(environments())
def test_standard_optimum_verdict_agrees_with_independent_check(env) -> None:
    std = calmech.standard_optimum(env)
    assume(std.status == "optimal")
    x, t = std.allocation, std.transfers
    scale = max(payoff_scale(env), float(np.abs(t).max()))
    cells = cells_of(x, t, 1e-9)
    # Rules that differ by amounts near the partition tolerance, or
    # constraints that fail by amounts near the check tolerance, are
    # decided by rounding; such draws are skipped.
    assume(cells == cells_of(x, t, 1e-6))
    worst = worst_violation(env, x, t, cells)
    assume(not (1e-9 * scale < worst < 1e-5 * scale))
    report = std.calibration
    assert report.calibrated == (worst <= 1e-9 * scale)
    labels = [tuple(env.states[k] for k in cell) for cell in cells]
    assert report.partition == labels
    if not report.calibrated:
        assert report.violations[0].amount == pytest.approx(worst, abs=1e-9 * scale)
    # Before learning the standard optimum is IC and IR by construction.
    assert report.interim_ic


@settings(max_examples=budget(0.5))
@given(environments(max_states=1))
def test_one_state_all_values_coincide(env: Environment) -> None:
    # With one state there is nothing to disclose or condition on.
    sol = calmech.solve(env)
    atol = VALUE_ATOL * payoff_scale(env)
    values = list(sol.values.values())
    if math.isfinite(values[0]):
        assert max(values) - min(values) <= atol
    else:
        assert all(v == -math.inf for v in values)


def test_everywhere_infeasible_environment_reports_infeasible() -> None:
    # One allocation that the only type dislikes, no money, outside option
    # 0: no mechanism exists at any belief.
    env = Environment(
        states=["s0", "s1"],
        types=["t"],
        allocations=["a"],
        prior=[[0.5, 0.5]],
        agent_payoff=[[[-1.0, -2.0]]],
        transfers=False,
    )
    sol = calmech.solve(env)
    assert sol.calibrated.status == "infeasible"
    assert all(v == -math.inf for v in sol.values.values())
