"""Optimal mechanisms and the four benchmarks of THEORY §5.

=================  =====================  ==================================
name               value                  mechanism
=================  =====================  ==================================
no disclosure      V(μ₀)                  one state-independent mechanism
full transparency  Σ_k μ₀(k) V(δ_k)       reveal ω, then screen state by state
calibrated         cav V(μ₀)              disclose a signal, then screen
standard           LP of THEORY §3        state-contingent; not sustainable
=================  =====================  ==================================

Always max(no disclosure, full transparency) ≤ calibrated ≤ standard.
:func:`solve` computes all four, checks every mechanism it returns (IC and
IR at each posterior, Bayes plausibility, value recomputed) and applies the
calibration check to the standard optimum.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.calibration import CalibrationReport, check_calibration
from calmech.envelope import EnvelopeResult, concavify
from calmech.environment import Environment
from calmech.errors import InputError, SolverError
from calmech.lp import expected_payoffs, primitives, standard_lp, type_beliefs
from calmech.value import ValueFunction, ValuePoint

__all__ = [
    "Benchmark",
    "CalibratedMechanism",
    "Signal",
    "Solution",
    "StandardMechanism",
    "calibrated_optimum",
    "full_transparency",
    "no_disclosure",
    "solve",
    "standard_optimum",
    "verify_signal",
]

logger = logging.getLogger("calmech")

#: Tolerance of the checks run on every returned mechanism (× payoff scale).
VERIFY_RTOL = 1e-6


def _float(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class Signal:
    """One signal of a two-stage mechanism and the rule it triggers.

    Attributes
    ----------
    probability : float
        p_s, the probability of the signal.
    posterior : ndarray, shape (K,)
        μ_s, the belief over states it induces.
    value : float
        V(μ_s).
    allocation : ndarray, shape (M, N)
        ``allocation[m, n]``, the state-independent rule after this signal.
    transfers : ndarray, shape (N,)
    """

    probability: float
    posterior: np.ndarray
    value: float
    allocation: np.ndarray
    transfers: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability": float(self.probability),
            "posterior": self.posterior.tolist(),
            "value": float(self.value),
            "allocation": self.allocation.tolist(),
            "transfers": self.transfers.tolist(),
        }


def _signals(points: list[ValuePoint], probabilities: np.ndarray) -> list[Signal]:
    return [
        Signal(float(p), pt.belief, pt.value, pt.allocation, pt.transfers)
        for p, pt in zip(probabilities, points, strict=True)
    ]


@dataclass(frozen=True)
class CalibratedMechanism:
    """The optimal calibrated (two-stage) mechanism.

    Attributes
    ----------
    value : float
        Σ_s p_s V(μ_s), attained by the signals below.
    upper_bound : float
        Certified bound on the optimum; equals ``value`` when exact.
    signals : list of Signal
        At most K signals (Carathéodory).
    status : str
        ``"optimal"``, ``"limit"`` or ``"infeasible"``.
    message : str
    method : str
    diagnostics : dict
        LPs solved, regions bounded, master iterations (no timings, so that
        the same input always gives the same document).
    """

    value: float
    upper_bound: float
    signals: list[Signal]
    status: str
    message: str
    method: str
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """``upper_bound − value``; 0 when infeasibility is proved."""
        if self.value == self.upper_bound:
            return 0.0
        return self.upper_bound - self.value

    def disclosure(self) -> np.ndarray:
        """The signal as ``π(s | ω)``, shape (S, K); columns sum to 1."""
        post = np.array([s.posterior for s in self.signals])
        probs = np.array([s.probability for s in self.signals])
        joint = post * probs[:, None]
        return joint / joint.sum(axis=0, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _float(self.value),
            "upper_bound": _float(self.upper_bound),
            "status": self.status,
            "signals": [s.to_dict() for s in self.signals],
        }

    def __repr__(self) -> str:
        return (
            f"CalibratedMechanism(value={self.value:.10g}, gap={self.gap:.2g}, "
            f"{len(self.signals)} signal(s), {self.status})"
        )


@dataclass(frozen=True)
class StandardMechanism:
    """The textbook (full-commitment, state-contingent) optimum of THEORY §3.

    Attributes
    ----------
    value : float
    allocation : ndarray, shape (M, N, K) or None
    transfers : ndarray, shape (N, K) or None
    status : str
    message : str
    calibration : CalibrationReport or None
        Whether this mechanism survives an agent who learns.
    """

    value: float
    allocation: np.ndarray | None
    transfers: np.ndarray | None
    status: str
    message: str = ""
    calibration: CalibrationReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _float(self.value),
            "status": self.status,
            "allocation": None if self.allocation is None else self.allocation.tolist(),
            "transfers": None if self.transfers is None else self.transfers.tolist(),
            "calibrated": None
            if self.calibration is None
            else self.calibration.calibrated,
        }

    def __repr__(self) -> str:
        verdict = ""
        if self.calibration is not None:
            verdict = (
                ", calibrated" if self.calibration.calibrated else ", not calibrated"
            )
        return f"StandardMechanism(value={self.value:.10g}, {self.status}{verdict})"


@dataclass(frozen=True)
class Benchmark:
    """No disclosure or full transparency: a fixed split and its value."""

    name: str
    value: float
    points: list[ValuePoint]
    probabilities: np.ndarray

    @property
    def signals(self) -> list[Signal]:
        return _signals(self.points, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        feasible = math.isfinite(self.value)
        return {
            "name": self.name,
            "value": _float(self.value),
            "signals": [s.to_dict() for s in self.signals] if feasible else [],
        }

    def __repr__(self) -> str:
        return f"Benchmark({self.name}, value={self.value:.10g})"


def standard_optimum(env: Environment, check: bool = True) -> StandardMechanism:
    """The standard optimum, with the calibration verdict on it.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> std = standard_optimum(monopoly())
    >>> round(std.value, 9), std.calibration.calibrated
    (1.5, False)
    """
    prim = primitives(env)
    M, N, K = env.shape
    result = standard_lp(prim).solve()
    if not result.optimal:
        reason = {
            "infeasible": "no mechanism meets every type's participation constraint",
            "unbounded": "the designer's payoff is unbounded (transfers without limit)",
        }.get(result.status, result.message)
        return StandardMechanism(
            -math.inf if result.status == "infeasible" else math.inf,
            None,
            None,
            result.status,
            reason,
        )
    z = result.x
    x = np.clip(z[: M * N * K].reshape(M, N, K), 0.0, None)
    x /= x.sum(axis=0, keepdims=True)
    t = z[M * N * K : M * N * K + N * K].reshape(N, K) + 0.0
    report = check_calibration(env, x, t) if check else None
    return StandardMechanism(
        float(result.value) + 0.0, x, t, "optimal", result.message, report
    )


def no_disclosure(env: Environment, vf: ValueFunction | None = None) -> Benchmark:
    """V(μ₀): one state-independent mechanism, nothing disclosed.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> round(no_disclosure(monopoly()).value, 9)
    1.0
    """
    vf = vf or ValueFunction(env)
    point = vf._solve(np.asarray(env.state_prior, dtype=float))
    return Benchmark("no disclosure", point.value, [point], np.ones(1))


def full_transparency(env: Environment, vf: ValueFunction | None = None) -> Benchmark:
    """Σ_k μ₀(k) V(δ_k): reveal the state, then screen state by state.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> round(full_transparency(monopoly()).value, 9)
    1.3
    """
    vf = vf or ValueFunction(env)
    K = env.shape[2]
    points = [vf._solve(np.eye(K)[k]) for k in range(K)]
    mu0 = np.asarray(env.state_prior, dtype=float)
    values = np.array([p.value for p in points])
    value = float(mu0 @ values) if np.all(np.isfinite(values)) else -math.inf
    return Benchmark("full transparency", value, points, mu0.copy())


def calibrated_optimum(
    env: Environment,
    method: str = "auto",
    tol: float | None = None,
    time_limit: float = 60.0,
    vf: ValueFunction | None = None,
) -> CalibratedMechanism:
    """The optimal calibrated mechanism: cav V(μ₀) with its signals.

    Parameters
    ----------
    env : Environment
    method : {"auto", "envelope"}, default "auto"
        ``"auto"`` uses THEORY §6 for private values (full transparency is
        optimal, exactly) and the certified envelope otherwise;
        ``"envelope"`` always runs the envelope algorithm.
    tol : float, optional
        Target gap relative to the payoff scale (see
        :func:`calmech.envelope.concavify`).
    time_limit : float, default 60
    vf : ValueFunction, optional
        Reuse a value function (and its LP count).

    Returns
    -------
    CalibratedMechanism

    Examples
    --------
    >>> from calmech.examples import quality
    >>> mech = calibrated_optimum(quality())
    >>> round(mech.value, 9), len(mech.signals)
    (1.25, 2)
    """
    if method not in ("auto", "envelope"):
        raise InputError("method", "must be 'auto' or 'envelope'", method)
    vf = vf or ValueFunction(env)
    if method == "auto" and env.private_values:
        bench = full_transparency(env, vf)
        feasible = math.isfinite(bench.value)
        keep = [k for k, p in enumerate(bench.probabilities) if p > 0]
        return CalibratedMechanism(
            value=bench.value,
            upper_bound=bench.value,
            signals=_signals([bench.points[k] for k in keep], bench.probabilities[keep])
            if feasible
            else [],
            status="optimal" if feasible else "infeasible",
            message="private values: full transparency is optimal (THEORY §6)",
            method="full transparency (private values theorem)",
            diagnostics={"lps": len(bench.points)},
        )
    res: EnvelopeResult = concavify(vf, tol=tol, time_limit=time_limit)
    return CalibratedMechanism(
        value=res.value,
        upper_bound=res.upper_bound,
        signals=_signals(res.points, res.probabilities)
        if res.status != "infeasible"
        else [],
        status=res.status,
        message=res.message,
        method=res.method,
        diagnostics={
            "lps": res.lps,
            "bound_regions": res.bound_nodes,
            "master_iterations": res.iterations,
            "pool": res.pool_size,
        },
    )


def verify_signal(
    env: Environment,
    posterior: np.ndarray,
    allocation: np.ndarray,
    transfers: np.ndarray,
    atol: float,
) -> list[str]:
    """Problems with a state-independent rule at a posterior (empty if none).

    Checks feasibility (probabilities, transfer bounds) and IC and IR of every
    type with positive weight under its belief at ``posterior``.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> env = monopoly()
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0]])  # sell to both at price 2
    >>> verify_signal(env, np.array([0.5, 0.5]), x, np.array([2.0, 2.0]), 1e-9)
    ["IR: type 'low' loses 1 at this posterior"]
    """
    prim = primitives(env)
    problems: list[str] = []
    if allocation.min() < -atol or np.abs(allocation.sum(axis=0) - 1).max() > atol:
        problems.append("allocation: not a probability distribution for every type")
    lo, hi = env.bounds
    if transfers.min() < lo - atol or transfers.max() > hi + atol:
        problems.append("transfers: outside the transfer bounds")
    weights, beliefs = type_beliefs(prim, posterior)
    U, U0, _ = expected_payoffs(prim, beliefs)
    for n in np.flatnonzero(weights > 0):
        payoff = U[:, n] @ allocation - transfers
        gain = payoff - payoff[n]
        dev = int(np.argmax(gain))
        if gain[dev] > atol:
            problems.append(
                f"IC: type {env.types[n]!r} gains {gain[dev]:.6g} by reporting "
                f"{env.types[dev]!r}"
            )
        if U0[n] - payoff[n] > atol:
            problems.append(
                f"IR: type {env.types[n]!r} loses {U0[n] - payoff[n]:.6g} at this "
                "posterior"
            )
    return problems


def _signal_value(env: Environment, sig: Signal) -> float:
    prim = primitives(env)
    weights, beliefs = type_beliefs(prim, sig.posterior)
    _, _, V = expected_payoffs(prim, beliefs)
    per_type = (V * sig.allocation).sum(axis=0) + prim.tau * sig.transfers
    return float(weights @ per_type)


def _verify(env: Environment, mech: CalibratedMechanism, atol: float) -> list[str]:
    """Every check of a calibrated mechanism; the list of failures."""
    if mech.status == "infeasible":
        return []
    problems = []
    mu0 = np.asarray(env.state_prior)
    probs = np.array([s.probability for s in mech.signals])
    if np.abs(probs.sum() - 1) > 1e-9 or probs.min() < 0:
        problems.append("signal probabilities do not form a distribution")
    mean = sum(s.probability * s.posterior for s in mech.signals)
    if np.abs(mean - mu0).max() > 1e-8:
        problems.append(
            f"Bayes plausibility fails: mean posterior {mean} ≠ prior {mu0}"
        )
    total = 0.0
    for s, sig in enumerate(mech.signals):
        for p in verify_signal(env, sig.posterior, sig.allocation, sig.transfers, atol):
            problems.append(f"signal {s}: {p}")
        recomputed = _signal_value(env, sig)
        if abs(recomputed - sig.value) > atol:
            problems.append(
                f"signal {s}: claimed value {sig.value} but the rule gives {recomputed}"
            )
        total += sig.probability * recomputed
    if abs(total - mech.value) > atol:
        problems.append(f"claimed value {mech.value} but the signals give {total}")
    if mech.upper_bound < mech.value - atol:
        problems.append("upper bound below the value")
    return problems


@dataclass(frozen=True)
class Solution:
    """Everything :func:`solve` computes for one environment.

    Attributes
    ----------
    environment : Environment
    standard : StandardMechanism
    calibrated : CalibratedMechanism
    no_disclosure, full_transparency : Benchmark
    private_values : bool
    """

    environment: Environment
    standard: StandardMechanism
    calibrated: CalibratedMechanism
    no_disclosure: Benchmark
    full_transparency: Benchmark
    private_values: bool

    @property
    def values(self) -> dict[str, float]:
        """The four values by name."""
        return {
            "standard": self.standard.value,
            "calibrated": self.calibrated.value,
            "full_transparency": self.full_transparency.value,
            "no_disclosure": self.no_disclosure.value,
        }

    def explain(self) -> list[str]:
        """Plain-language sentences on what the numbers mean."""
        v = self.values
        lines = []
        if self.private_values:
            lines.append(
                "Private values: the agent's payoff does not depend on the state, "
                "so disclosure cannot loosen incentives and full transparency is "
                "optimal among calibrated mechanisms (THEORY §6)."
            )
        best_simple = max(v["no_disclosure"], v["full_transparency"])
        if self.calibrated.status == "optimal" and v["calibrated"] > best_simple + 1e-9:
            lines.append(
                "Partial disclosure is strictly better: it earns "
                f"{v['calibrated']:.6g} "
                f"against {best_simple:.6g} for the better of no disclosure and full "
                "transparency."
            )
        rep = self.standard.calibration
        if rep is not None:
            if rep.calibrated:
                lines.append(
                    "The textbook optimum is calibrated: it survives learning."
                )
            else:
                lines.append(
                    "The textbook optimum is not calibrated: once the agent learns "
                    f"what it reveals, {rep.violations[0]}."
                )
                same = abs(v["standard"] - v["calibrated"])
                if same <= 1e-7 * max(1.0, abs(v["standard"])):
                    lines.append(
                        "Its value is nonetheless attained by the calibrated optimum: "
                        "the standard problem has several optimal mechanisms, and "
                        "the one the solver returned is not calibrated."
                    )
        if math.isfinite(v["standard"]) and v["standard"] > v["calibrated"] + 1e-9:
            lines.append(
                f"Calibration costs {v['standard'] - v['calibrated']:.6g} against the "
                "textbook promise, which cannot be sustained."
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The document printed by ``calmech solve --json``."""
        env = self.environment
        return {
            "environment": {
                "name": env.name,
                "states": list(env.states),
                "types": list(env.types),
                "allocations": list(env.allocations),
            },
            "values": {k: _float(v) for k, v in self.values.items()},
            "calibrated": {
                **self.calibrated.to_dict(),
                "method": self.calibrated.method,
                "message": self.calibrated.message,
                "diagnostics": self.calibrated.diagnostics,
            },
            "standard": self.standard.to_dict(),
            "standard_calibration": None
            if self.standard.calibration is None
            else self.standard.calibration.to_dict(),
            "private_values": self.private_values,
        }

    def __repr__(self) -> str:
        v = ", ".join(
            f"{k}={x:.6g}" if math.isfinite(x) else f"{k}={x}"
            for k, x in self.values.items()
        )
        return f"Solution({self.environment.name!r}: {v})"


