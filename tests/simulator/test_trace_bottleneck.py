"""The trace states the run's bound as the report does, and its slices add up
to the report's busy times, so the two cannot drift apart: a DMA-bound copy
and a PE-bound chain of matmuls, each checked for (a) the trace's bottleneck
(otherData and the instant event at the end of the run) equal to the report's
and (b) per engine kind, the sum of that kind's slices equal to the report's
engines.<kind>.busy_seconds, with busy_cycles its whole cycles
(docs/report.md "Trace")."""
import json

import pytest

# 128 x 8192 fp32 (4 MiB) in from HBM and back out: nothing but DMA.
DMA_COPY = """\
.target trn3
.cores 1
.tensor x input fp32 [128,8192]
.tensor y output fp32 [128,8192]

.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x0:fp32[[1,8192]] src=hbm[x]+0x0:fp32[[8192,128],[1,8192]] signal=s0+1

.stream core=0 engine=q1
  dma_copy dst=hbm[y]+0x0:fp32[[8192,128],[1,8192]] src=sbuf[0:128]+0x0:fp32[[1,8192]] wait=s0>=1
"""

# 64 dependent-free bf16 matmuls on data already in SBUF: nothing but the PE array.
PE_MATMULS = """\
.target trn3
.cores 1

.stream core=0 engine=pe
  loop count=64
    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] moving=sbuf[0:128]+0x400:bf16[[1,512]]
  endloop
"""


def run(tools, tmp_path, name, text):
    src = tmp_path / f"{name}.s"
    src.write_text(text)
    tnx = tools.assemble(src, tmp_path / f"{name}.tnx")
    trace_path, report_path = tmp_path / f"{name}.trace.json", tmp_path / f"{name}.report.json"
    tools.run("trnx-sim", tnx, "--mode", "timing", "--trace", trace_path, "--report", report_path, "-q")
    return json.loads(trace_path.read_text()), json.loads(report_path.read_text())


@pytest.mark.parametrize("name,text,bounds", [
    ("dma_copy", DMA_COPY, {"dma_issue", "dma_engines", "hbm"}),
    ("pe_matmuls", PE_MATMULS, {"pe"}),
])
def test_trace_bottleneck_and_busy_time_equal_the_report(tools, tmp_path, name, text, bounds):
    trace, report = run(tools, tmp_path, name, text)
    bottleneck = report["bottleneck"]
    assert bottleneck["bound_by"] in bounds, bottleneck["summary"]
    # (a) The same bottleneck object in otherData, and a marker at the end of the run.
    assert trace["otherData"]["bottleneck"] == bottleneck
    events = trace["traceEvents"]
    (marker,) = [e for e in events if e.get("cat") == "bottleneck"]
    assert marker["ph"] == "i" and marker["name"] == "bound by " + bottleneck["bound_by"]
    assert marker["ts"] == pytest.approx(report["seconds"] * 1e6, rel=1e-12)
    assert marker["args"]["bound_by"] == bottleneck["bound_by"]
    assert marker["args"]["bound_fraction"] == bottleneck["bound_fraction"]
    assert marker["args"]["critical_path_seconds"] == bottleneck["critical_path_seconds"]
    assert sum(marker["args"]["critical_path_seconds"].values()) == pytest.approx(report["seconds"], rel=1e-9)
    chip_pid = next(e["pid"] for e in events if e["ph"] == "M" and e["name"] == "process_name"
                    and e["args"]["name"] == "chip")
    assert marker["pid"] == chip_pid
    # (b) Per engine kind, the instruction slices add up to the report's busy time.
    busy_us = {}
    for e in events:
        if e["ph"] == "X" and e.get("cat") not in ("wait", None):
            busy_us[e["cat"]] = busy_us.get(e["cat"], 0.0) + e["dur"]
    assert set(busy_us) == {k for k, e in report["engines"].items() if e["instructions"] > 0}
    for kind, engine in report["engines"].items():
        seconds = busy_us.get(kind, 0.0) * 1e-6
        assert seconds == pytest.approx(engine["busy_seconds"], rel=1e-9, abs=1e-15), kind
        assert isinstance(engine["busy_cycles"], int)
        assert abs(seconds * engine["clock_hz"] - engine["busy_cycles"]) <= 0.5 + 1e-9 * engine["busy_cycles"], kind
    # The bound engine is the busy one.
    if bottleneck["bound_by"] == "pe":
        assert report["engines"]["pe"]["busy_seconds"] == pytest.approx(report["seconds"], rel=0.05)
    else:
        assert busy_us["dma"] * 1e-6 >= 0.9 * report["seconds"]
