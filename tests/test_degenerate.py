"""Degenerate environments: a catalogue of edge cases with known answers.

Each entry states its expected values, derived by hand in a comment, and
checks them; every solution must also pass the exact re-verification of
:mod:`calmech.verify`. Payoffs of order 1e6 and 1e-6 are solved in units
near 1 (:mod:`calmech.scaling`) and reported in the user's units.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calmech.cli.common import plain
from calmech.environment import Environment
from calmech.examples import assignment, monopoly, quality
from calmech.mechanisms import solve
from calmech.scaling import rescale, unscale_solution
from calmech.verify import verify_result

#: Agreement of computed and hand-derived values (LP tolerance 1e-10).
ATOL = 1e-7
#: Agreement of solve(c · env) / c with solve(env).
SCALE_RTOL = 1e-6


def _env(**fields) -> Environment:
    base = {
        "states": ["L", "H"],
        "types": ["low", "high"],
        "allocations": ["no sale", "sale"],
    }
    base.update(fields)
    return Environment(**base)


def _check(env: Environment, expected: dict[str, float]) -> None:
    sol = solve(env)
    for name, value in expected.items():
        assert sol.values[name] == pytest.approx(value, abs=ATOL), name
    report = verify_result(env, plain(sol.to_dict()))
    assert report.verified, report.verdict


def test_type_absent_in_one_state():
    # Private values 1 (low), 2 (high); high never occurs in L.
    # L: only low (0.4) -> price 1 -> 0.4. H: low 0.2, high 0.4, so price 2
    # sells to 2/3 of 0.6 -> 0.8 (price 1 gives 0.6). FT = calibrated = 1.2.
    # No disclosure: P(high) = 0.4, price 1 -> 1.0, price 2 -> 0.8: 1.0.
    # Beliefs (2/3, 1/3) and (0, 1) are independent, so the standard
    # optimum extracts the surplus 0.6 + 0.8 = 1.4 (Crémer–McLean).
    env = _env(prior=[[0.4, 0.2], [0.0, 0.4]], agent_payoff=[[0, 0], [1, 2]])
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.2,
            "calibrated": 1.2,
            "standard": 1.4,
        },
    )


def test_types_perfectly_correlated_with_states():
    # Type = state. Revealing the state reveals the type: price 1 in L,
    # 2 in H, so FT = calibrated = standard = 0.5 + 1.0 = 1.5, the full
    # surplus. No disclosure: price 1 -> 1.0, price 2 -> 1.0: 1.0.
    env = _env(prior=[[0.5, 0.0], [0.0, 0.5]], agent_payoff=[[0, 0], [1, 2]])
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.5,
            "calibrated": 1.5,
            "standard": 1.5,
        },
    )


def test_single_type():
    # One type values the good at 2 in state good, 0 in bad. Without
    # screening, V(μ) = 2 μ(good) (sell at the expected value), linear, so
    # every benchmark is 2 × 1/2 = 1.
    env = _env(
        states=["good", "bad"],
        types=["buyer"],
        prior=[[0.5, 0.5]],
        agent_payoff=[[[0, 0]], [[2, 0]]],
    )
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.0,
            "calibrated": 1.0,
            "standard": 1.0,
        },
    )


def test_single_state():
    # Nothing to disclose: all four are the monopoly price problem with
    # values 1 and 3 equally likely: price 3 -> 1.5 beats price 1 -> 1.
    env = _env(states=["only"], prior=[[0.5], [0.5]], agent_payoff=[[0, 0], [1, 3]])
    _check(
        env,
        {
            "no_disclosure": 1.5,
            "full_transparency": 1.5,
            "calibrated": 1.5,
            "standard": 1.5,
        },
    )


def test_single_allocation_with_money():
    # Nothing to allocate; the agent (worth 2 or 3 to participate) pays.
    # A state-independent rule must charge both types alike (IC both ways),
    # at most min(2, 3) = 2, in every belief where both types are present:
    # ND = FT = calibrated = 2. The standard optimum uses Crémer–McLean
    # lotteries on the state to charge each type its own value:
    # 0.5 × 2 + 0.5 × 3 = 2.5.
    env = _env(
        allocations=["participate"],
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[2, 3]],
    )
    _check(
        env,
        {
            "no_disclosure": 2.0,
            "full_transparency": 2.0,
            "calibrated": 2.0,
            "standard": 2.5,
        },
    )


def test_single_allocation_without_money():
    # No money, one allocation worth 1 to the designer: every mechanism
    # gives 1.
    env = _env(
        allocations=["only"],
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[1, 2]],
        designer_payoff=[1.0],
        transfers=False,
    )
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.0,
            "calibrated": 1.0,
            "standard": 1.0,
        },
    )


def test_single_type_single_allocation_interdependent():
    # One type, one allocation worth -1 or -2 to the agent, no money, outside
    # option 0: participation fails at every belief, so nothing is feasible
    # and every value is -inf; the envelope proves it (upper bound -inf).
    env = _env(
        types=["t0"],
        allocations=["a0"],
        prior=[[2 / 3, 1 / 3]],
        agent_payoff=[[[-1, -2]]],
        transfers=False,
    )
    sol = solve(env)
    assert all(v == -math.inf for v in sol.values.values())
    assert sol.calibrated.status == "infeasible"
    assert sol.calibrated.upper_bound == -math.inf
    assert sol.calibrated.signals == []


def test_identical_allocations():
    # A duplicate of "sale" changes nothing: THEORY §8 A's numbers.
    env = _env(
        allocations=["no sale", "sale", "sale again"],
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[0, 0], [1, 2], [1, 2]],
    )
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.3,
            "calibrated": 1.3,
            "standard": 1.5,
        },
    )


def test_tie_between_optimal_mechanisms():
    # One state, values 1 and 2 equally likely: price 1 and price 2 both
    # earn 1.0 (and so does any mixture). Whichever the solver returns, the
    # value is 1.0 and the mechanism verifies.
    env = _env(states=["only"], prior=[[0.5], [0.5]], agent_payoff=[[0, 0], [1, 2]])
    _check(
        env,
        {
            "no_disclosure": 1.0,
            "full_transparency": 1.0,
            "calibrated": 1.0,
            "standard": 1.0,
        },
    )


def test_no_feasible_mechanism():
    # Without money no allocation gives the agent its outside option 5, so
    # participation fails at every belief: all values are -inf and the
    # calibrated mechanism is reported infeasible, not invented.
    env = _env(
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[0, 0], [1, 2]],
        outside_option=5.0,
        transfers=False,
    )
    sol = solve(env)
    assert sol.calibrated.status == "infeasible"
    assert all(v == -math.inf for v in sol.values.values())
    assert verify_result(env, plain(sol.to_dict())).verified


# ----------------------------------------------------------------------
# Payoffs of order 1e6 and 1e-6
# ----------------------------------------------------------------------
def _scaled(env: Environment, c: float) -> Environment:
    bounds = env.transfer_bounds
    if bounds is not None:
        bounds = (bounds[0] * c, bounds[1] * c)
    return env.replace(
        agent_payoff=env.agent_payoff * c,
        designer_payoff=env.designer_payoff * c,
        outside_option=env.outside_option * c,
        transfer_bounds=bounds,
    )


@pytest.mark.parametrize("c", [1e6, 1e-6])
@pytest.mark.parametrize("make", [monopoly, quality, assignment])
def test_solve_is_homogeneous_in_payoff_units(make, c):
    # Dividing every payoff by c divides every value and transfer by c and
    # leaves allocations and posteriors unchanged (scaling module).
    env = make()
    base, big = solve(env), solve(_scaled(env, c))
    scale = max(1.0, float(np.abs(env.agent_payoff).max()))
    for name, value in base.values.items():
        assert big.values[name] / c == pytest.approx(value, rel=SCALE_RTOL), name
    assert big.calibrated.upper_bound / c == pytest.approx(
        base.calibrated.upper_bound, rel=SCALE_RTOL
    )
    assert len(big.calibrated.signals) == len(base.calibrated.signals)
    for mine, theirs in zip(
        big.calibrated.signals, base.calibrated.signals, strict=True
    ):
        np.testing.assert_allclose(mine.posterior, theirs.posterior, atol=1e-9)
        np.testing.assert_allclose(
            mine.transfers / c, theirs.transfers, rtol=SCALE_RTOL, atol=1e-9 * scale
        )
    np.testing.assert_allclose(
        big.standard.transfers / c,
        base.standard.transfers,
        rtol=SCALE_RTOL,
        atol=1e-9 * scale,
    )
    assert big.standard.calibration.calibrated == base.standard.calibration.calibrated
    assert big.environment.agent_payoff.max() == env.agent_payoff.max() * c
    assert verify_result(big.environment, plain(big.to_dict())).verified


def test_rescale_keeps_ordinary_units_and_round_trips():
    env = quality()
    assert rescale(env) == (env, 1.0)
    tiny = _scaled(env, 1e-6)
    scaled, factor = rescale(tiny)
    # Largest payoff 4e-6: the nearest power of ten is 1e-5.
    assert factor == 1e-5
    np.testing.assert_allclose(scaled.agent_payoff, env.agent_payoff / 10, rtol=1e-15)
    sol = unscale_solution(solve(scaled), tiny, factor)
    assert sol.environment is tiny
    assert sol.values["calibrated"] == pytest.approx(1.25e-6, rel=SCALE_RTOL)


def test_transfer_bounds_scale_with_payoffs():
    # Limited liability: payments in [0, 1.5]; private values, so
    # calibrated = FT. In L (P(high) = 0.2) selling to both at 1 is best:
    # 1.0. In H (P(high) = 0.8), give low the good with probability x at
    # price x and charge high min(2 − x, 1.5): revenue 0.2 x + 0.8 × 1.5 for
    # x ≤ 1/2, falling after, so x = 1/2 gives 1.3. FT = (1.0 + 1.3)/2.
    env = _env(
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[0, 0], [1, 2]],
        transfer_bounds=(0.0, 1.5),
    )
    _check(env, {"full_transparency": 1.15, "calibrated": 1.15})
    big = solve(_scaled(env, 1e6))
    assert big.values["calibrated"] == pytest.approx(1.15e6, rel=SCALE_RTOL)
    for sig in big.calibrated.signals:
        assert sig.transfers.max() <= 1.5e6 * (1 + 1e-9)
