"""The Pareto frontier of designer payoff and agent surplus.

For a weight λ ∈ [0, 1] the designer maximises

    λ·E[v + τ t] + (1 − λ)·E[u − t]
        = E[λ v + (1 − λ) u] + (λ τ − (1 − λ))·E[t],

which is the designer's problem of an environment with designer payoff
``λ v + (1 − λ) u`` and transfer weight ``λ τ − (1 − λ)``. Solving it over
calibrated mechanisms (cav V of the weighted problem) and over standard
ones (the LP of THEORY §3) and reading off, at the optimal mechanism, the
designer's payoff ``E[v + τ t]`` and the agent's surplus ``E[u − t]``
traces the two frontiers. Both attainable sets are convex (a public coin
can mix two mechanisms of either kind), so the weights reach every point
of their upper-right boundary.

The agent's surplus is its expected payoff ``E[u − t]``; its outside
option is not subtracted (doing so shifts every point by the constant
``E[u₀]``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from calmech.environment import Environment
from calmech.errors import InputError
from calmech.lp import primitives, type_beliefs
from calmech.mechanisms import calibrated_optimum, standard_optimum
from calmech.parallel import parallel_map

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Frontier",
    "FrontierPoint",
    "calibrated_payoffs",
    "lowest_weight",
    "pareto_frontier",
    "plot_frontier",
    "standard_payoffs",
    "weighted_environment",
]

logger = logging.getLogger("calmech")

#: Without a lower transfer bound λ starts this far above its least value,
#: where the weight on payments is still positive (see :func:`lowest_weight`).
WEIGHT_MARGIN = 1e-3


@dataclass(frozen=True)
class FrontierPoint:
    """The optimum for one weight λ, read off as the two payoffs.

    Attributes
    ----------
    weight : float
        λ, the weight on the designer's payoff.
    kind : {"calibrated", "standard"}
    designer, agent : float
        ``E[v + τ t]`` and ``E[u − t]`` at the optimal mechanism (NaN when
        the weighted problem has no solution).
    status : str
    """

    weight: float
    kind: str
    designer: float
    agent: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "weight": self.weight,
            "kind": self.kind,
            "designer": num(self.designer),
            "agent": num(self.agent),
            "status": self.status,
        }


@dataclass(frozen=True)
class Frontier:
    """Both frontiers of an environment, one point per weight and kind.

    Attributes
    ----------
    environment : Environment
    weights : ndarray
    calibrated, standard : list of FrontierPoint
    note : str
        How the weights were chosen (see :func:`lowest_weight`).
    """

    environment: Environment
    weights: np.ndarray
    calibrated: list[FrontierPoint]
    standard: list[FrontierPoint]
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment.name,
            "weights": [float(w) for w in self.weights],
            "note": self.note,
            "calibrated": [p.to_dict() for p in self.calibrated],
            "standard": [p.to_dict() for p in self.standard],
        }


def lowest_weight(env: Environment) -> float:
    """The least λ for which the weighted problem is bounded as posed.

    Without money, or with a finite lower transfer bound, every λ ∈ [0, 1]
    is allowed. Otherwise a negative weight on payments, ``λ τ < 1 − λ``,
    lets the designer hand out money without limit, so λ must be at least
    ``1 / (1 + τ)``; at that λ payments are a pure transfer and the optimum
    leaves them undetermined, so the frontier starts just above it.

    Raises
    ------
    InputError
        With money, no lower bound and ``τ ≤ 0``: no weight is bounded.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> lowest_weight(monopoly())
    0.5
    >>> lowest_weight(monopoly().replace(transfer_bounds=(0.0, None)))
    0.0
    """
    lo = env.bounds[0]
    if not env.transfers or math.isfinite(lo):
        return 0.0
    tau = env.transfer_weight
    if tau <= 0:
        raise InputError(
            "transfer_weight",
            "must be positive to trace a frontier without a lower transfer bound",
            tau,
        )
    return 1.0 / (1.0 + tau)


def weighted_environment(env: Environment, weight: float) -> Environment:
    """The environment whose designer maximises λ·designer + (1 − λ)·agent.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> w = weighted_environment(monopoly(), 0.75)
    >>> w.transfer_weight, float(w.designer_payoff[1, 1, 0])
    (0.5, 0.5)
    """
    if not 0.0 <= weight <= 1.0:
        raise InputError("weight", "must be between 0 and 1", weight)
    v = weight * np.asarray(env.designer_payoff) + (1 - weight) * np.asarray(
        env.agent_payoff
    )
    tau = weight * env.transfer_weight - (1.0 - weight)
    return env.replace(designer_payoff=v, transfer_weight=tau)


def standard_payoffs(
    env: Environment, allocation: np.ndarray, transfers: np.ndarray
) -> tuple[float, float]:
    """``(E[v + τ t], E[u − t])`` of a state-contingent mechanism.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> std = standard_optimum(monopoly())
    >>> [round(x, 9) for x in standard_payoffs(monopoly(), std.allocation,
    ...                                         std.transfers)]
    [1.5, 0.0]
    """
    P = np.asarray(env.prior)
    u = np.einsum("mnk,mnk->nk", allocation, env.agent_payoff)
    v = np.einsum("mnk,mnk->nk", allocation, env.designer_payoff)
    t = transfers if env.transfers else np.zeros_like(P)
    designer = float((P * (v + env.transfer_weight * t)).sum())
    agent = float((P * (u - t)).sum())
    return designer + 0.0, agent + 0.0


def calibrated_payoffs(env: Environment, signals: list[Any]) -> tuple[float, float]:
    """``(E[v + τ t], E[u − t])`` of a two-stage mechanism given by its signals.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> mech = calibrated_optimum(quality())
    >>> [round(x, 6) + 0.0 for x in calibrated_payoffs(quality(), mech.signals)]
    [1.25, 0.0]
    """
    prim = primitives(env)
    designer = agent = 0.0
    for sig in signals:
        weights, beliefs = type_beliefs(prim, np.asarray(sig.posterior))
        U = np.einsum("mnk,nk->mn", prim.u, beliefs)
        V = np.einsum("mnk,nk->mn", prim.v, beliefs)
        t = sig.transfers if env.transfers else np.zeros(len(weights))
        per_v = (V * sig.allocation).sum(axis=0) + prim.tau * t
        per_u = (U * sig.allocation).sum(axis=0) - t
        designer += sig.probability * float(weights @ per_v)
        agent += sig.probability * float(weights @ per_u)
    return designer + 0.0, agent + 0.0


#: Payoffs smaller than this (× payoff scale) are printed as 0.
ZERO_RTOL = 1e-9


def _frontier_point(task: tuple[Environment, float]) -> tuple[FrontierPoint, ...]:
    env, weight = task
    zero = ZERO_RTOL * primitives(env).scale

    def clean(x: float) -> float:
        return 0.0 if abs(x) < zero else x

    weighted = weighted_environment(env, weight)
    cal = calibrated_optimum(weighted)
    if cal.signals:
        d, a = calibrated_payoffs(env, cal.signals)
    else:
        d = a = math.nan
    std = standard_optimum(weighted, check=False)
    if std.allocation is not None:
        sd, sa = standard_payoffs(env, std.allocation, std.transfers)
    else:
        sd = sa = math.nan
    return (
        FrontierPoint(weight, "calibrated", clean(d), clean(a), cal.status),
        FrontierPoint(weight, "standard", clean(sd), clean(sa), std.status),
    )


def pareto_frontier(
    env: Environment,
    points: int = 21,
    transfer_bounds: tuple[float | None, float | None] | None = None,
    workers: int | None = 1,
) -> Frontier:
    """Trace the calibrated and the standard frontier with ``points`` weights.

    Parameters
    ----------
    env : Environment
    points : int, default 21
        Weights λ evenly spaced from :func:`lowest_weight` to 1.
    transfer_bounds : (lo, hi), optional
        Replace the environment's transfer bounds; a finite ``lo`` opens
        the whole range λ ∈ [0, 1].
    workers : int, optional
        Processes for :func:`calmech.parallel.parallel_map` (1: none).

    Returns
    -------
    Frontier

    Notes
    -----
    With money and no lower bound on payments, points below
    λ = 1/(1 + τ) are unbounded: from any mechanism, paying the agent c
    more costs the designer τ c, so the frontier continues from its
    λ = 1/(1 + τ) end as a ray of slope −1/τ in (designer, agent) space,
    which is not drawn. Where the weighted optimum is not unique (λ = 1
    in particular), the point read off is the solver's choice among them.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> f = pareto_frontier(monopoly(), points=3)  # λ = 0.501, 0.7505, 1
    >>> [round(p.designer, 6) for p in f.standard]
    [1.5, 1.5, 1.5]
    >>> [(round(p.designer, 6), round(p.agent, 6)) for p in f.calibrated]
    [(1.0, 0.5), (1.3, 0.1), (1.3, 0.1)]
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise InputError("points", "must be an integer of at least 2", points)
    if transfer_bounds is not None:
        env = env.replace(transfer_bounds=transfer_bounds)
    start = lowest_weight(env)
    if start > 0:
        note = (
            f"no lower transfer bound: λ from {start:.4g} (+{WEIGHT_MARGIN:g}) "
            "to 1; below, the agent's surplus is unbounded"
        )
        start += WEIGHT_MARGIN
    else:
        note = "λ from 0 to 1"
    weights = np.linspace(start, 1.0, points)
    tasks = [(env, float(w)) for w in weights]
    results = list(parallel_map(_frontier_point, tasks, workers))
    logger.info("frontier of %s: %d weights", env.name, points)
    return Frontier(
        env, weights, [r[0] for r in results], [r[1] for r in results], note
    )


