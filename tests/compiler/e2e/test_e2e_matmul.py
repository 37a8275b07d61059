"""Contractions: tosa.matmul (rank 3, batched), tosa.fully_connected, and
linalg.matmul / batch_matmul / matmul_transpose_b / generic contractions, on
sizes that are not multiples of 128 or 512. fp32 (--auto-cast none) within
1e-4 of max|ref|; the default auto-cast (bf16 operands, fp32 accumulation)
within 3e-2 of the exact product, and equal to the product of the
bf16-rounded operands."""
import re

import numpy as np
import pytest

from e2e_support import (BF16_TOL, FP32_TOL, assert_close, bf16, chip_yaml, compile_mlir, fp8e4m3, func, rand,
                          tosa_const_array, ttype)

SHAPES = [(1, 1, 1), (1, 7, 1000), (7, 130, 257), (130, 257, 7), (257, 130, 513), (129, 1000, 130)]
BATCHED = [(2, 7, 130, 257), (3, 130, 64, 129), (5, 1, 257, 7), (9, 7, 130, 33)]


def ref_mm(a, b, auto_cast):
    if auto_cast == "matmul":
        a, b = bf16(a), bf16(b)
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def check(y, a, b, auto_cast, epilogue=lambda r: r):
    exact = epilogue(ref_mm(a, b, "none"))
    if auto_cast == "none":
        assert_close(y, exact, FP32_TOL)
    else:
        assert_close(y, exact, BF16_TOL)
        assert_close(y, epilogue(ref_mm(a, b, "matmul")), FP32_TOL)


def tosa_matmul(B, M, K, N):
    ta, tb, tc = ttype((B, M, K)), ttype((B, K, N)), ttype((B, M, N))
    return func([("a", ta), ("b", tb)], [tc], f"  %r = tosa.matmul %a, %b : ({ta}, {tb}) -> {tc}\n  return %r : {tc}")


def linalg_matmul(M, K, N, op="matmul"):
    ta, tc = ttype((M, K)), ttype((M, N))
    tb = ttype((N, K)) if op == "matmul_transpose_b" else ttype((K, N))
    return func([("a", ta), ("b", tb)], [tc], f"""  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {tc}
  %f = linalg.fill ins(%z : f32) outs(%e : {tc}) -> {tc}
  %r = linalg.{op} ins(%a, %b : {ta}, {tb}) outs(%f : {tc}) -> {tc}
  return %r : {tc}""")


def linalg_batch_matmul(B, M, K, N, op="batch_matmul"):
    ta, tc = ttype((B, M, K)), ttype((B, M, N))
    tb = ttype((B, N, K)) if op == "batch_matmul_transpose_b" else ttype((B, K, N))
    return func([("a", ta), ("b", tb)], [tc], f"""  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {tc}
  %f = linalg.fill ins(%z : f32) outs(%e : {tc}) -> {tc}
  %r = linalg.{op} ins(%a, %b : {ta}, {tb}) outs(%f : {tc}) -> {tc}
  return %r : {tc}""")


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("M,K,N", SHAPES, ids=lambda s: str(s))
def test_tosa_matmul(tools, tmp_path, M, K, N, auto_cast):
    rng = np.random.default_rng(M * 7 + K + N)
    a, b = rand(rng, 1, M, K), rand(rng, 1, K, N)
    (y,) = compile_mlir(tools, tmp_path, tosa_matmul(1, M, K, N), auto_cast=auto_cast).run(a, b)
    check(y, a, b, auto_cast)


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("B,M,K,N", BATCHED, ids=lambda s: str(s))
def test_tosa_batch_matmul(tools, tmp_path, B, M, K, N, auto_cast):
    rng = np.random.default_rng(B + M + K + N)
    a, b = rand(rng, B, M, K), rand(rng, B, K, N)
    (y,) = compile_mlir(tools, tmp_path, tosa_matmul(B, M, K, N), auto_cast=auto_cast).run(a, b)
    check(y, a, b, auto_cast)


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("M,K,N", SHAPES[1:5], ids=lambda s: str(s))
def test_linalg_matmul(tools, tmp_path, M, K, N, auto_cast):
    rng = np.random.default_rng(M + K + N)
    a, b = rand(rng, M, K), rand(rng, K, N)
    (y,) = compile_mlir(tools, tmp_path, linalg_matmul(M, K, N), auto_cast=auto_cast).run(a, b)
    check(y, a, b, auto_cast)


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
def test_linalg_matmul_transpose_b(tools, tmp_path, auto_cast):
    M, K, N = 130, 64, 257
    rng = np.random.default_rng(11)
    a, bt = rand(rng, M, K), rand(rng, N, K)
    (y,) = compile_mlir(tools, tmp_path, linalg_matmul(M, K, N, "matmul_transpose_b"), auto_cast=auto_cast).run(a, bt)
    check(y, a, bt.T, auto_cast)


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("op", ["batch_matmul", "batch_matmul_transpose_b"])
@pytest.mark.parametrize("B,M,K,N", BATCHED, ids=lambda s: str(s))
def test_linalg_batch_matmul(tools, tmp_path, B, M, K, N, op, auto_cast):
    rng = np.random.default_rng(B * M + K + N)
    a = rand(rng, B, M, K)
    b = rand(rng, B, N, K) if op.endswith("transpose_b") else rand(rng, B, K, N)
    (y,) = compile_mlir(tools, tmp_path, linalg_batch_matmul(B, M, K, N, op), auto_cast=auto_cast).run(a, b)
    check(y, a, b.transpose(0, 2, 1) if op.endswith("transpose_b") else b, auto_cast)


