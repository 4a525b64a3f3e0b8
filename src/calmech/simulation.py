"""The repeated interaction, simulated, and its exact long run (THEORY §4, §10).

Nature draws the type θ, the state ω (and, for a two-stage mechanism, the
signal s ~ π(· | ω)) once; all persist. Every mechanism is run as a
*hidden-variable* mechanism: a hidden value h that the agent does not see
(h = ω for a state-contingent mechanism, h = (ω, s) for a two-stage one),
a rule ``r ↦ (x(· | r, h), t(r, h))`` for each h, and the agent's prior

    q(h | θ) = P(θ, h) / P(θ).

Each round t = 0, 1, ... the agent, holding a belief b_t over h,

1. leaves for good when max_r E_b[u(x(r, h), θ, ω) − t(r, h)] < E_b[u₀(θ, ω)]
   (the designer then gets 0 in every remaining round);
2. otherwise reports the maximiser, the truth on ties, and with probability
   ε_t = ε₀ / (1 + t)^γ a uniformly drawn other report instead;
3. receives a ~ x(· | r, h), pays t(r, h), and updates by Bayes' rule

       b_{t+1}(h') ∝ b_t(h') · x(a | r, h') · 1[|t(r, h') − t(r, h)| ≤ atol]

   (times ``1[u(a, θ, ω(h')) = u(a, θ, ω(h))]`` when realised payoffs are
   observed).

The designer earns v(a, θ, ω) + τ t(r, h) in a round the agent stays.

With γ ≤ 1 every report is tried infinitely often, so the belief converges
to the prior restricted to the *cell* of h: the hidden values whose interim
rules (and, with payoffs observed, payoffs of the allocations those rules
use) coincide with the true one. Since explorations vanish, the long-run
report is the best reply to that limit belief. :func:`long_run` computes this
limit exactly; :func:`simulate` runs many independent interactions at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.calibration import PARTITION_ATOL, revealed_partition
from calmech.environment import Environment
from calmech.errors import InputError, MechanismError
from calmech.mechanisms import (
    CalibratedMechanism,
    StandardMechanism,
    calibrated_optimum,
    standard_optimum,
)

__all__ = [
    "DECISION_RTOL",
    "HiddenMechanism",
    "LongRunAnalysis",
    "LongRunRow",
    "SimulationPaths",
    "SimulationResult",
    "best_reports",
    "exploration_rate",
    "hidden_mechanism",
    "long_run",
    "simulate",
]

#: Ties in the agent's decisions are judged within this × the payoff scale.
DECISION_RTOL = 1e-9
#: Largest number of points in :attr:`SimulationResult.series`.
SERIES_POINTS = 200
#: Share of the last rounds summarised in :attr:`SimulationResult.summary`.
WINDOW_SHARE = 0.1


# ----------------------------------------------------------------------
# Mechanisms as hidden-variable mechanisms
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class HiddenMechanism:
    """A mechanism whose rule depends on a hidden value h the agent learns.

    Attributes
    ----------
    name : str
        ``"standard"``, ``"calibrated"`` or a description of the source.
    labels : tuple of str
        One label per hidden value.
    state : ndarray of int, shape (H,)
        The state ω(h) each hidden value carries.
    joint : ndarray, shape (N, H)
        P(θ_n, h).
    allocation : ndarray, shape (H, M, N)
        ``allocation[h, m, r]`` = x(a_m | r, h).
    transfers : ndarray, shape (H, N)
        ``transfers[h, r]`` = t(r, h).
    """

    name: str
    labels: tuple[str, ...]
    state: np.ndarray
    joint: np.ndarray
    allocation: np.ndarray
    transfers: np.ndarray

    @property
    def size(self) -> int:
        """H, the number of hidden values."""
        return len(self.labels)

    def type_prior(self) -> np.ndarray:
        """q(h | θ), shape (N, H); rows sum to 1."""
        return self.joint / self.joint.sum(axis=1, keepdims=True)


def _state_contingent(
    env: Environment, allocation: np.ndarray, transfers: np.ndarray, name: str
) -> HiddenMechanism:
    K = env.shape[2]
    return HiddenMechanism(
        name=name,
        labels=tuple(env.states),
        state=np.arange(K),
        joint=np.asarray(env.prior, dtype=float).copy(),
        allocation=np.transpose(np.asarray(allocation, dtype=float), (2, 0, 1)),
        transfers=np.asarray(transfers, dtype=float).T.copy(),
    )


def _two_stage(env: Environment, mech: CalibratedMechanism) -> HiddenMechanism:
    if not mech.signals:
        raise MechanismError(
            "mechanism", "the calibrated optimum has no signals", mech.status
        )
    pi = mech.disclosure()  # (S, K)
    labels, states, joint, x, t = [], [], [], [], []
    for s, sig in enumerate(mech.signals):
        for k, state in enumerate(env.states):
            column = env.prior[:, k] * pi[s, k]
            if column.sum() <= 0:
                continue
            labels.append(f"{state}, signal {s + 1}")
            states.append(k)
            joint.append(column)
            x.append(sig.allocation)
            t.append(sig.transfers)
    return HiddenMechanism(
        name="calibrated",
        labels=tuple(labels),
        state=np.array(states, dtype=int),
        joint=np.array(joint).T,
        allocation=np.array(x, dtype=float),
        transfers=np.array(t, dtype=float),
    )


def hidden_mechanism(env: Environment, mechanism: Any = "standard") -> HiddenMechanism:
    """Represent any mechanism calmech knows as a hidden-variable mechanism.

    Parameters
    ----------
    env : Environment
    mechanism : str, StandardMechanism, CalibratedMechanism, tuple or HiddenMechanism
        ``"standard"`` or ``"calibrated"`` (solved here), an optimum already
        computed, an ``(allocation[m, n, k], transfers[n, k])`` pair (a
        state-contingent mechanism, e.g. from
        :func:`calmech.files.load_mechanism`), or a ready
        :class:`HiddenMechanism`.

    Returns
    -------
    HiddenMechanism

    Raises
    ------
    MechanismError
        When the optimum does not exist or the mechanism is of unknown kind.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> hm = hidden_mechanism(quality(), "calibrated")
    >>> hm.labels
    ('bad, signal 1', 'good, signal 2', 'bad, signal 2')
    """
    if isinstance(mechanism, HiddenMechanism):
        return mechanism
    if isinstance(mechanism, str):
        if mechanism == "standard":
            mechanism = standard_optimum(env, check=False)
        elif mechanism == "calibrated":
            mechanism = calibrated_optimum(env)
        else:
            raise MechanismError(
                "mechanism",
                "must be 'standard', 'calibrated' or a mechanism",
                mechanism,
            )
    if isinstance(mechanism, StandardMechanism):
        if mechanism.allocation is None:
            raise MechanismError(
                "mechanism",
                f"the standard optimum does not exist ({mechanism.message})",
                mechanism.status,
            )
        return _state_contingent(
            env, mechanism.allocation, mechanism.transfers, "standard"
        )
    if isinstance(mechanism, CalibratedMechanism):
        return _two_stage(env, mechanism)
    if isinstance(mechanism, tuple) and len(mechanism) == 2:
        from calmech.calibration import check_mechanism_arrays

        x, t = check_mechanism_arrays(env, *mechanism)
        return _state_contingent(env, x, t, "state-contingent")
    raise MechanismError(
        "mechanism",
        "must be 'standard', 'calibrated', an optimum or an (allocation, "
        "transfers) pair",
        type(mechanism).__name__,
    )


@dataclass(frozen=True)
class _Tables:
    """Every payoff the agent and the designer can meet, per hidden value."""

    agent: np.ndarray  # (N, H, R): E[u(x(r,h), θ, ω(h))] − t(r, h)
    outside: np.ndarray  # (N, H): u₀(θ, ω(h))
    designer: np.ndarray  # (N, H, R): E[v(x(r,h), θ, ω(h))] + τ t(r, h)
    atol: float  # decision tolerance


def _tables(env: Environment, hm: HiddenMechanism) -> _Tables:
    u = env.agent_payoff[:, :, hm.state]  # (M, N, H)
    v = env.designer_payoff[:, :, hm.state]
    tau = env.transfer_weight if env.transfers else 0.0
    agent = np.einsum("hmr,mnh->nhr", hm.allocation, u) - hm.transfers[None]
    designer = np.einsum("hmr,mnh->nhr", hm.allocation, v) + tau * hm.transfers[None]
    outside = env.outside_option[:, hm.state]
    scale = max(
        1.0,
        float(np.abs(env.agent_payoff).max()),
        float(np.abs(env.outside_option).max()),
        float(np.abs(hm.transfers).max()) if hm.transfers.size else 0.0,
    )
    return _Tables(agent, outside, designer, DECISION_RTOL * scale)


# ----------------------------------------------------------------------
# The agent's policy
# ----------------------------------------------------------------------
def best_reports(
    type_index: int,
    belief: np.ndarray,
    payoff: np.ndarray,
    outside: np.ndarray,
    atol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The agent's best reports and whether it stays, given its beliefs.

    The policy sees only the agent's own type, its beliefs and the
    mechanism's tables, never the hidden value that holds.

    Parameters
    ----------
    type_index : int
        The agent's type n.
    belief : ndarray, shape (R, H)
        Beliefs of R agents of type n over the hidden values.
    payoff : ndarray, shape (H, N)
        ``payoff[h, r]``: type n's expected payoff from report r if h holds.
    outside : ndarray, shape (H,)
        Type n's outside option if h holds.
    atol : float
        Tolerance of ties: an indifferent agent tells the truth and stays.

    Returns
    -------
    report : ndarray of int, shape (R,)
    stays : ndarray of bool, shape (R,)

    Examples
    --------
    >>> payoff = np.array([[1.0, 1.5], [1.0, 0.0]])  # two hidden values
    >>> best_reports(0, np.array([[0.5, 0.5], [0.9, 0.1]]), payoff,
    ...              np.zeros(2), 1e-9)
    (array([0, 1]), array([ True,  True]))
    """
    expected = belief @ payoff  # (R, N)
    best = expected.max(axis=1)
    truthful = expected[:, type_index] >= best - atol
    report = np.where(truthful, type_index, expected.argmax(axis=1))
    stays = best >= belief @ outside - atol
    return report, stays


