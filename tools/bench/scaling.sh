#!/usr/bin/env bash
# Multi-core scaling of fulmar-dataplane: the same closed-loop memcached-UDP
# benchmark with 1, 2, 4, 8 worker cores, each driven by fulmar-pktgen with as
# many queues (one lcore each) over net_memif. See docs/scaling.md.
#
#   scaling.sh bundle OUT.tar.gz [--build-dir DIR] [--march M]
#       (on the build machine) builds fulmar-dataplane and fulmar-pktgen
#       linked statically against DPDK and packs them with this script and
#       the few non-glibc shared libraries they use.
#   scaling.sh run [--workers "1 2 4 8"] [--duration S] [--keys N] ...
#       (on the machine to measure; from an unpacked bundle or a checkout)
#       runs the benchmark for each worker count; prints a markdown table and
#       writes JSON. --help lists every flag.
#
# Needs only bash, coreutils, grep, sed and awk on the target: no python, no
# `ip`, no packages. Root for hugepages. Every process it starts is stopped
# by its PID; its memif sockets, DPDK runtime folders and hugepage files
# (by file prefix) are removed, also on Ctrl-C.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
HERE="$(dirname "$SELF")"

die() {
    echo "scaling.sh: $*" >&2
    exit 1
}
say() { echo "scaling.sh: $*" >&2; }

usage() {
    cat <<'EOF'
usage: scaling.sh bundle OUT.tar.gz [--build-dir DIR] [--march M]
       scaling.sh run [flags]

bundle:
  --build-dir DIR     meson build folder (default: <repo>/build-scaling-static)
  --march M           target CPU (default x86-64-v3: AVX2, any x86 since 2015;
                      "x86-64" for anything older)

run:
  --workers "LIST"    worker counts to measure (default "1 2 4 8")
  --duration S        measured seconds per run (default 10)
  --warmup S          seconds of load before measuring (default 1)
  --keys N            distinct keys, preloaded (default 1000000; k/M suffixes)
  --get-ratio F       share of gets (default 0.9)
  --window W          requests in flight per queue (default 256)
  --timeout-ms MS     a request unanswered this long is lost (default 100;
                      1000 on oversubscribed runs)
  --shard-mb MB       memory_per_shard_mb (default: 256 MiB per million keys
                      over the workers, at least 64)
  --cpus LIST         CPUs to use, in order, e.g. "0-15" or "0,2,4,6"
                      (default: this process's affinity; with hyperthreads,
                      give one CPU per physical core to measure cores)
  --oversubscribe     run worker counts that need more CPUs than there are,
                      sharing CPUs (numbers meaningless: a smoke test)
  --bin DIR           where the binaries are: a folder holding both, or a
                      meson build folder (default: the bundle's bin/, else
                      <repo>/build-scaling-static)
  --out DIR           logs, per-run JSON, scaling.md, scaling.json
                      (default ./scaling-YYYYmmdd-HHMMSS)
  --json FILE         the summary JSON (default OUT/scaling.json)

CPU layout for N workers (C0, C1, ... the CPUs given):
  fulmar-dataplane  main lcore C0, workers C1..CN
  fulmar-pktgen     queues on C(N+1)..C(2N); with exactly 2N CPUs its queue 0
                    shares C0 with the dataplane's main lcore (which sleeps)
EOF
}

# --- helpers ---------------------------------------------------------------

# "2M" -> 2000000, "100k" -> 100000, "5" -> 5.
to_int() {
    local v="$1" mult=1
    case "$v" in
        *[kK]) mult=1000; v="${v%?}" ;;
        *[mM]) mult=1000000; v="${v%?}" ;;
    esac
    [[ "$v" =~ ^[0-9]+$ ]] || die "not a whole number: $1"
    echo $((v * mult))
}