def test_linalg_generic_contraction(tools, tmp_path):
    """out[b, n, m] = sum_k a[k, b, m] * w[n, k]: a contraction whose operands
    and result are all permuted, with a non-zero init that accumulates."""
    B, M, K, N = 3, 7, 130, 33
    ta, tw, tc = ttype((K, B, M)), ttype((N, K)), ttype((B, N, M))
    text = func([("a", ta), ("w", tw), ("c", tc)], [tc], f"""  %r = linalg.generic {{indexing_maps = [
      affine_map<(b, n, m, k) -> (k, b, m)>, affine_map<(b, n, m, k) -> (n, k)>,
      affine_map<(b, n, m, k) -> (b, n, m)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%a, %w : {ta}, {tw}) outs(%c : {tc}) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> {tc}
  return %r : {tc}""")
    rng = np.random.default_rng(12)
    a, w, c = rand(rng, K, B, M), rand(rng, N, K), rand(rng, B, N, M)
    (y,) = compile_mlir(tools, tmp_path, text).run(a, w, c)
    ref = np.einsum("kbm,nk->bnm", a.astype(np.float64), w.astype(np.float64)) + c
    assert_close(y, ref, FP32_TOL)


# --- fully connected: x @ w^T + b -------------------------------------------

def tosa_fully_connected(M, K, N, weights=None):
    tx, tw, tb, to = ttype((M, K)), ttype((N, K)), ttype((N,)), ttype((M, N))
    if weights is None:
        return func([("x", tx), ("w", tw), ("b", tb)], [to],
                    f"  %r = tosa.fully_connected %x, %w, %b : ({tx}, {tw}, {tb}) -> {to}\n  return %r : {to}")
    w, b = weights
    return func([("x", tx)], [to], tosa_const_array("w", w) + tosa_const_array("b", b)
                + f"  %r = tosa.fully_connected %x, %w, %b : ({tx}, {tw}, {tb}) -> {to}\n  return %r : {to}")


def linalg_fully_connected(M, K, N):
    tx, tw, tb, to = ttype((M, K)), ttype((N, K)), ttype((N,)), ttype((M, N))
    return func([("x", tx), ("w", tw), ("b", tb)], [to], f"""  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {to}
  %f = linalg.fill ins(%z : f32) outs(%e : {to}) -> {to}
  %mm = linalg.matmul_transpose_b ins(%x, %w : {tx}, {tw}) outs(%f : {to}) -> {to}
  %e2 = tensor.empty() : {to}
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
      affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      ins(%mm, %b : {to}, {tb}) outs(%e2 : {to}) {{
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  }} -> {to}
  return %r : {to}""")


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("form", ["tosa", "linalg"])
@pytest.mark.parametrize("M,K,N", [(1, 130, 257), (7, 257, 1000), (257, 64, 130)], ids=lambda s: str(s))
def test_fully_connected(tools, tmp_path, form, M, K, N, auto_cast):
    rng = np.random.default_rng(M + N)
    x, w, b = rand(rng, M, K), rand(rng, N, K), rand(rng, N)
    text = tosa_fully_connected(M, K, N) if form == "tosa" else linalg_fully_connected(M, K, N)
    (y,) = compile_mlir(tools, tmp_path, text, auto_cast=auto_cast).run(x, w, b)
    check(y, x, w.T, auto_cast, lambda r: r + b)


