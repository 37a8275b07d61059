"""trnx-sim end to end: outputs as DIR/NAME.npy matching numpy, inputs by
name or position, the three modes, every documented report field, the Chrome
trace, user chip YAML files, and one clean `error:` line (exit status 1) for
every kind of bad input."""
import json
import math

import numpy as np
import pytest
import torch
import yaml

from conftest import assert_one_error_line, relative_error

# y = exp(0.5 x) (ACT), z = x + w (DVE), h = bf16(3 x) (ACT), c = A^T B (PE,
# 128x64x256 bf16), i = int32 iota. Loads on q0, stores on q1.
PROGRAM = """\
.target trn3
.cores 1
.tensor x input fp32 [128,256]
.tensor w input fp32 [128,256]
.tensor a input bf16 [128,64]
.tensor y output fp32 [128,256]
.tensor z output fp32 [128,256]
.tensor h output bf16 [128,256]
.tensor c output fp32 [64,256]
.tensor i output int32 [4,8]
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0:fp32[[1,256]] src=hbm[x]+0:fp32[[256,128],[1,256]] signal=s0+1
  dma_copy dst=sbuf[0:128]+0x400:fp32[[1,256]] src=hbm[w]+0:fp32[[256,128],[1,256]] signal=s0+1
  dma_copy dst=sbuf[0:128]+0x800:bf16[[1,64]] src=hbm[a]+0:bf16[[64,128],[1,64]] signal=s0+1
.stream core=0 engine=act
  activation dst=sbuf[0:128]+0x1000:fp32[[1,256]] src=sbuf[0:128]+0:fp32[[1,256]] func=exp scale=0.5 wait=s0>=1 signal=s1+1
  activation dst=sbuf[0:128]+0x1400:bf16[[1,256]] src=sbuf[0:128]+0:fp32[[1,256]] scale=3
  tensor_copy dst=sbuf[0:128]+0x1600:bf16[[1,256]] src=sbuf[0:128]+0:fp32[[1,256]] signal=s1+1
  tensor_copy dst=sbuf[0:64]+0x2000:fp32[[1,256]] src=psum[0:64]+0:fp32[[1,256]] wait=s3>=1 signal=s1+1
.stream core=0 engine=dve
  tensor_tensor dst=sbuf[0:128]+0x1800:fp32[[1,256]] src0=sbuf[0:128]+0:fp32[[1,256]] src1=sbuf[0:128]+0x400:fp32[[1,256]] op=add wait=s0>=2 signal=s2+1
.stream core=0 engine=pe
  matmul dst=psum[0:64]+0:fp32[[1,256]] stationary=sbuf[0:128]+0x800:bf16[[1,64]] moving=sbuf[0:128]+0x1600:bf16[[1,256]] wait=s1>=2 signal=s3+1
.stream core=0 engine=pool
  iota dst=sbuf[0:4]+0x3000:int32[[1,8]] base=16777217 pstep=100 step0=1 signal=s4+1
.stream core=0 engine=q1
  dma_copy dst=hbm[y]+0:fp32[[256,128],[1,256]] src=sbuf[0:128]+0x1000:fp32[[1,256]] wait=s1>=1
  dma_copy dst=hbm[z]+0:fp32[[256,128],[1,256]] src=sbuf[0:128]+0x1800:fp32[[1,256]] wait=s2>=1
  dma_copy dst=hbm[h]+0:bf16[[256,128],[1,256]] src=sbuf[0:128]+0x1400:bf16[[1,256]] wait=s1>=2
  dma_copy dst=hbm[c]+0:fp32[[256,64],[1,256]] src=sbuf[0:64]+0x2000:fp32[[1,256]] wait=s1>=3
  dma_copy dst=hbm[i]+0:int32[[8,4],[1,8]] src=sbuf[0:4]+0x3000:int32[[1,8]] wait=s4>=1
"""

DEADLOCK = """\
.target trn3
.stream core=0 engine=act
  sem_wait wait=s0>=1
  sem_signal signal=s1+1
.stream core=0 engine=dve
  sem_wait wait=s1>=1
  sem_signal signal=s0+1
"""


