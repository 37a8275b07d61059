"""MX (MXFP8 / MXFP4) weights end to end: trn.mx_matmul in MLIR, the numpy
reference quantiser trnx.mx, the chip's quantize_mx + matmul_mx numerics, and
the weight_dtype of trnx.models / trnx.workloads."""
import numpy as np
import pytest

import trnx
import trnx.mx as mx


def mx_program(m, k, n, fmt, lead=()):
    wcols = n // 2 if fmt == "mxfp4" else n
    welem = "i8" if fmt == "mxfp4" else "f8E4M3FN"
    wattr = ', trnx.dtype = "fp4e2m1x2"' if fmt == "mxfp4" else ""
    xs = "x".join(map(str, lead + (m, k)))
    ys = "x".join(map(str, lead + (m, n)))
    return f"""
func.func @f(%x: tensor<{xs}xf32> {{trnx.name = "x"}},
             %w: tensor<{k}x{wcols}x{welem}> {{trnx.name = "w"{wattr}}},
             %s: tensor<{k // 32}x{n}xi8> {{trnx.name = "ws", trnx.dtype = "e8m0"}})
    -> (tensor<{ys}xf32> {{trnx.name = "y"}}) {{
  %y = trn.mx_matmul %x, %w, %s {{format = "{fmt}"}} : tensor<{xs}xf32>, tensor<{k}x{wcols}x{welem}>, tensor<{k // 32}x{n}xi8> -> tensor<{ys}xf32>
  return %y : tensor<{ys}xf32>
}}
"""


def run_mx(chip, m, k, n, fmt, lead=(), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (m, k)).astype(np.float32)
    x[..., :32] *= 1e-3  # blocks of very different magnitude get different scales
    w = rng.standard_normal((k, n)) * 0.05
    data, scales = mx.quantize(w, fmt)
    program = trnx.compile(mx_program(m, k, n, fmt, lead), chip)
    r = trnx.simulate(program, inputs={"x": x, "w": data, "ws": scales}, mode="functional")
    ref = mx.quantize_values(x.reshape(-1, k), "mxfp8", axis=1) @ mx.dequantize(data, scales, fmt)
    return r.outputs["y"].reshape(-1, n), ref, x.reshape(-1, k) @ w


@pytest.mark.parametrize("chip,m,k,n,fmt", [
    ("trn3", 4, 256, 96, "mxfp4"),
    ("trn3", 1, 4096, 512, "mxfp4"),    # decode GEMV: K spread over many blocks and cores
    ("trn3", 130, 544, 200, "mxfp8"),   # ragged M and K tiles
    ("trn4", 64, 1024, 320, "mxfp4"),
])
def test_mx_matmul_matches_numpy_reference(chip, m, k, n, fmt):
    y, ref, exact = run_mx(chip, m, k, n, fmt)
    scale = np.abs(ref).max()
    # The chip sums exact products in fp32: only the accumulation order differs.
    assert np.abs(y - ref).max() <= 1e-5 * scale
    # And MX quantisation is what separates it from the full-precision product.
    assert np.abs(y - exact).max() > 1e-4 * scale


def test_mx_matmul_rank3_lhs():
    y, ref, _ = run_mx("trn3", 3, 128, 64, "mxfp4", lead=(2,))
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_reference_quantiser_rules():
    # One block: amax 6.0 -> e = floor(log2 6) - 2 = 0 -> code 127; values exact.
    w = np.zeros((32, 2))
    w[:8, 0] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    w[:, 1] = 0.0
    data, scales = mx.quantize(w, "mxfp4")
    assert scales.tolist() == [[127, 0]]  # all-zero block: code 0 (2^-127)
    assert np.array_equal(mx.dequantize(data, scales, "mxfp4"), w)
    # Saturation: amax 7.9 has e = 0 and rounds to 6 (OCP's rule clips the top).
    assert mx.quantize_values(np.full((32, 1), 7.9), "mxfp4").max() == 6.0
    # Round half to even at e4m3's precision (3 mantissa bits): 1.0625 -> 1.0, 1.1875 -> 1.25.
    x = np.zeros((32, 1))
    x[0], x[1], x[2] = 1.0625, 1.1875, 256.0
    q = mx.quantize_values(x, "mxfp8")
    assert q[0, 0] == 1.0 and q[1, 0] == 1.25 and q[2, 0] == 256.0


def test_mx_weights_refused_without_mx_matmul():
    with pytest.raises(trnx.TrnxError, match="need a chip with MX matmul; trn2 has none"):
        trnx.compile(mx_program(4, 256, 96, "mxfp4"), "trn2")


def test_mx_matmul_verifier_errors():
    bad = mx_program(4, 256, 96, "mxfp4").replace('format = "mxfp4"', 'format = "mxfp6"')
    with pytest.raises(trnx.TrnxError, match='format must be "mxfp8" or "mxfp4"'):
        trnx.compile(bad, "trn3")


def _layer_seconds(weight_dtype, chip="trn3", batch=1):
    from trnx.models import get_config
    from trnx.models.phases import ModelGraph
    graph = ModelGraph(get_config("llama3-8b"), "decode", batch, 2048, 1, "layers", weight_dtype)
    return trnx.simulate(trnx.compile(graph, chip), chip, mode="timing").report.seconds


def test_model_graph_declares_mx_storage():
    from trnx.models import get_config
    from trnx.models.phases import ModelGraph
    text = ModelGraph(get_config("llama3-8b"), "decode", 1, 2048, 1, "layers", "mxfp4").to_mlir()
    # q/k/v fused: [4096, 6144] as [4096, 3072] fp4 pairs + [128, 6144] scales.
    assert 'tensor<4096x3072xi8> {trnx.name = "l0.attn.qkv.w", trnx.role = "weight", trnx.dtype = "fp4e2m1x2"}' in text
    assert 'tensor<128x6144xi8> {trnx.name = "l0.attn.qkv.w.scale", trnx.role = "weight", trnx.dtype = "e8m0"}' in text
    assert text.count("trn.mx_matmul") == 5  # qkv, o, gate, up, down


def test_fewer_weight_bytes_make_decode_faster():
    # Memory-bound decode: MXFP4 (0.53 B/parameter) < MXFP8 (1.03) < bf16 (2); not yet
    # proportional (docs/roofline.md gives the shares of the limit).
    bf16, mxfp8, mxfp4 = (_layer_seconds(d) for d in ("bf16", "mxfp8", "mxfp4"))
    assert mxfp4 < mxfp8 < bf16
    assert mxfp4 < 0.75 * bf16


def test_workload_refuses_mx_on_a_chip_without_mx_matmul():
    import trnx.workloads as wl
    with pytest.raises(trnx.TrnxError, match="MXFP4 weights need a chip with MX matmul; trn2 has none"):
        wl.decode("llama3-8b", batch=1, context=2048, chip="trn2", weight_dtype="mxfp4")