def exploration_rate(t: Any, epsilon0: float = 0.5, decay: float = 0.6) -> Any:
    """ε_t = ε₀ / (1 + t)^γ, the probability of exploring in round t ≥ 0.

    Examples
    --------
    >>> float(exploration_rate(0)), round(float(exploration_rate(999)), 5)
    (0.5, 0.00792)
    """
    return epsilon0 / (1.0 + np.asarray(t, dtype=float)) ** decay


# ----------------------------------------------------------------------
# Exact long run
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class LongRunRow:
    """The long run of one (type, hidden value).

    Attributes
    ----------
    type : str
    hidden : str
    probability : float
        P(θ, h).
    cell : tuple of str
        The hidden values the agent cannot tell apart from the true one.
    belief : ndarray, shape (H,)
        Its limit belief: the prior q(· | θ) restricted to the cell.
    report : str or None
        What it reports in the long run; ``None`` when it leaves.
    designer_payoff : float
        The designer's expected payoff per round from it in the long run.
    designer_by_report : ndarray, shape (N,)
        The designer's expected payoff from each report (used to account
        for explorations).
    type_index : int
    report_index : int
        −1 when it leaves.
    """

    type: str
    hidden: str
    probability: float
    cell: tuple[str, ...]
    belief: np.ndarray
    report: str | None
    designer_payoff: float
    designer_by_report: np.ndarray
    type_index: int
    report_index: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "hidden": self.hidden,
            "probability": float(self.probability),
            "cell": list(self.cell),
            "belief": self.belief.tolist(),
            "report": self.report,
            "designer_payoff": float(self.designer_payoff),
        }