def bf16(a):
    return torch.tensor(np.asarray(a, dtype=np.float32)).bfloat16().float().numpy()


@pytest.fixture
def prog(tools, tmp_path):
    """Assembles PROGRAM and writes its inputs; returns (tnx, {name: npy}, arrays)."""
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    tnx = tools.assemble(src, tmp_path / "p.tnx")
    rng = np.random.default_rng(0)
    arrays = {
        "x": rng.standard_normal((128, 256)).astype(np.float32),
        "w": rng.standard_normal((128, 256)).astype(np.float32),
        "a": rng.standard_normal((128, 64)).astype(np.float32),
    }
    files = {}
    for k, v in arrays.items():
        files[k] = tmp_path / f"{k}.npy"
        np.save(files[k], v)
    return tnx, files, arrays


def named_inputs(files):
    args = []
    for k, f in files.items():
        args += ["--input", f"{k}={f}"]
    return args


def assemble_text(tools, tmp_path, text, name="q"):
    src = tmp_path / f"{name}.s"
    src.write_text(text)
    return tools.assemble(src, tmp_path / f"{name}.tnx")


def sim(tools, *args, check=True):
    return tools.run("trnx-sim", *args, check=check)


# ---------------------------------------------------------------------------
# Outputs and inputs
# ---------------------------------------------------------------------------

def check_outputs(out, arrays):
    x, w, a = arrays["x"], arrays["w"], arrays["a"]
    assert sorted(p.name for p in out.iterdir()) == ["c.npy", "h.npy", "i.npy", "y.npy", "z.npy"]
    y = np.load(out / "y.npy")
    assert y.dtype == np.float32 and y.shape == (128, 256)
    assert relative_error(y, np.exp(0.5 * x.astype(np.float64))) < 1e-6
    z = np.load(out / "z.npy")
    np.testing.assert_array_equal(z, x + w)  # fp32 add is exact IEEE
    h = np.load(out / "h.npy")
    assert h.dtype == np.float32  # bf16 tensors are widened exactly
    np.testing.assert_array_equal(h, bf16(x * np.float32(3)))
    c = np.load(out / "c.npy")
    assert c.shape == (64, 256)
    ref = bf16(a).astype(np.float64).T @ bf16(x).astype(np.float64)
    assert relative_error(c, ref) < 1e-5
    i = np.load(out / "i.npy")
    assert i.dtype == np.int32
    np.testing.assert_array_equal(i, 16777217 + 100 * np.arange(4)[:, None] + np.arange(8)[None, :])


def test_outputs_are_written_as_npy_and_match_numpy(tools, tmp_path, prog):
    tnx, files, arrays = prog
    proc = sim(tools, tnx, *named_inputs(files), "--output-dir", tmp_path / "out")
    check_outputs(tmp_path / "out", arrays)
    assert "mode both" in proc.stdout and "y -> " in proc.stdout


def test_positional_inputs_follow_the_tensor_table(tools, tmp_path, prog):
    tnx, files, arrays = prog
    sim(tools, tnx, "--input", files["x"], "--input", files["w"], "--input", files["a"],
        "--output-dir", tmp_path / "out", "-q")
    check_outputs(tmp_path / "out", arrays)
    # Mixed: a named input does not consume a position.
    sim(tools, tnx, "--input", f"a={files['a']}", "--input", files["x"], "--input", files["w"],
        "--output-dir", tmp_path / "out2", "-q")
    check_outputs(tmp_path / "out2", arrays)