def plot_frontier(frontier: Frontier) -> Figure:
    """Both frontiers in (agent surplus, designer payoff) space.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> fig = plot_frontier(pareto_frontier(quality(), points=3))
    >>> fig.axes[0].get_xlabel()
    "agent's expected surplus E[u − t]"
    """
    from calmech.plots.value import VALUE_COLOURS, _new_figure

    fig = _new_figure(6.4, 4.8)
    ax = fig.add_subplot()
    for kind, pts, marker in (
        ("standard", frontier.standard, "s"),
        ("calibrated", frontier.calibrated, "o"),
    ):
        agent = np.array([p.agent for p in pts])
        designer = np.array([p.designer for p in pts])
        ok = np.isfinite(agent) & np.isfinite(designer)
        order = np.argsort(agent[ok], kind="stable")
        ax.plot(
            agent[ok][order],
            designer[ok][order],
            "-" + marker,
            color=VALUE_COLOURS[kind],
            ms=4,
            lw=1.4,
            alpha=0.9,
            label=f"{kind} ({int(ok.sum())} weights)",
        )
    ax.set_xlabel("agent's expected surplus E[u − t]")
    ax.set_ylabel("designer's expected payoff E[v + τ t]")
    ax.set_title(f"{frontier.environment.name}: Pareto frontiers", fontsize=11)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=9)
    ax.text(
        0.01,
        0.01,
        frontier.note,
        transform=ax.transAxes,
        fontsize=7,
        color="grey",
        va="bottom",
    )
    return fig
