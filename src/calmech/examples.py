"""Built-in environments: the worked examples of THEORY §8 and one without money.

Each function returns a fresh :class:`~calmech.environment.Environment`;
:data:`EXAMPLES` maps the names used by ``calmech examples`` and
``calmech demo`` to the functions and a one-line description.
"""

from __future__ import annotations

from collections.abc import Callable

from calmech.environment import Environment

__all__ = ["EXAMPLES", "assignment", "get_example", "monopoly", "quality"]


def monopoly() -> Environment:
    """THEORY §8 A: a monopolist, a buyer whose value is correlated with ω.

    States {L, H}; the buyer values the good at 1 (type low) or 2 (type
    high); ``P(θ, ω) = [[0.4, 0.1], [0.1, 0.4]]``; no costs, money.

    Standard = 1.5 (Crémer–McLean full surplus), full transparency =
    calibrated = 1.3 (price 2 in H, 1 in L), no disclosure = 1.0.

    Examples
    --------
    >>> monopoly().private_values
    True
    """
    return Environment(
        name="monopoly",
        states=["L", "H"],
        types=["low", "high"],
        allocations=["no sale", "sale"],
        prior=[[0.4, 0.1], [0.1, 0.4]],
        agent_payoff=[[0.0, 0.0], [1.0, 2.0]],
        designer_payoff=[0.0, 0.0],
    )


def quality() -> Environment:
    """THEORY §8 B: a seller who knows the quality the buyer cannot see.

    States {good, bad} with prior 1/2 each; types {low, high} with
    ``P(high | good) = 1/4`` and ``P(high | bad) = 3/4``. The good is worth 2
    (low) or 4 (high) when good and nothing when bad.

    No disclosure = full transparency = 1.0; calibrated = standard = 1.25,
    splitting the prior into (0, 1) w.p. 2/7 and (0.7, 0.3) w.p. 5/7.

    Examples
    --------
    >>> quality().private_values
    False
    """
    return Environment(
        name="quality",
        states=["good", "bad"],
        types=["low", "high"],
        allocations=["no sale", "sale"],
        prior=[[0.375, 0.125], [0.125, 0.375]],
        agent_payoff=[[[0.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [4.0, 0.0]]],
        designer_payoff=[0.0, 0.0],
    )


def assignment() -> Environment:
    """A manager assigns a worker to the office or the field, without money.

    The manager knows whether the market is *hot* or *cold* (prior 1/2
    each); the worker is a *seller* or a *fixer*, ``P(seller, hot) = 0.2``,
    ``P(seller, cold) = 0.3``. The office is worth 1 to every worker and 0
    to the manager. Field work is worth 4 (hot) or −2 (cold) to a seller
    and 0 or 3 to a fixer; to the manager it is worth 4 in both markets
    with a seller, and −3 (hot) or 1 (cold) with a fixer. Without money the
    only lever is what the manager lets the worker learn about the market.

    Standard = 2.2, calibrated = 1.8 (posteriors P(hot) = 0 and 0.6),
    full transparency = 1.4, no disclosure = 1.3.

    Examples
    --------
    >>> assignment().transfers
    False
    """
    return Environment(
        name="assignment",
        states=["hot", "cold"],
        types=["seller", "fixer"],
        allocations=["office", "field"],
        prior=[[0.2, 0.3], [0.3, 0.2]],
        agent_payoff=[
            [[1.0, 1.0], [1.0, 1.0]],
            [[4.0, -2.0], [0.0, 3.0]],
        ],
        designer_payoff=[
            [[0.0, 0.0], [0.0, 0.0]],
            [[4.0, 4.0], [-3.0, 1.0]],
        ],
        transfers=False,
    )


EXAMPLES: dict[str, tuple[Callable[[], Environment], str]] = {
    "monopoly": (monopoly, "THEORY §8 A: correlated private values, money"),
    "quality": (quality, "THEORY §8 B: quality the buyer cannot see, money"),
    "assignment": (assignment, "a project assignment without money"),
}


def get_example(name: str) -> Environment:
    """The built-in example called ``name``.

    Examples
    --------
    >>> get_example("monopoly").name
    'monopoly'
    """
    from calmech.errors import InputError

    if name not in EXAMPLES:
        raise InputError(
            "example", f"unknown name (known: {', '.join(EXAMPLES)})", name
        )
    return EXAMPLES[name][0]()
