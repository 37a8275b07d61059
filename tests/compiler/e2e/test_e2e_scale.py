"""Tensors larger than SBUF (32 MiB per core on trn3) and programs that use
every NeuronCore: big operators are checked with timing-only simulation
(all 8 cores busy, time within a small factor of the HBM/compute roofline),
and two of them functionally at sizes that still exceed one core's SBUF."""
import numpy as np
import pytest

from e2e_support import (BF16_TOL, FP32_TOL, assert_close, bf16, compile_mlir, cores_used, func, rand,
                         streams_per_core, ttype)
from e2e_graph import Graph

SBUF_PER_CORE = 32 * 2**20
TRN3_CORES = 8


def big_elementwise(shape):
    t = ttype(shape)
    return func([("a", t), ("b", t)], [t], f"""  %e = tosa.exp %a : ({t}) -> {t}
  %r = tosa.add %e, %b : ({t}, {t}) -> {t}
  return %r : {t}""")


def big_matmul(b, m, k, n):
    ta, tb, tc = ttype((b, m, k)), ttype((b, k, n)), ttype((b, m, n))
    return func([("a", ta), ("b", tb)], [tc], f"  %r = tosa.matmul %a, %b : ({ta}, {tb}) -> {tc}\n  return %r : {tc}")


def graph_text(build, *shapes, form="tosa"):
    g = Graph(form)
    args = [g.arg(*s) for s in shapes]
    return g.text(build(g, *args))


def one_op(op, shape, out_shape):
    """A unary op `%r = {op} : (T) -> To` of argument %a."""
    t, to = ttype(shape), ttype(out_shape)
    return func([("a", t)], [to], f"  %r = {op} : ({t}) -> {to}\n  return %r : {to}")


# name -> (MLIR text, bytes that must cross HBM at least, flops)
LARGE = {
    "elementwise": (big_elementwise((4096, 4096)), 3 * 4096 * 4096 * 4, 0),
    "matmul": (big_matmul(1, 2048, 4096, 2048), (2 * 2048 * 4096 + 2048 * 2048) * 4, 2 * 2048 * 4096 * 2048),
    "gemv": (big_matmul(1, 1, 8192, 8192), (8192 * 8192 + 2 * 8192) * 4, 2 * 8192 * 8192),
    "batch_matmul": (big_matmul(16, 512, 512, 512), 3 * 16 * 512 * 512 * 4, 2 * 16 * 512 ** 3),
    "elementwise_linalg": (graph_text(lambda g, a, b: g.add(g.exp(a), b), (4096, 4096), (4096, 4096), form="linalg"),
                           3 * 4096 * 4096 * 4, 0),
    "matmul_linalg": (graph_text(lambda g, a, b: g.matmul(a, b), (2048, 4096), (4096, 2048), form="linalg"),
                      (2 * 2048 * 4096 + 2048 * 2048) * 4, 2 * 2048 * 4096 * 2048),
    "softmax": (graph_text(lambda g, x: g.softmax(x), (8192, 1024)), 2 * 8192 * 1024 * 4, 0),
    "layernorm": (graph_text(lambda g, x: g.layernorm(x), (8192, 1024)), 2 * 8192 * 1024 * 4, 0),
    "layernorm_linalg": (graph_text(lambda g, x: g.layernorm(x), (8192, 1024), form="linalg"), 2 * 8192 * 1024 * 4, 0),
    "reduce_sum_first_axis": (one_op("tosa.reduce_sum %a {axis = 0 : i32}", (16384, 1024), (1, 1024)),
                              16384 * 1024 * 4, 0),
    "reduce_max_last_axis": (one_op("tosa.reduce_max %a {axis = 1 : i32}", (8192, 4096), (8192, 1)),
                             8192 * 4096 * 4, 0),
    "transpose": (func([("a", ttype((4096, 4096)))], [ttype((4096, 4096))],
                       '  %p = "tosa.const"() <{value = dense<[1, 0]> : tensor<2xi32>}> : () -> tensor<2xi32>\n'
                       "  %r = tosa.transpose %a, %p : (tensor<4096x4096xf32>, tensor<2xi32>) -> tensor<4096x4096xf32>\n"
                       "  return %r : tensor<4096x4096xf32>"), 2 * 4096 * 4096 * 4, 0),
    "gather": (func([("t", ttype((50000, 1024))), ("i", ttype((1, 8192), "i32"))], [ttype((1, 8192, 1024))],
                    "  %t3 = tosa.reshape %t {new_shape = array<i64: 1, 50000, 1024>} : (tensor<50000x1024xf32>) -> "
                    "tensor<1x50000x1024xf32>\n"
                    "  %r = tosa.gather %t3, %i : (tensor<1x50000x1024xf32>, tensor<1x8192xi32>) -> tensor<1x8192x1024xf32>\n"
                    "  return %r : tensor<1x8192x1024xf32>"), 2 * 8192 * 1024 * 4, 0),
}


