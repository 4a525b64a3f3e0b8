"""Pictures of the value function V and its concave envelope cav V.

The optimal calibrated value is ``cav V(μ₀) = max {Σ_s p_s V(μ_s) :
Σ_s p_s μ_s = μ₀}`` (THEORY §5). With two states a belief is one number,
``x = μ(ω₁)``, and cav V is the upper concave hull of the graph of V; the
optimal signal splits the prior into the posteriors where the hull touches
V. With three states a belief is a point of a triangle (ternary
coordinates) and the signal is drawn as the split of the prior into its
posteriors.

V is upper semicontinuous but may jump, on the faces of the simplex and in
its interior. Lines are therefore broken where a step of the sampling grid
hides a jump: a step is a jump when its difference in V does not shrink as
the step is halved :data:`JUMP_HALVINGS` times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from calmech.environment import Environment
from calmech.errors import InputError
from calmech.value import ValueFunction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from calmech.mechanisms import Solution

__all__ = [
    "JUMP_HALVINGS",
    "VALUE_COLOURS",
    "line_segments",
    "plot_value_function",
    "plot_value_line",
    "plot_value_triangle",
    "sample_line",
    "simplex_grid",
    "ternary",
    "upper_concave_hull",
]

#: Bisections of a steep step before it is called a jump.
JUMP_HALVINGS = 12

#: A step is examined for a jump when its change exceeds this many times the
#: median change of the grid (and :data:`JUMP_MIN_FRACTION` of the range).
JUMP_CANDIDATE_RATIO = 3.0
JUMP_MIN_FRACTION = 1e-3

#: Colours of the four values, shared by every figure.
VALUE_COLOURS = {
    "standard": "#7b3294",
    "calibrated": "#d7191c",
    "full_transparency": "#2c7bb6",
    "no_disclosure": "#1a9641",
}

VALUE_NAMES = {
    "standard": "standard",
    "calibrated": "calibrated",
    "full_transparency": "full transparency",
    "no_disclosure": "no disclosure",
}


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "infeasible" if x < 0 else "unbounded"
    return f"{x:.4g}"


# ----------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------
def upper_concave_hull(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of the upper concave hull of points ``(x_i, y_i)``.

    Points with non-finite ``y`` are ignored; the hull is the least concave
    function above the remaining points, on their range of ``x``.

    Parameters
    ----------
    x, y : array_like, shape (P,)

    Returns
    -------
    hx, hy : ndarray
        Vertices in increasing ``x``.

    Examples
    --------
    >>> hx, hy = upper_concave_hull([0, 0.5, 1], [0, -1, 1])
    >>> hx.tolist(), hy.tolist()
    ([0.0, 1.0], [0.0, 1.0])
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    order = np.lexsort((-y[keep], x[keep]))
    px, py = x[keep][order], y[keep][order]
    hull: list[int] = []
    for i in range(px.size):
        if hull and px[hull[-1]] == px[i]:
            continue  # the highest point of each x comes first
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (px[b] - px[a]) * (py[i] - py[a]) - (py[b] - py[a]) * (
                px[i] - px[a]
            )
            if cross >= 0:  # b lies on or below the chord a-i
                hull.pop()
            else:
                break
        hull.append(i)
    return px[hull], py[hull]


def ternary(beliefs: Any) -> np.ndarray:
    """Plane coordinates of beliefs over three states.

    State 1 sits at (0, 0), state 2 at (1, 0) and state 3 at (1/2, √3/2).

    Examples
    --------
    >>> ternary([[1, 0, 0], [0, 0, 1]]).round(3).tolist()
    [[0.0, 0.0], [0.5, 0.866]]
    """
    mu = np.atleast_2d(np.asarray(beliefs, dtype=float))
    return np.column_stack([mu[:, 1] + mu[:, 2] / 2, mu[:, 2] * math.sqrt(3) / 2])


def simplex_grid(divisions: int) -> np.ndarray:
    """All beliefs over three states with coordinates in multiples of 1/divisions.

    Examples
    --------
    >>> simplex_grid(2).shape
    (6, 3)
    """
    rows = [
        (i, j, divisions - i - j)
        for i in range(divisions + 1)
        for j in range(divisions + 1 - i)
    ]
    return np.array(rows, dtype=float) / divisions


# ----------------------------------------------------------------------
# Sampling V on the line
# ----------------------------------------------------------------------
def _line_value(vf: ValueFunction, x: float) -> float:
    return vf._solve(np.array([x, 1.0 - x])).value


def sample_line(
    env: Environment,
    points: int = 301,
    extra: Sequence[float] = (),
    vf: ValueFunction | None = None,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """V along the belief line of a two-state environment, jumps located.

    Parameters
    ----------
    env : Environment
        Two states; ``x`` is the probability of the first.
    points : int, default 301
        Evenly spaced beliefs, both faces included.
    extra : sequence of float
        Further beliefs evaluated exactly (posteriors, the prior).
    vf : ValueFunction, optional

    Returns
    -------
    x, values : ndarray
        Sorted beliefs and V there (``-inf`` where infeasible).
    jumps : list of int
        Indices ``i`` such that V jumps between ``x[i]`` and ``x[i + 1]``.

    Examples
    --------
    >>> from calmech.examples import assignment
    >>> x, v, jumps = sample_line(assignment(), points=51)
    >>> [round(float(x[i]), 3) for i in jumps]  # a jump at P(hot) = 0.6
    [0.6]
    """
    if env.shape[2] != 2:
        raise InputError("environment", "the belief line needs 2 states", env.shape[2])
    if points < 3:
        raise InputError("points", "must be at least 3", points)
    vf = vf or ValueFunction(env)
    x = np.unique(np.concatenate([np.linspace(0.0, 1.0, points), np.asarray(extra)]))
    x = x[(x >= 0) & (x <= 1)]
    values = np.array([_line_value(vf, xi) for xi in x])

    # Candidate steps: much steeper than usual.
    finite = np.isfinite(values)
    span = np.ptp(values[finite]) if finite.any() else 0.0
    diffs = np.abs(np.diff(values))
    typical = np.median(diffs[np.isfinite(diffs)]) if np.isfinite(diffs).any() else 0
    floor = max(JUMP_CANDIDATE_RATIO * typical, JUMP_MIN_FRACTION * span, 1e-12)
    new_x: list[float] = []
    new_v: list[float] = []
    brackets = []
    for i in np.flatnonzero(np.isfinite(diffs) & (diffs > floor)):
        xs, vs, bracket = _bisect_jump(vf, x[i], values[i], x[i + 1], values[i + 1])
        new_x.extend(xs)
        new_v.extend(vs)
        if bracket is not None:
            brackets.append(bracket)
    if new_x:
        x = np.concatenate([x, new_x])
        values = np.concatenate([values, new_v])
        x, first = np.unique(x, return_index=True)
        values = values[first]

    # Jumps: the final brackets of the steps that stayed steep.
    jumps = sorted(int(np.searchsorted(x, a)) for a, _ in brackets)
    return x, values, jumps


def _bisect_jump(
    vf: ValueFunction, a: float, va: float, b: float, vb: float
) -> tuple[list[float], list[float], tuple[float, float] | None]:
    """Halve a steep step toward its steepest half.

    Returns the beliefs evaluated, V there, and the final bracket when the
    change did not shrink (a jump) or ``None``. A midpoint where the value
    problem reports no solution ends the halving; it is not drawn.
    """
    change = abs(vb - va)
    xs, vs = [], []
    for _ in range(JUMP_HALVINGS):
        m = 0.5 * (a + b)
        vm = _line_value(vf, m)
        if not math.isfinite(vm):
            break  # an infeasible sliver at the jump: keep the bracket found
        xs.append(m)
        vs.append(vm)
        if abs(vm - va) >= abs(vb - vm):
            b, vb = m, vm
        else:
            a, va = m, vm
    if abs(vb - va) > 0.5 * change:
        return xs, vs, (a, b)
    return xs, vs, None


def line_segments(
    x: np.ndarray, values: np.ndarray, jumps: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pieces of the graph to draw as lines: split at jumps and at ``-inf``.

    Examples
    --------
    >>> x = np.array([0.0, 0.5, 0.51, 1.0])
    >>> pieces = line_segments(x, np.array([0.0, 0.5, 2.0, 2.0]), [1])
    >>> [p[0].tolist() for p in pieces]
    [[0.0, 0.5], [0.51, 1.0]]
    """
    cuts = set(int(i) for i in jumps)
    pieces = []
    start = None
    for i in range(x.size):
        if not math.isfinite(values[i]):
            if start is not None:
                pieces.append((x[start:i], values[start:i]))
            start = None
            continue
        if start is None:
            start = i
        if i in cuts or i == x.size - 1:
            pieces.append((x[start : i + 1], values[start : i + 1]))
            start = None
    return pieces


