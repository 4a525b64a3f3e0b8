"""Single-agent environments: states, types, allocations, prior and payoffs.

An environment is the tuple (Ω, Θ, A, P, u, v, u₀, money, τ, bounds) of
THEORY §2. Every array follows one convention, axes ordered
(allocation, type, state) with absent axes dropped:

* ``prior[n, k] = P(θ_n, ω_k)``;
* ``agent_payoff[m, n, k] = u(a_m, θ_n, ω_k)``;
* ``designer_payoff[m, n, k] = v(a_m, θ_n, ω_k)``;
* ``outside_option[n, k] = u₀(θ_n, ω_k)``.

A payoff may be given with shape ``(M, N, K)``, ``(M, N)`` (the same in every
state), ``(M,)`` (the same for every type and state) or as a scalar; an outside option
with shape ``(N, K)``, ``(N,)`` or as a scalar. The prior must be ``(N, K)``.

The class only validates and stores; the algorithms live in functions on
arrays (:mod:`calmech.lp`, :mod:`calmech.value`, :mod:`calmech.envelope`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmech.errors import InputError, LabelError, ProbabilityError, ShapeError

__all__ = ["PRIOR_ATOL", "Environment"]

#: Tolerance on ``sum(prior) == 1`` before ``normalize`` is required.
PRIOR_ATOL = 1e-9

#: Agent payoffs that differ across states by no more than this are equal.
PRIVATE_VALUES_ATOL = 1e-12


def _labels(field_name: str, labels: Any) -> tuple[str, ...]:
    """Validate a list of labels: non-empty, strings, distinct."""
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise LabelError(field_name, "must be a list of labels", labels)
    if len(labels) == 0:
        raise LabelError(field_name, "must contain at least one label", labels)
    out = []
    for item in labels:
        if not isinstance(item, str | int) or isinstance(item, bool):
            raise LabelError(
                field_name, "every label must be a string or an integer", item
            )
        text = str(item)
        if text.strip() == "":
            raise LabelError(field_name, "labels must not be empty", item)
        out.append(text)
    seen: set[str] = set()
    for text in out:
        if text in seen:
            raise LabelError(field_name, "labels must be distinct", text)
        seen.add(text)
    return tuple(out)


def _as_float_array(field_name: str, value: Any) -> np.ndarray:
    """Turn nested lists into a float array, rejecting ragged or odd input."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.array(value, dtype=object)
        except ValueError as exc:  # numpy refuses some ragged nestings
            raise ShapeError(field_name, "must be a rectangular array", value) from exc
    if array.dtype == object:
        flat = array.reshape(-1)
        for item in flat:
            if isinstance(item, bool) or not isinstance(
                item, int | float | np.integer | np.floating
            ):
                if isinstance(item, list | tuple | np.ndarray):
                    raise ShapeError(
                        field_name, "must be a rectangular array (rows differ)", value
                    )
                raise InputError(field_name, "entries must be numbers", item)
        try:
            array = array.astype(float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(field_name, "entries must be numbers", value) from exc
    elif (
        array.dtype == bool
        or not np.issubdtype(array.dtype, np.number)
        or np.issubdtype(array.dtype, np.complexfloating)
    ):
        raise InputError(field_name, "entries must be numbers", value)
    else:
        array = array.astype(float)
    if not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)].reshape(-1)[0]
        raise InputError(field_name, "entries must be finite (no NaN or infinity)", bad)
    return array


def _expand(
    field_name: str, value: Any, shapes: list[tuple[int, ...]], names: list[str]
) -> np.ndarray:
    """Broadcast an array given with absent trailing axes to the full shape."""
    array = _as_float_array(field_name, value)
    full = shapes[0]
    for shape in shapes:
        if array.shape == shape:
            extra = len(full) - len(shape)
            return np.broadcast_to(array.reshape(shape + (1,) * extra), full).copy()
    expected = " or ".join(
        f"{name} {shape}" for name, shape in zip(names, shapes, strict=True)
    )
    raise ShapeError(field_name, f"must have shape {expected}", array.shape)