@pytest.mark.parametrize("name", list(LARGE))
def test_large_op_uses_every_core(tools, tmp_path, name):
    text, min_bytes, flops = LARGE[name]
    model = compile_mlir(tools, tmp_path, text, auto_cast="matmul")
    header = model.header()
    assert cores_used(header) == TRN3_CORES, header
    assert streams_per_core(header) == set(range(TRN3_CORES)), header
    report = model.timing()
    assert report["cores_used"] == TRN3_CORES
    # Larger than one core's SBUF, so the kernels must stream through it.
    assert report["hbm_bytes"] >= min_bytes > SBUF_PER_CORE
    # Within a small factor of the roofline (the bound the whole chip allows).
    bound = max(min_bytes / report["peak_hbm_bytes_per_second"], flops / report["peak_flops_per_second"])
    assert bound <= report["seconds"] < 4 * bound, (report["seconds"], bound)


def test_elementwise_larger_than_sbuf_runs_functionally(tools, tmp_path):
    shape = (2048, 4608)  # 36 MiB per operand
    model = compile_mlir(tools, tmp_path, big_elementwise(shape))
    assert cores_used(model.header()) == TRN3_CORES
    rng = np.random.default_rng(1)
    a, b = rand(rng, *shape), rand(rng, *shape)
    (y,) = model.run(a, b)
    assert_close(y, np.exp(a.astype(np.float64)) + b, FP32_TOL)


def test_matmul_larger_than_sbuf_runs_functionally(tools, tmp_path):
    """B is 36 MiB: more than a core's SBUF, so its columns are split over the cores and streamed."""
    m, k, n = 256, 8192, 1152
    model = compile_mlir(tools, tmp_path, big_matmul(1, m, k, n), auto_cast="matmul")
    assert cores_used(model.header()) == TRN3_CORES
    rng = np.random.default_rng(2)
    a, b = rand(rng, 1, m, k), rand(rng, 1, k, n)
    (y,) = model.run(a, b)
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert_close(y, exact, BF16_TOL)
    assert_close(y, np.matmul(bf16(a).astype(np.float64), bf16(b).astype(np.float64)), FP32_TOL)


@pytest.mark.parametrize("shape,axis", [((12000, 7), 0), ((3, 10000), 1), ((7, 6001, 5), 1)], ids=str)
def test_reduction_over_a_row_longer_than_sbuf_tiles(tools, tmp_path, shape, axis):
    """Reduced extents beyond what one SBUF tile holds are reduced in chunks."""
    out = tuple(1 if i == axis else s for i, s in enumerate(shape))
    text = one_op(f"tosa.reduce_sum %a {{axis = {axis} : i32}}", shape, out)
    x = rand(np.random.default_rng(3), *shape)
    (y,) = compile_mlir(tools, tmp_path, text).run(x)
    assert_close(y, x.astype(np.float64).sum(axis, keepdims=True), FP32_TOL)
    text = one_op(f"tosa.reduce_max %a {{axis = {axis} : i32}}", shape, out)
    (y,) = compile_mlir(tools, tmp_path, text, name="max").run(x)
    np.testing.assert_array_equal(y, x.max(axis, keepdims=True))
