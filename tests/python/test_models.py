"""trnx.models: configs match their published sizes, graphs are shape-only MLIR that compiles
(every phase, dense and MoE), and bad input raises clear errors. One forward graph is checked
numerically against numpy with real weights fed as inputs."""
import math
import subprocess
import sys

import numpy as np
import pytest

import trnx
from trnx import models
from trnx.models.graph import GraphBuilder


@pytest.mark.parametrize("name,billions", [("llama3-8b", 8.03), ("llama3-70b", 70.55), ("mixtral-8x7b", 46.70),
                                           ("gpt-oss-120b", 116.8), ("gpt3-175b", 174.6), ("gpt2-xl", 1.56)])
def test_configs_have_their_published_parameter_counts(name, billions):
    cfg = models.get_config(name)
    assert cfg.parameters() / 1e9 == pytest.approx(billions, rel=0.01)
    assert cfg.sources


def test_moe_active_parameters_and_routing():
    assert models.MIXTRAL_8X7B.active_parameters() / 1e9 == pytest.approx(12.9, rel=0.01)
    assert models.routing(tokens=1, experts=8, top_k=2) == (2, 1)       # batch-1 decode reads 2 experts
    assert models.routing(tokens=64, experts=8, top_k=2) == (8, 16)     # balanced: 64*2/8 per expert
    assert models.routing(tokens=3, experts=8, top_k=2) == (6, 1)


@pytest.mark.parametrize("phase", ["prefill", "decode", "train"])
@pytest.mark.parametrize("model", ["tiny", "tiny-moe", "gpt2-xl"])
def test_every_phase_compiles_and_simulates(model, phase):
    if phase == "train" and model == "tiny-moe":
        with pytest.raises(NotImplementedError, match="MoE"):
            models.training_step(model, batch=1, seq=64)
        return
    build = {"prefill": models.prefill, "decode": models.decode, "train": models.training_step}[phase]
    graph = build(model, 2, 64, layers=1)
    text = graph.to_mlir()
    assert 'trnx.role = "weight"' in text
    program = trnx.compile(graph)
    assert not program.tensors["has_data"].any()
    report = trnx.simulate(program, mode="timing", attribute_ops=False).report
    assert report.seconds > 0
    assert report.flops >= 0.5 * graph.summary()["matmul_flops"]  # the matmuls are all there


def test_summary_counts_parameters_and_flops():
    graph = models.decode("llama3-8b", batch=1, context=2048)
    s = graph.summary()
    assert s["parameters"] == models.LLAMA3_8B.parameters()
    # A decode step is ~2 FLOPs per parameter touched, plus attention over the cache.
    assert 2 * 8.0e9 < s["matmul_flops"] < 2 * 8.1e9 + 2 * 2 * 32 * 32 * 128 * 2048
    assert graph.parameter_bytes("bf16") == 2 * s["parameters"]
    assert s["weight_bytes"] == pytest.approx(2 * s["parameters"], rel=1e-3)
    assert graph.parameter_bytes("mxfp4") < graph.parameter_bytes("fp8") < graph.parameter_bytes("bf16")


def test_parts_split_the_model():
    full = models.decode("tiny", 1, 64)
    layers = models.decode("tiny", 1, 64, part="layers")
    head = models.decode("tiny", 1, 64, part="head")
    assert layers.parameter_count() + head.parameter_count() == full.parameter_count()
    assert layers.summary()["matmul_flops"] + head.summary()["matmul_flops"] == full.summary()["matmul_flops"]


def test_large_vocabularies_use_one_embedding_table_and_compile():
    """Llama-3's 128256-token table is one weight; the compiler gathers it in blocks."""
    graph = models.decode("llama3-8b", 1, 128, part="head")
    text = graph.to_mlir()
    assert 'trnx.name = "embed.table"' in text and "tensor<128256x4096xbf16>" in text
    assert "embed.table.1" not in text
    program = trnx.compile(graph, target="trn3")
    assert "token_ids" in program.input_shapes()