@dataclass(frozen=True)
class LongRunAnalysis:
    """What repeated use of a mechanism delivers once the agent has learned.

    Attributes
    ----------
    promised_value : float
        The mechanism's static value Σ P(θ, h) [v(x(θ, h)) + τ t(θ, h)].
    value : float
        The designer's long-run expected payoff per round.
    truthful_share, exit_share : float
        Probability that the agent reports truthfully / has left, in the long
        run.
    rows : list of LongRunRow
        One per (type, hidden value) of positive probability.
    labels : tuple of str
        The hidden values.
    """

    promised_value: float
    value: float
    truthful_share: float
    exit_share: float
    rows: list[LongRunRow]
    labels: tuple[str, ...]

    def with_exploration(self, epsilon: float) -> tuple[float, float, float]:
        """Expected (designer payoff, truthful share, exit share) per round.

        Once learned, the agent plays its long-run report with probability
        1 − ε and each other report with probability ε / (N − 1).

        Examples
        --------
        >>> from calmech.examples import monopoly
        >>> lr = long_run(monopoly(), "calibrated")
        >>> [round(x, 9) for x in lr.with_exploration(0.0)]
        [1.3, 1.0, 0.0]
        """
        pay = truth = 0.0
        for row in self.rows:
            if row.report_index < 0:
                continue
            N = row.designer_by_report.size
            others = (
                (row.designer_by_report.sum() - row.designer_payoff) / (N - 1)
                if N > 1
                else row.designer_payoff
            )
            e = epsilon if N > 1 else 0.0
            pay += row.probability * ((1 - e) * row.designer_payoff + e * others)
            truthful = row.report_index == row.type_index
            share = (1 - e) if truthful else e / (N - 1)
            truth += row.probability * share
        return float(pay), float(truth), float(self.exit_share)

    def to_dict(self) -> dict[str, Any]:
        return {
            "promised_value": float(self.promised_value),
            "value": float(self.value),
            "truthful_share": float(self.truthful_share),
            "exit_share": float(self.exit_share),
            "hidden_values": list(self.labels),
            "rows": [r.to_dict() for r in self.rows],
        }

    def __repr__(self) -> str:
        return (
            f"LongRunAnalysis(promised={self.promised_value:.6g}, "
            f"long run={self.value:.6g}, truthful={self.truthful_share:.3g}, "
            f"exit={self.exit_share:.3g})"
        )


