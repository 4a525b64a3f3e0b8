"""Exact re-verification of a saved result in rational arithmetic.

A result of ``calmech solve --json`` claims a two-stage mechanism: signals
with probabilities p_s, posteriors μ_s and state-independent rules
``(x_s, t_s)``, and a standard (state-contingent) mechanism ``(x, t)``.
Every number of the mechanism is rounded to D decimal digits and read as a
:class:`fractions.Fraction`; the environment's numbers are read as the
decimals they print as (``0.4`` is 2/5). Then, exactly:

* each ``x_s(· | θ)`` and ``x(· | θ, ω)`` is a probability distribution and
  every transfer lies within the transfer bounds (0 without money);
* with weights ``W_θ = Σ_ω μ_s(ω) P(θ | ω)`` and beliefs
  ``β_θ(ω) = μ_s(ω) P(θ | ω) / W_θ``, every type with ``W_θ > 0`` has the
  slacks, in its expected payoff,

      IC(θ, θ′) = Σ_ω β_θ(ω) [u(x_s(θ), θ, ω) − t_s(θ) − u(x_s(θ′), θ, ω) + t_s(θ′)]
      IR(θ)     = Σ_ω β_θ(ω) [u(x_s(θ), θ, ω) − t_s(θ) − u₀(θ, ω)];

* Bayes plausibility ``Σ_s p_s μ_s − μ₀ = 0`` and ``Σ_s p_s = 1``;
* the claimed values equal ``Σ_θ W_θ Σ_ω β_θ(ω) [v(x_s(θ), θ, ω) + τ t_s(θ)]``
  (per signal, and Σ_s p_s times that in total);
* for the standard mechanism, interim IC and IR under ``P(ω | θ)`` and its
  value ``Σ_{θ,ω} P(θ, ω) [v(x(θ, ω), θ, ω) + τ t(θ, ω)]``.

Rounding to D digits moves every number by at most ``δ = 10^(−D)``, which
breaks equalities and binding constraints by a bounded amount. A check
*holds exactly* when its exact slack is ≥ 0 (an equality: its exact
difference is 0), *holds within tolerance* when it fails by at most a
tolerance derived from δ (a first-order bound on what rounding can do,
times :data:`SAFETY`; see :func:`verify_result`), and *fails* otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from calmech.environment import Environment
from calmech.errors import InputError, MechanismError

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_DIGITS",
    "SAFETY",
    "Check",
    "VerificationReport",
    "verify_result",
]

#: Decimal digits the mechanism is rounded to by default.
DEFAULT_DIGITS = 9

#: Most digits accepted (beyond 15 a double has no more digits to give).
MAX_DIGITS = 15

#: Factor on the first-order rounding bound that makes each tolerance.
SAFETY = 10

#: Statuses of a check, from best to worst.
EXACT, WITHIN, FAILS = "exact", "within tolerance", "fails"


@dataclass(frozen=True)
class Check:
    """One constraint and its exact slack.

    Attributes
    ----------
    mechanism : {"calibrated", "standard"}
    where : str
        ``"signal 2"`` (numbered from 1) or ``"standard"``.
    family : str
        ``"distribution"``, ``"transfer bounds"``, ``"IC"``, ``"IR"``,
        ``"Bayes plausibility"`` or ``"value"``.
    constraint : str
        What is checked, e.g. ``"IC for type 'low' vs 'high'"``.
    slack : Fraction
        Exact slack (≥ 0 holds); for an equality, minus the absolute
        difference.
    tolerance : Fraction
        Largest failure attributed to rounding.
    equality : bool
    """

    mechanism: str
    where: str
    family: str
    constraint: str
    slack: Fraction
    tolerance: Fraction
    equality: bool = False

    @property
    def status(self) -> str:
        """``"exact"``, ``"within tolerance"`` or ``"fails"``."""
        if self.slack >= 0:
            return EXACT
        return WITHIN if -self.slack <= self.tolerance else FAILS

    def describe(self) -> str:
        """One line naming the constraint and by how much it fails."""
        amount = _float(-self.slack)
        return f"{self.where}: {self.constraint} fails by {amount:.6g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "where": self.where,
            "family": self.family,
            "constraint": self.constraint,
            "kind": "equality" if self.equality else "inequality",
            "slack": _float(self.slack),
            "tolerance": _float(self.tolerance),
            "status": self.status,
        }


@dataclass(frozen=True)
class VerificationReport:
    """Every check of a saved result, and the verdict.

    Attributes
    ----------
    digits : int
        D, the decimal digits the mechanism was rounded to.
    checks : list of Check
    notes : list of str
        What could not be checked (an infeasible or unbounded claim).
    """

    digits: int
    checks: list[Check]
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """Checks that fail beyond their tolerance, worst first."""
        bad = [c for c in self.checks if c.status == FAILS]
        return sorted(bad, key=lambda c: c.slack)

    @property
    def verified(self) -> bool:
        return not self.failures

    @property
    def verdict(self) -> str:
        counts = {s: sum(c.status == s for c in self.checks) for s in (EXACT, WITHIN)}
        if self.verified:
            return (
                f"verified: {len(self.checks)} checks, {counts[EXACT]} exact and "
                f"{counts[WITHIN]} within the rounding tolerance "
                f"(mechanism rounded to {self.digits} digits)"
            )
        return (
            f"NOT verified: {len(self.failures)} check(s) fail; worst: "
            f"{self.failures[0].describe()}"
        )

    def families(self) -> list[dict[str, Any]]:
        """Per mechanism and family: the minimum slack and the status counts."""
        groups: dict[tuple[str, str], list[Check]] = {}
        for check in self.checks:
            groups.setdefault((check.mechanism, check.family), []).append(check)
        out = []
        for (mechanism, family), checks in groups.items():
            worst = min(checks, key=lambda c: c.slack)
            out.append(
                {
                    "mechanism": mechanism,
                    "family": family,
                    "checks": len(checks),
                    "exact": sum(c.status == EXACT for c in checks),
                    "within_tolerance": sum(c.status == WITHIN for c in checks),
                    "fails": sum(c.status == FAILS for c in checks),
                    "min_slack": _float(worst.slack),
                    "worst": f"{worst.where}: {worst.constraint}",
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The document printed by ``calmech verify --json``."""
        return {
            "verified": self.verified,
            "verdict": self.verdict,
            "digits": self.digits,
            "safety_factor": SAFETY,
            "families": self.families(),
            "failures": [c.describe() for c in self.failures],
            "notes": list(self.notes),
            "checks": [c.to_dict() for c in self.checks],
        }

    def __repr__(self) -> str:
        return f"VerificationReport({self.verdict})"


