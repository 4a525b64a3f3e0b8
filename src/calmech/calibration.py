"""Is a state-contingent mechanism calibrated? (THEORY §4)

A patient agent who reports every type often enough learns the interim rule
``r ↦ (x(· | r, ω), t(r, ω))`` of the state ω that holds, so the mechanism
reveals the partition of Ω into cells of states with identical rules. The
mechanism is *calibrated* when, for every cell C and every type θ with
P(θ, C) > 0,

    Σ_{ω∈C} P(ω | θ, C) [u(x(θ,ω), θ, ω) − t(θ,ω)]
        ≥ Σ_{ω∈C} P(ω | θ, C) [u(x(θ',ω), θ, ω) − t(θ',ω)]   for all θ'   (IC)
    Σ_{ω∈C} P(ω | θ, C) [u(x(θ,ω), θ, ω) − t(θ,ω)] ≥ Σ_{ω∈C} P(ω | θ, C) u₀(θ,ω)  (IR)

Amounts are reported per unit of probability, i.e. as the type's expected
utility under its belief P(ω | θ, C), so that they read in payoff units.
Following THEORY §10, an indifferent agent tells the truth and stays:
constraints that hold with equality (within ``atol``) are satisfied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.environment import Environment

__all__ = [
    "CalibrationReport",
    "Violation",
    "check_calibration",
    "check_mechanism_arrays",
    "revealed_partition",
]

#: Default tolerance on constraints, relative to the payoff scale.
CHECK_RTOL = 1e-7
#: Two states are in one cell when their rules differ by at most this.
PARTITION_ATOL = 1e-9


@dataclass(frozen=True)
class Violation:
    """One constraint that fails, with its amount.

    Attributes
    ----------
    kind : {"IC", "IR"}
    cell : tuple of str
        The states of the cell.
    type : str
        The type whose constraint fails.
    deviation : str or None
        The report that does better (IC only).
    amount : float
        How much better the deviation (or the outside option) is, in
        expected payoff under the type's belief on the cell.
    """

    kind: str
    cell: tuple[str, ...]
    type: str
    deviation: str | None
    amount: float

    def __str__(self) -> str:
        where = "{" + ", ".join(self.cell) + "}"
        if self.kind == "IC":
            return (
                f"IC in cell {where}: type {self.type!r} gains {self.amount:.6g} "
                f"by reporting {self.deviation!r}"
            )
        return (
            f"IR in cell {where}: type {self.type!r} loses {self.amount:.6g} "
            "by participating"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cell": list(self.cell),
            "type": self.type,
            "deviation": self.deviation,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class CalibrationReport:
    """What a mechanism reveals and whether it stays incentive compatible.

    Attributes
    ----------
    calibrated : bool
    partition : list of tuple of str
        Cells of states with identical interim rules.
    posteriors : dict
        ``posteriors[cell][type]``: the type's belief over the cell's states.
    violations : list of Violation
        Every failing constraint, largest first.
    interim_ic : bool
        Whether the mechanism is IC and IR before any learning (the standard
        one-shot constraints of THEORY §3).
    """

    calibrated: bool
    partition: list[tuple[str, ...]]
    posteriors: dict[tuple[str, ...], dict[str, list[float]]]
    violations: list[Violation] = field(default_factory=list)
    interim_ic: bool = True

    @property
    def verdict(self) -> str:
        if self.calibrated:
            return "calibrated: every constraint holds on every revealed cell"
        worst = self.violations[0]
        return f"not calibrated: {len(self.violations)} violation(s); worst: {worst}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibrated": self.calibrated,
            "interim_incentive_compatible": self.interim_ic,
            "partition": [list(c) for c in self.partition],
            "posteriors": [
                {"cell": list(cell), "beliefs": beliefs}
                for cell, beliefs in self.posteriors.items()
            ],
            "violations": [v.to_dict() for v in self.violations],
            "verdict": self.verdict,
        }

    def __repr__(self) -> str:
        cells = " | ".join("{" + ", ".join(c) + "}" for c in self.partition)
        return f"CalibrationReport({self.verdict}; partition {cells})"


def check_mechanism_arrays(
    env: Environment, allocation: Any, transfers: Any | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a state-contingent mechanism against an environment.

    The rules and messages are those of :func:`calmech.files.load_mechanism`,
    so a mechanism is judged alike from Python and from a file.

    Returns
    -------
    allocation : ndarray, shape (M, N, K)
    transfers : ndarray, shape (N, K)

    Raises
    ------
    MechanismError

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> x, t = check_mechanism_arrays(monopoly(), np.full((2, 2, 2), 0.5))
    >>> t.shape
    (2, 2)
    """
    from calmech.files import load_mechanism

    document: dict[str, Any] = {"allocation": _as_lists(allocation)}
    if transfers is not None:
        document["transfers"] = _as_lists(transfers)
    return load_mechanism(document, env)


