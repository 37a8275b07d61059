"""Spec checking: every kind of bad spec is rejected before work starts, naming its line."""
import pytest

import trnx
from trnx import sweep
from trnx.sweep.cache import COMPILE_KEYS
from trnx.sweep.expressions import Expression

GOOD = """
name: good
base: trn3
parameters:
  hbm.bytes_per_second: [2e12, 4e12]
  pe.clock_hz: {min: 1.0e9, max: 3.0e9, steps: 3, scale: log}
  cores: 4
constraints:
  - "pe.clock_hz < 3e9 or hbm.bytes_per_second > 2e12"
workloads:
  - builtin: gemm
    m: [128, 256]
  - model: llama3-8b
    phase: decode
    batch: [1, 64]
    context: 2048
compile: {auto_cast: matmul}
"""

# (spec text, line the error names, words the cause contains)
BAD = [
    ("base: trn3\nworkloadz: []\n", 2, "unknown key 'workloadz'"),
    ("base: trn3\n", 1, "missing 'workloads'"),
    ("base: trn9\nworkloads: [{builtin: gemm}]\n", 1, "base chip 'trn9'"),
    ("base: trn3\nparameters:\n  hbm.bytes_per_secnd: [1e12]\nworkloads: [{builtin: gemm}]\n", 3,
     "unknown chip key 'hbm.bytes_per_secnd'"),
    ("base: trn3\nparameters:\n  hbm.bytes_per_second: []\nworkloads: [{builtin: gemm}]\n", 3, "empty range"),
    ("base: trn3\nparameters:\n  pe.clock_hz:\n    min: 2e9\n    max: 1e9\n    steps: 2\n"
     "workloads: [{builtin: gemm}]\n", 5, "empty range"),
    ("base: trn3\nparameters:\n  cores:\n    - 1\n    - 2.5\nworkloads: [{builtin: gemm}]\n", 5,
     "'cores' takes an integer"),
    ("base: trn3\nparameters:\n  hbm.bytes_per_second: [fast]\nworkloads: [{builtin: gemm}]\n", 3, "takes a number"),
    ("base: trn3\nparameters:\n  cores: [0]\nworkloads: [{builtin: gemm}]\n", 3, "out of range"),
    ("base: trn3\nparameters:\n  pe_array.input_dtypes: [[bf16, fp9]]\nworkloads: [{builtin: gemm}]\n", 3,
     "unknown dtype"),
    ("base: trn3\nparameters:\n  pe.clock_hz: {min: 1e9, max: 2e9}\nworkloads: [{builtin: gemm}]\n", 3,
     "needs 'steps'"),
    ("base: trn3\nparameters:\n  pe.clock_hz: {min: 1e9, max: 2e9, stepz: 3}\nworkloads: [{builtin: gemm}]\n", 3,
     "unknown key 'stepz'"),
    ("base: trn3\nsampling: {method: random}\nworkloads: [{builtin: gemm}]\n", 2, "needs 'samples'"),
    ("base: trn3\nsampling:\n  method: sobol\nworkloads: [{builtin: gemm}]\n", 3, "method must be one of"),
    ("base: trn3\nsampling:\n  method: random\n  samples: ten\nworkloads: [{builtin: gemm}]\n", 4,
     "samples must be an integer"),
    ("base: trn3\nworkloads:\n  - model: llama9\n", 3, "unknown model 'llama9'"),
    ("base: trn3\nworkloads:\n  - model: llama3-8b\n    phase: decode\n    seq: 128\n", 5, "takes 'context'"),
    ("base: trn3\nworkloads:\n  - model: llama3-8b\n    batch: [1, x]\n", 4, "batch must be an integer"),
    ("base: trn3\nworkloads:\n  - builtin: conv\n", 3, "unknown builtin 'conv'"),
    ("base: trn3\nworkloads:\n  - mlir: missing.mlir\n", 3, "cannot read 'missing.mlir'"),
    ("base: trn3\nconstraints:\n  - \"__import__('os').system('true')\"\nworkloads: [{builtin: gemm}]\n", 3,
     "not allowed"),
    ("base: trn3\nconstraints:\n  - \"foo.bar > 1\"\nworkloads: [{builtin: gemm}]\n", 3, "unknown chip key 'foo.bar'"),
    ("base: trn3\nconstraints:\n  - \"cores >\"\nworkloads: [{builtin: gemm}]\n", 3, "not a valid expression"),
    ("base: trn3\nconstraints:\n  - \"cores > 100\"\nworkloads: [{builtin: gemm}]\n", 3, "exclude every design point"),
    ("base: trn3\nmetrics:\n  - seconds\n  - tokens_per_sec\nworkloads: [{builtin: gemm}]\n", 4,
     "unknown metric 'tokens_per_sec'"),
    ("base: trn3\nbase: trn2\nworkloads: [{builtin: gemm}]\n", 2, "duplicate key 'base'"),
    ("base: trn3\n  bad: [\n", 2, "invalid YAML"),
    ("- base: trn3\n", 1, "a spec is a mapping"),
]


