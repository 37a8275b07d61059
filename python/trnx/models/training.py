"""A training step as one shape-only graph: forward, backward and AdamW update.

The forward pass is the prefill graph without the K/V cache outputs, keeping
the activations the backward pass reads (no recomputation). The loss is
softmax cross-entropy over all positions; its gradient ``softmax(logits) -
onehot(labels)`` is written as ``softmax(logits)`` because the one-hot term
touches one element per token (a scatter the compiler does not take; its cost
is negligible). Backward is exact for matmuls, residuals, softmax, SiLU and
RMSNorm; GELU's derivative uses the ``x * sigmoid(1.702 x)`` approximation;
LayerNorm's backward is written as RMSNorm's plus the mean term. Norm gains,
biases and the embedding table get no update (a scatter-add for the
embedding; the others are tiny). Every matmul weight gets AdamW with fp32
moments (``*.adam_m``, ``*.adam_v``, data-less weight arguments) and returns
the new weight and moments as outputs.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Dict, List, Tuple

from . import transformer as tf
from .graph import GraphBuilder, Value

if TYPE_CHECKING:
    from .phases import ModelGraph

# AdamW hyper-parameters (values do not change the graph's cost).
LR, BETA1, BETA2, EPS, WEIGHT_DECAY = 3e-4, 0.9, 0.95, 1e-8, 0.1


def _t(g: GraphBuilder, x: Value) -> Value:
    """Swaps the last two axes."""
    perm = list(range(len(x.shape)))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return g.transpose(x, perm)


def linear_backward(g: GraphBuilder, x: Value, w: Value, dy: Value) -> Tuple[Value, Value]:
    """For ``y = x @ w``: ``dx = dy @ w^T`` and ``dw = x^T @ dy``."""
    return g.matmul(dy, _t(g, w)), g.matmul(_t(g, x), dy)


def norm_backward(g: GraphBuilder, layernorm: bool, x: Value, dy: Value, eps: float = 1e-5) -> Value:
    """RMSNorm backward ``r*dy - x * r^3 * mean(x*dy)`` (LayerNorm: on centred x, minus mean(dy))."""
    if layernorm:
        x = g.sub(x, g.mean(x, -1))
    r = g.unary("rsqrt", g.adds(g.mean(g.mul(x, x), -1), eps))
    dx = g.sub(g.mul(dy, r), g.mul(g.mul(x, g.mul(g.mul(r, r), r)), g.mean(g.mul(x, dy), -1)))
    return g.sub(dx, g.mean(dy, -1)) if layernorm else dx


def adamw(g: GraphBuilder, w: Value, label: str, grad: Value) -> None:
    """One AdamW update of weight ``w``; outputs ``<label>.new``, ``.adam_m.new``, ``.adam_v.new``."""
    if grad.shape != w.shape:
        grad = g.reshape(grad, w.shape)
    m = g.weight(label + ".adam_m", w.shape, "f32")
    v = g.weight(label + ".adam_v", w.shape, "f32")
    m2 = g.add(g.muls(m, BETA1), g.muls(grad, 1 - BETA1))
    v2 = g.add(g.muls(v, BETA2), g.muls(g.mul(grad, grad), 1 - BETA2))
    wf = g.cast(w, "f32")
    step = g.mul(m2, g.unary("rsqrt", g.adds(v2, EPS * EPS)))
    new = g.sub(g.muls(wf, 1 - LR * WEIGHT_DECAY), g.muls(step, LR))
    g.output(g.cast(new, w.dtype), label + ".new")
    g.output(m2, label + ".adam_m.new")
    g.output(v2, label + ".adam_v.new")


def _weights(g: GraphBuilder, prefix: str) -> Dict[str, Value]:
    """The matmul weights (``*.w``, rank 2) a layer declared, by label."""
    return {a.label: a.value for a in g.arguments
            if a.role == "weight" and a.label.startswith(prefix) and a.label.endswith(".w")}


def _attention_backward(g: GraphBuilder, graph: "ModelGraph", s: Dict[str, Value], dctx: Value) -> Value:
    """From d(ctx [T, H*Dh]) to d(q, k, v) projections' outputs, concatenated ``[T, q+2kv]``."""
    cfg, b, n = graph.config, graph.batch, graph.length
    kvh, dh, grp = cfg.kv_heads, cfg.head_dim, cfg.heads // cfg.kv_heads
    # [T, H*Dh] -> [B*KV, G*S, Dh], the layout of the forward's batched matmuls.
    do = g.reshape(g.transpose(g.reshape(dctx, (b, n, cfg.heads, dh)), (0, 2, 1, 3)), (b * kvh, grp * n, dh))
    probs, v, q, kt = s["probs"], s["v"], s["q"], s["kt"]
    dp = g.matmul(do, _t(g, v))                                   # [B*KV, G*S, S]
    dv = g.matmul(_t(g, probs), do)                               # [B*KV, S, Dh]
    ds = g.muls(g.mul(probs, g.sub(dp, g.reduce("sum", g.mul(dp, probs), -1))), 1 / math.sqrt(dh))
    dq = g.matmul(ds, _t(g, kt))                                  # [B*KV, G*S, Dh]
    dk = g.matmul(_t(g, ds), q)                                   # [B*KV, S, Dh]

    def tokens_major(x: Value, heads: int) -> Value:
        return g.reshape(g.transpose(g.reshape(x, (b, heads, n, dh)), (0, 2, 1, 3)), (b * n, heads * dh))

    return g.concat([tokens_major(dq, cfg.heads), tokens_major(dk, kvh), tokens_major(dv, kvh)], -1)


