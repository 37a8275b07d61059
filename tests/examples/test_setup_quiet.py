"""scripts/setup.sh keeps apt quiet: its output goes to a log file and the
script prints where; when apt fails, it prints the log's tail and exits 1.
Runs the script with stub dpkg-query/apt-get/sudo on PATH (nothing installed)."""
import os
import stat
import subprocess


def stub(bin_dir, name, body):
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_setup(source_dir, tmp_path, apt_status):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "dpkg-query", "exit 1")  # every package missing
    stub(bin_dir, "sudo", 'exec "$@"')
    stub(bin_dir, "id", "echo 0")
    stub(bin_dir, "apt-get", f'i=0; while [ $i -lt 500 ]; do echo "apt line $i"; i=$((i+1)); done; exit {apt_status}')
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", TRNX_SETUP_LOG=str(tmp_path / "setup.log"))
    return subprocess.run(["bash", str(source_dir / "scripts" / "setup.sh")], capture_output=True, text=True,
                          env=env, timeout=60)


def test_success_prints_only_where_the_log_is(source_dir, tmp_path):
    proc = run_setup(source_dir, tmp_path, 0)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "apt line" not in proc.stderr and str(tmp_path / "setup.log") in proc.stderr
    assert len(proc.stderr.splitlines()) <= 2
    assert "apt line 499" in (tmp_path / "setup.log").read_text()


def test_failure_prints_the_log_tail(source_dir, tmp_path):
    proc = run_setup(source_dir, tmp_path, 100)
    assert proc.returncode == 1
    assert "apt line 499" in proc.stderr and "apt line 100" not in proc.stderr
    assert "error: apt-get failed" in proc.stderr
