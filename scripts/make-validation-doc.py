#!/usr/bin/python3
"""Writes docs/validation.md: the Trainium generation claims (trainium.md and
energy.md) side by side with what the chip presets and simulations give.

Everything comes from the built tools: `trnx-sim --print-chip` for preset
values, and timing runs of two generated programs:
  * a peak-rate GEMM loop (every core's PE back to back on SBUF operands), the
    calibration point of the energy table (docs/energy.md), and
  * a Llama-3-8B-shaped decode step: one decoder layer's weights plus a
    2048-token KV cache streamed from HBM through the PE as GEMV tiles, and
  * compiled 8192^3 GEMMs (`trnx-sim --gemm`) in fp8 and the MX formats, for
    the MX-mode claims.

    scripts/make-validation-doc.py [--build-dir DIR] [--check]

--check compares docs/validation.md with fresh output and fails (exit 1) when
they differ, so the doc stays true as the simulator changes.
"""
import argparse
import difflib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[1]
DOC = SOURCE_DIR / "docs" / "validation.md"
CHIPS = ["trn2", "trn3", "trn4"]

# Llama-3-8B (d 4096, 32 layers, 32 query / 8 KV heads of 128, FFN 14336).
D, LAYERS, KV_DIM, FFN, CONTEXT = 4096, 32, 1024, 14336, 2048
LAYER_PARAMS = D * D + 2 * D * KV_DIM + D * D + 3 * D * FFN  # q, k, v, o, gate, up, down
KV_ELEMENTS = 2 * KV_DIM * CONTEXT                           # K and V of one layer
CHUNK_COLUMNS = 4096                                          # bf16 per partition per DMA (8 KiB)


def run(args):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc.stdout


def chip_config(tools, name):
    """Flat {"section.key": value} of `trnx-sim --print-chip` (YAML; each key's use is a comment)."""
    import yaml

    out = {}
    for key, value in yaml.safe_load(run([tools["sim"], "--print-chip", "--chip", name])).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def peak_gemm_asm(chip, cfg, fp8, iterations=50):
    """fp8: double-row where the chip has it (NC-v3), else plain fp8 at the bf16 rate (NC-v4, G3)."""
    cores = int(cfg["cores"])
    double = fp8 and cfg["pe_array.double_row"]
    stationary = "fp8e4m3[[128,2],[1,128]]" if double else ("fp8e4m3[[1,128]]" if fp8 else "bf16[[1,128]]")
    moving = "fp8e4m3[[512,2],[1,512]]" if double else ("fp8e4m3[[1,512]]" if fp8 else "bf16[[1,512]]")
    mode = " mode=double_row" if double else ""
    lines = [f".target {chip}", f".cores {cores}"]
    for core in range(cores):
        lines += [f".stream core={core} engine=pe", f"  loop count={iterations}"]
        for i in range(8):
            lines.append(f"    matmul dst=psum[0:128]+{(i % 2) * 0x800:#x}:fp32[[1,512]] "
                         f"stationary=sbuf[0:128]+0x0:{stationary} moving=sbuf[0:128]+0x1000:{moving}{mode} acc=1")
        lines.append("  endloop")
    return "\n".join(lines) + "\n"