# "0-3,8,10-11" -> "0 1 2 3 8 10 11"
expand_cpus() {
    local list=() part a b
    for part in ${1//,/ }; do
        if [[ "$part" =~ ^([0-9]+)-([0-9]+)$ ]]; then
            a="${BASH_REMATCH[1]}"
            b="${BASH_REMATCH[2]}"
            while [ "$a" -le "$b" ]; do
                list+=("$a")
                a=$((a + 1))
            done
        elif [[ "$part" =~ ^[0-9]+$ ]]; then
            list+=("$part")
        else
            die "bad CPU list: $1"
        fi
    done
    echo "${list[*]}"
}

# A top-level number of a fulmar-pktgen JSON file: `  "key": 123.4,`
json_top() { sed -n "s/^  \"$2\": \\([-0-9.e+]*\\),\\{0,1\\}\$/\\1/p" "$1" | head -1; }
# A number inside a one-line object of that file: json_in FILE latency_us p99
json_in() {
    sed -n "s/^  \"$2\": {\\(.*\\)}.*/\\1/p" "$1" | head -1 |
        tr ',' '\n' | sed -n "s/^ *\"$3\": \\([-0-9.e+]*\\)\$/\\1/p"
}
# awk does the floating point.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# 1234567.8 -> 1,234,568
commas() {
    local n out=""
    n="$(calc "%.0f" "$1")"
    while [ ${#n} -gt 3 ]; do
        out=",${n: -3}$out"
        n="${n:0:${#n}-3}"
    done
    echo "$n$out"
}
# A table row for a run without numbers.
row_note() { echo "| $1 |$(printf ' |%.0s' 1 2 3 4 5 6 7 8 9) $2 |"; }

hugepage_dir() {
    awk '$3 == "hugetlbfs" && ($4 ~ /pagesize=2M/ || $4 !~ /pagesize=/) { print $2; exit }' \
        /proc/mounts
}

free_hugepages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }

# --- bundle ----------------------------------------------------------------

cmd_bundle() {
    local out="" build="" march="x86-64-v3"
    while [ $# -gt 0 ]; do
        case "$1" in
            --build-dir) build="$2"; shift 2 ;;
            --march) march="$2"; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            -*) die "bundle: unknown flag $1" ;;
            *) [ -z "$out" ] || die "bundle: one output file"; out="$1"; shift ;;
        esac
    done
    [ -n "$out" ] || die "bundle: give OUT.tar.gz"
    local root
    root="$(cd "$HERE/../.." && pwd)"
    [ -f "$root/meson.build" ] || die "bundle: run from a checkout (no $root/meson.build)"
    build="${build:-$root/build-scaling-static}"
    local opts=(-Dbuildtype=release -Dstatic_dpdk=true "-Dmarch=$march")
    if [ -f "$build/build.ninja" ]; then
        meson configure "$build" "${opts[@]}" >/dev/null
    else
        meson setup "$build" "$root" "${opts[@]}" >/dev/null
    fi
    say "building in $build (static DPDK, -march=$march)"
    ninja -C "$build" dataplane/fulmar-dataplane tools/pktgen/fulmar-pktgen >/dev/null

    local stage
    stage="$(mktemp -d)"
    local top="$stage/fulmar-scaling"
    mkdir -p "$top/bin" "$top/lib"
    cp "$build/dataplane/fulmar-dataplane" "$build/tools/pktgen/fulmar-pktgen" "$top/bin/"
    cp "$SELF" "$top/scaling.sh"
    chmod +x "$top/scaling.sh"
    local b lib
    for b in "$top"/bin/*; do
        if ldd "$b" | grep -q 'librte_'; then
            ldd "$b" >&2
            die "bundle: $(basename "$b") still needs shared DPDK libraries"
        fi
        # Everything but glibc itself (which must come from the target: the
        # binaries need the GLIBC version noted in MANIFEST or newer).
        for lib in $(ldd "$b" | awk '$3 ~ /^\// { print $3 }'); do
            case "$(basename "$lib")" in
                libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | ld-linux*) ;;
                *) cp -L -n "$lib" "$top/lib/" ;;
            esac
        done
    done
    {
        echo "fulmar scaling bundle"
        echo "built:   $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
        echo "source:  $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
        echo "options: ${opts[*]}"
        echo "needs:   x86-64 Linux, $(objdump -T "$top"/bin/* 2>/dev/null |
            grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1) or newer, root, hugepages"
        for b in "$top"/bin/*; do
            echo "ldd $(basename "$b"):"
            ldd "$b" | sed 's/ (0x[0-9a-f]*)//; s/^[[:space:]]*/  /'
        done
    } >"$top/MANIFEST"
    case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
    tar -C "$stage" -czf "$out" fulmar-scaling
    say "wrote $out ($(du -h "$out" | cut -f1)): unpack, then fulmar-scaling/scaling.sh run"
    sed -n '1,5p' "$top/MANIFEST" >&2
    rm -rf "$stage"
}

