"""Model workloads (Llama decode, prefill, ...) in a sweep.

The model is compiled as two programs through the sweep's compile cache, one
decoder layer (``part="layers"``, ``layers=1``) and the embedding + LM head
(``part="head"``), each simulated in timing mode; the step costs ``layers x
layer + head``. This is the split :mod:`trnx.models.phases` documents for
:mod:`trnx.workloads`; the sweep does it here so both compiles go through its
cache (one compile per group for the whole sweep); trnx.workloads.run compiles
on every call. The HBM fit check is trnx.workloads' own. Metric names follow
trnx.workloads.WorkloadResult where they overlap.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Set, Tuple

from .cache import CompileCache, compile_key

METRICS = ("seconds", "latency_seconds", "energy_joules", "tokens_per_joule", "average_power_watts", "tokens", "tokens_per_second", "seconds_per_token",
           "tokens_per_joule_chip", "tokens_per_joule_node", "tokens_per_joule_facility",
           "tokens_per_second_per_megawatt_chip", "tokens_per_second_per_megawatt_node",
           "tokens_per_second_per_megawatt_facility", "tpot_seconds", "ttft_seconds", "layer_seconds",
           "head_seconds", "hbm_bytes", "flops")


def metric_names() -> Set[str]:
    from .evaluate import BOTTLENECK_METRICS

    return set(METRICS) | BOTTLENECK_METRICS


def _graphs(workload: Mapping[str, Any]) -> Tuple[Any, Any, int]:
    from .. import models

    phase, model, batch = workload["phase"], workload["model"], workload["batch"]
    options = dict(workload.get("options", {}))
    if phase == "decode":
        build = lambda part, layers: models.decode(model, batch, workload["context"], layers=layers,  # noqa: E731
                                                   part=part, **options)
    elif phase == "prefill":
        build = lambda part, layers: models.prefill(model, batch, workload["seq"], layers=layers,  # noqa: E731
                                                    part=part, **options)
    else:
        build = lambda part, layers: models.training_step(model, batch, workload["seq"], layers=layers,  # noqa: E731
                                                          part=part, **options)
    layer = build("layers", 1)
    return layer, build("head", None), build("full", None)


def evaluate(chip: Any, workload: Mapping[str, Any], cache: CompileCache) -> Dict[str, float]:
    """Step latency, energy and token rates of a model workload on ``chip``."""
    import trnx

    from .. import workloads

    layer_graph, head_graph, whole = _graphs(workload)
    workloads.check_fits(whole, chip)  # DoesNotFitError names the HBM bytes needed and available
    layers = whole.layers
    compile_options = dict(workload.get("compile", {}))
    reports = []
    for part, graph in (("layer", layer_graph), ("head", head_graph)):
        program = cache.get_or_compile(
            compile_key(chip, workload, part), lambda g=graph: trnx.compile(g, target=chip, **compile_options),
            pack=lambda p: p.to_bytes(), unpack=lambda b, n=graph.name: trnx.Program.from_bytes(b, n))
        reports.append(trnx.simulate(program, chip, mode="timing", attribute_ops=False).report.to_dict())
    layer, head = reports

    def total(get) -> float:
        return layers * get(layer) + get(head)

    seconds = total(lambda r: r["seconds"])
    chip_joules = total(lambda r: r["energy_joules"])
    node_joules = total(lambda r: r["energy"]["node_joules"])
    facility_joules = total(lambda r: r["energy"]["facility_joules"])
    tokens = float(layer_graph.tokens)
    out = {
        "seconds": seconds, "latency_seconds": seconds, "energy_joules": chip_joules, "average_power_watts": chip_joules / seconds,
        "tokens": tokens, "tokens_per_second": tokens / seconds, "seconds_per_token": seconds / tokens,
        "tokens_per_joule": tokens / chip_joules, "tokens_per_joule_chip": tokens / chip_joules, "tokens_per_joule_node": tokens / node_joules,
        "tokens_per_joule_facility": tokens / facility_joules,
        # tokens/s per MW = tokens/J x 1e6 (a megawatt is 1e6 J/s)
        "tokens_per_second_per_megawatt_chip": tokens / chip_joules * 1e6,
        "tokens_per_second_per_megawatt_node": tokens / node_joules * 1e6,
        "tokens_per_second_per_megawatt_facility": tokens / facility_joules * 1e6,
        "layer_seconds": layer["seconds"], "head_seconds": head["seconds"],
        "hbm_bytes": total(lambda r: r["hbm_bytes"]), "flops": total(lambda r: r["flops"]),
    }
    out["tpot_seconds" if workload["phase"] == "decode" else "ttft_seconds"] = seconds
    from .evaluate import bottleneck_metrics

    out.update(bottleneck_metrics([(layer, layers), (head, 1)]))
    return out
