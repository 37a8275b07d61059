"""Tokens/s, latency and tokens per joule / per MW of a model phase on a chip, by simulation.

Every figure comes from compiling the phase's shape-only graph
(:mod:`trnx.models`) and simulating it in timing mode; nothing is a formula.
Two methods:

* ``"layer-scaled"`` (default): one decoder layer and, separately, the
  embedding + LM head are compiled and simulated; time and energy are
  ``layers x layer + head``. The decoder layers are identical, so this equals
  the full model up to the overlap of one layer's tail with the next one's
  head (measured for Llama-3-8B decode on trn3: within 0.003% at batch 1,
  0.14% at batch 64), and it compiles ``layers`` times less code.
* ``"full"``: the whole model as one program.

The result's ``method`` field says which was used. A model that does not fit
one chip's HBM (weights + KV cache + activations; training adds gradients and
AdamW moments) raises :class:`DoesNotFitError` naming the bytes needed and
available, until multi-chip support lands.

::

    r = trnx.workloads.decode("llama3-8b", batch=1, context=2048, chip="trn3")
    r.tokens_per_second, r.tpot_seconds, r.tokens_per_second_per_megawatt_facility
    trnx.workloads.compare_chips("llama3-8b", ["trn2", "trn3", "trn4"], phase="decode")
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import chips as _chips
from . import models as _models
from .models.phases import PARAM_BYTES, ModelGraph
from .program import compile as _compile
from .report import combined_critical_path
from .simulate import simulate as _simulate

METHODS = ("layer-scaled", "full")
ADAM_BYTES_PER_PARAMETER = 8  # two fp32 moments


class DoesNotFitError(ValueError):
    """The workload needs more HBM than one chip has."""


@dataclass
class WorkloadResult:
    """What one workload run measured. Times in seconds, energy in joules, power in watts.

    ``latency_seconds`` is one step: the whole prefill (= ``ttft_seconds``),
    one decode step (= ``tpot_seconds``: every sequence of the batch gets one
    token), or one training step. ``tokens`` is what the step processed or
    produced (prefill and training: batch x seq; decode: batch).
    """

    model: str
    phase: str
    chip: str
    batch: int
    length: int
    method: str
    method_detail: str
    layers: int
    tokens: int
    latency_seconds: float
    ttft_seconds: Optional[float]
    tpot_seconds: Optional[float]
    tokens_per_second: float
    energy_joules: float
    node_energy_joules: float
    facility_energy_joules: float
    average_power_watts: float
    tokens_per_joule: float
    tokens_per_second_per_megawatt_chip: float
    tokens_per_second_per_megawatt_node: float
    tokens_per_second_per_megawatt_facility: float
    tokens_per_second_per_megawatt_provisioned: float
    achieved_flops_per_second: float
    achieved_hbm_bytes_per_second: float
    hbm_bytes_needed: int
    hbm_capacity_bytes: int
    compile_seconds: float
    simulate_seconds: float
    # What bounded the step: the resource holding up most of the critical path
    # (docs/report.md "bottleneck"), its share, and the path in seconds per resource.
    bound_by: str = ""
    bound_fraction: float = 0.0
    critical_path_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """Every field as plain Python data."""
        return dataclasses.asdict(self)

    def to_series(self):
        """The fields as a pandas Series (one row of :func:`to_frame`)."""
        import pandas as pd

        return pd.Series(self.to_dict(), name=f"{self.model}/{self.phase}/{self.chip}")

    def __repr__(self) -> str:
        return (f"WorkloadResult({self.model} {self.phase} b{self.batch} on {self.chip}: "
                f"{self.latency_seconds * 1e3:.3f} ms/step, {self.tokens_per_second:,.1f} tokens/s, "
                f"{self.tokens_per_joule:.3g} tokens/J, bound by {self.bound_by or '?'} "
                f"({100 * self.bound_fraction:.0f}%), method={self.method})")


def to_frame(results: Iterable[WorkloadResult]):
    """Results as a pandas DataFrame, one row each."""
    import pandas as pd

    return pd.DataFrame([r.to_dict() for r in results])


def memory_required(graph: ModelGraph) -> Dict[str, int]:
    """HBM bytes a whole-model phase needs on one chip, by part.

    weights (the config's parameters at the graph's weight dtype), the K/V
    cache (decode: batch x context; prefill: batch x seq), activations (the
    non-weight inputs and outputs of one layer's graph, a lower bound), the
    attention scores training materialises (one layer's, the scratch is
    reused; prefill's fused attention keeps them on chip), and for training
    gradients (weight dtype) plus AdamW moments (fp32).
    """
    cfg = graph.config
    per_param = PARAM_BYTES.get(graph.weight_dtype, 2.0)
    parts = {"weights": int(cfg.parameters() * per_param)}
    kv_bytes = int(PARAM_BYTES.get(graph.cache_dtype, 2.0))
    if graph.phase in ("decode", "prefill"):
        parts["kv_cache"] = cfg.kv_cache_bytes(graph.batch, graph.length, kv_bytes)
    if graph.phase == "train":
        # Every layer keeps its forward activations for backward, plus fp32 logits.
        activations = cfg.layers * _saved_activation_bytes(graph) + graph.tokens * cfg.vocab * 4
        parts["gradients"] = parts["weights"]
        parts["optimizer_state"] = cfg.parameters() * ADAM_BYTES_PER_PARAMETER
    else:
        layer = ModelGraph(cfg, graph.phase, graph.batch, graph.length, 1, "layers", graph.weight_dtype,
                           graph.cache_dtype)
        summary = layer.summary()
        activations = summary["input_bytes"] + summary["output_bytes"]
        if graph.phase == "decode":  # the layer's K/V cache inputs are counted above
            activations -= cfg.kv_cache_bytes(graph.batch, graph.length, kv_bytes) // cfg.layers
    parts["activations"] = max(0, activations)
    if graph.phase == "train":
        parts["attention_scores"] = attention_score_bytes(graph)
    parts["total"] = sum(parts.values())
    return parts


# Bytes per attention score element training's (unfused) attention keeps live
# in HBM scratch at once: the fp32 scores and the fp32 probabilities.
# Held to the compiler by tests/python/test_workloads.py.
SCORE_BYTES = 8


def attention_score_bytes(graph: ModelGraph) -> int:
    """HBM scratch the unfused (training) attention of one layer needs: [batch x heads, seq, seq] scores and probabilities."""
    cfg = graph.config
    return SCORE_BYTES * graph.batch * cfg.heads * graph.length * graph.length


def _saved_activation_bytes(graph: ModelGraph) -> int:
    """Bytes of the activations one layer's forward keeps for its backward (training)."""
    from .models import transformer as tf
    from .models.graph import GraphBuilder

    g, saved = GraphBuilder(), tf.Saved()
    x = g.input("x", (graph.tokens, graph.config.hidden))
    shared = tf.rope_tables(g, graph.config, "train", graph.batch, graph.length)
    tf.decoder_layer(g, graph.config, x, 0, "train", graph.batch, graph.length, shared, graph.weight_dtype,
                     saved=saved)
    return sum(v.nbytes for v in saved.values.values())


def check_fits(graph: ModelGraph, chip: _chips.Chip) -> int:
    """Raises :class:`DoesNotFitError` unless the phase fits the chip's HBM; returns the bytes needed."""
    need = memory_required(graph)
    capacity = int(chip["hbm.capacity_bytes"])
    if need["total"] > capacity:
        detail = ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in need.items() if k != "total")
        raise DoesNotFitError(
            f"{graph.config.name} {graph.phase} (batch {graph.batch}, {'context' if graph.phase == 'decode' else 'seq'} "
            f"{graph.length}) needs {need['total']:,} bytes of HBM ({need['total'] / 1e9:.2f} GB: {detail}) but "
            f"{chip.name} has {capacity:,} bytes ({capacity / 1e9:.2f} GB, hbm.capacity_bytes); "
            "shard it over several chips with trnx.parallel.decode(..., tp=N)")
    return need["total"]


class _Progress:
    """A tqdm bar over a workload's compile and simulate stages, naming what runs now.

    ``enabled`` None shows it only on an interactive stderr (tqdm's own rule).
    """

    def __init__(self, stages: int, title: str, enabled: Optional[bool]) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=stages, desc=title, unit="stage", disable=None if enabled is None else not enabled,
                         leave=False)

    def stage(self, what: str) -> None:
        self._bar.set_postfix_str(what, refresh=True)

    def done(self) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _run_graph(graph: ModelGraph, chip: _chips.Chip, auto_cast: str, progress: Optional[_Progress] = None):
    t0 = time.perf_counter()
    if progress:
        progress.stage(f"compiling {graph.name} for {chip.name}")
    program = _compile(graph, target=chip, auto_cast=auto_cast)
    if progress:
        progress.done()
        progress.stage(f"simulating {graph.name} on {chip.name}")
    t1 = time.perf_counter()
    report = _simulate(program, chip, mode="timing", attribute_ops=False).report
    if progress:
        progress.done()
    return report, t1 - t0, time.perf_counter() - t1


