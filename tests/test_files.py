"""Tests of reading and writing environments and mechanisms (calmech.files)."""

from __future__ import annotations

import json
import math
import os
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
    MechanismError,
)
from calmech.files import (
    MAX_FILE_BYTES,
    atomic_write_bytes,
    atomic_write_text,
    environment_from_dict,
    environment_to_document,
    load_environment,
    load_mechanism,
    read_document,
    save_environment,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def monopoly(**changes: Any) -> Environment:
    """THEORY §8 A with explicit arrays."""
    fields: dict[str, Any] = {
        "name": "monopoly",
        "states": ["L", "H"],
        "types": ["low", "high"],
        "allocations": ["no sale", "sale"],
        "prior": [[0.4, 0.1], [0.1, 0.4]],
        "agent_payoff": [[0, 0], [1, 2]],
        "designer_payoff": [0, 0],
    }
    fields.update(changes)
    return Environment(**fields)


def same_environment(a: Environment, b: Environment) -> None:
    assert (a.states, a.types, a.allocations) == (b.states, b.types, b.allocations)
    for key in ("prior", "agent_payoff", "designer_payoff", "outside_option"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.transfers == b.transfers
    assert a.transfer_weight == b.transfer_weight
    assert a.transfer_bounds == b.transfer_bounds
    assert a.name == b.name


MONOPOLY_TOML = """
name = "monopoly"
states = ["L", "H"]
types = [{name = "low", value = 1}, {name = "high", value = 2}]
allocations = [{name = "no sale", sale = 0}, {name = "sale", sale = 1}]
prior = [[0.4, 0.1], [0.1, 0.4]]
agent_payoff = "sale * value"
"""


# ----------------------------------------------------------------------
# read_document
# ----------------------------------------------------------------------
def test_reads_json_and_toml_alike(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"states": ["L"], "transfers": true}')
    (tmp_path / "a.toml").write_text('states = ["L"]\ntransfers = true\n')
    assert read_document(tmp_path / "a.json") == read_document(tmp_path / "a.toml")


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    (tmp_path / "a.JSON").write_text("{}")
    assert read_document(tmp_path / "a.JSON") == {}


def test_other_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("states: [L]")
    with pytest.raises(FormatError, match=r"path: must end in \.json or \.toml"):
        read_document(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"path: cannot be read \(No such file"):
        read_document(tmp_path / "absent.json")


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "states": ["L"]\n  "types": ["t"]\n}')
    with pytest.raises(FormatError) as info:
        read_document(path)
    message = str(info.value)
    assert message == (
        f"{path}: invalid JSON: Expecting ',' delimiter (at line 3, column 3)"
    )


def test_invalid_toml_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('states = ["L"]\nprior = [0.5 0.5]\n')
    with pytest.raises(FormatError) as info:
        read_document(path)
    assert str(info.value) == (
        f"{path}: invalid TOML: Unclosed array (at line 2, column 14)"
    )
    assert "\n" not in str(info.value)


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(FormatError, match="must be UTF-8 text; got 'byte 0xe9 at"):
        read_document(path)


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(FormatError, match="the top level must be an object"):
        read_document(path)


def test_duplicate_json_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.json"
    path.write_text('{"prior": [[1]], "prior": [[2]]}')
    with pytest.raises(FormatError, match="prior: appears twice"):
        read_document(path)


def test_too_large_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)  # sparse: cheap to make
    with pytest.raises(
        FormatError, match=f"path: file must be at most {MAX_FILE_BYTES}"
    ):
        read_document(path)


def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"prior": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(FormatError, match="nested too deeply"):
        read_document(path)


# ----------------------------------------------------------------------
# Attributes and formulas
# ----------------------------------------------------------------------
def test_attribute_tables_and_formula_give_the_explicit_arrays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monopoly.toml"
    path.write_text(MONOPOLY_TOML)
    same_environment(load_environment(path), monopoly())


