"""trnx-sim --trace writes valid Perfetto/Chrome trace JSON (tracks per engine
and DMA queue, slices named by instruction with the source op, HBM bandwidth
and chip power counters), and the report carries the energy levels, the
workload figures of --tokens and the per-op table (docs/report.md)."""
import json
import math
from collections import defaultdict

import pytest

from conftest import assert_one_error_line


def gemm_with_locs(source_dir, tmp_path, tools):
    """examples/asm/gemm_512.s with its matmuls and loads attributed to one op
    and its stores to another."""
    text = (source_dir / "examples" / "asm" / "gemm_512.s").read_text()
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(".cores"):
            out += [line, '.loc 0 "gemm.mlir" 4 10 "linalg.matmul"', '.loc 1 "gemm.mlir" 5 3 "func.return"']
            continue
        if s.startswith("matmul") or (s.startswith("dma_copy") and "dst=sbuf" in s):
            line += " loc=0"
        elif s.startswith("dma_copy"):
            line += " loc=1"
        out.append(line)
    src = tmp_path / "gemm.s"
    src.write_text("\n".join(out) + "\n")
    return tools.assemble(src, tmp_path / "gemm.tnx")


@pytest.fixture
def traced(tools, source_dir, tmp_path):
    tnx = gemm_with_locs(source_dir, tmp_path, tools)
    tools.run("trnx-sim", tnx, "--mode", "timing", "--trace", tmp_path / "t.json", "--report",
              tmp_path / "r.json", "--tokens", "512", "-q")
    return json.loads((tmp_path / "t.json").read_text()), json.loads((tmp_path / "r.json").read_text())


def test_trace_format(traced):
    trace, report = traced
    assert isinstance(trace, dict) and isinstance(trace["traceEvents"], list)
    assert trace["displayTimeUnit"] in ("ns", "ms")
    events = trace["traceEvents"]
    threads, processes = {}, {}
    slices, counters = defaultdict(list), defaultdict(list)
    for e in events:
        assert e["ph"] in ("M", "X", "C", "s", "f", "i"), e
        assert isinstance(e["name"], str) and isinstance(e["pid"], int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "process_sort_index", "thread_name", "thread_sort_index")
            if e["name"] == "thread_name":
                threads[(e["pid"], e["tid"])] = e["args"]["name"]
            elif e["name"] == "process_name":
                processes[e["pid"]] = e["args"]["name"]
        elif e["ph"] in "sf":  # flows from a signalling instruction to the one it released
            assert isinstance(e["id"], int) and isinstance(e["tid"], int)
        elif e["ph"] == "i":  # the run's bound at its end (test_trace_bottleneck.py)
            assert e["cat"] == "bottleneck" and e["pid"] == 1 << 20
            assert e["args"]["bound_by"] == report["bottleneck"]["bound_by"]
        elif e["ph"] == "X" and e.get("cat") == "wait":  # blocked intervals (test_trace_waits.py)
            assert e["name"].startswith("waiting ") and e["dur"] >= 0
        elif e["ph"] == "X":
            assert isinstance(e["tid"], int)
            assert math.isfinite(e["ts"]) and e["ts"] >= 0 and e["dur"] >= 0
            assert isinstance(e["args"]["pc"], int) and isinstance(e["args"]["op"], str)
            slices[(e["pid"], e["tid"])].append(e)
        else:
            assert "ts" in e and len(e["args"]) == 1
            (value,) = e["args"].values()
            assert math.isfinite(value) and value >= 0
            counters[e["name"]].append((e["ts"], value))
    # A track per engine and DMA queue of the core, named like the report's streams.
    assert processes == {0: "core 0", 1 << 20: "chip"}
    assert {f"core{pid}.{name}" for (pid, _), name in threads.items()} == set(report["streams"])
    assert set(slices) <= set(threads)
    # One slice per executed instruction, in time order and never overlapping on a track.
    assert sum(len(v) for v in slices.values()) == report["instructions"]
    for track, evs in slices.items():
        for a, b in zip(evs, evs[1:]):
            assert a["ts"] <= b["ts"], track
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-6, track
    # Slices are named by instruction and carry the model op they came from.
    names = {(e["name"], e["args"]["op"]) for evs in slices.values() for e in evs}
    assert ("matmul", "linalg.matmul") in names and ("dma_copy", "func.return") in names
    assert all(e["args"].get("loc") == "gemm.mlir:4:10"
               for evs in slices.values() for e in evs if e["args"]["op"] == "linalg.matmul")
    # Counters: HBM bandwidth and chip power, each in time order.
    assert {"hbm_bandwidth", "chip_power"} <= set(counters)
    for name, samples in counters.items():
        ts = [t for t, _ in samples]
        assert ts == sorted(ts), name
    # The power counter integrates to the report's chip energy and ends with the run.
    power = counters["chip_power"]
    assert power[-1][0] == pytest.approx(report["seconds"] * 1e6, rel=1e-9)
    joules = sum((t1 - t0) * 1e-6 * w for (t0, w), (t1, _) in zip(power, power[1:]))
    assert joules == pytest.approx(report["energy"]["chip_joules"], rel=1e-6)
    assert min(w for _, w in power) >= 150 * (1 - 1e-9)  # trn3 static power


