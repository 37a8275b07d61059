"""Bad input: malformed MLIR gets MLIR's diagnostic with a file:line:col
location; an unsupported op gets exactly one line naming the original (TOSA)
op; impossible dtypes and shapes get an error line. Always exit status 1,
never a crash (no signal, no LLVM stack dump)."""
import re

import pytest

from conftest import ERROR_LINE
from e2e_support import compile_fails


def assert_clean_failure(proc):
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "PLEASE submit a bug report" not in proc.stderr and "Stack dump" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), proc.stderr
    return lines[0]


def line_col(text, needle):
    """1-based line and column of the first occurrence of `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        col = line.find(needle)
        if col >= 0:
            return i, col + 1
    raise AssertionError(needle)


# --- malformed MLIR ----------------------------------------------------------

MALFORMED = {
    "unterminated": """func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = tosa.exp %a : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
""",
    "undefined_value": """func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = tosa.exp %b : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
""",
    "bad_type": """func.func @main(%a: tensor<4xfloat32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
""",
    "verifier": """func.func @main(%a: tensor<4x5xf32>, %b: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %r = tosa.add %a, %b : (tensor<4x5xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}
""",
    "unknown_dialect": """func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = foo.bar %a : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
""",
    "return_type": """func.func @main(%a: tensor<4xf32>) -> tensor<5xf32> {
  return %a : tensor<4xf32>
}
""",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_mlir_reports_a_location(tools, tmp_path, name):
    proc, src = compile_fails(tools, tmp_path, MALFORMED[name])
    line = assert_clean_failure(proc)
    assert re.match(rf"{re.escape(str(src))}:\d+:\d+: error: \S", line), line


def test_missing_input_file(tools, tmp_path):
    proc = tools.run("trnx-compile", tmp_path / "nope.mlir", "-o", tmp_path / "x.tnx", check=False)
    line = assert_clean_failure(proc)
    assert "nope.mlir" in line


# --- unsupported operations --------------------------------------------------

UNSUPPORTED = {
    "tosa.conv2d": """func.func @main(%x: tensor<1x8x8x3xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x6x6x4xf32> {
  %y = tosa.exp %x : (tensor<1x8x8x3xf32>) -> tensor<1x8x8x3xf32>
  %r = tosa.conv2d %y, %w, %b {pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>} : (tensor<1x8x8x3xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x4xf32>
  return %r : tensor<1x6x6x4xf32>
}
""",
    "tosa.max_pool2d": """func.func @main(%a: tensor<1x8x8x3xf32>) -> tensor<1x4x4x3xf32> {
  %r = tosa.max_pool2d %a {kernel = array<i64: 2, 2>, pad = array<i64: 0, 0, 0, 0>, stride = array<i64: 2, 2>} : (tensor<1x8x8x3xf32>) -> tensor<1x4x4x3xf32>
  return %r : tensor<1x4x4x3xf32>
}
""",
    "tosa.argmax": """func.func @main(%a: tensor<4x7xf32>) -> tensor<4xi32> {
  %r = tosa.argmax %a {axis = 1 : i32} : (tensor<4x7xf32>) -> tensor<4xi32>
  return %r : tensor<4xi32>
}
""",
    "tosa.sin": """func.func @main(%a: tensor<4x7xf32>) -> tensor<4x7xf32> {
  %r = tosa.sin %a : (tensor<4x7xf32>) -> tensor<4x7xf32>
  return %r : tensor<4x7xf32>
}
""",
    "tosa.reduce_prod": """func.func @main(%a: tensor<4x7xf32>) -> tensor<4x1xf32> {
  %r = tosa.reduce_prod %a {axis = 1 : i32} : (tensor<4x7xf32>) -> tensor<4x1xf32>
  return %r : tensor<4x1xf32>
}
""",
    "tosa.floor": """func.func @main(%a: tensor<4x7xf32>) -> tensor<4x7xf32> {
  %r = tosa.floor %a : (tensor<4x7xf32>) -> tensor<4x7xf32>
  return %r : tensor<4x7xf32>
}
""",
    "linalg.conv_2d_nhwc_hwcf": """func.func @main(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %o: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  %r = linalg.conv_2d_nhwc_hwcf ins(%x, %w : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%o : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  return %r : tensor<1x6x6x4xf32>
}
""",
    "linalg.generic": """func.func @main(%a: tensor<4x7xf32>) -> tensor<4x7xf32> {
  %e = tensor.empty() : tensor<4x7xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x7xf32>) outs(%e : tensor<4x7xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = math.sin %x : f32
    linalg.yield %s : f32
  } -> tensor<4x7xf32>
  return %r : tensor<4x7xf32>
}
""",
    "func.call": """func.func private @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = tosa.exp %a : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = func.call @f(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
""",
}


@pytest.mark.parametrize("op", list(UNSUPPORTED))
def test_unsupported_op_names_the_original_op(tools, tmp_path, op):
    text = UNSUPPORTED[op]
    proc, src = compile_fails(tools, tmp_path, text)
    line = assert_clean_failure(proc)
    # MLIR locates an op at its name, here after "%r = ".
    ln, col = line_col(text, "%r = " + op)
    assert line == f"{src}:{ln}:{col + 5}: error: '{op}' is not supported on trn3", line


def test_truncating_float_to_int_conversion_is_rejected(tools, tmp_path):
    """arith.fptosi truncates toward zero; the engines convert with round-to-nearest-even (what tosa.cast means)."""
    text = """func.func @main(%a: tensor<4x7xf32>) -> tensor<4x7xi32> {
  %e = tensor.empty() : tensor<4x7xi32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x7xf32>) outs(%e : tensor<4x7xi32>) {
  ^bb0(%x: f32, %o: i32):
    %s = arith.fptosi %x : f32 to i32
    linalg.yield %s : i32
  } -> tensor<4x7xi32>
  return %r : tensor<4x7xi32>
}
"""
    proc, src = compile_fails(tools, tmp_path, text)
    line = assert_clean_failure(proc)
    assert line == f"{src}:3:8: error: 'linalg.generic' is not supported on trn3", line


# --- impossible dtypes and shapes -------------------------------------------

IMPOSSIBLE = {
    "f64_elementwise": ("""func.func @main(%a: tensor<4x4xf64>, %b: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %r = tosa.add %a, %b : (tensor<4x4xf64>, tensor<4x4xf64>) -> tensor<4x4xf64>
  return %r : tensor<4x4xf64>
}
""", "f64"),
    "f64_matmul": ("""func.func @main(%a: tensor<4x8xf64>, %b: tensor<8x4xf64>) -> tensor<4x4xf64> {
  %z = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x4xf64>
  %f = linalg.fill ins(%z : f64) outs(%e : tensor<4x4xf64>) -> tensor<4x4xf64>
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf64>, tensor<8x4xf64>) outs(%f : tensor<4x4xf64>) -> tensor<4x4xf64>
  return %r : tensor<4x4xf64>
}
""", "f64"),
    "i64_matmul": ("""func.func @main(%a: tensor<1x4x8xi64>, %b: tensor<1x8x4xi64>) -> tensor<1x4x4xi64> {
  %r = tosa.matmul %a, %b : (tensor<1x4x8xi64>, tensor<1x8x4xi64>) -> tensor<1x4x4xi64>
  return %r : tensor<1x4x4xi64>
}
""", "i64"),
    "i32_matmul": ("""func.func @main(%a: tensor<1x4x8xi32>, %b: tensor<1x8x4xi32>) -> tensor<1x4x4xi32> {
  %r = tosa.matmul %a, %b : (tensor<1x4x8xi32>, tensor<1x8x4xi32>) -> tensor<1x4x4xi32>
  return %r : tensor<1x4x4xi32>
}
""", "i32"),
    "dynamic_elementwise": ("""func.func @main(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %r = tosa.add %a, %b : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}
""", "dynamic"),
    "dynamic_matmul": ("""func.func @main(%a: tensor<1x?x8xf32>, %b: tensor<1x8x4xf32>) -> tensor<1x?x4xf32> {
  %r = tosa.matmul %a, %b : (tensor<1x?x8xf32>, tensor<1x8x4xf32>) -> tensor<1x?x4xf32>
  return %r : tensor<1x?x4xf32>
}
""", "dynamic"),
    "dynamic_linalg": ("""func.func @main(%a: tensor<?xf32>) -> tensor<?xf32> {
  %e = linalg.exp ins(%a : tensor<?xf32>) outs(%a : tensor<?xf32>) -> tensor<?xf32>
  return %e : tensor<?xf32>
}
""", "dynamic"),
    "unranked": ("""func.func @main(%a: tensor<*xf32>) -> tensor<*xf32> {
  %r = tosa.exp %a : (tensor<*xf32>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
""", None),
    "i16": ("""func.func @main(%a: tensor<4x7xi16>, %b: tensor<4x7xi16>) -> tensor<4x7xi16> {
  %r = tosa.add %a, %b : (tensor<4x7xi16>, tensor<4x7xi16>) -> tensor<4x7xi16>
  return %r : tensor<4x7xi16>
}
""", "i16"),
    "complex": ("""func.func @main(%a: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  return %a : tensor<4xcomplex<f32>>
}
""", "complex"),
    "no_function": ("module {}\n", "no function"),
}


@pytest.mark.parametrize("name", list(IMPOSSIBLE))
def test_impossible_dtype_or_shape_is_an_error(tools, tmp_path, name):
    text, words = IMPOSSIBLE[name]
    proc, src = compile_fails(tools, tmp_path, text)
    line = assert_clean_failure(proc)
    assert line.startswith(f"{src}:") and ": error: " in line or line.startswith(f"error: {src}: "), line
    if words:
        assert words in line, line