def test_input_dtypes_are_converted(tools, tmp_path, prog):
    # float64 and int inputs are converted to the fp32 / bf16 tensors.
    tnx, files, arrays = prog
    x64 = arrays["x"].astype(np.float64)
    np.save(tmp_path / "x64.npy", x64)
    np.save(tmp_path / "aint.npy", np.arange(128 * 64, dtype=np.int32).reshape(128, 64) % 7 - 3)
    sim(tools, tnx, "--input", f"x={tmp_path / 'x64.npy'}", "--input", f"w={files['w']}",
        "--input", f"a={tmp_path / 'aint.npy'}", "--output-dir", tmp_path / "out", "-q")
    z = np.load(tmp_path / "out" / "z.npy")
    np.testing.assert_array_equal(z, arrays["x"] + arrays["w"])
    a = (np.arange(128 * 64).reshape(128, 64) % 7 - 3).astype(np.float64)
    c = np.load(tmp_path / "out" / "c.npy")
    assert relative_error(c, a.T @ bf16(arrays["x"]).astype(np.float64)) < 1e-5


# ---------------------------------------------------------------------------
# Modes and the report
# ---------------------------------------------------------------------------

REPORT_NUMBERS = ["cycles", "seconds", "flops", "achieved_flops_per_second", "peak_flops_per_second",
                  "hbm_bytes", "achieved_hbm_bytes_per_second", "peak_hbm_bytes_per_second",
                  "energy_joules", "average_power_watts"]


def test_report_has_every_documented_field_with_sane_values(tools, tmp_path, prog):
    tnx, files, _ = prog
    sim(tools, tnx, *named_inputs(files), "--report", tmp_path / "r.json", "-q")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["schema_version"] == 1
    assert r["mode"] == "both" and r["chip"] == "trn3" and r["cores_used"] == 1
    for key in REPORT_NUMBERS:
        assert isinstance(r[key], (int, float)) and math.isfinite(r[key]) and r[key] >= 0, key
    assert r["seconds"] > 0
    # Whole PE cycles, rounded to nearest; the seconds are exact.
    assert isinstance(r["cycles"], int)
    assert abs(r["cycles"] - r["seconds"] * r["pe_clock_hz"]) <= 0.5
    assert r["pe_clock_hz"] == 2.56e9  # DERIVED from S6 671 TF dense BF16
    assert r["flops"] == 2 * 128 * 64 * 256
    assert r["achieved_flops_per_second"] == pytest.approx(r["flops"] / r["seconds"], rel=1e-12)
    assert r["achieved_flops_per_second"] <= r["peak_flops_per_second"]
    assert r["peak_flops_per_second"] == pytest.approx(2 * 128 * 128 * 2.56e9 * 8)
    # HBM: 3 loads + 5 stores, each byte once.
    hbm = (2 * 128 * 256 * 4 + 128 * 64 * 2) + (2 * 128 * 256 * 4 + 128 * 256 * 2 + 64 * 256 * 4 + 4 * 8 * 4)
    assert r["hbm_bytes"] == hbm
    assert r["achieved_hbm_bytes_per_second"] == pytest.approx(hbm / r["seconds"], rel=1e-12)
    assert r["achieved_hbm_bytes_per_second"] <= r["peak_hbm_bytes_per_second"] == 4.9e12
    br = r["energy_breakdown_joules"]
    assert set(br) == {"pe", "act", "dve", "pool", "sbuf", "psum", "hbm", "static"}
    assert all(v >= 0 for v in br.values())
    assert sum(br.values()) == pytest.approx(r["energy_joules"], rel=1e-9)
    assert br["static"] == pytest.approx(150 * r["seconds"], rel=1e-9)
    assert br["hbm"] == pytest.approx(hbm * 2.8e-11, rel=1e-9)
    assert r["average_power_watts"] == pytest.approx(r["energy_joules"] / r["seconds"], rel=1e-9)
    assert set(r["engines"]) == {"pe", "act", "dve", "pool", "dma"}
    for kind, e in r["engines"].items():
        assert isinstance(e["busy_cycles"], int) and e["busy_cycles"] > 0, kind
        assert 0 < e["busy_fraction"] <= 1, kind
        assert abs(e["busy_cycles"] - e["busy_seconds"] * e["clock_hz"]) <= 0.5, kind
        assert e["busy_seconds"] <= e["streams"] * r["seconds"] * (1 + 1e-12), kind
        assert e["busy_fraction"] == pytest.approx(e["busy_seconds"] / (e["streams"] * r["seconds"]), rel=1e-12)
    assert r["engines"]["dma"]["streams"] == 2
    assert set(r["streams"]) == {"core0.q0", "core0.act", "core0.dve", "core0.pe", "core0.pool", "core0.q1"}
    for name, s in r["streams"].items():
        assert 0 < s["busy_fraction"] <= 1, name
        assert s["streams"] == 1
    assert r["streams"]["core0.act"]["instructions"] == 4
    # PE: one bf16 matmul of N=256 -> 256 PE cycles.
    assert r["streams"]["core0.pe"]["busy_cycles"] == pytest.approx(256, abs=1e-4)
    ov = r["overlap"]
    assert set(ov) == {"pe_busy_seconds", "dma_busy_seconds", "pe_dma_seconds"}
    assert 0 <= ov["pe_dma_seconds"] <= min(ov["pe_busy_seconds"], ov["dma_busy_seconds"])
    assert ov["pe_busy_seconds"] == pytest.approx(256 / 2.56e9, rel=1e-6)
    assert ov["dma_busy_seconds"] <= r["seconds"]
    assert r["instructions"] == sum(s["instructions"] for s in r["streams"].values())