# --- run -------------------------------------------------------------------

# Set while a run is going, for the clean-up trap.
DP_PID=""
PG_PID=""
PREFIXES=()
SOCKETS=()
HUGEDIR=""
SOCKDIR=""

stop_pid() {
    local pid="$1" i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || {
        wait "$pid" 2>/dev/null || true
        return 0
    }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    stop_pid "$PG_PID"
    stop_pid "$DP_PID"
    PG_PID=""
    DP_PID=""
    local p s
    for p in "${PREFIXES[@]}"; do
        rm -rf "/var/run/dpdk/$p"
        [ -z "$HUGEDIR" ] || rm -f "$HUGEDIR/$p"map_*
    done
    for s in "${SOCKETS[@]}"; do rm -f "$s"; done
    PREFIXES=()
    SOCKETS=()
}

find_bins() {
    local d
    for d in "$@"; do
        [ -n "$d" ] || continue
        if [ -x "$d/fulmar-dataplane" ] && [ -x "$d/fulmar-pktgen" ]; then
            DP_BIN="$d/fulmar-dataplane"
            PG_BIN="$d/fulmar-pktgen"
            return 0
        fi
        if [ -x "$d/dataplane/fulmar-dataplane" ] && [ -x "$d/tools/pktgen/fulmar-pktgen" ]; then
            DP_BIN="$d/dataplane/fulmar-dataplane"
            PG_BIN="$d/tools/pktgen/fulmar-pktgen"
            return 0
        fi
    done
    return 1
}