def _layer_backward(g: GraphBuilder, graph: "ModelGraph", index: int, saved: tf.Saved, dy: Value) -> Value:
    """Backward of decoder layer ``index``; applies AdamW to its weights; returns d(input)."""
    cfg, s = graph.config, saved.values
    w = _weights(g, f"l{index}.")
    pre = f"l{index}."
    layernorm = cfg.norm == "layernorm"
    # FFN.
    if cfg.ffn_kind == "swiglu":
        dact, dwd = linear_backward(g, s["act"], w[pre + "ffn.down.w"], dy)
        sig = g.unary("sigmoid", s["gate"])
        silu_gate = g.mul(s["gate"], sig)
        dsilu = g.mul(sig, g.adds(g.mul(s["gate"], g.sub(g.scalar(1.0, 2), sig)), 1.0))
        dgate = g.mul(g.mul(dact, s["up"]), dsilu)
        dup = g.mul(dact, silu_gate)
        dh2a, dwg = linear_backward(g, s["h2"], w[pre + "ffn.gate.w"], dgate)
        dh2b, dwu = linear_backward(g, s["h2"], w[pre + "ffn.up.w"], dup)
        dh2 = g.add(dh2a, dh2b)
        grads = {pre + "ffn.down.w": dwd, pre + "ffn.gate.w": dwg, pre + "ffn.up.w": dwu}
    else:
        dact, dwd = linear_backward(g, s["act"], w[pre + "ffn.down.w"], dy)
        sig = g.unary("sigmoid", g.muls(s["gate"], 1.702))
        dgelu = g.mul(sig, g.adds(g.mul(g.muls(s["gate"], 1.702), g.sub(g.scalar(1.0, 2), sig)), 1.0))
        dh2, dwu = linear_backward(g, s["h2"], w[pre + "ffn.up.w"], g.mul(dact, dgelu))
        grads = {pre + "ffn.down.w": dwd, pre + "ffn.up.w": dwu}
    dx1 = g.add(dy, norm_backward(g, layernorm, s["x1"], dh2))
    # Attention.
    dctx, dwo = linear_backward(g, s["ctx"], w[pre + "attn.o.w"], dx1)
    grads[pre + "attn.o.w"] = dwo
    dqkv = _attention_backward(g, graph, s, dctx)
    dh1 = None
    offset = 0
    for name, width in (("q", cfg.q_width), ("k", cfg.kv_width), ("v", cfg.kv_width)):
        part = g.slice(dqkv, (0, offset), (dqkv.shape[0], width))
        offset += width
        dh, dw = linear_backward(g, s["h1"], w[pre + f"attn.{name}.w"], part)
        grads[pre + f"attn.{name}.w"] = dw
        dh1 = dh if dh1 is None else g.add(dh1, dh)
    for label, grad in grads.items():
        adamw(g, w[label], label, grad)
    return g.add(dx1, norm_backward(g, layernorm, s["x0"], dh1))


def build_training_step(graph: "ModelGraph") -> GraphBuilder:
    """The training-step graph for ``graph`` (phase ``"train"``)."""
    cfg, g = graph.config, GraphBuilder("main")
    tokens = graph.tokens
    x = g.input("hidden_in", (tokens, cfg.hidden)) if graph.part == "layers" else tf.embed(
        g, cfg, tokens, graph.weight_dtype)
    saved: List[tf.Saved] = []
    if graph.part != "head":
        shared = tf.rope_tables(g, cfg, "train", graph.batch, graph.length)
        for i in range(graph.layers):
            saved.append(tf.Saved())
            x = tf.decoder_layer(g, cfg, x, i, "train", graph.batch, graph.length, shared, graph.weight_dtype,
                                 saved=saved[-1])
    if graph.part == "layers":
        dy = g.input("hidden_out_grad", (tokens, cfg.hidden))
    else:
        normed = tf.norm(g, cfg, x, "final_norm")
        head = g.weight("lm_head.w", (cfg.hidden, cfg.vocab), graph.weight_dtype)
        logits = g.matmul(normed, head)
        dlogits = tf.softmax_wide(g, logits)
        g.output(g.reduce("sum", g.reduce("max", logits, -1), 0), "loss_proxy")
        dnormed = g.matmul_split_k(dlogits, _t(g, head))
        dhead = g.matmul(_t(g, normed), dlogits)
        adamw(g, head, "lm_head.w", dhead)
        dy = norm_backward(g, cfg.norm == "layernorm", x, dnormed)
    for i in reversed(range(len(saved))):
        dy = _layer_backward(g, graph, i, saved[i], dy)
    if graph.part == "layers":
        g.output(dy, "hidden_in_grad")
    else:
        g.output(g.reduce("sum", g.reduce("sum", dy, -1), 0), "embedding_grad_norm_proxy")
    return g
