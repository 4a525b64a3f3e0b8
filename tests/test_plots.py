"""Figures: content of the value-function plots, bars and tables.

Numbers checked come from THEORY §8 (examples A, monopoly, and B, quality)
and from the assignment example's docstring (a jump at P(hot) = 0.6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection

import calmech
from calmech.errors import FormatError, InputError
from calmech.plots import (
    calibrated_tables,
    figure_bytes,
    plot_value_function,
    plot_value_line,
    plot_value_triangle,
    plot_values,
    sample_line,
    save_figure,
    standard_tables,
    upper_concave_hull,
    values_table,
)
from calmech.plots.value import line_segments, ternary

#: Tolerance on values read back from a figure.
ATOL = 1e-6


@pytest.fixture(scope="module")
def quality():
    return calmech.solve(calmech.examples.quality())


@pytest.fixture(scope="module")
def monopoly():
    return calmech.solve(calmech.examples.monopoly())


@pytest.fixture(scope="module")
def three_states():
    """A quality example with states good, medium and bad."""
    env = calmech.Environment(
        name="three qualities",
        states=["good", "medium", "bad"],
        types=["low", "high"],
        allocations=["no sale", "sale"],
        prior=[[0.25, 0.15, 0.1], [0.05, 0.15, 0.3]],
        agent_payoff=[[[0, 0, 0], [0, 0, 0]], [[2, 1, 0], [4, 2, 0]]],
    )
    return calmech.solve(env)


def _legend(fig):
    return [
        t.get_text()
        for ax in fig.axes
        if ax.get_legend()
        for t in ax.get_legend().get_texts()
    ]


def _annotations(ax):
    return [t.get_text() for t in ax.texts if t.get_text().startswith("p = ")]


def _line(ax, label):
    return next(line for line in ax.get_lines() if line.get_label() == label)


@pytest.mark.parametrize("name", ["quality", "monopoly"])
def test_line_plot_content(name, request):
    sol = request.getfixturevalue(name)
    env = sol.environment
    fig = plot_value_line(sol, points=61)
    ax = fig.axes[0]
    assert ax.get_xlabel() == f"P({env.states[0]})"
    assert ax.get_ylabel() == "designer's expected payoff"

    # One annotation per posterior, naming its probability and belief.
    notes = _annotations(ax)
    assert len(notes) == len(sol.calibrated.signals) == 2
    for sig in sol.calibrated.signals:
        assert any(f"p = {sig.probability:.3g}" in n for n in notes)
        assert any(f"{env.states[0]} = {sig.posterior[0]:.3g}" in n for n in notes)

    # The legend carries the four values.
    legend = _legend(fig)
    for key, label in [
        ("standard", "standard"),
        ("calibrated", "calibrated"),
        ("full_transparency", "full transparency"),
        ("no_disclosure", "no disclosure"),
    ]:
        assert f"{label} = {sol.values[key]:.4g}" in legend

    # The envelope drawn passes through the calibrated value at the prior.
    hx, hy = _line(ax, "cav V").get_data()
    mu0 = env.state_prior[0]
    assert np.interp(mu0, hx, hy) == pytest.approx(sol.calibrated.value, abs=ATOL)


def test_quality_posteriors_on_the_figure(quality):
    # THEORY §8 B: posteriors P(good) = 0 and 0.7 with probabilities 2/7, 5/7.
    notes = " ".join(_annotations(plot_value_line(quality, points=31).axes[0]))
    assert "good = 0.7" in notes and "good = 0" in notes
    assert f"p = {5 / 7:.3g}" in notes and f"p = {2 / 7:.3g}" in notes


def test_assignment_jump_is_not_bridged():
    sol = calmech.solve(calmech.examples.assignment())
    x, values, jumps = sample_line(sol.environment, points=41)
    assert len(jumps) == 1
    i = jumps[0]
    assert x[i] <= 0.6 <= x[i + 1] and x[i + 1] - x[i] < 1e-4
    # V jumps up to 1.92 at 0.6 (upper semicontinuous): the upper side holds.
    assert max(values[i], values[i + 1]) == pytest.approx(1.92, abs=ATOL)
    ax = plot_value_line(sol, points=41).axes[0]
    # A filled dot on the upper side of the jump, an open one on the lower.
    dots = {
        (line.get_markerfacecolor(), round(float(line.get_ydata()[0]), 6))
        for line in ax.get_lines()
        if line.get_marker() == "o" and line.get_markeredgecolor() == "black"
    }
    assert ("black", 1.92) in dots and ("white", 1.0) in dots
    for line in ax.get_lines():
        if line.get_linestyle() == "-" and line.get_color() == "black":
            lx, ly = line.get_data()
            steps = np.abs(np.diff(ly)) / np.maximum(np.diff(lx), 1e-300)
            assert not np.any((np.abs(np.diff(ly)) > 0.5) & (steps > 100)), (
                "a line bridges the jump"
            )


def test_line_segments_split_at_infeasible_points():
    x = np.linspace(0, 1, 5)
    pieces = line_segments(x, np.array([1, 2, -math.inf, 3, 4.0]), [])
    assert [p[0].tolist() for p in pieces] == [[0, 0.25], [0.75, 1.0]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 200).map(lambda i: i / 200),
            st.floats(-5, 5, allow_nan=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_upper_concave_hull_is_concave_and_above(points):
    x, y = np.array(points).T
    hx, hy = upper_concave_hull(x, y)
    assert np.all(np.diff(hx) > 0)
    tol = 1e-9
    assert np.all(np.interp(x, hx, hy) >= y - tol)
    slopes = np.diff(hy) / np.diff(hx)
    assert np.all(np.diff(slopes) <= tol * (1 + np.abs(slopes[1:])))


def test_triangle_content(three_states):
    sol = three_states
    signals = sol.calibrated.signals
    fig = plot_value_triangle(sol, divisions=12)
    ax, bar = fig.axes
    assert bar.get_ylabel() == "V(μ)"
    labels = {t.get_text() for t in ax.texts}
    assert {"good", "medium", "bad"} <= labels
    assert len(_annotations(ax)) == len(signals) >= 2

    # One dot per posterior, at its ternary position, sized by probability.
    dots = [
        c
        for c in ax.collections
        if isinstance(c, PathCollection) and not c.get_label().startswith("prior")
    ]
    offsets = np.vstack([c.get_offsets() for c in dots])
    expected = ternary([s.posterior for s in signals])
    for point in expected:
        assert np.min(np.linalg.norm(offsets - point, axis=1)) < ATOL
    sizes = np.concatenate([c.get_sizes() for c in dots])
    probs = sorted(s.probability for s in signals)
    assert np.allclose(sorted(sizes), [60 + 400 * p for p in probs])

    legend = _legend(fig)
    assert f"calibrated = {sol.values['calibrated']:.4g}" in legend
    assert f"prior: no disclosure = {sol.values['no_disclosure']:.4g}" in legend


def test_dispatch_and_bad_state_counts(monopoly):
    assert plot_value_function(monopoly).axes[0].get_xlabel() == "P(L)"
    env = calmech.Environment(
        states=list("abcd"),
        types=["t"],
        allocations=["x"],
        prior=[[0.25] * 4],
        agent_payoff=0,
    )
    with pytest.raises(InputError, match="value plots need 2 or 3 states; got 4"):
        plot_value_function(calmech.solve(env))


def test_value_bars(quality):
    fig = plot_values(quality)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["standard", "calibrated", "full transparency", "no disclosure"]
    widths = sorted(p.get_width() for p in ax.patches)
    assert np.allclose(widths, sorted(quality.values.values()), atol=ATOL)
    texts = [t.get_text().strip() for t in ax.texts]
    assert texts.count("1.25") == 2 and texts.count("1") == 2


def test_tables_carry_the_mechanism(quality):
    tables = calibrated_tables(quality)
    sig = max(quality.calibrated.signals, key=lambda s: s.probability)
    table = next(t for t in tables if f"probability {sig.probability:.4g}" in t.title)
    # At P(good) = 0.7 both types buy at the common expected value 1.75.
    assert [row[-1] for row in table.rows] == [
        f"{sig.transfers[n]:.6g}" for n in (0, 1)
    ]
    assert pytest.approx(float(table.rows[0][-1]), abs=ATOL) == 1.75
    html = table.to_html()
    assert "<caption>" in html and html.count("<tr>") == 3
    assert table.to_markdown().count("\n|") == 4
    assert len(standard_tables(quality)) == 2
    assert values_table(quality).rows[1][:2] == (
        "calibrated",
        f"{quality.values['calibrated']:.6g}",
    )


def test_save_figure_formats_and_refusal(tmp_path, monopoly):
    fig = plot_values(monopoly)
    paths = save_figure(fig, tmp_path / "v.png")
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths[1].read_bytes()[:500]
    with pytest.raises(FormatError, match="exists; pass --force"):
        save_figure(fig, tmp_path / "v.png")
    save_figure(fig, tmp_path / "v.png", force=True)
    with pytest.raises(InputError, match="format"):
        figure_bytes(fig, "gif")
