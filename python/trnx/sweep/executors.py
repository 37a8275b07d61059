"""Where tasks run: in-process, a local process pool (default), or a Dask cluster.

All three offer the same four calls the runner needs: ``submit``, ``wait``
(until at least one future is done), ``share`` (ship a large value once, for
Dask) and ``close``. Dask is imported only when asked for.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import threading
from typing import Any, Callable, Optional, Set, Tuple


class InlineExecutor:
    """Runs each task in this process as it is submitted (``jobs=0``: debugging and tests)."""

    workers = 1

    def __init__(self) -> None:
        self.description = "inline"

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed to the runner like a pool would
            future.set_exception(e)
        return future

    def wait(self, futures: Set[Any]) -> Tuple[Set[Any], Set[Any]]:
        return set(futures), set()

    def share(self, value: Any) -> Any:
        return value

    def restart(self) -> None:
        pass

    def close(self, cancel: bool = False) -> None:
        pass


def _init_local_worker(parent_pid: int) -> None:
    # Ctrl-C is for the parent (it cancels and saves); and a worker must not
    # outlive a killed parent, or it keeps burning a core with no one to listen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        import time

        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine (spawned, so no state leaks in)."""

    def __init__(self, jobs: int) -> None:
        self.workers = max(1, jobs)
        self.description = f"local:{self.workers}"
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_init_local_worker, initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> cf.Future:
        return self._pool.submit(fn, *args, **kwargs)

    def wait(self, futures: Set[Any]) -> Tuple[Set[Any], Set[Any]]:
        done, pending = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return set(done), set(pending)

    def share(self, value: Any) -> Any:
        return value

    def restart(self) -> None:
        """A fresh pool after a worker died (the old one refuses new work)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskExecutor:
    """Tasks on a Dask cluster: an existing scheduler, or a LocalCluster of ``local_workers`` processes."""

    def __init__(self, scheduler: Optional[str] = None, local_workers: Optional[int] = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise RuntimeError(f"Dask executors need the 'distributed' package: {e}") from None
        self._cluster = None
        if scheduler:
            self._client = Client(scheduler, timeout="30s")
            self.description = f"dask:{scheduler}"
        else:
            n = max(1, int(local_workers or 1))
            # One thread per worker process: the simulator holds the GIL, threads would not help.
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
            self.description = f"dask-local:{n}"
        self.workers = max(1, sum(self._client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._client.submit(fn, *args, pure=False, **kwargs)

    def wait(self, futures: Set[Any]) -> Tuple[Set[Any], Set[Any]]:
        from distributed import wait

        done, pending = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done), set(pending)

    def share(self, value: Any) -> Any:
        # Scattered once; Dask copies it to each worker that runs a task needing it.
        return self._client.scatter(value, hash=False)

    def restart(self) -> None:
        pass  # Dask reschedules work of lost workers itself

    def close(self, cancel: bool = False) -> None:
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


Executor = Any  # InlineExecutor | LocalExecutor | DaskExecutor


def make_executor(jobs: Optional[int] = None, scheduler: Optional[str] = None,
                  dask_local: Optional[int] = None) -> Executor:
    """The executor the arguments ask for; default: a local pool with one process per CPU."""
    if scheduler and dask_local:
        raise ValueError("give either a scheduler address or dask_local workers, not both")
    if scheduler or dask_local:
        return DaskExecutor(scheduler, dask_local)
    if jobs == 0:
        return InlineExecutor()
    if jobs is not None and jobs < 0:
        raise ValueError(f"jobs must be >= 0, not {jobs}")
    return LocalExecutor(jobs or os.cpu_count() or 1)


def is_broken_pool(error: BaseException) -> bool:
    """True if ``error`` means the worker process died rather than the task failing."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(error, BrokenProcessPool)
