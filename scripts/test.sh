#!/usr/bin/env bash
# Sets up, builds and runs every test (C++ unit tests, lit, pytest, notebooks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" "$@"
build=${BUILD_DIR:-$root/build}
cd "$build"
ctest --output-on-failure -j2
