"""The value function V(μ) on beliefs about the state (THEORY §5).

For a belief μ ∈ Δ(Ω), type θ_n's weight is W_n = Σ_k μ(k) P(θ_n | ω_k) and
its belief is β_n(k) ∝ μ(k) P(θ_n | ω_k). V(μ) is the designer's best
expected payoff from one *state-independent* mechanism ``x[m, n]``, ``t[n]``
that is incentive compatible and individually rational for every type with
positive weight, under that type's belief::

    V(μ) = max Σ_n W_n Σ_k β_n(k) [Σ_m x[m,n] v[m,n,k] + τ t[n]].

V is upper semicontinuous and may jump up on the faces of the simplex,
where a type's weight vanishes and its constraints disappear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calmech.environment import Environment
from calmech.errors import InputError
from calmech.lp import Primitives, primitives, type_beliefs, value_lp

__all__ = ["ValueFunction", "ValuePoint", "value_function"]


@dataclass(frozen=True)
class ValuePoint:
    """V at one belief, with the mechanism that attains it.

    Attributes
    ----------
    belief : ndarray, shape (K,)
        The belief μ over states.
    value : float
        V(μ); ``-inf`` where no mechanism is feasible.
    allocation : ndarray, shape (M, N), or None
        ``allocation[m, n]``: probability of allocation m after report n.
    transfers : ndarray, shape (N,), or None
        Payment after each report.
    status : str
        ``"optimal"`` or ``"infeasible"`` (or a solver failure).
    message : str
        The solver's explanation.
    type_weights : ndarray, shape (N,)
        W_n; types with weight 0 are absent at this belief.
    """

    belief: np.ndarray
    value: float
    allocation: np.ndarray | None
    transfers: np.ndarray | None
    status: str
    message: str = ""
    type_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def feasible(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "belief": self.belief.tolist(),
            "value": self.value,
            "allocation": None if self.allocation is None else self.allocation.tolist(),
            "transfers": None if self.transfers is None else self.transfers.tolist(),
            "status": self.status,
        }

    def __repr__(self) -> str:
        belief = ", ".join(f"{b:.4g}" for b in self.belief)
        return f"ValuePoint(belief=[{belief}], value={self.value:.10g}, {self.status})"


def check_belief(mu: Any, K: int, field_name: str = "belief") -> np.ndarray:
    """Validate a belief over K states: finite, nonnegative, sums to 1."""
    try:
        array = np.asarray(mu, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(field_name, "must be a list of numbers", mu) from exc
    if array.shape != (K,):
        raise InputError(field_name, f"must have one entry per state ({K})", mu)
    if not np.all(np.isfinite(array)):
        raise InputError(field_name, "entries must be finite", mu)
    if np.any(array < -1e-12):
        raise InputError(field_name, "entries must be nonnegative", mu)
    if abs(array.sum() - 1.0) > 1e-9:
        raise InputError(field_name, "entries must sum to 1", float(array.sum()))
    array = np.clip(array, 0.0, None)
    return array / array.sum()


class ValueFunction:
    """V as a callable on beliefs, counting the LPs it solves.

    Parameters
    ----------
    env : Environment or Primitives
    backend : {"highspy", "scipy"}, default "highspy"
        ``"highspy"`` builds the LP once and re-solves it from the last
        optimal basis (:class:`calmech.fast.FastValueLP`); ``"scipy"``
        assembles a fresh LP for every belief and solves it with
        :func:`scipy.optimize.linprog`. Both use HiGHS with the same
        tolerances and return the same values.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> V = ValueFunction(quality())
    >>> round(V([0.7, 0.3]), 9), round(V([0.0, 1.0]), 9)
    (1.75, 0.0)
    >>> round(ValueFunction(quality(), backend="scipy")([0.7, 0.3]), 9)
    1.75
    """

    BACKENDS = ("highspy", "scipy")

    def __init__(self, env: Environment | Primitives, backend: str = "highspy") -> None:
        if backend not in self.BACKENDS:
            raise InputError("backend", "must be 'highspy' or 'scipy'", backend)
        self.prim = primitives(env) if isinstance(env, Environment) else env
        self.backend = backend
        self.lp_count = 0
        self._fast: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # The HiGHS object cannot be pickled; a copy builds its own.
        state = self.__dict__.copy()
        state["_fast"] = None
        return state

    @property
    def K(self) -> int:
        return self.prim.shape[2]

    def solve(self, mu: Any) -> ValuePoint:
        """V(μ) with its maximising mechanism."""
        belief = check_belief(mu, self.K)
        return self._solve(belief)

    def _solve(self, belief: np.ndarray) -> ValuePoint:
        M, N, _ = self.prim.shape
        weights, _ = type_beliefs(self.prim, belief)
        self.lp_count += 1
        if self.backend == "highspy":
            if self._fast is None:
                from calmech.fast import FastValueLP

                self._fast = FastValueLP(self.prim)
            status, value, z = self._fast.solve(belief)
            message = status
        else:
            result = value_lp(self.prim, belief).solve()
            status, value, z, message = (
                result.status,
                result.value,
                result.x,
                result.message,
            )
        if status == "infeasible":
            status, value, z, message = self._confirm_infeasible(belief, message)
        if status != "optimal" or z is None:
            return ValuePoint(belief, -math.inf, None, None, status, message, weights)
        allocation = np.clip(z[: M * N].reshape(M, N), 0.0, None)
        allocation /= allocation.sum(axis=0, keepdims=True)
        transfers = z[M * N :] + 0.0  # no negative zeros
        return ValuePoint(
            belief,
            float(value) + 0.0,
            allocation,
            transfers,
            "optimal",
            message,
            weights,
        )

    def _confirm_infeasible(self, belief: np.ndarray, message: str) -> tuple:
        """Re-solve a value problem declared infeasible, with HiGHS's defaults.

        At beliefs where V jumps, incentive rows differ by about 1e-11 and
        the simplex at the tight tolerance of 1e-10 can wrongly declare a
        feasible problem infeasible. A second solve with the default
        tolerance (1e-7) settles it; when it finds a solution, that solution
        satisfies every constraint within 1e-7 × payoff scale.
        """
        result = value_lp(self.prim, belief).solve(tolerance=1e-7)
        if result.optimal:
            return "optimal", result.value, result.x, result.message
        return "infeasible", -math.inf, None, message

    def values(self, beliefs: Any) -> np.ndarray:
        """V at each row of ``beliefs``, shape (B, K) → (B,).

        Examples
        --------
        >>> from calmech.examples import quality
        >>> V = ValueFunction(quality())
        >>> np.round(V.values([[0.7, 0.3], [0.0, 1.0]]), 9).tolist()
        [1.75, 0.0]
        """
        array = np.atleast_2d(np.asarray(beliefs, dtype=float))
        if array.ndim != 2 or array.shape[1] != self.K:
            raise InputError("beliefs", f"must have shape (B, {self.K})", array)
        return np.array([self._solve(check_belief(mu, self.K)).value for mu in array])

    def __call__(self, mu: Any) -> float:
        return self.solve(mu).value


def value_function(env: Environment, belief: Any) -> ValuePoint:
    """V(μ) and its maximising state-independent mechanism.

    Parameters
    ----------
    env : Environment
    belief : array_like, shape (K,)
        A belief over states in the environment's order.

    Returns
    -------
    ValuePoint

    Examples
    --------
    >>> from calmech.examples import monopoly
    >>> point = value_function(monopoly(), [0.5, 0.5])
    >>> round(point.value, 9)
    1.0
    """
    return ValueFunction(env).solve(belief)
