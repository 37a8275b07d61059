"""Conventions every trnx command-line tool shares with LLVM/MLIR tools:
--version prints trnx's version (one string for all tools, reports and
traces), valued options take --name VALUE and --name=VALUE, and trnx-compile's
--help lists trnx's options and the MLIR ones a user needs, not every
registered LLVM target option."""
import json
import re

import pytest

from conftest import assert_one_error_line

TOOLS = ["trnx-as", "trnx-objdump", "trnx-sim", "trnx-compile", "trnx-opt"]
VERSION = re.compile(r"(trnx-[a-z]+) \(trnx\) (\d+\.\d+\.\d+(?: \(git [0-9a-f]+(?:-dirty)?\))?)$", re.M)


def version_of(tools, name):
    out = tools.run(name, "--version").stdout
    m = VERSION.search(out)
    assert m and m.group(1) == name, out
    return m.group(2)


def test_every_tool_prints_the_same_trnx_version(tools):
    versions = {name: version_of(tools, name) for name in TOOLS}
    assert len(set(versions.values())) == 1, versions
    # trnx-compile says which LLVM it was built with, after trnx's own version.
    out = tools.run("trnx-compile", "--version").stdout
    assert out.startswith("trnx-compile (trnx) ") and "LLVM" in out


def test_reports_and_traces_carry_the_version(tools, tmp_path):
    version = version_of(tools, "trnx-sim")
    report, trace = tmp_path / "r.json", tmp_path / "t.json"
    tools.run("trnx-sim", "--gemm", "64,64,64", f"--report={report}", f"--trace={trace}", "-q")
    assert json.loads(report.read_text())["trnx_version"] == version
    assert json.loads(trace.read_text())["otherData"]["trnx_version"] == version


def test_compile_help_shows_trnx_and_mlir_user_options_only(tools):
    out = tools.run("trnx-compile", "--help").stdout
    assert "--target" in out and "--emit" in out and "--shape" in out
    assert "--mlir-print-ir-after-all" in out and "--mlir-timing" in out
    for other in ("aarch64", "hexagon", "mips", "x86-", "--amdgpu"):
        assert other not in out.lower(), other
    assert len(out.splitlines()) < 60
    # The hidden options are still accepted; unknown ones are not.
    assert tools.run("trnx-compile", "--mlir-print-op-generic", "--help", check=False).returncode == 0
    assert tools.run("trnx-compile", "--no-such-option", check=False).returncode != 0


def test_valued_options_take_both_spellings(tools, tmp_path, source_dir):
    src = source_dir / "examples" / "asm" / "softmax.s"
    tnx = tools.assemble(src, tmp_path / "a.tnx")
    spaced = tools.run("trnx-sim", tnx, "--mode", "timing", "--report", "-").stdout
    joined = tools.run("trnx-sim", tnx, "--mode=timing", "--report=-").stdout
    assert json.loads(spaced)["cycles"] == json.loads(joined)["cycles"]
    dump = tools.run("trnx-objdump", "-d", tnx).stdout
    assert tools.run("trnx-objdump", "-d", tnx, "--no-data").stdout != "" and dump
    # A flag given a value is an error naming the flag, not a stray argument.
    proc = tools.run("trnx-sim", tnx, "--quiet=yes", check=False)
    assert_one_error_line(proc)
    assert "'--quiet' takes no value" in proc.stderr


@pytest.mark.parametrize("name", ["trnx-as", "trnx-objdump", "trnx-sim"])
def test_hand_written_tools_document_version_in_help(tools, name):
    out = tools.run(name, "--help").stdout
    assert "--version" in out
