#!/usr/bin/env python3
"""The architecture sensitivity suite: for each chip key, a workload where the
key must matter, run at two values through the real compiler and timing
simulator (`trnx-sim --gemm`), with the expected direction and bounds on the
size of the change, and, where the physics says so, the resource the report
must name as the bound.

    scripts/sensitivity.py [--build-dir DIR] [--check] [--write-doc] [--check-doc]

--check fails (exit 1) when a case leaves its bounds; --write-doc writes the
table into docs/performance.md (between the GENERATED markers); --check-doc
fails when that table is stale. tests/simulator/test_sensitivity.py runs
--check and --check-doc.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[1]
DOC = SOURCE_DIR / "docs" / "performance.md"
BEGIN, END = "<!-- BEGIN GENERATED: sensitivity -->", "<!-- END GENERATED: sensitivity -->"

# SCALE-Sim's compute model on a 32x32 array (docs/timing.md): no overlap,
# no initiation-interval floor, one row loaded per cycle, skew fill/drain,
# one pass per fold, one core, no PE semaphore instruction cost or PSUM write
# latency (SCALE-Sim has neither; docs/timing.md, trnx-sim --scalesim).
SCALESIM_32 = {"partitions": 32, "cores": 1, "psum_bytes_per_partition": 65536,
               "pe": {"control_cycles": 0, "latency_cycles": 0},
               "pe_array": {"rows": 32, "cols": 32, "weight_load_overlap": False, "min_ii_cycles": 0,
                            "weight_load_rows_per_cycle": 1, "fill_drain_cycles": 62, "moving_free_max": 2048}}


@dataclass
class Case:
    key: str                     # the chip key (or keys) changed
    workload: str                # --gemm M,N,K
    base: Dict                   # overrides of trn3 for the reference run ({} = the preset)
    changed: Dict                # overrides for the changed run (on top of base)
    direction: str               # "faster" or "slower": the changed run against the reference
    low: float                   # bounds on the time ratio (slow / fast)
    high: float
    why: str                     # the physics behind the expectation
    dtype: str = "bf16"
    bound: Optional[str] = None  # the resource the changed run must be bound by
    metric: str = "seconds"      # or "pe_busy_cycles"


def merge(a: Dict, b: Dict) -> Dict:
    out = json.loads(json.dumps(a))
    for k, v in b.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


CASES: List[Case] = [
    Case("pe_array.rows/cols 128 -> 256 (partitions 256)", "4096,4096,4096", {},
         {"partitions": 256, "pe_array": {"rows": 256, "cols": 256, "fill_drain_cycles": 510}}, "faster", 2.8, 4.0,
         "4x the MACs per cycle; operand traffic (2-D core grid) mostly stays under the PE time (P2's 33 B/ns DMA engines expose a little)"),
    Case("pe_array.rows/cols 128 -> 64", "4096,4096,4096", {},
         {"pe_array": {"rows": 64, "cols": 64, "fill_drain_cycles": 126}}, "slower", 3.5, 4.2,
         "a quarter of the MACs per cycle, PE-bound", bound="pe"),
    Case("pe_array.moving_free_max 512 -> 32", "4096,4096,4096", {}, {"pe_array": {"moving_free_max": 32}},
         "slower", 1.8, 2.2, "each pass streams 32 vectors but costs the 64-cycle initiation floor", bound="pe"),
    Case("sbuf_bytes_per_partition 256 -> 64 KiB", "4096,4096,4096", {}, {"sbuf_bytes_per_partition": 65536},
         "slower", 1.4, 3.0, "the resident operand no longer fits: narrower chunks and K segments re-read HBM"),
    Case("psum_banks 8 -> 2", "4096,4096,128", {}, {"psum_banks": 2, "psum_bytes_per_partition": 4096}, "slower",
         1.5, 3.0, "short K: with one bank per group the PE waits for each evacuation"),
    Case("cores 8 -> 4", "4096,4096,4096", {}, {"cores": 4}, "slower", 1.8, 2.05,
         "half the PE arrays on a PE-bound GEMM", bound="pe"),
    Case("pe.clock_hz 2.56 -> 1.28 GHz", "4096,4096,4096", {}, {"pe": {"clock_hz": 1.28e9}}, "slower", 1.8, 2.05,
         "PE-bound: time follows the PE clock", bound="pe"),
    Case("hbm.bytes_per_second 4.9 -> 2.45 TB/s", "8,14336,4096", {}, {"hbm": {"bytes_per_second": 2.45e12}},
         "slower", 1.7, 2.05, "decode-sized GEMV: weight streaming at the HBM limit", bound="hbm"),
    Case("hbm.bytes_per_second 4.9 -> 9.8 TB/s", "8,14336,4096", {}, {"hbm": {"bytes_per_second": 9.8e12}},
         "faster", 1.0, 1.25, "already at the preset the DMA engines (P2: 16 x 33 GB/s x 8 cores = "
         "4.2 TB/s) are the limit, below HBM's 4.41 TB/s sustained", bound="dma_engines"),
    Case("dma.engines_per_core 16 -> 8", "8,14336,4096", {}, {"dma": {"engines_per_core": 8}}, "slower", 1.6, 2.05,
         "half the DMA engines: below the HBM limit", bound="dma_engines"),
    Case("pe_array.dataflow ws -> os (SCALE-Sim 32x32, 64^3)", "64,64,64", SCALESIM_32,
         {"pe_array": {"dataflow": "os"}}, "faster", 1.1, 1.4,
         "SCALE-Sim: os 504 < ws 632 cycles (K streams, no preload)", metric="pe_busy_cycles"),
    Case("pe_array.dataflow ws -> is (SCALE-Sim 32x32, 64^3)", "64,64,64", SCALESIM_32,
         {"pe_array": {"dataflow": "is"}}, "slower", 0.99, 1.05, "SCALE-Sim: is = ws = 632 cycles",
         metric="pe_busy_cycles"),
    Case("pe_array.dataflow ws -> is (SCALE-Sim 32x32, 100x50x70)", "100,50,70", SCALESIM_32,
         {"pe_array": {"dataflow": "is"}}, "slower", 1.3, 1.6, "SCALE-Sim: is 1728 > ws 1164 cycles",
         metric="pe_busy_cycles"),
    Case("pe_array.dataflow ws -> os (SCALE-Sim 32x32, 100x50x70)", "100,50,70", SCALESIM_32,
         {"pe_array": {"dataflow": "os"}}, "faster", 1.02, 1.2, "SCALE-Sim: os 1056 < ws 1164 cycles",
         metric="pe_busy_cycles"),
]


def chip_yaml(tmp: pathlib.Path, name: str, overrides: Dict) -> pathlib.Path:
    import yaml

    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(merge({"base": "trn3", "name": name}, overrides)))
    return path


def run_gemm(sim: pathlib.Path, chip: pathlib.Path, shape: str, dtype: str, tmp: pathlib.Path) -> Dict:
    report = tmp / "report.json"
    proc = subprocess.run([str(sim), "--gemm", shape, "--dtype", dtype, "--chip", str(chip), "--report", str(report)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: trnx-sim --gemm {shape} --chip {chip} failed:\n{proc.stderr}")
    (layer,) = json.loads(report.read_text())["layers"]
    layer["pe_busy_cycles"] = layer["pe_busy_fraction"] * layer["cycles"]
    return layer


def evaluate(build: pathlib.Path) -> List[Dict]:
    sim = build / "simulator" / "trnx-sim"
    rows = []
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        for i, case in enumerate(CASES):
            ref = run_gemm(sim, chip_yaml(tmp, f"ref{i}", case.base), case.workload, case.dtype, tmp)
            new = run_gemm(sim, chip_yaml(tmp, f"new{i}", merge(case.base, case.changed)), case.workload, case.dtype,
                           tmp)
            a, b = ref[case.metric], new[case.metric]
            ratio = b / a if case.direction == "slower" else a / b
            rows.append({"case": case, "ref": ref, "new": new, "ratio": ratio,
                         "ok": case.low <= ratio <= case.high and
                         (case.bound is None or new["bottleneck"]["bound_by"] == case.bound)})
    return rows


def render(rows: List[Dict]) -> str:
    unit = {"seconds": "us", "pe_busy_cycles": "PE cycles"}
    lines = [BEGIN,
             "Generated by `scripts/sensitivity.py --write-doc` (every run is `trnx-sim --gemm M,N,K --chip "
             "FILE.yaml` on trn3 with the keys changed; checked by tests/simulator/test_sensitivity.py). "
             "Ratio = slower / faster run; bound = the resource the changed run's report names.",
             "",
             "| key changed | GEMM M,N,K | reference | changed | ratio | expected | bound (ref -> changed) | why |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c: Case = r["case"]
        scale = 1e6 if c.metric == "seconds" else 1
        fmt = (lambda v: f"{v * scale:.1f} {unit[c.metric]}")
        expect = f"{c.direction} x{c.low:g}-{c.high:g}" + (f", bound {c.bound}" if c.bound else "")
        lines.append(f"| `{c.key}` | {c.workload} | {fmt(r['ref'][c.metric])} | {fmt(r['new'][c.metric])} | "
                     f"{r['ratio']:.2f}x | {expect} | {r['ref']['bottleneck']['bound_by']} -> "
                     f"{r['new']['bottleneck']['bound_by']} | {c.why} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def spliced(doc: str, table: str) -> str:
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END + "\n", 1)
        return head + table + tail
    return doc.rstrip() + "\n\n## Architecture sensitivity\n\n" + table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=str(SOURCE_DIR / "build"))
    parser.add_argument("--check", action="store_true", help="fail when a case leaves its bounds")
    parser.add_argument("--write-doc", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--check-doc", action="store_true", help="fail when docs/performance.md's table is stale")
    args = parser.parse_args()
    rows = evaluate(pathlib.Path(args.build_dir))
    table = render(rows)
    status = 0
    if args.check:
        for r in rows:
            if not r["ok"]:
                c = r["case"]
                print(f"error: {c.key} on {c.workload}: ratio {r['ratio']:.3f} (expected {c.direction} "
                      f"{c.low}-{c.high}), bound {r['new']['bottleneck']['bound_by']} (expected {c.bound})",
                      file=sys.stderr)
                status = 1
    doc = DOC.read_text()
    if args.write_doc:
        DOC.write_text(spliced(doc, table))
    elif args.check_doc and spliced(doc, table) != doc:
        print("error: docs/performance.md's sensitivity table is stale; run scripts/sensitivity.py --write-doc",
              file=sys.stderr)
        status = 1
    if not (args.check or args.write_doc or args.check_doc):
        sys.stdout.write(table)
    sys.exit(status)


if __name__ == "__main__":
    main()