def test_report_to_stdout(tools, prog):
    tnx, files, _ = prog
    proc = sim(tools, tnx, *named_inputs(files), "--report", "-")
    r = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert r["schema_version"] == 1


def test_modes(tools, tmp_path, prog):
    tnx, files, arrays = prog
    # functional: outputs, no simulated time.
    sim(tools, tnx, *named_inputs(files), "--mode", "functional", "--output-dir", tmp_path / "f",
        "--report", tmp_path / "f.json", "-q")
    check_outputs(tmp_path / "f", arrays)
    f = json.loads((tmp_path / "f.json").read_text())
    assert f["mode"] == "functional" and f["seconds"] == 0 and f["flops"] == 2 * 128 * 64 * 256
    # timing: no inputs needed, no outputs written, same timing as both.
    proc = sim(tools, tnx, "--mode", "timing", "--output-dir", tmp_path / "t", "--report", tmp_path / "t.json")
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
    assert "output" not in proc.stdout
    t = json.loads((tmp_path / "t.json").read_text())
    sim(tools, tnx, *named_inputs(files), "--report", tmp_path / "b.json", "-q")
    b = json.loads((tmp_path / "b.json").read_text())
    assert t["mode"] == "timing" and b["mode"] == "both"
    for key in REPORT_NUMBERS:
        assert t[key] == b[key], key
    assert t["streams"] == b["streams"]
    # Timing runs are deterministic.
    sim(tools, tnx, "--mode", "timing", "--report", tmp_path / "t2.json")
    assert json.loads((tmp_path / "t2.json").read_text()) == t


def test_target_directive_picks_the_chip(tools, tmp_path):
    tnx = assemble_text(tools, tmp_path, PROGRAM.replace(".target trn3", ".target trn2"))
    r = json.loads(sim(tools, tnx, "--mode", "timing", "--report", "-").stdout)
    assert r["chip"] == "trn2"
    assert r["peak_hbm_bytes_per_second"] == 2.9e12
    r3 = json.loads(sim(tools, tnx, "--mode", "timing", "--chip", "trn3", "--report", "-").stdout)
    assert r3["chip"] == "trn3"
    assert r3["seconds"] != r["seconds"]


