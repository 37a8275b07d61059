#!/usr/bin/env bash
# Installs every Debian package trnx needs to build, test and run. Idempotent: a
# package already present is skipped, so a second run costs a dpkg query.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config ccache
  # MLIR / LLVM 19 (compiler, FileCheck, lit)
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  # C++ libraries
  libyaml-cpp-dev pybind11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  # Python (Debian's /usr/bin/python3)
  python3 python3-dev python3-numpy python3-pandas python3-matplotlib python3-yaml
  python3-pytest python3-tqdm python3-onnx python3-torch python3-distributed
  python3-nbclient python3-nbformat python3-ipykernel
)
# Fuzzing (scripts/fuzz.sh sets TRNX_FUZZ): clang 19 and its libFuzzer runtime.
if [ -n "${TRNX_FUZZ:-}" ]; then
  packages+=(clang-19 libclang-rt-19-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# apt's output goes to a log file (TRNX_SETUP_LOG, default
# ${TMPDIR:-/tmp}/trnx-setup.log): one line says where; on failure, its tail.
log=${TRNX_SETUP_LOG:-${TMPDIR:-/tmp}/trnx-setup.log}
echo "setup: installing ${#missing[@]} Debian package(s) (${missing[*]}); log: $log" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
  echo "setup: error: apt-get failed; the last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
echo "setup: done" >&2