def _cells(
    env: Environment, hm: HiddenMechanism, observe_payoffs: bool
) -> list[list[list[int]]]:
    """``cells[n][h]``: hidden values type n cannot tell from h in the limit."""
    M, N, _ = env.shape
    H = hm.size
    rules = revealed_partition(
        np.transpose(hm.allocation, (1, 2, 0)), hm.transfers.T, PARTITION_ATOL
    )
    cell_of = {h: cell for cell in rules for h in cell}
    out = []
    for n in range(N):
        row = []
        for h in range(H):
            cell = cell_of[h]
            if observe_payoffs:
                used = hm.allocation[h].max(axis=1) > PARTITION_ATOL  # (M,)
                u = env.agent_payoff[used, n][:, hm.state]  # (used, H)
                cell = [
                    g
                    for g in cell
                    if np.abs(u[:, g] - u[:, h]).max(initial=0.0) <= PARTITION_ATOL
                ]
            row.append(cell)
        out.append(row)
    return out


def long_run(
    env: Environment, mechanism: Any = "standard", observe_payoffs: bool = False
) -> LongRunAnalysis:
    """The exact long run of the repeated interaction, without simulation.

    For each type θ and hidden value h: the cell the agent learns, its limit
    belief (the prior restricted to the cell), the report that is a best
    reply to it (the truth on ties) or exit, and the designer's payoff.

    Parameters
    ----------
    env : Environment
    mechanism : str or mechanism, default "standard"
        As for :func:`hidden_mechanism`.
    observe_payoffs : bool, default False
        Whether the agent also observes its realised payoff u(a, θ, ω).

    Returns
    -------
    LongRunAnalysis

    Notes
    -----
    This is the limit for an agent that eventually tries every report. An
    agent whose belief, on the way, makes leaving strictly better leaves for
    good before reaching its cell, which this limit does not count; the
    simulation does. For the examples of THEORY §8 every agent learns its
    cell after one round, so both agree.

    Examples
    --------
    THEORY §8 A: the textbook optimum promises 1.5 but, once the agent knows
    the state, both types walk away in state H:

    >>> from calmech.examples import monopoly
    >>> lr = long_run(monopoly(), "standard")
    >>> round(lr.promised_value, 9), round(lr.value, 9), round(lr.exit_share, 9)
    (1.5, 0.333333333, 0.5)
    """
    hm = hidden_mechanism(env, mechanism)
    tab = _tables(env, hm)
    _, N, _ = env.shape
    q = hm.type_prior()
    cells = _cells(env, hm, observe_payoffs)
    rows: list[LongRunRow] = []
    promised = value = truthful = exits = 0.0
    for n in range(N):
        for h in range(hm.size):
            p = float(hm.joint[n, h])
            if p <= 0:
                continue
            cell = cells[n][h]
            belief = np.zeros(hm.size)
            belief[cell] = q[n, cell] / q[n, cell].sum()
            report, stays = best_reports(
                n, belief[None], tab.agent[n], tab.outside[n], tab.atol
            )
            r = int(report[0]) if stays[0] else -1
            pay = float(tab.designer[n, h, r]) if r >= 0 else 0.0
            promised += p * float(tab.designer[n, h, n])
            value += p * pay
            truthful += p * (r == n)
            exits += p * (r < 0)
            rows.append(
                LongRunRow(
                    type=env.types[n],
                    hidden=hm.labels[h],
                    probability=p,
                    cell=tuple(hm.labels[g] for g in cell),
                    belief=belief,
                    report=env.types[r] if r >= 0 else None,
                    designer_payoff=pay,
                    designer_by_report=tab.designer[n, h].copy(),
                    type_index=n,
                    report_index=r,
                )
            )
    return LongRunAnalysis(promised, value, truthful, exits, rows, hm.labels)


