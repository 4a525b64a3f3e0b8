"""One test per validation rule of Environment and of the file reader.

Each test asserts the exact error class and the whole message, which names
the field, the rule and the value received.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calmech.environment import Environment
from calmech.errors import (
    FormatError,
    FormulaError,
    InputError,
    LabelError,
    ProbabilityError,
    ShapeError,
)
from calmech.files import environment_from_dict, load_environment

SHAPES = (
    "must have shape (allocations, types, states) (2, 2, 2) or "
    "(allocations, types) (2, 2) or (allocations,) (2,) or scalar ()"
)


def fields(**changes: Any) -> dict[str, Any]:
    """THEORY §8 A, the valid starting point, with some fields changed."""
    out: dict[str, Any] = {
        "states": ["L", "H"],
        "types": ["low", "high"],
        "allocations": ["no sale", "sale"],
        "prior": [[0.4, 0.1], [0.1, 0.4]],
        "agent_payoff": [[0, 0], [1, 2]],
        "designer_payoff": [0, 0],
    }
    out.update(changes)
    return out


def rejects(error: type[Exception], message: str, **changes: Any) -> None:
    """Environment(**fields(**changes)) raises exactly ``error(message)``."""
    with pytest.raises(InputError) as info:
        Environment(**fields(**changes))
    assert type(info.value) is error
    assert str(info.value) == message


def rejects_document(error: type[Exception], message: str, doc: Any) -> None:
    """environment_from_dict(doc) raises exactly ``error(message)``."""
    with pytest.raises(InputError) as info:
        environment_from_dict(doc)
    assert type(info.value) is error
    assert str(info.value) == message


def test_valid_environment_is_accepted() -> None:
    env = Environment(**fields())
    assert env.shape == (2, 2, 2)


# ----------------------------------------------------------------------
# Labels
# ----------------------------------------------------------------------
def test_labels_must_be_a_list() -> None:
    rejects(LabelError, "states: must be a list of labels; got 'LH'", states="LH")


def test_labels_must_not_be_missing() -> None:
    rejects(LabelError, "types: must contain at least one label; got []", types=[])


def test_labels_must_be_strings() -> None:
    rejects(
        LabelError,
        "allocations: every label must be a string or an integer; got 1.5",
        allocations=["no sale", 1.5],
    )


def test_labels_must_not_be_empty() -> None:
    rejects(LabelError, "states: labels must not be empty; got ' '", states=["L", " "])


def test_labels_must_be_distinct() -> None:
    rejects(
        LabelError, "types: labels must be distinct; got 'low'", types=["low", "low"]
    )


# ----------------------------------------------------------------------
# Arrays
# ----------------------------------------------------------------------
def test_prior_shape() -> None:
    rejects(
        ShapeError,
        "prior: must have shape (types, states) = (2, 2); got (2, 3)",
        prior=[[0.4, 0.1, 0.0], [0.1, 0.4, 0.0]],
    )


def test_ragged_array() -> None:
    rejects(
        ShapeError,
        "prior: must be a rectangular array (rows differ); got [[0.4, 0.1], [0.5]]",
        prior=[[0.4, 0.1], [0.5]],
    )


def test_payoff_shape() -> None:
    rejects(ShapeError, f"agent_payoff: {SHAPES}; got (3,)", agent_payoff=[0, 1, 2])


def test_outside_option_shape() -> None:
    rejects(
        ShapeError,
        "outside_option: must have shape (types, states) (2, 2) or (types,) (2,) "
        "or scalar (); got (3,)",
        outside_option=[0, 0, 0],
    )


def test_entries_must_be_numbers() -> None:
    rejects(
        InputError,
        "designer_payoff: entries must be numbers; got 'free'",
        designer_payoff=[0, "free"],
    )


def test_booleans_are_not_numbers_in_arrays() -> None:
    rejects(
        InputError,
        "agent_payoff: entries must be numbers; got True",
        agent_payoff=[[0, 0], [True, 2]],
    )


def test_nan_is_refused() -> None:
    rejects(
        InputError,
        "agent_payoff: entries must be finite (no NaN or infinity); got nan",
        agent_payoff=[[0, 0], [math.nan, 2]],
    )


def test_infinity_is_refused() -> None:
    rejects(
        InputError,
        "outside_option: entries must be finite (no NaN or infinity); got inf",
        outside_option=[0, math.inf],
    )


# ----------------------------------------------------------------------
# Prior
# ----------------------------------------------------------------------
def test_prior_must_be_nonnegative() -> None:
    rejects(
        ProbabilityError,
        "prior: entries must be nonnegative; got -0.1",
        prior=[[0.6, -0.1], [0.1, 0.4]],
    )


def test_prior_must_sum_to_one() -> None:
    rejects(
        ProbabilityError,
        "prior: entries must sum to 1 over states and types (within 1e-09; pass "
        "normalize to rescale); got 0.97",
        prior=[[0.37, 0.1], [0.1, 0.4]],
    )


def test_prior_sum_tolerance_is_1e9() -> None:
    # 1e-10 off is accepted as given; 1e-8 off is not.
    env = Environment(**fields(prior=[[0.4 + 1e-10, 0.1], [0.1, 0.4]]))
    assert env.prior[0, 0] == 0.4 + 1e-10
    with pytest.raises(ProbabilityError, match="must sum to 1"):
        Environment(**fields(prior=[[0.4 + 1e-8, 0.1], [0.1, 0.4]]))


def test_normalize_rescales_the_prior() -> None:
    env = Environment(**fields(prior=[[4, 1], [1, 4]], normalize=True))
    np.testing.assert_allclose(env.prior, [[0.4, 0.1], [0.1, 0.4]], rtol=1e-15)


def test_normalize_needs_a_positive_sum() -> None:
    rejects(
        ProbabilityError,
        "prior: must have a positive sum; got 0",
        prior=[[0, 0], [0, 0]],
        normalize=True,
    )


def test_state_with_zero_probability() -> None:
    rejects(
        ProbabilityError,
        "prior: state 'H' must have positive probability; got 0",
        prior=[[0.5, 0.0], [0.5, 0.0]],
    )


def test_type_with_zero_probability() -> None:
    rejects(
        ProbabilityError,
        "prior: type 'high' must have positive probability; got 0",
        prior=[[0.5, 0.5], [0.0, 0.0]],
    )


def test_type_may_have_zero_probability_in_one_state() -> None:
    env = Environment(**fields(prior=[[0.5, 0.0], [0.25, 0.25]]))
    assert env.type_given_state[0, 1] == 0.0


# ----------------------------------------------------------------------
# Money
# ----------------------------------------------------------------------
def test_transfers_must_be_boolean() -> None:
    rejects(InputError, "transfers: must be true or false; got 'yes'", transfers="yes")


def test_transfer_weight_must_not_be_boolean() -> None:
    rejects(
        InputError, "transfer_weight: must be a number; got True", transfer_weight=True
    )


def test_transfer_weight_must_be_finite() -> None:
    rejects(
        InputError, "transfer_weight: must be finite; got inf", transfer_weight=math.inf
    )


def test_negative_transfer_weight_needs_lower_bound() -> None:
    rejects(
        InputError,
        "transfer_weight: a negative weight needs a finite lower transfer bound "
        "(the designer would pay without limit); got -1",
        transfer_weight=-1.0,
    )
    env = Environment(**fields(transfer_weight=-1.0, transfer_bounds=(0, None)))
    assert env.bounds == (0.0, math.inf)


def test_transfer_bounds_lo_above_hi() -> None:
    rejects(
        InputError,
        "transfer_bounds: needs lo <= hi; got (2, 1)",
        transfer_bounds=(2, 1),
    )


def test_transfer_bounds_without_transfers() -> None:
    rejects(
        InputError,
        "transfer_bounds: only applies when transfers is true; got (0, 1)",
        transfers=False,
        transfer_bounds=(0, 1),
    )


def test_transfer_bounds_must_be_a_pair() -> None:
    rejects(
        ShapeError,
        "transfer_bounds: must be a pair [lo, hi]; got [0, 1, 2]",
        transfer_bounds=[0, 1, 2],
    )


def test_transfer_bounds_must_be_numbers() -> None:
    rejects(
        InputError,
        "transfer_bounds: entries must be numbers; got False",
        transfer_bounds=[False, 1],
    )


def test_transfer_bounds_must_not_be_nan() -> None:
    rejects(
        InputError,
        "transfer_bounds: entries must not be NaN; got nan",
        transfer_bounds=[math.nan, 1],
    )


def test_transfer_bounds_must_allow_a_payment() -> None:
    rejects(
        InputError,
        "transfer_bounds: bounds must allow some payment; got [inf, inf]",
        transfer_bounds=[math.inf, math.inf],
    )


# ----------------------------------------------------------------------
# The file reader
# ----------------------------------------------------------------------
def test_unknown_key() -> None:
    rejects_document(
        FormatError,
        "prior_belief: unknown key (allowed: name, states, types, allocations, "
        "prior, agent_payoff, designer_payoff, transfers, transfer_weight, "
        "outside_option, transfer_bounds, normalize)",
        {**fields(), "prior_belief": [[1]]},
    )


def test_missing_key() -> None:
    doc = fields()
    del doc["agent_payoff"]
    rejects_document(
        FormatError,
        "agent_payoff: is required (required keys: states, types, allocations, "
        "prior, agent_payoff)",
        doc,
    )


def test_unknown_name_in_formula() -> None:
    doc = fields(
        types=[{"name": "low", "value": 1}, {"name": "high", "value": 2}],
        allocations=[{"name": "no sale", "sale": 0}, {"name": "sale", "sale": 1}],
        states=[{"name": "L", "quality": 0}, {"name": "H", "quality": 1}],
        agent_payoff="sale * value * qualty",
    )
    rejects_document(
        FormulaError,
        "agent_payoff: unknown name 'qualty' (known: sale, value, quality)",
        doc,
    )


def test_division_by_zero_in_formula() -> None:
    doc = fields(
        types=[{"name": "low", "value": 1}, {"name": "high", "value": 2}],
        allocations=[{"name": "no sale", "sale": 0}, {"name": "sale", "sale": 1}],
        states=[{"name": "L", "cost": 1}, {"name": "H", "cost": 0}],
        agent_payoff="sale * value / cost",
    )
    rejects_document(
        FormulaError,
        "agent_payoff: division by zero at allocation 'no sale', type 'low', state 'H'",
        doc,
    )


def test_booleans_where_numbers_are_expected_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "env.toml"
    path.write_text(
        'states = ["L", "H"]\ntypes = ["low", "high"]\n'
        'allocations = ["no sale", "sale"]\nprior = [[0.4, 0.1], [0.1, 0.4]]\n'
        "agent_payoff = [[0, 0], [1, 2]]\ntransfer_weight = true\n"
    )
    with pytest.raises(InputError) as info:
        load_environment(path)
    assert type(info.value) is InputError
    assert str(info.value) == "transfer_weight: must be a number; got True"


def test_strings_where_booleans_are_expected_in_a_file() -> None:
    rejects_document(
        InputError,
        "transfers: must be true or false; got 'true'",
        {**fields(), "transfers": "true"},
    )