def run(model: Union[str, _models.ModelConfig], phase: str = "decode", batch: int = 1, length: int = 2048, *,
        chip: Union[str, _chips.Chip] = "trn3", method: str = "layer-scaled", weight_dtype: str = "bf16",
        kv_dtype: str = "bf16", auto_cast: str = "matmul", layers: Optional[int] = None,
        progress: Optional[bool] = None) -> WorkloadResult:
    """Compiles and simulates one phase of a model on one chip.

    Args:
        model: a config name (``"llama3-8b"``) or a :class:`trnx.models.ModelConfig`.
        phase: ``"prefill"``, ``"decode"`` or ``"train"``.
        batch: sequences.
        length: prompt length (prefill, train) or cached context (decode).
        chip: preset name, YAML path or :class:`trnx.Chip`.
        method: ``"layer-scaled"`` (one layer x layers + head) or ``"full"``.
        weight_dtype: weight element type (``bf16``, ``fp8e4m3``...).
        kv_dtype: K/V cache element type (``bf16``, ``fp16`` or ``fp8e4m3``, read
            as fp8 and dequantised to bf16 on chip).
        layers: decoder layers (default: the model's).
        progress: show a tqdm bar naming each compile/simulate stage (default:
            only when stderr is a terminal).

    Raises:
        DoesNotFitError: the phase needs more HBM than the chip has.
        ValueError: bad model, phase, sizes or method.
        trnx.TrnxError: the compiler or simulator rejected the graph.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if phase not in _models.PHASES:
        raise ValueError(f"phase must be one of {_models.PHASES}, not {phase!r}")
    cfg = _models.get_config(model)
    n_layers = cfg.layers if layers is None else layers
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= cfg.layers:
        raise ValueError(f"layers must be between 1 and {cfg.layers} for {cfg.name}, not {n_layers!r}")
    whole = ModelGraph(cfg, phase, batch, length, n_layers, "full", weight_dtype, kv_dtype)
    config = _chips.load(chip)
    need = check_fits(whole, config)
    bar = _Progress(2 if method == "full" else 4, f"{cfg.name} {phase} b{batch}", progress)
    try:
        runs, compile_s, sim_s, detail = _run_parts(cfg, phase, batch, length, n_layers, method, whole, config,
                                                    weight_dtype, kv_dtype, auto_cast, bar)
    finally:
        bar.close()
    return _result(cfg.name, phase, config, batch, length, method, detail, n_layers, whole.tokens, runs, need,
                   compile_s, sim_s)


def _run_parts(cfg, phase, batch, length, n_layers, method, whole, config, weight_dtype, kv_dtype, auto_cast, bar):
    """Compiles and simulates the whole model or (layer-scaled) one layer and the head."""
    if method == "full":
        report, compile_s, sim_s = _run_graph(whole, config, auto_cast, bar)
        runs = [(report, 1)]
        detail = f"the whole model ({n_layers} layers, embedding, LM head) compiled and simulated as one program"
    else:
        layer = ModelGraph(cfg, phase, batch, length, 1, "layers", weight_dtype, kv_dtype)
        head = ModelGraph(cfg, phase, batch, length, 0, "head", weight_dtype, kv_dtype)
        layer_report, c1, s1 = _run_graph(layer, config, auto_cast, bar)
        head_report, c2, s2 = _run_graph(head, config, auto_cast, bar)
        runs = [(layer_report, n_layers), (head_report, 1)]
        compile_s, sim_s = c1 + c2, s1 + s2
        detail = (f"one decoder layer simulated and multiplied by {n_layers} layers, plus the embedding and "
                  "LM head simulated once (the layers are identical)")
    return runs, compile_s, sim_s, detail


def _result(model: str, phase: str, chip: _chips.Chip, batch: int, length: int, method: str, detail: str,
            layers: int, tokens: int, runs, need: int, compile_s: float, sim_s: float) -> WorkloadResult:
    seconds = sum(r.seconds * n for r, n in runs)
    energy = {level: sum(r.energy[f"{level}_joules"] * n for r, n in runs) for level in ("chip", "node", "facility")}
    flops = sum(r.flops * n for r, n in runs)
    hbm = sum(r.hbm_bytes * n for r, n in runs)
    provisioned_watts = runs[0][0].energy["provisioned_facility_watts"]
    tps = tokens / seconds
    causes, bound, share = combined_critical_path([(r.to_dict(), n) for r, n in runs])
    return WorkloadResult(
        model=model, phase=phase, chip=chip.name, batch=batch, length=length, method=method, method_detail=detail,
        layers=layers, tokens=tokens, latency_seconds=seconds,
        ttft_seconds=seconds if phase == "prefill" else None, tpot_seconds=seconds if phase == "decode" else None,
        tokens_per_second=tps, energy_joules=energy["chip"], node_energy_joules=energy["node"],
        facility_energy_joules=energy["facility"], average_power_watts=energy["chip"] / seconds,
        tokens_per_joule=tokens / energy["chip"],
        tokens_per_second_per_megawatt_chip=1e6 * tokens / energy["chip"],
        tokens_per_second_per_megawatt_node=1e6 * tokens / energy["node"],
        tokens_per_second_per_megawatt_facility=1e6 * tokens / energy["facility"],
        tokens_per_second_per_megawatt_provisioned=1e6 * tps / provisioned_watts,
        achieved_flops_per_second=flops / seconds, achieved_hbm_bytes_per_second=hbm / seconds,
        hbm_bytes_needed=need, hbm_capacity_bytes=int(chip["hbm.capacity_bytes"]),
        compile_seconds=compile_s, simulate_seconds=sim_s, bound_by=bound, bound_fraction=share,
        critical_path_seconds=causes)


def decode(model: Union[str, _models.ModelConfig], batch: int = 1, context: int = 2048, **kwargs: Any) -> WorkloadResult:
    """One decode step (``tpot_seconds``; tokens/s = batch / step time). See :func:`run`."""
    return run(model, "decode", batch, context, **kwargs)


def prefill(model: Union[str, _models.ModelConfig], batch: int = 1, seq: int = 2048, **kwargs: Any) -> WorkloadResult:
    """A prefill of ``batch`` prompts of ``seq`` tokens (``ttft_seconds``). See :func:`run`."""
    return run(model, "prefill", batch, seq, **kwargs)


def training_step(model: Union[str, _models.ModelConfig], batch: int = 1, seq: int = 2048,
                  **kwargs: Any) -> WorkloadResult:
    """A training step: forward, backward, AdamW (tokens/s = batch x seq / step). See :func:`run`."""
    return run(model, "train", batch, seq, **kwargs)


COMPARE_COLUMNS = ["chip", "latency_seconds", "tokens_per_second", "tokens_per_joule",
                   "tokens_per_second_per_megawatt_chip", "tokens_per_second_per_megawatt_facility",
                   "average_power_watts", "achieved_hbm_bytes_per_second", "bound_by", "bound_fraction", "method"]


def compare_chips(model: Union[str, _models.ModelConfig], chips: Sequence[Union[str, _chips.Chip]],
                  phase: str = "decode", batch: int = 1, length: int = 2048, *, columns: Optional[List[str]] = None,
                  **kwargs: Any):
    """Runs the same workload on several chips; a DataFrame indexed by chip.

    ``columns`` picks the fields (default :data:`COMPARE_COLUMNS`; ``None`` and
    ``[]`` give those; pass names of :class:`WorkloadResult` fields).
    """
    results = [run(model, phase, batch, length, chip=c, **kwargs) for c in chips]
    frame = to_frame(results)
    frame = frame[columns or COMPARE_COLUMNS].set_index("chip")
    return frame
