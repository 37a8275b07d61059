"""The phases a workload runs, as shape-only graphs: prefill, decode, training step.

Each function returns a :class:`ModelGraph`, which ``trnx.compile`` accepts
directly (it has ``.name`` and ``.to_mlir()``). ``layers`` limits the decoder
layers (default: the model's), and ``part`` picks what the graph holds:
``"full"`` (embedding, layers, final norm and LM head), ``"layers"`` (decoder
layers only: hidden states in and out) or ``"head"`` (embedding and LM head,
no layers). ``trnx.workloads`` simulates ``layers`` with one layer and
``head`` once, and scales.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Union

from .config import ModelConfig, get_config
from .graph import MX_FORMATS, GraphBuilder, mlir_dtype
from . import transformer as tf

PHASES = ("prefill", "decode", "train")
PARTS = ("full", "layers", "head")
# Bytes per parameter for parameter_bytes(); mxfp4 is 4 bits plus an 8-bit scale per 32.
PARAM_BYTES = {"fp32": 4.0, "f32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp8e4m3": 1.0, "mxfp8": 1 + 1 / 32,
               "mxfp4": 0.5 + 1 / 32, "int8": 1.0}

ConfigLike = Union[str, ModelConfig]
# K/V cache element types: 16-bit, or fp8 (e4m3) dequantised to bf16 on chip.
KV_DTYPES = ("bf16", "fp16", "fp8e4m3")


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


@dataclass
class ModelGraph:
    """A shape-only graph of one phase of a model (compile it with ``trnx.compile``).

    Attributes:
        config: the model's :class:`ModelConfig`.
        phase: ``"prefill"``, ``"decode"`` or ``"train"``.
        batch: sequences.
        length: tokens per sequence (prefill, train) or cached context (decode).
        layers: decoder layers in the graph.
        part: ``"full"``, ``"layers"`` or ``"head"``.
        weight_dtype: weight argument element type (``bf16`` default).
        cache_dtype: K/V cache element type (``bf16`` default, or ``fp8e4m3``:
            read as fp8 and dequantised to bf16 on chip).
    """

    config: ModelConfig
    phase: str
    batch: int
    length: int
    layers: int
    part: str = "full"
    weight_dtype: str = "bf16"
    cache_dtype: str = "bf16"
    _builder: Optional[GraphBuilder] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, not {self.phase!r}")
        if self.part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, not {self.part!r}")
        _positive("batch", self.batch)
        _positive("length" if self.phase == "decode" else "seq", self.length)
        if isinstance(self.layers, bool) or not isinstance(self.layers, int) or self.layers < 0:
            raise ValueError(f"layers must be a non-negative integer, not {self.layers!r}")
        if self.part != "head" and self.layers == 0:
            raise ValueError(f"part={self.part!r} needs at least one layer")
        if self.weight_dtype in MX_FORMATS:
            if self.phase == "train":
                raise ValueError(f"weight_dtype={self.weight_dtype!r} is an inference format; training keeps bf16/fp32 weights")
        else:
            mlir_dtype(self.weight_dtype)
        if self.cache_dtype not in KV_DTYPES:
            raise ValueError(f"kv_dtype must be one of {KV_DTYPES}, not {self.cache_dtype!r}")
        if self.phase == "train" and self.config.is_moe:
            raise NotImplementedError(f"{self.config.name}: training steps of MoE models are not modelled yet "
                                      "(prefill and decode are)")

    @property
    def name(self) -> str:
        """Program name, e.g. ``llama3-8b_decode_b1_c2048_32l``."""
        unit = "c" if self.phase == "decode" else "s"
        body = {"full": f"{self.layers}l", "layers": f"{self.layers}l-only", "head": "head"}[self.part]
        return f"{self.config.name}_{self.phase}_b{self.batch}_{unit}{self.length}_{body}"

    @property
    def tokens(self) -> int:
        """Tokens processed: batch (decode) or batch x seq (prefill, train)."""
        return self.batch if self.phase == "decode" else self.batch * self.length

    def builder(self) -> GraphBuilder:
        """The built graph (built once, on first use)."""
        if self._builder is None:
            self._builder = self._build()
        return self._builder

    def _build(self) -> GraphBuilder:
        if self.phase == "train":
            from .training import build_training_step

            return build_training_step(self)
        cfg, g = self.config, GraphBuilder("main")
        rows = self.tokens
        if self.part == "layers":
            x = g.input("hidden_in", (rows, cfg.hidden))
        else:
            x = tf.embed(g, cfg, rows, self.weight_dtype)
        if self.part != "head":
            shared = tf.rope_tables(g, cfg, self.phase, self.batch, self.length)
            for i in range(self.layers):
                x = tf.decoder_layer(g, cfg, x, i, self.phase, self.batch, self.length, shared, self.weight_dtype,
                                     self.cache_dtype)
        if self.part == "layers":
            g.output(x, "hidden_out")
            return g
        if self.phase == "prefill" and self.length > 1:
            # Only the last position of each sequence needs logits to start decoding.
            last = g.slice(g.reshape(x, (self.batch, self.length, cfg.hidden)), (0, self.length - 1, 0),
                           (self.batch, 1, cfg.hidden))
            x = g.reshape(last, (self.batch, cfg.hidden))
        g.output(tf.lm_head(g, cfg, x, self.weight_dtype), "logits")
        return g

    def to_mlir(self) -> str:
        """The graph as MLIR text (TOSA in a ``func.func @main``)."""
        return self.builder().to_mlir()

    def parameter_count(self) -> int:
        """Parameters the graph declares as weights (optimizer state excluded)."""
        cfg = self.config
        count = 0
        if self.part != "layers":
            head = cfg.vocab * cfg.hidden + cfg.hidden * (2 if cfg.norm == "layernorm" else 1)
            count += head + (0 if cfg.tied_embeddings else cfg.vocab * cfg.hidden)
        if self.part != "head":
            count += self.layers * sum(cfg.layer_parameters().values())
        return count

    def parameter_bytes(self, dtype: str = "bf16") -> int:
        """Bytes of the graph's parameters stored in ``dtype`` (``bf16``, ``fp8``, ``mxfp4``...)."""
        if dtype not in PARAM_BYTES:
            raise ValueError(f"unknown parameter dtype {dtype!r}; use one of {sorted(PARAM_BYTES)}")
        return int(self.parameter_count() * PARAM_BYTES[dtype])

    def summary(self) -> Dict[str, Any]:
        """Parameters, FLOPs and bytes of the graph (counted while building, no compile)."""
        g = self.builder()
        inputs = sum(a.value.nbytes for a in g.arguments if a.role == "input")
        weights = sum(a.value.nbytes for a in g.arguments if a.role == "weight")
        outputs = sum(v.nbytes for v, _ in g.results)
        return {"name": self.name, "model": self.config.name, "phase": self.phase, "batch": self.batch,
                "length": self.length, "layers": self.layers, "part": self.part, "tokens": self.tokens,
                "parameters": self.parameter_count(), "weight_bytes": weights, "input_bytes": inputs,
                "output_bytes": outputs, "matmul_flops": g.matmul_flops, "elementwise_flops": g.elementwise_flops,
                "flops": g.matmul_flops + g.elementwise_flops}

    def __repr__(self) -> str:
        return f"ModelGraph({self.name!r})"


