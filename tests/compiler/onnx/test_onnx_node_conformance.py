"""ONNX backend node tests: every test is compiled (--auto-cast none), run in
the functional simulator and compared with ONNX's expected outputs at ONNX's
default tolerances (onnx_node_cases.py). A test whose operators are all in
REQUIRED_OPS must pass unless known_failures.json lists it with a reason, and
a listed test must not pass; nothing may crash. docs/onnx.md must show these
results and name every operator the importer handles."""
import collections
import pathlib
import re

import pytest

from conftest import BUILD_DIR, SOURCE_DIR
import onnx_node_cases

HERE = pathlib.Path(__file__).parent
DOC = SOURCE_DIR / "docs" / "onnx.md"


def importer_operators():
    """The operators of the importer's table (compiler/lib/Import/OnnxOps.cpp)."""
    text = (SOURCE_DIR / "compiler" / "lib" / "Import" / "OnnxOps.cpp").read_text()
    table = text[text.index("opTable()"):]
    return set(re.findall(r'^\s*\{"(\w+)", \{\{', table, re.M))


def test_onnx_node_tests():
    pytest.importorskip("onnx")
    results, ops = onnx_node_cases.run_all(BUILD_DIR, BUILD_DIR / "onnx-node-tests")
    known = onnx_node_cases.load_known_failures(HERE / "known_failures.json")
    required = {name for name in ops if set(ops[name]) <= onnx_node_cases.REQUIRED_OPS}
    counts = collections.Counter(status for _, status, *_ in results)
    req_counts = collections.Counter(status for name, status, *_ in results if name in required)
    print(f"\nONNX node tests: {counts['pass']} pass, {counts['fail']} fail, {counts['unsupported']} unsupported, "
          f"{counts['crash']} crash, of {len(results)}")
    print(f"required operators only: {req_counts['pass']} pass, {req_counts['fail']} fail, "
          f"{req_counts['unsupported']} unsupported, {req_counts['crash']} crash, of {len(required)}")
    problems = [f"{name} is listed in known_failures.json but is not a node test of required operators"
                for name in known if name not in required]
    for name, status, detail, _ in results:
        if status == "crash":
            problems.append(f"{name}: crashed: {detail}")
        elif name in required and status != "pass" and name not in known:
            problems.append(f"{name} ({', '.join(ops[name])}): {status}: {detail}")
        elif status == "pass" and name in known:
            problems.append(f"{name} passes but is listed in known_failures.json ({known[name]})")
    assert not problems, "\n".join(problems)
    # The doc's section is these results (for the onnx it was made with).
    import onnx
    documented = onnx_node_cases.doc_section(DOC.read_text())
    assert documented is not None, f"{DOC}: no conformance section"
    if f"onnx {onnx.__version__} " in documented:
        assert documented == onnx_node_cases.conformance_markdown(results, ops, known), \
            f"{DOC} is out of date: run scripts/onnx-conformance-report.py --update docs/onnx.md"


def test_doc_lists_every_operator():
    doc = DOC.read_text()
    ops = importer_operators()
    assert onnx_node_cases.REQUIRED_OPS <= ops, sorted(onnx_node_cases.REQUIRED_OPS - ops)
    missing = sorted(op for op in ops if f"`{op}`" not in doc)
    assert not missing, f"{DOC} does not list: {missing}"
