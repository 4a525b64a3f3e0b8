"""The warm-started HiGHS value problem agrees with the plain LP path."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from calmech import Environment, examples
from calmech.errors import InputError
from calmech.fast import FastValueLP, quiet_highs
from calmech.lp import primitives
from calmech.mechanisms import verify_signal
from calmech.value import ValueFunction
from conftest import seeded_environment

# Values of the two back ends, relative to the payoff scale.
VALUE_RTOL = 1e-8
# Slack of the IC/IR check of a returned mechanism, relative to the scale.
CHECK_RTOL = 1e-7


def random_env(N: int, M: int, K: int, seed: int, money: bool = True) -> Environment:
    return seeded_environment(N, M, K, seed, money, absent=0.2)


@pytest.mark.parametrize("seed", range(8))
def test_fast_and_plain_back_ends_agree(seed):
    K = 2 + seed % 2
    env = random_env(3 + seed % 3, 2 + seed % 2, K, seed, money=seed % 4 != 0)
    fast = ValueFunction(env)
    plain = ValueFunction(env, backend="scipy")
    scale = fast.prim.scale
    rng = np.random.default_rng(seed)
    beliefs = np.vstack([np.eye(K), rng.dirichlet(np.ones(K), size=30)])
    for mu in beliefs:
        a, b = fast.solve(mu), plain.solve(mu)
        assert a.status == b.status
        if b.feasible:
            assert abs(a.value - b.value) <= VALUE_RTOL * scale
            problems = verify_signal(
                env, mu, a.allocation, a.transfers, CHECK_RTOL * scale
            )
            assert problems == []
    assert fast.lp_count == plain.lp_count == len(beliefs)


def test_batch_values_match_single_solves():
    V = ValueFunction(examples.assignment())
    grid = np.linspace(0.0, 1.0, 11)
    beliefs = np.column_stack([grid, 1.0 - grid])
    batch = V.values(beliefs)
    single = [ValueFunction(examples.assignment(), backend="scipy")(b) for b in beliefs]
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-9)
    lp = FastValueLP(primitives(examples.assignment()))
    np.testing.assert_allclose(lp.values(beliefs), single, rtol=0, atol=1e-9)


def test_unknown_backend_is_rejected():
    with pytest.raises(InputError, match="backend: must be"):
        ValueFunction(examples.quality(), backend="gurobi")


def test_value_function_pickles_after_use():
    V = ValueFunction(examples.quality())
    V([0.5, 0.5])
    copy = pickle.loads(pickle.dumps(V))
    assert abs(copy([0.7, 0.3]) - 1.75) < 1e-9


def test_highs_banner_never_reaches_stdout(capfd):
    quiet_highs()
    FastValueLP(primitives(examples.quality())).solve(np.array([0.5, 0.5]))
    assert capfd.readouterr().out == ""


def test_cli_json_output_parses():
    # A fresh process: the banner appears on the first HiGHS object only.
    out = subprocess.run(
        [sys.executable, "-m", "calmech", "solve", "quality", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert abs(doc["values"]["calibrated"] - 1.25) < 1e-9
