"""Several agents (THEORY §9): reductions to one agent, orderings, checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import calmech
from calmech.cli import main
from calmech.errors import FormatError, InputError, ProbabilityError, ShapeError
from calmech.multi import (
    MultiEnvironment,
    best_partition_profile,
    check_multi_calibration,
    load_multi_environment,
    multi_from_dict,
    multi_standard_optimum,
    one_object_outcomes,
    partition_optimum,
    public_disclosure,
    set_partitions,
    slot_outcomes,
    solve_multi,
)
from calmech.multi.examples import ad_platform, two_buyers

#: Agreement between two LP optima of the same problem.
ATOL = 1e-7
#: Agreement between the grid envelope and the certified single-agent one.
ENVELOPE_ATOL = 1e-6

SINGLE = [
    calmech.examples.monopoly,
    calmech.examples.quality,
    calmech.examples.assignment,
]


# ----------------------------------------------------------------------
# One agent: every family reduces to the single-agent results
# ----------------------------------------------------------------------
@pytest.fixture(scope="module", params=SINGLE, ids=lambda f: f.__name__)
def single(request):
    env = request.param()
    return calmech.solve(env), solve_multi(MultiEnvironment.from_environment(env))


def test_one_agent_standard_equals_single_agent_standard(single):
    sol, multi = single
    assert multi.standard.value == pytest.approx(sol.standard.value, abs=ATOL)


def test_one_agent_public_disclosure_equals_calibrated_value(single):
    sol, multi = single
    assert multi.public.value == pytest.approx(sol.calibrated.value, abs=ENVELOPE_ATOL)
    assert multi.public.calibrated  # one agent learns nothing beyond the signal


def test_one_agent_extreme_partitions_are_the_two_benchmarks(single):
    sol, multi = single
    assert multi.partition.finest == pytest.approx(
        sol.full_transparency.value, abs=ATOL
    )
    assert multi.partition.coarsest == pytest.approx(sol.no_disclosure.value, abs=ATOL)


def test_one_agent_partition_optimum_at_most_calibrated(single):
    sol, multi = single
    assert multi.partition.best.value <= sol.calibrated.value + ENVELOPE_ATOL


def test_randomised_disclosure_beats_every_partition_in_quality():
    # THEORY §8 B: the optimal signal is random, no deterministic partition
    # reaches it.
    env = MultiEnvironment.from_environment(calmech.examples.quality())
    search = best_partition_profile(env)
    cal = calmech.solve(calmech.examples.quality()).calibrated.value
    assert search.best.value < cal - 0.1


# ----------------------------------------------------------------------
# Random environments: the orderings that are theorems
# ----------------------------------------------------------------------
def random_env(
    seed: int,
    correlated: bool,
    interdependent: bool,
    agents: int = 2,
    types: int = 2,
    states: int = 2,
) -> MultiEnvironment:
    rng = np.random.default_rng(seed)
    names = [f"a{i}" for i in range(agents)]
    outcomes, holder = one_object_outcomes(names)
    K = states
    cond = [
        rng.dirichlet(np.ones(types), size=K).T
        if correlated
        else np.repeat(rng.dirichlet(np.ones(types))[:, None], K, axis=1)
        for _ in range(agents)
    ]
    payoffs = []
    for i in range(agents):
        val = rng.uniform(0, 2, (types, K if interdependent else 1))
        val = np.broadcast_to(val, (types, K))
        payoffs.append((holder == i)[:, None, None] * val[None])
    cost = rng.uniform(0, 0.5, K)
    v = np.where(holder[:, None] >= 0, -cost[None, :], 0.0)
    return MultiEnvironment.independent(
        states=[f"w{k}" for k in range(K)],
        state_prior=rng.dirichlet(np.ones(K)),
        agents=names,
        types=[[f"t{n}" for n in range(types)]] * agents,
        type_given_state=cond,
        outcomes=outcomes,
        agent_payoff=payoffs,
        designer_payoff=v,
        name=f"random {seed}",
    )


CASES = [
    (seed, c, d) for seed in range(2) for c in (True, False) for d in (True, False)
]


@pytest.fixture(
    scope="module", params=CASES, ids=lambda c: f"seed{c[0]}-c{c[1]}-i{c[2]}"
)
def solved(request):
    seed, correlated, interdependent = request.param
    env = random_env(seed, correlated, interdependent)
    return env, solve_multi(env), correlated


def test_benchmarks_below_public_disclosure_below_standard(solved):
    env, sol, _ = solved
    pub = sol.public
    assert max(pub.no_disclosure, pub.full_transparency) <= pub.value + ATOL
    assert pub.value <= sol.standard.value + ATOL


def test_partition_profiles_between_full_transparency_and_standard(solved):
    env, sol, _ = solved
    part = sol.partition
    assert part.finest == pytest.approx(sol.public.full_transparency, abs=ATOL)
    assert part.finest <= part.best.value + ATOL
    assert part.coarsest <= part.best.value + ATOL
    assert part.best.value <= sol.standard.value + ATOL


def test_partition_optimum_is_calibrated_and_reveals_at_most_its_cells(solved):
    env, sol, _ = solved
    best = sol.partition.best
    assert best.calibration.calibrated
    for agent, given in zip(env.agents, best.partitions, strict=True):
        for revealed in best.calibration.partitions[agent].values():
            for cell in given:  # every given cell lies within one revealed cell
                assert any(set(cell) <= set(r) for r in revealed)


def test_standard_optimum_is_interim_incentive_compatible(solved):
    env, sol, _ = solved
    assert sol.standard.calibration.interim_ic


@pytest.mark.parametrize(
    "seed, interdependent", [(s, d) for s in range(2) for d in (True, False)]
)
def test_states_uninformative_about_types_make_public_disclosure_calibrated(
    seed, interdependent
):
    sol = solve_multi(random_env(seed, False, interdependent))
    assert sol.public.calibrated
    # Then a state-independent rule has state-independent interim rules.
    assert sol.public.no_disclosure <= sol.partition.coarsest + ATOL


def test_every_partition_profile_optimum_is_calibrated():
    env = random_env(7, correlated=True, interdependent=True)
    for p in set_partitions(2):
        for q in set_partitions(2):
            mech = partition_optimum(env, [p, q])
            assert mech.calibration.calibrated, (p, q, mech.calibration.verdict)


def test_three_agents_three_states_orderings():
    env = random_env(3, True, True, agents=3, types=2, states=3)
    sol = solve_multi(env)
    assert sol.partition.profiles == 5**3
    assert sol.partition.best.value <= sol.standard.value + ATOL
    assert sol.public.full_transparency <= sol.public.value + ATOL
    assert sol.public.value <= sol.standard.value + ATOL
    assert sol.partition.best.calibration.calibrated


# ----------------------------------------------------------------------
# The built-in examples and the calibration check
# ----------------------------------------------------------------------
def test_two_buyers_standard_and_public_disclosure_are_not_calibrated():
    # Known limitation pinned: a state-independent rule still reveals the
    # quality through how often a buyer wins, so public disclosure is not a
    # calibrated family once types are correlated with the state.
    sol = solve_multi(two_buyers())
    assert not sol.standard.calibration.calibrated
    assert not sol.public.calibrated
    assert sol.partition.best.calibration.calibrated
    assert sol.partition.best.value < sol.standard.value - 0.1


def test_check_flags_a_state_contingent_price():
    env = ad_platform()
    # Sell to A at price 1 in state "A strong" and never otherwise: A's
    # low type (value 0.6 there) loses by participating once it learns.
    x = np.zeros(env.shape)
    x[1, ..., 0] = 1.0
    x[0, ..., 1] = 1.0
    t = np.zeros((2, *env.type_counts, 2))
    t[0, ..., 0] = 1.0
    report = check_multi_calibration(env, x, t)
    assert not report.calibrated
    worst = report.violations[0]
    assert (worst.kind, worst.agent, worst.type) == ("IR", "A", "1/click")
    assert worst.amount == pytest.approx(0.4, abs=ATOL)
    assert report.partitions["A"]["1/click"] == [("A strong",), ("B strong",)]


def test_check_rejects_a_bad_allocation():
    env = ad_platform()
    with pytest.raises(InputError, match="allocation: must sum to 1"):
        check_multi_calibration(env, np.full(env.shape, 0.5))


def test_slot_outcomes_are_assignments_to_distinct_agents():
    labels, assignment = slot_outcomes(["A", "B", "C"], 2)
    assert len(labels) == len(set(labels)) == 13
    for row in assignment:
        filled = row[row >= 0]
        assert len(filled) == len(set(filled))


# ----------------------------------------------------------------------
# Validation and files
# ----------------------------------------------------------------------
def base_kwargs():
    return dict(
        states=["w"],
        agents=["A"],
        types=[["lo", "hi"]],
        outcomes=["keep", "sell"],
        prior=[[0.5], [0.5]],
        agent_payoff=[[[0.0, 0.0], [1.0, 2.0]]],
    )


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"prior": [0.5, 0.5]}, ShapeError, r"prior: must have shape \(2, 1\)"),
        ({"prior": [[0.5], [0.6]]}, ProbabilityError, "prior: must sum to 1"),
        ({"types": [["lo", "lo"]]}, InputError, "labels must be distinct"),
        ({"agent_payoff": [[1.0, 2.0]]}, ShapeError, r"agents\[A\].agent_payoff"),
        ({"transfer_bounds": (1.0, 0.0)}, InputError, "transfer_bounds"),
    ],
)
def test_validation_names_field_rule_and_value(change, error, message):
    kwargs = base_kwargs() | change
    with pytest.raises(error, match=message):
        MultiEnvironment(**kwargs)


def test_state_without_probability_is_refused():
    kwargs = base_kwargs() | {"states": ["w", "z"], "prior": [[0.5, 0.0], [0.5, 0.0]]}
    with pytest.raises(ProbabilityError, match="state 'z' must have positive"):
        MultiEnvironment(**kwargs)


def test_example_file_is_the_built_in_example(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "examples"
    env, ref = load_multi_environment(root / "auction.toml"), two_buyers()
    np.testing.assert_allclose(env.prior, ref.prior, atol=1e-15)
    for a, b in zip(env.agent_payoff, ref.agent_payoff, strict=True):
        np.testing.assert_array_equal(a, b)
    env2, ref2 = load_multi_environment(root / "ad_platform.toml"), ad_platform()
    for a, b in zip(env2.agent_payoff, ref2.agent_payoff, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-15)


def test_file_errors():
    doc = {
        "states": ["w"],
        "outcomes": {"kind": "one_object"},
        "prior": [[0.5], [0.5]],
        "state_prior": [1.0],
        "agents": [
            {"name": "A", "types": ["lo", "hi"], "agent_payoff": [[0, 0], [1, 2]]}
        ],
    }
    with pytest.raises(FormatError, match="give either prior"):
        multi_from_dict(doc)
    del doc["state_prior"]
    doc["agents"][0]["agent_payof"] = 1
    with pytest.raises(FormatError, match="did you mean 'agent_payoff'"):
        multi_from_dict(doc)


def test_too_many_partition_profiles_are_refused():
    env = random_env(0, True, True, agents=3, types=2, states=4)
    with pytest.raises(InputError, match=r"Bell\(4\)\^3 = 3375 profiles exceed"):
        best_partition_profile(env)
    small = random_env(0, True, True)
    assert "Bell(2)^2 = 4 exceeds 3" in solve_multi(small, max_profiles=3).notes[0]


def test_public_disclosure_lower_bound_attained_by_its_split():
    env = two_buyers()
    pd = public_disclosure(env)
    total = sum(s.probability * s.point.value for s in pd.signals)
    assert total == pytest.approx(pd.value, abs=ATOL)
    mean = sum(s.probability * s.point.belief for s in pd.signals)
    np.testing.assert_allclose(mean, env.state_prior, atol=1e-9)
    std = multi_standard_optimum(env, check=False)
    assert pd.value <= std.value + ATOL


# ----------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------
def test_cli_solve_multi_json(capsys):
    assert main(["solve", "ad_platform", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    values = doc["values"]
    assert set(values) == {
        "standard",
        "public_disclosure",
        "partition_profile",
        "full_transparency",
        "no_disclosure",
    }
    sol = solve_multi(ad_platform())
    for key, value in sol.values.items():
        assert math.isclose(values[key], value, abs_tol=ATOL)
    assert doc["standard"]["calibration"]["calibrated"] is False


def test_cli_solve_multi_table(capsys):
    assert main(["solve", "two_buyers"]) == 0
    out = capsys.readouterr().out
    assert "partition profile" in out and "public disclosure" in out


def test_cli_single_agent_files_still_work(capsys):
    assert main(["solve", "monopoly", "--json"]) == 0
    assert "calibrated" in json.loads(capsys.readouterr().out)["values"]
