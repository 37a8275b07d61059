#!/usr/bin/python3
"""Runs ONNX's backend node tests through trnx-compile and trnx-sim (the
conformance suite of tests/compiler/onnx, onnx_node_cases.py) and prints the
conformance section of docs/onnx.md: the counts over all node tests and over
the tests of required operators, and every required-operator test that does
not pass with its reason (known_failures.json).

usage: scripts/onnx-conformance-report.py [--build BUILD_DIR] [--jobs N] [--details] [--no-batch]
                                          [--update docs/onnx.md]
(BUILD_DIR defaults to $TRNX_BUILD_DIR or build/; the node tests are generated
once into BUILD_DIR/onnx-node-tests.) --update rewrites the section between
the conformance markers of the given file; the conformance test fails when
that section is out of date."""
import argparse
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
ONNX_TESTS = ROOT / "tests" / "compiler" / "onnx"
sys.path.insert(0, str(ONNX_TESTS))

import onnx_node_cases  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("TRNX_BUILD_DIR", str(ROOT / "build")))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--details", action="store_true", help="also list every test that does not pass")
    parser.add_argument("--no-batch", action="store_true", help="compile and run each test on its own (slower)")
    parser.add_argument("--update", metavar="DOC", help="rewrite the conformance section of DOC (docs/onnx.md)")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    if not (build / "compiler" / "trnx-compile").exists():
        sys.exit(f"error: {build}/compiler/trnx-compile does not exist (build first, or pass --build)")
    results, ops = onnx_node_cases.run_all(build, build / "onnx-node-tests", jobs=args.jobs,
                                           batch=not args.no_batch)
    known = onnx_node_cases.load_known_failures(ONNX_TESTS / "known_failures.json")
    section = onnx_node_cases.conformance_markdown(results, ops, known)
    print(section)
    if args.details:
        print("Every test that does not pass:\n")
        print("| node test | operators | result | message |")
        print("|---|---|---|---|")
        for name, s, detail, _ in sorted(results):
            if s != "pass":
                detail = detail.replace(str(build), "BUILD").replace("|", "\\|").replace("\n", " ")[:200]
                print(f"| {name} | {', '.join(ops[name])} | {s} | {detail} |")
    if args.update:
        doc = pathlib.Path(args.update)
        text = doc.read_text()
        if onnx_node_cases.doc_section(text) is None:
            sys.exit(f"error: {doc}: no conformance markers ({onnx_node_cases.DOC_BEGIN} ... {onnx_node_cases.DOC_END})")
        doc.write_text(onnx_node_cases.with_doc_section(text, section))
        print(f"updated {doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