def test_user_chip_yaml_derived_from_trn3_changes_timing(tools, tmp_path, prog):
    tnx, _, _ = prog
    base = json.loads(sim(tools, tnx, "--mode", "timing", "--report", "-").stdout)
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("base: trn3\nname: slow_pe\npe:\n  clock_hz: 1.28e9\n  min_ii_cycles: 128\n"
                   "hbm:\n  latency_seconds: 2.5e-6\n")
    slow = json.loads(sim(tools, tnx, "--mode", "timing", "--chip", cfg, "--report", "-").stdout)
    assert slow["chip"] == "slow_pe"
    assert slow["pe_clock_hz"] == 1.28e9  # half of trn3's 2.56 GHz
    # Same 256 PE cycles at half the clock: twice the PE busy time.
    assert slow["overlap"]["pe_busy_seconds"] == pytest.approx(2 * base["overlap"]["pe_busy_seconds"], rel=1e-6)
    # The loads' HBM latency (0.5 us -> 2.5 us) is on the critical path once
    # (the stores signal nothing).
    assert slow["seconds"] == pytest.approx(base["seconds"] + 2.0e-6, abs=1e-12)
    assert slow["peak_flops_per_second"] == pytest.approx(base["peak_flops_per_second"] / 2)
    # Everything not overridden is trn3's.
    assert slow["peak_hbm_bytes_per_second"] == base["peak_hbm_bytes_per_second"]
    assert slow["streams"]["core0.dve"]["busy_cycles"] == base["streams"]["core0.dve"]["busy_cycles"]
    # --print-chip shows the resolved values.
    printed = yaml.safe_load(sim(tools, "--chip", cfg, "--print-chip").stdout)
    assert printed["name"] == "slow_pe" and printed["cores"] == 8
    assert printed["pe"]["clock_hz"] == 1280000000 and printed["pe"]["min_ii_cycles"] == 128


def test_print_chip_marks_what_each_key_affects(tools):
    """Each key's comment says whether it changes code generation, timing, energy or
    power, or nothing (the chip-key audit test holds the marks to the truth)."""
    marks = {}
    section = ""
    for line in sim(tools, "--print-chip", "--chip", "trn3").stdout.splitlines():
        key, _, rest = line.partition(":")
        if not line.startswith(" ") and rest.strip() == "":
            section = key.strip() + "."
            continue
        value, _, comment = rest.partition("# ")
        marks[(section if line.startswith(" ") else "") + key.strip()] = comment.strip()
    assert marks["pe_array.rows"] == "codegen, timing"  # K per matmul; the stationary load time
    assert marks["pe_array.dataflow"] == "codegen"
    assert marks["hbm.bytes_per_second"] == "timing"
    assert marks["energy.hbm_byte_joules"] == "energy"
    assert marks["power.pue"] == "power"
    assert marks["pe.elements_per_cycle"] == "no effect"
    assert marks["name"] == "identity"
    assert all(marks.values()), [k for k, v in marks.items() if not v]


# ---------------------------------------------------------------------------
# Trace
# ---------------------------------------------------------------------------

def test_trace_is_valid_chrome_trace_json(tools, tmp_path, prog):
    tnx, files, _ = prog
    sim(tools, tnx, *named_inputs(files), "--trace", tmp_path / "t.json", "--report", tmp_path / "r.json", "-q")
    trace = json.loads((tmp_path / "t.json").read_text())
    report = json.loads((tmp_path / "r.json").read_text())
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
               if e.get("ph") == "M" and e["name"] == "thread_name"}
    assert sorted(threads.values()) == sorted(["q0", "act", "dve", "pe", "pool", "q1"])
    assert any(e.get("ph") == "M" and e["name"] == "process_name" for e in events)
    slices = [e for e in events if e.get("ph") == "X" and e.get("cat") != "wait"]
    assert len(slices) == report["instructions"]
    end_us = report["seconds"] * 1e6
    for e in slices:
        for key in ("name", "ts", "dur", "pid", "tid"):
            assert key in e, (key, e)
        assert e["dur"] >= 0 and e["ts"] >= 0
        assert e["ts"] + e["dur"] <= end_us * (1 + 1e-9)
        assert (e["pid"], e["tid"]) in threads
    names = {e["name"] for e in slices}
    assert {"matmul", "activation", "dma_copy", "tensor_tensor", "iota", "tensor_copy"} <= names
    # Busy time per thread adds up to the report's busy cycles.
    by_thread = {}
    for e in slices:
        by_thread[threads[(e["pid"], e["tid"])]] = by_thread.get(threads[(e["pid"], e["tid"])], 0) + e["dur"]
    act = report["streams"]["core0.act"]
    assert by_thread["act"] == pytest.approx(act["busy_seconds"] * 1e6, rel=1e-6)
    assert abs(by_thread["act"] * 1e-6 * act["clock_hz"] - act["busy_cycles"]) <= 0.5 + 1e-6 * act["busy_cycles"]
    counters = [e for e in events if e.get("ph") == "C" and e["name"] == "hbm_bandwidth"]
    assert counters and all("ts" in e and e["args"] for e in counters)
    assert {e["name"] for e in events if e.get("ph") == "C"} == {"hbm_bandwidth", "chip_power"}
    assert max(list(e["args"].values())[0] for e in counters) > 0


