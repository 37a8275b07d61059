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
from .graph import GraphBuilder, Value


def routing(tokens: int, experts: int, top_k: int):
    """``(active_experts, tokens_per_expert)`` under balanced top-k routing."""
    active = min(experts, tokens * top_k)
    return active, math.ceil(tokens * top_k / active)


def moe_ffn(g: GraphBuilder, cfg: ModelConfig, h: Value, prefix: str, dtype: str) -> Value:
    """Router + balanced top-k SwiGLU experts + weighted combine, for ``h [T, hidden]``."""
    tokens, d = h.shape
    e, k, f = cfg.experts, cfg.top_k, cfg.ffn
    active, per_expert = routing(tokens, e, k)
    # Router: logits and probabilities (the top-k selection is outside the graph).
    router = g.weight(prefix + ".router.w", (d, e), dtype)
    g.output(softmax_rows(g, g.matmul(h, router)), prefix + ".router_probs")
    # Dispatch: gather each active expert's tokens, expert-major.
    slots = active * per_expert
    dispatch = g.input(prefix + ".dispatch_ids", (slots,), "i32")
    xe = g.reshape(g.gather(h, dispatch), (active, per_expert, d))
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
