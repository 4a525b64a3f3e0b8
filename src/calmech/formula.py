"""Safe arithmetic formulas for payoffs, priors and outside options.

A formula such as ``"sale * value * good"`` describes an array by a rule over
the numeric attributes of allocations, types and states. The text is never
handed to Python's ``eval``: a tokenizer and a precedence-climbing (Pratt)
parser build a small syntax tree of our own, and an evaluator computes it
with NumPy over whole arrays at once.

Grammar, from loosest to tightest binding::

    expr    := expr "or" expr
             | expr "and" expr
             | "not" expr
             | sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := sum ("+" | "-") product | product
    product := product ("*" | "/") unary | unary
    unary   := ("-" | "+") unary | power
    power   := atom (("^" | "**") unary)?          (right-associative)
    atom    := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"

so ``-x^2`` is ``-(x^2)``, ``2^3^2`` is ``2^9`` and ``2^-1`` is ``0.5``.
Numbers are decimal, with an optional exponent (``1e-3``). Comparisons give
1.0 or 0.0 and cannot be chained; ``and``, ``or`` and ``not`` treat any
nonzero value as true and also give 1.0 or 0.0. The functions are ``min`` and
``max`` (one or more arguments), ``abs``, ``sqrt``, ``exp``, ``log`` (natural),
``floor``, ``ceil`` (one argument each) and ``if(condition, a, b)``, which
evaluates ``a`` only where the condition is nonzero and ``b`` only where it is
zero (``and`` and ``or`` likewise skip their right side where it cannot
matter).

Limits keep any input cheap: at most :data:`MAX_LENGTH` characters,
:data:`MAX_NODES` syntax-tree nodes, nesting depth :data:`MAX_DEPTH` and
exponents of magnitude at most :data:`MAX_EXPONENT`. Every intermediate value
must be finite: division by zero, ``log`` of a nonpositive number, ``sqrt``
of a negative number and overflow raise :class:`~calmech.errors.FormulaError`
naming the field and, when the axes are labelled, the first point where it
happens.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmech.errors import FormulaError

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "RESERVED",
    "Formula",
    "parse",
]

#: Longest formula text accepted, in characters.
MAX_LENGTH = 2000

#: Most nodes (numbers, names, operators, calls) in one syntax tree.
MAX_NODES = 500

#: Deepest nesting of parentheses, operators and calls.
MAX_DEPTH = 64

#: Largest magnitude of an exponent in ``a ^ b``.
MAX_EXPONENT = 64

#: Function names and how many arguments each takes (``None``: one or more).
FUNCTIONS: dict[str, int | None] = {
    "min": None,
    "max": None,
    "abs": 1,
    "sqrt": 1,
    "exp": 1,
    "log": 1,
    "floor": 1,
    "ceil": 1,
    "if": 3,
}

#: Words that cannot name a variable.
RESERVED = frozenset({"and", "or", "not"}) | frozenset(FUNCTIONS)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/^()<>,])
    """,
    re.VERBOSE,
)

_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})

# Binding powers (left, right) of the infix operators; a right power below
# the left one makes the operator right-associative.
_INFIX: dict[str, tuple[int, int]] = {
    "or": (1, 2),
    "and": (3, 4),
    **{op: (7, 8) for op in _COMPARISONS},
    "+": (9, 10),
    "-": (9, 10),
    "*": (11, 12),
    "/": (11, 12),
    "^": (15, 14),
    "**": (15, 14),
}
_NOT_POWER = 5
_UNARY_POWER = 13


# ----------------------------------------------------------------------
# Syntax tree
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Number:
    value: float


@dataclass(frozen=True)
class _Name:
    name: str


@dataclass(frozen=True)
class _Unary:
    op: str
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Call:
    function: str
    args: tuple[_Node, ...]


_Node = _Number | _Name | _Unary | _Binary | _Call


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int  # 1-based, for messages