# ---------------------------------------------------------------------------
# Errors: one `error:` line, exit status 1
# ---------------------------------------------------------------------------

def test_help_and_usage(tools):
    proc = sim(tools, "--help")
    assert proc.returncode == 0 and "usage: trnx-sim" in proc.stdout


def error_cases(tmp_path, tnx, files):
    good = named_inputs(files)
    data = tnx.read_bytes()
    (tmp_path / "truncated.tnx").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    (tmp_path / "flipped.tnx").write_bytes(bytes(flipped))
    (tmp_path / "random.tnx").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp_path / "empty.tnx").write_bytes(b"")
    np.save(tmp_path / "wrong.npy", np.zeros((256, 128), np.float32))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    (tmp_path / "unknown_key.yaml").write_text("base: trn3\npe:\n  clock_hzz: 1e9\n")
    (tmp_path / "bad_value.yaml").write_text("base: trn3\ncores: many\n")
    (tmp_path / "bad_yaml.yaml").write_text("base: trn3\npe: [unclosed\n")
    return {
        "missing program": ([tmp_path / "nope.tnx", *good], "nope.tnx"),
        "no program": ([], "no program given"),
        "truncated": ([tmp_path / "truncated.tnx", *good], "truncated.tnx"),
        "flipped byte": ([tmp_path / "flipped.tnx", *good], "flipped.tnx"),
        "random bytes": ([tmp_path / "random.tnx", *good], "random.tnx"),
        "empty file": ([tmp_path / "empty.tnx", *good], "empty.tnx"),
        "assembly instead of .tnx": ([tmp_path / "p.s", *good], "p.s"),
        "missing input file": ([tnx, "--input", f"x={tmp_path / 'none.npy'}"], "none.npy"),
        "garbage input file": ([tnx, "--input", f"x={tmp_path / 'garbage.npy'}"], "garbage.npy"),
        "wrong input shape": ([tnx, "--input", f"x={tmp_path / 'wrong.npy'}", "--input", f"w={files['w']}",
                               "--input", f"a={files['a']}"], "input 'x' needs shape (128, 256), got (256, 128)"),
        "unknown input name": ([tnx, *good, "--input", f"q={files['x']}"], "inputs: x, w, a"),
        "input given twice": ([tnx, *good, "--input", f"x={files['x']}"], "input 'x' given twice"),
        "too many positional inputs": ([tnx, "--input", files["x"], "--input", files["w"], "--input", files["a"],
                                        "--input", files["a"]], "only 3 input(s)"),
        "missing input": ([tnx, "--input", f"x={files['x']}", "--input", f"a={files['a']}"], "input 'w'"),
        "bad mode": ([tnx, *good, "--mode", "fast"], "--mode must be functional, timing or both, not 'fast'"),
        "mode without value": ([tnx, "--mode"], "--mode needs a value"),
        "unknown option": ([tnx, *good, "--frobnicate"], "unknown option '--frobnicate'"),
        "two programs": ([tnx, tnx], "more than one program"),
        "unknown chip key": ([tnx, *good, "--chip", tmp_path / "unknown_key.yaml"], "unknown key 'pe.clock_hzz'"),
        "bad chip value": ([tnx, *good, "--chip", tmp_path / "bad_value.yaml"], "key 'cores'"),
        "bad chip yaml": ([tnx, *good, "--chip", tmp_path / "bad_yaml.yaml"], "bad_yaml.yaml"),
        "nonexistent chip": ([tnx, *good, "--chip", "trn9"], "'trn9' is neither a chip preset"),
        "trace in functional mode": ([tnx, *good, "--mode", "functional", "--trace", tmp_path / "t.json"],
                                     "--trace needs timing"),
        "unwritable report": ([tnx, *good, "--report", tmp_path / "no_dir" / "r.json"], "cannot open file for writing (no directory"),
    }