# ----------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------
def _new_figure(width: float = 7.0, height: float = 4.6) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=120, layout="constrained")


def plot_value_line(
    sol: Solution, points: int = 301, vf: ValueFunction | None = None
) -> Figure:
    """V over the belief line, cav V, the prior, the posteriors and the values.

    Parameters
    ----------
    sol : Solution
        Of a two-state environment (see :func:`calmech.solve`).
    points : int, default 301
        Beliefs sampled evenly; posteriors and the prior are added exactly.
    vf : ValueFunction, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The envelope drawn is the upper concave hull of the sampled points and
    the exact posteriors: it touches cav V at the prior and lies below it by
    at most what the grid misses elsewhere.

    Examples
    --------
    >>> import calmech
    >>> fig = plot_value_line(calmech.solve(calmech.examples.quality()), points=41)
    >>> fig.axes[0].get_xlabel()
    'P(good)'
    """
    env = sol.environment
    vf = vf or ValueFunction(env)
    mu0 = float(env.state_prior[0])
    posts = [float(s.posterior[0]) for s in sol.calibrated.signals]
    x, values, jumps = sample_line(env, points, [mu0, *posts], vf)
    fig = _new_figure()
    ax = fig.add_subplot()

    # V, broken at jumps; the value at a jump is the upper one (usc).
    for n, (sx, sv) in enumerate(line_segments(x, values, jumps)):
        label = "V(μ), best state-independent mechanism" if n == 0 else None
        if sx.size == 1:
            ax.plot(sx, sv, "o", color="black", ms=3.5, label=label, zorder=3)
        else:
            ax.plot(sx, sv, "-", color="black", lw=1.6, label=label, zorder=3)
    for i in jumps:
        lo, hi = (i, i + 1) if values[i] < values[i + 1] else (i + 1, i)
        ax.plot(x[hi], values[hi], "o", color="black", ms=5, zorder=4)
        ax.plot(x[lo], values[lo], "o", mfc="white", mec="black", ms=5, zorder=4)

    # cav V from the samples and the exact support points.
    hx, hy = upper_concave_hull(x, values)
    ax.plot(hx, hy, "--", color=VALUE_COLOURS["calibrated"], lw=1.4, label="cav V")

    # Full transparency: the chord between the faces.
    ends = sol.full_transparency.points
    if all(p.feasible for p in ends):
        ax.plot(
            [0.0, 1.0],
            [ends[1].value, ends[0].value],
            ":",
            color=VALUE_COLOURS["full_transparency"],
            lw=1.0,
        )

    # The prior and the four values there.
    ax.axvline(mu0, color="grey", lw=0.8, ls=":")
    # Coinciding values stay visible: a short dash each, markers staggered.
    markers = {
        "standard": ("*", -0.03),
        "calibrated": ("o", -0.01),
        "full_transparency": ("s", 0.01),
        "no_disclosure": ("D", 0.03),
    }
    for key, value in sol.values.items():
        if not math.isfinite(value):
            continue
        marker, shift = markers[key]
        colour = VALUE_COLOURS[key]
        ax.plot([mu0 - 0.045, mu0 + 0.045], [value, value], "-", color=colour, lw=1)
        ax.plot(
            mu0 + shift,
            value,
            marker,
            color=colour,
            ms=10 if key == "standard" else 6.5,
            mec="black",
            mew=0.5,
            zorder=5,
            label=f"{VALUE_NAMES[key]} = {_fmt(value)}",
        )

    # The posteriors, with their probabilities.
    for s, sig in enumerate(sol.calibrated.signals):
        px = float(sig.posterior[0])
        ax.plot(
            px,
            sig.value,
            "o",
            ms=9,
            mfc="none",
            mec=VALUE_COLOURS["calibrated"],
            mew=2,
            zorder=6,
            label="optimal posteriors" if s == 0 else None,
        )
        ax.annotate(
            f"p = {sig.probability:.3g}\n{env.states[0]} = {px:.3g}",
            (px, sig.value),
            textcoords="offset points",
            xytext=(9 if px < 0.8 else -62, 6),
            fontsize=8,
            color=VALUE_COLOURS["calibrated"],
        )

    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"P({env.states[0]})")
    ax.set_ylabel("designer's expected payoff")
    ax.set_title(f"{env.name}: value function and its concave envelope")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    ax.text(
        mu0,
        0.01,
        " prior",
        transform=ax.get_xaxis_transform(),
        va="bottom",
        fontsize=8,
        color="grey",
    )
    return fig


