"""docs/sweeps.md's array-size x HBM-bandwidth table is what a fresh run of
examples/sweeps/array_vs_hbm.yaml gives (scripts/make-arch-sweep-doc.py), and
it moves as the physics says: the GEMM with the array, the GEMV with HBM
bandwidth until the DMA engines bound it."""
import os
import pathlib
import subprocess
import sys

import pytest

import trnx.sweep

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[3]


def test_table_is_current():
    proc = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "make-arch-sweep-doc.py"), "--check"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert proc.returncode == 0, proc.stderr


def test_results_follow_the_physics(tmp_path):
    frame = trnx.sweep.run(str(SOURCE_DIR / "examples" / "sweeps" / "array_vs_hbm.yaml"), jobs=1,
                           db=str(tmp_path / "s.sqlite"), progress=False).frame()
    t = {(int(r["pe_array.rows"]), r["hbm.bytes_per_second"], r.workload.startswith("gemm-4096")): r
         for _, r in frame.iterrows()}
    gemm = lambda rows, hbm: t[(rows, hbm, True)]  # noqa: E731
    gemv = lambda rows, hbm: t[(rows, hbm, False)]  # noqa: E731
    # The GEMM follows the array (4x MACs per step) at the preset's bandwidth.
    assert gemm(64, 4.9e12).seconds / gemm(128, 4.9e12).seconds == pytest.approx(3.74, rel=0.1)
    # (>= 2.8: P2's 33 B/ns DMA engines expose a little operand traffic on the 256x256 array.)
    assert gemm(128, 4.9e12).seconds / gemm(256, 4.9e12).seconds >= 2.8
    assert gemm(128, 19.6e12).seconds == pytest.approx(gemm(128, 4.9e12).seconds, rel=0.01)
    # The GEMV follows HBM bandwidth, then the DMA engines' rate bounds it (and the report says so).
    assert gemv(128, 2.45e12).seconds / gemv(128, 4.9e12).seconds >= 1.7
    assert gemv(128, 2.45e12).bound_by == "hbm"
    assert gemv(128, 19.6e12).bound_by == "dma_engines"
    assert gemv(128, 19.6e12).seconds == pytest.approx(gemv(128, 9.8e12).seconds, rel=0.01)
    # On a 64x64 array the weight-stationary GEMV runs out of PE first.
    assert gemv(64, 19.6e12).bound_by == "pe"
    # One compile per array size and workload: HBM bandwidth is simulate-only.
    assert frame.compiles.sum() == 6
