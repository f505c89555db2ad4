#!/usr/bin/env bash
# Instructions per request in fulmar-pktgen's load loop (Generator::load_turn:
# RX, reply checks, latency, building, TX), against a reflector and against a
# cache whose every hit is verified, counted by callgrind (deterministic: no
# machine noise). Builds its own folder with -march=x86-64-v3 (valgrind has
# no AVX-512). Usage: tools/bench/pktgen_cost.sh [BUILD_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${1:-$ROOT/build-callgrind}"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" -Dmarch=x86-64-v3 >/dev/null
ninja -C "$BUILD" tools/bench/pktgen_cost >/dev/null
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
    --callgrind-out-file="$out/cg.%p" "$BUILD/tools/bench/pktgen_cost" 2>/dev/null
for dump in $(ls "$out"/cg.*.[0-9]* | sort -t. -k3 -n); do
    # The dump is named "<r|c> <requests sent>".
    read -r what n <<<"$(sed -n 's/^desc: Trigger: Client Request: //p' "$dump")"
    ir="$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
    case "$what" in r) what=reflector ;; c) what="cache, hits verified" ;; esac
    echo "pktgen instructions per request ($what): $((ir / n))  ($ir over $n requests)"
done
