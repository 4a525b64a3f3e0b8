"""Regenerate docs/figures/ and docs/figures.md from the built-in examples.

Run from the repository root:

    .venv/bin/python docs/make_figures.py

Every number in figures.md is measured by this script at the time it runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import calmech
from calmech.files import atomic_write_text, environment_to_document
from calmech.frontier import pareto_frontier, plot_frontier
from calmech.plots import plot_value_function, plot_values, save_figure
from calmech.sweep import parse_setting, plot_sweep, sweep

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "figures"


def three_qualities() -> calmech.Environment:
    """Quality with three states: the buyer values good 2/4, medium 1/2, bad 0."""
    return calmech.Environment(
        name="three qualities",
        states=["good", "medium", "bad"],
        types=["low", "high"],
        allocations=["no sale", "sale"],
        prior=[[0.25, 0.15, 0.1], [0.05, 0.15, 0.3]],
        agent_payoff=[[[0, 0, 0], [0, 0, 0]], [[2, 1, 0], [4, 2, 0]]],
    )


def save(fig, name: str) -> str:
    save_figure(fig, OUT / f"{name}.png", force=True)
    return f"figures/{name}.png"


def values_line(sol: calmech.Solution) -> str:
    v = sol.values
    return (
        f"standard {v['standard']:.6g}, calibrated {v['calibrated']:.6g}, "
        f"full transparency {v['full_transparency']:.6g}, "
        f"no disclosure {v['no_disclosure']:.6g}"
    )


def signals_line(sol: calmech.Solution) -> str:
    env = sol.environment
    parts = []
    for sig in sol.calibrated.signals:
        belief = ", ".join(
            f"{s} {p:.4g}" for s, p in zip(env.states, sig.posterior, strict=True)
        )
        parts.append(f"({belief}) with probability {sig.probability:.4g}")
    return "; ".join(parts)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    lines = [
        "# Figures",
        "",
        "Every figure below is produced by `calmech.plots`, `calmech.frontier` "
        "and `calmech.sweep` on the built-in examples, and regenerated with",
        "",
        "    .venv/bin/python docs/make_figures.py",
        "",
        "which also writes this page, so the numbers quoted are the ones it "
        "measured. Each figure exists as PNG and SVG in `docs/figures/`.",
        "",
    ]
    started = time.perf_counter()

    # Value functions and bars of the examples.
    lines += ["## The value function and its concave envelope", ""]
    lines += [
        "V(μ) is the designer's best payoff from one state-independent "
        "mechanism at belief μ; the optimal calibrated value is its concave "
        "envelope cav V at the prior (THEORY §5). With two states the black "
        "curve is V (broken where V jumps; a filled dot marks the value at a "
        "jump, an open dot the limit from the other side), the dashed red "
        "line cav V (the upper concave hull of V sampled at 301 beliefs plus "
        "the exact posteriors), the dotted blue chord full transparency. At "
        "the prior, short dashes mark the four values; circles mark the "
        "optimal posteriors with their probabilities.",
        "",
    ]
    for name in ("monopoly", "quality", "assignment"):
        sol = calmech.solve(calmech.examples.get_example(name))
        value = save(plot_value_function(sol), f"value_{name}")
        bars = save(plot_values(sol), f"values_{name}")
        lines += [
            f"### {name}",
            "",
            f"Measured: {values_line(sol)}. Posteriors: {signals_line(sol)}.",
            "",
            f"![V and cav V, {name}]({value})",
            "",
            f"![the four values, {name}]({bars})",
            "",
        ]

    # Three states.
    sol = calmech.solve(three_qualities())
    tri = save(plot_value_function(sol), "value_three_qualities")
    lines += [
        "### Three states",
        "",
        "With three states a belief is a point of the triangle (ternary "
        "coordinates; each corner is a state). Colour is V on a grid of 703 "
        "beliefs (36 steps a side); the star is the prior and the red "
        "segments split it into the optimal posteriors, dot size ∝ "
        "probability. The environment is `three_qualities()` in "
        "`docs/make_figures.py`: the buyer values the good at 2, 1, 0 (low "
        "type) or 4, 2, 0 (high type) in states good, medium, bad.",
        "",
        f"Measured: {values_line(sol)}. Posteriors: {signals_line(sol)}.",
        "",
        f"![V on the triangle]({tri})",
        "",
    ]

    # Frontiers.
    lines += [
        "## Pareto frontiers",
        "",
        "For weights λ the designer maximises λ·E[v + τ t] + (1 − λ)·E[u − t] "
        "over calibrated and over standard mechanisms; the figure plots the "
        "two payoffs read off the optimal mechanisms. Without a lower bound "
        "on payments only λ > 1/(1 + τ) is bounded (`calmech frontier "
        "--lower-bound LO` opens the whole range).",
        "",
    ]
    for name, bounds in (("assignment", None), ("monopoly", (0.0, None))):
        f = pareto_frontier(calmech.examples.get_example(name), 11, bounds)
        path = save(plot_frontier(f), f"frontier_{name}")
        command = f"calmech frontier {name} --points 11"
        if bounds:
            command += " --lower-bound 0"
        lines += [
            f"`{command}` ({f.note}):",
            "",
            f"![frontier, {name}]({path})",
            "",
        ]

    # Sweeps.
    quality = environment_to_document(calmech.examples.quality())
    one = sweep(quality, [parse_setting("agent_payoff[1][1][0]=2:6:9")])
    path1 = save(plot_sweep(one), "sweep_quality")
    gains = [r["gain"] for r in one.rows]
    monopoly = environment_to_document(calmech.examples.monopoly())
    two = sweep(
        quality,
        [
            parse_setting("agent_payoff[1][1][0]=2:6:5"),
            parse_setting("correlation=0:1.2:4"),
        ],
    )
    path2 = save(plot_sweep(two), "sweep_quality_2d")
    corr = sweep(monopoly, [parse_setting("correlation=0:1:6")])
    path3 = save(plot_sweep(corr), "sweep_monopoly_correlation")
    lines += [
        "## Sweeps",
        "",
        '`calmech sweep quality --set "agent_payoff[1][1][0]=2:6:9"` varies '
        "the high type's value of a good product; the largest measured gain "
        f"of calibration over the better simple disclosure is {max(gains):.4g}.",
        "",
        f"![sweep]({path1})",
        "",
        "Two parameters: the same value and the `correlation` c of the prior "
        "(P_c = p⊗q + c·(P − p⊗q), marginals kept; c = 0 independent, c = 1 "
        "the file's prior). Left: the calibrated value, one line per c; "
        "right: the gain of calibration as a heatmap.",
        "",
        f"![two-parameter sweep]({path2})",
        "",
        "Monopoly (private values) as correlation grows: the standard value "
        "rises to Crémer–McLean's full surplus while calibrated stays at full "
        "transparency (THEORY §6). Measured standard values: "
        + ", ".join(f"{r['standard']:.4g}" for r in corr.rows)
        + "; calibrated: "
        + ", ".join(f"{r['calibrated']:.4g}" for r in corr.rows)
        + ".",
        "",
        f"![correlation sweep]({path3})",
        "",
        "## Report",
        "",
        "`calmech report quality --out quality-report` writes `report.html` "
        "(one page, figures embedded), `report.md` and the PNG figures "
        "(`values.png`, `value_function.png`).",
        "",
    ]
    lines += [
        "## Limitations",
        "",
        "- V is drawn for two or three states only; reports of larger "
        "environments carry the value bars and the tables but no V figure.",
        "- The envelope drawn with two states is the hull of V sampled on a "
        "grid plus the exact posteriors: exact at the prior, possibly below "
        "cav V between grid points elsewhere. A jump is located by halving "
        "a steep step 12 times; a belief where the value problem reports no "
        "solution ends the halving and is not drawn.",
        "- Without a lower bound on payments the frontier stops at "
        "λ = 1/(1 + τ) + 0.001; beyond it lies a ray of slope −1/τ (the "
        "designer handing the agent money), which is not drawn.",
        "- The `correlation` sweep needs the prior as an array, not a formula.",
        "",
    ]
    elapsed = time.perf_counter() - started
    lines.append(f"_This page took {elapsed:.0f} s to generate._")
    lines.append("")
    atomic_write_text(DOCS / "figures.md", "\n".join(lines), force=True)


if __name__ == "__main__":
    main()
