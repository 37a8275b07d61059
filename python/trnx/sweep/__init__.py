"""Architecture-exploration sweeps: chip parameters x workloads -> SQLite, Pareto fronts.

::

    import trnx.sweep
    summary = trnx.sweep.run("examples/sweeps/hbm_vs_pe.yaml", jobs=2, db="hbm.sqlite")
    frame = summary.frame()                                   # one row per (design point, workload)
    front = trnx.sweep.pareto_front(frame, "tokens_per_second_per_megawatt_chip", "seconds")

The same from a shell: ``trnx-sweep SPEC.yaml -j 2 --db hbm.sqlite``. The spec
format, storage schema and executors are described in docs/sweeps.md.
"""
from .cache import COMPILE_KEYS, CompileCache
from .export import export, load_results
from .pareto import pareto_front, plot_pareto
from .runner import RunSummary, SweepInterrupted, plan, run
from .spec import Spec, SpecError, load
from .store import Store

__all__ = ["COMPILE_KEYS", "CompileCache", "RunSummary", "Spec", "SpecError", "Store", "SweepInterrupted", "export",
           "load", "load_results", "pareto_front", "plan", "plot_pareto", "run"]
