"""Running a sweep: spec -> design points x workloads -> executor -> results store, with progress.

Tasks are grouped by the compile they need. The first task of a group (the
leader) compiles and sends its programs back; the group's other tasks go out
with those programs, so each distinct compile runs once in the sweep.
"""
from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

from . import points as points_mod
from .cache import compile_group
from .executors import make_executor, is_broken_pool
from .spec import Spec, SpecLike, load
from .store import Store
from .worker import Task, run_task

MAX_ATTEMPTS = 2  # a task in flight when a worker process dies twice is recorded as an error


@dataclass
class RunSummary:
    """What one :func:`run` did; ``frame()`` reads every stored row of the sweep."""

    db: str
    sweep: str
    run_id: int
    points: int
    workloads: int
    tasks: int
    skipped: int
    completed: int
    errors: int
    compiles: int
    elapsed_seconds: float
    executor: str
    interrupted: bool = False

    def frame(self):
        with Store(self.db) as store:
            return store.frame(self.sweep)

    def __str__(self) -> str:
        state = "interrupted" if self.interrupted else "done"
        return (f"{self.sweep}: {state}: {self.points} design points x {self.workloads} workloads = {self.tasks} tasks; "
                f"{self.completed} run ({self.errors} errors, {self.compiles} compiles) and {self.skipped} "
                f"already in {self.db}; {self.elapsed_seconds:.1f} s on {self.executor}")


def base_values(base_yaml: str) -> Dict[str, Any]:
    """The base chip's keys as constraints see them (dtype lists as lists of names)."""
    from .. import chips

    values = chips.from_yaml(base_yaml, "sweep base").to_dict()
    for key, value in values.items():
        if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
            values[key] = [v.strip() for v in value[1:-1].split(",") if v.strip()]
    return values


def plan(spec: Spec) -> Tuple[List[points_mod.DesignPoint], List[Task]]:
    """The design points and the tasks (point x workload) of a spec, in run order."""
    design_points = points_mod.generate(spec, base_values(spec.base_yaml))
    tasks = []
    for point in design_points:
        for workload in spec.workloads:
            if spec.compile_options:
                workload = {**workload, "compile": spec.compile_options}
            identity = {k: v for k, v in workload.items() if k != "text"}
            tasks.append(Task(point.index, point.key, point.overrides, workload,
                              points_mod.canonical_json(identity), compile_group(workload, point.overrides),
                              spec.base_yaml, spec.evaluator, spec.metrics))
    return design_points, tasks


def default_db(spec: Spec) -> str:
    return f"{spec.name}.sqlite"


def run(spec: SpecLike, *, jobs: Optional[int] = None, db: Optional[str] = None, scheduler: Optional[str] = None,
        dask_local: Optional[int] = None, progress: bool = True, retry_errors: bool = False,
        executor: Any = None) -> RunSummary:
    """Runs (or resumes) a sweep and stores one row per (design point, workload).

    Args:
        spec: a spec path, YAML text, dict or :class:`Spec`.
        jobs: local worker processes (default: one per CPU; 0 runs in this process).
        db: the SQLite file (default ``<spec name>.sqlite``); finished rows in it are skipped.
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run on instead.
        dask_local: start a Dask LocalCluster with this many worker processes.
        progress: show a tqdm bar (rate and ETA) on stderr.
        retry_errors: run the rows that failed last time again.
        executor: an executor object to use instead (see :mod:`.executors`).

    Raises:
        SpecError: a bad spec, before any work starts.
    """
    spec = load(spec)
    design_points, tasks = plan(spec)
    db_path = os.fspath(db) if db is not None else default_db(spec)
    store = Store(db_path)
    try:
        done = store.finished(include_errors=not retry_errors)
        todo = [t for t in tasks if (t.point_key, t.workload_key) not in done]
        own_executor = executor is None
        if executor is None:
            # Nothing left to run: no need to start processes or a cluster.
            executor = make_executor(jobs, scheduler, dask_local) if todo else make_executor(0)
        run_id = store.start_run(spec.name, spec.source, spec.digest, spec.text, executor.description,
                                 len(tasks), len(tasks) - len(todo))
        start = time.perf_counter()
        counts = {"completed": 0, "errors": 0, "compiles": 0}
        interrupted = False
        try:
            _Scheduler(executor, store, run_id, spec.name, todo, counts, progress).run()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            store.finish_run(run_id, counts["completed"], counts["errors"])
            if own_executor:
                executor.close(cancel=True)
        summary = RunSummary(db_path, spec.name, run_id, len(design_points), len(spec.workloads), len(tasks),
                             len(tasks) - len(todo),
                             counts["completed"], counts["errors"], counts["compiles"],
                             time.perf_counter() - start, executor.description, interrupted)
    finally:
        store.close()
    if interrupted:
        raise SweepInterrupted(summary)
    return summary


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``summary`` says what was saved (re-run to resume)."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(str(summary))
        self.summary = summary