@dataclass(frozen=True, eq=False)
class Environment:
    """A single-agent environment of calibrated mechanism design.

    Parameters
    ----------
    states, types, allocations : sequence of str
        Labels of Ω (K states), Θ (N types) and A (M allocations).
    prior : array_like, shape (N, K)
        Joint distribution ``P(θ_n, ω_k)``. Every state needs positive
        probability; a type may have zero probability in some states.
    agent_payoff, designer_payoff : array_like, shape (M, N, K), (M, N), (M,) or scalar
        ``u(a_m, θ_n, ω_k)`` and ``v(a_m, θ_n, ω_k)``; the designer's payoff
        defaults to 0.
    transfers : bool, default True
        Quasilinear money (the agent pays ``t``) or none (``t ≡ 0``).
    transfer_weight : float, default 1
        Weight ``τ`` of the payment in the designer's objective ``v + τ t``.
        A negative weight needs finite transfer bounds.
    outside_option : array_like, shape (N, K), (N,) or scalar, default 0
        ``u₀(θ_n, ω_k)``, what the agent gets by walking away.
    transfer_bounds : (float, float), optional
        Bounds ``[lo, hi]`` on every payment; ``None`` (or ``±inf``) for none.
    name : str, optional
        A name used in reports.
    normalize : bool, default False
        Divide the prior by its sum instead of requiring the sum to be 1.

    Raises
    ------
    InputError
        With a message naming the field, the rule and the value received.

    Notes
    -----
    Types with zero total probability are rejected: they play no role and
    usually reveal a typing mistake.

    Examples
    --------
    A monopolist selling one good to a buyer of value 1 or 2 (THEORY §8 A):

    >>> env = Environment(
    ...     states=["L", "H"], types=["low", "high"],
    ...     allocations=["no sale", "sale"],
    ...     prior=[[0.4, 0.1], [0.1, 0.4]],
    ...     agent_payoff=[[0, 0], [1, 2]], designer_payoff=[0, 0])
    >>> env.shape
    (2, 2, 2)
    >>> env.private_values
    True
    """

    states: tuple[str, ...]
    types: tuple[str, ...]
    allocations: tuple[str, ...]
    prior: np.ndarray
    agent_payoff: np.ndarray
    designer_payoff: np.ndarray | float = 0.0
    transfers: bool = True
    transfer_weight: float = 1.0
    outside_option: np.ndarray | float | None = None
    transfer_bounds: tuple[float, float] | None = None
    name: str = "environment"
    normalize: bool = False

    def __post_init__(self) -> None:
        put = object.__setattr__
        states = _labels("states", self.states)
        types = _labels("types", self.types)
        allocations = _labels("allocations", self.allocations)
        K, N, M = len(states), len(types), len(allocations)
        put(self, "states", states)
        put(self, "types", types)
        put(self, "allocations", allocations)
        put(self, "name", str(self.name))

        # The prior: shape, sign, total, and positive marginals.
        prior = _as_float_array("prior", self.prior)
        if prior.shape != (N, K):
            raise ShapeError(
                "prior", f"must have shape (types, states) = ({N}, {K})", prior.shape
            )
        if np.any(prior < 0):
            raise ProbabilityError(
                "prior", "entries must be nonnegative", float(prior.min())
            )
        total = float(prior.sum())
        if self.normalize:
            if total <= 0:
                raise ProbabilityError("prior", "must have a positive sum", total)
            prior = prior / total
        elif abs(total - 1.0) > PRIOR_ATOL:
            raise ProbabilityError(
                "prior",
                "entries must sum to 1 over states and types "
                f"(within {PRIOR_ATOL:g}; pass normalize to rescale)",
                total,
            )
        for k, mass in enumerate(prior.sum(axis=0)):
            if mass <= 0:
                raise ProbabilityError(
                    "prior", f"state {states[k]!r} must have positive probability", 0.0
                )
        for n, mass in enumerate(prior.sum(axis=1)):
            if mass <= 0:
                raise ProbabilityError(
                    "prior", f"type {types[n]!r} must have positive probability", 0.0
                )
        prior.setflags(write=False)
        put(self, "prior", prior)

        # Payoffs, broadcast to (M, N, K).
        shapes = [(M, N, K), (M, N), (M,), ()]
        names = [
            "(allocations, types, states)",
            "(allocations, types)",
            "(allocations,)",
            "scalar",
        ]
        for key in ("agent_payoff", "designer_payoff"):
            array = _expand(key, getattr(self, key), shapes, names)
            array.setflags(write=False)
            put(self, key, array)
        raw = 0.0 if self.outside_option is None else self.outside_option
        u0 = _expand(
            "outside_option",
            raw,
            [(N, K), (N,), ()],
            ["(types, states)", "(types,)", "scalar"],
        )
        u0.setflags(write=False)
        put(self, "outside_option", u0)

        # Money.
        if not isinstance(self.transfers, bool | np.bool_):
            raise InputError("transfers", "must be true or false", self.transfers)
        put(self, "transfers", bool(self.transfers))
        tau = self.transfer_weight
        if isinstance(tau, bool) or not isinstance(tau, int | float | np.number):
            raise InputError("transfer_weight", "must be a number", tau)
        if not math.isfinite(float(tau)):
            raise InputError("transfer_weight", "must be finite", tau)
        put(self, "transfer_weight", float(tau))
        put(self, "transfer_bounds", self._check_bounds())
        lo = self.transfer_bounds[0] if self.transfer_bounds else -math.inf
        if self.transfers and self.transfer_weight < 0 and not math.isfinite(lo):
            raise InputError(
                "transfer_weight",
                "a negative weight needs a finite lower transfer bound "
                "(the designer would pay without limit)",
                self.transfer_weight,
            )

    def _check_bounds(self) -> tuple[float, float] | None:
        bounds = self.transfer_bounds
        if bounds is None:
            return None
        if not self.transfers:
            raise InputError(
                "transfer_bounds", "only applies when transfers is true", bounds
            )
        if isinstance(bounds, str) or not isinstance(bounds, Sequence | np.ndarray):
            raise InputError("transfer_bounds", "must be a pair [lo, hi]", bounds)
        if len(bounds) != 2:
            raise ShapeError("transfer_bounds", "must be a pair [lo, hi]", bounds)
        pair = []
        for side, default in zip(bounds, (-math.inf, math.inf), strict=True):
            if side is None:
                pair.append(default)
                continue
            if isinstance(side, bool) or not isinstance(side, int | float | np.number):
                raise InputError("transfer_bounds", "entries must be numbers", side)
            if math.isnan(float(side)):
                raise InputError("transfer_bounds", "entries must not be NaN", side)
            pair.append(float(side))
        lo, hi = pair
        if lo == math.inf or hi == -math.inf:
            raise InputError(
                "transfer_bounds", "bounds must allow some payment", bounds
            )
        if lo > hi:
            raise InputError("transfer_bounds", "needs lo <= hi", bounds)
        return (lo, hi)

    # ------------------------------------------------------------------
    # Derived quantities
    # ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(M, N, K)``: numbers of allocations, types and states."""
        return (len(self.allocations), len(self.types), len(self.states))

    @property
    def state_prior(self) -> np.ndarray:
        """μ₀, the marginal of the prior on states, shape (K,)."""
        return self.prior.sum(axis=0)

    @property
    def type_given_state(self) -> np.ndarray:
        """``P(θ_n | ω_k)``, shape (N, K); columns sum to 1."""
        return self.prior / self.state_prior[None, :]

    @property
    def private_values(self) -> bool:
        """Whether u and u₀ do not depend on the state (THEORY §2)."""
        u = self.agent_payoff
        u0 = self.outside_option
        return bool(
            np.all(np.abs(u - u[:, :, :1]) <= PRIVATE_VALUES_ATOL)
            and np.all(np.abs(u0 - u0[:, :1]) <= PRIVATE_VALUES_ATOL)
        )

    @property
    def bounds(self) -> tuple[float, float]:
        """Transfer bounds as a pair, ``(0, 0)`` without money."""
        if not self.transfers:
            return (0.0, 0.0)
        return self.transfer_bounds or (-math.inf, math.inf)

    def index(self, axis: str, label: str) -> int:
        """Position of ``label`` among the ``axis`` labels.

        Examples
        --------
        >>> from calmech.examples import monopoly
        >>> monopoly().index("types", "high")
        1
        """
        labels = getattr(self, axis)
        try:
            return labels.index(str(label))
        except ValueError:
            raise LabelError(
                axis, f"unknown label (known: {list(labels)})", label
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The environment in the keys of the file format (plain lists).

        Examples
        --------
        >>> from calmech.examples import monopoly
        >>> sorted(monopoly().to_dict())[:3]
        ['agent_payoff', 'allocations', 'designer_payoff']
        """
        out: dict[str, Any] = {
            "name": self.name,
            "states": list(self.states),
            "types": list(self.types),
            "allocations": list(self.allocations),
            "prior": self.prior.tolist(),
            "agent_payoff": self.agent_payoff.tolist(),
            "designer_payoff": self.designer_payoff.tolist(),
            "transfers": self.transfers,
            "transfer_weight": self.transfer_weight,
            "outside_option": self.outside_option.tolist(),
        }
        if self.transfer_bounds is not None:
            lo, hi = self.transfer_bounds
            out["transfer_bounds"] = [
                None if math.isinf(lo) else lo,
                None if math.isinf(hi) else hi,
            ]
        return out

    def replace(self, **changes: Any) -> Environment:
        """A copy with some fields changed, validated anew.

        Examples
        --------
        >>> from calmech.examples import monopoly
        >>> monopoly().replace(transfer_weight=0.5).transfer_weight
        0.5
        """
        fields = {
            "states": self.states,
            "types": self.types,
            "allocations": self.allocations,
            "prior": self.prior,
            "agent_payoff": self.agent_payoff,
            "designer_payoff": self.designer_payoff,
            "transfers": self.transfers,
            "transfer_weight": self.transfer_weight,
            "outside_option": self.outside_option,
            "transfer_bounds": self.transfer_bounds,
            "name": self.name,
        }
        fields.update(changes)
        return Environment(**fields)

    @classmethod
    def from_functions(
        cls,
        states: Sequence[Hashable],
        types: Sequence[Hashable],
        allocations: Sequence[Hashable],
        prior: Callable[[Any, Any], float] | Any,
        agent_payoff: Callable[[Any, Any, Any], float],
        designer_payoff: Callable[[Any, Any, Any], float] | None = None,
        outside_option: Callable[[Any, Any], float] | float | None = None,
        **options: Any,
    ) -> Environment:
        """Build an environment from Python functions of the labels.

        Parameters
        ----------
        states, types, allocations : sequence
            Labels; each is passed as given to the functions and stored as
            its ``str``.
        prior : callable ``(type, state) -> float`` or array_like (N, K)
        agent_payoff, designer_payoff : callable ``(allocation, type, state)``
            The designer's payoff defaults to 0.
        outside_option : callable ``(type, state)`` or float, optional
        **options
            ``transfers``, ``transfer_weight``, ``transfer_bounds``, ``name``,
            ``normalize``, as for :class:`Environment`.

        Examples
        --------
        >>> env = Environment.from_functions(
        ...     states=["good", "bad"], types=[2, 4], allocations=[0, 1],
        ...     prior=lambda n, k: 0.5 * ((0.75 if n == 2 else 0.25)
        ...                              if k == "good" else
        ...                              (0.25 if n == 2 else 0.75)),
        ...     agent_payoff=lambda a, n, k: a * n * (k == "good"))
        >>> env.agent_payoff[1, 1, 0]
        np.float64(4.0)
        """

        def call(name: str, fn: Callable[..., float], *args: Any) -> float:
            try:
                value = fn(*args)
            except Exception as exc:
                raise InputError(
                    name, f"the function raised {type(exc).__name__}: {exc}", args
                ) from exc
            return value

        if callable(prior):
            prior_array = [[call("prior", prior, n, k) for k in states] for n in types]
        else:
            prior_array = prior
        u = [
            [
                [call("agent_payoff", agent_payoff, a, n, k) for k in states]
                for n in types
            ]
            for a in allocations
        ]
        if designer_payoff is None:
            v: Any = 0.0 * np.zeros(len(allocations))
        else:
            v = [
                [
                    [call("designer_payoff", designer_payoff, a, n, k) for k in states]
                    for n in types
                ]
                for a in allocations
            ]
        if callable(outside_option):
            u0: Any = [
                [call("outside_option", outside_option, n, k) for k in states]
                for n in types
            ]
        else:
            u0 = outside_option
        return cls(
            states=[str(s) for s in states],
            types=[str(t) for t in types],
            allocations=[str(a) for a in allocations],
            prior=prior_array,
            agent_payoff=u,
            designer_payoff=v,
            outside_option=u0,
            **options,
        )

    def __repr__(self) -> str:
        M, N, K = self.shape
        money = "money" if self.transfers else "no money"
        values = "private" if self.private_values else "interdependent"
        return (
            f"Environment({self.name!r}: {K} states, {N} types, {M} allocations, "
            f"{money}, {values} values)"
        )
