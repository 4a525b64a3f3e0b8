"""Soundness of the certified bound: it is never below a value found."""

import numpy as np
import pytest

from calmech import Environment
from calmech.certificate import BranchAndBound, region_bound
from calmech.envelope import _master, _Pool, concavify
from calmech.lp import primitives
from calmech.value import ValueFunction
from conftest import seeded_environment

# Solver tolerance allowed below a bound, relative to the payoff scale.
SOUND_RTOL = 1e-8


def random_env(
    N: int, M: int, K: int, seed: int, money: bool | None = None
) -> Environment:
    # Without money one seed in three.
    return seeded_environment(N, M, K, seed, seed % 3 != 0 if money is None else money)


@pytest.mark.parametrize("seed", range(10))
def test_region_bound_is_above_sampled_values(seed):
    K = 2 + seed % 2
    env = random_env(2 + seed % 3, 2, K, seed)
    prim = primitives(env)
    vf = ValueFunction(env)
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=K)
    slack = SOUND_RTOL * prim.scale
    for region in [np.eye(K), rng.dirichlet(np.ones(K), size=K)]:
        bound = region_bound(prim, region, alpha)
        weights = rng.dirichlet(np.ones(K), size=60)
        for mu in np.vstack([region, weights @ region]):
            value = vf._solve(mu / mu.sum()).value
            assert value - mu @ alpha <= bound + slack


@pytest.mark.parametrize("seed", range(6))
def test_envelope_bound_is_above_a_fine_grid(seed):
    # Fine grid + master LP: a lower bound on cav V(μ₀) by another method.
    env = random_env(3, 2, 2, 100 + seed, money=True)
    vf = ValueFunction(env)
    res = concavify(vf)
    pool = _Pool(ValueFunction(env))
    for q in np.linspace(0.0, 1.0, 401):
        pool.add(np.array([q, 1.0 - q]))
    grid_value, _, _ = _master(pool, vf.prim.mu0, 1e6)
    slack = SOUND_RTOL * vf.prim.scale
    assert res.upper_bound >= res.value - slack
    assert res.upper_bound >= grid_value - slack
    assert res.gap <= 1e-9 * vf.prim.scale + slack


def test_branch_and_bound_finds_a_violation_or_proves():
    env = random_env(3, 2, 2, 7)
    vf = ValueFunction(env)
    alpha = np.zeros(2)  # h = 0: V − h ≤ 0 fails wherever V > 0
    bb = BranchAndBound(vf.prim, alpha, lambda mu: vf._solve(mu).value)
    bound, points = bb.run(target=0.0, found=0.0, deadline=float("inf"))
    top = max(vf._solve(np.array([q, 1 - q])).value for q in np.linspace(0, 1, 201))
    if top > 1e-9:
        assert points or bound > 0
        for mu in points:
            assert vf._solve(mu).value > 0
    else:
        assert bound <= 1e-8