class _Scheduler:
    """Feeds tasks to an executor group by group and stores results as they finish."""

    def __init__(self, executor: Any, store: Store, run_id: int, sweep: str, todo: List[Task],
                 counts: Dict[str, int], progress: bool) -> None:
        self.executor, self.store, self.run_id, self.sweep, self.counts = executor, store, run_id, sweep, counts
        self.groups: "collections.OrderedDict[str, Deque[Task]]" = collections.OrderedDict()
        for task in todo:
            self.groups.setdefault(task.group, collections.deque()).append(task)
        self.leaders: Deque[str] = collections.deque(self.groups)  # groups whose leader has not been sent
        self.ready: Deque[Tuple[Task, Any]] = collections.deque()  # followers with their group's programs
        self.in_flight: Dict[Any, Tuple[Task, bool, Any, int]] = {}
        self.limit = max(2, 2 * executor.workers)
        self.total = len(todo)
        self.crash_streak = 0  # pool crashes with no task finished in between
        self.progress = progress

    def run(self) -> None:
        from tqdm import tqdm

        with tqdm(total=self.total, unit="task", desc=self.sweep, disable=not self.progress or not self.total,
                  dynamic_ncols=True, smoothing=0.1) as bar:
            self.bar = bar
            self._fill()
            while self.in_flight:
                done, _ = self.executor.wait(set(self.in_flight))
                for future in done:
                    if future in self.in_flight:  # a pool crash may have resubmitted it already
                        self._finish(future)
                self._fill()

    def _fill(self) -> None:
        while len(self.in_flight) < self.limit:
            if self.ready:
                task, seed = self.ready.popleft()
                self._submit(task, False, seed)
            elif self.leaders:
                group = self.leaders.popleft()
                self._submit(self.groups[group].popleft(), True, None)
            else:
                return

    def _submit(self, task: Task, leader: bool, seed: Any, attempt: int = 1) -> None:
        future = self.executor.submit(run_task, task, seed, leader)
        self.in_flight[future] = (task, leader, seed, attempt)

    def _finish(self, future: Any) -> None:
        task, leader, seed, attempt = self.in_flight.pop(future)
        try:
            row = future.result()
            self.crash_streak = 0
        except Exception as e:  # the worker died, or Dask gave up on the task: not the task's own error
            if is_broken_pool(e):
                self.crash_streak += 1
                if self.crash_streak > MAX_ATTEMPTS:
                    raise RuntimeError(f"worker processes keep dying ({e}); nothing was recorded for the "
                                       "tasks in flight, re-run to resume") from None
                if attempt < MAX_ATTEMPTS:
                    self._resubmit_all_after_crash(task, leader, seed, attempt)
                    return
            row = {"point_key": task.point_key, "workload_key": task.workload_key, "status": "error",
                   "error": f"worker failed: {type(e).__name__}: {e}", "metrics": {}, "cache": None}
        if leader:
            self._release_group(task.group, row.get("cache"), row["status"] == "ok")
        self.store.add(self.run_id, self.sweep, task.point_index, task.overrides, _stored_workload(task.workload),
                       row)
        self.counts["completed"] += 1
        self.counts["errors"] += row["status"] == "error"
        self.counts["compiles"] += row.get("compiles", 0)
        self.bar.update(1)
        if self.counts["errors"]:
            self.bar.set_postfix(errors=self.counts["errors"], refresh=False)

    def _release_group(self, group: str, cache: Optional[Mapping[Any, Any]], ok: bool) -> None:
        followers = self.groups[group]
        if not followers:
            return
        if not cache and not ok:
            # The leader failed before compiling anything: let the next task lead instead.
            self.leaders.appendleft(group)
            return
        seed = self.executor.share(dict(cache)) if cache else None
        while followers:
            self.ready.append((followers.popleft(), seed))

    def _resubmit_all_after_crash(self, task: Task, leader: bool, seed: Any, attempt: int) -> None:
        # A dead process breaks the whole local pool: every task in flight comes back the same way.
        lost = [(task, leader, seed, attempt)] + list(self.in_flight.values())
        self.in_flight.clear()
        self.executor.restart()
        for t, lead, s, n in lost:
            self._submit(t, lead, s, n + 1)


def _stored_workload(workload: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in workload.items() if k != "text"}