# Makes sure `pages` 2 MiB pages are free, reserving more when needed.
ensure_hugepages() {
    local pages="$1" free total
    free="$(free_hugepages)"
    [ "$free" -ge "$pages" ] && return 0
    total="$(cat /proc/sys/vm/nr_hugepages)"
    say "$free free 2 MiB hugepages, $pages wanted: raising vm.nr_hugepages to $((total + pages - free))"
    echo $((total + pages - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null ||
        die "cannot reserve hugepages (root needed): echo N > /proc/sys/vm/nr_hugepages"
    free="$(free_hugepages)"
    [ "$free" -ge "$pages" ] || die "only $free hugepages free after reserving ($pages wanted)"
}

cmd_run() {
    local workers="1 2 4 8" duration=10 warmup=1 keys=1000000 get_ratio=0.9 window=256
    local timeout_ms="" shard_mb="" cpus="" oversub=0 bin="" out="" json=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --workers) workers="$2"; shift 2 ;;
            --duration) duration="$2"; shift 2 ;;
            --warmup) warmup="$2"; shift 2 ;;
            --keys) keys="$(to_int "$2")"; shift 2 ;;
            --get-ratio) get_ratio="$2"; shift 2 ;;
            --window) window="$(to_int "$2")"; shift 2 ;;
            --timeout-ms) timeout_ms="$(to_int "$2")"; shift 2 ;;
            --shard-mb) shard_mb="$(to_int "$2")"; shift 2 ;;
            --cpus) cpus="$2"; shift 2 ;;
            --oversubscribe) oversub=1; shift ;;
            --bin) bin="$2"; shift 2 ;;
            --out) out="$2"; shift 2 ;;
            --json) json="$2"; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            *) die "run: unknown flag $1 (see --help)" ;;
        esac
    done
    local n
    for n in $workers; do
        [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--workers: \"$workers\" is not a list of counts"
    done
    [[ "$duration" =~ ^[0-9.]+$ ]] || die "--duration: a number of seconds"
    [ "$(id -u)" -eq 0 ] || die "run needs root (hugepages, memif sockets)"

    local root
    root=""
    if [ -f "$HERE/../../meson.build" ]; then root="$(cd "$HERE/../.." && pwd)"; fi
    DP_BIN=""
    PG_BIN=""
    find_bins "$bin" "$HERE/bin" "${root:+$root/build-scaling-static}" ||
        die "no fulmar-dataplane and fulmar-pktgen found (give --bin DIR)"
    [ -d "$HERE/lib" ] && export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    "$DP_BIN" --list-config >/dev/null 2>&1 ||
        die "$DP_BIN does not start here: $("$DP_BIN" --list-config 2>&1 | tail -1)"

    local cpu_list
    if [ -n "$cpus" ]; then
        cpu_list="$(expand_cpus "$cpus")"
    else
        cpu_list="$(expand_cpus "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)")"
    fi
    # shellcheck disable=SC2206
    local CPU=($cpu_list)
    local n_cpus=${#CPU[@]}

    HUGEDIR="$(hugepage_dir)"
    if [ -z "$HUGEDIR" ]; then
        HUGEDIR=/dev/hugepages
        mkdir -p "$HUGEDIR"
        mount -t hugetlbfs nodev "$HUGEDIR" || die "no hugetlbfs mounted, and cannot mount one"
    fi

    out="${out:-$PWD/scaling-$(date +%Y%m%d-%H%M%S)}"
    mkdir -p "$out"
    out="$(cd "$out" && pwd)"
    json="${json:-$out/scaling.json}"
    SOCKDIR="$(mktemp -d /tmp/fulmar-scaling.XXXXXX)"
    trap 'cleanup; [ -z "$SOCKDIR" ] || rm -rf "$SOCKDIR"' EXIT
    trap 'say interrupted; exit 130' INT TERM

    local model
    model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    say "$n_cpus CPUs (${CPU[*]}) of $(nproc --all 2>/dev/null || echo "?"): ${model:-unknown CPU}"
    say "$(free_hugepages) free 2 MiB hugepages in $HUGEDIR; binaries: $(dirname "$DP_BIN")"

    local rows=() runs=() base_rate="" failures=0
    local tag="fsc$$"
    for n in $workers; do
        # CPUs: dataplane main + N workers, pktgen N queues.
        local need=$((2 * n + 1)) share0=0 over=0
        if [ "$need" -gt "$n_cpus" ] && [ $((2 * n)) -le "$n_cpus" ]; then
            share0=1
            need=$((2 * n))
        fi
        if [ "$need" -gt "$n_cpus" ]; then
            if [ "$oversub" -eq 0 ]; then
                say "workers $n: needs $((2 * n)) CPUs or more, this machine gives $n_cpus:" \
                    "skipped (--oversubscribe runs it anyway, as a smoke test)"
                rows+=("$(row_note "$n" "skipped: needs $((2 * n)) CPUs, $n_cpus here")")
                continue
            fi
            over=1
        fi
        local dp_cpus=() pg_cpus=() i
        for ((i = 0; i <= n; i++)); do dp_cpus+=("${CPU[i % n_cpus]}"); done
        for ((i = 0; i < n; i++)); do
            if [ "$share0" -eq 1 ] && [ "$i" -eq 0 ]; then
                pg_cpus+=("${CPU[0]}")
            elif [ "$share0" -eq 1 ]; then
                pg_cpus+=("${CPU[(n + i) % n_cpus]}")
            else
                pg_cpus+=("${CPU[(n + 1 + i) % n_cpus]}")
            fi
        done
        local dp_lcores="" pg_lcores=""
        for ((i = 0; i <= n; i++)); do dp_lcores+="${dp_lcores:+,}$i@${dp_cpus[i]}"; done
        for ((i = 0; i < n; i++)); do pg_lcores+="${pg_lcores:+,}$i@${pg_cpus[i]}"; done
        local workers_toml=""
        for ((i = 1; i <= n; i++)); do workers_toml+="${workers_toml:+, }$i"; done

        local smb="$shard_mb"
        if [ -z "$smb" ]; then
            smb=$(((keys * 256 / 1000000 + n - 1) / n))
            [ "$smb" -ge 64 ] || smb=64
        fi
        local tmo="${timeout_ms:-$([ "$over" -eq 1 ] && echo 1000 || echo 100)}"
        # Shards with their indexes, mbufs, the generator's pools, slack.
        ensure_hugepages $(((200 + n * (2 * smb + 100)) / 2))

        local sock="$SOCKDIR/memif-$n.sock" dpp="$tag-dp$n" pgp="$tag-pg$n"
        local cfg="$out/dataplane-$n.toml" dlog="$out/dataplane-$n.log"
        local plog="$out/pktgen-$n.log" pjson="$out/pktgen-$n.json"
        PREFIXES+=("$dpp" "$pgp")
        SOCKETS+=("$sock")
        cat >"$cfg" <<EOF
# scaling.sh: $n worker(s)
[dataplane]
workers = [$workers_toml]
main_lcore = 0
memory_per_shard_mb = $smb
allowed_clients = ["198.18.0.0/15"]
[dataplane.idle]
mode = "poll"
[[ports]]
device = "net_memif0,role=server,socket=$sock"
ipv4 = "198.18.0.1/24"
EOF
        say "workers $n: dataplane lcores $dp_lcores, pktgen lcores $pg_lcores" \
            "(lcore@CPU)$([ "$over" -eq 1 ] && echo ", OVERSUBSCRIBED: $((2 * n + 1)) threads on $n_cpus CPUs")"
        "$DP_BIN" --lcores "$dp_lcores" --no-pci --file-prefix "$dpp" --single-file-segments \
            --huge-dir "$HUGEDIR" --log-level=pmd.net.memif:error -- --config "$cfg" \
            >"$dlog" 2>&1 &
        DP_PID=$!
        local t=0
        until grep -q "fulmar-dataplane: running" "$dlog" 2>/dev/null; do
            kill -0 "$DP_PID" 2>/dev/null || {
                tail -5 "$dlog" >&2
                die "workers $n: the dataplane exited (log: $dlog)"
            }
            t=$((t + 1))
            [ "$t" -lt 300 ] || die "workers $n: the dataplane did not start in 30 s ($dlog)"
            sleep 0.1
        done
        # The preload of 1 M keys takes ~2 s a core; allow for a slow machine.
        local limit
        limit="$(calc "%d" "$duration + $warmup + 120 + $keys / 20000")"
        timeout --kill-after=10 "$limit" "$PG_BIN" --lcores "$pg_lcores" --no-pci \
            --file-prefix "$pgp" --single-file-segments --huge-dir "$HUGEDIR" \
            --log-level=pmd.net.memif:error \
            "--vdev=net_memif0,role=client,socket=$sock,zero-copy=yes" -- \
            --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --queues "$n" --keys "$keys" \
            --key-len 16 --value-len 32 --get-ratio "$get_ratio" --preload \
            --window $((window * n)) --duration "$duration" --warmup "$warmup" \
            --timeout-ms "$tmo" --quiet --json "$pjson" >"$plog" 2>&1 &
        PG_PID=$!
        local rc=0 dp_note=""
        wait "$PG_PID" || rc=$?
        PG_PID=""
        # Still up? (A crash after the generator's last reply leaves its
        # numbers valid, but say so.)
        if ! kill -0 "$DP_PID" 2>/dev/null; then
            local dp_rc=0
            wait "$DP_PID" || dp_rc=$?
            dp_note="the dataplane exited by itself (status $dp_rc, see dataplane-$n.log)"
            say "workers $n: $dp_note"
        fi
        stop_pid "$DP_PID"
        DP_PID=""
        cleanup
        if [ "$rc" -ne 0 ] || [ ! -s "$pjson" ]; then
            tail -5 "$plog" >&2
            say "workers $n: fulmar-pktgen failed (exit $rc; log: $plog)"
            failures=$((failures + 1))
            rows+=("$(row_note "$n" "failed (exit $rc), see pktgen-$n.log${dp_note:+; $dp_note}")")
            continue
        fi

        local rate p50 p99 p999 hit loss loop idle busy per speedup note=""
        rate="$(json_top "$pjson" requests_per_s)"
        hit="$(json_top "$pjson" hit_ratio)"
        loss="$(json_top "$pjson" loss_ratio)"
        p50="$(json_in "$pjson" latency_us p50)"
        p99="$(json_in "$pjson" latency_us p99)"
        p999="$(json_in "$pjson" latency_us p99_9)"
        loop="$(json_in "$pjson" link loop_cycles)"
        idle="$(json_in "$pjson" link idle_cycles)"
        busy="$(calc "%.0f" "($loop > 0) ? 100 * (1 - $idle / $loop) : 0")"
        per="$(calc "%.0f" "$rate / $n")"
        [ "$n" -eq 1 ] && [ "$over" -eq 0 ] && base_rate="$rate"
        if [ -n "$base_rate" ]; then
            speedup="$(calc "%.2fx" "$rate / $base_rate")"
        else
            speedup="n/a"
        fi
        [ "$over" -eq 1 ] && note="oversubscribed: $((2 * n + 1)) threads on $n_cpus CPUs"
        [ "$share0" -eq 1 ] && note="pktgen queue 0 shares CPU ${CPU[0]} with the dataplane main lcore"
        [ -z "$dp_note" ] || note="${note:+$note; }$dp_note"
        say "workers $n: $(calc "%.0f" "$rate") requests/s, hit ratio $hit, loss $loss"
        rows+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s |' \
            "$n" "$(commas "$rate")" "$(commas "$per")" "$speedup" \
            "$(calc "%.1f" "$p50")" "$(calc "%.1f" "$p99")" "$(calc "%.1f" "$p999")" \
            "$(calc "%.4f" "$hit")" "$(calc "%.4f" "$loss")" "$busy" "$note")")
        runs+=("$(printf '{"workers": %s, "dataplane_lcores": "%s", "pktgen_lcores": "%s", "oversubscribed": %s, "memory_per_shard_mb": %s, "timeout_ms": %s, "requests_per_s": %s, "requests_per_s_per_worker": %s, "speedup_vs_1": %s, "latency_us": {"p50": %s, "p99": %s, "p99_9": %s}, "hit_ratio": %s, "loss_ratio": %s, "pktgen_busy": %s, "pktgen": %s}' \
            "$n" "$dp_lcores" "$pg_lcores" "$([ "$over" -eq 1 ] && echo true || echo false)" \
            "$smb" "$tmo" "$rate" "$(calc "%.1f" "$rate / $n")" \
            "$([ -n "$base_rate" ] && calc "%.4f" "$rate / $base_rate" || echo null)" \
            "$p50" "$p99" "$p999" "$hit" "$loss" "$(calc "%.4f" "$busy / 100")" \
            "$(cat "$pjson")")")
    done

    local md="$out/scaling.md"
    {
        echo "fulmar-dataplane scaling: $keys keys, 16 B keys, 32 B values, $get_ratio GET," \
            "closed loop, $window requests in flight per queue, ${duration} s per run;" \
            "fulmar-pktgen over net_memif (zero-copy), one queue per worker;" \
            "$n_cpus CPUs: ${model:-unknown CPU}; $(date -u +%Y-%m-%d)"
        echo
        echo "| workers | requests/s | per worker | speedup vs 1 | p50 µs | p99 µs | p99.9 µs | hit ratio | loss | pktgen busy | note |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        printf '%s\n' "${rows[@]}"
    } >"$md"
    cat "$md"
    {
        printf '{\n  "tool": "scaling.sh",\n'
        printf '  "machine": {"cpus": %s, "cpu_list": "%s", "model": "%s", "kernel": "%s"},\n' \
            "$n_cpus" "${CPU[*]}" "${model//\"/}" "$(uname -r)"
        printf '  "config": {"keys": %s, "key_len": 16, "value_len": 32, "get_ratio": %s, "window_per_queue": %s, "duration_s": %s, "warmup_s": %s},\n' \
            "$keys" "$get_ratio" "$window" "$duration" "$warmup"
        printf '  "runs": ['
        local sep=""
        for r in "${runs[@]}"; do
            printf '%s\n    %s' "$sep" "$r"
            sep=","
        done
        printf '\n  ]\n}\n'
    } >"$json"
    say "table: $md; JSON: $json; logs: $out"
    [ "$failures" -eq 0 ] || die "$failures of the runs failed (see the table)"
}

case "${1:-}" in
    bundle) shift; cmd_bundle "$@" ;;
    run) shift; cmd_run "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