def test_example_files_match_theory() -> None:
    same_environment(load_environment(EXAMPLES / "monopoly.json"), monopoly())
    quality = load_environment(EXAMPLES / "quality.toml")
    explicit = Environment(
        name="quality",
        states=["good", "bad"],
        types=["low", "high"],
        allocations=["no sale", "sale"],
        prior=[[0.375, 0.125], [0.125, 0.375]],
        agent_payoff=[[[0, 0], [0, 0]], [[2, 0], [4, 0]]],
        designer_payoff=[0, 0],
    )
    same_environment(quality, explicit)
    # THEORY §8 B: μ0 = (1/2, 1/2), P(high | good) = 1/4, P(high | bad) = 3/4.
    np.testing.assert_allclose(quality.state_prior, [0.5, 0.5], rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        quality.type_given_state[1], [0.25, 0.75], rtol=0, atol=1e-15
    )


def base_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "states": [{"name": "good", "good": 1}, {"name": "bad", "good": 0}],
        "types": [{"name": "low", "value": 2}, {"name": "high", "value": 4}],
        "allocations": [{"name": "no sale", "sale": 0}, {"name": "sale", "sale": 1}],
        "prior": [[0.375, 0.125], [0.125, 0.375]],
        "agent_payoff": "sale * value * good",
    }
    doc.update(changes)
    return doc


def test_formulas_for_every_array_field() -> None:
    env = environment_from_dict(
        base_doc(
            prior="(1 + value) * (1 + good)",
            normalize=True,
            designer_payoff="-0.5 * sale * good",
            outside_option="value * good / 4",
        )
    )
    prior = np.array([[3 * 2, 3 * 1], [5 * 2, 5 * 1]]) / 24
    np.testing.assert_allclose(env.prior, prior, rtol=1e-15)
    np.testing.assert_array_equal(env.designer_payoff[1], [[-0.5, 0], [-0.5, 0]])
    np.testing.assert_array_equal(env.outside_option, [[0.5, 0], [1, 0]])


def test_numbers_broadcast_for_payoffs_and_outside_option() -> None:
    env = environment_from_dict(base_doc(designer_payoff=1, outside_option=0.5))
    np.testing.assert_array_equal(env.designer_payoff, np.ones((2, 2, 2)))
    np.testing.assert_array_equal(env.outside_option, np.full((2, 2), 0.5))


def test_designer_payoff_defaults_to_zero() -> None:
    env = environment_from_dict(base_doc())
    np.testing.assert_array_equal(env.designer_payoff, np.zeros((2, 2, 2)))


def test_formula_without_attributes_uses_constants() -> None:
    doc = {
        "states": ["s"],
        "types": ["t"],
        "allocations": ["a", "b"],
        "prior": "1",
        "agent_payoff": "2 ^ 3",
    }
    env = environment_from_dict(doc)
    np.testing.assert_array_equal(env.agent_payoff, np.full((2, 1, 1), 8.0))


def test_allocation_attribute_in_prior_is_refused() -> None:
    with pytest.raises(FormulaError) as info:
        environment_from_dict(base_doc(prior="sale * good"))
    assert str(info.value) == (
        "prior: uses allocation attribute 'sale', but prior depends only on the "
        "type and the state"
    )


def test_allocation_attribute_in_outside_option_is_refused() -> None:
    with pytest.raises(FormulaError, match="outside_option: uses allocation attr"):
        environment_from_dict(base_doc(outside_option="sale"))


def test_formula_error_names_the_point() -> None:
    with pytest.raises(FormulaError) as info:
        environment_from_dict(base_doc(agent_payoff="value / (sale * good)"))
    assert str(info.value) == (
        "agent_payoff: division by zero at allocation 'no sale', type 'low', "
        "state 'good'"
    )


def test_formula_unknown_name_lists_attributes_in_axis_order() -> None:
    with pytest.raises(FormulaError) as info:
        environment_from_dict(base_doc(agent_payoff="sale * valeu"))
    assert str(info.value) == (
        "agent_payoff: unknown name 'valeu' (known: sale, value, good)"
    )


def test_ambiguous_attribute_is_refused() -> None:
    doc = base_doc(types=[{"name": "low", "good": 2}, {"name": "high", "good": 4}])
    with pytest.raises(FormatError) as info:
        environment_from_dict(doc)
    assert str(info.value).startswith(
        "states[0].good: attribute name also used by types"
    )


