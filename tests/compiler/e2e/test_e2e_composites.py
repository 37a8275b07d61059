"""Softmax, LayerNorm, RMSNorm, GELU (erf and tanh forms), SiLU and SwiGLU,
written as the compositions exporters produce, in TOSA and in linalg form:
they are recognised (one trn op or activation) and match torch references."""
import numpy as np
import pytest
import torch

from e2e_support import (FP32_TOL, assert_close, compile_mlir, gelu_ref, layernorm_ref, rand, rmsnorm_ref,
                         silu_ref, softmax_ref)
from e2e_graph import Graph

FORMS = ["tosa", "linalg"]


def trn_ir(tools, tmp_path, text):
    src = tmp_path / "ir.mlir"
    src.write_text(text)
    return tools.run("trnx-compile", src, "--emit=trn", "--auto-cast", "none").stdout


def compile_and_run(tools, tmp_path, text, *inputs):
    return compile_mlir(tools, tmp_path, text).run(*inputs)


@pytest.mark.parametrize("shape", [(7, 130), (2, 3, 257), (1, 1000), (5, 1), (1000, 257)], ids=str)
@pytest.mark.parametrize("form", FORMS)
def test_softmax(tools, tmp_path, form, shape):
    g = Graph(form)
    x = g.arg(*shape)
    text = g.text(g.softmax(x))
    if shape[-1] > 1:  # over one element the reductions fold away
        assert "trn.softmax" in trn_ir(tools, tmp_path, text)
    xv = rand(np.random.default_rng(1), *shape, scale=3.0)
    (y,) = compile_and_run(tools, tmp_path, text, xv)
    assert_close(y, softmax_ref(xv), FP32_TOL)


@pytest.mark.parametrize("form", FORMS)
def test_softmax_over_a_middle_axis(tools, tmp_path, form):
    """Not the last axis: no trn.softmax, but the composition still computes softmax."""
    g = Graph(form)
    x = g.arg(4, 130, 3)
    text = g.text(g.softmax(x, axis=1))
    xv = rand(np.random.default_rng(2), 4, 130, 3, scale=3.0)
    (y,) = compile_and_run(tools, tmp_path, text, xv)
    assert_close(y, softmax_ref(xv, axis=1), FP32_TOL)


def test_linalg_softmax_op(tools, tmp_path):
    """linalg.softmax (the named aggregate op) over the last dimension."""
    text = """func.func @main(%x: tensor<7x257xf32>) -> tensor<7x257xf32> {
  %e = tensor.empty() : tensor<7x257xf32>
  %r = linalg.softmax dimension(1) ins(%x : tensor<7x257xf32>) outs(%e : tensor<7x257xf32>) -> tensor<7x257xf32>
  return %r : tensor<7x257xf32>
}
"""
    assert "trn.softmax" in trn_ir(tools, tmp_path, text)
    xv = rand(np.random.default_rng(3), 7, 257, scale=3.0)
    (y,) = compile_and_run(tools, tmp_path, text, xv)
    assert_close(y, softmax_ref(xv), FP32_TOL)


@pytest.mark.parametrize("affine", [False, True], ids=["plain", "affine"])
@pytest.mark.parametrize("shape", [(7, 130), (2, 5, 257), (3, 1000)], ids=str)
@pytest.mark.parametrize("form", FORMS)
def test_layernorm(tools, tmp_path, form, shape, affine):
    g = Graph(form)
    x = g.arg(*shape)
    d = shape[-1]
    gamma = g.arg(*((1,) * (len(shape) - 1)), d) if affine else None
    beta = g.arg(*((1,) * (len(shape) - 1)), d) if affine else None
    text = g.text(g.layernorm(x, gamma, beta, eps=1e-5))
    ir = trn_ir(tools, tmp_path, text)
    assert "trn.layernorm" in ir and "trn.reduce" not in ir, ir
    rng = np.random.default_rng(4)
    xv = rand(rng, *shape, scale=2.0) + 1.0
    inputs = [xv]
    gv = bv = None
    if affine:
        gv, bv = rand(rng, *gamma.shape), rand(rng, *beta.shape)
        inputs += [gv, bv]
    (y,) = compile_and_run(tools, tmp_path, text, *inputs)
    ref = layernorm_ref(xv, None if gv is None else gv.reshape(-1), None if bv is None else bv.reshape(-1))
    assert_close(y, ref, FP32_TOL)