CASES = ["missing program", "no program", "truncated", "flipped byte", "random bytes", "empty file",
         "assembly instead of .tnx", "missing input file", "garbage input file", "wrong input shape",
         "unknown input name", "input given twice", "too many positional inputs", "missing input", "bad mode",
         "mode without value", "unknown option", "two programs", "unknown chip key", "bad chip value",
         "bad chip yaml", "nonexistent chip", "trace in functional mode", "unwritable report"]


@pytest.mark.parametrize("case", CASES)
def test_bad_invocations_give_one_error_line(tools, tmp_path, prog, case):
    tnx, files, _ = prog
    args, message = error_cases(tmp_path, tnx, files)[case]
    proc = sim(tools, *args, check=False)
    assert_one_error_line(proc)
    assert message in proc.stderr, proc.stderr


def test_chip_yaml_error_names_key_and_file(tools, tmp_path, prog):
    tnx, files, _ = prog
    cfg = tmp_path / "unknown_key.yaml"
    cfg.write_text("base: trn3\npe:\n  clock_hzz: 1e9\n")
    proc = sim(tools, tnx, *named_inputs(files), "--chip", cfg, check=False)
    assert_one_error_line(proc)
    assert f"{cfg}:3" in proc.stderr and "unknown key 'pe.clock_hzz'" in proc.stderr


@pytest.mark.parametrize("mode", ["timing", "functional", "both"])
def test_deadlock_is_an_error_naming_the_waiting_instructions(tools, tmp_path, mode):
    tnx = assemble_text(tools, tmp_path, DEADLOCK, "dead")
    proc = sim(tools, tnx, "--mode", mode, check=False)
    assert_one_error_line(proc)
    assert "deadlock" in proc.stderr
    assert "core 0 act #0 (sem_wait) waits for s0 >= 1" in proc.stderr
    assert "core 0 dve #0 (sem_wait) waits for s1 >= 1" in proc.stderr


def test_gather_out_of_range_is_an_error(tools, tmp_path):
    text = """\
.target trn3
.tensor t input fp32 [16,8]
.tensor i input int32 [4,1]
.tensor y output fp32 [4,8]
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:4]+0x100:int32[[1,1]] src=hbm[i]+0:int32[[1,4],[1,1]]
  dma_gather dst=sbuf[0:4]+0:fp32[[1,8]] src=hbm[t]+0:fp32[[8,16],[1,8]] index=sbuf[0:4]+0x100:int32[[1,1]]
  dma_copy dst=hbm[y]+0:fp32[[8,4],[1,8]] src=sbuf[0:4]+0:fp32[[1,8]]
"""
    tnx = assemble_text(tools, tmp_path, text, "gather")
    t = np.arange(128, dtype=np.float32).reshape(16, 8)
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "ok.npy", np.array([[3], [0], [15], [3]], np.int32))
    np.save(tmp_path / "bad.npy", np.array([[3], [16], [0], [1]], np.int32))
    sim(tools, tnx, "--input", tmp_path / "t.npy", "--input", tmp_path / "ok.npy", "--output-dir", tmp_path / "o", "-q")
    np.testing.assert_array_equal(np.load(tmp_path / "o" / "y.npy"), t[[3, 0, 15, 3]])
    proc = sim(tools, tnx, "--input", tmp_path / "t.npy", "--input", tmp_path / "bad.npy", check=False)
    assert_one_error_line(proc)
    assert "core 0 q0 #1 (dma_gather)" in proc.stderr and "16" in proc.stderr
