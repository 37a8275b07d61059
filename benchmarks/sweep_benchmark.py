#!/usr/bin/python3
"""Sweep benchmark: 200 design points x Llama-3-8B decode with the local executor (target: < 5 minutes).

    PYTHONPATH=build/python /usr/bin/python3 benchmarks/sweep_benchmark.py [-j 2] [--points 200] [--batch 1]

Prints the figures recorded in docs/performance.md; exits 1 if the sweep
takes longer than the budget.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

BUDGET_SECONDS = 300.0


def spec(points: int, batch: int, context: int) -> dict:
    """Latin-hypercube over simulate-only keys plus one compile-relevant key (two compile groups)."""
    return {
        "name": "sweep_benchmark",
        "base": "trn3",
        "parameters": {
            "hbm.bytes_per_second": {"min": 1.0e12, "max": 16.0e12, "scale": "log"},
            "pe.clock_hz": {"min": 1.0e9, "max": 3.2e9},
            "dve.clock_hz": {"min": 0.7e9, "max": 1.4e9},
            "energy.static_watts": {"min": 100, "max": 400},
            "sbuf_bytes_per_partition": [262144, 196608],
        },
        "sampling": {"method": "latin_hypercube", "samples": points, "seed": 2024},
        "workloads": [{"model": "llama3-8b", "phase": "decode", "batch": batch, "context": context}],
        "metrics": ["tpot_seconds", "tokens_per_second", "tokens_per_joule_chip",
                    "tokens_per_second_per_megawatt_chip", "average_power_watts"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()

    import trnx.sweep

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite")
        start = time.perf_counter()
        summary = trnx.sweep.run(spec(args.points, args.batch, args.context), jobs=args.jobs, db=db, progress=False)
        wall = time.perf_counter() - start
        frame = summary.frame()
        start = time.perf_counter()
        resumed = trnx.sweep.run(spec(args.points, args.batch, args.context), jobs=args.jobs, db=db, progress=False)
        resume_wall = time.perf_counter() - start
    ok = frame[frame["status"] == "ok"]
    print(f"sweep: {summary.points} design points x 1 workload (llama3-8b decode b{args.batch} c{args.context}) "
          f"on trn3 variants, {summary.executor}")
    print(f"  wall time            {wall:8.1f} s   (budget {BUDGET_SECONDS:.0f} s)")
    print(f"  tasks                {summary.completed:8d}   ({summary.errors} errors)")
    print(f"  compiles             {summary.compiles:8d}   (2 compile groups: SBUF 256 KiB / 192 KiB per partition, 2 programs each)")
    print(f"  throughput           {summary.completed / wall:8.1f} tasks/s")
    print(f"  task time (worker)   {frame['elapsed_seconds'].median() * 1e3:8.1f} ms median, "
          f"{frame['elapsed_seconds'].max():.2f} s max (a compiling task)")
    print(f"  re-run (all skipped) {resume_wall:8.2f} s, {resumed.completed} recomputed")
    if len(ok):
        best = ok.sort_values("tokens_per_second", ascending=False).iloc[0]
        print(f"  tokens/s range       {ok['tokens_per_second'].min():.0f} .. {ok['tokens_per_second'].max():.0f} "
              f"(best at {best['hbm.bytes_per_second'] / 1e12:.1f} TB/s HBM, {best['pe.clock_hz'] / 1e9:.2f} GHz PE)")
    return 0 if wall < BUDGET_SECONDS and summary.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