@pytest.mark.parametrize("call,match", [
    (lambda: models.decode("llama9"), "unknown model 'llama9'"),
    (lambda: models.decode("tiny", batch=0), "batch must be a positive integer"),
    (lambda: models.prefill("tiny", seq=-4), "seq must be a positive integer"),
    (lambda: models.decode("tiny", layers=5), "tiny has 2 layers, not 5"),
    (lambda: models.decode("tiny", weight_dtype="int3"), "unsupported dtype 'int3'"),
    (lambda: models.decode("tiny", part="middle"), "part must be one of"),
    (lambda: models.LLAMA3_8B.replace(kv_heads=5), "multiple of kv_heads"),
    (lambda: models.decode("tiny").parameter_bytes("fp5"), "unknown parameter dtype"),
])
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises((ValueError, KeyError)) as info:
        call()
    assert match in str(info.value)


def test_builder_checks_shapes():
    g = GraphBuilder()
    a, b = g.input("a", (4, 8)), g.input("b", (5, 8))
    with pytest.raises(ValueError, match="do not contract"):
        g.matmul(a, b)
    with pytest.raises(ValueError, match="do not broadcast"):
        g.add(a, b)
    with pytest.raises(ValueError, match="declared twice"):
        g.input("a", (1,))
    with pytest.raises(ValueError, match="has no outputs"):
        g.to_mlir()


