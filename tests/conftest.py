"""Shared pytest fixtures: where the built tools are, and helpers to run them."""
import os
import pathlib
import re
import subprocess

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("TRNX_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[1]))
BUILD_DIR = pathlib.Path(os.environ.get("TRNX_BUILD_DIR", SOURCE_DIR / "build"))

TOOLS = {
    "trnx-as": BUILD_DIR / "isa" / "trnx-as",
    "trnx-objdump": BUILD_DIR / "isa" / "trnx-objdump",
    "trnx-sim": BUILD_DIR / "simulator" / "trnx-sim",
    "trnx-compile": BUILD_DIR / "compiler" / "trnx-compile",
    "trnx-opt": BUILD_DIR / "compiler" / "trnx-opt",
}


class Tools:
    """Runs the command-line tools and returns CompletedProcess objects."""

    def path(self, name):
        return str(TOOLS[name])

    def run(self, name, *args, check=True, timeout=600):
        proc = subprocess.run([self.path(name), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{name} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def assemble(self, source, out):
        self.run("trnx-as", source, "-o", out)
        return out


@pytest.fixture(scope="session")
def tools():
    return Tools()


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


# An error line: "error: what", or MLIR's "file:line[:col]: error: what".
ERROR_LINE = re.compile(r"^(?:[^ ]+:\d+(?::\d+)?: )?error: \S")


def error_line(message):
    """The line a tool prints for an error message (isa/Error.h diagnosticLine)."""
    m = re.match(r"^([^ ]+:\d+(?::\d+)?: )", message)
    return f"{m.group(1)}error: {message[m.end():]}" if m else f"error: {message}"


def assert_one_error_line(proc):
    """A failed tool run: exit status 1 and exactly one error line on stderr."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), proc.stderr


def relative_error(got, ref):
    ref = np.asarray(ref, dtype=np.float64)
    scale = max(float(np.abs(ref).max()), 1e-30)
    return float(np.abs(np.asarray(got, dtype=np.float64) - ref).max()) / scale
