"""Warm-started re-solves of the value problem V(μ) with HiGHS.

The value problem of :mod:`calmech.lp` keeps one sparsity pattern for every
belief: with ``U[m, n] = Σ_k β_n(k) u[m, n, k]`` (type n's expected utility
of allocation m under its belief β_n), its rows are::

    IC (n, n'):  Σ_m U[m,n] (x[m,n'] − x[m,n]) + t[n] − t[n'] ≤ 0
    IR n:        −Σ_m U[m,n] x[m,n] + t[n] ≤ −U₀[n]
    simplex n:   Σ_m x[m,n] = 1

Only the numbers ``U``, ``U₀`` and the objective ``W_n V̄[m, n]``, ``τ W_n``
move with μ. :class:`FastValueLP` therefore builds the model once, keeps
its column-compressed pattern, and for a new belief writes the new
coefficients in place (one vectorised gather, then ``passModel``), switches
off the rows of absent types (row bounds ``−inf..inf``) and re-solves from
the previous optimal basis. HiGHS's dual simplex usually needs a handful
of pivots, so a re-solve costs a fraction of building the LP anew.

HiGHS prints a banner on standard output when its first solver object is
created; the object is created with file descriptor 1 pointing to
``/dev/null`` so that nothing reaches the caller's output.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from calmech.lp import Primitives, expected_payoffs, type_beliefs

__all__ = ["FastValueLP", "quiet_highs"]

logger = logging.getLogger("calmech")

# The tolerances of calmech.lp, so that both back ends agree.
HIGHS_OPTIONS: dict[str, Any] = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 to /dev/null, flushing C and Python buffers."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no standard output at all
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def quiet_highs() -> Any:
    """A ``highspy.Highs`` object that writes nothing to standard output.

    Examples
    --------
    >>> h = quiet_highs()
    >>> h.getOptionValue("output_flag")[1]
    False
    """
    import highspy

    with _stdout_to_devnull():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    for name, value in HIGHS_OPTIONS.items():
        h.setOptionValue(name, value)
    return h


class FastValueLP:
    """The value problem V(μ), built once and re-solved for each belief.

    Parameters
    ----------
    prim : Primitives

    Attributes
    ----------
    solves : int
        Re-solves so far.
    iterations : int
        Simplex iterations summed over all solves.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> from calmech.lp import primitives
    >>> lp = FastValueLP(primitives(quality()))
    >>> status, value, z = lp.solve(np.array([0.7, 0.3]))
    >>> status, round(value, 9)
    ('optimal', 1.75)
    >>> np.round(lp.values(np.array([[0.0, 1.0], [0.5, 0.5]])), 9).tolist()
    [0.0, 1.0]
    """

    def __init__(self, prim: Primitives) -> None:
        import highspy

        self.prim = prim
        M, N, _ = prim.shape
        self.solves = 0
        self.iterations = 0
        self._basis: Any = None
        self._highs = quiet_highs()
        self._status_optimal = highspy.HighsModelStatus.kOptimal
        self._status_infeasible = highspy.HighsModelStatus.kInfeasible

        # Entries: value = sign * U[m, n] (sign ±1) or a constant (sign 0).
        rows, cols, signs, ms, ns, consts = [], [], [], [], [], []

        def put(r: int, c: int, sign: float, m: int, n: int, const: float) -> None:
            rows.append(r)
            cols.append(c)
            signs.append(sign)
            ms.append(m)
            ns.append(n)
            consts.append(const)

        r = 0
        for n in range(N):
            for dev in range(N):
                if dev == n:
                    continue
                for m in range(M):
                    put(r, m * N + dev, 1.0, m, n, 0.0)
                    put(r, m * N + n, -1.0, m, n, 0.0)
                put(r, M * N + n, 0.0, 0, 0, 1.0)
                put(r, M * N + dev, 0.0, 0, 0, -1.0)
                r += 1
        for n in range(N):
            for m in range(M):
                put(r, m * N + n, -1.0, m, n, 0.0)
            put(r, M * N + n, 0.0, 0, 0, 1.0)
            r += 1
        for n in range(N):
            for m in range(M):
                put(r, m * N + n, 0.0, 0, 0, 1.0)
            r += 1
        n_rows, n_cols = r, M * N + N

        # Column-compressed order, computed once.
        rows_a, cols_a = np.asarray(rows), np.asarray(cols)
        order = np.lexsort((rows_a, cols_a))
        self._index = rows_a[order].astype(np.int32)
        self._start = np.searchsorted(cols_a[order], np.arange(n_cols + 1)).astype(
            np.int32
        )
        self._sign = np.asarray(signs)[order]
        self._m = np.asarray(ms)[order]
        self._n = np.asarray(ns)[order]
        self._const = np.asarray(consts)[order]
        self._varies = self._sign != 0.0
        self.n_rows, self.n_cols = n_rows, n_cols

        lp = highspy.HighsLp()
        lp.num_col_ = n_cols
        lp.num_row_ = n_rows
        lp.sense_ = highspy.ObjSense.kMaximize
        lower = np.zeros(n_cols)
        upper = np.full(n_cols, highspy.kHighsInf)
        lower[M * N :], upper[M * N :] = prim.box
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.col_cost_ = np.zeros(n_cols)
        lp.row_lower_ = np.zeros(n_rows)
        lp.row_upper_ = np.zeros(n_rows)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = n_cols
        lp.a_matrix_.num_row_ = n_rows
        lp.a_matrix_.start_ = self._start
        lp.a_matrix_.index_ = self._index
        lp.a_matrix_.value_ = self._const.copy()
        self._lp = lp
        self._inf = highspy.kHighsInf

    def _load(self, mu: np.ndarray) -> None:
        """Write the coefficients, costs and row bounds of belief ``mu``."""
        prim = self.prim
        M, N, _ = prim.shape
        weights, beliefs = type_beliefs(prim, mu)
        present = weights > 0
        U, U0, Vbar = expected_payoffs(prim, beliefs)

        lp = self._lp
        lp.a_matrix_.value_ = np.where(
            self._varies, self._sign * U[self._m, self._n], self._const
        )
        lp.col_cost_ = np.concatenate(
            [(Vbar * weights[None, :]).ravel(), prim.tau * weights]
        )
        inf = self._inf
        ic_on = np.repeat(present, N - 1)
        upper_ic = np.where(ic_on, 0.0, inf)
        upper_ir = np.where(present, -U0, inf)
        lp.row_lower_ = np.concatenate([np.full(N * N, -inf), np.ones(N)])
        lp.row_upper_ = np.concatenate([upper_ic, upper_ir, np.ones(N)])

    def solve(self, mu: np.ndarray) -> tuple[str, float, np.ndarray | None]:
        """Solve V(μ) from the last optimal basis.

        Parameters
        ----------
        mu : ndarray, shape (K,)
            A belief (validated by the caller).

        Returns
        -------
        status : str
            ``"optimal"``, ``"infeasible"`` or another HiGHS status, lower case.
        value : float
            V(μ), ``-inf`` if infeasible.
        z : ndarray or None
            ``x[m, n]`` at ``m * N + n`` then ``t[n]``.
        """
        h = self._highs
        self._load(mu)
        h.passModel(self._lp)
        if self._basis is not None:
            h.setBasis(self._basis)
        h.run()
        self.solves += 1
        self.iterations += int(h.getInfo().simplex_iteration_count)
        status = h.getModelStatus()
        if status == self._status_optimal:
            self._basis = h.getBasis()
            z = np.asarray(h.getSolution().col_value, dtype=float)
            return "optimal", float(h.getInfo().objective_function_value), z
        if status == self._status_infeasible:
            return "infeasible", -math.inf, None
        text = h.modelStatusToString(status).lower()
        logger.debug("fast value LP ended with status %s", text)
        self._basis = None
        return text, math.nan, None

    def values(self, beliefs: np.ndarray) -> np.ndarray:
        """V at each row of ``beliefs`` (``-inf`` where infeasible).

        Parameters
        ----------
        beliefs : ndarray, shape (B, K)

        Returns
        -------
        ndarray, shape (B,)
        """
        beliefs = np.atleast_2d(np.asarray(beliefs, dtype=float))
        return np.array([self.solve(mu)[1] for mu in beliefs])
