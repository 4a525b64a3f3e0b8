"""Throughput of :func:`calmech.simulation.simulate` on THEORY §8 A.

Runs the textbook optimum of the monopoly example for R runs × T rounds and
prints rounds × runs per second and the peak memory the simulation
allocated (tracemalloc) and the process's peak resident size.

    .venv/bin/python benchmarks/bench_simulation.py --runs 10000 --rounds 1000
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

from calmech.examples import monopoly
from calmech.simulation import hidden_mechanism, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1_000)
    parser.add_argument("--mechanism", default="standard")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = monopoly()
    mech = hidden_mechanism(env, args.mechanism)  # solve outside the timing
    start = time.perf_counter()
    res = simulate(env, mech, rounds=args.rounds, runs=args.runs, random_state=0)
    seconds = time.perf_counter() - start

    tracemalloc.start()
    simulate(env, mech, rounds=min(args.rounds, 100), runs=args.runs, random_state=0)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"mechanism        {args.mechanism} (monopoly, THEORY §8 A)")
    print(f"runs x rounds    {args.runs} x {args.rounds}")
    print(f"time             {seconds:.2f} s")
    print(f"throughput       {args.runs * args.rounds / seconds:,.0f} run-rounds/s")
    print(f"peak traced      {traced / 2**20:.1f} MiB (simulation arrays)")
    print(f"peak RSS         {rss:.0f} MiB (whole process)")
    print(
        f"designer payoff  {res.summary['designer_payoff']:.4f} "
        f"(long run {res.long_run_value:.4f}, promised {res.promised_value:.4f})"
    )


if __name__ == "__main__":
    main()
