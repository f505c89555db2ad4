#!/usr/bin/env bash
# Instructions per request in fulmar-pktgen's load loop (Generator::load_turn:
# RX, reply checks, latency, building, TX), against a reflector and against a
# cache whose every hit is verified, counted by callgrind (deterministic: no
# machine noise). Builds its own folder with -march=x86-64-v3 (valgrind has
# no AVX-512).
# Usage: tools/bench/pktgen_cost.sh [--max-reflector N] [--max-cache N] [BUILD_DIR]
# --max-*: fail when a request costs more instructions than N (deterministic,
# so CI can hold the generator's cost without timing anything).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
max_r="" max_c=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max-reflector) max_r="$2"; shift 2 ;;
        --max-cache) max_c="$2"; shift 2 ;;
        *) break ;;
    esac
done
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
    limit=""
    case "$what" in
        r) what=reflector; limit="$max_r" ;;
        c) what="cache, hits verified"; limit="$max_c" ;;
    esac
    per=$((ir / n))
    echo "pktgen instructions per request ($what): $per  ($ir over $n requests)"
    if [ -n "$limit" ] && [ "$per" -gt "$limit" ]; then
        echo "pktgen_cost: a request ($what) costs $per instructions, over the budget of $limit" >&2
        failed=1
    fi
done
exit "${failed:-0}"