def decode_asm(chip, cfg, batch):
    """One decoder layer of a decode step at `batch` sequences. The weights,
    then every sequence's KV cache, stream from HBM ([rows, columns] bf16, 128
    rows per core) in 8 KiB-per-partition chunks on two DMA queues into four
    SBUF buffers. The PE multiplies each 128x128 tile (stationary) by the
    activations: [128, batch] for weight tiles, [128, 1] for KV tiles (each
    sequence attends to its own cache)."""
    cores = int(cfg["cores"])
    rows = 128 * cores
    per_chunk = rows * CHUNK_COLUMNS
    weight_chunks = -(-LAYER_PARAMS // per_chunk)
    kv_chunks = -(-batch * KV_ELEMENTS // per_chunk)
    chunks = weight_chunks + kv_chunks
    columns = chunks * CHUNK_COLUMNS
    tiles = CHUNK_COLUMNS // 128
    buf = lambda j: 0x1000 + (j % 4) * CHUNK_COLUMNS * 2
    lines = [f".target {chip}", f".cores {cores}",
             f".tensor x input bf16 [128,{batch}]", f".tensor w weight bf16 [{rows},{columns}]"]
    for core in range(cores):
        for q in (0, 1):
            lines.append(f".stream core={core} engine=q{q}")
            if q == 0:
                lines.append(f"  dma_copy dst=sbuf[0:128]+0x0:bf16[[1,{batch}]] "
                             f"src=hbm[x]+0x0:bf16[[{batch},128],[1,{batch}]] signal=s3+1")
            for j in range(q, chunks, 2):
                offset = (core * 128 * columns + j * CHUNK_COLUMNS) * 2
                wait = f" wait=s2>={j - 3}" if j >= 4 else ""
                lines.append(f"  dma_copy dst=sbuf[0:128]+{buf(j):#x}:bf16[[1,{CHUNK_COLUMNS}]] "
                             f"src=hbm[w]+{offset:#x}:bf16[[{columns},128],[1,{CHUNK_COLUMNS}]]{wait} signal=s{q}+1")
        lines += [f".stream core={core} engine=pe", "  sem_wait wait=s3>=1"]
        for j in range(chunks):
            n = batch if j < weight_chunks else 1
            lines.append(f"  sem_wait wait=s{j % 2}>={j // 2 + 1}")
            for t in range(tiles):
                last = " signal=s2+1" if t == tiles - 1 else ""
                lines.append(f"  matmul dst=psum[0:128]+0x0:fp32[[1,{n}]] "
                             f"stationary=sbuf[0:128]+{buf(j) + t * 256:#x}:bf16[[1,128]] "
                             f"moving=sbuf[0:128]+0x0:bf16[[1,{n}]] acc=1{last}")
    return "\n".join(lines) + "\n", rows * columns * 2


def simulate(tools, tmp, name, asm, chip, tokens=None):
    src, tnx, rep = tmp / f"{name}.s", tmp / f"{name}.tnx", tmp / f"{name}.json"
    src.write_text(asm)
    run([tools["as"], src, "-o", tnx])
    args = [tools["sim"], tnx, "--chip", chip, "--mode", "timing", "--report", rep, "-q"]
    if tokens:
        args += ["--tokens", repr(tokens)]
    run(args)
    return json.loads(rep.read_text())


MX_GEMM = "8192,8192,8192"
# (chip, --dtype) pairs of the compiled GEMMs. trn2 has no MX mode; its
# reference is its fp8 GEMM (double-row mode).
MX_RUNS = [("trn2", "fp8e4m3"), ("trn3", "mxfp8"), ("trn3", "mxfp4"), ("trn4", "mxfp8"), ("trn4", "mxfp4")]


def gemm_layer(tools, tmp, chip, dtype):
    """The one layer of `trnx-sim --gemm MX_GEMM --dtype dtype --chip chip`."""
    rep = tmp / f"gemm_{chip}_{dtype}.json"
    run([tools["sim"], "--gemm", MX_GEMM, "--dtype", dtype, "--chip", chip, "--report", rep, "-q"])
    return json.loads(rep.read_text())["layers"][0]


def fmt(v, digits=3):
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-2:
        return f"{v:.{digits}g}"
    return f"{v:.{digits}g}" if abs(v) < 100 else f"{v:,.0f}"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


def dma_bandwidth_asm(chip, per_partition, queues=4, transfers=8):
    """M2: four DMA queues of one core, each eight HBM -> SBUF copies of 128
    partitions x `per_partition` bytes (as tests/simulator/test_published_microbenchmarks.py)."""
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


def act_chain_asm(chip, ops=20):
    """M3: back-to-back dependent one-element ScalarE activations."""
    lines = [f".target {chip}", ".cores 1", ".stream core=0 engine=act"]
    for i in range(ops):
        a, b = (0x100, 0x0) if i % 2 == 0 else (0x0, 0x100)
        lines.append(f"  activation dst=sbuf[0:1]+{a:#x}:fp32[[1,1]] src=sbuf[0:1]+{b:#x}:fp32[[1,1]] func=exp")
    return "\n".join(lines) + "\n"


DMA_SIZES = [128, 256, 1024, 4096, 16384, 65536]


def collect(tools):
    data = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        for chip in CHIPS:
            cfg = chip_config(tools, chip)
            d = {"cfg": cfg}
            d["gemm_bf16"] = simulate(tools, tmp, f"{chip}_bf16", peak_gemm_asm(chip, cfg, False), chip)
            d["gemm_fp8"] = simulate(tools, tmp, f"{chip}_fp8", peak_gemm_asm(chip, cfg, True), chip)
            for batch in (1, 64):
                asm, streamed = decode_asm(chip, cfg, batch)
                d[f"decode{batch}"] = simulate(tools, tmp, f"{chip}_decode{batch}", asm, chip,
                                               tokens=batch / LAYERS)
                d[f"streamed_bytes{batch}"] = streamed
            data[chip] = d
        data["gemm"] = {run_: gemm_layer(tools, tmp, *run_) for run_ in MX_RUNS}
        data["dma_bw"] = {}
        one_core = tmp / "trn1_1core.yaml"
        one_core.write_text("base: trn1\nname: trn1-1core\ncores: 1\n")
        rep = tmp / "m1.json"
        run([tools["sim"], "--gemm", "4096,8192,8192", "--chip", one_core, "--report", rep, "-q"])
        data["m1"] = json.loads(rep.read_text())["layers"][0]
        for chip in ("trn1", "trn2", "trn3"):
            for size in DMA_SIZES:
                asm, moved = dma_bandwidth_asm(chip, size)
                data["dma_bw"][(chip, size)] = moved / simulate(tools, tmp, f"dma_{chip}_{size}", asm, chip)["seconds"]
        data["act_chain"] = simulate(tools, tmp, "act_chain", act_chain_asm("trn1"), "trn1")["seconds"] / 20
    return data


ENERGY_DOC = SOURCE_DIR / "docs" / "energy.md"
POWER_BEGIN, POWER_END = "<!-- BEGIN GENERATED: power sensitivity -->", "<!-- END GENERATED: power sensitivity -->"
TRN3_POWERS = [600, 800, 1000, 1200, 1400]
TRN2_POWERS = [400, 600]


def energy_at(run_, cfg, watts):
    """Chip joules of a run if the chip's assumed power were `watts`: the
    TDP-derived keys (energy.pe_mac_*, energy.static_watts; docs/energy.md's
    calibration rule) scale with it, the per-action estimates (HBM, SBUF, PSUM,
    ACT/DVE/GpSimd, links) do not."""
    e = run_["energy"]
    scaled = e["breakdown"]["pe"] + e["breakdown"]["static"]
    return e["chip_joules"] - scaled + scaled * watts / cfg["power.tdp_watts"]


def power_sensitivity(data):
    """Markdown lines: each seed energy claim against the assumed Trn3 (and Trn2) power."""
    c2, c3 = data["trn2"]["cfg"], data["trn3"]["cfg"]
    t2, t3 = c2["power.tdp_watts"], c3["power.tdp_watts"]
    # (claim, metric, run key, work of a run, target ratio Trn3/Trn2)
    flops = lambda r: r["flops"]
    tokens = lambda r: r["workload"]["tokens"]
    rows = [("+40% energy efficiency", "peak GEMM loop FLOP/J (fp8)", "gemm_fp8", flops, 1.4),
            ("+40% energy efficiency", "decode tokens/J, batch 1", "decode1", tokens, 1.4),
            ("+40% energy efficiency", "decode tokens/J, batch 64", "decode64", tokens, 1.4),
            ("5x tokens per MW", "decode tokens/s per MW at chip power, batch 1", "decode1", tokens, 5.0),
            ("5x tokens per MW", "decode tokens/s per MW at chip power, batch 64", "decode64", tokens, 5.0)]
    out = []
    p = out.append
    p(f"Trn3 / Trn2 ratio of each metric when the assumed chip power (`power.tdp_watts`) changes, with the")
    p(f"TDP-derived energies (`energy.pe_mac_*`, `energy.static_watts`) scaled with it and every per-action")
    p(f"estimate (HBM, SBUF, PSUM, ACT/DVE/GpSimd) held; the run times do not change. Presets: Trn2 {t2:.0f} W,")
    p(f"Trn3 {t3:.0f} W, both estimates (energy.md 2.6). Generated by `scripts/make-validation-doc.py`.")
    p("")
    p("| claim | metric | " + " | ".join(f"Trn3 {w} W" for w in TRN3_POWERS) + " | "
      + " | ".join(f"Trn2 {w} W" for w in TRN2_POWERS) + " | Trn3 power that makes the claim true |")
    p("|---|---|" + "---|" * (len(TRN3_POWERS) + len(TRN2_POWERS) + 1))
    for claim, metric, key, work, target in rows:
        r2, r3 = data["trn2"][key], data["trn3"][key]
        per2 = lambda w: work(r2) / energy_at(r2, c2, w)
        per3 = lambda w: work(r3) / energy_at(r3, c3, w)
        cells = [f"{per3(w) / per2(t2):.2f}x" for w in TRN3_POWERS]
        cells += [f"{per3(t3) / per2(w):.2f}x" for w in TRN2_POWERS]
        e = r3["energy"]
        scaled = e["breakdown"]["pe"] + e["breakdown"]["static"]
        fixed = e["chip_joules"] - scaled
        want = work(r3) / (target * per2(t2))  # Trn3 joules that reach the target
        need = t3 * (want - fixed) / scaled if scaled > 0 else -1
        verdict = (f"<= {need:,.0f} W ({need / t2:.2f}x Trn2's {t2:.0f} W)" if need > 0 else
                   f"none: Trn3's fixed per-action energy alone ({fixed / e['chip_joules'] * 100:.0f}% of its joules) is too much")
        p(f"| {claim} | {metric} | " + " | ".join(cells) + f" | {verdict} |")
    return out


def render(data):
    c2, c3, c4 = (data[c]["cfg"] for c in CHIPS)
    g = {c: data[c]["gemm_fp8"] for c in CHIPS}
    gb = {c: data[c]["gemm_bf16"] for c in CHIPS}
    d1 = {c: data[c]["decode1"] for c in CHIPS}
    d64 = {c: data[c]["decode64"] for c in CHIPS}
    w1 = {c: d1[c]["workload"] for c in CHIPS}
    w64 = {c: d64[c]["workload"] for c in CHIPS}
    bw = {c: data[c]["cfg"]["hbm.bytes_per_second"] for c in CHIPS}
    cap = {c: data[c]["cfg"]["hbm.capacity_bytes"] for c in CHIPS}
    mx = data["gemm"]
    fps = lambda chip, dt: mx[(chip, dt)]["achieved_flops_per_second"]
    peak = lambda chip, dt: mx[(chip, dt)]["peak_flops_per_second"]
    per_j = lambda chip, dt: mx[(chip, dt)]["flops"] / mx[(chip, dt)]["energy_joules"]
    out = []
    p = out.append
    p("# Validation: generation claims against the presets and simulations")
    p("")
    p("Generated by `scripts/make-validation-doc.py` from the built `trnx-as` and")
    p("`trnx-sim` (timing mode) and the chip presets; do not edit by hand. Rerun it after")
    p("changing a preset or the timing/energy model; `--check` (run by the test suite)")
    p("fails when this file is stale. Claims and their sources: `../shared/reference/")
    p("trainium.md` section 3 and `energy.md` section 1.4; several are secondary or")
    p("unverified, marked as such there. Everything here is **per chip**: the")
    p("simulator has no multi-chip model yet, so UltraServer claims are compared with")
    p("the per-chip figure times the chip counts of the reference (64 Trn2, 144 Trn3).")
    p("")
    p("## Workloads")
    p("")
    p("- **Peak GEMM loop**: every core's PE runs 400 back-to-back 128x128x512 matmuls")
    p("  on SBUF-resident operands (bf16, and fp8: double-row on Trn2; Trn3/Trn4 run plain fp8")
    p("  at the bf16 rate, G3), no HBM traffic. This is")
    p("  the calibration point of the energy table (docs/energy.md).")
    p(f"- **Llama-3-8B decode step** (d {D}, GQA 32/8 heads of 128, FFN {FFN}, bf16")
    p(f"  weights and KV cache): one decoder layer's {LAYER_PARAMS / 1e6:.1f} M weights, then a {CONTEXT}-token KV")
    p(f"  cache per sequence ({KV_ELEMENTS * 2 / 2**20:.0f} MiB each): {data['trn3']['streamed_bytes1'] / 2**20:.0f} MiB at batch 1,")
    p(f"  {data['trn3']['streamed_bytes64'] / 2**20:,.0f} MiB at batch 64, streamed from HBM in 8 KiB-per-partition chunks")
    p("  (two DMA queues and four SBUF buffers per core) through the PE as 128x128")
    p("  tiles times the activations ([128, batch] for weights, [128, 1] for each")
    p("  sequence's own KV cache). A hand-scheduled")
    p("  program (generated by the script), so the figures do not move with the")
    p("  compiler; norms, RoPE, softmax and the LM head are left out (under 1% of the")
    p(f"  bytes at these batches). One layer is 1/{LAYERS} of a token per sequence, so the run")
    p(f"  is given `--tokens batch/{LAYERS}`. Batch 1 and batch 64.")
    p(f"- **Compiled MX GEMMs**: `trnx-sim --gemm {MX_GEMM} --dtype mxfp8|mxfp4 --chip trn3|trn4`,")
    p("  the compiler's MX matmul kernel (block 32, e8m0 scales) in timing mode, for the")
    p("  MX-mode claims, and the same GEMM in fp8 (double-row mode) on Trn2, which has no MX mode.")
    p("")
    p("## Side by side")
    p("")
    p("| claim | source | preset ratio (per chip) | simulated | where it comes from |")
    p("|---|---|---|---|---|")
    pk = lambda c, fp8: (c["pe_array.rows"] * c["pe_array.cols"] * 2 * c["pe.clock_hz"] * c["cores"]
                         * (2 if fp8 and c["pe_array.double_row"] else 1))
    p(f"| Trn3 vs Trn2: 4.4x compute (UltraServer) | trainium.md 3 (S8/S9: 362.4/83.2 PF FP8) "
      f"| dense bf16 {ratio(pk(c3, False), pk(c2, False))}, fp8 {ratio(pk(c3, True), pk(c2, True))}; "
      f"Trn3 MXFP8 vs Trn2 FP8 {ratio(peak('trn3', 'mxfp8'), pk(c2, True))}; "
      f"x144/64 chips: {peak('trn3', 'mxfp8') * 144 / (pk(c2, True) * 64):.2f}x "
      f"| peak GEMM loop {ratio(g['trn3']['achieved_flops_per_second'], g['trn2']['achieved_flops_per_second'])} fp8, "
      f"{ratio(gb['trn3']['achieved_flops_per_second'], gb['trn2']['achieved_flops_per_second'])} bf16; "
      f"compiled GEMM Trn3 MXFP8 vs Trn2 FP8 {ratio(fps('trn3', 'mxfp8'), fps('trn2', 'fp8e4m3'))} "
      f"| The presets derive each PE clock from the chip's dense BF16 peak (Trn2 {c2['pe.clock_hz'] / 1e9:.3f} GHz: {pk(c2, False) / 1e12:,.0f} TF; "
      f"Trn3 {c3['pe.clock_hz'] / 1e9:.2f} GHz: {pk(c3, False) / 1e12:,.0f} TF). Trn2's fp8 doubles it (double-row: {pk(c2, True) / 1e12:,.0f} TF, S5 1,299); "
      f"Trn3 runs plain fp8 at the bf16 rate (G3), so its per-chip gain is its MX mode "
      f"(`pe_array.mxfp8_rate_multiplier` {c3['pe_array.mxfp8_rate_multiplier']:g}: {peak('trn3', 'mxfp8') / 1e12:,.0f} TF). "
      f"The compiled {MX_GEMM.replace(',', 'x')} MXFP8 GEMM reaches {100 * fps('trn3', 'mxfp8') / peak('trn3', 'mxfp8'):.0f}% of that peak, "
      f"the Trn2 FP8 one (double-row) {100 * fps('trn2', 'fp8e4m3') / peak('trn2', 'fp8e4m3'):.0f}% of its own. "
      f"The reference's 1.94x per chip (2,517 TF over Trn2's 1,299 TF FP8) x 2.25x chips is the 4.4x; here MX at 4x the derived bf16 rate "
      f"gives {peak('trn3', 'mxfp8') / 1e12:,.0f} TF (S6: 2,517; S6's MX/BF16 ratio is 3.75) over {pk(c2, True) / 1e12:,.0f}, hence {ratio(peak('trn3', 'mxfp8'), pk(c2, True))}. |")
    p(f"| Trn3 vs Trn2: 3.9x memory bandwidth (UltraServer) | trainium.md 3 [UNVERIFIED]; docs give 3.8x "
      f"| {ratio(bw['trn3'], bw['trn2'])}; x144/64 chips: {bw['trn3'] * 144 / (bw['trn2'] * 64):.2f}x "
      f"| decode HBM {ratio(d1['trn3']['achieved_hbm_bytes_per_second'], d1['trn2']['achieved_hbm_bytes_per_second'])} (batch 1) "
      f"| Per chip 4.9/2.9 TB/s; the rest of the claim is 2.25x more chips per UltraServer. |")
    p(f"| Trn3 vs Trn2: 5x tokens per megawatt | energy.md 1.4 [U] (secondary blog only) "
      f"| - "
      f"| decode batch 1: {ratio(w1['trn3']['tokens_per_second_per_megawatt_chip'], w1['trn2']['tokens_per_second_per_megawatt_chip'])} chip, "
      f"{ratio(w1['trn3']['tokens_per_second_per_megawatt_facility'], w1['trn2']['tokens_per_second_per_megawatt_facility'])} facility, "
      f"{ratio(w1['trn3']['tokens_per_second_per_megawatt_provisioned'], w1['trn2']['tokens_per_second_per_megawatt_provisioned'])} provisioned; "
      f"batch 64: {ratio(w64['trn3']['tokens_per_second_per_megawatt_facility'], w64['trn2']['tokens_per_second_per_megawatt_facility'])} facility "
      f"| Decode is HBM-bound on both: tokens/s scale with bandwidth ({ratio(w1['trn3']['tokens_per_second'], w1['trn2']['tokens_per_second'])} at batch 1) while power rises with more HBM traffic per second and Trn3's higher static, host and network power. 5x would need the MXFP4 compute, FP4 weights (4x fewer bytes per token) and UltraServer-scale batching that the claim's (unknown) workload used. |")
    ee2 = g["trn2"]["achieved_flops_per_second"] / g["trn2"]["average_power_watts"]
    ee3 = g["trn3"]["achieved_flops_per_second"] / g["trn3"]["average_power_watts"]
    p(f"| Trn3 vs Trn2: +40% energy efficiency | trainium.md 3 (secondary), energy.md 1.4 "
      f"| TDP {c3['power.tdp_watts']:.0f}/{c2['power.tdp_watts']:.0f} W (both estimates) "
      f"| peak GEMM loop FLOP/J {ratio(ee3, ee2)} (fp8 both); compiled GEMM FLOP/J Trn3 MXFP8 vs Trn2 FP8 "
      f"{ratio(per_j('trn3', 'mxfp8'), per_j('trn2', 'fp8e4m3'))}; decode tokens/J chip {ratio(w1['trn3']['tokens_per_joule_chip'], w1['trn2']['tokens_per_joule_chip'])} "
      f"| The energy table is TDP-calibrated (docs/energy.md): a peak loop in the fastest mode draws about the assumed power. "
      f"Trn3's plain fp8 runs at its bf16 rate ({ratio(pk(c3, True), pk(c2, True))} of Trn2's double-row fp8) at "
      f"{ratio(c3['power.tdp_watts'], c2['power.tdp_watts'])} the assumed power, so it does {ratio(ee3, ee2)} the fp8 work per joule. "
      f"In MX mode the PE does {ratio(peak('trn3', 'mxfp8'), pk(c3, True))} the plain-fp8 work per cycle at the MX MAC energy "
      f"(`energy.pe_mac_fp4_joules`, derived from the MX peak): {ratio(per_j('trn3', 'mxfp8'), per_j('trn2', 'fp8e4m3'))} of Trn2's fp8 FLOP/J "
      f"(compiled GEMMs). Every TDP is an estimate: the power sensitivity table below gives the Trn3 power that would make +40% true. |")
    p(f"| Trn4 vs Trn3: 6x FP4 | trainium.md 3 (nand-research) "
      f"| MXFP4 peak {ratio(peak('trn4', 'mxfp4'), peak('trn3', 'mxfp4'))} "
      f"({peak('trn4', 'mxfp4') / 1e15:.1f} / {peak('trn3', 'mxfp4') / 1e15:.2f} PF) "
      f"| compiled MXFP4 GEMM {ratio(fps('trn4', 'mxfp4'), fps('trn3', 'mxfp4'))} "
      f"| The trn4 preset sets the MX rates to 6x trn3's (projection, assumption). The compiled {MX_GEMM.replace(',', 'x')} GEMM "
      f"reaches {100 * fps('trn3', 'mxfp4') / peak('trn3', 'mxfp4'):.0f}% of peak on trn3 but {100 * fps('trn4', 'mxfp4') / peak('trn4', 'mxfp4'):.0f}% on trn4: "
      f"the PE is busy {100 * mx[('trn4', 'mxfp4')]['pe_busy_fraction']:.0f}% of the time there (vs {100 * mx[('trn3', 'mxfp4')]['pe_busy_fraction']:.0f}%), "
      f"waiting on operand loads and PSUM evacuation that did not get 6x faster. |")
    p(f"| Trn4 vs Trn3: 4x memory bandwidth | trainium.md 3 (nand-research) "
      f"| {ratio(bw['trn4'], bw['trn3'])} "
      f"| decode HBM {ratio(d1['trn4']['achieved_hbm_bytes_per_second'], d1['trn3']['achieved_hbm_bytes_per_second'])} (batch 1), "
      f"{ratio(d64['trn4']['achieved_hbm_bytes_per_second'], d64['trn3']['achieved_hbm_bytes_per_second'])} (batch 64) "
      f"| The preset has 4x; the decode program does not reach it: each 128x128 weight tile costs the PE its 64-cycle minimum initiation interval, a ceiling of {128 * 128 * 2 / 64 * c4['pe.clock_hz'] * c4['cores'] / 1e12:.1f} TB/s per chip, below trn4's {bw['trn4'] * c4['hbm.max_utilization'] / 1e12:.1f} TB/s sustained HBM. |")
    p(f"| Trn4 vs Trn3: 2x HBM capacity | trainium.md 3 [UNVERIFIED] "
      f"| {ratio(cap['trn4'], cap['trn3'])} | - | Preset value (assumption), nothing simulated. |")
    p("")
    p("## Published microbenchmarks (trainium.md section 8)")
    p("")
    p("| key | published | simulated | within 10% | note |")
    p("|---|---|---|---|---|")
    bwv = data["dma_bw"]
    m1 = data["m1"]
    p(f"| M1 NKI matmul tutorial, [4096,8192]x[8192,8192] bf16 on one Trn1 core | 6.97 ms, 85.2% of peak "
      f"| {m1['seconds'] * 1e3:.2f} ms ({100 * (m1['seconds'] / 6.97e-3 - 1):+.1f}%), {100 * m1['pe_utilization']:.1f}% of peak "
      f"| {'yes' if abs(m1['seconds'] / 6.97e-3 - 1) <= 0.1 else 'no'} | `trnx-sim --gemm 4096,8192,8192` on trn1 with `cores: 1`: "
      f"trnx's compiler, not the tutorial's kernel; bound by {m1['bottleneck']['bound_by']} "
      f"({100 * m1['bottleneck']['bound_fraction']:.0f}% of the critical path) |")
    for chip, pub in (("trn1", 272e9), ("trn2", 368e9), ("trn3", 528e9)):
        sim = bwv[(chip, 4096)]
        p(f"| M2 DMA bandwidth, {chip} core, 4 KiB/partition | {pub / 1e9:.0f} GB/s | {sim / 1e9:.0f} GB/s "
          f"({100 * (sim / pub - 1):+.1f}%) | {'yes' if abs(sim / pub - 1) <= 0.1 else 'no'} | "
          f"16 engines at P2's per-engine rate x descriptor efficiency (128 B overhead per run); curve over bytes/partition "
          + ", ".join(f"{s}: {bwv[(chip, s)] / 1e9:.0f}" for s in DMA_SIZES) + " GB/s |")
    act = data["act_chain"]
    ok = abs(act / 189e-9 - 1) <= 0.1
    p(f"| M3 dependent one-element ACT ops | ~189 ns (264 cycles, Trn1) | {act * 1e9:.0f} ns on trn1 ({act * 1.4e9:.0f} ACT cycles, "
      f"{100 * (act / 189e-9 - 1):+.1f}%) | {'yes' if ok else 'no'} | a dependent instruction on the same engine starts when its "
      f"predecessor's result is visible (simulator/machine/ResultLatency.h): MIN_II 64 + `act.latency_cycles` 200, the "
      f"~100-cycle fixed overhead plus the RAW wait P1 names (264 - 64) |")
    p("")
    p("## Power sensitivity")
    p("")
    out.extend(power_sensitivity(data))
    p("")
    p("## Peak GEMM loop (calibration)")
    p("")
    p("| chip | mode | TFLOP/s achieved | of peak | chip W | stated TDP W | PE J share | static J share |")
    p("|---|---|---|---|---|---|---|---|")
    for c in CHIPS:
        for mode, r in (("bf16", gb[c]), ("fp8 double-row" if data[c]["cfg"]["pe_array.double_row"] else "fp8 (bf16 rate)", g[c])):
            br = r["energy"]["breakdown"]
            p(f"| {c} | {mode} | {r['achieved_flops_per_second'] / 1e12:,.0f} | "
              f"{100 * r['achieved_flops_per_second'] / r['peak_flops_per_second']:.1f}% | "
              f"{r['energy']['chip_average_power_watts']:.0f} | {r['energy']['tdp_watts']:.0f} | "
              f"{100 * br['pe'] / r['energy']['chip_joules']:.0f}% | {100 * br['static'] / r['energy']['chip_joules']:.0f}% |")
    p("")
    p("## Decode step (one Llama-3-8B layer)")
    p("")
    p("| chip | batch | time us | HBM TB/s (of peak) | PE busy | chip W | node W | facility W | tokens/s | tokens/J chip | tokens/s/MW chip | tokens/s/MW facility | tokens/s/MW provisioned |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for batch, dd, ww in ((1, d1, w1), (64, d64, w64)):
        for c in CHIPS:
            r, w, e = dd[c], ww[c], dd[c]["energy"]
            p(f"| {c} | {batch} | {r['seconds'] * 1e6:,.1f} | {r['achieved_hbm_bytes_per_second'] / 1e12:.2f} "
              f"({100 * r['achieved_hbm_bytes_per_second'] / r['peak_hbm_bytes_per_second']:.0f}%) | "
              f"{100 * r['engines']['pe']['busy_fraction']:.0f}% | {e['chip_average_power_watts']:.0f} | "
              f"{e['node_average_power_watts']:.0f} | {e['facility_average_power_watts']:.0f} | "
              f"{fmt(w['tokens_per_second'])} | {fmt(w['tokens_per_joule_chip'])} | "
              f"{fmt(w['tokens_per_second_per_megawatt_chip'])} | {fmt(w['tokens_per_second_per_megawatt_facility'])} | "
              f"{fmt(w['tokens_per_second_per_megawatt_provisioned'])} |")
    p("")
    p("Chip energy of the batch-1 decode step by component:")
    p("")
    p("| chip | " + " | ".join(["pe", "act", "dve", "pool", "sbuf", "psum", "hbm", "link", "static"]) + " |")
    p("|---|" + "---|" * 9)
    for c in CHIPS:
        e = d1[c]["energy"]
        p(f"| {c} | " + " | ".join(f"{100 * e['breakdown'][k] / e['chip_joules']:.1f}%"
                                   for k in ["pe", "act", "dve", "pool", "sbuf", "psum", "hbm", "link", "static"]) + " |")
    p("")
    p("## Reading the numbers")
    p("")
    p("- tokens/s per MW at the **chip** boundary divides by simulated chip power;")
    p("  **facility** adds the per-chip host and network share and multiplies by the")
    p("  PUE (`power.*` keys of the preset); **provisioned** divides by (TDP + host +")
    p("  network) x PUE, the InferenceMAX convention (energy.md 1.1), which does not")
    p("  credit a memory-bound run for drawing less than TDP.")
    p("- For comparison (energy.md 1.1), InferenceMAX reports 0.75-2.8 M tokens/s per")
    p("  all-in MW for gpt-oss-120B on GPUs, counting input and output tokens at large")
    p("  batch; an 8B model at batch 1 per chip is a different point, far below the")
    p("  batch where those figures are measured.")
    p("- The energy table and all power keys are assumptions calibrated to estimated")
    p("  chip powers (Trn2 ~500 W, Trn3 ~1 kW); see docs/energy.md.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.environ.get("TRNX_BUILD_DIR", str(SOURCE_DIR / "build")))
    ap.add_argument("--check", action="store_true", help="fail if docs/validation.md is stale")
    ap.add_argument("--output", default=str(DOC))
    a = ap.parse_args()
    build = pathlib.Path(a.build_dir)
    tools = {"as": build / "isa" / "trnx-as", "sim": build / "simulator" / "trnx-sim"}
    for t in tools.values():
        if not t.exists():
            sys.exit(f"error: {t} not found (build first, or pass --build-dir)")
    data = collect(tools)
    text = render(data)
    out = pathlib.Path(a.output)
    # The same power-sensitivity table in docs/energy.md, between its markers.
    energy_old = ENERGY_DOC.read_text()
    if POWER_BEGIN not in energy_old or POWER_END not in energy_old:
        sys.exit(f"error: {ENERGY_DOC} has no '{POWER_BEGIN}' ... '{POWER_END}' block")
    head, rest = energy_old.split(POWER_BEGIN, 1)
    energy_new = head + POWER_BEGIN + "\n" + "\n".join(power_sensitivity(data)) + "\n" + POWER_END + rest.split(POWER_END, 1)[1]
    if a.check:
        if energy_new != energy_old:
            sys.exit(f"error: {ENERGY_DOC}'s power sensitivity table is stale; run scripts/make-validation-doc.py")
        old = out.read_text() if out.exists() else ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                       str(out), "fresh"))
            sys.exit(f"error: {out} is stale; run scripts/make-validation-doc.py")
        return
    out.write_text(text)
    ENERGY_DOC.write_text(energy_new)


if __name__ == "__main__":
    main()
