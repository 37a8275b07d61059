"""trnx.systems (presets, files, routes) and trnx.simulate(..., system=...):
a multi-rank program's numerics on every rank of a system, and its timing
(one rank simulated and replicated, the report's system section)."""
import numpy as np
import pytest

import trnx

PROGRAM = """.target trn3
.ranks 144
.replica_group 0 [{world}]
.tensor x input fp32 [2,4]
.tensor y output fp32 [2,4]
.stream core=0 engine=pool
  rank_id dst=sbuf[0:2]+0x0:fp32[[1,4]] signal=s0+1
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:2]+0x40:fp32[[1,4]] src=hbm[x]+0x0:fp32[[4,2],[1,4]] signal=s0+1
.stream core=0 engine=dve
  tensor_tensor dst=sbuf[0:2]+0x40:fp32[[1,4]] src0=sbuf[0:2]+0x40:fp32[[1,4]] src1=sbuf[0:2]+0x0:fp32[[1,4]] op=mul wait=s0>=2 signal=s1+1
.stream core=0 engine=q1
  all_reduce dst=hbm[y]+0x0:fp32[[4,2],[1,4]] src=sbuf[0:2]+0x40:fp32[[1,4]] op=add wait=s1>=1
""".replace("{world}", ",".join(str(r) for r in range(144)))


def test_presets_and_routes():
    assert trnx.systems.names()[:3] == ["trn2-server", "trn2-ultraserver", "trn3-ultraserver"]
    server = trnx.systems.load("trn2-server")
    assert (server.chips, server.topology, server.chip) == (16, "torus", "trn2")
    assert sum(level["chip_bytes_per_second"] for level in server.levels) == 1024e9
    assert server.scale_out["chip_bytes_per_second"] * 8 == 200e9
    r = server.route(0, 10)  # (0,0) -> (2,2): two hops each way round
    assert r["hops"] == 4 and r["latency_seconds"] == pytest.approx(6e-6)
    assert r["links"][0] == "chip0.d0+"
    ultra = trnx.systems.load("trn3-ultraserver")
    assert ultra.chips == 144 and ultra.topology == "switch"
    assert ultra.route(0, 100)["hops"] == 4
    assert "System('trn3-ultraserver', 144 x trn3, switch)" == repr(ultra)


def test_system_files_and_errors(tmp_path):
    f = tmp_path / "pair.yaml"
    f.write_text("base: trn2-server\nname: pair\nchips: 32\nscale_out: {systems: 2}\n")
    pair = trnx.systems.load(f)
    assert pair.chips == 32 and pair.route(0, 16)["hops"] == 1
    with pytest.raises(trnx.TrnxError, match="is neither a system preset"):
        trnx.systems.load("trn9-pod")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nchip: trn3\ntopology: hypercube\n")
    with pytest.raises(trnx.TrnxError, match=r"bad.yaml:3: key 'topology': 'hypercube' is not torus, ring or switch"):
        trnx.systems.load(bad)


def test_simulate_on_a_144_chip_system(tmp_path):
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    import subprocess
    import os

    build = os.environ.get("TRNX_BUILD_DIR")
    tnx = tmp_path / "p.tnx"
    subprocess.run([os.path.join(build, "isa", "trnx-as"), str(src), "-o", str(tnx)], check=True)
    program = trnx.load_program(tnx)
    assert program.num_ranks == 144
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    result = trnx.simulate(program, inputs={"x": x}, mode="functional", system="trn3-ultraserver")
    assert isinstance(result, trnx.SystemResult)
    assert result.ranks == 144 and result.system == "trn3-ultraserver"
    want = x * sum(range(144))
    for rank in (0, 77, 143):
        np.testing.assert_array_equal(result.rank_outputs[rank]["y"], want)
    np.testing.assert_array_equal(result.outputs["y"], want)
    both = trnx.simulate(program, inputs={"x": x}, system="trn3-ultraserver", trace=True)
    np.testing.assert_array_equal(both.rank_outputs[143]["y"], want)
    system = both.report["system"]
    assert (system["chips"], system["ranks_simulated"], system["ranks_replicated"]) == (144, 1, 143)
    (coll,) = system["collectives"]
    assert coll["op"] == "all_reduce" and coll["algorithm"] == "mesh" and coll["group_size"] == 144
    assert system["exposed_communication_seconds"] == pytest.approx(coll["closed_form_seconds"], rel=1e-3)
    assert both.report["bottleneck"]["bound_by"] == "link"
    # Sweeps store the same causes as metrics (link included).
    from trnx.sweep.evaluate import BOTTLENECK_METRICS, bottleneck_metrics
    metrics = bottleneck_metrics([(both.report.to_dict(), 1)])
    assert metrics["bound_by"] == "link" and metrics["critical_link_seconds"] > 0
    assert {k for k in metrics if k.startswith("critical_")} <= BOTTLENECK_METRICS
    assert any(e.get("cat") == "collective" for e in both.trace["traceEvents"])
    timed = trnx.simulate(program, mode="timing", system="trn3-ultraserver", tokens=144)
    assert timed.rank_outputs == [] and timed.report.seconds == both.report.seconds
    workload = timed.report["system"]["workload"]
    assert workload["tokens"] == 144
    assert workload["tokens_per_second"] == pytest.approx(144 / timed.report["system"]["seconds"])
    assert workload["tokens_per_joule_it"] == pytest.approx(
        workload["tokens_per_second"] / timed.report["system"]["power_watts"]["it"])
    with pytest.raises(ValueError, match="tokens needs a timing mode"):
        trnx.simulate(program, inputs={"x": x}, mode="functional", system="trn3-ultraserver", tokens=144)
    with pytest.raises(trnx.TrnxError, match="the program has 144 ranks, system trn2-server has 16 chips"):
        trnx.simulate(program, inputs={"x": x}, mode="functional", system="trn2-server")


def test_system_runs_honour_the_run_limits(tmp_path):
    """max_instructions= and max_simulated_seconds= apply to system runs as to
    single-chip ones (trnx-sim --system passes them too)."""
    import os
    import subprocess

    src, tnx = tmp_path / "p.s", tmp_path / "p.tnx"
    src.write_text(PROGRAM)
    subprocess.run([os.path.join(os.environ["TRNX_BUILD_DIR"], "isa", "trnx-as"), str(src), "-o", str(tnx)],
                   check=True)
    program = trnx.load_program(tnx)
    x = np.ones((2, 4), np.float32)
    for mode in ("functional", "timing"):
        with pytest.raises(trnx.TrnxError, match=r"more than 3 instructions \(limit --max-instructions"):
            trnx.simulate(program, inputs={"x": x}, mode=mode, system="trn3-ultraserver", max_instructions=3)
    with pytest.raises(trnx.TrnxError, match=r"passed 1e-09 s of simulated time \(limit --max-simulated-seconds"):
        trnx.simulate(program, mode="timing", system="trn3-ultraserver", max_simulated_seconds=1e-9)
    with pytest.raises(ValueError, match="max_instructions must be a whole number"):
        trnx.simulate(program, mode="timing", system="trn3-ultraserver", max_instructions=0)
    # Limits the run stays inside change nothing.
    ok = trnx.simulate(program, inputs={"x": x}, system="trn3-ultraserver", max_instructions=10**6,
                       max_simulated_seconds=1.0)
    np.testing.assert_array_equal(ok.outputs["y"], x * sum(range(144)))
