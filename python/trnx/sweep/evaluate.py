"""The default evaluator: compile (through the cache) and simulate one workload on one chip.

An evaluator is any ``evaluate(chip, workload, compiled_cache) -> {metric:
number}``; a spec picks another with ``evaluator: module:function``. This one
handles ``mlir`` workloads (MLIR text, built-in kernels included) with
``trnx.compile`` + ``trnx.simulate(mode="timing")``, and ``model`` workloads
(:mod:`.modelrun`).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Set

from .cache import CompileCache, compile_key

# Scalar fields of the simulation report (docs/report.md) kept as metrics.
REPORT_METRICS = ("seconds", "cycles", "instructions", "flops", "achieved_flops_per_second",
                  "peak_flops_per_second", "hbm_bytes", "achieved_hbm_bytes_per_second",
                  "peak_hbm_bytes_per_second", "energy_joules", "average_power_watts")
# report.workload fields, present when the workload says how many tokens it makes.
TOKEN_METRICS = ("tokens", "tokens_per_second", "seconds_per_token", "tokens_per_joule_chip",
                 "tokens_per_joule_node", "tokens_per_joule_facility", "tokens_per_second_per_megawatt_chip",
                 "tokens_per_second_per_megawatt_node", "tokens_per_second_per_megawatt_facility",
                 "tokens_per_second_per_megawatt_provisioned")


# The critical path by cause (docs/report.md "bottleneck"); bound_by is stored as text.
CRITICAL_PATH_CAUSES = ("pe", "act", "dve", "pool", "sp", "dma_issue", "dma_engines", "hbm", "latency", "conflict",
                        "link")
BOTTLENECK_METRICS = {"bound_fraction"} | {f"critical_{c}_seconds" for c in CRITICAL_PATH_CAUSES}


def metric_names(workload: Mapping[str, Any]) -> Set[str]:
    """The metrics :func:`evaluate` returns for ``workload`` (spec checking uses it)."""
    if workload["kind"] == "model":
        from . import modelrun

        return modelrun.metric_names()
    names = set(REPORT_METRICS) | BOTTLENECK_METRICS
    if workload.get("tokens"):
        names |= set(TOKEN_METRICS)
    return names


def evaluate(chip: Any, workload: Mapping[str, Any], compiled_cache: CompileCache) -> Dict[str, float]:
    """Metrics of ``workload`` on ``chip`` (a :class:`trnx.Chip`), compiling at most once per group.

    ``workload["compile"]`` holds the spec's compile options (``auto_cast``...).
    """
    if workload["kind"] == "model":
        from . import modelrun

        return modelrun.evaluate(chip, workload, compiled_cache)
    return evaluate_mlir(chip, workload, compiled_cache)


def evaluate_mlir(chip: Any, workload: Mapping[str, Any], cache: CompileCache) -> Dict[str, float]:
    """``mlir`` workloads: one program, simulated in timing mode."""
    import trnx

    options = dict(workload.get("compile", {}))
    program = cache.get_or_compile(
        compile_key(chip, workload), lambda: trnx.compile(workload["text"], target=chip, **options),
        pack=lambda p: p.to_bytes(), unpack=lambda b: trnx.Program.from_bytes(b, workload["name"]))
    tokens = workload.get("tokens")
    report = trnx.simulate(program, chip, mode="timing", attribute_ops=False, tokens=tokens).report.to_dict()
    metrics = {k: float(report[k]) for k in REPORT_METRICS if k in report}
    if tokens:
        metrics.update({k: float(v) for k, v in report.get("workload", {}).items() if k in TOKEN_METRICS})
    metrics.update(bottleneck_metrics([(report, 1)]))
    return metrics


def bottleneck_metrics(parts) -> Dict[str, Any]:
    """``bound_by`` (text: what held up most of the critical path), ``bound_fraction`` and
    ``critical_<cause>_seconds`` per cause, of a step made of simulated parts ([(report, count)])."""
    from ..report import combined_critical_path

    causes, bound, share = combined_critical_path(parts)
    out: Dict[str, Any] = {f"critical_{cause}_seconds": seconds for cause, seconds in causes.items()}
    out.update(bound_by=bound, bound_fraction=share)
    return out
