"""Decoder layers written with :class:`~trnx.models.graph.GraphBuilder`.

Layouts (``B`` batch, ``S`` sequence, ``T`` tokens = B x S, ``C`` cached
context, ``H``/``KV`` query/key-value heads, ``G`` = H / KV, ``Dh`` head dim):

* the residual stream is ``[T, hidden]`` fp32; weights are ``[in, out]``
  (bf16 by default) so a linear layer is one matmul;
* the K cache is stored transposed, ``[B, KV, Dh, C]``, and the V cache as
  ``[B, KV, C, Dh]``, so decode attention needs no transpose: grouped query
  heads of one KV head form the rows of one batched matmul,
  ``[B*KV, G, Dh] @ [B*KV, Dh, C]``;
* decode attends over the ``C`` cached positions; the new token's K and V are
  graph outputs that the runtime writes into the cache (an in-place update,
  not a concatenation of the whole cache);
* RoPE (rotate-half form) takes ``cos``/``sin`` tables as inputs; GPT-class
  models (LayerNorm + GELU) have no RoPE here and their learned position
  table is left out (an add of a small table).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional

from .config import ModelConfig
from .graph import GraphBuilder, Value, dense_dtype, mlir_dtype


@dataclass
class Shared:
    """Inputs every layer reads: RoPE tables and the causal mask (training's unfused attention)."""

    cos: Optional[Value] = None
    sin: Optional[Value] = None
    mask: Optional[Value] = None


@dataclass
class Saved:
    """Forward activations a layer's backward pass reads (training step)."""

    values: Dict[str, Value] = field(default_factory=dict)


# Widest row given to the compiler's fused norm patterns whole; wider rows
# (Llama-3-70B's 8192) are written in column chunks. Written when the fused
# RMSNorm kept a whole row in SBUF; the compiler now streams long rows
# (RowKernel.cpp), and the builder keeps the chunked graph.
NORM_MAX_ROW = 4096


def _row_mean(g: GraphBuilder, x: Value) -> Value:
    """Mean over the last axis; wide rows are summed in column chunks of NORM_MAX_ROW."""
    n = x.shape[-1]
    if n <= NORM_MAX_ROW:
        return g.mean(x, -1)
    lead = list(x.shape[:-1])
    sums = [g.reduce("sum", g.slice(x, [0] * len(lead) + [c], lead + [min(NORM_MAX_ROW, n - c)]), -1)
            for c in range(0, n, NORM_MAX_ROW)]
    return g.muls(g.reduce("sum", g.concat(sums, -1), -1), 1.0 / n)


def norm(g: GraphBuilder, cfg: ModelConfig, x: Value, prefix: str, eps: float = 1e-5) -> Value:
    """RMSNorm or LayerNorm over the last axis with a gain (and bias for LayerNorm)."""
    d = x.shape[-1]
    gain = g.weight(prefix + ".gain", (1, d), "f32")
    if cfg.norm == "rmsnorm":
        ms = _row_mean(g, g.mul(x, x))
        return g.mul(g.mul(x, g.unary("rsqrt", g.adds(ms, eps))), gain)
    centred = g.sub(x, _row_mean(g, x))
    var = _row_mean(g, g.mul(centred, centred))
    y = g.mul(g.mul(centred, g.unary("rsqrt", g.adds(var, eps))), gain)
    return g.add(y, g.weight(prefix + ".bias", (1, d), "f32"))


def linear(g: GraphBuilder, cfg: ModelConfig, x: Value, prefix: str, out: int, dtype: str) -> Value:
    """``x @ W`` (+ bias for GPT-class models); W is ``[in, out]``."""
    y = g.linear(x, prefix + ".w", (x.shape[-1], out), dtype)
    if cfg.ffn_kind == "gelu":
        y = g.add(y, g.weight(prefix + ".b", (1, out), "f32"))
    return y


def silu(g: GraphBuilder, x: Value) -> Value:
    """``x * sigmoid(x)``."""
    return g.mul(x, g.unary("sigmoid", x))


def gelu_tanh(g: GraphBuilder, x: Value) -> Value:
    """GELU in the tanh form GPT-2 uses."""
    x3 = g.mul(g.mul(x, x), x)
    inner = g.muls(g.add(x, g.muls(x3, 0.044715)), math.sqrt(2 / math.pi))
    return g.mul(g.muls(x, 0.5), g.adds(g.unary("tanh", inner), 1.0))


def softmax(g: GraphBuilder, x: Value) -> Value:
    """Softmax over the last axis (max-subtracted), as exporters write it."""
    e = g.unary("exp", g.sub(x, g.reduce("max", x, -1)))
    return g.mul(e, g.unary("reciprocal", g.reduce("sum", e, -1)))


# Widest row the softmax pattern is given whole; wider rows (vocab-wide
# logits) are written in column chunks. Written when the fused softmax kept a
# whole row in SBUF; the compiler now streams long rows (RowKernel.cpp).
SOFTMAX_MAX_ROW = 8192


def softmax_wide(g: GraphBuilder, x: Value, chunk: int = SOFTMAX_MAX_ROW) -> Value:
    """Softmax over a long last axis, in column chunks: per-chunk max, global max, exp, global sum."""
    n = x.shape[-1]
    if n <= chunk:
        return softmax(g, x)
    lead = list(x.shape[:-1])
    pieces = [g.slice(x, [0] * len(lead) + [c], lead + [min(chunk, n - c)]) for c in range(0, n, chunk)]
    top = g.reduce("max", g.concat([g.reduce("max", p, -1) for p in pieces], -1), -1)
    exps = [g.unary("exp", g.sub(p, top)) for p in pieces]
    total = g.reduce("sum", g.concat([g.reduce("sum", e, -1) for e in exps], -1), -1)
    inv = g.unary("reciprocal", total)
    return g.concat([g.mul(e, inv) for e in exps], -1)


def rope(g: GraphBuilder, x: Value, cos: Value, sin: Value) -> Value:
    """Rotary embedding, rotate-half form: ``x*cos + concat(-x2, x1)*sin`` on the last axis."""
    half = x.shape[-1] // 2
    lead = [0] * (len(x.shape) - 1)
    x1 = g.slice(x, lead + [0], list(x.shape[:-1]) + [half])
    x2 = g.slice(x, lead + [half], list(x.shape[:-1]) + [half])
    rotated = g.concat([g.unary("negate", x2), x1], -1)
    return g.add(g.mul(x, cos), g.mul(rotated, sin))


def ffn(g: GraphBuilder, cfg: ModelConfig, h: Value, prefix: str, dtype: str, saved: Optional[Saved] = None) -> Value:
    """The dense FFN: SwiGLU (gate, up, down) or GELU MLP (up, down with biases)."""
    if cfg.ffn_kind == "swiglu":
        gate = g.linear(h, prefix + ".gate.w", (cfg.hidden, cfg.ffn), dtype)
        up = g.linear(h, prefix + ".up.w", (cfg.hidden, cfg.ffn), dtype)
        act = g.mul(silu(g, gate), up)
        if saved is not None:
            saved.values.update(gate=gate, up=up, act=act)
        return g.linear(act, prefix + ".down.w", (cfg.ffn, cfg.hidden), dtype)
    pre = linear(g, cfg, h, prefix + ".up", cfg.ffn, dtype)
    act = gelu_tanh(g, pre)
    if saved is not None:
        saved.values.update(gate=pre, act=act)
    return linear(g, cfg, act, prefix + ".down", cfg.hidden, dtype)


def attention_decode(g: GraphBuilder, cfg: ModelConfig, h: Value, prefix: str, batch: int, context: int,
                     shared: Shared, dtype: str, cache_dtype: str) -> Value:
    """One new token per sequence attends over ``context`` cached positions (GQA)."""
    kvh, dh, grp = cfg.kv_heads, cfg.head_dim, cfg.heads // cfg.kv_heads
    # One fused q/k/v projection (as serving stacks store it): a GEMV streams
    # its weights at the HBM rate only when it is long enough to hide its start.
    qkv = linear(g, cfg, h, prefix + ".qkv", cfg.q_width + 2 * cfg.kv_width, dtype)
    q = g.slice(qkv, [0, 0], [batch, cfg.q_width])
    k = g.slice(qkv, [0, cfg.q_width], [batch, cfg.kv_width])
    v = g.slice(qkv, [0, cfg.q_width + cfg.kv_width], [batch, cfg.kv_width])
    if shared.cos is not None:
        q = g.reshape(rope(g, g.reshape(q, (batch, cfg.heads, dh)), shared.cos, shared.sin), (batch, cfg.q_width))
        k = g.reshape(rope(g, g.reshape(k, (batch, kvh, dh)), shared.cos, shared.sin), (batch, cfg.kv_width))
    g.output(g.cast(k, cache_dtype), prefix + ".k_new")
    g.output(g.cast(v, cache_dtype), prefix + ".v_new")
    k_cache = g.input(prefix + ".k_cache", (batch, kvh, dh, context), cache_dtype)
    v_cache = g.input(prefix + ".v_cache", (batch, kvh, context, dh), cache_dtype)
    qg = g.reshape(q, (batch * kvh, grp, dh))
    kc, vc = g.reshape(k_cache, (batch * kvh, dh, context)), g.reshape(v_cache, (batch * kvh, context, dh))
    if kc.dtype == mlir_dtype("fp8e4m3"):
        # An fp8 cache is dequantised to bf16 for attention; the compiler reads
        # the fp8 bytes and converts on chip (trn-fuse-elementwise).
        kc, vc = g.cast(kc, "bf16"), g.cast(vc, "bf16")
    scores = g.muls(g.matmul(qg, kc), 1 / math.sqrt(dh))
    probs = softmax(g, scores)
    ctx = g.matmul(probs, vc)
    return linear(g, cfg, g.reshape(ctx, (batch, cfg.q_width)), prefix + ".o", cfg.hidden, dtype)


def attention_prefill(g: GraphBuilder, cfg: ModelConfig, h: Value, prefix: str, batch: int, seq: int,
                      shared: Shared, dtype: str, cache_dtype: Optional[str], saved: Optional[Saved] = None) -> Value:
    """Causal self-attention over ``seq`` tokens per sequence; emits the K/V cache when ``cache_dtype``."""
    kvh, dh, grp = cfg.kv_heads, cfg.head_dim, cfg.heads // cfg.kv_heads
    q = g.reshape(linear(g, cfg, h, prefix + ".q", cfg.q_width, dtype), (batch, seq, cfg.heads, dh))
    k = g.reshape(linear(g, cfg, h, prefix + ".k", cfg.kv_width, dtype), (batch, seq, kvh, dh))
    v = g.reshape(linear(g, cfg, h, prefix + ".v", cfg.kv_width, dtype), (batch, seq, kvh, dh))
    # Heads first, then RoPE: its [1, S, Dh] tables broadcast over the leading
    # dim. A broadcast over a middle dim ([S, H, Dh] x [S, 1, Dh]) takes the
    # compiler superlinear time: 14 s for one layer at S = 1024.
    qh = g.reshape(g.transpose(q, (0, 2, 1, 3)), (batch * cfg.heads, seq, dh))
    kh = g.reshape(g.transpose(k, (0, 2, 1, 3)), (batch * kvh, seq, dh))
    if shared.cos is not None:
        qh, kh = rope(g, qh, shared.cos, shared.sin), rope(g, kh, shared.cos, shared.sin)
    qh = g.reshape(qh, (batch * kvh, grp * seq, dh))
    kt = g.transpose(g.reshape(kh, (batch, kvh, seq, dh)), (0, 1, 3, 2))  # [B, KV, Dh, S]: the K cache layout
    vh = g.transpose(v, (0, 2, 1, 3))                                     # [B, KV, S, Dh]: the V cache layout
    if cache_dtype is not None:
        g.output(g.cast(kt, cache_dtype), prefix + ".k_cache")
        g.output(g.cast(vh, cache_dtype), prefix + ".v_cache")
    kt3, vh3 = g.reshape(kt, (batch * kvh, dh, seq)), g.reshape(vh, (batch * kvh, seq, dh))
    if saved is None:
        # One fused kernel (trn.attention): the [S, S] scores never reach HBM.
        # Operands in bf16 (the PE's fast type) unless the model runs in fp32.
        ctx = g.attention(qh, kt3, vh3, 1 / math.sqrt(dh), causal=True, group=grp,
                          dtype="f32" if mlir_dtype(dtype) == "f32" else "bf16")
    else:
        # Training's backward reads the probabilities, so they are materialised.
        scores = g.muls(g.matmul(qh, kt3), 1 / math.sqrt(dh))
        masked = g.add(g.reshape(scores, (batch * cfg.heads, seq, seq)), shared.mask)
        probs = g.reshape(softmax(g, masked), (batch * kvh, grp * seq, seq))
        ctx = g.matmul(probs, vh3)               # [B*KV, G*S, Dh] = [B, H, S, Dh]
    merged = g.reshape(g.transpose(g.reshape(ctx, (batch, cfg.heads, seq, dh)), (0, 2, 1, 3)),
                       (batch * seq, cfg.q_width))
    if saved is not None:
        saved.values.update(q=qh, kt=kt3, v=vh3, probs=probs, ctx=merged)
    return linear(g, cfg, merged, prefix + ".o", cfg.hidden, dtype)


def decoder_layer(g: GraphBuilder, cfg: ModelConfig, x: Value, index: int, phase: str, batch: int, length: int,
                  shared: Shared, dtype: str = "bf16", cache_dtype: str = "bf16",
                  saved: Optional[Saved] = None) -> Value:
    """Pre-norm decoder layer: ``x + attn(norm(x))``, then ``+ ffn(norm(.))`` (MoE FFN when configured).

    ``phase`` is ``"prefill"`` (``length`` = sequence; emits the K/V cache),
    ``"decode"`` (``length`` = cached context) or ``"train"`` (like prefill,
    no cache output; fills ``saved`` for the backward pass).
    """
    from .moe import moe_ffn

    prefix = f"l{index}"
    h = norm(g, cfg, x, prefix + ".attn_norm")
    if phase == "decode":
        a = attention_decode(g, cfg, h, prefix + ".attn", batch, length, shared, dtype, cache_dtype)
    else:
        a = attention_prefill(g, cfg, h, prefix + ".attn", batch, length, shared, dtype,
                              cache_dtype if phase == "prefill" else None, saved)
    x1 = g.add(x, a)
    h2 = norm(g, cfg, x1, prefix + ".ffn_norm")
    if cfg.is_moe:
        f = moe_ffn(g, cfg, h2, prefix + ".moe", dtype)
    else:
        f = ffn(g, cfg, h2, prefix + ".ffn", dtype, saved)
    if saved is not None:
        saved.values.update(x0=x, h1=h, x1=x1, h2=h2)
    return g.add(x1, f)


def rope_tables(g: GraphBuilder, cfg: ModelConfig, phase: str, batch: int, length: int) -> Shared:
    """The shared inputs of a phase: RoPE tables (Llama-class) and, for training, the causal mask."""
    shared = Shared()
    if cfg.norm == "rmsnorm":
        shape = (batch, 1, cfg.head_dim) if phase == "decode" else (1, length, cfg.head_dim)
        shared.cos = g.input("rope_cos", shape)
        shared.sin = g.input("rope_sin", shape)
    if phase == "train":  # prefill's fused attention masks on chip
        shared.mask = g.input("causal_mask", (1, length, length))
    return shared


def embed(g: GraphBuilder, cfg: ModelConfig, tokens: int, dtype: str) -> Value:
    """Token ids ``[tokens]`` -> rows of the embedding table, as fp32 ``[tokens, hidden]``.

    One table of any vocabulary size: the compiler gathers from tables longer
    than one DMA gather's 65535 rows block by block (GatherKernel.cpp).
    """
    ids = g.input("token_ids", (tokens,), "i32")
    return g.cast(g.gather(g.weight("embed.table", (cfg.vocab, cfg.hidden), dense_dtype(dtype)), ids), "f32")


def lm_head(g: GraphBuilder, cfg: ModelConfig, x: Value, dtype: str) -> Value:
    """Final norm and logits ``[rows, vocab]`` (tied models read a ``[hidden, vocab]`` copy)."""
    return g.linear(norm(g, cfg, x, "final_norm"), "lm_head.w", (cfg.hidden, cfg.vocab), dtype)
