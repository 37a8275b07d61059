"""ONNX backend node tests: every test whose operators are all supported by the
front end is compiled (--auto-cast none), run in the functional simulator and
compared with ONNX's expected outputs at ONNX's default tolerances."""
import collections
import json
import os
import pathlib

import pytest

from conftest import BUILD_DIR
import onnx_node_cases

HERE = pathlib.Path(__file__).parent


def test_onnx_node_tests():
    results, ops = onnx_node_cases.run_all(BUILD_DIR, BUILD_DIR / "onnx-node-tests")
    known = {k: v for k, v in json.loads((HERE / "known_failures.json").read_text()).items() if not k.startswith("_")}
    counts = collections.Counter(status for _, status, _ in results)
    print(f"\nONNX node tests: {counts['pass']} pass, {counts['fail']} fail, {counts['unsupported']} unsupported, "
          f"{counts['crash']} crash, of {len(results)}")
    problems = []
    for name, status, detail in results:
        required = set(ops[name]) <= onnx_node_cases.REQUIRED_OPS
        if status == "crash":
            problems.append(f"{name}: crashed: {detail}")
        elif required and status != "pass" and name not in known:
            problems.append(f"{name} ({', '.join(ops[name])}): {status}: {detail}")
        elif status == "pass" and name in known:
            problems.append(f"{name} passes but is listed in known_failures.json ({known[name]})")
    assert not problems, "\n".join(problems)