# ----------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationPaths:
    """Per-round records of every run (only with ``keep_paths=True``).

    Attributes
    ----------
    types : ndarray of int, shape (R,)
    hidden : ndarray of int, shape (R,)
        The hidden value of each run (for plots; never shown to the agent).
    reports : ndarray of int, shape (T, R)
        The report in each round, −1 once the agent has left.
    beliefs : ndarray, shape (T, R, H)
        The belief after each round's update.
    initial : ndarray, shape (R, H)
        The prior belief q(· | θ) before the first round.
    """

    types: np.ndarray
    hidden: np.ndarray
    reports: np.ndarray
    beliefs: np.ndarray
    initial: np.ndarray

    def belief_in_truth(self) -> np.ndarray:
        """The belief in the true hidden value, prior first: shape (T + 1, R)."""
        runs = np.arange(self.types.size)
        return np.vstack(
            [self.initial[runs, self.hidden][None], self.beliefs[:, runs, self.hidden]]
        )


@dataclass(frozen=True)
class SimulationResult:
    """Many independent repeated interactions with one mechanism.

    Attributes
    ----------
    mechanism : str
    rounds, runs : int
    promised_value : float
        The mechanism's static value.
    long_run_value : float
        Its exact long-run value (:func:`long_run`).
    summary : dict
        ``designer_payoff``, ``truthful_share`` and ``exit_share`` averaged
        over runs and the last 10% of rounds; ``*_se``, their standard
        errors across runs; ``window``, the first and
        last round averaged; ``predicted_*``, the exact long-run values
        with that window's explorations accounted for.
    series : dict of ndarray
        ``round``, ``designer_payoff``, ``truthful_share``, ``exit_share``;
        at most 200 points, each averaging the rounds since the previous one.
    parameters : dict
        ``epsilon0``, ``decay``, ``observe_payoffs``.
    analysis : LongRunAnalysis
    paths : SimulationPaths or None
    """

    mechanism: str
    rounds: int
    runs: int
    promised_value: float
    long_run_value: float
    summary: dict[str, Any]
    series: dict[str, np.ndarray]
    parameters: dict[str, Any]
    analysis: LongRunAnalysis
    paths: SimulationPaths | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The document printed by ``calmech simulate --json``."""
        return {
            "mechanism": self.mechanism,
            "rounds": self.rounds,
            "runs": self.runs,
            "parameters": dict(self.parameters),
            "promised_value": float(self.promised_value),
            "long_run_value": float(self.long_run_value),
            "long_run": self.analysis.to_dict(),
            "summary": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.summary.items()
            },
            "series": {k: v.tolist() for k, v in self.series.items()},
        }

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"SimulationResult({self.mechanism}: {self.runs} runs x {self.rounds} "
            f"rounds; promised {self.promised_value:.6g}, long run "
            f"{self.long_run_value:.6g}, simulated {s['designer_payoff']:.6g})"
        )


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(name, "must be an integer", value)
    if value < low:
        raise InputError(name, f"must be at least {low}", value)
    return int(value)


def _check_parameters(epsilon0: Any, decay: Any) -> tuple[float, float]:
    for name, value in (("epsilon0", epsilon0), ("decay", decay)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise InputError(name, "must be a number", value)
    if not 0.0 <= float(epsilon0) <= 1.0:
        raise InputError("epsilon0", "must lie in [0, 1]", epsilon0)
    if not 0.0 <= float(decay) <= 1.0:
        raise InputError(
            "decay",
            "must lie in [0, 1] so that every report is tried infinitely often",
            decay,
        )
    return float(epsilon0), float(decay)


def _series_edges(rounds: int) -> np.ndarray:
    """Last round (1-based) of each series bin; log-spaced, at most 200."""
    if rounds <= SERIES_POINTS:
        return np.arange(1, rounds + 1)
    grid = np.geomspace(1, rounds, SERIES_POINTS)
    return np.unique(np.round(grid).astype(int))


@dataclass
class _Kernel:
    """Flat lookup tables for one round of all runs."""

    likelihood: np.ndarray  # (H·N·M, H): x(a|r,h') · 1[t(r,h') = t(r,h)]
    payoff_match: np.ndarray | None  # (N·H·M, H)
    designer: np.ndarray  # (N·H·N·M,): v(a, θ, ω(h)) + τ t(r, h)
    cumulative: np.ndarray  # (H·N, M): cumulative x(· | r, h)


def _kernel(env: Environment, hm: HiddenMechanism, observe_payoffs: bool) -> _Kernel:
    M, N, _ = env.shape
    H = hm.size
    x = hm.allocation  # (H, M, N)
    t = hm.transfers  # (H, N)
    same_pay = np.abs(t[:, :, None] - t.T[None, :, :]) <= PARTITION_ATOL  # (h,r,h')
    lik = np.transpose(x, (2, 1, 0))[None] * same_pay[:, :, None, :]  # (h,r,a,h')
    match = None
    if observe_payoffs:
        u = env.agent_payoff[:, :, hm.state]  # (M, N, H)
        diff = np.abs(u[:, :, :, None] - u[:, :, None, :]) <= PARTITION_ATOL
        match = np.transpose(diff, (1, 2, 0, 3)).reshape(N * H * M, H).astype(float)
    tau = env.transfer_weight if env.transfers else 0.0
    v = env.designer_payoff[:, :, hm.state]  # (M, N, H)
    designer = np.transpose(v, (1, 2, 0))[:, :, None, :] + tau * t[None, :, :, None]
    cumulative = np.cumsum(np.transpose(x, (0, 2, 1)), axis=2).reshape(H * N, M)
    cumulative[:, -1] = 1.0
    return _Kernel(lik.reshape(H * N * M, H), match, designer.reshape(-1), cumulative)


def simulate(
    env: Environment,
    mechanism: Any = "standard",
    rounds: int = 1000,
    runs: int = 1000,
    epsilon0: float = 0.5,
    decay: float = 0.6,
    observe_payoffs: bool = False,
    keep_paths: bool = False,
    random_state: int | np.random.Generator | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate ``runs`` independent repeated interactions for ``rounds`` rounds.

    Parameters
    ----------
    env : Environment
    mechanism : str or mechanism, default "standard"
        As for :func:`hidden_mechanism`.
    rounds, runs : int, default 1000
    epsilon0, decay : float, default 0.5 and 0.6
        Exploration probability ε_t = ε₀ / (1 + t)^γ in round t = 0, 1, ...
        (``decay`` is γ, at most 1).
    observe_payoffs : bool, default False
        Whether the agent also learns from its realised payoffs.
    keep_paths : bool, default False
        Keep every run's reports and beliefs per round (memory T × R × H);
        otherwise memory does not grow with the number of rounds.
    random_state : int or numpy.random.Generator, optional
    progress : callable, optional
        Called with the number of rounds completed, now and then.

    Returns
    -------
    SimulationResult

    Raises
    ------
    InputError
        On a bad number of rounds or runs or a bad exploration schedule.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> res = simulate(monopoly(), "standard", rounds=200, runs=500,
    ...                random_state=0)
    >>> round(res.promised_value, 6), round(res.long_run_value, 6)
    (1.5, 0.333333)
    >>> abs(res.summary["designer_payoff"] - res.long_run_value) < 0.05
    True
    """
    rounds = _check_int("rounds", rounds, 1)
    runs = _check_int("runs", runs, 1)
    epsilon0, decay = _check_parameters(epsilon0, decay)
    rng = np.random.default_rng(random_state)
    hm = hidden_mechanism(env, mechanism)
    analysis = long_run(env, hm, observe_payoffs)
    tab = _tables(env, hm)
    ker = _kernel(env, hm, observe_payoffs)
    M, N, _ = env.shape
    H = hm.size

    # Nature: (type, hidden value) once per run; runs sorted by type so that
    # the policy sees one block of same-type agents at a time.
    draw = np.sort(rng.choice(N * H, size=runs, p=hm.joint.ravel() / hm.joint.sum()))
    types, hidden = draw // H, draw % H
    blocks = [
        (n, slice(int(a), int(b)))
        for n, (a, b) in enumerate(
            zip(
                np.searchsorted(types, np.arange(N)),
                np.searchsorted(types, np.arange(N), side="right"),
                strict=True,
            )
        )
        if b > a
    ]
    belief = hm.type_prior()[types]
    initial = belief.copy() if keep_paths else None
    active = np.ones(runs, dtype=bool)
    report = np.empty(runs, dtype=np.int64)
    stays = np.empty(runs, dtype=bool)

    # Accumulators: series bins, the summary window, optional paths.
    edges = _series_edges(rounds)
    bin_of_end = {int(e): i for i, e in enumerate(edges)}
    sums = np.zeros((3, edges.size))
    start = rounds - max(1, math.ceil(WINDOW_SHARE * rounds))
    run_window = np.zeros((3, runs))
    bin_acc = np.zeros(3)
    paths_reports = np.empty((rounds, runs), np.int64) if keep_paths else None
    paths_beliefs = np.empty((rounds, runs, H)) if keep_paths else None
    step = max(1, rounds // 100)

    for t in range(rounds):
        # The agent decides from its belief alone.
        for n, block in blocks:
            report[block], stays[block] = best_reports(
                n, belief[block], tab.agent[n], tab.outside[n], tab.atol
            )
        active &= stays

        # Exploration, then nature's allocation.
        uniform = rng.random((3, runs))
        if N > 1:
            explore = uniform[0] < exploration_rate(t, epsilon0, decay)
            shift = 1 + np.minimum((uniform[1] * (N - 1)).astype(np.int64), N - 2)
            report = np.where(explore, (report + shift) % N, report)
        row = hidden * N + report
        alloc = (1.0 - uniform[2])[:, None] > ker.cumulative[row]
        alloc = np.minimum(alloc.sum(axis=1), M - 1)

        # What the designer earns, and the agent's Bayesian update.
        pay = np.where(
            active, ker.designer[((types * H + hidden) * N + report) * M + alloc], 0.0
        )
        lik = ker.likelihood[row * M + alloc]
        if ker.payoff_match is not None:
            lik = lik * ker.payoff_match[(types * H + hidden) * M + alloc]
        belief = np.where(active[:, None], belief * lik, belief)
        belief /= belief.sum(axis=1, keepdims=True)

        # Records.
        truthful = active & (report == types)
        bin_acc += (pay.sum(), truthful.sum(), runs - active.sum())
        if t + 1 in bin_of_end:
            sums[:, bin_of_end[t + 1]] = bin_acc
            bin_acc[:] = 0.0
        if t >= start:
            run_window[0] += pay
            run_window[1] += truthful
            run_window[2] += ~active
        if keep_paths:
            paths_reports[t] = np.where(active, report, -1)
            paths_beliefs[t] = belief
        if progress is not None and ((t + 1) % step == 0 or t + 1 == rounds):
            progress(t + 1)

    # Summaries.
    width = rounds - start
    lengths = np.diff(np.concatenate([[0], edges]))
    series = {
        "round": edges.astype(np.int64),
        "designer_payoff": sums[0] / (lengths * runs),
        "truthful_share": sums[1] / (lengths * runs),
        "exit_share": sums[2] / (lengths * runs),
    }
    per_run = run_window / width
    mean = per_run.mean(axis=1)
    se = per_run.std(axis=1, ddof=1) / math.sqrt(runs) if runs > 1 else [math.nan] * 3
    eps = float(np.mean(exploration_rate(np.arange(start, rounds), epsilon0, decay)))
    predicted = analysis.with_exploration(eps if N > 1 else 0.0)
    summary = {
        "designer_payoff": float(mean[0]),
        "truthful_share": float(mean[1]),
        "exit_share": float(mean[2]),
        "designer_payoff_se": float(se[0]),
        "truthful_share_se": float(se[1]),
        "exit_share_se": float(se[2]),
        "window": (start + 1, rounds),
        "mean_exploration": eps,
        "predicted_designer_payoff": predicted[0],
        "predicted_truthful_share": predicted[1],
    }
    paths = (
        SimulationPaths(types, hidden, paths_reports, paths_beliefs, initial)
        if keep_paths
        else None
    )
    return SimulationResult(
        mechanism=hm.name,
        rounds=rounds,
        runs=runs,
        promised_value=analysis.promised_value,
        long_run_value=analysis.value,
        summary=summary,
        series=series,
        parameters={
            "epsilon0": epsilon0,
            "decay": decay,
            "observe_payoffs": bool(observe_payoffs),
        },
        analysis=analysis,
        paths=paths,
    )
