#!/usr/bin/env bash
# The main job: set up and build, then compile the bundled model (a GPT-2-style
# decoder layer, examples/models/decoder_layer.mlir) for trn3, simulate it
# (numerics and timing in one run), check the output against a numpy
# reference and print the report. Then the hand-written assembly GEMM.
# Results stay in ${DEMO_DIR:-$BUILD_DIR/demo} (program, listing, outputs,
# report, Perfetto trace).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
build=${BUILD_DIR:-$root/build}
demo=${DEMO_DIR:-$build/demo}
model="$root/examples/models/decoder_layer"
py=/usr/bin/python3
mkdir -p "$demo"

echo "== compile $model.mlir for trn3 (default auto-cast: bf16 matmul operands, fp32 accumulation)"
"$build/compiler/trnx-compile" "$model.mlir" --target trn3 -o "$demo/decoder_layer.tnx"
"$build/compiler/trnx-compile" "$model.mlir" --target trn3 --emit=asm -o "$demo/decoder_layer.s"
"$build/compiler/trnx-compile" "$model.mlir" --target trn3 --emit=trn -o "$demo/decoder_layer.trn.mlir"
echo "   trn ops: $(grep -o 'trn\.[a-z_]*' "$demo/decoder_layer.trn.mlir" | grep -v 'trn.yield' | sort | uniq -c | awk '{printf "%s x%s  ", $2, $1}')"
echo "   listing: $(grep -c '^  [a-z]' "$demo/decoder_layer.s") instructions in $demo/decoder_layer.s"

echo "== inputs (numpy, seed 0): activations, causal mask and weights"
"$py" "$model.py" inputs "$demo/in"
inputs=()
for f in "$demo"/in/*.npy; do inputs+=(--input "$(basename "$f" .npy)=$f"); done

echo "== simulate on trn3 (functional + timing; the layer processes 128 tokens)"
"$build/simulator/trnx-sim" "$demo/decoder_layer.tnx" --chip trn3 --mode both --tokens 128 "${inputs[@]}" \
  --output-dir "$demo/out" --report "$demo/report.json" --trace "$demo/trace.json"

echo "== numerics against the float64 numpy reference (max |out - ref| / max |ref|)"
err=$("$py" "$model.py" check "$demo/out/out.npy" "$demo/in")
echo "   auto-cast matmul (bf16 operands): $err  (tolerance 3e-2)"
"$build/compiler/trnx-compile" "$model.mlir" --target trn3 --auto-cast none -o "$demo/decoder_layer_fp32.tnx"
"$build/simulator/trnx-sim" "$demo/decoder_layer_fp32.tnx" --chip trn3 --mode functional -q "${inputs[@]}" \
  --output-dir "$demo/out_fp32"
err32=$("$py" "$model.py" check "$demo/out_fp32/out.npy" "$demo/in")
echo "   auto-cast none (fp32):            $err32  (tolerance 1e-4)"
"$py" -c "import sys; sys.exit(not (float('$err') <= 3e-2 and float('$err32') <= 1e-4))" \
  || { echo "error: numerics out of tolerance" >&2; exit 1; }

echo "== report: $demo/report.json (fields: docs/report.md); trace for ui.perfetto.dev: $demo/trace.json"
"$py" - "$demo/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w = r["workload"]
rows = [
    ("chip / cores used", f"{r['chip']} / {r['cores_used']}"),
    ("simulated time", f"{r['seconds'] * 1e6:.2f} us ({r['cycles']:.0f} {r['cycles_clock']} cycles)"),
    ("compute", f"{r['achieved_flops_per_second'] / 1e12:.2f} of {r['peak_flops_per_second'] / 1e12:.1f} TFLOP/s"),
    ("HBM traffic", f"{r['hbm_bytes'] / 2**20:.1f} MiB at {r['achieved_hbm_bytes_per_second'] / 1e9:.1f} GB/s"),
    ("chip energy / power", f"{r['energy_joules'] * 1e3:.3f} mJ / {r['average_power_watts']:.1f} W"),
    ("tokens/s", f"{w['tokens_per_second']:.3g}"),
    ("tokens/J (chip)", f"{w['tokens_per_joule_chip']:.3g}"),
    ("tokens/s per MW (facility)", f"{w['tokens_per_second_per_megawatt_facility']:.3g}"),
]
for name, value in rows:
    print(f"   {name:28s} {value}")
PY

echo "== secondary example: the hand-written 512^3 GEMM (examples/asm/gemm_512.s)"
"$build/isa/trnx-as" "$root/examples/asm/gemm_512.s" -o "$demo/gemm.tnx"
"$py" - "$demo" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
for name in ("a", "b"):
    np.save(f"{sys.argv[1]}/{name}.npy", rng.standard_normal((512, 512), dtype=np.float32))
PY
"$build/simulator/trnx-sim" "$demo/gemm.tnx" --chip trn3 --input "a=$demo/a.npy" --input "b=$demo/b.npy" \
  --output-dir "$demo/gemm_out" --report "$demo/gemm_report.json"
"$py" - "$demo" <<'PY'
import sys, numpy as np, torch
w = sys.argv[1]
bf = lambda x: torch.tensor(x).bfloat16().double().numpy()
ref = bf(np.load(f"{w}/a.npy")) @ bf(np.load(f"{w}/b.npy"))
err = np.abs(np.load(f"{w}/gemm_out/c.npy") - ref).max() / np.abs(ref).max()
print(f"   numerics  max |c - numpy| / max |numpy| = {err:.2e}")
PY