def _as_lists(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def revealed_partition(
    allocation: np.ndarray, transfers: np.ndarray, atol: float = PARTITION_ATOL
) -> list[list[int]]:
    """Cells of states whose interim rules coincide (within ``atol``).

    Parameters
    ----------
    allocation : ndarray, shape (M, N, K)
    transfers : ndarray, shape (N, K)

    Returns
    -------
    list of list of int
        State indices, cells in order of their first state.

    Examples
    --------
    >>> x = np.zeros((2, 1, 3)); x[1] = 1.0
    >>> revealed_partition(x, np.array([[1.0, 2.0, 1.0]]))
    [[0, 2], [1]]
    """
    K = allocation.shape[2]
    rules = np.concatenate(
        [allocation.reshape(-1, K), transfers.reshape(-1, K)], axis=0
    )
    cells: list[list[int]] = []
    for k in range(K):
        for cell in cells:
            if np.abs(rules[:, cell[0]] - rules[:, k]).max() <= atol:
                cell.append(k)
                break
        else:
            cells.append([k])
    return cells


def _violations(
    env: Environment,
    x: np.ndarray,
    t: np.ndarray,
    states: list[int],
    atol: float,
) -> tuple[list[Violation], dict[str, list[float]]]:
    """IC and IR violations of every type present on ``states``."""
    M, N, K = env.shape
    cell = tuple(env.states[k] for k in states)
    found: list[Violation] = []
    beliefs: dict[str, list[float]] = {}
    P = env.prior[:, states]
    u = env.agent_payoff[:, :, states]
    u0 = env.outside_option[:, states]
    xs, ts = x[:, :, states], t[:, states]
    for n in range(N):
        mass = P[n].sum()
        if mass <= 0:
            continue
        belief = P[n] / mass
        beliefs[env.types[n]] = belief.tolist()
        # Type n's expected utility from each report r: Σ_k β(k) [u(x(r,k)) − t(r,k)].
        payoff = np.einsum("k,mk,mrk->r", belief, u[:, n, :], xs) - ts @ belief
        truthful = payoff[n]
        for r in range(N):
            gain = payoff[r] - truthful
            if r != n and gain > atol:
                found.append(Violation("IC", cell, env.types[n], env.types[r], gain))
        loss = float(belief @ u0[n]) - truthful
        if loss > atol:
            found.append(Violation("IR", cell, env.types[n], None, loss))
    return found, beliefs


def check_calibration(
    env: Environment,
    allocation: Any,
    transfers: Any | None = None,
    rtol: float = CHECK_RTOL,
) -> CalibrationReport:
    """Check whether a state-contingent mechanism is calibrated.

    Parameters
    ----------
    env : Environment
    allocation : array_like, shape (M, N, K)
        ``allocation[m, n, k]``: probability of allocation m when type n is
        reported in state k.
    transfers : array_like, shape (N, K), optional
        Payments; zero by default.
    rtol : float, default 1e-7
        Tolerance on every constraint, relative to the payoff scale (the
        largest magnitude among u, u₀ and the transfers).

    Returns
    -------
    CalibrationReport

    Examples
    --------
    The textbook optimum of THEORY §8 A conditions on the state and is not
    calibrated:

    >>> from calmech.examples import monopoly
    >>> from calmech.mechanisms import standard_optimum
    >>> std = standard_optimum(monopoly())
    >>> report = check_calibration(monopoly(), std.allocation, std.transfers)
    >>> report.calibrated, report.partition
    (False, [('L',), ('H',)])
    """
    x, t = check_mechanism_arrays(env, allocation, transfers)
    scale = max(
        float(np.abs(env.agent_payoff).max()),
        float(np.abs(env.outside_option).max()),
        float(np.abs(t).max()) if t.size else 0.0,
        1e-300,
    )
    atol = rtol * scale
    cells = revealed_partition(x, t)
    violations: list[Violation] = []
    posteriors: dict[tuple[str, ...], dict[str, list[float]]] = {}
    for cell in cells:
        found, beliefs = _violations(env, x, t, cell, atol)
        violations.extend(found)
        posteriors[tuple(env.states[k] for k in cell)] = beliefs
    one_shot, _ = _violations(env, x, t, list(range(env.shape[2])), atol)
    violations.sort(key=lambda v: -v.amount)
    return CalibrationReport(
        calibrated=not violations,
        partition=[tuple(env.states[k] for k in c) for c in cells],
        posteriors=posteriors,
        violations=violations,
        interim_ic=not one_shot,
    )
