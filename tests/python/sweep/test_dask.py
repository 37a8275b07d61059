"""The Dask executor on a real LocalCluster of 2 worker processes."""
import pytest

from trnx import sweep

pytest.importorskip("distributed")

SPEC = """
name: dask
base: trn3
parameters:
  hbm.bytes_per_second: [2e12, 4e12, 8e12]
  psum_banks: [8, 4]
evaluator: sweep_evaluators:synthetic
workloads:
  - builtin: gemm
    m: 128
"""


def test_local_cluster_runs_every_task_and_compiles_once_per_group(write_spec, tmp_path):
    spec = write_spec(SPEC)
    summary = sweep.run(spec, dask_local=2, db=tmp_path / "d.sqlite", progress=False)
    assert summary.executor == "dask-local:2"
    assert (summary.tasks, summary.completed, summary.errors) == (6, 6, 0)
    assert summary.compiles == 2  # one per psum_banks value, shipped to the other worker by Dask
    frame = summary.frame()
    # trn3 PE clock 2.56 GHz (derived from S6 671 TF dense BF16).
    assert sorted(frame["seconds"]) == sorted(1e12 / b + 1e9 / 2.56e9 for b in (2e12, 4e12, 8e12) for _ in (0, 1))