def test_fully_connected_with_constant_weights(tools, tmp_path):
    """Weights and bias as tosa.const (how exporters write them): weight tensors of the program."""
    M, K, N = 5, 33, 20
    rng = np.random.default_rng(13)
    x, w, b = rand(rng, M, K), rand(rng, N, K), rand(rng, N)
    model = compile_mlir(tools, tmp_path, tosa_fully_connected(M, K, N, (w, b)))
    assert "weight" in model.header()
    (y,) = model.run(x)
    assert_close(y, x.astype(np.float64) @ w.T.astype(np.float64) + b, FP32_TOL)


@pytest.mark.parametrize("dataflow, sbuf, B, M, K, N, auto_cast", [
    ("is", 262144, 1, 100, 100000, 300, "none"),  # A held, B streamed: A^T over all of K is 313 KB per partition
    ("is", 65536, 2, 256, 9000, 520, "none"),     # B-resident schedule, batched: two A^T tiles are 72 KB
    ("is", 65536, 1, 200, 9000, 600, "matmul"),   # operands cast to bf16 on chip (staging + bf16 tiles)
    ("ws", 262144, 1, 100, 100000, 300, "none"),  # B held (streamed), narrow A^T resident: 391 KB per partition
    ("os", 262144, 2, 200, 70000, 96, "none"),    # output stationary: a row tile over all of K is 280 KB
], ids=["is-streamed", "is-resident-batched", "is-bf16", "ws-held", "os"])
def test_matmul_longer_than_sbuf_splits_k(tools, tmp_path, dataflow, sbuf, B, M, K, N, auto_cast):
    """K too long for the resident operand in SBUF: K is split into segments
    accumulating an fp32 partial product in HBM scratch, in every dataflow."""
    rng = np.random.default_rng(15)
    a, b = rand(rng, B, M, K), rand(rng, B, K, N)
    chip = chip_yaml(tmp_path, pe_array={"dataflow": dataflow}, sbuf_bytes_per_partition=sbuf)
    model = compile_mlir(tools, tmp_path, tosa_matmul(B, M, K, N), auto_cast=auto_cast, target=chip)
    scratch = re.search(r"scratch scratch int8 \[(\d+)\]", model.header())
    assert scratch and int(scratch.group(1)) >= B * M * N * 4, model.header()  # the fp32 partial product
    (y,) = model.run(a, b)
    check(y, a, b, auto_cast)


def test_fully_connected_longer_than_sbuf_applies_its_bias_once(tools, tmp_path):
    """The bias epilogue runs on the last K segment only, after the partials are summed."""
    M, K, N = 130, 50000, 70
    rng = np.random.default_rng(16)
    x, w, b = rand(rng, M, K), rand(rng, N, K), rand(rng, N)
    (y,) = compile_mlir(tools, tmp_path, tosa_fully_connected(M, K, N)).run(x, w, b)
    assert_close(y, x.astype(np.float64) @ w.T.astype(np.float64) + b, FP32_TOL)


