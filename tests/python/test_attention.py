"""Fused attention (trn.attention) end to end: GraphBuilder.attention compiled
and run on the chip's functional model against a numpy reference that rounds
the operands to bf16 as the PE reads them; the model's prefill uses it."""
import math

import numpy as np
import pytest

import trnx
from trnx import models
from trnx.models.graph import GraphBuilder


def bf16(x):
    """Round-to-nearest-even to bf16, back in fp32."""
    b = np.asarray(x, np.float32).view(np.uint32)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def reference(q, kt, v, scale, causal, group, offset):
    b, rows, dh = q.shape
    s = rows // group
    scores = np.einsum("brd,bdt->brt", bf16(q).astype(np.float64), bf16(kt).astype(np.float64)) * scale
    if causal:
        pos = np.arange(rows) % s
        scores = np.where(np.arange(kt.shape[2])[None, :] <= pos[:, None] + offset, scores, -np.inf)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ bf16(v).astype(np.float64)


@pytest.mark.parametrize("b,group,s,t,dh,causal,offset", [
    (2, 1, 256, 256, 128, True, 0),
    (1, 4, 200, 200, 64, True, 0),     # GQA, ragged query and key tiles
    (2, 2, 96, 700, 64, False, 0),     # keys beyond one tile, ragged
    (1, 1, 130, 900, 128, True, 770),  # queries after a cached prefix
])
def test_attention_matches_numpy(b, group, s, t, dh, causal, offset):
    rng = np.random.default_rng(0)
    q = (2 * rng.standard_normal((b, group * s, dh))).astype(np.float32)
    kt = rng.standard_normal((b, dh, t)).astype(np.float32)
    v = rng.standard_normal((b, t, dh)).astype(np.float32)
    g = GraphBuilder()
    out = g.attention(g.input("q", q.shape), g.input("k", kt.shape), g.input("v", v.shape), 1 / math.sqrt(dh),
                      causal=causal, group=group, query_offset=offset, dtype="bf16")
    g.output(g.cast(out, "f32"), "o")
    assert "trn.attention" in g.to_mlir()
    r = trnx.simulate(trnx.compile(g.to_mlir(), "trn3"), inputs={"q": q, "k": kt, "v": v}, mode="functional")
    ref = reference(q, kt, v, 1 / math.sqrt(dh), causal, group, offset)
    # P is rounded to bf16 for the P V product and the output to bf16.
    assert np.abs(r.outputs["o"] - ref).max() <= 2e-2 * np.abs(ref).max()


def test_attention_counts_visible_pairs_and_checks_shapes():
    g = GraphBuilder()
    q, kt, v = g.input("q", (1, 8, 16)), g.input("k", (1, 16, 8)), g.input("v", (1, 8, 16))
    g.attention(q, kt, v, 0.25, causal=True)
    assert g.matmul_flops == 4 * 16 * (8 * 9 // 2)  # query s sees s + 1 keys
    with pytest.raises(ValueError, match="do not agree"):
        g.attention(q, g.input("k2", (1, 8, 8)), v, 0.25)
    with pytest.raises(ValueError, match="group 3"):
        g.attention(q, kt, v, 0.25, group=3)


def test_prefill_uses_the_fused_kernel_and_training_keeps_probabilities():
    prefill = models.prefill("tiny", batch=1, seq=256, layers=1, part="layers").builder()
    text = prefill.to_mlir()
    assert text.count("trn.attention") == 1 and "causal = true" in text
    assert all(a.label != "causal_mask" for a in prefill.arguments)
    train = models.training_step("tiny", batch=1, seq=64, layers=1, part="layers").builder()
    assert "trn.attention" not in train.to_mlir()
    assert any(a.label == "causal_mask" for a in train.arguments)
