#!/usr/bin/env python3
"""Wall time of a Llama-3-8B decode step (context 2048), or prefill, compiled and simulated from Python.

    PYTHONPATH=build/python /usr/bin/python3 benchmarks/python_workload_benchmark.py [--full] [--chip trn3]
    PYTHONPATH=build/python /usr/bin/python3 benchmarks/python_workload_benchmark.py --prefill 2048,8192,32768

For batch 1 and 64 (and each ``--weight-dtypes`` value), runs ``trnx.workloads.decode`` (compile + timing
simulation; the default layer-scaled method, and with ``--full`` the whole
32-layer model as one program) and prints a table: wall time split into
compile and simulate, and the simulated step. Target (issue 6): under 60 s
per configuration. With ``--prefill S1,S2,...`` it times ``trnx.workloads.prefill``
(batch 1, fused attention) at those sequence lengths instead. Figures:
docs/performance.md ("Python workloads").
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import List

from trnx import workloads


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", default="trn3")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--full", action="store_true", help="also compile and simulate the whole model at once")
    parser.add_argument("--weight-dtypes", default="bf16", help="comma-separated weight_dtype values (bf16, fp8e4m3, mxfp4...)")
    parser.add_argument("--limit-seconds", type=float, default=60.0, help="exit 1 if the default method exceeds this")
    parser.add_argument("--prefill", default="", help="comma-separated sequence lengths: time prefill instead of decode")
    args = parser.parse_args(argv)
    if args.prefill:
        return prefill(args)
    methods = ["layer-scaled"] + (["full"] if args.full else [])
    print("| batch | weights | method | wall s | compile s | simulate s | simulated ms/step | tokens/s |")
    print("|---|---|---|---|---|---|---|---|")
    slow = False
    runs = [(b, d, m) for b in (int(x) for x in args.batches.split(",")) for d in args.weight_dtypes.split(",")
            for m in methods]
    for batch, dtype, method in runs:
            start = time.perf_counter()
            r = workloads.decode("llama3-8b", batch=batch, context=args.context, chip=args.chip, method=method,
                                 weight_dtype=dtype)
            wall = time.perf_counter() - start
            slow |= method == "layer-scaled" and wall > args.limit_seconds
            print(f"| {batch} | {dtype} | {method} | {wall:.1f} | {r.compile_seconds:.1f} | {r.simulate_seconds:.1f} | "
                  f"{r.latency_seconds * 1e3:.3f} | {r.tokens_per_second:,.1f} |", flush=True)
    return 1 if slow else 0


def prefill(args) -> int:
    """Prefill (batch 1, bf16, layer-scaled) at each --prefill length."""
    print("| seq | wall s | compile s | simulate s | simulated ms | tokens/s |")
    print("|---|---|---|---|---|---|")
    for seq in (int(x) for x in args.prefill.split(",")):
        start = time.perf_counter()
        r = workloads.prefill("llama3-8b", batch=1, seq=seq, chip=args.chip)
        wall = time.perf_counter() - start
        print(f"| {seq} | {wall:.1f} | {r.compile_seconds:.1f} | {r.simulate_seconds:.1f} | "
              f"{r.latency_seconds * 1e3:.2f} | {r.tokens_per_second:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
