"""Several agents: the environment P(θ_1, …, θ_I, ω), u_i[m, θ_i, ω], v[m, θ, ω].

Agent i has a finite type set Θ_i (N_i types); the designer knows the state
ω ∈ Ω (K states); an outcome is a joint allocation, one of M labels (who gets
the object, which advertiser gets which slot). The primitives are

* ``prior[n_1, …, n_I, k]`` = P(θ_1, …, θ_I, ω), any joint distribution;
* ``agent_payoff[i][m, n_i, k]`` = u_i(m, θ_i, ω): agent i's payoff depends on
  the outcome, its own type and the state (interdependent values through ω);
* ``designer_payoff[m, n_1, …, n_I, k]`` = v(m, θ, ω), given in full or as
  ``(M, K)`` or ``(M,)`` and broadcast;
* ``outside_option[i][n_i, k]`` = u₀_i(θ_i, ω), default 0;
* quasilinear money when ``transfers`` is true: agent i pays t_i, gets
  u_i − t_i, and the designer gets v + τ Σ_i t_i (τ = ``transfer_weight``).

Arrays keep the project's order: outcome first, then types, then the state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmech.errors import InputError, LabelError, ProbabilityError, ShapeError

__all__ = [
    "MultiEnvironment",
    "one_object_outcomes",
    "slot_outcomes",
]

#: Tolerance on sums of probabilities.
PROB_ATOL = 1e-9


def _labels(field: str, labels: Any) -> tuple[str, ...]:
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise LabelError(field, "must be a list of labels", labels)
    out = tuple(str(x) for x in labels)
    if not out:
        raise LabelError(field, "must not be empty", labels)
    if any(not s.strip() for s in out):
        raise LabelError(field, "labels must not be blank", labels)
    seen = set()
    for s in out:
        if s in seen:
            raise LabelError(field, "labels must be distinct", s)
        seen.add(s)
    return out


def _array(field: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ShapeError(
            field, "must be a rectangular array of numbers", value
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise InputError(field, "entries must be finite numbers", value)
    return arr


def _broadcast(
    field: str, value: Any, shapes: dict[int, tuple[int, ...]]
) -> np.ndarray:
    """Expand ``value`` to the full shape from one of the accepted shapes.

    ``shapes`` maps a number of dimensions to the axes of the full shape it
    keeps; the full shape is the entry with the most dimensions.
    """
    arr = _array(field, value)
    full = max(shapes, key=len)
    full_shape = shapes[full]
    if arr.ndim == 0 and 0 in {len(s) for s in shapes.values()}:
        return np.broadcast_to(arr, full_shape).copy()
    for axes, shape in shapes.items():
        if arr.shape == shape:
            index = tuple(slice(None) if a in axes else None for a in full)
            return np.broadcast_to(arr[index], full_shape).copy()
    accepted = " or ".join(str(s) for s in shapes.values())
    raise ShapeError(field, f"must have shape {accepted}", arr.shape)


def one_object_outcomes(agents: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Outcomes of one indivisible object: nobody, or one of the agents.

    Returns
    -------
    labels : list of str
        ``["nobody", agents[0], …]``.
    holder : ndarray of int, shape (M,)
        The agent who gets the object, ``-1`` for nobody.

    Examples
    --------
    >>> one_object_outcomes(["A", "B"])
    (['nobody', 'A', 'B'], array([-1,  0,  1]))
    """
    names = _labels("agents", agents)
    return ["nobody", *names], np.arange(-1, len(names))


def slot_outcomes(agents: Sequence[str], slots: int) -> tuple[list[str], np.ndarray]:
    """Assignments of ``slots`` ranked slots to distinct agents (or to nobody).

    Returns
    -------
    labels : list of str
        One per assignment, e.g. ``"s1=A, s2=-"``.
    assignment : ndarray of int, shape (M, slots)
        The agent in each slot, ``-1`` for an empty slot.

    Examples
    --------
    >>> labels, assignment = slot_outcomes(["A", "B"], 1)
    >>> labels
    ['s1=-', 's1=A', 's1=B']
    >>> len(slot_outcomes(["A", "B", "C"], 2)[0])  # 1 + 3·2 + 3·2 ... = 13
    13
    """
    names = _labels("agents", agents)
    if not isinstance(slots, int) or slots < 1:
        raise InputError("slots", "must be a positive integer", slots)
    rows = []
    for choice in itertools.product(range(-1, len(names)), repeat=slots):
        filled = [c for c in choice if c >= 0]
        if len(filled) == len(set(filled)):
            rows.append(choice)
    labels = [
        ", ".join(f"s{j + 1}={names[c] if c >= 0 else '-'}" for j, c in enumerate(r))
        for r in rows
    ]
    return labels, np.array(rows, dtype=int)


