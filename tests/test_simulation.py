"""The repeated interaction: exact long run, simulation, plots and CLI.

Monte Carlo bound used throughout: runs are independent, so each summary
statistic s (averaged over runs and the last 10% of rounds) satisfies

    |s − s*| ≤ 4 · se(s) + allowance

where s* is the exact long-run value with that window's explorations
accounted for (``summary["predicted_*"]``), se(s) the standard error across
runs, and the allowance (``TRANSIENT``, in units of the largest per-round
payoff) covers agents still learning at the window's start.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from calmech import Environment, calibrated_optimum, standard_optimum
from calmech.cli import main
from calmech.errors import InputError, MechanismError
from calmech.examples import monopoly, quality
from calmech.simulation import (
    best_reports,
    exploration_rate,
    hidden_mechanism,
    long_run,
    simulate,
)

#: Values of THEORY §8 are rational; compare them to this tolerance.
ATOL = 1e-7
#: Standard errors allowed between a simulated average and its prediction.
Z = 4.0
#: Transient allowance, relative to the largest per-round payoff.
TRANSIENT = 0.01


def _within_bound(result) -> None:
    s = result.summary
    tab = np.abs([row.designer_by_report for row in result.analysis.rows]).max(
        initial=1.0
    )
    checks = [
        ("designer_payoff", s["predicted_designer_payoff"], TRANSIENT * tab),
        ("truthful_share", s["predicted_truthful_share"], TRANSIENT),
        ("exit_share", result.analysis.exit_share, TRANSIENT),
    ]
    for key, expected, allowance in checks:
        bound = Z * s[f"{key}_se"] + allowance
        assert abs(s[key] - expected) <= bound, (key, s[key], expected, bound)


# ----------------------------------------------------------------------
# Exact long run, THEORY §8
# ----------------------------------------------------------------------
def test_monopoly_standard_unravels():
    # THEORY §8 A: the textbook optimum promises 1.5 (Crémer–McLean); once
    # the agent learns the state from its price, both types leave in H.
    lr = long_run(monopoly(), "standard")
    assert lr.promised_value == pytest.approx(1.5, abs=ATOL)
    assert lr.value < 1.5 - 0.1
    assert lr.value == pytest.approx(1 / 3, abs=ATOL)
    assert lr.exit_share == pytest.approx(0.5, abs=ATOL)
    assert lr.truthful_share < 1


def test_monopoly_calibrated_keeps_its_promise():
    lr = long_run(monopoly(), "calibrated")
    assert lr.promised_value == pytest.approx(1.3, abs=ATOL)
    assert lr.value == pytest.approx(lr.promised_value, abs=ATOL)
    assert lr.truthful_share == pytest.approx(1.0, abs=ATOL)
    assert lr.exit_share == 0


def test_quality_standard_and_calibrated():
    std = long_run(quality(), "standard")
    cal = long_run(quality(), "calibrated")
    assert std.promised_value == pytest.approx(1.25, abs=ATOL)
    # Price 0.75 in the bad state is worth nothing: both types leave there.
    assert std.value == pytest.approx(0.875, abs=ATOL)
    assert cal.value == pytest.approx(1.25, abs=ATOL)
    assert cal.truthful_share == pytest.approx(1.0, abs=ATOL)


def test_two_stage_cells_are_signals():
    hm = hidden_mechanism(quality(), "calibrated")
    lr = long_run(quality(), hm)
    signal_of = {label: label.split(", ")[1] for label in hm.labels}
    for row in lr.rows:
        assert {signal_of[c] for c in row.cell} == {signal_of[row.hidden]}
        assert row.belief.sum() == pytest.approx(1.0)


def test_observed_payoffs_reveal_the_state_within_a_signal():
    # After signal 2 of example B the buyer who also sees its payoff learns
    # whether the good is good or bad; the price 1.75 then fails in "bad".
    plain = long_run(quality(), "calibrated")
    seen = long_run(quality(), "calibrated", observe_payoffs=True)
    assert all(len(r.cell) == 1 for r in seen.rows)
    assert seen.value < plain.value - 0.1
    assert seen.exit_share > 0


def test_calibrated_mechanism_is_truthful_for_random_environments():
    for seed in range(4):
        env = _random_env(seed, states=2)
        lr = long_run(env, calibrated_optimum(env))
        assert lr.truthful_share == pytest.approx(1.0, abs=ATOL)
        assert lr.value == pytest.approx(lr.promised_value, abs=1e-6)


def test_state_contingent_tuple_matches_standard():
    env = monopoly()
    std = standard_optimum(env)
    a = long_run(env, (std.allocation, std.transfers))
    b = long_run(env, std)
    assert a.value == pytest.approx(b.value, abs=ATOL)


# ----------------------------------------------------------------------
# Policy and schedule
# ----------------------------------------------------------------------
def test_indifferent_agent_tells_truth_and_stays():
    payoff = np.array([[1.0, 1.0]])
    report, stays = best_reports(1, np.ones((1, 1)), payoff, np.array([1.0]), 1e-9)
    assert report[0] == 1 and stays[0]
    report, stays = best_reports(1, np.ones((1, 1)), payoff, np.array([1.1]), 1e-9)
    assert not stays[0]


def test_exploration_schedule():
    eps = exploration_rate(np.arange(5), 0.5, 0.6)
    assert eps[0] == 0.5
    assert np.all(np.diff(eps) < 0)
    assert eps[3] == pytest.approx(0.5 / 4**0.6)


# ----------------------------------------------------------------------
# Simulation against the exact long run
# ----------------------------------------------------------------------
@pytest.mark.parametrize("example", [monopoly, quality])
@pytest.mark.parametrize("mechanism", ["standard", "calibrated"])
def test_simulation_converges_on_theory_examples(example, mechanism):
    res = simulate(example(), mechanism, rounds=400, runs=1500, random_state=3)
    _within_bound(res)


def test_calibrated_keeps_truthful_share_near_one():
    res = simulate(monopoly(), "calibrated", rounds=400, runs=1000, random_state=1)
    eps = res.summary["mean_exploration"]
    assert res.summary["truthful_share"] >= 1 - eps - Z * max(
        res.summary["truthful_share_se"], 1e-3
    )
    assert res.summary["exit_share"] == 0


def test_standard_monopoly_loses_truth_or_agents():
    res = simulate(monopoly(), "standard", rounds=300, runs=1000, random_state=2)
    s = res.summary
    assert s["truthful_share"] < 0.9 or s["exit_share"] > 0.1
    assert s["designer_payoff"] < res.promised_value - 0.5


def _random_env(seed: int, states: int | None = None) -> Environment:
    rng = np.random.default_rng(seed)
    K = states or int(rng.integers(2, 4))
    N, M = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    u = rng.integers(0, 5, size=(M, N, K)).astype(float)
    v = rng.integers(-1, 2, size=(M, N, K)).astype(float)
    u[0] = v[0] = 0.0
    return Environment(
        states=[f"s{k}" for k in range(K)],
        types=[f"t{n}" for n in range(N)],
        allocations=[f"a{m}" for m in range(M)],
        prior=rng.dirichlet(np.ones(N * K)).reshape(N, K),
        agent_payoff=u,
        designer_payoff=v,
    )


@pytest.mark.parametrize("seed", range(6))
def test_simulation_converges_on_random_environments(seed):
    env = _random_env(seed)
    res = simulate(env, "standard", rounds=300, runs=1000, random_state=seed)
    _within_bound(res)
    if env.shape[2] == 2:
        cal = simulate(env, "calibrated", rounds=300, runs=1000, random_state=seed)
        _within_bound(cal)


def test_observed_payoffs_simulation_matches_its_long_run():
    res = simulate(
        quality(),
        "calibrated",
        rounds=300,
        runs=1000,
        observe_payoffs=True,
        random_state=5,
    )
    _within_bound(res)


# ----------------------------------------------------------------------
# Reproducibility, shapes, memory, errors
# ----------------------------------------------------------------------
def test_same_seed_same_result():
    a = simulate(quality(), "standard", rounds=50, runs=100, random_state=7)
    b = simulate(
        quality(),
        "standard",
        rounds=50,
        runs=100,
        random_state=np.random.default_rng(7),
    )
    c = simulate(quality(), "standard", rounds=50, runs=100, random_state=8)
    assert a.to_dict() == b.to_dict()
    assert a.to_dict() != c.to_dict()


def test_series_is_thinned_and_paths_optional():
    res = simulate(monopoly(), rounds=1000, runs=20, random_state=0)
    assert len(res.series["round"]) <= 200
    assert res.series["round"][-1] == 1000
    assert res.paths is None
    kept = simulate(monopoly(), rounds=30, runs=20, keep_paths=True, random_state=0)
    assert kept.paths.beliefs.shape == (30, 20, 2)
    truth = kept.paths.belief_in_truth()
    # Prices differ across states: one round reveals the state.
    assert np.allclose(truth[-1], 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rounds": 0}, "rounds"),
        ({"runs": 1.5}, "runs"),
        ({"epsilon0": 2.0}, "epsilon0"),
        ({"decay": 1.5}, "decay"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(InputError, match=f"^{field}: "):
        simulate(monopoly(), **kwargs)


def test_unknown_mechanism_is_rejected():
    with pytest.raises(MechanismError, match="^mechanism: "):
        hidden_mechanism(monopoly(), "textbook")


def test_long_run_ignores_early_exits_today():
    # Known limitation (see long_run's Notes): the limit assumes the agent
    # reaches its cell. Here type t0 leaves at its prior belief, before any
    # learning, though it would stay once it knew the state.
    env = Environment(
        states=["a", "b"],
        types=["t0"],
        allocations=["none", "good"],
        prior=[[0.5, 0.5]],
        agent_payoff=[0.0, 1.0],
    )
    x = np.array([[[0.0, 0.0]], [[1.0, 1.0]]])
    t = np.array([[0.5, 1.7]])  # expected price 1.1 > value 1; 0.5 in state a
    lr = long_run(env, (x, t))
    res = simulate(env, (x, t), rounds=20, runs=200, random_state=0)
    assert lr.exit_share == pytest.approx(0.5)
    assert res.summary["exit_share"] == 1.0


# ----------------------------------------------------------------------
# Plots and CLI
# ----------------------------------------------------------------------
def test_plots(tmp_path):
    from calmech.plots.simulation import plot_beliefs, plot_simulation, save_figure

    res = simulate(monopoly(), rounds=40, runs=30, keep_paths=True, random_state=0)
    fig = plot_simulation(res)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("promised" in s for s in labels)
    assert any("long-run" in s for s in labels)
    out = save_figure(fig, tmp_path / "sim.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError):
        save_figure(fig, tmp_path / "sim.png")
    save_figure(plot_beliefs(res), tmp_path / "beliefs.svg")
    no_paths = simulate(monopoly(), rounds=5, runs=5, random_state=0)
    with pytest.raises(InputError, match="keep_paths"):
        plot_beliefs(no_paths)


def test_cli_json_is_deterministic(capsys, tmp_path):
    argv = ["simulate", "monopoly", "--rounds", "60", "--runs", "200", "--json"]
    assert main([*argv, "--seed", "4"]) == 0
    first = capsys.readouterr().out
    assert main([*argv, "--seed", "4"]) == 0
    assert capsys.readouterr().out == first
    doc = json.loads(first)
    for key in ("mechanism", "rounds", "runs", "promised_value", "long_run_value"):
        assert key in doc
    assert set(doc["summary"]) >= {"designer_payoff", "truthful_share", "exit_share"}
    assert set(doc["series"]) >= {"round", "designer_payoff", "truthful_share"}
    assert doc["long_run_value"] == pytest.approx(1 / 3, abs=ATOL)


def test_cli_mechanism_file_plot_and_errors(capsys, tmp_path):
    env = monopoly()
    std = standard_optimum(env)
    path = tmp_path / "mech.json"
    path.write_text(
        json.dumps(
            {"allocation": std.allocation.tolist(), "transfers": std.transfers.tolist()}
        )
    )
    png = tmp_path / "out.png"
    argv = [
        "simulate",
        "monopoly",
        "--mechanism",
        str(path),
        "--rounds",
        "30",
        "--runs",
        "50",
        "--plot",
        str(png),
    ]
    assert main(argv) == 0
    assert "long run" in capsys.readouterr().out
    assert png.exists()
    assert main(argv) == 2
    assert "--plot: exists" in capsys.readouterr().err
    assert main(["simulate", "monopoly", "--mechanism", "nowhere.json"]) == 2
    assert "--mechanism" in capsys.readouterr().err
