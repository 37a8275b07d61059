"""Traces say what waited on what: a known stall (ACT waits on s0 for q0's
DMA load, then everyone meets at a barrier) appears as a wait slice naming
the semaphore and the signalling instruction, with a flow event from that
instruction to the released one; the JSON follows the Chrome trace event
format (docs/report.md "Trace"), chip counters sit on their own process with
one sample per time."""
import json

PROGRAM = """\
.target trn3
.cores 1
.tensor x input fp32 [128,512]
.tensor y output fp32 [128,512]

.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]] signal=s0+1
  barrier
  dma_copy dst=hbm[y]+0x0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] wait=s1>=1

.stream core=0 engine=act
  activation dst=sbuf[0:128]+0x800:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] func=exp wait=s0>=1 signal=s1+1
  barrier
"""

# Chrome trace event format: required fields per phase (Trace Event Format, Google, 2016).
REQUIRED = {"X": {"name", "ts", "dur", "pid", "tid"}, "M": {"name", "pid", "args"},
            "C": {"name", "ts", "pid", "args"}, "s": {"name", "id", "ts", "pid", "tid"},
            "f": {"name", "id", "ts", "pid", "tid"}, "i": {"name", "ts", "pid", "s"}}


def run(tools, tmp_path, text=PROGRAM):
    src = tmp_path / "stall.s"
    src.write_text(text)
    tnx = tools.assemble(src, tmp_path / "stall.tnx")
    tools.run("trnx-sim", tnx, "--mode", "timing", "--trace", tmp_path / "t.json", "--report", tmp_path / "r.json",
              "-q")
    return json.loads((tmp_path / "t.json").read_text()), json.loads((tmp_path / "r.json").read_text())


def test_trace_follows_the_chrome_trace_event_format(tools, tmp_path):
    trace, _ = run(tools, tmp_path)
    assert trace["displayTimeUnit"] in ("ns", "ms") and isinstance(trace["otherData"], dict)
    for e in trace["traceEvents"]:
        assert e["ph"] in REQUIRED, e
        assert REQUIRED[e["ph"]] <= set(e), e
        assert isinstance(e["pid"], int) and isinstance(e.get("tid", 0), int)
        if "ts" in e:
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
    flows = [e for e in trace["traceEvents"] if e["ph"] in "sf"]
    starts = {e["id"] for e in flows if e["ph"] == "s"}
    ends = {e["id"] for e in flows if e["ph"] == "f"}
    assert starts == ends and starts  # every flow has both ends


def test_known_stall_is_a_wait_slice_with_its_signaller_and_a_flow(tools, tmp_path):
    trace, report = run(tools, tmp_path)
    events = trace["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    waits = [e for e in events if e["ph"] == "X" and e.get("cat") == "wait"]
    sem = [e for e in waits if e["args"].get("semaphore") == "s0"]
    assert len(sem) == 1, waits
    (wait,) = sem
    assert threads[wait["tid"]] == "act" and wait["args"]["need"] == 1
    assert wait["name"].startswith("waiting on s0 >= 1 (signalled by q0 core 0 pc 0")
    assert wait["args"]["signalled_by"].startswith("q0 core 0 pc 0")
    # The wait lasts from the start to the moment the load's signal arrived,
    # where the activation (the released instruction) begins.
    slices = [e for e in events if e["ph"] == "X" and e.get("cat") != "wait"]
    load = next(e for e in slices if threads[e["tid"]] == "q0" and e["name"] == "dma_copy")
    act = next(e for e in slices if threads[e["tid"]] == "act" and e["name"] == "activation")
    assert wait["ts"] == 0 and abs(wait["ts"] + wait["dur"] - act["ts"]) < 1e-9
    assert act["ts"] >= load["ts"] + load["dur"]
    assert act["args"]["wait"] == "s0 >= 1" and load["args"]["signal"] == "s0 += 1"
    # The flow: from the load (its start lies inside the load's slice) to the activation.
    flow_s = next(e for e in events if e["ph"] == "s" and e["name"] == "s0")
    flow_f = next(e for e in events if e["ph"] == "f" and e["id"] == flow_s["id"])
    assert threads[flow_s["tid"]] == "q0" and load["ts"] <= flow_s["ts"] <= load["ts"] + load["dur"]
    assert threads[flow_f["tid"]] == "act" and flow_f["ts"] == wait["ts"] + wait["dur"]
    # q0 reached the barrier first (ACT was still waiting and computing): its wait names ACT's barrier.
    barrier = [e for e in waits if e["name"].startswith("waiting at barrier")]
    assert len(barrier) == 1 and threads[barrier[0]["tid"]] == "q0"
    assert "released by act core 0 pc 1" in barrier[0]["name"]
    # Instruction slices are still one per instruction.
    assert len(slices) == report["instructions"]


def test_chip_counters_are_on_a_chip_track_with_one_sample_per_time(tools, tmp_path):
    trace, _ = run(tools, tmp_path)
    events = trace["traceEvents"]
    procs = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    counters = [e for e in events if e["ph"] == "C"]
    assert counters and {procs[e["pid"]] for e in counters} == {"chip"}
    for name in {e["name"] for e in counters}:
        times = [e["ts"] for e in counters if e["name"] == name]
        assert len(times) == len(set(times)), name