def test_report_energy_levels_workload_and_ops(traced):
    _, r = traced
    e = r["energy"]
    assert e["chip_joules"] == pytest.approx(r["energy_joules"], rel=1e-12)
    assert e["chip_average_power_watts"] == pytest.approx(r["average_power_watts"], rel=1e-12)
    assert set(e["breakdown"]) == {"pe", "act", "dve", "pool", "sbuf", "psum", "hbm", "link", "static"}
    assert sum(e["breakdown"].values()) == pytest.approx(e["chip_joules"], rel=1e-9)
    assert e["node_joules"] == pytest.approx(e["chip_joules"] + e["host_joules"] + e["network_joules"], rel=1e-12)
    assert e["facility_joules"] == pytest.approx(e["node_joules"] * e["pue"], rel=1e-12)
    assert e["tdp_watts"] == 1000 and e["pue"] > 1
    for level in ("chip", "node", "facility"):
        assert e[f"{level}_average_power_watts"] == pytest.approx(e[f"{level}_joules"] / r["seconds"], rel=1e-9)
    w = r["workload"]
    assert w["tokens"] == 512
    assert w["tokens_per_second"] == pytest.approx(512 / r["seconds"], rel=1e-12)
    for level in ("chip", "node", "facility"):
        assert w[f"tokens_per_joule_{level}"] == pytest.approx(512 / e[f"{level}_joules"], rel=1e-12)
        assert w[f"tokens_per_second_per_megawatt_{level}"] == pytest.approx(
            1e6 * w[f"tokens_per_joule_{level}"], rel=1e-12)
    assert w["tokens_per_second_per_megawatt_provisioned"] == pytest.approx(
        w["tokens_per_second"] * 1e6 / e["provisioned_facility_watts"], rel=1e-12)
    ops = r["ops"]
    assert [o["op"] for o in ops][:1] == ["linalg.matmul"]
    assert {o["op"] for o in ops} == {"linalg.matmul", "func.return", "(none)"}
    assert sum(o["instructions"] for o in ops) == r["instructions"]
    assert sum(o["energy_joules"] for o in ops) == pytest.approx(e["chip_joules"], rel=1e-9)
    assert sum(o["time_share"] for o in ops) == pytest.approx(1, rel=1e-12)
    mm = ops[0]
    assert mm["loc"] == "gemm.mlir:4:10"
    for kind, engine in r["engines"].items():
        # Each op's whole cycles are rounded on their own: the sum is within half a cycle per op.
        op_cycles = [o["busy_cycles"][kind] for o in ops if kind in o["busy_cycles"]]
        assert all(isinstance(c, int) for c in op_cycles)
        assert abs(sum(op_cycles) - engine["busy_cycles"]) <= 0.5 * (len(op_cycles) + 1)


def test_text_summary_shows_levels_workload_and_top_ops(tools, source_dir, tmp_path):
    tnx = gemm_with_locs(source_dir, tmp_path, tools)
    out = tools.run("trnx-sim", tnx, "--mode", "timing", "--tokens", "1").stdout
    assert "node" in out and "facility" in out
    assert "tokens/s" in out and "per MW" in out
    assert "top ops" in out and "linalg.matmul @gemm.mlir:4:10" in out
    # Without --tokens there is no workload section.
    tools.run("trnx-sim", tnx, "--mode", "timing", "--report", tmp_path / "r.json", "-q")
    assert "workload" not in json.loads((tmp_path / "r.json").read_text())


@pytest.mark.parametrize("value", ["0", "-3", "many", "nan"])
def test_bad_tokens_is_one_error_line(tools, source_dir, tmp_path, value):
    tnx = gemm_with_locs(source_dir, tmp_path, tools)
    assert_one_error_line(tools.run("trnx-sim", tnx, "--tokens", value, check=False))


def test_print_chip_shows_power_keys(tools):
    out = tools.run("trnx-sim", "--print-chip", "--chip", "trn2").stdout
    for key in ("tdp_watts: 500", "host_watts_per_chip:", "network_watts_per_chip:", "pue:",
                "pe_mac_fp4_joules:", "link_byte_joules:"):
        assert key in out, key
