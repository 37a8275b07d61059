"""The architecture sensitivity suite (scripts/sensitivity.py): every chip key
moves its workload in the expected direction by a bounded amount, the report
names the expected bound, and docs/performance.md's table is current."""
import subprocess
import sys

from conftest import BUILD_DIR


def test_every_key_moves_its_workload_within_bounds(source_dir):
    proc = subprocess.run([sys.executable, str(source_dir / "scripts" / "sensitivity.py"), "--build-dir",
                           str(BUILD_DIR), "--check", "--check-doc"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