def solve(
    env: Environment,
    method: str = "auto",
    tol: float | None = None,
    time_limit: float = 60.0,
) -> Solution:
    """The optimal calibrated mechanism beside the three benchmarks.

    Every mechanism returned has been checked: incentive compatibility and
    participation at each posterior, Bayes plausibility, and the claimed
    values recomputed from the rules (tolerance 1e-6 × payoff scale).
    Payoffs far from 1 in magnitude are solved in units near 1 and reported
    in the user's units (:mod:`calmech.scaling`), so that
    ``solve(c · env)`` is ``c · solve(env)`` for values and transfers.

    Parameters
    ----------
    env : Environment
    method, tol, time_limit
        Passed to :func:`calibrated_optimum`.

    Returns
    -------
    Solution

    Raises
    ------
    SolverError
        If a returned mechanism fails its checks (a bug; please report it).

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> sol = solve(monopoly())
    >>> {k: round(v, 9) for k, v in sol.values.items()}
    {'standard': 1.5, 'calibrated': 1.3, 'full_transparency': 1.3, 'no_disclosure': 1.0}
    """
    from calmech.scaling import rescale, unscale_solution

    # Solve in units near 1; the checks below then run in those units.
    scaled, factor = rescale(env)
    if factor != 1.0:
        inner = solve(scaled, method=method, tol=tol, time_limit=time_limit)
        return unscale_solution(inner, env, factor)

    vf = ValueFunction(env)
    nd = no_disclosure(env, vf)
    ft = full_transparency(env, vf)
    cal = calibrated_optimum(env, method=method, tol=tol, time_limit=time_limit, vf=vf)
    std = standard_optimum(env)
    atol = VERIFY_RTOL * primitives(env).scale
    problems = _verify(env, cal, atol)
    if problems:
        raise SolverError(
            "calibrated mechanism failed its checks: " + "; ".join(problems)
        )
    for bench in (nd, ft):
        if math.isfinite(bench.value):
            for sig in bench.signals:
                found = verify_signal(
                    env, sig.posterior, sig.allocation, sig.transfers, atol
                )
                if found:
                    raise SolverError(f"{bench.name} failed its checks: {found}")
    if std.status == "optimal":
        from calmech.calibration import _violations

        one_shot, _ = _violations(
            env, std.allocation, std.transfers, list(range(env.shape[2])), atol
        )
        if one_shot:
            raise SolverError(f"standard optimum failed its checks: {one_shot[0]}")
    logger.info("solved %s: %s", env.name, cal)
    return Solution(env, std, cal, nd, ft, env.private_values)
