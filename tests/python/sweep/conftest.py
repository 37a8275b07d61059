"""Fixtures for the sweep tests: spec files, the CLI, and the test evaluators on every worker's path."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

HERE = pathlib.Path(__file__).resolve().parent
BUILD_DIR = pathlib.Path(os.environ.get("TRNX_BUILD_DIR", HERE.parents[2] / "build"))
SOURCE_DIR = HERE.parents[2]

# Spawned workers (local pool, Dask) import the test evaluators by name.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(HERE), str(BUILD_DIR / "python"), os.environ.get("PYTHONPATH", "")) if p)
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def write_spec(tmp_path):
    """write_spec(text, name="spec.yaml") -> path of a spec file (text is dedented)."""

    def write(text, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def sweep_cli():
    """Runs ``trnx-sweep`` (the python/bin wrapper) and returns the CompletedProcess."""

    def run(*args, timeout=300, cwd=None):
        command = [sys.executable, str(SOURCE_DIR / "python" / "bin" / "trnx-sweep"), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)

    return run
