"""The pybind11 layer: programs round-trip through bytes and files, numpy
dtypes map to tensor dtypes, and C++ errors arrive as trnx.TrnxError with
the CLI's message."""
import numpy as np
import pytest

import trnx

MATMUL = """func.func @main(%a: tensor<64x128xf32>, %b: tensor<128x32xf32>) -> tensor<64x32xf32> {
  %z = arith.constant dense<0.0> : tensor<64x32xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x32xf32>) outs(%z : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}"""


@pytest.fixture(scope="module")
def program():
    return trnx.compile(MATMUL, target="trn3", auto_cast="none")


def test_program_round_trips_through_bytes_and_files(program, tmp_path):
    again = trnx.Program.from_bytes(program.to_bytes())
    assert again.to_bytes() == program.to_bytes()
    path = tmp_path / "p.tnx"
    program.save(path)
    assert trnx.load_program(path).to_bytes() == program.to_bytes()
    assert program.inputs == ["arg0", "arg1"] and program.outputs == ["out0"]
    assert "matmul" in program.asm()


def test_functional_result_matches_numpy_for_float64_and_float32_inputs(program):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 128))
    b = rng.standard_normal((128, 32)).astype(np.float32)
    result = trnx.simulate(program, inputs={"arg0": a, "arg1": b}, mode="functional")
    ref = a.astype(np.float32) @ b
    assert result.outputs["out0"].dtype == np.float32
    assert np.abs(result.outputs["out0"] - ref).max() <= 1e-4 * np.abs(ref).max()


def test_errors_carry_the_cli_message(program, tmp_path):
    with pytest.raises(trnx.TrnxError, match=r"<string>:1:\d+: "):
        trnx.compile("func.func @main( {")
    with pytest.raises(trnx.TrnxError, match="'zz' is not an input"):
        trnx.simulate(program, inputs={"zz": np.zeros(3)})
    with pytest.raises(trnx.TrnxError, match="cannot open file"):
        trnx.compile(str(tmp_path / "missing.onnx"))
    with pytest.raises(trnx.TrnxError, match="hbm.bytes_per_second"):
        trnx.chips.load("trn3").derive({"hbm.bytes_per_second": -1})
    with pytest.raises(trnx.TrnxError, match="shorter than the 24-byte header"):
        trnx.Program.from_bytes(b"garbage")


def test_compile_errors_match_trnx_compile(tmp_path):
    import os
    import subprocess

    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @main(%a: tensor<4xf64>) -> tensor<4xf64> {\n  return %a : tensor<4xf64>\n}\n")
    tool = os.path.join(os.environ["TRNX_BUILD_DIR"], "compiler", "trnx-compile")
    cli = subprocess.run([tool, str(bad), "-o", str(tmp_path / "x.tnx")], capture_output=True, text=True)
    assert cli.returncode == 1
    with pytest.raises(trnx.TrnxError) as info:
        trnx.compile(bad)
    assert cli.stderr.strip() == error_line(str(info.value))


def test_version_matches_the_tools():
    import re
    import subprocess

    import os

    assert re.fullmatch(r"\d+\.\d+\.\d+", trnx.__version__)
    assert trnx.version_string.startswith(trnx.__version__)
    if trnx.__git_revision__:
        assert trnx.version_string == f"{trnx.__version__} (git {trnx.__git_revision__})"
    tool = os.path.join(os.environ["TRNX_BUILD_DIR"], "simulator", "trnx-sim")
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"trnx-sim (trnx) {trnx.version_string}"


def error_line(message):
    """The line a tool prints for an error message: MLIR's "file:line[:col]: error: what"
    when the message starts with its place, else "error: what" (isa/Error.h)."""
    import re

    m = re.match(r"^([^ ]+:\d+(?::\d+)?: )", message)
    return f"{m.group(1)}error: {message[m.end():]}" if m else f"error: {message}"
