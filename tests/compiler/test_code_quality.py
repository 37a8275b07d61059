"""The generated-code quality bars of docs/performance.md, through the real
pipeline (trnx-compile / trnx-sim --gemm): GEMM >= 85% of PE peak, GEMV and
a large add >= 70% / 80% of HBM peak, never above 100%."""
import subprocess
import sys


def test_code_quality_bars_hold_on_trn3(source_dir):
    import os

    build = os.environ.get("TRNX_BUILD_DIR", str(source_dir / "build"))
    proc = subprocess.run([sys.executable, str(source_dir / "benchmarks" / "code_quality.py"), "--build", build,
                           "--check"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("| ") >= 3
