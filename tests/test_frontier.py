"""Pareto frontiers of designer payoff and agent surplus.

Numbers from THEORY §8 A (monopoly): the standard optimum extracts the full
surplus 1.5 (Crémer–McLean), the calibrated optimum earns 1.3.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import calmech
from calmech.cli import main
from calmech.errors import InputError
from calmech.frontier import (
    lowest_weight,
    pareto_frontier,
    plot_frontier,
    weighted_environment,
)

#: Tolerance on payoffs (LP solutions).
ATOL = 1e-6


@pytest.fixture(scope="module")
def assignment_frontier():
    return pareto_frontier(calmech.examples.assignment(), points=5)


def test_weights_and_bounds():
    mono = calmech.examples.monopoly()
    assert lowest_weight(mono) == pytest.approx(0.5)
    assert lowest_weight(mono.replace(transfer_weight=3.0)) == pytest.approx(0.25)
    assert lowest_weight(mono.replace(transfer_bounds=(-1.0, None))) == 0.0
    assert lowest_weight(calmech.examples.assignment()) == 0.0
    with pytest.raises(InputError, match="transfer_weight: must be positive"):
        lowest_weight(mono.replace(transfer_weight=0.0))
    w = weighted_environment(mono.replace(transfer_bounds=(0.0, None)), 0.25)
    assert w.transfer_weight == pytest.approx(0.25 - 0.75)
    with pytest.raises(InputError, match="negative weight needs a finite lower"):
        weighted_environment(mono, 0.25)
    with pytest.raises(InputError, match="weight: must be between 0 and 1"):
        weighted_environment(mono, 1.5)


def test_end_points_match_the_solution(assignment_frontier):
    sol = calmech.solve(calmech.examples.assignment())
    top_cal, top_std = (
        assignment_frontier.calibrated[-1],
        assignment_frontier.standard[-1],
    )
    assert top_cal.weight == 1.0
    assert top_cal.designer == pytest.approx(sol.calibrated.value, abs=ATOL)
    assert top_std.designer == pytest.approx(sol.standard.value, abs=ATOL)


def test_standard_dominates_calibrated_for_every_weight(assignment_frontier):
    f = assignment_frontier
    for cal, std in zip(f.calibrated, f.standard, strict=True):
        lam = cal.weight
        w_cal = lam * cal.designer + (1 - lam) * cal.agent
        w_std = lam * std.designer + (1 - lam) * std.agent
        assert w_std >= w_cal - ATOL
    # Each frontier slopes down: more weight on the designer, more for it.
    designer = [p.designer for p in f.calibrated]
    assert np.all(np.diff(designer) >= -ATOL)


def test_lower_bound_opens_the_whole_range():
    env = calmech.examples.monopoly()
    f = pareto_frontier(env, points=3, transfer_bounds=(0.0, None))
    assert f.weights[0] == 0.0 and f.note == "λ from 0 to 1"
    # λ = 0: give the good to everyone for free; the agent gets E[value].
    expected = float((env.prior.sum(axis=1) * np.array([1.0, 2.0])).sum())
    assert f.calibrated[0].agent == pytest.approx(expected, abs=ATOL)
    assert f.calibrated[0].designer == pytest.approx(0.0, abs=ATOL)
    # λ = 1: Crémer–McLean in the standard class, 1.3 calibrated (THEORY §8 A).
    assert f.standard[-1].designer == pytest.approx(1.5, abs=ATOL)
    assert f.calibrated[-1].designer == pytest.approx(1.3, abs=ATOL)


def test_without_lower_bound_weights_start_above_half():
    f = pareto_frontier(calmech.examples.monopoly(), points=2)
    assert 0.5 < f.weights[0] < 0.51
    assert "no lower transfer bound" in f.note


def test_plot_content(assignment_frontier):
    fig = plot_frontier(assignment_frontier)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "agent's expected surplus E[u − t]"
    assert ax.get_ylabel() == "designer's expected payoff E[v + τ t]"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["standard (5 weights)", "calibrated (5 weights)"]


def test_cli_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "f.png"
    assert (
        main(["frontier", "monopoly", "--points", "3", "--json", "--plot", str(plot)])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["calibrated"]) == 3 and len(doc["standard"]) == 3
    assert doc["standard"][-1]["designer"] == pytest.approx(1.5, abs=ATOL)
    assert plot.exists() and plot.with_suffix(".svg").exists()
    assert main(["frontier", "monopoly", "--points", "3", "--plot", str(plot)]) == 2
    assert main(["frontier", "monopoly", "--points", "1"]) == 2
    assert "points: must be an integer of at least 2" in capsys.readouterr().err