def plot_value_triangle(
    sol: Solution, divisions: int = 36, vf: ValueFunction | None = None
) -> Figure:
    """V on the belief triangle, the prior and its split into posteriors.

    Parameters
    ----------
    sol : Solution
        Of a three-state environment.
    divisions : int, default 36
        Each side is cut into this many steps; V is evaluated on the
        resulting grid, ``(divisions + 1)(divisions + 2)/2`` beliefs.
    vf : ValueFunction, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Each small triangle of the grid is coloured by the mean of V at its
    corners, so a jump of V shows as a sharp edge one cell wide; cells with
    an infeasible corner are left white.

    Examples
    --------
    >>> import calmech
    >>> env = calmech.Environment(
    ...     states=["a", "b", "c"], types=["t"], allocations=["no", "yes"],
    ...     prior=[[0.2, 0.3, 0.5]], agent_payoff=[[[0, 0, 0]], [[1, 2, 3]]])
    >>> fig = plot_value_triangle(calmech.solve(env), divisions=6)
    >>> len(fig.axes)  # the triangle and its colour bar
    2
    """
    import matplotlib.tri as mtri

    env = sol.environment
    if env.shape[2] != 3:
        raise InputError(
            "environment", "the belief triangle needs 3 states", env.shape[2]
        )
    if divisions < 2:
        raise InputError("divisions", "must be at least 2", divisions)
    vf = vf or ValueFunction(env)
    grid = simplex_grid(divisions)
    values = np.array([vf._solve(mu).value for mu in grid])
    xy = ternary(grid)
    tri = mtri.Triangulation(xy[:, 0], xy[:, 1])
    corner = values[tri.triangles]
    bad = ~np.all(np.isfinite(corner), axis=1)
    tri.set_mask(bad)
    colour = np.where(bad, 0.0, np.where(np.isfinite(corner), corner, 0).mean(axis=1))

    fig = _new_figure(6.8, 6.4)
    ax = fig.add_subplot()
    mesh = ax.tripcolor(tri, facecolors=colour, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, shrink=0.8, label="V(μ)")
    corners = ternary(np.eye(3))
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="black", lw=1)
    offsets = [(-0.04, -0.05), (0.04, -0.05), (0.0, 0.03)]
    for k, label in enumerate(env.states):
        ax.text(
            corners[k, 0] + offsets[k][0],
            corners[k, 1] + offsets[k][1],
            label,
            ha="center",
            fontsize=10,
            weight="bold",
        )

    # The prior split into the posteriors.
    p0 = ternary(env.state_prior)[0]
    signals = sol.calibrated.signals
    for s, sig in enumerate(signals):
        q = ternary(sig.posterior)[0]
        ax.plot([p0[0], q[0]], [p0[1], q[1]], "-", color="white", lw=2.2)
        ax.plot([p0[0], q[0]], [p0[1], q[1]], "-", color=VALUE_COLOURS["calibrated"])
        ax.scatter(
            q[0],
            q[1],
            s=60 + 400 * sig.probability,
            color=VALUE_COLOURS["calibrated"],
            edgecolor="white",
            zorder=5,
            label="optimal posteriors (size ∝ probability)" if s == 0 else None,
        )
        ax.annotate(
            f"p = {sig.probability:.3g}\nV = {sig.value:.4g}",
            q,
            textcoords="offset points",
            xytext=(11, -14),
            fontsize=8,
            color="black",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8},
        )
    v = sol.values
    ax.scatter(
        p0[0],
        p0[1],
        marker="*",
        s=220,
        color="white",
        edgecolor="black",
        zorder=6,
        label=f"prior: no disclosure = {_fmt(v['no_disclosure'])}",
    )
    for key in ("calibrated", "full_transparency", "standard"):
        ax.plot([], [], " ", label=f"{VALUE_NAMES[key]} = {_fmt(v[key])}")
    ax.set_aspect("equal")
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.08, 0.95)
    ax.axis("off")
    ax.set_title(f"{env.name}: V on the belief triangle")
    ax.legend(
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        framealpha=0.9,
    )
    return fig


def plot_value_function(sol: Solution, vf: ValueFunction | None = None) -> Figure:
    """:func:`plot_value_line` for two states, :func:`plot_value_triangle` for three.

    Raises
    ------
    InputError
        For one state or more than three.

    Examples
    --------
    >>> import calmech
    >>> fig = plot_value_function(calmech.solve(calmech.examples.monopoly()))
    >>> fig.axes[0].get_xlabel()
    'P(L)'
    """
    K = sol.environment.shape[2]
    if K == 2:
        return plot_value_line(sol, vf=vf)
    if K == 3:
        return plot_value_triangle(sol, vf=vf)
    raise InputError("environment", "value plots need 2 or 3 states", K)
