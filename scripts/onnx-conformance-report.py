#!/usr/bin/python3
"""Runs ONNX's backend node tests through trnx-compile and trnx-sim (the
conformance suite of tests/compiler/onnx) and prints the markdown tables of
docs/onnx.md: the counts over all node tests and over the tests of required
operators, and every known failure of a required operator with its reason.

usage: scripts/onnx-conformance-report.py [--build BUILD_DIR] [--jobs N] [--details]
(BUILD_DIR defaults to $TRNX_BUILD_DIR or build/; the node tests are generated
once into BUILD_DIR/onnx-node-tests.)"""
import argparse
import collections
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
ONNX_TESTS = ROOT / "tests" / "compiler" / "onnx"
sys.path.insert(0, str(ONNX_TESTS))

import onnx_node_cases  # noqa: E402

STATUSES = ["pass", "fail", "unsupported", "crash"]


def counts_row(label, statuses):
    c = collections.Counter(statuses)
    return f"| {label} | " + " | ".join(str(c[s]) for s in STATUSES) + f" | {len(statuses)} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("TRNX_BUILD_DIR", str(ROOT / "build")))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--details", action="store_true", help="also list every failing or unsupported test")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    if not (build / "compiler" / "trnx-compile").exists():
        sys.exit(f"error: {build}/compiler/trnx-compile does not exist (build first, or pass --build)")
    import onnx
    results, ops = onnx_node_cases.run_all(build, build / "onnx-node-tests", jobs=args.jobs)
    known = {k: v for k, v in json.loads((ONNX_TESTS / "known_failures.json").read_text()).items()
             if not k.startswith("_")}
    required = {name for name in ops if set(ops[name]) <= onnx_node_cases.REQUIRED_OPS}
    status = {name: s for name, s, _ in results}

    print(f"ONNX backend node tests of onnx {onnx.__version__} (opsets up to {onnx.defs.onnx_opset_version()}), "
          "compiled with `--auto-cast none` and run in the functional simulator:\n")
    print("| node tests | pass | fail | unsupported | crash | total |")
    print("|---|---|---|---|---|---|")
    print(counts_row("all", list(status.values())))
    print(counts_row("all operators required", [status[n] for n in sorted(required)]))
    print()
    print("Known failures of tests whose operators are all required (tests/compiler/onnx/known_failures.json):\n")
    print("| node test | operators | result | reason |")
    print("|---|---|---|---|")
    for name in sorted(n for n in required if status[n] != "pass"):
        reason = known.get(name, "**not listed in known_failures.json**")
        print(f"| {name} | {', '.join(ops[name])} | {status[name]} | {reason} |")
    if args.details:
        print("\nEvery test that does not pass:\n")
        print("| node test | operators | result | message |")
        print("|---|---|---|---|")
        for name, s, detail in sorted(results):
            if s != "pass":
                detail = detail.replace(str(build), "BUILD").replace("|", "\\|").replace("\n", " ")[:200]
                print(f"| {name} | {', '.join(ops[name])} | {s} | {detail} |")


if __name__ == "__main__":
    main()
