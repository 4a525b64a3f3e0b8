"""Payoff units: solve in units near 1, report in the user's units.

Every payoff of an environment enters the linear programs linearly. With
``c > 0`` and the environment ``E_c`` whose payoffs u, v, u₀ and transfer
bounds are those of ``E`` divided by ``c`` (the prior, the allocations and
the transfer weight τ unchanged), a mechanism ``(x, t)`` is feasible for
``E`` exactly when ``(x, t / c)`` is feasible for ``E_c``, and

    value_E(x, t) = c · value_{E_c}(x, t / c).

So ``solve(E) = c · solve(E_c)`` for values, upper bounds, transfers and
constraint amounts, while allocations, posteriors and signal probabilities
do not change. Solver tolerances are absolute (HiGHS's feasibility
tolerance is 1e-10), so payoffs of order 1e-6 or 1e6 are solved in units
where the largest payoff magnitude lies within a factor √10 of 1:
``c = 10^round(log10(scale))``, a power of ten, so that dividing and
multiplying back change nothing but the last bit of a number.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from calmech.environment import Environment
from calmech.lp import primitives

if TYPE_CHECKING:
    from calmech.mechanisms import Solution

__all__ = ["RESCALE_MIN_EXPONENT", "payoff_scale", "rescale", "unscale_solution"]

#: Rescale only when the payoff magnitude is at least this many powers of
#: ten away from 1 (below 10^-1.5 or above 10^1.5); ordinary payoffs are
#: solved as given, bit for bit.
RESCALE_MIN_EXPONENT = 2


def payoff_scale(env: Environment) -> float:
    """Largest magnitude among u, v and u₀ (1 when all are zero).

    Examples
    --------
    >>> from calmech.examples import quality
    >>> payoff_scale(quality())
    4.0
    """
    return primitives(env).scale


def rescale(env: Environment) -> tuple[Environment, float]:
    """The environment in units near 1, and the factor of the units.

    Parameters
    ----------
    env : Environment

    Returns
    -------
    scaled : Environment
        ``env`` with u, v, u₀ and the transfer bounds divided by ``factor``;
        ``env`` itself when ``factor`` is 1.
    factor : float
        ``10^e`` with ``e = round(log10(scale))`` when
        ``|e| >= RESCALE_MIN_EXPONENT``, else 1.

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> env = monopoly()
    >>> big = env.replace(agent_payoff=env.agent_payoff * 1e6)
    >>> scaled, factor = rescale(big)
    >>> factor, scaled.agent_payoff.max()
    (1000000.0, np.float64(2.0))
    >>> rescale(env)[1]
    1.0
    """
    exponent = round(math.log10(payoff_scale(env)))
    if abs(exponent) < RESCALE_MIN_EXPONENT:
        return env, 1.0
    factor = 10.0**exponent
    bounds = env.transfer_bounds
    if bounds is not None:
        bounds = (bounds[0] / factor, bounds[1] / factor)
    scaled = env.replace(
        agent_payoff=env.agent_payoff / factor,
        designer_payoff=env.designer_payoff / factor,
        outside_option=env.outside_option / factor,
        transfer_bounds=bounds,
    )
    return scaled, factor


def _times(array: np.ndarray | None, factor: float) -> np.ndarray | None:
    return None if array is None else array * factor


def _point(point, factor: float):
    return dataclasses.replace(
        point,
        value=point.value * factor,
        transfers=_times(point.transfers, factor),
    )


def _signal(signal, factor: float):
    return dataclasses.replace(
        signal, value=signal.value * factor, transfers=signal.transfers * factor
    )


def _report(report, factor: float):
    if report is None:
        return None
    violations = [
        dataclasses.replace(v, amount=v.amount * factor) for v in report.violations
    ]
    return dataclasses.replace(report, violations=violations)


def unscale_solution(solution: Solution, env: Environment, factor: float) -> Solution:
    """A solution of ``rescale(env)[0]`` in the units of ``env``.

    Values, upper bounds, transfers and constraint amounts are multiplied by
    ``factor``; allocations, posteriors and probabilities are kept, and the
    solution's environment becomes ``env``.

    Parameters
    ----------
    solution : Solution
        What :func:`calmech.mechanisms.solve` returned for the scaled
        environment.
    env : Environment
        The environment in the user's units.
    factor : float
        The factor returned by :func:`rescale`.

    Returns
    -------
    Solution

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> from calmech.mechanisms import solve
    >>> env = monopoly()
    >>> tiny = env.replace(agent_payoff=env.agent_payoff * 1e-6)
    >>> scaled, factor = rescale(tiny)
    >>> sol = unscale_solution(solve(scaled), tiny, factor)
    >>> round(sol.calibrated.value / 1e-6, 9)
    1.3
    """
    if factor == 1.0:
        return dataclasses.replace(solution, environment=env)
    calibrated = solution.calibrated
    standard = solution.standard
    return dataclasses.replace(
        solution,
        environment=env,
        calibrated=dataclasses.replace(
            calibrated,
            value=calibrated.value * factor,
            upper_bound=calibrated.upper_bound * factor,
            signals=[_signal(s, factor) for s in calibrated.signals],
        ),
        standard=dataclasses.replace(
            standard,
            value=standard.value * factor,
            transfers=_times(standard.transfers, factor),
            calibration=_report(standard.calibration, factor),
        ),
        no_disclosure=_rescaled_benchmark(solution.no_disclosure, factor),
        full_transparency=_rescaled_benchmark(solution.full_transparency, factor),
    )


def _rescaled_benchmark(bench, factor: float):
    return dataclasses.replace(
        bench,
        value=bench.value * factor,
        points=[_point(p, factor) for p in bench.points],
    )
