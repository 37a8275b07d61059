"""What runs on a worker: one (design point, workload) task -> one result row.

Tasks carry everything they need as plain data (the base chip as YAML, MLIR
text inline), so a Dask worker on another machine needs only ``trnx``
installed. Any failure becomes an ``error`` row; nothing escapes a task.
"""
from __future__ import annotations

import importlib
import math
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from .cache import CompileCache, CompileError
from .spec import chip_value


@dataclass(frozen=True)
class Task:
    """One (design point, workload) evaluation, as sent to a worker."""

    point_index: int
    point_key: str
    overrides: Dict[str, Any]
    workload: Dict[str, Any]
    workload_key: str
    group: str
    base_yaml: str
    evaluator: str
    metrics: Optional[List[str]]


# Per worker process: the compile cache, loaded base chips and evaluator functions.
_CACHE = CompileCache()
_BASES: Dict[str, Any] = {}
_EVALUATORS: Dict[str, Callable[..., Dict[str, Any]]] = {}



def _trnx_version() -> str:
    from .. import version_string

    return version_string

def worker_cache() -> CompileCache:
    """This process's compile cache (tests read ``compiles`` from it)."""
    return _CACHE


def _base_chip(yaml_text: str) -> Any:
    import trnx

    chip = _BASES.get(yaml_text)
    if chip is None:
        chip = _BASES[yaml_text] = trnx.chips.from_yaml(yaml_text, "sweep base")
    return chip


def _evaluator(name: str) -> Callable[..., Dict[str, Any]]:
    fn = _EVALUATORS.get(name)
    if fn is None:
        module, _, attr = name.partition(":")
        fn = _EVALUATORS[name] = getattr(importlib.import_module(module), attr)
    return fn


def _error_text(e: BaseException) -> str:
    from .._trnx import TrnxError

    if isinstance(e, TrnxError):
        return str(e)
    if isinstance(e, CompileError):
        return str(e) if e.error_type == "TrnxError" else f"{e.error_type}: {e}"
    return f"{type(e).__name__}: {e}"


def _clean(metrics: Mapping[str, Any], keep: Optional[List[str]]) -> Dict[str, Optional[float]]:
    out: Dict[str, Optional[float]] = {}
    for name in keep if keep is not None else sorted(metrics):
        value = metrics.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if keep is None:
                continue  # not a number: not a metric
            value = None
        elif not math.isfinite(value):
            value = None
        out[name] = None if value is None else float(value)
    return out


def run_task(task: Task, seed: Optional[Mapping[Any, Any]] = None, export_cache: bool = False) -> Dict[str, Any]:
    """Evaluates ``task``; returns the row (and, if asked, the compiled programs it used).

    ``seed`` are cache entries another worker compiled for this task's group.
    """
    start = time.perf_counter()
    if seed:
        _CACHE.seed(seed)
    _CACHE.start_recording()
    compiles_before = _CACHE.compiles
    row: Dict[str, Any] = {"point_key": task.point_key, "workload_key": task.workload_key, "status": "ok",
                           "error": None, "metrics": {}}
    try:
        base = _base_chip(task.base_yaml)
        chip = base.derive({k: chip_value(v) for k, v in task.overrides.items()},
                           name=f"{base.name}-p{task.point_index}")
        metrics = _evaluator(task.evaluator)(chip, task.workload, _CACHE)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"evaluator {task.evaluator} returned {type(metrics).__name__}, not a dict")
        row["metrics"] = _clean(metrics, task.metrics)
        if isinstance(metrics.get("bound_by"), str):
            row["bound_by"] = metrics["bound_by"]  # text, stored in a column of its own
    except Exception as e:  # every failure is data: the row records it and the sweep goes on
        row.update(status="error", error=_error_text(e))
        if not isinstance(e, (CompileError, ValueError)) and type(e).__name__ != "TrnxError":
            row["error"] += "\n" + "".join(traceback.format_exception(e)[-3:]).rstrip()
    row["compiles"] = _CACHE.compiles - compiles_before
    row["elapsed_seconds"] = time.perf_counter() - start
    row["host"] = socket.gethostname()
    row["trnx_version"] = _trnx_version()  # the build that computed the row
    row["cache"] = _CACHE.export(_CACHE.recorded()) if export_cache else None
    return row
