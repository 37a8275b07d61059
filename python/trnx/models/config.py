"""Named transformer configurations (shapes only) and where each number comes from.

A :class:`ModelConfig` holds what the graph builders need: widths, head
counts, layer count, vocabulary, FFN kind and, for mixture-of-experts
models, the expert count and top-k. :func:`get_config` looks one up by name
(``llama3-8b``, ``llama3-70b``, ``gpt2-xl``, ``gpt3-175b``, ``mixtral-8x7b``,
``gpt-oss-120b``, ``tiny``); :func:`configs` lists them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List

NORMS = ("rmsnorm", "layernorm")
FFNS = ("swiglu", "gelu")


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a decoder-only transformer.

    Attributes:
        name: short identifier, used in graph and program names.
        hidden: model width (d_model).
        layers: decoder layers.
        heads: query heads.
        kv_heads: key/value heads (grouped-query attention when < heads).
        head_dim: width of one head.
        ffn: FFN inner width (per expert for MoE models).
        vocab: vocabulary size (embedding rows and LM-head columns).
        norm: ``"rmsnorm"`` (Llama, Mixtral, gpt-oss) or ``"layernorm"`` (GPT).
        ffn_kind: ``"swiglu"`` (gate, up, down) or ``"gelu"`` (up, down, with biases).
        experts: experts per MoE layer (0 = dense FFN).
        top_k: experts each token is routed to (MoE only).
        max_context: the longest context the model was trained for (informational).
        tied_embeddings: LM head shares the embedding table (counted once in parameters).
        sources: where the numbers come from.
        notes: simplifications made here (what the graphs leave out).
    """

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    norm: str = "rmsnorm"
    ffn_kind: str = "swiglu"
    experts: int = 0
    top_k: int = 0
    max_context: int = 8192
    tied_embeddings: bool = False
    sources: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        for attr in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab", "max_context"):
            value = getattr(self, attr)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{self.name}: {attr} must be a positive integer, not {value!r}")
        if self.heads % self.kv_heads:
            raise ValueError(f"{self.name}: heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        if self.norm == "rmsnorm" and self.head_dim % 2:
            raise ValueError(f"{self.name}: RoPE needs an even head_dim, not {self.head_dim}")
        if self.norm not in NORMS:
            raise ValueError(f"{self.name}: norm must be one of {NORMS}, not {self.norm!r}")
        if self.ffn_kind not in FFNS:
            raise ValueError(f"{self.name}: ffn_kind must be one of {FFNS}, not {self.ffn_kind!r}")
        if self.experts < 0 or self.top_k < 0:
            raise ValueError(f"{self.name}: experts and top_k must not be negative")
        if self.experts and not 1 <= self.top_k <= self.experts:
            raise ValueError(f"{self.name}: top_k ({self.top_k}) must be between 1 and experts ({self.experts})")
        if not self.experts and self.top_k:
            raise ValueError(f"{self.name}: top_k needs experts > 0")

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts FFNs."""
        return self.experts > 0

    @property
    def q_width(self) -> int:
        """Width of the query projection (heads x head_dim)."""
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        """Width of the key (or value) projection (kv_heads x head_dim)."""
        return self.kv_heads * self.head_dim

    def replace(self, **changes) -> "ModelConfig":
        """A copy with some fields changed (checked again), e.g. fewer layers."""
        return dataclasses.replace(self, **changes)

    # --- parameter counts (what the graphs declare as weights) ---------------
    def layer_parameters(self) -> Dict[str, int]:
        """Parameters of one decoder layer by part (attention, ffn, norms, router)."""
        d = self.hidden
        attn = d * self.q_width + 2 * d * self.kv_width + self.q_width * d
        bias = self.ffn_kind == "gelu"  # GPT-style layers carry biases
        if bias:
            attn += self.q_width + 2 * self.kv_width + d
        per_ffn = (3 if self.ffn_kind == "swiglu" else 2) * d * self.ffn
        if bias:
            per_ffn += self.ffn + d
        norms = 2 * d * (2 if self.norm == "layernorm" else 1)
        parts = {"attention": attn, "ffn": per_ffn * max(1, self.experts), "norms": norms}
        if self.is_moe:
            parts["router"] = d * self.experts
        return parts

    def parameters(self) -> int:
        """Total parameters: embedding, layers, final norm and LM head."""
        embed = self.vocab * self.hidden
        head = 0 if self.tied_embeddings else self.vocab * self.hidden
        final_norm = self.hidden * (2 if self.norm == "layernorm" else 1)
        return embed + head + final_norm + self.layers * sum(self.layer_parameters().values())

    def active_parameters(self) -> int:
        """Parameters one token touches (MoE: top_k of the experts)."""
        if not self.is_moe:
            return self.parameters()
        per_expert = self.layer_parameters()["ffn"] // self.experts
        return self.parameters() - self.layers * per_expert * (self.experts - self.top_k)

    def kv_cache_bytes(self, batch: int, context: int, dtype_bytes: int = 2) -> int:
        """Bytes of the K and V caches of all layers for ``batch`` x ``context`` positions."""
        return 2 * self.layers * batch * context * self.kv_width * dtype_bytes


_LLAMA3_SOURCES = ("Meta Llama 3 model card and config.json on the Hugging Face hub (meta-llama/Meta-Llama-3-{size}); "
                   "'The Llama 3 Herd of Models', Dubey et al. 2024, Table 3")

_CONFIGS: Dict[str, ModelConfig] = {}


def _register(config: ModelConfig) -> ModelConfig:
    _CONFIGS[config.name] = config
    return config


LLAMA3_8B = _register(ModelConfig(
    name="llama3-8b", hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=128256,
    max_context=8192, sources=_LLAMA3_SOURCES.format(size="8B") + ": hidden_size 4096, 32 layers, 32 attention "
    "heads, 8 KV heads, intermediate_size 14336, vocab_size 128256, untied embeddings; 8.03 B parameters.",
    notes="RoPE is applied to Q and K (rotate-half form); rope_theta and norm epsilon do not change shapes."))

LLAMA3_70B = _register(ModelConfig(
    name="llama3-70b", hidden=8192, layers=80, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=128256,
    max_context=8192, sources=_LLAMA3_SOURCES.format(size="70B") + ": hidden_size 8192, 80 layers, 64 attention "
    "heads, 8 KV heads, intermediate_size 28672, vocab_size 128256; 70.6 B parameters.",
    notes="Does not fit one chip's HBM in bf16 (141 GB of weights); compiles shape-only."))

GPT2_XL = _register(ModelConfig(
    name="gpt2-xl", hidden=1600, layers=48, heads=25, kv_heads=25, head_dim=64, ffn=6400, vocab=50257,
    norm="layernorm", ffn_kind="gelu", max_context=1024, tied_embeddings=True,
    sources="Radford et al. 2019, 'Language Models are Unsupervised Multitask Learners', Table 2 (1542M: 48 layers, "
    "d_model 1600); openai-community/gpt2-xl config.json: n_head 25, n_inner 4*n_embd, vocab 50257, n_ctx 1024.",
    notes="Learned position embeddings (1024 x 1600) are left out: an add of a tiny table. GELU in tanh form."))

GPT3_175B = _register(ModelConfig(
    name="gpt3-175b", hidden=12288, layers=96, heads=96, kv_heads=96, head_dim=128, ffn=49152, vocab=50257,
    norm="layernorm", ffn_kind="gelu", max_context=2048, tied_embeddings=True,
    sources="Brown et al. 2020, 'Language Models are Few-Shot Learners', Table 2.1 (GPT-3 175B: n_layers 96, "
    "d_model 12288, n_heads 96, d_head 128, context 2048); d_ff = 4 x d_model and the GPT-2 vocabulary (50257).",
    notes="Dense attention everywhere (GPT-3 alternates dense and locally banded sparse layers); no position "
    "embedding table."))

MIXTRAL_8X7B = _register(ModelConfig(
    name="mixtral-8x7b", hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, ffn=14336, vocab=32000,
    experts=8, top_k=2, max_context=32768,
    sources="Jiang et al. 2024, 'Mixtral of Experts', Table 1 (dim 4096, n_layers 32, head_dim 128, hidden_dim "
    "14336, n_heads 32, n_kv_heads 8, context 32768, vocab 32000, 8 experts, top-2); 46.7 B total, 12.9 B active.",
    notes="Routing is balanced top-k (see trnx.models.moe)."))

GPT_OSS_120B = _register(ModelConfig(
    name="gpt-oss-120b", hidden=2880, layers=36, heads=64, kv_heads=8, head_dim=64, ffn=2880, vocab=201088,
    experts=128, top_k=4, max_context=131072,
    sources="OpenAI 2025, 'gpt-oss-120b & gpt-oss-20b Model Card' and openai/gpt-oss-120b config.json: 36 layers, "
    "hidden_size 2880, 64 query heads of 64, 8 KV heads, 128 experts top-4 with intermediate_size 2880, vocab "
    "201088; 116.8 B total, 5.1 B active parameters.",
    notes="gpt-oss-like, not exact: every layer is dense attention (the model alternates 128-token sliding-window "
    "and dense layers), no attention sinks or biases, SwiGLU without clamping, and bf16 weights (the release "
    "stores experts in MXFP4, ~4.25 bits per parameter: parameter_bytes('mxfp4') gives that footprint)."))

TINY = _register(ModelConfig(
    name="tiny", hidden=128, layers=2, heads=4, kv_heads=2, head_dim=32, ffn=256, vocab=512, max_context=512,
    sources="A test model (not a published one): Llama-shaped, small enough to compile in a second.",
    notes="For tests and examples."))

TINY_MOE = _register(TINY.replace(name="tiny-moe", experts=4, top_k=2, sources="A test MoE model (not published).",
                                  notes="For tests and examples."))


def get_config(name: str) -> ModelConfig:
    """A named configuration; raises ``KeyError`` listing the known names."""
    if isinstance(name, ModelConfig):
        return name
    key = str(name).lower().replace("_", "-")
    if key not in _CONFIGS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(_CONFIGS))}")
    return _CONFIGS[key]


def configs() -> List[str]:
    """Names of the registered configurations."""
    return sorted(_CONFIGS)
