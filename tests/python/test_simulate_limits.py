"""trnx.simulate's run limits: max_instructions and max_simulated_seconds end a
runaway program with a TrnxError naming the limit (as trnx-sim's flags do),
and a bad limit is a ValueError."""
import subprocess

import pytest

import trnx
from trnx import _trnx

# 2^62 iterations of a one-element memset: runs "forever" without limits.
RUNAWAY = """.target trn3
.cores 1
.stream core=0 engine=dve
  loop count=2147483647
    loop count=2147483647
      memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=1
    endloop
  endloop
"""


@pytest.fixture(scope="module")
def runaway():
    return trnx.Program(_trnx.assemble(RUNAWAY, "runaway.s"), name="runaway.s")


@pytest.mark.parametrize("mode", ["timing", "functional", "both"])
def test_max_instructions_stops_a_runaway_program(runaway, mode):
    with pytest.raises(trnx.TrnxError, match="the run executed more than 20000 instructions "
                                             r"\(limit --max-instructions; .*max_instructions=N"):
        trnx.simulate(runaway, mode=mode, max_instructions=20000)


def test_max_simulated_seconds_stops_a_runaway_program(runaway):
    with pytest.raises(trnx.TrnxError, match=r"the run passed 1e-05 s of simulated time \(limit "
                                             "--max-simulated-seconds"):
        trnx.simulate(runaway, mode="timing", max_simulated_seconds=1e-5)


def test_a_limit_the_run_stays_under_changes_nothing():
    small = trnx.Program(_trnx.assemble(RUNAWAY.replace("2147483647", "4"), "small.s"), name="small.s")
    a = trnx.simulate(small, mode="timing")
    b = trnx.simulate(small, mode="timing", max_instructions=16, max_simulated_seconds=1)
    assert a.report.seconds == b.report.seconds > 0
    with pytest.raises(trnx.TrnxError, match="more than 15 instructions"):
        trnx.simulate(small, mode="timing", max_instructions=15)


@pytest.mark.parametrize("kwargs,message", [
    ({"max_instructions": 0}, "max_instructions must be a whole number of at least 1"),
    ({"max_instructions": 2.5}, "max_instructions must be a whole number"),
    ({"max_simulated_seconds": 0}, "max_simulated_seconds must be above 0 and at most 4000"),
    ({"max_simulated_seconds": 5000}, "max_simulated_seconds must be above 0 and at most 4000"),
])
def test_bad_limits_are_value_errors(runaway, kwargs, message):
    with pytest.raises(ValueError, match=message):
        trnx.simulate(runaway, mode="timing", **kwargs)


def test_cli_flags_take_both_spellings(runaway, tmp_path, tools):
    path = tmp_path / "r.tnx"
    runaway.save(path)
    for args in (["--max-instructions", "1000"], ["--max-instructions=1000"], ["--max-instructions=1e3"]):
        cli = subprocess.run([tools.path("trnx-sim"), str(path), "--mode", "timing", *args], capture_output=True,
                             text=True, timeout=60)
        assert cli.returncode == 1
        assert cli.stderr.startswith("error: the run executed more than 1000 instructions (limit "
                                     "--max-instructions; raise it with --max-instructions N"), cli.stderr
    cli = subprocess.run([tools.path("trnx-sim"), str(path), "--max-simulated-seconds=0.0001", "-q"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "the run passed 0.0001 s of simulated time" in cli.stderr, cli.stderr
    for bad, message in [("--max-instructions=0", "--max-instructions must be a whole number of at least 1, not '0'"),
                         ("--max-instructions=lots", "not 'lots'"),
                         ("--max-simulated-seconds=-1", "--max-simulated-seconds must be above 0 and at most 4000"),
                         ("--max-simulated-seconds=x", "--max-simulated-seconds must be a number of seconds")]:
        cli = subprocess.run([tools.path("trnx-sim"), str(path), bad], capture_output=True, text=True, timeout=60)
        assert cli.returncode == 1 and cli.stderr.count("\n") == 1 and message in cli.stderr, (bad, cli.stderr)