@pytest.mark.parametrize(
    ("types", "field", "rule"),
    [
        ([{"name": "low", "value": 2}, "high"], "types[1]", "all entries must be"),
        ([{"value": 2}, {"name": "high", "value": 4}], "types[0]", "needs a 'name'"),
        ([{"name": "low", "value": "2"}], "types[0].value", "must be a finite number"),
        ([{"name": "low", "value": True}], "types[0].value", "must be a finite number"),
        ([{"name": "low", "value": math.inf}], "types[0].value", "finite number"),
        ([{"name": "low", "max": 1}], "types[0].max", "must be identifiers"),
        ([{"name": "low", "and": 1}], "types[0].and", "must be identifiers"),
        ([{"name": "low", "a b": 1}], "types[0].a b", "must be identifiers"),
        (
            [{"name": "low", "value": 2}, {"name": "high", "worth": 4}],
            "types[1]",
            "lacks attribute 'value' of types[0]",
        ),
        (
            [{"name": "low", "value": 2}, {"name": "high", "value": 4, "w": 1}],
            "types[1]",
            "has attribute 'w' that types[0] lacks",
        ),
    ],
)
def test_bad_attribute_tables(types: list[Any], field: str, rule: str) -> None:
    with pytest.raises(FormatError) as info:
        environment_from_dict(base_doc(types=types, prior=[[0.5, 0.5]]))
    assert str(info.value).startswith(f"{field}: ")
    assert rule in str(info.value)


def test_axis_must_be_a_list() -> None:
    with pytest.raises(LabelError, match="states: must be a list of labels"):
        environment_from_dict(base_doc(states="good"))


def test_name_and_normalize_types() -> None:
    with pytest.raises(FormatError, match="name: must be a string; got 3"):
        environment_from_dict(base_doc(name=3))
    with pytest.raises(InputError, match="normalize: must be true or false"):
        environment_from_dict(base_doc(normalize="yes"))


def test_document_must_be_a_mapping() -> None:
    with pytest.raises(FormatError, match="document: must be a table of keys"):
        environment_from_dict([1, 2])  # type: ignore[arg-type]


def test_huge_grid_is_refused_before_evaluation() -> None:
    labels = [f"x{i}" for i in range(300)]
    doc = {
        "states": labels,
        "types": labels,
        "allocations": labels,
        "prior": "1",
        "agent_payoff": "1",
    }
    with pytest.raises(FormatError, match="at most 10000000 cells; got 27000000"):
        environment_from_dict(doc)


# ----------------------------------------------------------------------
# Round trips and writing
# ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".toml"])
@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"transfer_bounds": (0.0, None), "transfer_weight": 0.5},
        {"transfer_bounds": (-1.5, 2.0), "outside_option": [0.1, 0.2]},
        {"transfers": False, "prior": [[1 / 3, 0.1], [0.2, 1 - 1 / 3 - 0.3]]},
    ],
)
def test_round_trip(tmp_path: Path, suffix: str, changes: dict[str, Any]) -> None:
    env = monopoly(**changes)
    path = save_environment(env, tmp_path / f"env{suffix}")
    same_environment(load_environment(path), env)


def test_document_is_plain_lists() -> None:
    doc = environment_to_document(monopoly(transfer_bounds=(0, None)))
    assert json.loads(json.dumps(doc)) == doc
    assert doc["transfer_bounds"] == [0.0, None]


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    save_environment(monopoly(), path)
    with pytest.raises(FormatError) as info:
        save_environment(monopoly(name="other"), path)
    assert str(info.value).startswith("path: exists; pass --force to overwrite; got")
    save_environment(monopoly(name="other"), path, force=True)
    assert load_environment(path).name == "other"


def test_save_refuses_other_suffix(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="must end in .json or .toml"):
        save_environment(monopoly(), tmp_path / "env.txt")


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.txt", "één")
    atomic_write_bytes(tmp_path / "a.txt", b"two", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"two"


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    os.chmod(path, 0o640)
    atomic_write_text(path, "two", force=True)
    assert path.stat().st_mode & 0o777 == 0o640


def test_atomic_write_needs_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="path: folder does not exist"):
        atomic_write_text(tmp_path / "missing" / "a.txt", "x")


# ----------------------------------------------------------------------
# Mechanisms
# ----------------------------------------------------------------------
SELL_ALL = [[[0, 0], [0, 0]], [[1, 1], [1, 1]]]


