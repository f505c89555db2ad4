#!/usr/bin/env bash
# Instructions per GET hit and per SET through the dataplane's packet path,
# counted by callgrind (deterministic: no machine noise). Builds its own
# folder with -march=x86-64-v3 (valgrind has no AVX-512).
# Usage: tools/bench/packet_cost.sh [BUILD_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${1:-$ROOT/build-callgrind}"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" -Dmarch=x86-64-v3 >/dev/null
ninja -C "$BUILD" tools/bench/packet_cost >/dev/null
out="$(mktemp -d)"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
    "$BUILD/tools/bench/packet_cost" 2>/dev/null | grep -v '^instructions'
n="$(grep -o '^[0-9]*' <<<"$("$BUILD/tools/bench/packet_cost" 2>/dev/null | head -1)")"
for dump in $(ls "$out"/cg.*.[0-9]* | sort -t. -k3 -n); do
    what="$(sed -n 's/^desc: Trigger: Client Request: //p' "$dump")"
    ir="$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
    echo "instructions per ${what}: $((ir / n))  ($ir over $n requests)"
done
rm -rf "$out"