# ----------------------------------------------------------------------
# Tokenizer and parser
# ----------------------------------------------------------------------
def _tokenize(text: str, field: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaError(
                field,
                f"unexpected character {text[position]!r} at column {position + 1}",
                text,
            )
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Precedence climbing over the token list, with size and depth limits."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.tokens = _tokenize(text, field)
        self.position = 0
        self.nodes = 0
        self.depth = 0

    def fail(self, rule: str) -> FormulaError:
        return FormulaError(self.field, rule, self.text)

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def unexpected(self, token: _Token) -> FormulaError:
        if token.kind == "end":
            return self.fail("formula ends too early")
        return self.fail(f"unexpected {token.text!r} at column {token.column}")

    def expect(self, text: str) -> None:
        token = self.advance()
        if token.text != text or token.kind == "end":
            if token.kind == "end":
                raise self.fail(f"missing {text!r} at the end")
            raise self.fail(
                f"expected {text!r} at column {token.column}, found {token.text!r}"
            )

    def node(self, node: _Node) -> _Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(f"formula must have at most {MAX_NODES} terms")
        return node

    def parse(self) -> _Node:
        tree = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token)
        return tree

    def expression(self, min_power: int) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"formula must nest at most {MAX_DEPTH} levels deep")
        left = self.prefix()
        chained = False
        while True:
            token = self.peek()
            powers = _INFIX.get(token.text) if token.kind in ("op", "name") else None
            if powers is None or powers[0] < min_power:
                break
            if token.text in _COMPARISONS:
                if chained:
                    raise self.fail(
                        f"comparisons cannot be chained (column {token.column}); "
                        "join them with 'and'"
                    )
                chained = True
            self.advance()
            right = self.expression(powers[1])
            left = self.node(_Binary(token.text, left, right))
        self.depth -= 1
        return left

    def prefix(self) -> _Node:
        token = self.advance()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise self.fail(f"number {token.text} is too large")
            return self.node(_Number(value))
        if token.kind == "op" and token.text in ("-", "+"):
            operand = self.expression(_UNARY_POWER)
            return self.node(_Unary(token.text, operand))
        if token.kind == "op" and token.text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if token.kind == "name" and token.text == "not":
            operand = self.expression(_NOT_POWER)
            return self.node(_Unary("not", operand))
        if token.kind == "name" and token.text in FUNCTIONS:
            return self.call(token)
        if token.kind == "name" and token.text not in RESERVED:
            if self.peek().text == "(":
                known = ", ".join(FUNCTIONS)
                raise self.fail(f"unknown function {token.text!r} (known: {known})")
            return self.node(_Name(token.text))
        raise self.unexpected(token)

    def call(self, token: _Token) -> _Node:
        name = token.text
        if self.peek().text != "(":
            raise self.fail(
                f"function {name!r} at column {token.column} needs arguments "
                f"in parentheses"
            )
        self.advance()
        args = [self.expression(0)]
        while self.peek().text == ",":
            self.advance()
            args.append(self.expression(0))
        self.expect(")")
        arity = FUNCTIONS[name]
        if arity is not None and len(args) != arity:
            raise self.fail(
                f"function {name!r} takes {arity} argument{'s' * (arity > 1)}, "
                f"not {len(args)}"
            )
        return self.node(_Call(name, tuple(args)))


def _depth(node: _Node) -> int:
    if isinstance(node, _Unary):
        return 1 + _depth(node.operand)
    if isinstance(node, _Binary):
        return 1 + max(_depth(node.left), _depth(node.right))
    if isinstance(node, _Call):
        return 1 + max(_depth(arg) for arg in node.args)
    return 1


def _names(node: _Node, out: dict[str, None]) -> None:
    if isinstance(node, _Name):
        out.setdefault(node.name)
    elif isinstance(node, _Unary):
        _names(node.operand, out)
    elif isinstance(node, _Binary):
        _names(node.left, out)
        _names(node.right, out)
    elif isinstance(node, _Call):
        for arg in node.args:
            _names(arg, out)


# ----------------------------------------------------------------------
# Evaluator
# ----------------------------------------------------------------------
_ELEMENTWISE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "floor": np.floor,
    "ceil": np.ceil,
}

