"""Published Trainium microbenchmarks (../shared/reference/trainium.md section 8)
reproduced by trnx-sim within 10%: M1, the NKI matmul tutorial's optimised
kernel ([4096,8192] x [8192,8192] bf16 on one Trn1 core: 6.97 ms, 85.2% of
peak) compiled by trnx's own compiler for a one-core trn1; M2, the NKI DMA bandwidth guide (16 DMA
engines of one core, >= 4 KiB per partition per transfer: 368 GB/s per Trn2
core, 528 per Trn3 core; < 256 B per partition is overhead-bound). M3, ~189 ns
per back-to-back dependent one-element ScalarE op (same-engine read-after-write
latency, simulator/machine/ResultLatency.h); independent ops still pipeline at
MIN_II."""
import json

import pytest

from conftest import TOOLS


def dma_program(chip, per_partition, queues=4, transfers=8):
    """`queues` DMA queues of one core, each `transfers` HBM -> SBUF copies of
    128 partitions x `per_partition` bytes (one contiguous run per partition)."""
    elems = per_partition // 4
    cols = elems * queues * transfers
    lines = [f".target {chip}", ".cores 1", f".tensor x input fp32 [128,{cols}]"]
    for q in range(queues):
        lines.append(f".stream core=0 engine=q{q}")
        for j in range(transfers):
            off = (q * transfers + j) * elems * 4
            lines.append(f"  dma_copy dst=sbuf[0:128]+{(q % 2) * 0x10000:#x}:fp32[[1,{elems}]] "
                         f"src=hbm[x]+{off:#x}:fp32[[{cols},128],[1,{elems}]]")
    return "\n".join(lines) + "\n", 128 * per_partition * queues * transfers


def run_report(tools, tmp_path, name, asm):
    src, tnx, rep = tmp_path / f"{name}.s", tmp_path / f"{name}.tnx", tmp_path / f"{name}.json"
    src.write_text(asm)
    tools.run("trnx-as", src, "-o", tnx)
    tools.run("trnx-sim", tnx, "--mode", "timing", "--report", rep, "-q")
    return json.loads(rep.read_text())


@pytest.mark.parametrize("chip, published", [("trn1", 272e9), ("trn2", 368e9), ("trn3", 528e9)])
def test_dma_bandwidth_per_core_matches_the_nki_guide(tools, tmp_path, chip, published):
    curve = {}
    for size in (128, 256, 1024, 4096, 16384, 65536):
        asm, moved = dma_program(chip, size)
        r = run_report(tools, tmp_path, f"{chip}_{size}", asm)
        curve[size] = moved / r["seconds"]
    # >= 4 KiB per partition saturates the 16 engines: within 10% of the guide.
    for size in (4096, 16384, 65536):
        assert abs(curve[size] / published - 1) <= 0.10, (chip, size, curve[size])
    # The curve rises with size; <= 256 B per partition is overhead-bound.
    sizes = sorted(curve)
    assert all(curve[a] < curve[b] for a, b in zip(sizes, sizes[1:])), curve
    assert curve[256] < 0.6 * published and curve[128] < 0.4 * published, curve


@pytest.mark.skipif(not TOOLS["trnx-compile"].exists(), reason="--gemm compiles (TRNX_BUILD_COMPILER=OFF)")
def test_nki_matmul_tutorial_on_one_trn1_core(tools, tmp_path):
    chip = tmp_path / "trn1_1core.yaml"
    chip.write_text("base: trn1\nname: trn1-1core\ncores: 1\n")
    rep = tmp_path / "m1.json"
    tools.run("trnx-sim", "--gemm", "4096,8192,8192", "--chip", chip, "--report", rep, "-q")
    (layer,) = json.loads(rep.read_text())["layers"]
    assert abs(layer["seconds"] / 6.97e-3 - 1) <= 0.10, layer["seconds"]
    assert abs(layer["pe_utilization"] / 0.852 - 1) <= 0.10, layer["pe_utilization"]


def test_dependent_one_element_act_ops_take_about_189_ns(tools, tmp_path):
    lines = [".target trn1", ".cores 1", ".stream core=0 engine=act"]
    for i in range(20):
        a, b = (0x100, 0x0) if i % 2 == 0 else (0x0, 0x100)
        lines.append(f"  activation dst=sbuf[0:1]+{a:#x}:fp32[[1,1]] src=sbuf[0:1]+{b:#x}:fp32[[1,1]] func=exp")
    r = run_report(tools, tmp_path, "act_chain", "\n".join(lines) + "\n")
    per_op = r["seconds"] / 20
    # P1 (Trn1): ~189 ns = 264 ACT cycles at 1.4 GHz (G1).
    assert abs(per_op / 189e-9 - 1) <= 0.10, per_op


def test_independent_one_element_act_ops_still_pipeline_at_min_ii(tools, tmp_path):
    # The same chain with every op on its own operands: no read-after-write,
    # so each costs MIN_II (64 ACT cycles at 1.4 GHz = 46 ns), not 264 cycles.
    lines = [".target trn1", ".cores 1", ".stream core=0 engine=act"]
    for i in range(20):
        lines.append(f"  activation dst=sbuf[0:1]+{0x1000 + 16 * i:#x}:fp32[[1,1]] "
                     f"src=sbuf[0:1]+{16 * i:#x}:fp32[[1,1]] func=exp")
    r = run_report(tools, tmp_path, "act_independent", "\n".join(lines) + "\n")
    per_op = r["seconds"] / 20
    assert abs(per_op / (64 / 1.4e9) - 1) <= 0.05, per_op
