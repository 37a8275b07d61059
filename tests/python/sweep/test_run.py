"""Running sweeps: rows and metrics, resume, error rows, compile-once across processes, exports."""
import json
import sqlite3

import pytest

import trnx
from trnx import sweep

REAL = """
name: real
base: trn3
parameters:
  hbm.bytes_per_second: [2e12, 4e12, 8e12]     # simulate-only
  sbuf_bytes_per_partition: [196608, 131072]  # compile-relevant
workloads:
  - builtin: gemm
    m: 128
    k: 256
    n: 512
  - builtin: mlp
    m: 64
    k: 256
    n: 512
metrics: [seconds, energy_joules, tokens_per_second]
"""


def test_local_pool_compiles_once_per_group_and_resumes(write_spec, tmp_path):
    db = tmp_path / "r.sqlite"
    summary = sweep.run(write_spec(REAL), jobs=2, db=db, progress=False)
    assert (summary.points, summary.tasks, summary.completed, summary.errors) == (6, 12, 12, 0)
    # 2 workloads x 2 SBUF sizes; the HBM points reuse the programs, also on the other process.
    assert summary.compiles == 4
    frame = summary.frame()
    assert len(frame) == 12 and set(frame["status"]) == {"ok"}
    assert {"hbm.bytes_per_second", "sbuf_bytes_per_partition", "seconds", "energy_joules"} <= set(frame.columns)
    gemm = frame[frame["workload"] == "gemm-128x256x512"].sort_values("hbm.bytes_per_second")
    assert (gemm["seconds"] > 0).all() and gemm["seconds"].is_monotonic_decreasing
    assert set(frame["trnx_version"]) == {trnx.version_string}  # every row names the build
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT SUM(compiles) FROM results").fetchone()[0] == 4
        assert {v for (v,) in con.execute("SELECT trnx_version FROM results")} == {trnx.version_string}
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = sweep.run(write_spec(REAL), jobs=2, db=db, progress=False)
    assert (again.completed, again.skipped, again.compiles) == (0, 12, 0)


def test_failing_points_are_rows_and_the_sweep_goes_on(write_spec, tmp_path):
    spec = write_spec("""
        base: trn3
        evaluator: sweep_evaluators:fails_above_4tb
        parameters:
          hbm.bytes_per_second: [2e12, 4e12, 8e12, 16e12]
          pe_array.rows: [128, 256]        # 256 > 128 partitions: the chip itself is invalid
        workloads: [{builtin: gemm}]
        """)
    summary = sweep.run(spec, jobs=0, db=tmp_path / "e.sqlite", progress=False)
    assert (summary.completed, summary.errors) == (8, 6)
    frame = summary.frame()
    bad_chip = frame[frame["pe_array.rows"] == 256]
    assert (bad_chip["status"] == "error").all()
    assert bad_chip["error"].str.contains("pe_array.rows and pe_array.cols cannot exceed partitions").all()
    refused = frame[(frame["pe_array.rows"] == 128) & (frame["hbm.bytes_per_second"] > 4e12)]
    assert list(refused["status"]) == ["error"] * 2
    assert refused["error"].str.startswith("ValueError: refusing").all()
    ok = frame[frame["status"] == "ok"]
    assert sorted(ok["hbm_tb_per_second"]) == [2.0, 4.0]
    # Errors are finished rows: a re-run skips them unless asked to retry.
    assert sweep.run(spec, jobs=0, db=tmp_path / "e.sqlite", progress=False).completed == 0
    retry = sweep.run(spec, jobs=0, db=tmp_path / "e.sqlite", progress=False, retry_errors=True)
    assert (retry.completed, retry.errors) == (6, 6) and len(retry.frame()) == 8


def test_compile_errors_are_compiled_once_and_recorded(write_spec, tmp_path):
    spec = write_spec("""
        base: trn3
        parameters:
          hbm.bytes_per_second: [2e12, 4e12, 8e12]
        workloads:
          - mlir: "func.func @main(%a: tensor<4xf64>) -> tensor<4xf64> { return %a : tensor<4xf64> }"
        """)
    summary = sweep.run(spec, jobs=0, db=tmp_path / "c.sqlite", progress=False)
    assert (summary.completed, summary.errors, summary.compiles) == (3, 3, 1)
    assert summary.frame()["error"].str.contains("f64").all()


def test_exports(write_spec, tmp_path, sweep_cli):
    spec = write_spec(REAL.replace("[2e12, 4e12, 8e12]", "[4e12]").replace("[196608, 131072]", "[196608]"))
    db, csv, jsonl = tmp_path / "x.sqlite", tmp_path / "x.csv", tmp_path / "x.jsonl"
    proc = sweep_cli(spec, "-j", "1", "--db", db, "--export", csv, "--export", jsonl, "-q",
                     "--pareto", "seconds,energy_joules", "--plot", tmp_path / "p.png")
    assert proc.returncode == 0, proc.stderr
    assert "2 run (0 errors, 2 compiles)" in proc.stdout and "Pareto front for gemm-128x256x512" in proc.stdout
    import pandas as pd

    frame = pd.read_csv(csv)
    assert len(frame) == 2 and frame["status"].eq("ok").all() and "hbm.bytes_per_second" in frame
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["parameters"] == {"hbm.bytes_per_second": 4e12,
                                                         "sbuf_bytes_per_partition": 196608}
    assert set(rows[0]["metrics"]) == {"seconds", "energy_joules", "tokens_per_second"}
    assert (tmp_path / "p.png").stat().st_size > 1000
    from trnx.sweep.export import parquet_available

    if not parquet_available():
        with pytest.raises(ValueError, match="Parquet needs pyarrow"):
            sweep.export(db, tmp_path / "x.parquet")


def test_model_workloads_compile_two_programs_per_group(write_spec, tmp_path):
    spec = write_spec("""
        base: trn3
        parameters:
          hbm.bytes_per_second: [2e12, 8e12]
        workloads:
          - model: tiny
            phase: decode
            batch: [1, 4]
            context: 128
        metrics: [tpot_seconds, tokens_per_second, tokens_per_second_per_megawatt_chip]
        """)
    summary = sweep.run(spec, jobs=0, db=tmp_path / "m.sqlite", progress=False)
    assert (summary.completed, summary.errors, summary.compiles) == (4, 0, 4)  # (layer + head) x 2 batches
    frame = summary.frame()
    for _, row in frame.iterrows():
        batch = 4 if row["workload"].endswith("b4/c128") else 1
        assert row["tokens_per_second"] == pytest.approx(batch / row["tpot_seconds"])
    slow, fast = (frame[frame["workload"] == "tiny/decode/b4/c128"].sort_values("hbm.bytes_per_second")
                  ["tpot_seconds"])
    assert fast <= slow
