"""Textbook instances: THEORY §8 A and B and the built-in assignment example.

Every number is checked twice: against the figure worked out by hand (in
the comments, or in THEORY §8), and against an independent computation with
the reference solver of ``conftest.py`` (plain ``linprog``, a fine grid of
beliefs and a master LP), so that neither the library nor a typo in this
file can make a test pass on its own.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import calmech
from calmech.examples import EXAMPLES, assignment, get_example, monopoly, quality
from conftest import grid_envelope, reference_standard, reference_value

#: The worked examples have rational answers; the solver must hit them.
EXACT = 1e-9
#: A grid of beliefs in steps of 1/200 contains every kink of these examples.
GRID = 200


def values(env: calmech.Environment) -> dict[str, float]:
    return calmech.solve(env).values


def reference_values(env: calmech.Environment) -> dict[str, float]:
    """The four values from the reference solver alone."""
    K = env.shape[2]
    mu0 = env.state_prior
    vertex = [reference_value(env, np.eye(K)[k]).value for k in range(K)]
    return {
        "standard": reference_standard(env),
        "calibrated": grid_envelope(env, GRID)[0],
        "full_transparency": float(mu0 @ vertex),
        "no_disclosure": reference_value(env, mu0).value,
    }


def posteriors(mech: calmech.CalibratedMechanism) -> np.ndarray:
    """Rows (probability, posterior of the first state), sorted."""
    return np.array(
        sorted((s.probability, float(s.posterior[0])) for s in mech.signals)
    )


# ----------------------------------------------------------------------
# THEORY §8 A: monopoly with correlated private values
# ----------------------------------------------------------------------
MONOPOLY = {
    "standard": 1.5,
    "calibrated": 1.3,
    "full_transparency": 1.3,
    "no_disclosure": 1.0,
}


def test_monopoly_values() -> None:
    got = values(monopoly())
    assert got == pytest.approx(MONOPOLY, abs=EXACT)


def test_monopoly_values_by_reference_solver() -> None:
    # By hand: in L the buyer is low w.p. 0.8, so price 1 earns 1 and price 2
    # earns 0.4; in H price 2 earns 0.8 * 2 = 1.6; transparency gives
    # (1 + 1.6) / 2 = 1.3. Without disclosure each type is equally likely:
    # price 1 earns 1, price 2 earns 1. Correlation lets the standard LP
    # extract the full surplus 0.5 * 1 + 0.5 * 2 = 1.5.
    assert reference_values(monopoly()) == pytest.approx(MONOPOLY, abs=EXACT)


def test_monopoly_envelope_agrees_with_private_values_theorem() -> None:
    mech = calmech.calibrated_optimum(monopoly(), method="envelope")
    assert mech.value == pytest.approx(1.3, abs=EXACT)
    assert mech.upper_bound >= mech.value
    assert mech.gap <= EXACT


def test_monopoly_transparency_posts_prices_one_and_two() -> None:
    mech = calmech.calibrated_optimum(monopoly())
    by_state = {int(np.argmax(s.posterior)): s for s in mech.signals}
    assert sorted(by_state) == [0, 1]
    for state, price in ((0, 1.0), (1, 2.0)):
        sig = by_state[state]
        assert sig.probability == pytest.approx(0.5, abs=EXACT)
        # Both types buy at price 1 in L; in H only the high type buys, at 2.
        high = monopoly().index("types", "high")
        assert sig.allocation[1, high] == pytest.approx(1.0, abs=EXACT)
        assert sig.transfers[high] == pytest.approx(price, abs=EXACT)


# ----------------------------------------------------------------------
# THEORY §8 B: quality the buyer cannot see
# ----------------------------------------------------------------------
QUALITY = {
    "standard": 1.25,
    "calibrated": 1.25,
    "full_transparency": 1.0,
    "no_disclosure": 1.0,
}


def test_quality_values() -> None:
    assert values(quality()) == pytest.approx(QUALITY, abs=EXACT)


def test_quality_values_by_reference_solver() -> None:
    # By hand: at P(good) = q the low type expects 2 P(good | low) and the
    # high type 4 P(good | high); at q = 0.7, P(good | low) = 0.525 / 0.6 =
    # 0.875 and P(good | high) = 0.175 / 0.4 = 0.4375, so both expect 1.75
    # and everybody buys at that price. Splitting 1/2 into 0 and 0.7 puts
    # weight 5/7 on 0.7: (5/7) * 1.75 = 1.25, the whole surplus.
    assert reference_values(quality()) == pytest.approx(QUALITY, abs=EXACT)


def test_quality_optimal_split() -> None:
    mech = calmech.calibrated_optimum(quality())
    assert len(mech.signals) == 2
    np.testing.assert_allclose(
        posteriors(mech), [(2 / 7, 0.0), (5 / 7, 0.7)], rtol=0, atol=EXACT
    )
    # At P(good) = 0.7 everybody buys at 1.75.
    sig = max(mech.signals, key=lambda s: s.probability)
    np.testing.assert_allclose(sig.allocation[1], [1.0, 1.0], rtol=0, atol=EXACT)
    np.testing.assert_allclose(sig.transfers, [1.75, 1.75], rtol=0, atol=EXACT)
    # π(s | ω): "bad is certain" is sent in the bad state only, with
    # probability (2/7) / (1/2) = 4/7; the other signal in every good state.
    order = np.argsort([s.posterior[0] for s in mech.signals])
    np.testing.assert_allclose(
        mech.disclosure()[order], [[0.0, 4 / 7], [1.0, 3 / 7]], rtol=0, atol=EXACT
    )


def test_quality_value_function_kink() -> None:
    V = calmech.ValueFunction(quality())
    assert V([0.7, 0.3]) == pytest.approx(1.75, abs=EXACT)
    assert V([0.0, 1.0]) == pytest.approx(0.0, abs=EXACT)
    assert V([0.7, 0.3]) == pytest.approx(
        reference_value(quality(), [0.7, 0.3]).value, abs=EXACT
    )


# ----------------------------------------------------------------------
# The assignment example: no money
# ----------------------------------------------------------------------
ASSIGNMENT = {
    "standard": 2.2,
    "calibrated": 1.8,
    "full_transparency": 1.4,
    "no_disclosure": 1.3,
}


def test_assignment_values() -> None:
    assert values(assignment()) == pytest.approx(ASSIGNMENT, abs=EXACT)


def test_assignment_values_by_reference_solver() -> None:
    # By hand, with q = P(hot) and f_s, f_f the field probabilities:
    # the seller believes P(hot | seller) = 0.4q / (0.4q + 0.6(1 − q)) and
    # prefers the field when that is ≥ 1/2, i.e. q ≥ 0.6; the fixer prefers
    # the office when P(hot | fixer) ≥ 2/3, i.e. q ≥ 4/7. The manager gets 4
    # per unit of seller weight in the field and 0.4 − 2.2q from the fixer.
    # * q = 1/2: the seller prefers the office, the fixer the field, so IC
    #   needs f_s ≤ f_f; best f_s = f_f = 1: 2 − 0.7 = 1.3 (no disclosure).
    # * q = 1: f_s = 1, f_f = 0 gives 0.4 * 4 = 1.6; q = 0: the seller's
    #   participation (1 − 3 f_s ≥ 0) caps f_s at 1/3 and f_f = 1, giving
    #   2.4/3 + 0.4 = 1.2; full transparency (1.6 + 1.2) / 2 = 1.4.
    # * q = 0.6: the seller is indifferent, the fixer prefers the office:
    #   f_s = 1, f_f = 0 gives 0.48 * 4 = 1.92. Splitting 1/2 into 0.6
    #   (w.p. 5/6) and 0 (w.p. 1/6): 1.6 + 0.2 = 1.8, the calibrated value.
    # * Standard: the first best (seller in the field, fixer in the field
    #   only when cold) is interim IC: 0.2*4 + 0.3*4 + 0.2*1 = 2.2.
    assert reference_values(assignment()) == pytest.approx(ASSIGNMENT, abs=EXACT)


def test_assignment_optimal_split() -> None:
    mech = calmech.calibrated_optimum(assignment())
    np.testing.assert_allclose(
        posteriors(mech), [(1 / 6, 0.0), (5 / 6, 0.6)], rtol=0, atol=EXACT
    )
    values_at = {round(float(s.posterior[0]), 6): s.value for s in mech.signals}
    assert values_at[0.6] == pytest.approx(1.92, abs=EXACT)
    assert values_at[0.0] == pytest.approx(1.2, abs=EXACT)
    np.testing.assert_array_equal([s.transfers for s in mech.signals], np.zeros((2, 2)))


def test_assignment_envelope_kinks_are_on_the_grid() -> None:
    # The grid envelope is a lower bound; with the kink at 0.6 on the grid
    # it is attained, and a coarser grid without 0.6 does strictly worse.
    fine = grid_envelope(assignment(), GRID)[0]
    coarse = grid_envelope(assignment(), 7)[0]
    assert fine == pytest.approx(1.8, abs=EXACT)
    assert coarse < fine - 1e-3


# ----------------------------------------------------------------------
# The registry of built-in examples
# ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_a_fresh_valid_environment(name: str) -> None:
    first, second = get_example(name), get_example(name)
    assert first is not second
    assert first.name == name
    assert math.isclose(float(first.prior.sum()), 1.0, abs_tol=EXACT)


def test_unknown_example_lists_the_known_names() -> None:
    with pytest.raises(calmech.InputError) as info:
        get_example("nope")
    assert str(info.value) == (
        "example: unknown name (known: monopoly, quality, assignment); got 'nope'"
    )