def test_a_good_spec_parses(write_spec):
    spec = sweep.load(write_spec(GOOD))
    assert spec.name == "good" and spec.base == "trn3"
    assert [p.key for p in spec.parameters] == ["hbm.bytes_per_second", "pe.clock_hz", "cores"]
    clock = spec.parameters[1].choices()
    assert clock[0] == 1e9 and clock[-1] == 3e9 and abs(clock[1] - 3 ** 0.5 * 1e9) < 1e4  # log spaced
    names = [w["name"] for w in spec.workloads]
    assert names == ["gemm-128x512x512", "gemm-256x512x512", "llama3-8b/decode/b1/c2048", "llama3-8b/decode/b64/c2048"]
    points, tasks = sweep.plan(spec)
    assert len(points) == 5  # 2 x 3 grid minus (3 GHz, 2 TB/s)
    assert len(tasks) == 5 * 4 and all(p.overrides["cores"] == 4 for p in points)


@pytest.mark.parametrize("text,line,cause", BAD, ids=[b[2] for b in BAD])
def test_bad_specs_name_the_line(write_spec, text, line, cause):
    path = write_spec(text)
    with pytest.raises(sweep.SpecError) as info:
        sweep.run(path, db=str(path) + ".sqlite", jobs=0, progress=False)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert cause in str(info.value)
    assert not (path.parent / (path.name + ".sqlite")).exists()  # rejected before any work


def test_cli_prints_one_error_line_and_exits_1(write_spec, sweep_cli, tmp_path):
    path = write_spec("base: trn3\nparameters:\n  hbm.bytes_per_second: []\nworkloads: [{builtin: gemm}]\n")
    proc = sweep_cli(path, "--db", tmp_path / "r.sqlite")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"{path}:3: error: empty range: 'hbm.bytes_per_second' has no values"
    assert not (tmp_path / "r.sqlite").exists()
    proc = sweep_cli(path, "--export", "out.xlsx")
    assert proc.returncode == 1 and proc.stderr.startswith("error: cannot export to 'out.xlsx'")


def test_dict_specs_are_checked_too():
    with pytest.raises(sweep.SpecError, match=r"^<spec>: unknown chip key 'hbm.bw'"):
        sweep.load({"base": "trn3", "parameters": {"hbm.bw": [1]}, "workloads": [{"builtin": "gemm"}]})


def test_constraints_evaluate_safely():
    e = Expression("pe.clock_hz <= 2 * dve.clock_hz and max(cores, 2) == 8 and 'fp8e4m3' in pe_array.input_dtypes")
    assert sorted(e.names()) == ["cores", "dve.clock_hz", "pe.clock_hz", "pe_array.input_dtypes"]
    assert e.evaluate({"pe.clock_hz": 2.0, "dve.clock_hz": 1.0, "cores": 8, "pe_array.input_dtypes": ["fp8e4m3"]})
    for evil in ("().__class__", "open('x')", "[x for x in y]", "lambda: 1", "cores[0]", "2 ** 10 ** 10 > 1"):
        with pytest.raises(ValueError):
            Expression(evil).evaluate({"cores": 1, "x": 1, "y": [1]})


def test_compile_keys_are_chip_keys():
    assert set(COMPILE_KEYS) <= set(trnx.chips.fields().index)
    assert "hbm.bytes_per_second" not in COMPILE_KEYS and "pe.clock_hz" not in COMPILE_KEYS
    # The dataflow and the MX packing change what the compiler emits (they were missing from a
    # hand-kept list once: a sweep over dataflows reused ws programs on os chips).
    assert {"pe_array.dataflow", "pe_array.mxfp8_rate_multiplier", "pe_array.rows"} <= set(COMPILE_KEYS)
