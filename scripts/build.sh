#!/usr/bin/env bash
# Sets up (Debian packages) and builds trnx into ${BUILD_DIR:-build}.
# Extra arguments go to CMake, e.g. scripts/build.sh -DTRNX_SANITIZE=address,undefined
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build=${BUILD_DIR:-$root/build}
# ccache (when installed) shares objects between checkouts: paths relative to the root.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DPython3_EXECUTABLE=/usr/bin/python3 "$@" >/dev/null
ninja -C "$build"