def _graph(model: ConfigLike, phase: str, batch: int, length: int, layers: Optional[int], part: str,
           weight_dtype: str, kv_dtype: str = "bf16") -> ModelGraph:
    cfg = get_config(model)
    n = cfg.layers if layers is None else layers
    if not isinstance(n, bool) and isinstance(n, int) and n > cfg.layers:
        raise ValueError(f"{cfg.name} has {cfg.layers} layers, not {n}")
    return ModelGraph(cfg, phase, batch, length, 0 if part == "head" else n, part, weight_dtype, kv_dtype)


def prefill(model: ConfigLike, batch: int = 1, seq: int = 2048, *, layers: Optional[int] = None,
            part: str = "full", weight_dtype: str = "bf16", kv_dtype: str = "bf16") -> ModelGraph:
    """Prefill: ``batch`` prompts of ``seq`` tokens -> last-token logits and the K/V cache of every layer."""
    return _graph(model, "prefill", batch, seq, layers, part, weight_dtype, kv_dtype)


def decode(model: ConfigLike, batch: int = 1, context: int = 2048, *, layers: Optional[int] = None,
           part: str = "full", weight_dtype: str = "bf16", kv_dtype: str = "bf16") -> ModelGraph:
    """One decode step: ``batch`` new tokens, each attending over ``context`` cached positions.

    The K/V cache of each layer is a graph input (of ``kv_dtype``); the new
    token's K and V are outputs.
    """
    return _graph(model, "decode", batch, context, layers, part, weight_dtype, kv_dtype)


def training_step(model: ConfigLike, batch: int = 1, seq: int = 2048, *, layers: Optional[int] = None,
                  part: str = "full", weight_dtype: str = "bf16") -> ModelGraph:
    """A training step: forward, backward and an AdamW update of every weight (see :mod:`.training`)."""
    return _graph(model, "train", batch, seq, layers, part, weight_dtype)
