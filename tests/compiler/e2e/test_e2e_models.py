"""Composed graphs, each written once (graph.py) and emitted as TOSA and as
linalg-on-tensors: an MLP, an attention block, a LayerNorm block, an RMSNorm +
SwiGLU FFN, and an embedding + 2 decoder layers model (vocab 100, d 64, 4
heads, ffn 128, seq 16). fp32 end to end within 1e-4 of a float64
reference; the default auto-cast (bf16 matmul operands) within 3e-2."""
import numpy as np
import pytest

from e2e_support import BF16_TOL, FP32_TOL, assert_close, compile_mlir
import e2e_graph as graph

SEQ, D, FFN, VOCAB, HEADS = 16, 64, 128, 100, 4


def weights(rng, *shape, fan_in=None):
    fan_in = fan_in or shape[0]
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def params(model, seed=0):
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((SEQ, D)).astype(np.float32)}
    if model == "mlp":
        p |= {"w1": weights(rng, D, FFN), "b1": weights(rng, 1, FFN, fan_in=4), "w2": weights(rng, FFN, D),
              "b2": weights(rng, 1, D, fan_in=4)}
    elif model == "attention_block":
        p |= {k: weights(rng, D, D) for k in ("wq", "wk", "wv", "wo")}
    elif model == "layernorm_block":
        p |= {"w1": weights(rng, D, FFN), "b1": weights(rng, 1, FFN, fan_in=4), "w2": weights(rng, FFN, D),
              "b2": weights(rng, 1, D, fan_in=4), "gamma": 1 + 0.1 * weights(rng, 1, D, fan_in=1),
              "beta": 0.1 * weights(rng, 1, D, fan_in=1)}
    elif model == "rmsnorm_swiglu":
        p |= {"norm": 1 + 0.1 * weights(rng, 1, D, fan_in=1), "wg": weights(rng, D, FFN), "wu": weights(rng, D, FFN),
              "wd": weights(rng, FFN, D)}
    elif model == "decoder":
        del p["x"]
        p["ids"] = rng.integers(0, VOCAB, SEQ).astype(np.int32)
        p["embed"] = rng.standard_normal((VOCAB, D)).astype(np.float32)
        causal = np.triu(np.full((SEQ, SEQ), -1e9, np.float32), 1)
        p["mask"] = causal[None]
        for layer in range(2):
            pre = f"l{layer}_"
            p |= {pre + "attn_norm": 1 + 0.1 * weights(rng, 1, D, fan_in=1),
                  pre + "norm": 1 + 0.1 * weights(rng, 1, D, fan_in=1)}
            p |= {pre + k: weights(rng, D, D) for k in ("wq", "wk", "wv", "wo")}
            p |= {pre + "wg": weights(rng, D, FFN), pre + "wu": weights(rng, D, FFN), pre + "wd": weights(rng, FFN, D)}
        p["final_norm"] = 1 + 0.1 * weights(rng, 1, D, fan_in=1)
        p["lm_head"] = weights(rng, D, VOCAB)
    return p


MODELS = ["mlp", "attention_block", "layernorm_block", "rmsnorm_swiglu", "decoder"]


@pytest.mark.parametrize("auto_cast", ["none", "matmul"])
@pytest.mark.parametrize("form", ["tosa", "linalg"])
@pytest.mark.parametrize("model", MODELS)
def test_model(tools, tmp_path, model, form, auto_cast):
    p = params(model)
    build = getattr(graph, model)
    g = graph.Graph(form)
    text = g.text(build(g, p))
    ref = build(graph.Reference(), p)
    (y,) = compile_mlir(tools, tmp_path, text, auto_cast=auto_cast).run(*g.inputs)
    assert_close(y, ref, FP32_TOL if auto_cast == "none" else BF16_TOL)


@pytest.mark.parametrize("form", ["tosa", "linalg"])
def test_mlp_with_constant_weights(tools, tmp_path, form):
    """Weights as dense constants (how exporters write them) become weight tensors of the program."""
    p = params("mlp", seed=1)
    g = graph.Graph(form, weights="const")
    text = g.text(graph.mlp(g, p))
    model = compile_mlir(tools, tmp_path, text)
    assert model.header().count(" weight ") >= 4
    (y,) = model.run(*g.inputs)
    assert_close(y, graph.mlp(graph.Reference(), p), FP32_TOL)


def test_attention_recognises_softmax_and_fuses_the_scale(tools, tmp_path):
    """The attention block's softmax is one trn.softmax and the 1/sqrt(d) scale is a matmul epilogue."""
    p = params("attention_block")
    g = graph.Graph("tosa")
    text = g.text(graph.attention_block(g, p))
    src = tmp_path / "a.mlir"
    src.write_text(text)
    ir = tools.run("trnx-compile", src, "--emit=trn").stdout
    assert ir.count("trn.softmax") == 1
    assert "trn.ewise" not in ir, ir
