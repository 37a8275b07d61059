"""The hand-written programs in examples/asm/ compute what numpy computes, and
their timing shows DMA overlapping compute (asserted from the report)."""
import json

import numpy as np
import pytest
import torch

from conftest import relative_error


def bf16(a):
    return torch.tensor(a).bfloat16().float().numpy()


def run(tools, source_dir, tmp_path, name, inputs, chip="trn3"):
    prog = tools.assemble(source_dir / "examples" / "asm" / f"{name}.s", tmp_path / f"{name}.tnx")
    args = [prog, "--chip", chip, "--output-dir", tmp_path / "out", "--report", tmp_path / "r.json", "-q"]
    for k, v in inputs.items():
        np.save(tmp_path / f"{k}.npy", v)
        args += ["--input", f"{k}={tmp_path / (k + '.npy')}"]
    tools.run("trnx-sim", *args)
    return tmp_path / "out", json.loads((tmp_path / "r.json").read_text())


def test_gemm_512_matches_numpy_and_overlaps_dma_with_pe(tools, source_dir, tmp_path):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 512), dtype=np.float32)
    b = rng.standard_normal((512, 512), dtype=np.float32)
    out, report = run(tools, source_dir, tmp_path, "gemm_512", {"a": a, "b": b})
    ref = bf16(a).astype(np.float64) @ bf16(b).astype(np.float64)
    assert relative_error(np.load(out / "c.npy"), ref) < 1e-5
    assert report["flops"] == 2 * 512 ** 3
    ov = report["overlap"]
    # Double buffering: most of the PE's busy time has a DMA in flight.
    assert ov["pe_dma_seconds"] > 0.5 * ov["pe_busy_seconds"]
    # And the run is shorter than doing the two one after the other.
    assert report["seconds"] < ov["pe_busy_seconds"] + ov["dma_busy_seconds"]


def test_softmax_matches_numpy(tools, source_dir, tmp_path):
    x = (3 * np.random.default_rng(1).standard_normal((512, 512))).astype(np.float32)
    out, report = run(tools, source_dir, tmp_path, "softmax", {"x": x})
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    assert relative_error(np.load(out / "y.npy"), e / e.sum(1, keepdims=True)) < 1e-5
    assert report["engines"]["act"]["busy_cycles"] > 0


def test_layernorm_matches_numpy(tools, source_dir, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((512, 512)).astype(np.float32) * 2 + 1
    g = rng.standard_normal(512).astype(np.float32)
    b = rng.standard_normal(512).astype(np.float32)
    out, _ = run(tools, source_dir, tmp_path, "layernorm", {"x": x, "gamma": g, "beta": b})
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5) * g + b
    assert relative_error(np.load(out / "y.npy"), ref) < 1e-5


@pytest.mark.parametrize("name", ["softmax", "layernorm"])
def test_row_programs_overlap_loads_with_compute(tools, source_dir, tmp_path, name):
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal((512, 512)).astype(np.float32)}
    if name == "layernorm":
        inputs |= {"gamma": np.ones(512, np.float32), "beta": np.zeros(512, np.float32)}
    _, report = run(tools, source_dir, tmp_path, name, inputs)
    # Sequential execution of the busiest engine and all DMA would take longer.
    busiest = max(e["busy_cycles"] / e["clock_hz"] for k, e in report["engines"].items() if k != "dma")
    dma = report["overlap"]["dma_busy_seconds"]
    assert report["seconds"] < busiest + dma


@pytest.mark.parametrize("name", ["gemm_512", "softmax", "layernorm"])
def test_examples_round_trip_through_the_disassembler(tools, source_dir, tmp_path, name):
    first = tools.assemble(source_dir / "examples" / "asm" / f"{name}.s", tmp_path / "a.tnx")
    listing = tmp_path / "a.s"
    tools.run("trnx-objdump", "-d", first, "-o", listing)
    second = tools.assemble(listing, tmp_path / "b.tnx")
    assert first.read_bytes() == second.read_bytes()