@dataclass(frozen=True, eq=False)
class MultiEnvironment:
    """I agents with private types, a designer who knows the state.

    Parameters
    ----------
    states : list of str
        Labels of Ω (K).
    agents : list of str
        Names of the agents (I).
    types : list of list of str
        ``types[i]``: labels of Θ_i (N_i).
    outcomes : list of str
        Labels of the joint allocations (M).
    prior : array, shape (N_1, …, N_I, K)
        P(θ_1, …, θ_I, ω); must be nonnegative and sum to 1, and every state
        must have positive probability.
    agent_payoff : list of arrays
        ``agent_payoff[i]`` of shape (M, N_i, K), or (M, N_i) for private
        values.
    designer_payoff : array, optional
        Shape (M, N_1, …, N_I, K), (M, K) or (M,); default 0.
    transfers : bool, default True
    transfer_weight : float, default 1
    outside_option : list of arrays, optional
        ``outside_option[i]`` of shape (N_i, K), (N_i,) or a number; default 0.
    transfer_bounds : (float, float), optional
        Bounds on every payment; none by default.
    name : str, optional

    Examples
    --------
    >>> env = MultiEnvironment(
    ...     states=["w"], agents=["A"], types=[["lo", "hi"]],
    ...     outcomes=["keep", "sell"], prior=[[0.5], [0.5]],
    ...     agent_payoff=[[[0.0, 0.0], [1.0, 2.0]]])
    >>> env.shape, env.type_counts
    ((2, 2, 1), (2,))
    """

    states: tuple[str, ...]
    agents: tuple[str, ...]
    types: tuple[tuple[str, ...], ...]
    outcomes: tuple[str, ...]
    prior: np.ndarray
    agent_payoff: tuple[np.ndarray, ...]
    designer_payoff: np.ndarray
    transfers: bool
    transfer_weight: float
    outside_option: tuple[np.ndarray, ...]
    transfer_bounds: tuple[float, float]
    name: str

    def __init__(
        self,
        states: Sequence[str],
        agents: Sequence[str],
        types: Sequence[Sequence[str]],
        outcomes: Sequence[str],
        prior: Any,
        agent_payoff: Sequence[Any],
        designer_payoff: Any = None,
        transfers: bool = True,
        transfer_weight: float = 1.0,
        outside_option: Sequence[Any] | None = None,
        transfer_bounds: tuple[float, float] | None = None,
        name: str = "environment",
    ) -> None:
        set_ = object.__setattr__
        states_ = _labels("states", states)
        agents_ = _labels("agents", agents)
        if isinstance(types, str) or not isinstance(types, Sequence):
            raise LabelError("types", "must be one list of labels per agent", types)
        if len(types) != len(agents_):
            raise ShapeError(
                "types", f"must have one list per agent ({len(agents_)})", len(types)
            )
        types_ = tuple(
            _labels(f"agents[{a}].types", t)
            for a, t in zip(agents_, types, strict=True)
        )
        outcomes_ = _labels("outcomes", outcomes)
        K, M = len(states_), len(outcomes_)
        counts = tuple(len(t) for t in types_)

        # The joint prior.
        P = _array("prior", prior)
        if P.shape != (*counts, K):
            raise ShapeError("prior", f"must have shape {(*counts, K)}", P.shape)
        if P.min() < 0:
            raise ProbabilityError("prior", "entries must be nonnegative", P.min())
        if abs(P.sum() - 1.0) > PROB_ATOL:
            raise ProbabilityError("prior", "must sum to 1", float(P.sum()))
        marginal = P.reshape(-1, K).sum(axis=0)
        for k in range(K):
            if marginal[k] <= 0:
                raise ProbabilityError(
                    "prior", f"state {states_[k]!r} must have positive probability", 0.0
                )

        # Payoffs.
        if isinstance(agent_payoff, np.ndarray) or not isinstance(
            agent_payoff, Sequence
        ):
            raise ShapeError(
                "agent_payoff", "must be one array per agent", agent_payoff
            )
        if len(agent_payoff) != len(agents_):
            raise ShapeError(
                "agent_payoff",
                f"must have one array per agent ({len(agents_)})",
                len(agent_payoff),
            )
        us = tuple(
            _broadcast(
                f"agents[{a}].agent_payoff", u, {(0, 1, 2): (M, n, K), (0, 1): (M, n)}
            )
            for a, u, n in zip(agents_, agent_payoff, counts, strict=True)
        )
        I = len(agents_)
        full = (M, *counts, K)
        axes_full = tuple(range(I + 2))
        if designer_payoff is None:
            v = np.zeros(full)
        else:
            v = _broadcast(
                "designer_payoff",
                designer_payoff,
                {axes_full: full, (0, I + 1): (M, K), (0,): (M,)},
            )
        if outside_option is None:
            u0s = tuple(np.zeros((n, K)) for n in counts)
        else:
            if len(outside_option) != I:
                raise ShapeError(
                    "outside_option",
                    f"must have one entry per agent ({I})",
                    len(outside_option),
                )
            u0s = tuple(
                _broadcast(
                    f"agents[{a}].outside_option",
                    o,
                    {(0, 1): (n, K), (0,): (n,), (): ()},
                )
                for a, o, n in zip(agents_, outside_option, counts, strict=True)
            )
        if not isinstance(transfers, bool | np.bool_):
            raise InputError("transfers", "must be true or false", transfers)
        try:
            tau = float(transfer_weight)
        except (TypeError, ValueError) as exc:
            raise InputError(
                "transfer_weight", "must be a number", transfer_weight
            ) from exc
        if not math.isfinite(tau):
            raise InputError("transfer_weight", "must be finite", transfer_weight)
        lo, hi = (-math.inf, math.inf) if transfer_bounds is None else transfer_bounds
        lo, hi = float(lo), float(hi)
        if not lo <= hi:
            raise InputError(
                "transfer_bounds", "must be [lo, hi] with lo <= hi", (lo, hi)
            )
        if not transfers:
            lo, hi = 0.0, 0.0

        set_(self, "states", states_)
        set_(self, "agents", agents_)
        set_(self, "types", types_)
        set_(self, "outcomes", outcomes_)
        set_(self, "prior", P)
        set_(self, "agent_payoff", us)
        set_(self, "designer_payoff", v)
        set_(self, "transfers", bool(transfers))
        set_(self, "transfer_weight", tau)
        set_(self, "outside_option", u0s)
        set_(self, "transfer_bounds", (lo, hi))
        set_(self, "name", str(name))

    # ------------------------------------------------------------------
    @classmethod
    def independent(
        cls,
        states: Sequence[str],
        state_prior: Any,
        agents: Sequence[str],
        types: Sequence[Sequence[str]],
        type_given_state: Sequence[Any],
        outcomes: Sequence[str],
        agent_payoff: Sequence[Any],
        **kwargs: Any,
    ) -> MultiEnvironment:
        """Types independent across agents given the state.

        P(θ, ω) = μ₀(ω) Π_i P_i(θ_i | ω), with ``type_given_state[i]`` of
        shape (N_i, K) whose columns sum to 1. Other keyword arguments go to
        the constructor.

        Examples
        --------
        >>> env = MultiEnvironment.independent(
        ...     states=["L", "H"], state_prior=[0.5, 0.5], agents=["A", "B"],
        ...     types=[["lo", "hi"], ["lo", "hi"]],
        ...     type_given_state=[[[0.8, 0.2], [0.2, 0.8]]] * 2,
        ...     outcomes=["none", "A", "B"],
        ...     agent_payoff=[[[0, 0], [1, 2], [0, 0]], [[0, 0], [0, 0], [1, 2]]])
        >>> round(float(env.prior[1, 1, 1]), 12)  # 0.5 · 0.8 · 0.8
        0.32
        """
        mu = _array("state_prior", state_prior)
        K = len(states)
        if mu.shape != (K,):
            raise ShapeError("state_prior", f"must have {K} entries", mu.shape)
        if mu.min() < 0 or abs(mu.sum() - 1) > PROB_ATOL:
            raise ProbabilityError(
                "state_prior", "must be nonnegative and sum to 1", float(mu.sum())
            )
        if len(type_given_state) != len(agents):
            raise ShapeError(
                "type_given_state",
                f"must have one array per agent ({len(agents)})",
                len(type_given_state),
            )
        joint = mu.copy()
        for a, c, t in zip(agents, type_given_state, types, strict=True):
            field = f"agents[{a}].type_given_state"
            cond = _array(field, c)
            if cond.shape != (len(t), K):
                raise ShapeError(field, f"must have shape {(len(t), K)}", cond.shape)
            sums = cond.sum(axis=0)
            if cond.min() < 0 or np.any(np.abs(sums - 1) > PROB_ATOL):
                raise ProbabilityError(
                    field, "columns must be nonnegative and sum to 1 over types", sums
                )
            joint = joint[None, ...] * cond.reshape(
                (len(t),) + (1,) * (joint.ndim - 1) + (K,)
            )
        # The product put the last agent first; put agents back in order.
        I = len(agents)
        joint = np.transpose(joint, tuple(range(I - 1, -1, -1)) + (I,))
        return cls(
            states=states,
            agents=agents,
            types=types,
            outcomes=outcomes,
            prior=joint,
            agent_payoff=agent_payoff,
            **kwargs,
        )

    @classmethod
    def from_environment(cls, env: Any) -> MultiEnvironment:
        """The one-agent environment of a single-agent :class:`Environment`.

        Examples
        --------
        >>> from calmech.examples import monopoly
        >>> MultiEnvironment.from_environment(monopoly()).shape
        (2, 2, 2)
        """
        return cls(
            states=env.states,
            agents=["agent"],
            types=[env.types],
            outcomes=env.allocations,
            prior=env.prior,
            agent_payoff=[env.agent_payoff],
            designer_payoff=env.designer_payoff,
            transfers=env.transfers,
            transfer_weight=env.transfer_weight,
            outside_option=[env.outside_option],
            transfer_bounds=env.transfer_bounds,
            name=env.name,
        )

    # ------------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        return len(self.agents)

    @property
    def type_counts(self) -> tuple[int, ...]:
        return tuple(len(t) for t in self.types)

    @property
    def shape(self) -> tuple[int, ...]:
        """(M, N_1, …, N_I, K)."""
        return (len(self.outcomes), *self.type_counts, len(self.states))

    @property
    def n_profiles(self) -> int:
        return int(np.prod(self.type_counts))

    @property
    def state_prior(self) -> np.ndarray:
        """μ₀, the marginal of the prior on Ω."""
        return self.prior.reshape(-1, len(self.states)).sum(axis=0)

    @property
    def private_values(self) -> bool:
        """Whether every u_i and u₀_i is independent of the state."""
        arrays = [*self.agent_payoff, *self.outside_option]
        return all(np.allclose(a, a[..., :1]) for a in arrays)

    def profiles(self) -> np.ndarray:
        """Type profiles in C order, shape (T, I): row p holds (n_1, …, n_I)."""
        return np.array(list(np.ndindex(*self.type_counts)), dtype=int).reshape(
            -1, self.n_agents
        )

    def profile_label(self, p: int) -> str:
        idx = np.unravel_index(p, self.type_counts)
        return ", ".join(self.types[i][int(n)] for i, n in enumerate(idx))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "states": list(self.states),
            "agents": [
                {"name": a, "types": list(t)}
                for a, t in zip(self.agents, self.types, strict=True)
            ],
            "outcomes": list(self.outcomes),
            "transfers": self.transfers,
            "transfer_weight": self.transfer_weight,
            "private_values": self.private_values,
        }

    def __repr__(self) -> str:
        return (
            f"MultiEnvironment({self.name!r}: {self.n_agents} agents, types "
            f"{self.type_counts}, {len(self.states)} states, "
            f"{len(self.outcomes)} outcomes)"
        )