@pytest.mark.parametrize("M, K, N", [(257, 1000, 130), (130, 512, 64), (300, 256, 513), (7, 1000, 130)], ids=str)
def test_fp8_auto_cast_uses_double_row_mode(tools, tmp_path, M, K, N):
    """--auto-cast-type fp8e4m3: operands rounded to fp8 on chip, fp32
    accumulation. trn2 is weight-stationary: B's tiles are held, so with more
    than 128 columns of B (the held-stream and B-resident schedules of the
    transposed problem) pairs of full k-tiles run as one double-row matmul
    (2x the PE rate); odd k-tiles and the K remainder run singly. trn3 has no
    double-row mode (G3: plain fp8 runs at the bf16 rate). Exact against the
    fp8-rounded operands."""
    rng = np.random.default_rng(17)
    a, b = rand(rng, 1, M, K), rand(rng, 1, K, N)
    text = tosa_matmul(1, M, K, N)
    model = compile_mlir(tools, tmp_path, text, auto_cast="matmul", extra=("--auto-cast-type", "fp8e4m3"))
    src = tmp_path / "fp8.mlir"
    src.write_text(text)
    asm = tools.run("trnx-compile", src, "--target", "trn2", "--auto-cast-type", "fp8e4m3", "--emit=asm").stdout
    assert ("mode=double_row" in asm) == (N > 128 and K >= 256), asm[:2000]
    asm3 = tools.run("trnx-compile", src, "--target", "trn3", "--auto-cast-type", "fp8e4m3", "--emit=asm").stdout
    assert "mode=double_row" not in asm3 and "fp8e4m3" in asm3
    (y,) = model.run(a, b)
    assert_close(y, np.matmul(fp8e4m3(a), fp8e4m3(b)), FP32_TOL)


FP8_OPERANDS = {
    # A [M, K] stored with K contiguous: its K-major copy comes from PE transposes.
    "activations": ("""func.func @main(%a: tensor<2x300x1000xf8E4M3FN>, %b: tensor<2x1000x200xf8E4M3FN>) -> tensor<2x300x200xf32> {
  %r = tosa.matmul %a, %b : (tensor<2x300x1000xf8E4M3FN>, tensor<2x1000x200xf8E4M3FN>) -> tensor<2x300x200xf32>
  return %r : tensor<2x300x200xf32>
}
""", [(2, 300, 1000), (2, 1000, 200)], lambda a, b: np.matmul(a, b)),
    # B = W^T with W [N, K] stored row-major (a torch Linear weight): N contiguous in B.
    "weights_nk": ("""func.func @main(%a: tensor<200x700xf8E4M3FN>, %w: tensor<130x700xf8E4M3FN>) -> tensor<200x130xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<200x130xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<200x130xf32>) -> tensor<200x130xf32>
  %r = linalg.matmul_transpose_b ins(%a, %w : tensor<200x700xf8E4M3FN>, tensor<130x700xf8E4M3FN>)
         outs(%f : tensor<200x130xf32>) -> tensor<200x130xf32>
  return %r : tensor<200x130xf32>
}
""", [(200, 700), (130, 700)], lambda a, w: a @ w.T),
}


@pytest.mark.parametrize("case", list(FP8_OPERANDS))
def test_fp8_operands_stored_the_other_way_round(tools, tmp_path, case):
    """fp8 operands stay fp8 under the default auto-cast (only fp32 is cast).
    One whose contraction dim is contiguous in the wrong operand gets a
    K-major copy through PE transposes (the DMA transpose unit takes 2- and
    4-byte types only): exact, and the program has the transposes."""
    text, shapes, ref = FP8_OPERANDS[case]
    rng = np.random.default_rng(18)
    a, b = (fp8e4m3(rng.standard_normal(shape) * 2).astype(np.float32) for shape in shapes)
    model = compile_mlir(tools, tmp_path, text, auto_cast="matmul")
    src = tmp_path / "fp8.mlir"
    src.write_text(text)
    asm = tools.run("trnx-compile", src, "--target", "trn3", "--emit=asm").stdout
    assert "transpose dst=" in asm, asm[:1500]
    (y,) = model.run(a, b)
    assert_close(y, ref(a.astype(np.float64), b.astype(np.float64)), FP32_TOL)


def test_matmul_with_long_k(tools, tmp_path):
    """K = 16384 with more than 128 rows and f32 inputs cast to bf16 on chip: the resident B
    chunk gets narrow, but it compiles and computes (it used to stop with "needs K-splitting")."""
    M, K, N = 256, 16384, 64
    rng = np.random.default_rng(14)
    a, b = rand(rng, 1, M, K), rand(rng, 1, K, N)
    (y,) = compile_mlir(tools, tmp_path, tosa_matmul(1, M, K, N), auto_cast="matmul").run(a, b)
    check(y, a, b, "matmul")