_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
    "**": np.power,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class _Evaluator:
    """Evaluates a tree over arrays; ``mask`` marks the points that matter."""

    def __init__(
        self,
        field: str,
        namespace: Mapping[str, np.ndarray],
        axes: Sequence[tuple[str, Sequence[str]]] | None,
    ) -> None:
        self.field = field
        self.namespace = namespace
        self.axes = axes

    def where(self, bad: np.ndarray) -> str:
        """Describe the first point of ``bad`` (a boolean array)."""
        if not self.axes:
            return ""
        shape = tuple(len(labels) for _, labels in self.axes)
        bad = np.broadcast_to(bad, np.broadcast_shapes(bad.shape, shape))
        point = np.argwhere(bad)[0][-len(shape) :]
        parts = [
            f"{axis} {labels[i]!r}"
            for (axis, labels), i in zip(self.axes, point, strict=True)
        ]
        return " at " + ", ".join(parts)

    def check(self, bad: np.ndarray, mask: np.ndarray, rule: str) -> None:
        bad = np.logical_and(bad, mask)
        if np.any(bad):
            raise FormulaError(self.field, rule + self.where(bad))

    def finite(self, value: np.ndarray, mask: np.ndarray, what: str) -> np.ndarray:
        self.check(~np.isfinite(value), mask, f"{what} is not finite (overflow)")
        return value

    def run(self, node: _Node, mask: np.ndarray) -> np.ndarray:
        if isinstance(node, _Number):
            return np.asarray(node.value)
        if isinstance(node, _Name):
            return self.name(node.name)
        if isinstance(node, _Unary):
            return self.unary(node, mask)
        if isinstance(node, _Binary):
            return self.binary(node, mask)
        return self.call(node, mask)

    def name(self, name: str) -> np.ndarray:
        if name not in self.namespace:
            known = ", ".join(self.namespace) or "none"
            raise FormulaError(self.field, f"unknown name {name!r} (known: {known})")
        return np.asarray(self.namespace[name], dtype=float)

    def unary(self, node: _Unary, mask: np.ndarray) -> np.ndarray:
        value = self.run(node.operand, mask)
        if node.op == "-":
            return -value
        if node.op == "not":
            return (value == 0).astype(float)
        return value

    def binary(self, node: _Binary, mask: np.ndarray) -> np.ndarray:
        left = self.run(node.left, mask)
        if node.op in ("and", "or"):
            truth = left != 0
            needed = np.logical_and(mask, truth if node.op == "and" else ~truth)
            right = self.run(node.right, needed) != 0
            if node.op == "and":
                return np.logical_and(truth, right).astype(float)
            return np.logical_or(truth, right).astype(float)
        right = self.run(node.right, mask)
        if node.op == "/":
            self.check(right == 0, mask, "division by zero")
        if node.op in ("^", "**"):
            self.power_checks(left, right, mask)
        result = _ARITHMETIC[node.op](left, right)
        if node.op in _COMPARISONS:
            return result.astype(float)
        return self.finite(result, mask, f"the result of {node.op!r}")

    def power_checks(
        self, base: np.ndarray, exponent: np.ndarray, mask: np.ndarray
    ) -> None:
        self.check(
            np.abs(exponent) > MAX_EXPONENT,
            mask,
            f"exponent must be at most {MAX_EXPONENT} in magnitude",
        )
        self.check(
            (base == 0) & (exponent < 0),
            mask,
            "division by zero (0 to a negative power)",
        )
        self.check(
            (base < 0) & (exponent != np.floor(exponent)),
            mask,
            "negative number to a non-integer power",
        )

    def call(self, node: _Call, mask: np.ndarray) -> np.ndarray:
        if node.function == "if":
            condition = self.run(node.args[0], mask) != 0
            yes = self.run(node.args[1], np.logical_and(mask, condition))
            no = self.run(node.args[2], np.logical_and(mask, ~condition))
            return np.where(condition, yes, no)
        args = [self.run(arg, mask) for arg in node.args]
        if node.function == "min":
            return _reduce(np.minimum, args)
        if node.function == "max":
            return _reduce(np.maximum, args)
        (value,) = args
        if node.function == "log":
            self.check(value <= 0, mask, "log of a nonpositive number")
        if node.function == "sqrt":
            self.check(value < 0, mask, "square root of a negative number")
        result = _ELEMENTWISE[node.function](value)
        return self.finite(result, mask, f"the result of {node.function}()")


def _reduce(
    function: Callable[[np.ndarray, np.ndarray], np.ndarray], args: list[np.ndarray]
) -> np.ndarray:
    result = args[0]
    for arg in args[1:]:
        result = function(result, arg)
    return result


