"""The LP layer against the reference solver of ``conftest.py``.

The reference writes V(μ) (THEORY §5) and the standard problem (THEORY §3)
from the formulas with plain ``linprog``, unnormalised weights and only the
user's transfer bounds; the library scales rows by type weights and keeps
transfers in a box (``calmech.lp.transfer_box``). Agreement on random
environments checks the assembly and the claim that the box loses nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import calmech
from calmech import Environment, InputError
from calmech.lp import primitives, transfer_box
from conftest import (
    VALUE_ATOL,
    environments,
    payoff_scale,
    reference_standard,
    reference_value,
    rule_problems,
    rule_value,
    worst_violation,
)


@st.composite
def env_and_belief(draw, **options) -> tuple[Environment, np.ndarray]:
    """An environment and a belief with integer weights (faces included)."""
    env = draw(environments(**options))
    K = env.shape[2]
    weights = draw(
        st.lists(st.integers(0, 3), min_size=K, max_size=K).filter(lambda w: sum(w))
    )
    return env, np.array(weights, dtype=float) / sum(weights)


def same(a: float, b: float, atol: float) -> bool:
    """Equal within atol, or the same infinity."""
    return a == b or abs(a - b) <= atol


# ----------------------------------------------------------------------
# V(μ)
# ----------------------------------------------------------------------
def check_value_point(env: Environment, mu: np.ndarray) -> None:
    atol = VALUE_ATOL * payoff_scale(env)
    point = calmech.value_function(env, mu)
    expected = reference_value(env, mu).value
    assert same(point.value, expected, atol), (point.value, expected)
    assert point.feasible == math.isfinite(expected)
    if point.feasible:
        assert rule_problems(env, mu, point.allocation, point.transfers, atol) == []
        assert rule_value(env, mu, point.allocation, point.transfers) == pytest.approx(
            point.value, abs=atol
        )


@given(env_and_belief())
def test_value_function_matches_reference(case) -> None:
    check_value_point(*case)


@given(env_and_belief(floats=True, max_types=3, max_allocations=3))
def test_value_function_matches_reference_with_arbitrary_floats(case) -> None:
    check_value_point(*case)


@given(environments(money=True, outside=True))
def test_transfer_box_contains_every_payment_the_reference_needs(env) -> None:
    # The box must not bind at an optimum found without it: the reference's
    # value is reached with payments inside [L, H] (checked by equality of
    # values at the prior and at every vertex).
    prim = primitives(env)
    lo, hi = env.bounds
    low, high = prim.box
    assert lo <= low and high <= hi
    if low > high:
        # An empty box: participation needs payments below the lower bound.
        assert calmech.value_function(env, env.state_prior).status == "infeasible"
    K = env.shape[2]
    for mu in [env.state_prior, *np.eye(K)]:
        check_value_point(env, mu)


def test_transfer_box_by_hand() -> None:
    # u ∈ [0, 2], u₀ = 0: payments at most 2; the lowest useful payment is
    # min u − max u₀ − Δ = 0 − 0 − 2.
    u = np.array([[[0.0]], [[2.0]]])
    assert transfer_box(u, np.zeros((1, 1)), 1.0, -np.inf, np.inf) == (-2.0, 2.0)
    # A user bound tighter than the box wins.
    assert transfer_box(u, np.zeros((1, 1)), 1.0, 0.0, 1.0) == (0.0, 1.0)
    # A negative weight keeps the user's lower bound.
    assert transfer_box(u, np.zeros((1, 1)), -1.0, -5.0, np.inf) == (-5.0, 2.0)


@pytest.mark.parametrize(
    ("belief", "message"),
    [
        ([0.5], "belief: must have one entry per state (2); got [0.5]"),
        ([0.5, 0.6], "belief: entries must sum to 1; got 1.1"),
        ([1.5, -0.5], "belief: entries must be nonnegative; got [1.5, -0.5]"),
        ([math.nan, 1.0], "belief: entries must be finite; got [nan, 1.0]"),
        ("ab", "belief: must be a list of numbers; got 'ab'"),
    ],
)
def test_belief_errors(belief, message) -> None:
    with pytest.raises(InputError) as info:
        calmech.value_function(calmech.examples.monopoly(), belief)
    assert str(info.value) == message


# ----------------------------------------------------------------------
# The standard problem
# ----------------------------------------------------------------------
def check_standard(env: Environment) -> None:
    atol = VALUE_ATOL * payoff_scale(env)
    std = calmech.standard_optimum(env)
    expected = reference_standard(env)
    assert same(std.value, expected, atol), (std.value, expected)
    if not math.isfinite(expected):
        assert std.status == "infeasible"
        assert std.allocation is None and std.calibration is None
        return
    assert std.status == "optimal"
    x, t = std.allocation, std.transfers
    M, N, K = env.shape
    assert x.shape == (M, N, K) and t.shape == (N, K)
    np.testing.assert_allclose(x.sum(axis=0), 1.0, rtol=0, atol=1e-9)
    assert x.min() >= 0
    lo, hi = env.bounds
    assert lo - atol <= t.min() and t.max() <= hi + atol
    # Interim IC and IR: one cell holding every state.
    assert worst_violation(env, x, t, [list(range(K))]) <= atol
    earned = np.einsum("mnk,mnk,nk->", x, env.designer_payoff, env.prior)
    earned += env.transfer_weight * float((env.prior * t).sum())
    assert earned == pytest.approx(std.value, abs=atol)


@given(environments())
def test_standard_optimum_matches_reference(env) -> None:
    check_standard(env)


@given(environments(floats=True, max_types=3, max_allocations=3))
def test_standard_optimum_matches_reference_with_arbitrary_floats(env) -> None:
    check_standard(env)


def test_standard_optimum_infeasible_without_money() -> None:
    # Every allocation is worth less than walking away.
    env = calmech.examples.monopoly().replace(transfers=False, outside_option=3.0)
    std = calmech.standard_optimum(env)
    assert std.status == "infeasible"
    assert std.value == -math.inf
    assert std.message == "no mechanism meets every type's participation constraint"


def test_value_next_to_a_jump_is_not_declared_infeasible() -> None:
    # In the assignment example V jumps at P(hot) = 0.6, where incentive rows
    # differ by about 1e-11. Sending everyone to the office is always
    # feasible, yet HiGHS at the tight tolerance of 1e-10 has declared this
    # belief infeasible; the value function re-solves at HiGHS's default
    # before believing it. Today the value found there is the one of the
    # mechanism feasible within 1e-7, the upper branch of the jump (1.92).
    env = calmech.examples.assignment()
    q = 0.5999999999441421
    for backend in ("highspy", "scipy"):
        point = calmech.ValueFunction(env, backend=backend).solve([q, 1 - q])
        assert point.feasible
        assert point.value == pytest.approx(1.92, abs=1e-8)


@pytest.mark.parametrize("name", ["monopoly", "quality", "assignment"])
def test_interior_point_path_agrees_with_simplex(name: str) -> None:
    # Large standard problems go to the interior point method without
    # crossover; on small ones both methods must give the same optimum.
    from calmech.lp import primitives, standard_lp

    lp = standard_lp(primitives(calmech.examples.get_example(name)))
    ipm, simplex = lp.solve(method="ipm"), lp.solve(method="simplex")
    assert ipm.status == simplex.status == "optimal"
    assert ipm.value == pytest.approx(simplex.value, abs=1e-8)
