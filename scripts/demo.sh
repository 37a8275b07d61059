#!/usr/bin/env bash
# The main job: sets up, builds, then runs the bundled example on trn3 and
# prints its report. Today: the hand-written 512^3 GEMM (examples/asm/gemm_512.s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
build=${BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/isa/trnx-as" "$root/examples/asm/gemm_512.s" -o "$work/gemm.tnx"
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
for name in ("a", "b"):
    np.save(f"{sys.argv[1]}/{name}.npy", rng.standard_normal((512, 512), dtype=np.float32))
PY
"$build/simulator/trnx-sim" "$work/gemm.tnx" --chip trn3 --input "a=$work/a.npy" --input "b=$work/b.npy" \
  --output-dir "$work/out" --report "$work/report.json"
/usr/bin/python3 - "$work" <<'PY'
import sys, json, numpy as np, torch
w = sys.argv[1]
bf = lambda x: torch.tensor(x).bfloat16().double().numpy()
ref = bf(np.load(f"{w}/a.npy")) @ bf(np.load(f"{w}/b.npy"))
err = np.abs(np.load(f"{w}/out/c.npy") - ref).max() / np.abs(ref).max()
print(f"  numerics  max |c - numpy| / max |numpy| = {err:.2e}")
print(json.dumps(json.load(open(f"{w}/report.json")), indent=2))
PY
