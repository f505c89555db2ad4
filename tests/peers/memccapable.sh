#!/usr/bin/env bash
# memccapable -a (libmemcached's protocol conformance checker, ASCII half)
# against a running server.
#
#   tests/peers/memccapable.sh --tcp HOST:PORT [--prefix 'ip netns exec fulmar'] [--timeout S]
#
# memccapable comes from Debian's libmemcached-tools (tools/fulmar setup
# installs it). It FLUSHES the server. Prints each of its 27 ASCII tests with
# [pass]/[FAIL] (-v: the failed assertion too); exits 1 unless it exits 0 and
# says "All tests passed", 2 on bad arguments or no memccapable.
set -uo pipefail

tcp="" prefix="" timeout=5
while [ $# -gt 0 ]; do
    case "$1" in
        --tcp) tcp="${2:-}"; shift ;;
        --prefix) prefix="${2:-}"; shift ;;
        --timeout) timeout="${2:-}"; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "memccapable.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$tcp" =~ ^([^:[:space:]]+):([0-9]+)$ ]] || { echo "memccapable.sh: --tcp HOST:PORT is required" >&2; exit 2; }
host="${BASH_REMATCH[1]}" port="${BASH_REMATCH[2]}"
command -v memccapable >/dev/null ||
    { echo "memccapable.sh: no memccapable (Debian's libmemcached-tools); run tools/fulmar setup" >&2; exit 2; }

echo "memccapable -a against $tcp${prefix:+ under $prefix}"
# shellcheck disable=SC2086  # the prefix is a command line of its own
out="$($prefix memccapable -a -v -t "$timeout" -h "$host" -p "$port" 2>&1)"
rc=$?
printf '%s\n' "$out"
if [ "$rc" -eq 0 ] && grep -qx 'All tests passed' <<<"$out" && ! grep -q '\[FAIL\]' <<<"$out"; then
    echo "memccapable -a: PASS ($(grep -c '\[pass\]' <<<"$out") tests)"
    exit 0
fi
echo "memccapable -a: FAIL (exit $rc)"
exit 1
