"""trnx-sim --system: a multi-rank program runs one rank per chip of a system
preset or file (functional mode); each rank's outputs land in DIR/rankR/;
timing mode writes a report with a "system" section and a trace with
collective and link tracks; every misuse is one 'error:' line with exit
status 1."""
import json

import numpy as np
import pytest

from conftest import assert_one_error_line

PROGRAM = """.target trn2
.ranks 16
.replica_group 0 [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]
.replica_group 1 [0,1,2,3] [4,5,6,7] [8,9,10,11] [12,13,14,15]
.tensor x input fp32 [4,8]
.tensor y output fp32 [4,8]
.tensor z output fp32 [16,8]
.tensor r output int32 [1]
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:4]+0x0:fp32[[1,8]] src=hbm[x]+0x0:fp32[[8,4],[1,8]] signal=s0+1
.stream core=0 engine=pool
  rank_id dst=sbuf[0:4]+0x40:fp32[[1,8]] signal=s2+1
  rank_id dst=sbuf[0:1]+0x80:int32[[1,1]] groups=1 signal=s2+1
.stream core=0 engine=dve
  tensor_tensor dst=sbuf[0:4]+0x0:fp32[[1,8]] src0=sbuf[0:4]+0x0:fp32[[1,8]] src1=sbuf[0:4]+0x40:fp32[[1,8]] op=add wait=s0>=1 signal=s1+1
.stream core=0 engine=q1
  all_reduce dst=hbm[y]+0x0:fp32[[8,4],[1,8]] src=sbuf[0:4]+0x0:fp32[[1,8]] op=max wait=s1>=1
  all_gather dst=hbm[z]+0x0:fp32[[8,16],[1,8]] src=sbuf[0:4]+0x0:fp32[[1,8]] groups=1
  dma_copy dst=hbm[r]+0x0:int32[[0,1],[1,1]] src=sbuf[0:1]+0x80:int32[[1,1]] wait=s2>=2
"""


def test_sixteen_ranks_on_a_trn2_server(tools, tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    x = np.arange(32, dtype=np.float32).reshape(4, 8) / 4
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    run = tools.run("trnx-sim", prog, "--system", "trn2-server", "--mode", "functional", "--input",
                    f"x={tmp_path / 'x.npy'}", "--output-dir", out)
    assert "on trn2-server (16 x trn2, mode functional)" in run.stdout
    for rank in range(16):
        d = out / f"rank{rank}"
        np.testing.assert_array_equal(np.load(d / "y.npy"), x + 15)  # max over ranks of x + rank
        group = rank // 4 * 4
        want = np.concatenate([x + g for g in range(group, group + 4)])
        np.testing.assert_array_equal(np.load(d / "z.npy"), want)
        assert np.load(d / "r.npy").tolist() == [rank % 4]


def test_system_misuse_is_one_error_line(tools, tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    np.save(tmp_path / "x.npy", np.zeros((4, 8), np.float32))
    x = f"x={tmp_path / 'x.npy'}"
    cases = [
        ([prog, "--mode", "functional", "--input", x], "a program of 16 ranks runs on a system: pass --system"),
        ([prog, "--system", "trn2-ultraserver", "--mode", "functional", "--input", x],
         "the program has 16 ranks, system trn2-ultraserver has 64 chips"),
        ([prog, "--system", "trn2-server", "--mode", "functional", "--report", "r.json", "--input", x],
         "--report, --trace and --tokens need timing"),
        ([prog, "--system", "trn2-server", "--mode", "functional", "--chip", "trn3", "--input", x],
         "--chip and --system both name the chip"),
        ([prog, "--system", "nowhere.yaml", "--mode", "functional", "--input", x],
         "'nowhere.yaml' is neither a system preset"),
        ([prog, "--system", "trn2-server", "--mode", "functional"], "input 'x' was not given"),
    ]
    for args, message in cases:
        proc = tools.run("trnx-sim", *args, check=False)
        assert_one_error_line(proc)
        assert message in proc.stderr, (args, proc.stderr)


def test_timing_report_has_a_system_section_and_the_trace_collective_tracks(tools, tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    run = tools.run("trnx-sim", prog, "--system", "trn2-server", "--mode", "timing", "--report",
                    tmp_path / "r.json", "--trace", tmp_path / "t.json")
    assert "1 rank simulated, 15 replicated" in run.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    system = report["system"]
    assert system["chips"] == 16 and system["ranks_simulated"] == 1 and system["ranks_replicated"] == 15
    assert "replicated" in system["replication"]
    ops = [c["op"] for c in system["collectives"]]
    assert ops == ["all_reduce", "all_gather"]
    assert all(c["algorithm"] == "mesh" and c["executions"] == 1 for c in system["collectives"])
    # The all-reduce waits for the add, the all-gather follows it on the same queue: both are exposed.
    closed = sum(c["closed_form_seconds"] for c in system["collectives"])
    assert system["exposed_communication_seconds"] == pytest.approx(closed, rel=1e-3)
    assert report["bottleneck"]["bound_by"] == "link"
    # 16 ranks x 15 peers x 16 B over 2 torus dimensions, + 4 groups x 4 x 384 B along dimension 0.
    assert system["bytes_by_link_class"]["level1"] == 4096
    assert system["bytes_by_link_class"]["level0"] == 4096 + 8192
    assert system["energy_joules"]["chip_links"] == pytest.approx((4096 + 12288) * 4e-11)
    power = system["power_watts"]
    assert power["hosts"] == 16 * 125 and power["network"] == 16 * 50
    assert power["facility"] == pytest.approx(power["it"] * 1.15)
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    coll = [e for e in events if e.get("cat") == "collective"]
    assert [e["name"] for e in coll] == ["all_reduce (mesh)", "all_gather (mesh)"]
    assert any(e["name"].startswith("link GB/s level0") for e in events if e.get("ph") == "C")


def test_tokens_of_a_system_run_are_per_system_power(tools, tmp_path):
    """--tokens with --system: the whole system made N tokens; tokens/s and tokens/J use the
    system's time and its IT / facility power (report.system.workload), not one chip's."""
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    prog = tools.assemble(src, tmp_path / "p.tnx")
    run = tools.run("trnx-sim", prog, "--system", "trn2-server", "--mode", "timing", "--tokens", "64",
                    "--report", tmp_path / "r.json")
    system = json.loads((tmp_path / "r.json").read_text())["system"]
    w, power = system["workload"], system["power_watts"]
    assert w["tokens"] == 64 and w["tokens_per_second"] == pytest.approx(64 / system["seconds"])
    assert w["tokens_per_joule_it"] == pytest.approx(64 / (power["it"] * system["seconds"]))
    assert w["tokens_per_second_per_megawatt_facility"] == pytest.approx(1e6 * w["tokens_per_second"] / power["facility"])
    assert "tokens/J (IT)" in run.stdout
    np.save(tmp_path / "x.npy", np.zeros((4, 8), np.float32))
    proc = tools.run("trnx-sim", prog, "--system", "trn2-server", "--mode", "functional", "--tokens", "64",
                     "--input", "x=" + str(tmp_path / "x.npy"), check=False)
    assert_one_error_line(proc)
    assert "--tokens need timing" in proc.stderr
