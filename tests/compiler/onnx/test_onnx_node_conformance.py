"""ONNX backend node tests: every test is compiled (--auto-cast none), run in
the functional simulator and compared with ONNX's expected outputs at ONNX's
default tolerances (onnx_node_cases.py). A test whose operators are all in
REQUIRED_OPS must pass unless known_failures.json lists it with a reason, and
a listed test must not pass; nothing may crash."""
import collections
import json
import pathlib

from conftest import BUILD_DIR
import onnx_node_cases

HERE = pathlib.Path(__file__).parent


def test_onnx_node_tests():
    results, ops = onnx_node_cases.run_all(BUILD_DIR, BUILD_DIR / "onnx-node-tests")
    known = {k: v for k, v in json.loads((HERE / "known_failures.json").read_text()).items() if not k.startswith("_")}
    required = {name for name in ops if set(ops[name]) <= onnx_node_cases.REQUIRED_OPS}
    counts = collections.Counter(status for _, status, _ in results)
    req_counts = collections.Counter(status for name, status, _ in results if name in required)
    print(f"\nONNX node tests: {counts['pass']} pass, {counts['fail']} fail, {counts['unsupported']} unsupported, "
          f"{counts['crash']} crash, of {len(results)}")
    print(f"required operators only: {req_counts['pass']} pass, {req_counts['fail']} fail, "
          f"{req_counts['unsupported']} unsupported, {req_counts['crash']} crash, of {len(required)}")
    problems = [f"{name} is listed in known_failures.json but is not a node test of required operators"
                for name in known if name not in required]
    for name, status, detail in results:
        if status == "crash":
            problems.append(f"{name}: crashed: {detail}")
        elif name in required and status != "pass" and name not in known:
            problems.append(f"{name} ({', '.join(ops[name])}): {status}: {detail}")
        elif status == "pass" and name in known:
            problems.append(f"{name} passes but is listed in known_failures.json ({known[name]})")
    assert not problems, "\n".join(problems)
