"""``trnx-sweep``: run or resume a sweep from a spec, then export and show Pareto fronts.

Bad specs and flags get one ``error:`` line and exit status 1 before any work
starts; Ctrl-C saves what finished and exits 130 (re-run to resume).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence, Tuple

from .._trnx import diagnostic_line

USAGE_EPILOG = """examples:
  trnx-sweep examples/sweeps/hbm_vs_pe.yaml -j 2 --db hbm.sqlite
  trnx-sweep spec.yaml --dask-local 2 --export results.csv
  trnx-sweep spec.yaml --scheduler tcp://10.0.0.5:8786
  trnx-sweep spec.yaml --pareto tokens_per_second_per_megawatt_chip,seconds --plot front.png
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and status 1, like every trnx tool
        sys.stderr.write(f"error: {message}\n")
        sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="trnx-sweep", description="Sweep chip parameters over workloads; results go to SQLite "
                "(re-running resumes). Spec format: docs/sweeps.md.", epilog=USAGE_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep spec")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--db", metavar="FILE", help="results database (default: <spec name>.sqlite)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask scheduler")
    p.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N workers")
    p.add_argument("--export", action="append", default=[], metavar="FILE",
                   help="write results to FILE (.csv, .jsonl, or .parquet with pyarrow); repeatable")
    p.add_argument("--pareto", metavar="A,B", help="print the Pareto front over metrics A and B "
                   "(METRIC, METRIC:min or METRIC:max; default directions from the names)")
    p.add_argument("--plot", metavar="FILE.png", help="with --pareto: save the front as a plot")
    p.add_argument("--retry-errors", action="store_true", help="run rows that failed before again")
    p.add_argument("--dry-run", action="store_true", help="check the spec and count the tasks, run nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _objectives(text: str) -> Tuple[Tuple[str, str], Tuple[str, str]]:
    from .pareto import parse_objective

    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"--pareto takes two metrics separated by a comma, not '{text}'")
    return parse_objective(parts[0]), parse_objective(parts[1])


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


def _main(args: argparse.Namespace) -> int:
    from .export import export as export_results, export_format
    from .runner import SweepInterrupted, default_db, plan, run
    from .spec import SpecError, load

    try:
        if args.jobs is not None and args.jobs < 1:
            raise ValueError(f"-j takes a positive number of processes, not {args.jobs}")
        if args.dask_local is not None and args.dask_local < 1:
            raise ValueError(f"--dask-local takes a positive number of workers, not {args.dask_local}")
        if args.scheduler and args.dask_local:
            raise ValueError("give --scheduler or --dask-local, not both")
        for path in args.export:
            export_format(path)
        objectives = _objectives(args.pareto) if args.pareto else None
        if args.plot and not objectives:
            raise ValueError("--plot needs --pareto A,B")
        spec = load(args.spec)
        design_points, tasks = plan(spec)
    except (SpecError, ValueError) as e:
        sys.stderr.write(diagnostic_line("error", str(e)) + "\n")
        return 1
    db = args.db or default_db(spec)
    if args.dry_run:
        print(f"{spec.name}: {len(design_points)} design points x {len(spec.workloads)} workloads = "
              f"{len(tasks)} tasks (results in {db})")
        return 0
    try:
        summary = run(spec, jobs=args.jobs, db=db, scheduler=args.scheduler, dask_local=args.dask_local,
                      progress=not args.quiet, retry_errors=args.retry_errors)
    except SweepInterrupted as e:
        sys.stderr.write(f"error: interrupted; finished rows are saved, re-run to resume ({e.summary})\n")
        return 130
    except (OSError, RuntimeError) as e:
        sys.stderr.write(diagnostic_line("error", str(e)) + "\n")
        return 1
    print(summary)
    for path in args.export:
        rows = export_results(db, path, spec.name)
        print(f"wrote {rows} rows to {path}")
    if objectives:
        return _show_pareto(db, spec.name, objectives, args.plot)
    return 0


def _show_pareto(db: str, sweep: str, objectives, plot: Optional[str]) -> int:
    from .export import load_results
    from .pareto import pareto_front, plot_pareto

    (x, x_dir), (y, y_dir) = objectives
    frame = load_results(db, sweep)
    missing = [m for m in (x, y) if m not in frame.columns]
    if missing:
        sys.stderr.write(f"error: no metric '{missing[0]}' in the results\n")
        return 1
    workloads: List[str] = list(dict.fromkeys(frame["workload"]))
    axes = None
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(workloads), 1, figsize=(6.5, 4 * len(workloads)), squeeze=False)
    for i, name in enumerate(workloads):
        rows = frame[frame["workload"] == name]
        front = pareto_front(rows, x, y, x_dir, y_dir)
        params = _parameter_columns(rows)
        print(f"\nPareto front for {name}: {x} ({x_dir}) vs {y} ({y_dir}), {len(front)} of {len(rows)} rows")
        print(front[["point", *params, x, y]].to_string(index=False) if len(front) else "(no ok rows)")
        if axes is not None:
            plot_pareto(rows, x, y, x_dir, y_dir, ax=axes[i][0]).set_title(name)
    if plot:
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        print(f"wrote {plot}")
    return 0


def _parameter_columns(frame) -> List[str]:
    from .. import _trnx

    keys = {f["key"] for f in _trnx.chip_fields()}
    return [c for c in frame.columns if c in keys]


if __name__ == "__main__":
    sys.exit(main())
