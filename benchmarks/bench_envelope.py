"""Benchmark of the certified envelope against two general-purpose baselines.

    cav V(μ₀) = max { Σ_s p_s V(μ_s) : Σ_s p_s μ_s = μ₀ }

On the same generated environments (interdependent values, money) this
script times, in one process:

* calmech: :func:`calmech.envelope.concavify` (warm-started HiGHS value
  LPs, golden-section pricing, branch-and-bound certificate);
* grid: V on a uniform grid of two-state beliefs, one LP assembled from
  scratch per point and solved by ``scipy.optimize.linprog``, then the
  envelope LP over the grid (a lower bound, no certificate);
* SCIP: the two-stage problem as one nonconvex bilinear program over K
  signals, with λ_s(k) = p_s μ_s(k), x_s and t_s, solved globally by SCIP
  (skipped with a message when ``pyscipopt`` is not installed).

It also times the standard LP at N=100, K=5, M=20 and reports the peak
memory of the process. Run from the repository root::

    .venv/bin/python benchmarks/bench_envelope.py --write docs/performance.md
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
from scipy.optimize import linprog

from calmech import Environment, standard_optimum
from calmech.envelope import concavify
from calmech.files import atomic_write_text
from calmech.lp import primitives, value_lp
from calmech.value import ValueFunction


def environment(N: int, M: int, K: int, seed: int) -> Environment:
    """Random interdependent values with money, every type in every state."""
    rng = np.random.default_rng(seed)
    return Environment(
        states=[f"s{k}" for k in range(K)],
        types=[f"t{n}" for n in range(N)],
        allocations=[f"a{m}" for m in range(M)],
        prior=rng.random((N, K)) + 0.05,
        agent_payoff=rng.normal(size=(M, N, K)),
        designer_payoff=rng.normal(size=(M, N, K)),
        normalize=True,
        name=f"N{N}-M{M}-K{K}-seed{seed}",
    )


def run_calmech(env: Environment, tol: float | None) -> dict:
    start = time.perf_counter()
    res = concavify(ValueFunction(env), tol=tol, time_limit=120.0)
    return {
        "seconds": time.perf_counter() - start,
        "value": res.value,
        "gap": res.gap,
        "lps": res.lps,
        "status": res.status,
    }


def run_grid(env: Environment, points: int) -> dict:
    """Uniform grid, one LP built from scratch per point, then the envelope LP."""
    start = time.perf_counter()
    prim = primitives(env)
    q = np.linspace(0.0, 1.0, points)
    beliefs = np.column_stack([q, 1.0 - q])
    values = np.array([value_lp(prim, mu).solve().value for mu in beliefs])
    keep = np.isfinite(values)
    res = linprog(
        -values[keep],
        A_eq=beliefs[keep].T,
        b_eq=prim.mu0,
        bounds=(0, None),
        method="highs",
    )
    return {"seconds": time.perf_counter() - start, "value": -res.fun}


def run_scip(env: Environment, time_limit: float) -> dict | None:
    """The two-stage problem as one bilinear program, solved globally by SCIP."""
    try:
        from pyscipopt import Model, quicksum
    except ImportError:
        return None
    prim = primitives(env)
    M, N, K = prim.shape
    L, H = prim.box
    model = Model()
    model.hideOutput()
    model.setParam("limits/time", time_limit)
    lam = {(s, k): model.addVar(lb=0.0) for s in range(K) for k in range(K)}
    x = {
        (s, m, n): model.addVar(lb=0.0, ub=1.0)
        for s in range(K)
        for m in range(M)
        for n in range(N)
    }
    t = {(s, n): model.addVar(lb=L, ub=H) for s in range(K) for n in range(N)}
    for k in range(K):
        model.addCons(quicksum(lam[s, k] for s in range(K)) == prim.mu0[k])
    objective = []
    for s in range(K):
        for n in range(N):
            model.addCons(quicksum(x[s, m, n] for m in range(M)) == 1.0)

            def utility(report: int, s: int = s, n: int = n):
                return quicksum(
                    lam[s, k]
                    * prim.cond[n, k]
                    * (
                        quicksum(x[s, m, report] * prim.u[m, n, k] for m in range(M))
                        - t[s, report]
                    )
                    for k in range(K)
                )

            truthful = utility(n)
            for dev in range(N):
                if dev != n:
                    model.addCons(truthful >= utility(dev))
            outside = quicksum(
                lam[s, k] * prim.cond[n, k] * prim.u0[n, k] for k in range(K)
            )
            model.addCons(truthful >= outside)
            objective.append(
                quicksum(
                    lam[s, k]
                    * prim.cond[n, k]
                    * (
                        quicksum(x[s, m, n] * prim.v[m, n, k] for m in range(M))
                        + prim.tau * t[s, n]
                    )
                    for k in range(K)
                )
            )
    z = model.addVar(lb=-1e6, ub=1e6)
    model.addCons(z <= quicksum(objective))
    model.setObjective(z, "maximize")
    start = time.perf_counter()
    model.optimize()
    seconds = time.perf_counter() - start
    value = model.getObjVal() if model.getNSols() else float("nan")
    return {
        "seconds": seconds,
        "value": value,
        "gap": model.getDualbound() - value,
        "status": model.getStatus(),
    }


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return (
        f"{os.cpu_count()} cores (nproc), {cpu}, {mem_kb / 2**20:.1f} GiB memory, "
        f"Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=5, help="two-state environments")
    parser.add_argument("--grid-points", type=int, default=4000)
    parser.add_argument("--scip-time-limit", type=float, default=120.0)
    parser.add_argument(
        "--skip-standard", action="store_true", help="skip the N=100 standard LP"
    )
    parser.add_argument("--write", metavar="FILE", help="write the Markdown table")
    parser.add_argument("--force", action="store_true", help="overwrite FILE")
    args = parser.parse_args(argv)

    lines = [
        "| environment | calmech s | value | certified gap | grid s | grid value "
        "| SCIP s | SCIP value | SCIP gap | grid/calmech | SCIP/calmech |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    grid_ratio, scip_ratio, gaps = [], [], []
    for seed in range(args.envs):
        rng = np.random.default_rng(seed)
        env = environment(int(rng.integers(2, 11)), int(rng.integers(2, 6)), 2, seed)
        ours = run_calmech(env, None)
        grid = run_grid(env, args.grid_points)
        scip = run_scip(env, args.scip_time_limit)
        gaps.append(ours["gap"])
        grid_ratio.append(grid["seconds"] / ours["seconds"])
        row = (
            f"| {env.name} | {ours['seconds']:.3f} | {ours['value']:.10f} "
            f"| {ours['gap']:.1e} | {grid['seconds']:.2f} | {grid['value']:.10f} "
        )
        if scip is None:
            row += "| skipped | | | "
        else:
            scip_ratio.append(scip["seconds"] / ours["seconds"])
            row += (
                f"| {scip['seconds']:.2f} | {scip['value']:.10f} "
                f"| {scip['gap']:.1e} ({scip['status']}) "
            )
        row += f"| {grid_ratio[-1]:.0f}× | "
        row += f"{scip_ratio[-1]:.0f}× |" if scip is not None else "– |"
        lines.append(row)
        print(row, flush=True)
    if scip_ratio == []:
        print("SCIP skipped: pip install pyscipopt", file=sys.stderr)

    summary = [
        f"- two states, median ratios: grid/calmech "
        f"{statistics.median(grid_ratio):.0f}×"
        + (f", SCIP/calmech {statistics.median(scip_ratio):.0f}×" if scip_ratio else "")
        + f"; largest certified gap {max(gaps):.1e}"
    ]
    for label, (N, M, K), tol in [
        ("three states", (4, 3, 3), 1e-5),
        ("two states, large", (50, 10, 2), None),
    ]:
        env = environment(N, M, K, 0)
        # The target is an absolute gap; calmech's tol is relative to the
        # largest payoff magnitude.
        ours = run_calmech(env, None if tol is None else tol / primitives(env).scale)
        summary.append(
            f"- {label} ({env.name}): {ours['seconds']:.2f} s, value "
            f"{ours['value']:.10f}, certified gap {ours['gap']:.1e}, "
            f"{ours['lps']} value LPs, {ours['status']}"
        )
        print(summary[-1], flush=True)
    if not args.skip_standard:
        env = environment(100, 20, 5, 0)
        start = time.perf_counter()
        std = standard_optimum(env)
        summary.append(
            f"- standard LP ({env.name}): {time.perf_counter() - start:.2f} s, "
            f"value {std.value:.10f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary.append(f"- peak memory of the whole run: {peak:.0f} MiB")
    summary.append(f"- machine: {machine()}")
    for line in summary[-3:]:
        print(line)

    if args.write:
        if os.path.exists(args.write) and not args.force:
            print(f"{args.write} exists; use --force", file=sys.stderr)
            return 2
        command = "python benchmarks/bench_envelope.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:])
        )
        text = "\n".join(
            [
                "<!-- generated by benchmarks/bench_envelope.py -->",
                "",
                f"`{command}`",
                "",
            ]
            + lines
            + [""]
            + summary
        )
        atomic_write_text(args.write, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
