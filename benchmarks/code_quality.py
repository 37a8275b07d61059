#!/usr/bin/env python3
"""Quality of the generated code, measured by the timing simulator: the
issue-3 bars (4096^3 bf16 GEMM >= 85% of PE peak, large elementwise add >= 80%
of HBM peak, batch-1 GEMV with an 8192x8192 bf16 weight >= 70% of HBM peak;
and our own: the fp8 GEMM >= 80% of the fp8 peak: double-row on NC-v3, the bf16 rate on NC-v4),
each compiled from MLIR by trnx-compile and simulated by trnx-sim on a chip.

    /usr/bin/python3 benchmarks/code_quality.py [--build build] [--chip trn3]

Prints a markdown table (docs/performance.md, "Generated code quality")."""
import argparse
import json
import pathlib
import subprocess
import tempfile

ADD = """func.func @main(%a: tensor<{n}x{m}xf32>, %b: tensor<{n}x{m}xf32>) -> tensor<{n}x{m}xf32> {{
  %c = tosa.add %a, %b : (tensor<{n}x{m}xf32>, tensor<{n}x{m}xf32>) -> tensor<{n}x{m}xf32>
  return %c : tensor<{n}x{m}xf32>
}}
"""


def simulate(build, tnx, chip):
    out = subprocess.run([f"{build}/simulator/trnx-sim", tnx, "--chip", chip, "--mode", "timing", "--report", "-",
                          "-q"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def gemm(build, chip, m, n, k, dtype):
    out = subprocess.run([f"{build}/simulator/trnx-sim", "--gemm", f"{m},{n},{k}", "--dtype", dtype, "--chip", chip,
                          "--report", "-", "-q"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["layers"][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(pathlib.Path(__file__).resolve().parents[1] / "build"))
    parser.add_argument("--chip", default="trn3")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its bar")
    args = parser.parse_args()
    rows = []
    g = gemm(args.build, args.chip, 4096, 4096, 4096, "bf16")
    rows.append(("GEMM 4096x4096x4096 bf16", g["seconds"], "PE", g["pe_utilization"], 0.85))
    g8 = gemm(args.build, args.chip, 4096, 4096, 4096, "fp8e4m3")
    rows.append(("GEMM 4096x4096x4096 fp8e4m3 (double-row on trn2; bf16 rate on trn3, G3)", g8["seconds"], "PE (fp8 peak)", g8["pe_utilization"], 0.80))
    v = gemm(args.build, args.chip, 1, 8192, 8192, "bf16")
    with tempfile.TemporaryDirectory() as tmp:
        mlir = pathlib.Path(tmp, "add.mlir")
        mlir.write_text(ADD.format(n=8192, m=8192))
        tnx = pathlib.Path(tmp, "add.tnx")
        subprocess.run([f"{args.build}/compiler/trnx-compile", mlir, "--target", args.chip, "-o", tnx], check=True)
        add = simulate(args.build, tnx, args.chip)
    peak_hbm = add["peak_hbm_bytes_per_second"]
    rows.append(("GEMV 1x8192 by 8192x8192 bf16", v["seconds"], "HBM",
                 v["achieved_hbm_bytes_per_second"] / peak_hbm, 0.70))
    rows.append(("add 8192x8192 fp32 (768 MiB moved)", add["seconds"], "HBM",
                 add["achieved_hbm_bytes_per_second"] / add["peak_hbm_bytes_per_second"], 0.80))
    print(f"| workload ({args.chip}) | simulated time | bound | fraction of peak | bar |")
    print("|---|---|---|---|---|")
    failures = []
    for name, seconds, bound, frac, bar in rows:
        print(f"| {name} | {seconds * 1e6:.1f} us | {bound} | {100 * frac:.1f}% | >= {100 * bar:.0f}% |")
        if not bar <= frac <= 1.0:
            failures.append(f"{name}: {100 * frac:.1f}% of {bound} peak (bar {100 * bar:.0f}%, never above 100%)")
    if args.check and failures:
        raise SystemExit("error: " + "; ".join(failures))


if __name__ == "__main__":
    main()
