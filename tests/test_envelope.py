"""Concave envelope: THEORY §8 numbers, jumps, limits, both back ends."""

import numpy as np
import pytest

from calmech import Environment, examples
from calmech.envelope import concavify
from calmech.value import ValueFunction

# Values and posteriors of the worked examples are rational: checked to 1e-9.
EXACT = 1e-9


def support(res):
    order = np.argsort([p.belief[0] for p in res.points])
    return (
        np.array([res.points[i].belief[0] for i in order]),
        res.probabilities[order],
    )


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_quality_theory_8b(backend):
    res = concavify(ValueFunction(examples.quality(), backend=backend))
    assert res.status == "optimal"
    assert abs(res.value - 1.25) < EXACT
    assert res.upper_bound - res.value < EXACT
    posteriors, probabilities = support(res)
    np.testing.assert_allclose(posteriors, [0.0, 0.7], atol=EXACT)
    np.testing.assert_allclose(probabilities, [2 / 7, 5 / 7], atol=EXACT)


def test_monopoly_theory_8a():
    res = concavify(ValueFunction(examples.monopoly()))
    assert abs(res.value - 1.3) < EXACT
    assert res.upper_bound - res.value < EXACT


def test_assignment_support_is_the_jump_point():
    # V jumps at P(hot) = 0.6; the support point must be the jump itself.
    vf = ValueFunction(examples.assignment())
    res = concavify(vf)
    assert abs(res.value - 1.8) < EXACT
    posteriors, _ = support(res)
    np.testing.assert_allclose(posteriors, [0.0, 0.6], atol=EXACT)
    assert vf([0.6, 0.4]) > vf([0.6 - 1e-6, 0.4 + 1e-6]) + 0.5


def test_time_limit_reports_the_gap():
    res = concavify(ValueFunction(examples.quality()), time_limit=0.0)
    assert res.status == "limit"
    assert res.upper_bound >= res.value
    assert "gap" in res.message


def test_three_states_within_tolerance():
    rng = np.random.default_rng(3)
    N, M, K = 3, 2, 3
    env = Environment(
        states=["a", "b", "c"],
        types=[f"t{n}" for n in range(N)],
        allocations=[f"x{m}" for m in range(M)],
        prior=rng.random((N, K)),
        agent_payoff=rng.normal(size=(M, N, K)),
        designer_payoff=rng.normal(size=(M, N, K)),
        normalize=True,
    )
    tol = 1e-5
    res = concavify(ValueFunction(env), tol=tol)
    assert res.status == "optimal"
    assert 0 <= res.gap <= tol * ValueFunction(env).prim.scale
    assert abs(res.probabilities.sum() - 1) < 1e-12
    mean = sum(
        p * pt.belief for p, pt in zip(res.probabilities, res.points, strict=True)
    )
    np.testing.assert_allclose(mean, env.state_prior, atol=1e-9)