def test_cli_emits_mlir_and_reports_errors(tmp_path):
    out = tmp_path / "layer.mlir"
    cmd = [sys.executable, "-m", "trnx.models"]
    done = subprocess.run(cmd + ["emit", "tiny", "--phase", "decode", "--batch", "1", "--context", "64",
                                 "--layers", "1", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == models.decode("tiny", 1, 64, layers=1).to_mlir()
    bad = subprocess.run(cmd + ["emit", "nope"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("error: unknown model 'nope'")
    bad = subprocess.run(cmd + ["emit", "tiny", "--phase", "decode", "--seq", "4"], capture_output=True, text=True)
    assert bad.returncode == 1 and "takes --context" in bad.stderr
    listed = subprocess.run(cmd + ["list"], capture_output=True, text=True)
    assert "llama3-8b" in listed.stdout and "mixtral-8x7b" in listed.stdout


def layer_inputs(graph, rng, positions):
    """Random weights (fed as inputs), a causal mask and RoPE tables for ``graph``'s arguments."""
    cfg = graph.config
    feeds = {}
    for arg in graph.builder().arguments:
        shape = arg.value.shape
        if arg.label == "causal_mask":
            feeds[arg.label] = np.triu(np.full(shape[1:], -1e9, np.float32), 1)[None]
        elif arg.label.endswith(".gain"):
            feeds[arg.label] = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif arg.value.dtype == "f32" or arg.role == "weight":
            fan_in = shape[0] if arg.label.endswith(".w") else 1
            feeds[arg.label] = (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)
    inv = 10000 ** (-np.arange(0, cfg.head_dim, 2) / cfg.head_dim)
    angles = np.asarray(positions, np.float64)[:, None] * inv[None]
    angles = np.concatenate([angles, angles], -1)
    shape = feeds["rope_cos"].shape
    feeds["rope_cos"] = np.cos(angles).reshape(shape).astype(np.float32)
    feeds["rope_sin"] = np.sin(angles).reshape(shape).astype(np.float32)
    return feeds


def run_with_weights_as_inputs(graph, feeds):
    text = graph.to_mlir().replace(', trnx.role = "weight"', "")  # weights become inputs
    return trnx.simulate(trnx.compile(text, auto_cast="none"), inputs=feeds, mode="functional").outputs


def test_prefill_layer_numerics_match_numpy():
    """A tiny prefill layer in fp32: hidden states and the K/V cache it writes."""
    cfg = models.TINY
    graph = models.prefill(cfg, batch=1, seq=16, layers=1, part="layers", weight_dtype="fp32")
    feeds = layer_inputs(graph, np.random.default_rng(0), np.arange(16))
    out = run_with_weights_as_inputs(graph, feeds)
    ref, k, v = numpy_layer(cfg, {k: v.astype(np.float64) for k, v in feeds.items()})
    assert np.abs(out["hidden_out"] - ref).max() <= 1e-3 * np.abs(ref).max()
    # the cache layouts decode reads: K [B, KV, Dh, S], V [B, KV, S, Dh] (bf16)
    assert np.abs(out["l0.attn.k_cache"][0] - k.transpose(0, 2, 1)).max() <= 1e-2 * np.abs(k).max()
    assert np.abs(out["l0.attn.v_cache"][0] - v).max() <= 1e-2 * np.abs(v).max()


def test_decode_step_numerics_match_numpy():
    """Two sequences, each one new token over a 32-position cache: the KV cache layout and GQA."""
    cfg = models.TINY
    batch, context = 2, 32
    graph = models.decode(cfg, batch=batch, context=context, layers=1, part="layers", weight_dtype="fp32")
    rng = np.random.default_rng(1)
    feeds = layer_inputs(graph, rng, [context, context + 5])
    k_cache = rng.standard_normal((batch, cfg.kv_heads, cfg.head_dim, context)).astype(np.float32)
    v_cache = rng.standard_normal((batch, cfg.kv_heads, context, cfg.head_dim)).astype(np.float32)
    feeds["l0.attn.k_cache"], feeds["l0.attn.v_cache"] = k_cache, v_cache
    out = run_with_weights_as_inputs(graph, feeds)
    f = {k: v.astype(np.float64) for k, v in feeds.items()}
    kc, vc = bf16_round(k_cache), bf16_round(v_cache)  # the cache is bf16 in the graph
    for b in range(batch):
        one = {k: (v[b:b + 1] if k in ("hidden_in", "rope_cos", "rope_sin") else v) for k, v in f.items()}
        one["rope_cos"], one["rope_sin"] = one["rope_cos"][0], one["rope_sin"][0]
        ref, k_new, v_new = numpy_layer(cfg, one, cache=(kc[b].transpose(0, 2, 1), vc[b]))
        got = out["hidden_out"][b:b + 1]
        assert np.abs(got - ref).max() <= 2e-2 * np.abs(ref).max(), b
        assert np.abs(out["l0.attn.k_new"][b] - k_new.reshape(-1)).max() <= 1e-2 * np.abs(k_new).max()


def test_decode_step_with_an_fp8_kv_cache_matches_numpy():
    """kv_dtype="fp8e4m3": the cache is stored in fp8, read as fp8 bytes and dequantised to bf16 on chip."""
    cfg = models.TINY
    batch, context = 2, 32
    graph = models.decode(cfg, batch=batch, context=context, layers=1, part="layers", weight_dtype="fp32",
                          kv_dtype="fp8e4m3")
    assert "xf8E4M3FN>" in graph.to_mlir()
    rng = np.random.default_rng(2)
    feeds = layer_inputs(graph, rng, [context, context + 3])
    k_cache = rng.standard_normal((batch, cfg.kv_heads, cfg.head_dim, context)).astype(np.float32)
    v_cache = rng.standard_normal((batch, cfg.kv_heads, context, cfg.head_dim)).astype(np.float32)
    feeds["l0.attn.k_cache"], feeds["l0.attn.v_cache"] = k_cache, v_cache
    out = run_with_weights_as_inputs(graph, feeds)
    f = {k: v.astype(np.float64) for k, v in feeds.items()}
    kc, vc = fp8e4m3_round(k_cache), fp8e4m3_round(v_cache)
    for b in range(batch):
        one = {k: (v[b:b + 1] if k in ("hidden_in", "rope_cos", "rope_sin") else v) for k, v in f.items()}
        one["rope_cos"], one["rope_sin"] = one["rope_cos"][0], one["rope_sin"][0]
        ref, _, _ = numpy_layer(cfg, one, cache=(kc[b].transpose(0, 2, 1), vc[b]))
        assert np.abs(out["hidden_out"][b:b + 1] - ref).max() <= 2e-2 * np.abs(ref).max(), b
    # the same cache in bf16 gives a different answer: the fp8 rounding is really applied
    ref16, _, _ = numpy_layer(cfg, {**one}, cache=(bf16_round(k_cache[1]).transpose(0, 2, 1), bf16_round(v_cache[1])))
    assert np.abs(ref16 - ref).max() > 1e-3 * np.abs(ref).max()


def test_fp8_kv_cache_halves_the_cache_bytes():
    cfg = models.get_config("llama3-8b")
    bf16 = trnx.workloads.memory_required(models.decode(cfg, batch=8, context=4096, kv_dtype="bf16"))
    fp8 = trnx.workloads.memory_required(models.decode(cfg, batch=8, context=4096, kv_dtype="fp8e4m3"))
    assert fp8["kv_cache"] * 2 == bf16["kv_cache"]
    with pytest.raises(ValueError, match="kv_dtype must be one of"):
        models.decode(cfg, batch=1, context=16, kv_dtype="int4")


def fp8e4m3_round(a):
    """fp32 -> fp8 e4m3 (OCP E4M3FN: bias 7, 3 mantissa bits, max 448; round to nearest even) -> float64."""
    x = np.asarray(a, np.float64)
    _, e = np.frexp(x)
    quantum = np.exp2(np.maximum(e - 4, -9))  # 3 mantissa bits; subnormals step 2^-9
    return np.clip(np.round(x / quantum) * quantum, -448, 448)


def bf16_round(a):
    """fp32 -> bf16 (round to nearest even) -> float64."""
    bits = np.asarray(a, np.float32).view(np.uint32)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32).astype(np.float64)


def numpy_layer(cfg, f, cache=None):
    """The same Llama layer in float64 numpy: (output, K, V) with K/V as [KV, S, Dh].

    With ``cache`` = (K [KV, C, Dh], V [KV, C, Dh]) the tokens attend over the
    cache only (decode); otherwise causally over themselves (prefill).
    """
    x = f["hidden_in"]
    s, dh, kvh, grp = x.shape[0], cfg.head_dim, cfg.kv_heads, cfg.heads // cfg.kv_heads

    def rms(v, gain):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + 1e-5) * gain

    def rope(v):  # v [heads, S, Dh]
        half = dh // 2
        rot = np.concatenate([-v[..., half:], v[..., :half]], -1)
        return v * f["rope_cos"] + rot * f["rope_sin"]

    h = rms(x, f["l0.attn_norm.gain"])
    if "l0.attn.qkv.w" in f:  # decode's fused projection: q, k, v columns
        qkv = f["l0.attn.qkv.w"]
        wq, wk, wv = np.split(qkv, [cfg.q_width, cfg.q_width + cfg.kv_width], axis=1)
    else:
        wq, wk, wv = f["l0.attn.q.w"], f["l0.attn.k.w"], f["l0.attn.v.w"]
    q = rope((h @ wq).reshape(s, cfg.heads, dh).transpose(1, 0, 2))
    k = rope((h @ wk).reshape(s, kvh, dh).transpose(1, 0, 2))
    v = (h @ wv).reshape(s, kvh, dh).transpose(1, 0, 2)
    keys, values = cache if cache is not None else (k, v)
    keys, values = np.repeat(keys, grp, 0), np.repeat(values, grp, 0)
    scores = q @ keys.transpose(0, 2, 1) / math.sqrt(dh)
    if cache is None:  # causal (prefill masks on chip; training feeds the mask)
        scores = scores + np.triu(np.full(scores.shape[-2:], -1e9, np.float32), 1)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    ctx = (e / e.sum(-1, keepdims=True)) @ values
    x1 = x + ctx.transpose(1, 0, 2).reshape(s, -1) @ f["l0.attn.o.w"]
    h2 = rms(x1, f["l0.ffn_norm.gain"])
    gate = h2 @ f["l0.ffn.gate.w"]
    act = gate / (1 + np.exp(-gate)) * (h2 @ f["l0.ffn.up.w"])
    return x1 + act @ f["l0.ffn.down.w"], k, v