@pytest.mark.parametrize("affine", [False, True], ids=["plain", "scaled"])
@pytest.mark.parametrize("shape", [(7, 130), (2, 5, 257)], ids=str)
@pytest.mark.parametrize("form", FORMS)
def test_rmsnorm(tools, tmp_path, form, shape, affine):
    g = Graph(form)
    x = g.arg(*shape)
    gamma = g.arg(*((1,) * (len(shape) - 1)), shape[-1]) if affine else None
    text = g.text(g.rmsnorm(x, gamma, eps=1e-6))
    ir = trn_ir(tools, tmp_path, text)
    assert "trn.rmsnorm" in ir and "trn.reduce" not in ir, ir
    rng = np.random.default_rng(5)
    xv = rand(rng, *shape, scale=2.0)
    inputs = [xv] + ([rand(rng, *gamma.shape)] if affine else [])
    (y,) = compile_and_run(tools, tmp_path, text, *inputs)
    assert_close(y, rmsnorm_ref(xv, inputs[1].reshape(-1) if affine else None), FP32_TOL)


ACTIVATIONS = {
    "gelu": (lambda g, x: g.gelu_erf(x), lambda x: gelu_ref(x), '"gelu"'),
    "gelu_tanh": (lambda g, x: g.gelu_tanh(x), lambda x: gelu_ref(x, "tanh"), '"gelu_tanh"'),
    "silu": (lambda g, x: g.silu(x), silu_ref, '"silu"'),
    "sigmoid": (lambda g, x: g.unary("sigmoid", x), lambda x: 1 / (1 + np.exp(-x.astype(np.float64))), None),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("form", FORMS)
def test_activation(tools, tmp_path, form, name):
    build, ref, act = ACTIVATIONS[name]
    g = Graph(form)
    x = g.arg(7, 257)
    text = g.text(build(g, x))
    if act:
        ir = trn_ir(tools, tmp_path, text)
        assert f"trn.act {act}" in ir, ir
    xv = rand(np.random.default_rng(6), 7, 257, scale=3.0)
    (y,) = compile_and_run(tools, tmp_path, text, xv)
    assert_close(y, ref(xv), FP32_TOL)


@pytest.mark.parametrize("form", FORMS)
def test_swiglu(tools, tmp_path, form):
    """silu(x @ Wg) * (x @ Wu): the activation lands in a matmul epilogue."""
    g = Graph(form)
    x, wg, wu = g.arg(7, 64), g.arg(64, 130), g.arg(64, 130)
    text = g.text(g.mul(g.silu(g.matmul(x, wg)), g.matmul(x, wu)))
    assert 'trn.act "silu"' in trn_ir(tools, tmp_path, text)
    rng = np.random.default_rng(7)
    xv, gv, uv = rand(rng, 7, 64), rand(rng, 64, 130, scale=0.2), rand(rng, 64, 130, scale=0.2)
    (y,) = compile_and_run(tools, tmp_path, text, xv, gv, uv)
    x64 = xv.astype(np.float64)
    assert_close(y, silu_ref(x64 @ gv) * (x64 @ uv), FP32_TOL)


@pytest.mark.parametrize("form", FORMS)
def test_log_softmax(tools, tmp_path, form):
    g = Graph(form)
    x = g.arg(7, 130)
    m = g.reduce("max", x, -1)
    s = g.sub(x, m)
    lse = g.unary("log", g.reduce("sum", g.exp(s), -1))
    text = g.text(g.sub(s, lse))
    assert "trn.softmax" in trn_ir(tools, tmp_path, text)
    xv = rand(np.random.default_rng(8), 7, 130, scale=3.0)
    (y,) = compile_and_run(tools, tmp_path, text, xv)
    assert_close(y, torch.log_softmax(torch.tensor(xv, dtype=torch.float64), -1).numpy(), FP32_TOL)


def _wide_row_graph(kind, shape):
    """The composite over rows too long for SBUF, and its float64 reference."""
    g = Graph("tosa")
    x = g.arg(*shape)
    d, lead = shape[-1], (1,) * (len(shape) - 1)
    if kind == "softmax":
        return g.text(g.softmax(x)), 0, lambda xv, *p: softmax_ref(xv)
    if kind == "log_softmax":
        m = g.reduce("max", x, -1)
        s = g.sub(x, m)
        text = g.text(g.sub(s, g.unary("log", g.reduce("sum", g.exp(s), -1))))
        return text, 0, lambda xv, *p: torch.log_softmax(torch.tensor(xv, dtype=torch.float64), -1).numpy()
    if kind == "layernorm":
        gamma, beta = g.arg(*lead, d), g.arg(*lead, d)
        return (g.text(g.layernorm(x, gamma, beta, eps=1e-5)), 2,
                lambda xv, gv, bv: layernorm_ref(xv, gv.reshape(-1), bv.reshape(-1)))
    gamma = g.arg(*lead, d)
    return g.text(g.rmsnorm(x, gamma, eps=1e-6)), 1, lambda xv, gv: rmsnorm_ref(xv, gv.reshape(-1))


@pytest.mark.parametrize("shape", [(3, 50000), (130, 9000)], ids=str)
@pytest.mark.parametrize("kind", ["softmax", "log_softmax", "layernorm", "rmsnorm"])
def test_rows_longer_than_sbuf_stream_in_chunks(tools, tmp_path, kind, shape):
    """An fp32 row of more than ~4,400 elements does not fit trn3's SBUF whole
    (x, output and temporaries per partition): the kernel streams it in
    chunks, one pass per statistic, and must still match the reference (a
    vocabulary-wide softmax, a wide LayerNorm)."""
    text, params, ref = _wide_row_graph(kind, shape)
    ir = trn_ir(tools, tmp_path, text)
    assert ("trn.softmax" if "softmax" in kind else f"trn.{kind}") in ir, ir
    rng = np.random.default_rng(9)
    xv = rand(rng, *shape, scale=3.0) + (1.0 if kind == "layernorm" else 0.0)
    extra = [rand(rng, 1, shape[-1]) for _ in range(params)]
    (y,) = compile_and_run(tools, tmp_path, text, xv, *extra)
    assert_close(y, ref(xv, *extra), FP32_TOL)


@pytest.mark.parametrize("form", FORMS)
def test_rmsnorm_of_a_product(tools, tmp_path, form):
    """RMSNorm whose input is itself a product (gate * up): still one trn.rmsnorm."""
    g = Graph(form)
    a, b, gamma = g.arg(7, 130), g.arg(7, 130), g.arg(1, 130)
    text = g.text(g.rmsnorm(g.mul(a, b), gamma, eps=1e-6))
    assert "trn.rmsnorm" in trn_ir(tools, tmp_path, text)
    rng = np.random.default_rng(19)
    av, bv, gv = rand(rng, 7, 130, scale=2.0), rand(rng, 7, 130), rand(rng, 1, 130)
    (y,) = compile_and_run(tools, tmp_path, text, av, bv, gv)
    assert_close(y, rmsnorm_ref(av.astype(np.float64) * bv, gv.reshape(-1)), FP32_TOL)


@pytest.mark.parametrize("form", FORMS)
def test_gelu_tanh_after_bias_add_is_one_activation(tools, tmp_path, form):
    """GPT-2's MLP: gelu_tanh(x @ W + b) becomes one ACT gelu_tanh in the matmul epilogue."""
    g = Graph(form)
    x, w, b = g.arg(7, 64), g.arg(64, 130), g.arg(1, 130)
    text = g.text(g.gelu_tanh(g.add(g.matmul(x, w), b)))
    assert 'trn.act "gelu_tanh"' in trn_ir(tools, tmp_path, text)
    rng = np.random.default_rng(20)
    xv, wv, bv = rand(rng, 7, 64), rand(rng, 64, 130, scale=0.2), rand(rng, 1, 130)
    (y,) = compile_and_run(tools, tmp_path, text, xv, wv, bv)
    assert_close(y, gelu_ref(xv.astype(np.float64) @ wv + bv, "tanh"), FP32_TOL)
