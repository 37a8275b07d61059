#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with Debian's clang 19 (AddressSanitizer
# + UndefinedBehaviorSanitizer, TRNX_FUZZ=ON) into ${FUZZ_BUILD_DIR:-build-fuzz}
# and runs each for a time box, starting from the seed corpus (examples/, test
# inputs, fuzz/corpus/). Findings (crash-*, timeout-*, oom-*) land in
# $FUZZ_BUILD_DIR/findings/NAME/; copy each into fuzz/corpus/NAME/ once fixed,
# so the replay tests (ctest -R fuzz.replay) keep it fixed.
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# TARGETs: container asm chip_yaml npy (the default set) and onnx, the ONNX
# importer, which is only built when named, e.g. `scripts/fuzz.sh 300 onnx`:
# it needs the MLIR compiler built with clang (TRNX_BUILD_COMPILER=ON in
# $FUZZ_BUILD_DIR; the first build of its MLIR-including sources takes minutes).
# Prints the executions per target (docs/reliability.md records them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(container asm chip_yaml npy)
TRNX_FUZZ=1 "$root/scripts/setup.sh"
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
compiler=OFF
for t in "${targets[@]}"; do
  case $t in
  container | asm | chip_yaml | npy) ;;
  onnx) compiler=ON ;;
  *) echo "error: unknown fuzz target '$t' (container, asm, chip_yaml, npy, onnx)" >&2; exit 1 ;;
  esac
done
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DTRNX_FUZZ=ON \
  -DTRNX_BUILD_COMPILER=$compiler -DTRNX_BUILD_PYTHON=OFF -DTRNX_BUILD_BENCHMARKS=OFF >/dev/null
ninja -C "$build" $(printf 'fuzz-%s ' "${targets[@]}") >/dev/null

declare -A seeds=(
  [container]="$build/fuzz/corpus/container $root/fuzz/corpus/container"
  [asm]="$root/examples/asm $root/tests/isa/lit $root/fuzz/corpus/asm"
  [chip_yaml]="$root/simulator/presets $root/fuzz/corpus/chip_yaml"
  [npy]="$root/fuzz/corpus/npy"
  [onnx]="$root/fuzz/corpus/onnx"
)
status=0
for t in "${targets[@]}"; do
  work="$build/fuzz/work/$t" findings="$build/findings/$t"
  mkdir -p "$work" "$findings"
  # Regular files only (libFuzzer reads corpus directories one level deep).
  find ${seeds[$t]} -maxdepth 1 -type f -exec cp -n {} "$work/" \; 2>/dev/null || true
  log="$build/fuzz/$t.log"
  if "$build/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$findings/" -print_final_stats=1 "$work" >"$log" 2>&1; then
    result=ok
  else
    result="FINDING (see $log and $findings)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz $t: ${seconds}s, $execs executions, $(ls "$work" | wc -l) corpus inputs: $result"
done
exit $status
