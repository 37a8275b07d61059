"""Mixture-of-experts FFN under a balanced top-k routing assumption.

Routing assumption (stated here, in :func:`moe_ffn` and in docs/python.md):
with ``T`` tokens, ``E`` experts and top-``k`` routing, ``A = min(E, T*k)``
experts are active and each processes ``ceil(T*k / A)`` tokens (perfectly
balanced). So a batch-1 decode step reads ``k`` experts' weights, and a large
batch reads all ``E``. The router's logits and softmax are computed in the
graph; the top-k choice itself is data-dependent, so the dispatch order, the
combine order and the gate weights are graph inputs (``*.dispatch_ids``,
``*.combine_ids``, ``*.gate_weights``) that the runtime fills from the router.
Which ``A`` experts are active does not change the cost, so the graph uses the
first ``A`` of the ``[E, ...]`` expert weights.
"""
from __future__ import annotations

import math

from .config import ModelConfig
from .graph import MX_FORMATS, GraphBuilder, Value, dense_dtype


def routing(tokens: int, experts: int, top_k: int):
    """``(active_experts, tokens_per_expert)`` under balanced top-k routing."""
    active = min(experts, tokens * top_k)
    return active, math.ceil(tokens * top_k / active)


def _mx_experts(g: GraphBuilder, xe: Value, prefix: str, e: int, active: int, d: int, f: int, fmt: str) -> Value:
    """SwiGLU experts with MX weights: one [K, N] MX weight per expert and matrix (all ``e``
    in HBM), the ``active`` ones applied to their token slices of ``xe [active, per_expert, d]``."""
    per = xe.shape[1]
    outs = []
    weights = [{m: g.mx_weight(f"{prefix}.experts.{i}.{m}.w", (f, d) if m == "down" else (d, f), fmt)
                for m in ("gate", "up", "down")} for i in range(e)]
    for i in range(active):
        xi = g.reshape(g.slice(xe, (i, 0, 0), (1, per, d)), (per, d))
        gate = g.mx_matmul(xi, *weights[i]["gate"], fmt)
        act = g.mul(g.mul(gate, g.unary("sigmoid", gate)), g.mx_matmul(xi, *weights[i]["up"], fmt))
        outs.append(g.mx_matmul(act, *weights[i]["down"], fmt))
    return outs[0] if len(outs) == 1 else g.concat(outs, 0)


def moe_ffn(g: GraphBuilder, cfg: ModelConfig, h: Value, prefix: str, dtype: str) -> Value:
    """Router + balanced top-k SwiGLU experts + weighted combine, for ``h [T, hidden]``."""
    tokens, d = h.shape
    e, k, f = cfg.experts, cfg.top_k, cfg.ffn
    active, per_expert = routing(tokens, e, k)
    # Router: logits and probabilities (the top-k selection is outside the graph).
    router_dtype = dense_dtype(dtype)  # MX checkpoints (gpt-oss) keep the router in bf16
    g.output(softmax_rows(g, g.linear(h, prefix + ".router.w", (d, e), router_dtype)), prefix + ".router_probs")
    # Dispatch: gather each active expert's tokens, expert-major.
    slots = active * per_expert
    dispatch = g.input(prefix + ".dispatch_ids", (slots,), "i32")
    xe = g.reshape(g.gather(h, dispatch), (active, per_expert, d))
    if dtype in MX_FORMATS:
        ye = _mx_experts(g, xe, prefix, e, active, d, f, dtype)
    else:
        wg = g.slice(g.weight(prefix + ".experts.gate.w", (e, d, f), dtype), (0, 0, 0), (active, d, f))
        wu = g.slice(g.weight(prefix + ".experts.up.w", (e, d, f), dtype), (0, 0, 0), (active, d, f))
        wd = g.slice(g.weight(prefix + ".experts.down.w", (e, f, d), dtype), (0, 0, 0), (active, f, d))
        gate = g.matmul(xe, wg)
        act = g.mul(g.mul(gate, g.unary("sigmoid", gate)), g.matmul(xe, wu))
        ye = g.reshape(g.matmul(act, wd), (slots, d))
    # Combine: back to token-major [T, k, hidden], weighted by the gates, summed.
    combine = g.input(prefix + ".combine_ids", (tokens * k,), "i32")
    yk = g.reshape(g.gather(ye, combine), (tokens, k, d))
    gates = g.input(prefix + ".gate_weights", (tokens, k, 1))
    return g.reshape(g.reduce("sum", g.mul(yk, gates), 1), (tokens, d))


def softmax_rows(g: GraphBuilder, x: Value) -> Value:
    """Softmax over the last axis."""
    e = g.unary("exp", g.sub(x, g.reduce("max", x, -1)))
    return g.mul(e, g.unary("reciprocal", g.reduce("sum", e, -1)))
