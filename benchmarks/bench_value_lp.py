"""Warm-started value LPs against rebuilding the LP for every belief.

    .venv/bin/python benchmarks/bench_value_lp.py [--beliefs 200]

For each size (N, M, K) it evaluates V at the same random beliefs with
``ValueFunction(env, backend="scipy")`` (the LP assembled anew and solved by
``scipy.optimize.linprog``) and with the default ``backend="highspy"`` (one
HiGHS model, new coefficients, re-solved from the last basis), and prints
the time per LP, the speed-up and the largest difference between values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_envelope import environment  # the same generated environments

from calmech import Environment, ValueFunction

SIZES = [(2, 2, 2), (10, 5, 2), (50, 10, 2), (4, 3, 3)]


def per_lp(backend: str, env: Environment, beliefs: np.ndarray) -> tuple:
    vf = ValueFunction(env, backend=backend)
    start = time.perf_counter()
    values = np.array([vf(mu) for mu in beliefs])
    return (time.perf_counter() - start) / len(beliefs), values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beliefs", type=int, default=200)
    args = parser.parse_args()
    print("| N, M, K | rebuild per LP | warm start | speed-up | largest difference |")
    print("|---|---|---|---|---|")
    for N, M, K in SIZES:
        env = environment(N, M, K, 0)
        beliefs = np.random.default_rng(1).dirichlet(np.ones(K), size=args.beliefs)
        plain, v_plain = per_lp("scipy", env, beliefs)
        fast, v_fast = per_lp("highspy", env, beliefs)
        finite = np.isfinite(v_plain) & np.isfinite(v_fast)
        diff = float(np.abs(v_plain - v_fast)[finite].max()) if finite.any() else 0.0
        print(
            f"| {N}, {M}, {K} | {plain * 1e3:.2f} ms | {fast * 1e3:.2f} ms "
            f"| {plain / fast:.0f}× | {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