# ----------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Formula:
    """A parsed formula, ready to be evaluated on arrays.

    Create one with :func:`parse`.

    Attributes
    ----------
    text : str
        The formula as written.
    field : str
        The field it belongs to, used in error messages.
    names : tuple of str
        The variable names it uses, in order of first appearance.

    Examples
    --------
    >>> f = parse("sale * value", "agent_payoff")
    >>> f.names
    ('sale', 'value')
    >>> f.evaluate({"sale": [[0], [1]], "value": [[1, 2]]})
    array([[0., 0.],
           [1., 2.]])
    """

    text: str
    field: str
    tree: Any
    names: tuple[str, ...]

    def evaluate(
        self,
        namespace: Mapping[str, Any],
        axes: Sequence[tuple[str, Sequence[str]]] | None = None,
    ) -> np.ndarray:
        """Evaluate the formula with NumPy broadcasting.

        Parameters
        ----------
        namespace : mapping of str to array_like
            Values of the names; arrays must broadcast against each other
            (and against the grid given by ``axes``). The order of the
            mapping is the order in which known names are listed in errors.
        axes : sequence of (str, sequence of str), optional
            The grid, as ``(axis name, labels)`` pairs, e.g.
            ``[("type", types), ("state", states)]``. When given, the result
            is broadcast to the grid's shape and errors name the first
            offending point by its labels.

        Returns
        -------
        numpy.ndarray
            Float array: the grid's shape when ``axes`` is given, otherwise
            the broadcast shape of the names used.

        Raises
        ------
        FormulaError
            For an unknown name, or a value that is not finite anywhere it
            is needed (division by zero, ``log`` of a nonpositive number,
            ``sqrt`` of a negative number, too large an exponent, overflow).

        Examples
        --------
        >>> f = parse("if(x > 0, 1 / x, 0)", "designer_payoff")
        >>> f.evaluate({"x": [0.0, 2.0]})
        array([0. , 0.5])
        >>> parse("1 / x", "agent_payoff").evaluate(
        ...     {"x": [1.0, 0.0]}, axes=[("type", ["low", "high"])])
        Traceback (most recent call last):
        ...
        calmech.errors.FormulaError: agent_payoff: division by zero at type 'high'
        """
        evaluator = _Evaluator(self.field, namespace, axes)
        with np.errstate(all="ignore"):
            for name in self.names:
                value = evaluator.name(name)
                evaluator.check(
                    ~np.isfinite(value), np.True_, f"value of {name!r} is not finite"
                )
            result = evaluator.run(self.tree, np.True_)
        result = np.asarray(result, dtype=float)
        if axes is not None:
            shape = tuple(len(labels) for _, labels in axes)
            try:
                result = np.broadcast_to(result, shape)
            except ValueError as exc:
                raise FormulaError(
                    self.field,
                    f"values do not fit the grid of shape {shape}",
                    result.shape,
                ) from exc
        return np.array(result, dtype=float)

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, field={self.field!r})"


def parse(text: str, field: str = "formula") -> Formula:
    """Parse a formula without evaluating it.

    Parameters
    ----------
    text : str
        The formula; see the module docstring for the grammar.
    field : str, optional
        The field the formula belongs to, named in every error message.

    Returns
    -------
    Formula
        The parsed formula with its variable :attr:`~Formula.names`.

    Raises
    ------
    FormulaError
        When the text is not a string, too long, malformed, too large or
        too deeply nested.

    Examples
    --------
    >>> parse("max(value - 1, 0) ^ 2", "agent_payoff").names
    ('value',)
    >>> float(parse("-2^2 + 2^3^2 + 2**-1").evaluate({}))
    508.5
    >>> parse("sale *", "agent_payoff")
    Traceback (most recent call last):
    ...
    calmech.errors.FormulaError: agent_payoff: formula ends too early; got 'sale *'
    """
    if not isinstance(text, str):
        raise FormulaError(field, "a formula must be a string", text)
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            field, f"formula must have at most {MAX_LENGTH} characters", len(text)
        )
    if text.strip() == "":
        raise FormulaError(field, "formula must not be empty", text)
    tree = _Parser(text, field).parse()
    if _depth(tree) > MAX_DEPTH:
        raise FormulaError(
            field, f"formula must nest at most {MAX_DEPTH} levels deep", text
        )
    names: dict[str, None] = {}
    _names(tree, names)
    return Formula(text=text, field=field, tree=tree, names=tuple(names))
