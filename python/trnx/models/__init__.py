"""Shape-only transformer graphs: named configs and prefill / decode / training-step builders.

::

    from trnx import models
    g = models.decode("llama3-8b", batch=1, context=2048)   # a ModelGraph
    g.summary()["flops"], g.parameter_bytes("bf16")
    program = trnx.compile(g, target="trn3")                 # weights stay data-less

Weights are function arguments tagged ``trnx.role = "weight"``, so even a
70B model compiles without materialising data. MoE models assume balanced
top-k routing (:mod:`trnx.models.moe`).
"""
from .config import (GPT2_XL, GPT3_175B, GPT_OSS_120B, LLAMA3_70B, LLAMA3_8B, MIXTRAL_8X7B, TINY, TINY_MOE,
                     ModelConfig, configs, get_config)
from .graph import GraphBuilder, Value
from .moe import routing
from .phases import PARTS, PHASES, ModelGraph, decode, prefill, training_step

__all__ = ["GPT2_XL", "GPT3_175B", "GPT_OSS_120B", "LLAMA3_70B", "LLAMA3_8B", "MIXTRAL_8X7B", "TINY", "TINY_MOE",
           "GraphBuilder", "ModelConfig", "ModelGraph", "PARTS", "PHASES", "Value", "configs", "decode",
           "get_config", "prefill", "routing", "training_step"]
