#!/usr/bin/env bash
# Runs every store benchmark and the memcached memory comparison.
# Usage: tools/bench/store_bench.sh BUILD_DIR [get|set|memory|hitratio]...
set -euo pipefail
BUILD="$1"; shift
BENCH="$BUILD/tools/bench/store_bench"
MODES=("$@")
[ "${#MODES[@]}" -gt 0 ] || MODES=(get set memory hitratio)

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for m in "${MODES[@]}"; do
    echo "## $m"
    "$BENCH" "$m"
    if [ "$m" = memory ]; then
        # memcached 1.6 from Debian with 1 GiB, on a free loopback port,
        # filled with the same items; stopped by PID afterwards.
        port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
        memcached -u root -l 127.0.0.1 -p "$port" -U 0 -m 1024 -t 1 &
        pid=$!
        trap 'kill "$pid" 2>/dev/null || true' EXIT
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            sleep 0.1
        done
        "$BENCH" memcached-memory "$port"
        kill "$pid"; wait "$pid" 2>/dev/null || true
        trap - EXIT
    fi
done