# ----------------------------------------------------------------------
# Reading numbers
# ----------------------------------------------------------------------
def _float(x: Fraction) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _exact(value: float) -> Fraction:
    """An environment number as the decimal it prints as."""
    return Fraction(repr(float(value)))


def _rounded(where: str, value: Any, digits: int) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MechanismError(where, "must be a number", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise MechanismError(where, "must be finite", value)
    return round(Fraction(value), digits)


def _array(where: str, value: Any, shape: tuple[int, ...], digits: int) -> list[Any]:
    """Nested lists of ``shape`` to nested lists of rounded Fractions."""
    if not shape:
        return _rounded(where, value, digits)  # type: ignore[return-value]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise MechanismError(where, f"must be a list of {shape[0]}", value)
    if len(value) != shape[0]:
        raise MechanismError(where, f"must have {shape[0]} entries", len(value))
    return [
        _array(f"{where}[{i}]", item, shape[1:], digits) for i, item in enumerate(value)
    ]


def _table(where: str, doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise MechanismError(where, "must be an object", doc)
    return doc


def _get(where: str, doc: Mapping[str, Any], key: str) -> Any:
    if key not in doc:
        raise MechanismError(f"{where}.{key}", "is required in a solve result")
    return doc[key]


# ----------------------------------------------------------------------
# The environment in exact arithmetic
# ----------------------------------------------------------------------
@dataclass
class _Exact:
    M: int
    N: int
    K: int
    u: list[list[list[Fraction]]]
    v: list[list[list[Fraction]]]
    u0: list[list[Fraction]]
    prior: list[list[Fraction]]
    mu0: list[Fraction]
    cond: list[list[Fraction]]
    tau: Fraction
    lo: Fraction | None
    hi: Fraction | None
    scale: Fraction


def _exact_env(env: Environment) -> _Exact:
    M, N, K = env.shape

    def grid(array: Any) -> Any:
        if getattr(array, "ndim", 0) == 0:
            return _exact(array)
        return [grid(a) for a in array]

    prior = grid(env.prior)
    mu0 = [sum((prior[n][k] for n in range(N)), Fraction(0)) for k in range(K)]
    cond = [[prior[n][k] / mu0[k] for k in range(K)] for n in range(N)]
    lo, hi = env.bounds
    u, v, u0 = (
        grid(env.agent_payoff),
        grid(env.designer_payoff),
        grid(env.outside_option),
    )
    scale = max(
        [Fraction(1)]
        + [abs(x) for a in u for b in a for x in b]
        + [abs(x) for a in v for b in a for x in b]
        + [abs(x) for a in u0 for x in a]
    )
    return _Exact(
        M,
        N,
        K,
        u,
        v,
        u0,
        prior,
        mu0,
        cond,
        _exact(env.transfer_weight),
        None if math.isinf(lo) else _exact(lo),
        None if math.isinf(hi) else _exact(hi),
        scale,
    )


# ----------------------------------------------------------------------
# Checks shared by both mechanisms
# ----------------------------------------------------------------------
def _distribution_checks(
    add: Any, env: Environment, column: list[Fraction], label: str, delta: Fraction
) -> None:
    """``column`` (one rule's probabilities over allocations) is a distribution."""
    M = len(column)
    for m, p in enumerate(column):
        if p < 0:
            add(
                "distribution",
                f"P({env.allocations[m]!r} | {label}) >= 0",
                p,
                SAFETY * delta,
            )
    add(
        "distribution",
        f"probabilities for {label} sum to 1",
        -abs(sum(column, Fraction(0)) - 1),
        SAFETY * M * delta,
        True,
    )


def _bound_checks(
    add: Any, ex: _Exact, money: bool, t: Fraction, label: str, delta: Fraction
) -> None:
    if not money:
        add("transfer bounds", f"no payment for {label}", -abs(t), Fraction(0), True)
        return
    if ex.lo is not None:
        tol = SAFETY * delta * max(1, abs(ex.lo))
        add(
            "transfer bounds",
            f"payment for {label} >= {float(ex.lo):g}",
            t - ex.lo,
            tol,
        )
    if ex.hi is not None:
        tol = SAFETY * delta * max(1, abs(ex.hi))
        add(
            "transfer bounds",
            f"payment for {label} <= {float(ex.hi):g}",
            ex.hi - t,
            tol,
        )


def _incentive_checks(
    add: Any,
    env: Environment,
    ex: _Exact,
    n: int,
    belief: list[Fraction],
    rules: list[tuple[list[Fraction], list[Fraction]]],
    transfers: list[list[Fraction]],
    tol: Fraction,
) -> None:
    """IC and IR of type ``n`` with belief ``belief`` over states.

    ``rules[r] = (x(· | r, ω) for ω)`` as ``rules[r][k][m]``; ``transfers[r][k]``.
    """
    K = ex.K

    def payoff(r: int) -> Fraction:
        total = Fraction(0)
        for k in range(K):
            if belief[k] == 0:
                continue
            x = rules[r][k]
            gross = sum((ex.u[m][n][k] * x[m] for m in range(ex.M)), Fraction(0))
            total += belief[k] * (gross - transfers[r][k])
        return total

    truthful = payoff(n)
    name = env.types[n]
    for r in range(ex.N):
        if r != n:
            add(
                "IC",
                f"IC for type {name!r} vs {env.types[r]!r}",
                truthful - payoff(r),
                tol,
            )
    outside = sum((belief[k] * ex.u0[n][k] for k in range(K)), Fraction(0))
    add("IR", f"IR for type {name!r}", truthful - outside, tol)


# ----------------------------------------------------------------------
# The calibrated (two-stage) mechanism
# ----------------------------------------------------------------------
def _verify_calibrated(
    env: Environment, ex: _Exact, doc: Mapping[str, Any], digits: int, checks: list
) -> list[str]:
    M, N, K = ex.M, ex.N, ex.K
    delta = Fraction(1, 10**digits)
    status = doc.get("status")
    if status == "infeasible":
        return ["calibrated: the result claims no feasible mechanism; not checked"]
    signals = _get("calibrated", doc, "signals")
    if not isinstance(signals, list) or not signals:
        raise MechanismError("calibrated.signals", "must be a non-empty list", signals)
    claimed_total = _rounded(
        "calibrated.value", _get("calibrated", doc, "value"), digits
    )
    tmax = Fraction(0)
    parsed = []
    for s, raw in enumerate(signals):
        where = f"calibrated.signals[{s}]"
        sig = _table(where, raw)
        p = _rounded(f"{where}.probability", _get(where, sig, "probability"), digits)
        mu = _array(f"{where}.posterior", _get(where, sig, "posterior"), (K,), digits)
        x = _array(
            f"{where}.allocation", _get(where, sig, "allocation"), (M, N), digits
        )
        t = _array(f"{where}.transfers", _get(where, sig, "transfers"), (N,), digits)
        value = _rounded(f"{where}.value", _get(where, sig, "value"), digits)
        tmax = max([tmax] + [abs(a) for a in t])
        parsed.append((p, mu, x, t, value))
    S = len(parsed)
    big = ex.scale + tmax
    value_tol = SAFETY * delta * (M + K + 1) * (ex.scale + abs(ex.tau) * (tmax + 1))

    def adder(where: str) -> Any:
        def add(family, constraint, slack, tol, equality=False):
            checks.append(
                Check("calibrated", where, family, constraint, slack, tol, equality)
            )

        return add

    # Bayes plausibility: probabilities, posteriors, and their mean.
    add = adder("signals")
    for s, (p, mu, *_rest) in enumerate(parsed):
        if p < 0:
            add(
                "Bayes plausibility",
                f"signal {s + 1} probability >= 0",
                p,
                SAFETY * delta,
            )
        for k in range(K):
            if mu[k] < 0:
                add(
                    "Bayes plausibility",
                    f"signal {s + 1} posterior of {env.states[k]!r} >= 0",
                    mu[k],
                    SAFETY * delta,
                )
        add(
            "Bayes plausibility",
            f"signal {s + 1} posterior sums to 1",
            -abs(sum(mu, Fraction(0)) - 1),
            SAFETY * K * delta,
            True,
        )
    add(
        "Bayes plausibility",
        "signal probabilities sum to 1",
        -abs(sum((p for p, *_ in parsed), Fraction(0)) - 1),
        SAFETY * S * delta,
        True,
    )
    for k in range(K):
        mean = sum((p * mu[k] for p, mu, *_ in parsed), Fraction(0))
        add(
            "Bayes plausibility",
            f"mean posterior of {env.states[k]!r} equals the prior",
            -abs(mean - ex.mu0[k]),
            SAFETY * (2 * S + 1) * delta,
            True,
        )

    # Each signal: feasibility, IC and IR at its posterior, its value.
    total = Fraction(0)
    for s, (p, mu, x, t, value) in enumerate(parsed):
        add = adder(f"signal {s + 1}")
        for n in range(N):
            label = f"report {env.types[n]!r}"
            _distribution_checks(add, env, [x[m][n] for m in range(M)], label, delta)
            _bound_checks(add, ex, env.transfers, t[n], label, delta)
        rules = [[[x[m][r] for m in range(M)]] * K for r in range(N)]
        flat_t = [[t[r]] * K for r in range(N)]
        recomputed = Fraction(0)
        for n in range(N):
            joint = [mu[k] * ex.cond[n][k] for k in range(K)]
            weight = sum(joint, Fraction(0))
            if weight <= 0:
                continue
            belief = [j / weight for j in joint]
            cmax = max(ex.cond[n])
            tol = (
                SAFETY * delta * (2 * (M * ex.scale + 1) + 4 * K * big * cmax / weight)
            )
            _incentive_checks(add, env, ex, n, belief, rules, flat_t, tol)
            for k in range(K):
                gross = sum((ex.v[m][n][k] * x[m][n] for m in range(M)), Fraction(0))
                recomputed += joint[k] * (gross + ex.tau * t[n])
        add(
            "value",
            "claimed signal value equals the rule's value",
            -abs(value - recomputed),
            value_tol,
            True,
        )
        total += p * recomputed
    add = adder("calibrated")
    add(
        "value",
        "claimed value equals Σ_s p_s × value of signal s",
        -abs(claimed_total - total),
        2 * value_tol,
        True,
    )
    return []


# ----------------------------------------------------------------------
# The standard (state-contingent) mechanism
# ----------------------------------------------------------------------
def _verify_standard(
    env: Environment, ex: _Exact, doc: Mapping[str, Any], digits: int, checks: list
) -> list[str]:
    M, N, K = ex.M, ex.N, ex.K
    delta = Fraction(1, 10**digits)
    status = doc.get("status")
    if status in ("infeasible", "unbounded"):
        return [f"standard: the result claims the problem is {status}; not checked"]
    x = _array(
        "standard.allocation", _get("standard", doc, "allocation"), (M, N, K), digits
    )
    t = _array("standard.transfers", _get("standard", doc, "transfers"), (N, K), digits)
    claimed = _rounded("standard.value", _get("standard", doc, "value"), digits)
    tmax = max([Fraction(0)] + [abs(a) for row in t for a in row])

    def add(family, constraint, slack, tol, equality=False):
        checks.append(
            Check("standard", "standard", family, constraint, slack, tol, equality)
        )

    # Feasibility of every (report, state).
    for n in range(N):
        for k in range(K):
            label = f"report {env.types[n]!r} in state {env.states[k]!r}"
            _distribution_checks(add, env, [x[m][n][k] for m in range(M)], label, delta)
            _bound_checks(add, ex, env.transfers, t[n][k], label, delta)

    # Interim IC and IR under P(ω | θ), and the value.
    rules = [[[x[m][r][k] for m in range(M)] for k in range(K)] for r in range(N)]
    tol = SAFETY * delta * 2 * (M * ex.scale + 1)
    value = Fraction(0)
    for n in range(N):
        mass = sum(ex.prior[n], Fraction(0))
        belief = [ex.prior[n][k] / mass for k in range(K)]
        _incentive_checks(add, env, ex, n, belief, rules, t, tol)
        for k in range(K):
            gross = sum((ex.v[m][n][k] * x[m][n][k] for m in range(M)), Fraction(0))
            value += ex.prior[n][k] * (gross + ex.tau * t[n][k])
    value_tol = SAFETY * delta * (M + 1) * (ex.scale + abs(ex.tau) * (tmax + 1))
    add(
        "value",
        "claimed value equals the mechanism's value",
        -abs(claimed - value),
        value_tol,
        True,
    )
    return []


def _check_labels(env: Environment, doc: Mapping[str, Any]) -> None:
    described = doc.get("environment")
    if described is None:
        return
    described = _table("environment", described)
    for axis in ("states", "types", "allocations"):
        if axis in described and list(described[axis]) != list(getattr(env, axis)):
            raise MechanismError(
                f"environment.{axis}",
                f"must match the environment file's {axis} {list(getattr(env, axis))}",
                described[axis],
            )


def verify_result(
    env: Environment, document: Mapping[str, Any], digits: int = DEFAULT_DIGITS
) -> VerificationReport:
    """Re-check a saved ``calmech solve --json`` result exactly.

    Parameters
    ----------
    env : Environment
        The environment the result was computed for.
    document : mapping
        The JSON document, with ``calibrated`` and/or ``standard``.
    digits : int, default 9
        D: every number of the mechanism is rounded to D decimal digits
        (δ = 10^(−D)) before the exact checks.

    Returns
    -------
    VerificationReport

    Raises
    ------
    InputError
        For ``digits`` outside 1 to :data:`MAX_DIGITS`.
    MechanismError
        For a document that is not a solve result for ``env`` (missing
        keys, wrong shapes, labels that differ, non-finite numbers).

    Notes
    -----
    Tolerances (S = 1 ∨ largest payoff magnitude, T = largest transfer,
    c = max_ω P(θ | ω), W = the type's weight, M, K, S_n = numbers of
    allocations, states and signals), each times :data:`SAFETY`:

    * a probability or transfer bound: δ (times the bound's magnitude);
    * a distribution's sum: M δ; a posterior's sum: K δ;
      Bayes plausibility: (2 S_n + 1) δ;
    * IC and IR at a posterior: δ [2 (M S + 1) + 4 K (S + T) c / W], the
      second term because rounding μ_s moves a rare type's belief most;
      in the standard mechanism 2 (M S + 1) δ;
    * a value: (M + K + 1)(S + |τ| (T + 1)) δ, twice that for the total.

    A solver's own error (about 1e-10 here) is covered for D ≤ 9; with
    larger D the checks show it.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> from calmech.mechanisms import solve
    >>> from calmech.cli.common import plain
    >>> doc = plain(solve(quality()).to_dict())
    >>> verify_result(quality(), doc).verified
    True
    >>> doc["calibrated"]["signals"][0]["transfers"][0] += 0.5
    >>> verify_result(quality(), doc).failures[0].describe()  # doctest: +ELLIPSIS
    "signal 1: ... fails by 0.5"
    """
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise InputError("digits", "must be an integer", digits)
    if not 1 <= digits <= MAX_DIGITS:
        raise InputError("digits", f"must be between 1 and {MAX_DIGITS}", digits)
    document = _table("result", document)
    if "calibrated" not in document and "standard" not in document:
        raise MechanismError(
            "result", "needs a 'calibrated' or 'standard' object (calmech solve --json)"
        )
    _check_labels(env, document)
    ex = _exact_env(env)
    checks: list[Check] = []
    notes: list[str] = []
    if document.get("calibrated") is not None:
        doc = _table("calibrated", document["calibrated"])
        notes += _verify_calibrated(env, ex, doc, digits, checks)
    if document.get("standard") is not None:
        doc = _table("standard", document["standard"])
        notes += _verify_standard(env, ex, doc, digits, checks)
    return VerificationReport(digits, checks, notes)