def test_mechanism_from_document_and_file(tmp_path: Path) -> None:
    env = monopoly()
    doc = {"allocation": SELL_ALL, "transfers": [[1, 1], [2, 2]]}
    x, t = load_mechanism(doc, env)
    np.testing.assert_array_equal(x, SELL_ALL)
    np.testing.assert_array_equal(t, [[1, 1], [2, 2]])
    path = tmp_path / "mechanism.json"
    path.write_text(json.dumps(doc))
    x2, t2 = load_mechanism(path, env)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(t2, t)


def test_mechanism_transfers_default_to_zero() -> None:
    _, t = load_mechanism({"allocation": SELL_ALL}, monopoly(transfers=False))
    np.testing.assert_array_equal(t, np.zeros((2, 2)))


def test_mechanism_from_solve_output() -> None:
    doc = {
        "environment": "monopoly",
        "calibrated": {"value": 1.3},
        "standard": {"value": 1.5, "allocation": SELL_ALL, "transfers": [[1, 1]] * 2},
    }
    x, t = load_mechanism(doc, monopoly())
    np.testing.assert_array_equal(x, SELL_ALL)
    np.testing.assert_array_equal(t, np.ones((2, 2)))


def test_tiny_negative_probabilities_are_read_as_zero() -> None:
    x = np.array(SELL_ALL, dtype=float)
    x[0, 0, 0] = -1e-12
    got, _ = load_mechanism({"allocation": x.tolist()}, monopoly())
    assert got[0, 0, 0] == 0.0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "allocation: is required in a mechanism document"),
        (
            {"allocation": [[[1, 1], [1, 1]]]},
            "allocation: must have shape (allocations, types, states) = (2, 2, 2); "
            "got (1, 2, 2)",
        ),
        (
            {"allocation": [[[0, 0], [0]], [[1, 1], [1, 1]]]},
            "allocation: must have shape (allocations, types, states) = (2, 2, 2) "
            "(rows differ in length); got [[[0, 0], [0]], [[1, 1], [1, 1]]]",
        ),
        (
            {"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, "1"]]]},
            "allocation: entries must be numbers; got '1'",
        ),
        (
            {"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, True]]]},
            "allocation: entries must be numbers; got True",
        ),
        (
            {"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, math.nan]]]},
            "allocation: entries must be finite (no NaN or infinity); got nan",
        ),
        (
            {"allocation": [[[0, 0], [-0.5, 0]], [[1, 1], [1.5, 1]]]},
            "allocation: entries must be nonnegative (allocation 'no sale', "
            "type 'high', state 'L'); got -0.5",
        ),
        (
            {"allocation": [[[0, 0], [0, 0]], [[1, 1], [1, 0.999]]]},
            "allocation: must sum to 1 over allocations for type 'high', state 'H' "
            "(within 1e-09); got 0.999",
        ),
        (
            {"allocation": SELL_ALL, "transfers": [1, 1]},
            "transfers: must have shape (types, states) = (2, 2); got (2,)",
        ),
        (
            {"allocations": SELL_ALL},
            "allocations: unknown key (did you mean 'allocation'?)",
        ),
        (
            {"allocation": SELL_ALL, "transfer": [[0, 0], [0, 0]]},
            "transfer: unknown key (did you mean 'transfers'?)",
        ),
    ],
)
def test_invalid_mechanisms(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(MechanismError) as info:
        load_mechanism(doc, monopoly())
    assert str(info.value) == message


def test_transfers_without_money_must_be_zero() -> None:
    env = monopoly(transfers=False)
    x, t = load_mechanism({"allocation": SELL_ALL, "transfers": [[0, 0]] * 2}, env)
    assert not t.any()
    with pytest.raises(MechanismError) as info:
        load_mechanism({"allocation": SELL_ALL, "transfers": [[0, 0], [0, 1]]}, env)
    assert str(info.value) == (
        "transfers: must be absent or zero when the environment has no money "
        "(type 'high', state 'H'); got 1"
    )


def test_transfers_must_respect_bounds() -> None:
    env = monopoly(transfer_bounds=(0, 1.5))
    load_mechanism({"allocation": SELL_ALL, "transfers": [[0, 1.5 + 1e-12]] * 2}, env)
    with pytest.raises(MechanismError) as info:
        load_mechanism({"allocation": SELL_ALL, "transfers": [[0, 1], [2, 1]]}, env)
    assert str(info.value) == (
        "transfers: must lie within the transfer bounds [0, 1.5] "
        "(type 'high', state 'L'); got 2"
    )
