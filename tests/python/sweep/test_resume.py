"""Kill a running ``trnx-sweep`` mid-way: no finished row is lost, and a re-run does only the rest."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import SOURCE_DIR

SPEC = """
name: slow
base: trn3
evaluator: sweep_evaluators:slow
parameters:
  hbm.bytes_per_second: {min: 1.0e12, max: 8.0e12, steps: 24}
workloads: [{builtin: gemm}]
"""


def ok_rows(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM results WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def test_kill_mid_sweep_then_resume(write_spec, sweep_cli, tmp_path):
    spec, db = write_spec(SPEC), tmp_path / "slow.sqlite"
    command = [sys.executable, str(SOURCE_DIR / "python" / "bin" / "trnx-sweep"), str(spec), "-j", "1", "--db",
               str(db), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 60
        while ok_rows(db) < 5 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(1.5)  # the orphaned worker notices its parent is gone
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = con.execute("SELECT point_key, finished_at, run_id FROM results").fetchall()
    assert 5 <= len(before) < 24
    assert {run for _, _, run in before} == {1}

    again = sweep_cli(spec, "-j", "1", "--db", db, "-q")
    assert again.returncode == 0, again.stderr
    assert f"{24 - len(before)} run (0 errors" in again.stdout and f"{len(before)} already in" in again.stdout
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 24
        kept = con.execute("SELECT point_key, finished_at, run_id FROM results WHERE run_id = 1").fetchall()
        runs = con.execute("SELECT skipped, completed FROM runs ORDER BY id").fetchall()
    assert sorted(kept) == sorted(before)  # finished rows were not recomputed
    assert runs[-1] == (len(before), 24 - len(before))
    # the killed run's worker did not linger
    leftovers = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == []
