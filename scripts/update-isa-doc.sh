#!/usr/bin/env bash
# Regenerates the instruction reference in docs/isa.md from the instruction
# table (run after changing isa/InstructionTable.cpp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool=${1:-$root/build/isa/trnx-isa-doc}
doc=$root/docs/isa.md
head=$(sed -n '1,/<!-- BEGIN GENERATED: trnx-isa-doc -->/p' "$doc")
{
  printf '%s\n' "$head"
  "$tool"
  echo '<!-- END GENERATED: trnx-isa-doc -->'
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
