"""Tests of the safe formula parser and evaluator (calmech.formula)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmech.errors import FormulaError
from calmech.formula import MAX_DEPTH, MAX_LENGTH, MAX_NODES, Formula, parse

AXES = [("allocation", ["no sale", "sale"]), ("type", ["low", "high"])]


def value(text: str, **names: object) -> float:
    """Evaluate a formula that gives one number."""
    return float(parse(text).evaluate(names))


# ----------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("12 / 4 / 3", 1.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("2 ** 3 ** 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("(-2) ^ 2", 4.0),
        ("2 ^ -1", 0.5),
        ("2 ^ -1 * 3", 1.5),
        ("--3", 3.0),
        ("+3", 3.0),
        ("1e-3 * 1000", 1.0),
        (".5 + 1.", 1.5),
        ("2.5E2", 250.0),
    ],
)
def test_arithmetic_follows_usual_precedence(text: str, expected: float) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2", 1.0),
        ("2 <= 1", 0.0),
        ("2 > 1", 1.0),
        ("1 >= 1", 1.0),
        ("1 == 1.0", 1.0),
        ("1 != 1", 0.0),
        ("1 + 1 == 2", 1.0),
        ("1 < 2 and 3 < 2", 0.0),
        ("1 < 2 or 3 < 2", 1.0),
        ("not 0", 1.0),
        ("not 1 < 2", 0.0),
        ("0 or 0 and 1", 0.0),
        ("1 or 0 and 0", 1.0),
    ],
)
def test_comparisons_and_logic_give_one_or_zero(text: str, expected: float) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min(3, 1, 2)", 1.0),
        ("max(3, 1, 2)", 3.0),
        ("max(4)", 4.0),
        ("abs(-2)", 2.0),
        ("sqrt(9)", 3.0),
        ("exp(0)", 1.0),
        ("log(1)", 0.0),
        ("floor(-1.5)", -2.0),
        ("ceil(1.2)", 2.0),
        ("if(1, 2, 3)", 2.0),
        ("if(0, 2, 3)", 3.0),
    ],
)
def test_functions(text: str, expected: float) -> None:
    assert value(text) == expected


def test_names_are_listed_once_in_order_of_appearance() -> None:
    formula = parse("value * sale + max(value, good) - sale", "agent_payoff")
    assert isinstance(formula, Formula)
    assert formula.names == ("value", "sale", "good")


def test_evaluation_broadcasts_and_fills_the_grid() -> None:
    formula = parse("sale * value", "agent_payoff")
    namespace = {"sale": np.array([[0.0], [1.0]]), "value": np.array([[1.0, 2.0]])}
    np.testing.assert_array_equal(
        formula.evaluate(namespace, axes=AXES), [[0.0, 0.0], [1.0, 2.0]]
    )
    np.testing.assert_array_equal(
        parse("3").evaluate({}, axes=AXES), np.full((2, 2), 3.0)
    )


def test_result_is_a_fresh_writable_array() -> None:
    result = parse("x").evaluate({"x": np.zeros(2)}, axes=[("type", ["a", "b"])])
    result[0] = 1.0
    assert result.dtype == float


def test_operators_are_elementwise() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(
        parse("max(x, 0) + (x > 0) + if(x < 0, 10, 0)").evaluate({"x": x}),
        [10.0, 0.0, 3.0],
    )


# ----------------------------------------------------------------------
# Syntax errors
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("sale *", "formula ends too early"),
        ("(1 + 2", "missing ')' at the end"),
        ("1 + 2)", "unexpected ')' at column 6"),
        ("1 $ 2", "unexpected character '$' at column 3"),
        ("1 2", "unexpected '2' at column 3"),
        ("1 < 2 < 3", "comparisons cannot be chained"),
        ("exp", "function 'exp' at column 1 needs arguments"),
        ("exp(1, 2)", "function 'exp' takes 1 argument, not 2"),
        ("if(1, 2)", "function 'if' takes 3 arguments, not 2"),
        ("foo(1)", "unknown function 'foo' (known: min, max"),
        ("and", "unexpected 'and' at column 1"),
        ("1e999", "number 1e999 is too large"),
        ("", "formula must not be empty"),
        ("min()", "unexpected ')' at column 5"),
    ],
)
def test_syntax_errors_name_field_rule_and_text(text: str, rule: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text, "agent_payoff")
    message = str(info.value)
    assert message.startswith("agent_payoff: ")
    assert rule in message


def test_formula_must_be_a_string() -> None:
    with pytest.raises(FormulaError, match="prior: a formula must be a string; got 3"):
        parse(3, "prior")  # type: ignore[arg-type]


def test_python_syntax_is_not_executed() -> None:
    for text in ("__import__('os')", "x.y", "[1]", "x = 1", "'a'", "lambda: 1"):
        with pytest.raises(FormulaError):
            parse(text, "f")


# ----------------------------------------------------------------------
# Limits
# ----------------------------------------------------------------------
def test_length_limit() -> None:
    text = "1" + "+1" * MAX_LENGTH
    with pytest.raises(FormulaError, match=f"at most {MAX_LENGTH} characters"):
        parse(text, "f")


def test_node_limit() -> None:
    text = "+".join(["min(1, 1, 1, 1)"] * (MAX_NODES // 4))
    assert len(text) <= MAX_LENGTH
    with pytest.raises(FormulaError, match=f"at most {MAX_NODES} terms"):
        parse(text, "f")


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1),
        "-" * (MAX_DEPTH + 1) + "1",
        "+".join(["1"] * (MAX_DEPTH + 2)),
        "2^" * (MAX_DEPTH + 1) + "1",
    ],
)
def test_depth_limit(text: str) -> None:
    with pytest.raises(FormulaError, match=f"nest at most {MAX_DEPTH} levels"):
        parse(text, "f")


def test_deep_but_allowed_formula_evaluates() -> None:
    text = "(" * 30 + "x" + ")" * 30
    assert value(text, x=2.0) == 2.0


# ----------------------------------------------------------------------
# Evaluation errors, located by labels
# ----------------------------------------------------------------------
def test_unknown_name_lists_the_known_ones() -> None:
    formula = parse("qualty * sale", "agent_payoff")
    namespace = {"sale": 1.0, "value": 2.0, "quality": 1.0}
    with pytest.raises(FormulaError) as info:
        formula.evaluate(namespace)
    assert str(info.value) == (
        "agent_payoff: unknown name 'qualty' (known: sale, value, quality)"
    )


def test_division_by_zero_names_the_first_point() -> None:
    formula = parse("1 / (sale * value - 2)", "agent_payoff")
    namespace = {"sale": np.array([[0.0], [1.0]]), "value": np.array([[1.0, 2.0]])}
    with pytest.raises(FormulaError) as info:
        formula.evaluate(namespace, axes=AXES)
    assert str(info.value) == (
        "agent_payoff: division by zero at allocation 'sale', type 'high'"
    )


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("log(1 - x)", "log of a nonpositive number at type 'b'"),
        ("sqrt(-x)", "square root of a negative number at type 'b'"),
        ("exp(1000 * x)", "the result of exp() is not finite (overflow) at type 'b'"),
        ("(1e300 * x) * 1e300", "the result of '*' is not finite (overflow) at type"),
        ("2 ^ (100 * x)", "exponent must be at most 64 in magnitude at type 'b'"),
        ("(x - 2) ^ 0.5", "negative number to a non-integer power at type 'a'"),
        ("(x - 1) ^ -1", "division by zero (0 to a negative power) at type 'b'"),
        ("10 ^ (60 * x) ^ 60", "exponent must be at most 64"),
    ],
)
def test_nonfinite_results_are_refused(text: str, rule: str) -> None:
    formula = parse(text, "designer_payoff")
    with pytest.raises(FormulaError) as info:
        formula.evaluate({"x": np.array([0.0, 1.0])}, axes=[("type", ["a", "b"])])
    assert str(info.value).startswith("designer_payoff: ")
    assert rule in str(info.value)


def test_nonfinite_input_is_refused() -> None:
    with pytest.raises(FormulaError, match="value of 'x' is not finite at type 'b'"):
        parse("x", "f").evaluate(
            {"x": np.array([0.0, np.nan])}, axes=[("type", ["a", "b"])]
        )


def test_error_without_axes_has_no_location() -> None:
    with pytest.raises(FormulaError) as info:
        parse("1 / x", "f").evaluate({"x": np.array([1.0, 0.0])})
    assert str(info.value) == "f: division by zero"


def test_if_evaluates_each_branch_only_where_it_is_taken() -> None:
    x = np.array([0.0, 2.0, -4.0])
    result = parse("if(x > 0, log(x), if(x < 0, sqrt(-x), 1 / x + 1))")
    with pytest.raises(FormulaError, match="division by zero"):
        result.evaluate({"x": x})
    result = parse("if(x > 0, log(x), if(x < 0, sqrt(-x), 7))")
    np.testing.assert_allclose(result.evaluate({"x": x}), [7.0, np.log(2.0), 2.0])


def test_and_or_skip_the_right_side_where_it_cannot_matter() -> None:
    x = np.array([0.0, 2.0])
    np.testing.assert_array_equal(
        parse("x != 0 and 1 / x > 1").evaluate({"x": x}), [0.0, 0.0]
    )
    np.testing.assert_array_equal(
        parse("x == 0 or 1 / x > 0").evaluate({"x": x}), [1.0, 1.0]
    )


def test_grid_mismatch_is_an_error() -> None:
    with pytest.raises(FormulaError, match="values do not fit the grid"):
        parse("x", "f").evaluate({"x": np.zeros(3)}, axes=[("type", ["a", "b"])])


# ----------------------------------------------------------------------
# Property: the evaluator agrees with exact integer arithmetic
# ----------------------------------------------------------------------
def _expressions() -> st.SearchStrategy[tuple[str, int]]:
    leaves = st.integers(0, 9).map(lambda n: (str(n), n))

    def extend(
        children: st.SearchStrategy[tuple[str, int]],
    ) -> st.SearchStrategy[tuple[str, int]]:
        def combine(op: str, a: tuple[str, int], b: tuple[str, int]) -> tuple:
            result = {"+": a[1] + b[1], "-": a[1] - b[1], "*": a[1] * b[1]}[op]
            return (f"({a[0]} {op} {b[0]})", result)

        negate = children.map(lambda a: (f"-{a[0]}", -a[1]))
        binary = st.builds(combine, st.sampled_from("+-*"), children, children)
        return negate | binary

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(_expressions())
def test_matches_integer_arithmetic(case: tuple[str, int]) -> None:
    text, expected = case
    assert value(text) == float(expected)
