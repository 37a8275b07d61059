"""trnx.simulate: numerics against numpy, modes, report tables, traces, and CLI-identical errors."""
import subprocess

import numpy as np
import pytest

import trnx

MATMUL_SOFTMAX = """func.func @main(%a: tensor<1x64x96xf32>, %b: tensor<1x96x80xf32>) -> tensor<1x64x80xf32> {
  %s = tosa.matmul %a, %b : (tensor<1x64x96xf32>, tensor<1x96x80xf32>) -> tensor<1x64x80xf32>
  %m = tosa.reduce_max %s {axis = 2 : i32} : (tensor<1x64x80xf32>) -> tensor<1x64x1xf32>
  %d = tosa.sub %s, %m : (tensor<1x64x80xf32>, tensor<1x64x1xf32>) -> tensor<1x64x80xf32>
  %e = tosa.exp %d : (tensor<1x64x80xf32>) -> tensor<1x64x80xf32>
  %t = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<1x64x80xf32>) -> tensor<1x64x1xf32>
  %r = tosa.reciprocal %t : (tensor<1x64x1xf32>) -> tensor<1x64x1xf32>
  %y = tosa.mul %e, %r {shift = 0 : i8} : (tensor<1x64x80xf32>, tensor<1x64x1xf32>) -> tensor<1x64x80xf32>
  return %y : tensor<1x64x80xf32>
}"""


def reference(a, b):
    s = np.matmul(a.astype(np.float64), b.astype(np.float64))
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    return {"arg0": rng.standard_normal((1, 64, 96)).astype(np.float32) / 4,
            "arg1": rng.standard_normal((1, 96, 80)).astype(np.float32) / 4}


@pytest.mark.parametrize("auto_cast,tol", [("none", 1e-4), ("matmul", 3e-2)])
def test_matmul_softmax_matches_numpy(inputs, auto_cast, tol):
    program = trnx.compile(MATMUL_SOFTMAX, auto_cast=auto_cast)
    result = trnx.simulate(program, inputs=inputs)
    ref = reference(inputs["arg0"], inputs["arg1"])
    got = result.outputs["out0"]
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() <= tol * np.abs(ref).max()
    assert result.report.seconds > 0 and result.report.cycles > 0


def test_timing_does_not_depend_on_functional_mode(inputs):
    program = trnx.compile(MATMUL_SOFTMAX)
    both = trnx.simulate(program, inputs=inputs, mode="both").report
    timing = trnx.simulate(program, mode="timing").report
    assert both.cycles == timing.cycles and both.hbm_bytes == timing.hbm_bytes


def test_report_tables_and_trace(inputs, tmp_path):
    program = trnx.compile(MATMUL_SOFTMAX)
    result = trnx.simulate(program, mode="timing", trace=True, tokens=64)
    report = result.report
    assert "pe" in report.engines.index and (report.engines["busy_cycles"] >= 0).all()
    assert not report.ops.empty and report.energy_breakdown.sum() > 0
    assert report.workload["tokens"] == 64 and report.workload["tokens_per_second"] > 0
    assert report.to_dict()["seconds"] == report.seconds
    assert any(e.get("ph") == "X" for e in result.trace["traceEvents"])
    result.save_trace(tmp_path / "t.json")
    assert (tmp_path / "t.json").stat().st_size > 0
    with pytest.raises(AttributeError, match="no field"):
        report.no_such_field


def test_bad_arguments_raise_value_errors():
    program = trnx.compile(MATMUL_SOFTMAX)
    with pytest.raises(ValueError, match="mode must be one of"):
        trnx.simulate(program, mode="fast")
    with pytest.raises(ValueError, match="needs timing"):
        trnx.simulate(program, mode="functional", trace=True)


def test_errors_carry_the_message_trnx_sim_prints(inputs, tmp_path, tools):
    program = trnx.compile(MATMUL_SOFTMAX)
    path = tmp_path / "p.tnx"
    program.save(path)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 3), np.float32))
    cli = subprocess.run([tools.path("trnx-sim"), str(path), "--mode", "functional", "--input", f"arg0={bad}",
                          "--input", f"arg1={bad}", "-q"], capture_output=True, text=True)
    assert cli.returncode == 1
    with pytest.raises(trnx.TrnxError) as info:
        trnx.simulate(program, inputs={"arg0": np.zeros((3, 3), np.float32), "arg1": inputs["arg1"]},
                      mode="functional")
    assert cli.stderr.strip() == error_line(str(info.value))


def error_line(message):
    """The line a tool prints for an error message: MLIR's "file:line[:col]: error: what"
    when the message starts with its place, else "error: what" (isa/Error.h)."""
    import re

    m = re.match(r"^([^ ]+:\d+(?::\d+)?: )", message)
    return f"{m.group(1)}error: {message[m.end():]}" if m else f"error: {message}"
