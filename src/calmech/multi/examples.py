"""Built-in multi-agent environments: a seller facing two buyers, an ad platform.

:data:`MULTI_EXAMPLES` maps the names ``calmech solve`` accepts to the
functions and a one-line description.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from calmech.errors import InputError
from calmech.multi.environment import (
    MultiEnvironment,
    one_object_outcomes,
    slot_outcomes,
)

__all__ = ["MULTI_EXAMPLES", "ad_platform", "get_multi_example", "two_buyers"]


def two_buyers() -> MultiEnvironment:
    """A seller who knows the quality, two buyers with correlated values.

    States {low, high} quality with prior 1/2 each. Each buyer's type is
    ``low`` or ``high``, drawn independently given the quality with
    P(high | high quality) = 0.7 and P(high | low quality) = 0.3, so the
    buyers' values are correlated through the quality. A buyer of type
    ``low`` values the object at 1 plus the quality bonus (0 or 1), a buyer
    of type ``high`` at 2 plus the bonus: interdependent values. One object,
    no cost, money.

    Examples
    --------
    >>> env = two_buyers()
    >>> env.type_counts, env.outcomes
    ((2, 2), ('nobody', 'A', 'B'))
    """
    agents = ["A", "B"]
    outcomes, holder = one_object_outcomes(agents)
    base = np.array([1.0, 2.0])
    bonus = np.array([0.0, 1.0])
    value = base[:, None] + bonus[None, :]  # (types, states)
    payoffs = [(holder == i)[:, None, None] * value[None] for i in range(2)]
    cond = np.array([[0.7, 0.3], [0.3, 0.7]])  # rows: low, high; columns: states
    return MultiEnvironment.independent(
        states=["low", "high"],
        state_prior=[0.5, 0.5],
        agents=agents,
        types=[["low", "high"], ["low", "high"]],
        type_given_state=[cond, cond],
        outcomes=outcomes,
        agent_payoff=payoffs,
        name="two buyers",
    )


def ad_platform() -> MultiEnvironment:
    """A platform that knows click-through rates sells one slot to two advertisers.

    States: which advertiser's ad is clicked more, ``A strong`` (rates 0.6
    for A and 0.3 for B) or ``B strong`` (0.3 and 0.6), prior 1/2 each.
    Values per click are private, 1 or 2 with probability 1/2 each,
    independent across advertisers and of the state. Advertiser i gets
    value × its click-through rate when its ad shows; the platform keeps the
    payments.

    Examples
    --------
    >>> env = ad_platform()
    >>> env.private_values, len(env.outcomes)
    (False, 3)
    """
    agents = ["A", "B"]
    outcomes, assignment = slot_outcomes(agents, 1)
    ctr = np.array([[0.6, 0.3], [0.3, 0.6]])  # (agent, state)
    per_click = np.array([1.0, 2.0])
    payoffs = [
        (assignment[:, 0] == i)[:, None, None]
        * per_click[None, :, None]
        * ctr[i][None, None, :]
        for i in range(2)
    ]
    cond = np.full((2, 2), 0.5)
    return MultiEnvironment.independent(
        states=["A strong", "B strong"],
        state_prior=[0.5, 0.5],
        agents=agents,
        types=[["1/click", "2/click"], ["1/click", "2/click"]],
        type_given_state=[cond, cond],
        outcomes=outcomes,
        agent_payoff=payoffs,
        name="ad platform",
    )


MULTI_EXAMPLES: dict[str, tuple[Callable[[], MultiEnvironment], str]] = {
    "two_buyers": (two_buyers, "a seller with private quality, two buyers"),
    "ad_platform": (ad_platform, "click-through rates known to the platform"),
}


def get_multi_example(name: str) -> MultiEnvironment:
    """The built-in multi-agent example called ``name``.

    Examples
    --------
    >>> get_multi_example("ad_platform").name
    'ad platform'
    """
    if name not in MULTI_EXAMPLES:
        raise InputError("example", f"must be one of {sorted(MULTI_EXAMPLES)}", name)
    return MULTI_EXAMPLES[name][0]()
