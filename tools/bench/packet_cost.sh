#!/usr/bin/env bash
# Instructions per GET hit, per SET and per request of the bench's 90/10 mix
# through the dataplane's packet path, counted by callgrind (deterministic:
# no machine noise). Builds its own folder with -march=x86-64-v3 (valgrind
# has no AVX-512).
# Usage: tools/bench/packet_cost.sh [--max-get N] [--max-set N]
#                                   [--max-get-device N] [--max-mix N] [BUILD_DIR]
# --max-get/--max-set/--max-mix: fail when a GET hit / SET / request of the
# mix (software checksums) costs more instructions than N; --max-get-device:
# the same for a GET hit with device checksums (the figure issue 14's goal
# is stated in). The count is deterministic (the same binary on
# the same input gives the same figure), so CI uses these to keep the cost
# from regressing without any timing assertion.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
max_get="" max_set="" max_get_device="" max_mix=""
while [ $# -gt 0 ]; do
    case "$1" in
        --max-get) max_get="$2"; shift 2 ;;
        --max-set) max_set="$2"; shift 2 ;;
        --max-get-device) max_get_device="$2"; shift 2 ;;
        --max-mix) max_mix="$2"; shift 2 ;;
        *) break ;;
    esac
done
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
    per=$((ir / n))
    echo "instructions per ${what}: $per  ($ir over $n requests)"
    limit=""
    [ "$what" = "get" ] && limit="$max_get"
    [ "$what" = "set" ] && limit="$max_set"
    [ "$what" = "get with device checksums" ] && limit="$max_get_device"
    [ "$what" = "request of the 90/10 mix" ] && limit="$max_mix"
    if [ -n "$limit" ] && [ "$per" -gt "$limit" ]; then
        echo "packet_cost: ${what} costs $per instructions, over the budget of $limit" >&2
        failed=1
    fi
done
rm -rf "$out"
exit "${failed:-0}"
