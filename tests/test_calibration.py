"""The calibration check of THEORY §4 on mechanisms worked out by hand.

A mechanism reveals the partition of the states into cells with identical
interim rules; it is calibrated when IC and IR hold on every cell for every
type present there, under the type's belief restricted to the cell.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import calmech
from calmech import Environment, MechanismError, check_calibration
from calmech.calibration import revealed_partition
from calmech.examples import monopoly
from conftest import cells_of, worst_violation

#: Amounts in these tests are rational; they must be exact up to rounding.
EXACT = 1e-9

SELL = 1  # index of "sale" in the monopoly example
LOW, HIGH = 0, 1
L, H = 0, 1


def sell_always() -> np.ndarray:
    x = np.zeros((2, 2, 2))
    x[SELL] = 1.0
    return x


def amounts(report: calmech.CalibrationReport) -> list[tuple[Any, ...]]:
    return [(v.kind, v.cell, v.type, v.deviation, v.amount) for v in report.violations]


# ----------------------------------------------------------------------
# Pooling mechanisms
# ----------------------------------------------------------------------
def test_pooling_ic_mechanism_is_calibrated() -> None:
    # Sell to everybody at price 1 in every state: nothing is revealed, the
    # low type's participation binds (an indifferent agent stays).
    report = check_calibration(monopoly(), sell_always(), np.ones((2, 2)))
    assert report.calibrated
    assert report.interim_ic
    assert report.violations == []
    assert report.partition == [("L", "H")]
    # Beliefs on the one cell are P(ω | θ): 0.8/0.2 for low, 0.2/0.8 for high.
    beliefs = report.posteriors[("L", "H")]
    np.testing.assert_allclose(beliefs["low"], [0.8, 0.2], rtol=0, atol=EXACT)
    np.testing.assert_allclose(beliefs["high"], [0.2, 0.8], rtol=0, atol=EXACT)
    assert report.verdict.startswith("calibrated")


def test_pooling_mechanism_that_is_not_ir_fails_everywhere() -> None:
    # Price 1.5 to everybody: the low type loses 0.5 before and after learning.
    report = check_calibration(monopoly(), sell_always(), np.full((2, 2), 1.5))
    assert not report.calibrated
    assert not report.interim_ic
    assert amounts(report) == [("IR", ("L", "H"), "low", None, pytest.approx(0.5))]


def test_violation_just_above_tolerance_is_reported() -> None:
    # The tolerance is rtol × payoff scale = 1e-7 × 2 here.
    price = 1.0 + 1e-6
    report = check_calibration(monopoly(), sell_always(), np.full((2, 2), price))
    assert not report.calibrated
    assert report.violations[0].amount == pytest.approx(1e-6, rel=1e-6)
    tiny = check_calibration(monopoly(), sell_always(), np.full((2, 2), 1.0 + 1e-8))
    assert tiny.calibrated


def test_state_independent_mechanisms_are_calibrated_iff_interim_ic() -> None:
    # With one cell, calibration and the one-shot constraints coincide.
    for low_price, high_price in itertools.product([0.0, 1.0, 1.5, 2.0], repeat=2):
        t = np.array([[low_price] * 2, [high_price] * 2])
        report = check_calibration(monopoly(), sell_always(), t)
        assert report.calibrated == report.interim_ic
        assert report.partition == [("L", "H")]


# ----------------------------------------------------------------------
# The textbook optimum of THEORY §8 A
# ----------------------------------------------------------------------
def cremer_mclean() -> tuple[np.ndarray, np.ndarray]:
    """A full-surplus mechanism found by hand.

    Always sell. The low type (P(L | low) = 0.8) pays 0.5 in L and 3 in H,
    expected 0.8 * 0.5 + 0.2 * 3 = 1, its value; the high type pays 2 in
    both states. Reporting low would cost the high type 0.2 * 0.5 + 0.8 * 3
    = 2.5 > 2 and reporting high would cost the low type 2 > 1, so the
    mechanism is interim IC and IR, and earns 0.5 * 1 + 0.5 * 2 = 1.5.
    """
    t = np.array([[0.5, 3.0], [2.0, 2.0]])
    return sell_always(), t


def test_hand_made_cremer_mclean_mechanism_is_a_standard_optimum() -> None:
    x, t = cremer_mclean()
    env = monopoly()
    earned = float((env.prior * t).sum())
    assert earned == pytest.approx(calmech.standard_optimum(env).value, abs=EXACT)


def test_cremer_mclean_is_not_calibrated_with_amounts_by_hand() -> None:
    # Once the state is learnt: in L the high type pays 2 for a good worth 2
    # but would pay 0.5 as "low" (gain 1.5); in H the low type pays 3 for a
    # good worth 1 (loses 2 by participating) and would pay 2 as "high"
    # (gain 1 over the truth).
    report = check_calibration(monopoly(), *cremer_mclean())
    assert report.partition == [("L",), ("H",)]
    assert report.interim_ic
    assert not report.calibrated
    assert amounts(report) == [
        ("IR", ("H",), "low", None, pytest.approx(2.0, abs=EXACT)),
        ("IC", ("L",), "high", "low", pytest.approx(1.5, abs=EXACT)),
        ("IC", ("H",), "low", "high", pytest.approx(1.0, abs=EXACT)),
    ]
    assert [str(v) for v in report.violations] == [
        "IR in cell {H}: type 'low' loses 2 by participating",
        "IC in cell {L}: type 'high' gains 1.5 by reporting 'low'",
        "IC in cell {H}: type 'low' gains 1 by reporting 'high'",
    ]
    assert report.verdict == (
        "not calibrated: 3 violation(s); worst: IR in cell {H}: type 'low' loses 2 "
        "by participating"
    )
    assert report.posteriors == {
        ("L",): {"low": [1.0], "high": [1.0]},
        ("H",): {"low": [1.0], "high": [1.0]},
    }


def test_monopoly_standard_optimum_is_not_calibrated() -> None:
    env = monopoly()
    std = calmech.standard_optimum(env)
    report = std.calibration
    assert report is not None and not report.calibrated
    assert report.partition == [("L",), ("H",)]
    # Each reported amount is recomputed here from the returned rule.
    for v in report.violations:
        (k,) = (env.index("states", s) for s in v.cell)
        n = env.index("types", v.type)
        truth = (
            env.agent_payoff[:, n, k] @ std.allocation[:, n, k] - std.transfers[n, k]
        )
        if v.kind == "IC":
            r = env.index("types", v.deviation)
            other = (
                env.agent_payoff[:, n, k] @ std.allocation[:, r, k]
                - std.transfers[r, k]
            )
            assert v.amount == pytest.approx(other - truth, abs=EXACT)
        else:
            assert v.amount == pytest.approx(-truth, abs=EXACT)
    x, t = std.allocation, std.transfers
    assert worst_violation(env, x, t, cells_of(x, t, 1e-9)) == pytest.approx(
        report.violations[0].amount, abs=EXACT
    )


# ----------------------------------------------------------------------
# Partitions
# ----------------------------------------------------------------------
def three_states(**changes: Any) -> Environment:
    """One good, a buyer whose value (1 or 2) is independent of three states."""
    fields: dict[str, Any] = {
        "states": ["a", "b", "c"],
        "types": ["low", "high"],
        "allocations": ["no sale", "sale"],
        "prior": [[0.1, 0.2, 0.2], [0.3, 0.1, 0.1]],
        "agent_payoff": [[0, 0], [1, 2]],
    }
    fields.update(changes)
    return Environment(**fields)


def test_rule_identical_in_two_of_three_states_reveals_two_cells() -> None:
    env = three_states()
    x = np.zeros((2, 2, 3))
    x[SELL] = 1.0
    # Price 1 in states a and c, 2 in state b (the same for both reports).
    t = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    report = check_calibration(env, x, t)
    assert report.partition == [("a", "c"), ("b",)]
    beliefs = report.posteriors[("a", "c")]
    np.testing.assert_allclose(beliefs["low"], [1 / 3, 2 / 3], rtol=0, atol=EXACT)
    np.testing.assert_allclose(beliefs["high"], [0.75, 0.25], rtol=0, atol=EXACT)
    # In b the low type pays 2 for a good worth 1.
    assert amounts(report) == [("IR", ("b",), "low", None, pytest.approx(1.0))]


def test_partition_tolerance() -> None:
    x = np.zeros((2, 1, 3))
    x[1] = 1.0
    close = np.array([[1.0, 1.0 + 1e-10, 1.0]])
    apart = np.array([[1.0, 1.0 + 1e-6, 1.0]])
    assert revealed_partition(x, close) == [[0, 1, 2]]
    assert revealed_partition(x, apart) == [[0, 2], [1]]


def test_lottery_differences_split_cells_too() -> None:
    env = three_states()
    x = np.zeros((2, 2, 3))
    x[SELL] = 1.0
    x[:, HIGH, 2] = [0.5, 0.5]  # only the high report's lottery differs in c
    report = check_calibration(env, x, np.zeros((2, 3)))
    assert report.partition == [("a", "b"), ("c",)]
    # With a free good the high type would rather report low in state c.
    assert amounts(report) == [("IC", ("c",), "high", "low", pytest.approx(1.0))]


def test_types_absent_from_a_cell_have_no_constraints_there() -> None:
    # The high type never meets state b, so charging 5 for a good it values
    # at 2 there (it would walk away, or report low) does not matter.
    env = three_states(prior=[[0.1, 0.2, 0.2], [0.5, 0.0, 0.0]])
    x = np.zeros((2, 2, 3))
    x[SELL] = 1.0
    t = np.array([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0]])
    report = check_calibration(env, x, t)
    assert report.partition == [("a", "c"), ("b",)]
    assert report.posteriors[("b",)] == {"low": [1.0]}
    assert report.calibrated
    # The same rule is not calibrated once the high type can meet state b.
    present = check_calibration(three_states(), x, t)
    assert amounts(present) == [
        ("IC", ("b",), "high", "low", pytest.approx(4.0)),
        ("IR", ("b",), "high", None, pytest.approx(3.0)),
    ]


# ----------------------------------------------------------------------
# Invalid mechanisms
# ----------------------------------------------------------------------
NO_MONEY = monopoly().replace(transfers=False)
BOUNDED = monopoly().replace(transfer_bounds=(0.0, 1.5))


@pytest.mark.parametrize(
    ("env", "allocation", "transfers", "message"),
    [
        (
            monopoly(),
            np.ones((1, 2, 2)),
            None,
            "allocation: must have shape (allocations, types, states) = (2, 2, 2); "
            "got (1, 2, 2)",
        ),
        (
            monopoly(),
            [[[0, 0], [1.5, 0]], [[1, 1], [-0.5, 1]]],
            None,
            "allocation: entries must be nonnegative (allocation 'sale', type "
            "'high', state 'L'); got -0.5",
        ),
        (
            monopoly(),
            [[[0, 0], [0, 0]], [[1, 1], [1, 0.5]]],
            None,
            "allocation: must sum to 1 over allocations for type 'high', state "
            "'H' (within 1e-09); got 0.5",
        ),
        (
            monopoly(),
            sell_always(),
            np.ones(2),
            "transfers: must have shape (types, states) = (2, 2); got (2,)",
        ),
        (
            monopoly(),
            [[[0, 0], [0, 0]], [[1, 1], [1, "x"]]],
            None,
            "allocation: entries must be numbers; got 'x'",
        ),
        (
            NO_MONEY,
            sell_always(),
            [[0.0, 0.0], [0.0, 1.0]],
            "transfers: must be absent or zero when the environment has no money "
            "(type 'high', state 'H'); got 1",
        ),
        (
            BOUNDED,
            sell_always(),
            [[0.0, 0.0], [2.0, 0.0]],
            "transfers: must lie within the transfer bounds [0, 1.5] (type "
            "'high', state 'L'); got 2",
        ),
    ],
)
def test_invalid_mechanisms_are_refused(
    env: Environment, allocation: Any, transfers: Any, message: str
) -> None:
    with pytest.raises(MechanismError) as info:
        check_calibration(env, allocation, transfers)
    assert str(info.value) == message


def test_nan_allocation_is_refused() -> None:
    x = sell_always()
    x[0, 0, 0] = np.nan
    with pytest.raises(MechanismError, match=r"^allocation: entries must be finite"):
        check_calibration(monopoly(), x)


def test_zero_transfers_are_accepted_without_money() -> None:
    report = check_calibration(NO_MONEY, sell_always(), np.zeros((2, 2)))
    # A free good for everybody, in every state: nothing to learn, nothing
    # to gain by lying.
    assert report.calibrated
    assert report.partition == [("L", "H")]
