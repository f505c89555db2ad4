#!/usr/bin/python3
"""Fulmar, memcached and Redis on one workload, in one run (tools/fulmar bench).

1. Fulmar: fulmar-dataplane with one worker core, fulmar-pktgen on the other
   core over net_memif (zero-copy client, --single-file-segments).
2. memcached (Debian) with one worker thread, UDP on loopback, driven by
   tools/bench/udp_loadgen (sendmmsg/recvmmsg) with the same keys, values,
   mix and window.
3. Redis (Debian): redis-benchmark GET/SET without and with pipelining (-P 16).
4. The ceiling: the same pktgen and memif path against dpdk-testpmd in
   5-tuple-swap mode (a reflector: packet I/O and nothing else).

fulmar-pktgen reports how busy its loop was; at 95% or more it, not the
server, set the rate, and the table and the summary say so (for the ceiling
row that means the path carries more than the row shows).

Prints a markdown table and the ratios, writes bench-results.json and a PNG
of latency against throughput from a sweep of offered loads. Every server is
started here, pinned with taskset, and stopped by PID; traffic stays on
loopback or the memif socket.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print(f"==> {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def busiest_thread(pid):
    """(run ns, runnable-but-waiting ns) of the busiest thread under pid or
    its first child (our servers run under `timeout`): a polling worker is
    the thread that has run the most. None where /proc has no schedstat."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        for target in ([int(kids[0])] if kids else []) + [pid]:
            best = None
            for tid in os.listdir(f"/proc/{target}/task"):
                with open(f"/proc/{target}/task/{tid}/schedstat") as f:
                    run, wait = (int(x) for x in f.read().split()[:2])
                if best is None or run > best[0]:
                    best = (run, wait)
            if best:
                return best
    except (OSError, ValueError):
        pass
    return None


def on_cpu_share(before, after, wall_s):
    """The share of wall_s the worker thread ran: below ~0.97 another
    process took core 1 during the run and the rate understates the server."""
    if before is None or after is None or wall_s <= 0:
        return None
    return min(1.0, (after[0] - before[0]) / 1e9 / wall_s)


class Proc:
    """A server we started: stopped by PID, never by name."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "w")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    def wait_for(self, text, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.p.poll() is not None:
                return False
            with open(self.log.name) as f:
                if text in f.read():
                    return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def cleanup_prefix(prefix):
    subprocess.run(["rm", "-rf", f"/var/run/dpdk/{prefix}"], check=False)
    for f in os.listdir("/dev/hugepages") if os.path.isdir("/dev/hugepages") else []:
        if f.startswith(prefix):
            os.unlink(os.path.join("/dev/hugepages", f))


def pktgen(a, tmp, sock, extra, name, get_ratio=None):
    prefix = f"{a.name_prefix}cli-{os.getpid()}"
    out = os.path.join(tmp, f"{name}.json")
    argv = ["timeout", str(int(a.duration * 3 + 120)), "taskset", "-c", "0",
            os.path.join(a.build, "tools/pktgen/fulmar-pktgen"), "-l", "0", "--no-pci",
            "--file-prefix", prefix, "--single-file-segments", "--log-level=pmd.net.memif:error",
            f"--vdev=net_memif0,role=client,socket={sock},zero-copy=yes{a.client_devargs}", "--",
            "--dst-ip", "198.18.0.1", "--src-ip", "198.18.0.2", "--keys", str(a.keys),
            "--key-len", "16", "--value-len", "32",
            "--get-ratio", str(a.get_ratio if get_ratio is None else get_ratio),
            "--duration", str(a.duration), "--warmup", "1", "--burst", str(a.burst), "--quiet",
            "--json", out] + [w for s in a.pktgen_arg for w in s.split()] + extra
    r = subprocess.run(argv, capture_output=True, text=True)
    cleanup_prefix(prefix)
    if r.returncode != 0 or not os.path.exists(out):
        log(f"pktgen {name} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
        return None
    with open(out) as f:
        return json.load(f)


def row(name, rate, lat, cpu_us=None, note=""):
    return {"name": name, "requests_per_s": rate, "p50_us": lat.get("p50"),
            "p99_us": lat.get("p99"), "p99_9_us": lat.get("p99_9"), "cpu_us_per_req": cpu_us,
            "note": note}


def generator_of(r):
    """fulmar-pktgen's verdict on itself; from the link counters for a
    pktgen that predates it (busy only: no stall or time figures)."""
    g = r.get("generator")
    if g:
        return g
    link = r.get("link", {})
    if not link.get("loop_cycles"):
        return None
    busy = 1 - link.get("idle_cycles", 0) / link["loop_cycles"]
    return {"busy": busy, "busy_ns_per_request": 0, "limited": busy >= 0.95, "stalled": 0}


def generator_note(r):
    """fulmar-pktgen's verdict on itself, for a row's note."""
    g = generator_of(r)
    if not g:
        return ""
    note = f"pktgen busy {100 * g['busy']:.1f}%"
    if g["busy_ns_per_request"]:
        note += f", {g['busy_ns_per_request']:.0f} ns/req"
    if g.get("stalled", 0) >= 0.01:
        note += f" (lost the CPU {100 * g['stalled']:.0f}% of the run)"
    if g["limited"]:
        note += ": GENERATOR-BOUND"
    return note


def pktgen_row(name, r, cpu_us=None, note=""):
    out = row(name, r["requests_per_s"], r["latency_us"], cpu_us,
              ", ".join(n for n in (note, generator_note(r)) if n))
    out["generator"] = generator_of(r)
    return out


def bench_fulmar(a, tmp):
    log("Fulmar: fulmar-dataplane (worker on core 1) <- memif -> fulmar-pktgen (core 0)")
    sock = os.path.join(tmp, "fulmar.sock")
    prefix = f"{a.name_prefix}srv-{os.getpid()}"
    cfg = os.path.join(tmp, "bench.toml")
    with open(cfg, "w") as f:
        f.write(f"""[dataplane]
workers = [1]
main_lcore = 0
memory_per_shard_mb = {a.memory_mb}
allowed_clients = ["198.18.0.0/15"]
{a.dataplane_extra}
[dataplane.idle]
mode = "poll"
[[ports]]
device = "net_memif0,role=server,socket={sock}{a.server_devargs}"
ipv4 = "198.18.0.1/24"
""")
    srv = Proc(["timeout", str(int(a.duration * 20 + 600)),
                os.path.join(a.build, "dataplane/fulmar-dataplane"), "-l", "0-1", "--no-pci",
                "--file-prefix", prefix, "--single-file-segments",
                "--log-level=pmd.net.memif:error", "--", "--config", cfg],
               os.path.join(tmp, "dataplane.log"))
    results, sweep = [], []
    try:
        if not srv.wait_for("running"):
            with open(srv.log.name) as f:
                log("the dataplane did not start:\n" + f.read()[-1500:])
            return results, sweep
        cpu0 = cpu_seconds(srv.p.pid)
        sched0, t0 = busiest_thread(srv.p.pid), time.time()
        peak = pktgen(a, tmp, sock, ["--preload", "--window", str(a.window)], "fulmar-peak")
        on_cpu = on_cpu_share(sched0, busiest_thread(srv.p.pid), time.time() - t0)
        cpu1 = cpu_seconds(srv.p.pid)
        if peak:
            rate = peak["requests_per_s"]
            # The worker polls: one core whatever the load; CPU per request
            # is that core's time over the requests it served.
            cpu_us = None
            if cpu0 is not None and cpu1 is not None and rate > 0:
                cpu_us = 1e6 / rate
            results.append(pktgen_row(
                "Fulmar (1 worker core, memif)", peak, cpu_us,
                f"hit ratio {peak['hit_ratio']:.3f}, loss {peak['loss_ratio']:.4f}, "
                f"{peak['measure']['errors']} errors" +
                (f", worker on CPU {100 * on_cpu:.1f}%" if on_cpu is not None else "")))
            results[-1]["worker_on_cpu"] = on_cpu
            for frac in a.sweep:
                r = pktgen(a, tmp, sock, ["--rate", str(int(rate * frac)), "--window", "4096"],
                           f"fulmar-{int(frac * 100)}")
                if r:
                    sweep.append({"server": "fulmar", "offered": rate * frac, "of_peak": frac,
                                  "achieved": r["requests_per_s"], **r["latency_us"]})
        # The issue's other workloads at peak, on the same dataplane: Zipf
        # 0.99 (YCSB's skew: the hot keys stay in cache) and GETs only.
        for dist, ratio in a.workloads:
            r = pktgen(a, tmp, sock, ["--preload", "--window", str(a.window), "--dist", dist],
                       f"fulmar-{dist.replace(':', '')}-{int(ratio * 100)}", get_ratio=ratio)
            if r:
                results.append(pktgen_row(
                    f"Fulmar, {dist}, {int(ratio * 100)}% GET", r, 1e6 / r["requests_per_s"]
                    if r["requests_per_s"] else None,
                    f"hit ratio {r['hit_ratio']:.3f}, {r['measure']['errors']} errors"))
    finally:
        srv.stop()
        cleanup_prefix(prefix)
    return results, sweep


def bench_ceiling(a, tmp):
    log("Ceiling: dpdk-testpmd 5tswap reflector (core 1) <- memif -> fulmar-pktgen (core 0)")
    sock = os.path.join(tmp, "testpmd.sock")
    prefix = f"{a.name_prefix}tp-{os.getpid()}"
    srv = Proc(["timeout", str(int(a.duration * 3 + 180)), "dpdk-testpmd", "-l", "0-1",
                "--no-pci", "--file-prefix", prefix, "--single-file-segments",
                f"--vdev=net_memif0,role=server,socket={sock}{a.server_devargs}", "--",
                "--forward-mode=5tswap",
                "--auto-start", "--nb-cores=1", "--stats-period=1"],
               os.path.join(tmp, "testpmd.log"))
    try:
        if not srv.wait_for("packet forwarding - ports=", 30):
            log("testpmd did not start; see " + srv.log.name)
            return []
        # The reflector answers no ARP: name any next-hop MAC (memif ignores it).
        r = pktgen(a, tmp, sock, ["--window", str(a.window), "--reflector", "--dst-mac",
                                  "02:00:00:00:00:09"], "ceiling")
        if not r:
            return []
        return [pktgen_row("Ceiling: testpmd 5tswap (packet I/O only)", r, note="no cache work")]
    finally:
        srv.stop()
        cleanup_prefix(prefix)


def udp_loadgen(a, port, window, name, tmp, preload):
    out = os.path.join(tmp, f"{name}.json")
    argv = ["timeout", str(int(a.duration * 3 + 120)), "taskset", "-c", "0",
            os.path.join(a.build, "tools/bench/udp_loadgen"), "--server", f"127.0.0.1:{port}",
            "--keys", str(a.keys), "--key-len", "16", "--value-len", "32", "--get-ratio",
            str(a.get_ratio), "--window", str(window), "--duration", str(a.duration),
            "--json", out] + (["--preload"] if preload else [])
    r = subprocess.run(argv, capture_output=True, text=True)
    if not os.path.exists(out):
        log(f"udp_loadgen {name} failed: {r.stderr.strip()[-300:]}")
        return None
    with open(out) as f:
        return json.load(f)


def bench_memcached(a, tmp):
    log("memcached -U (1 thread, core 1) <- loopback UDP -> udp_loadgen (core 0)")
    port = free_port()
    srv = Proc(["taskset", "-c", "1", "memcached", "-u", "root", "-l", "127.0.0.1", "-p", "0",
                "-U", str(port), "-t", "1", "-m", str(a.memory_mb)],
               os.path.join(tmp, "memcached.log"))
    results, sweep = [], []
    try:
        time.sleep(0.5)
        cpu0 = cpu_seconds(srv.p.pid)
        r = udp_loadgen(a, port, a.window, "memcached-peak", tmp, True)
        cpu1 = cpu_seconds(srv.p.pid)
        if r:
            reqs = r["received"]
            cpu_us = (cpu1 - cpu0) * 1e6 / reqs if reqs and cpu0 is not None else None
            results.append(row("memcached 1.6 (1 thread, UDP, kernel)", r["requests_per_s"],
                               r["latency_us"], cpu_us, f"hit ratio {r['hit_ratio']:.3f}"))
            # A closed loop swept by window: each point is one offered load.
            for w in a.mc_windows:
                s = udp_loadgen(a, port, w, f"memcached-w{w}", tmp, False)
                if s:
                    sweep.append({"server": "memcached", "offered": s["requests_per_s"],
                                  "achieved": s["requests_per_s"], **s["latency_us"]})
    finally:
        srv.stop()
    return results, sweep


def bench_redis(a, tmp):
    log("Redis 7 (core 1) <- loopback TCP -> redis-benchmark (core 0)")
    port = free_port()
    srv = Proc(["taskset", "-c", "1", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"], os.path.join(tmp, "redis.log"))
    results = []
    try:
        if not srv.wait_for("Ready to accept connections"):
            log("redis-server did not start")
            return results
        n = str(a.redis_requests)
        for pipeline in (1, 16):
            r = subprocess.run(["taskset", "-c", "0", "redis-benchmark", "-p", str(port), "-q",
                                "--csv", "-t", "set,get", "-n", n, "-d", "32", "-r",
                                str(a.keys), "-P", str(pipeline)],
                               capture_output=True, text=True, timeout=600)
            for line in r.stdout.splitlines():
                cols = [c.strip('"') for c in line.split(",")]
                if len(cols) < 8 or cols[0] not in ("GET", "SET"):
                    continue
                lat = {"p50": float(cols[4]) * 1000, "p99": float(cols[6]) * 1000,
                       "p99_9": None}
                results.append(row(f"Redis 7 {cols[0]} (-P {pipeline})", float(cols[1]), lat,
                                   note="TCP, 50 clients"))
    finally:
        srv.stop()
    return results


def fmt_num(v, spec):
    return "n/a" if v is None else format(v, spec)


def table(rows):
    out = ["| server | requests/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | note |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['name']} | {fmt_num(r['requests_per_s'], ',.0f')} | "
                   f"{fmt_num(r['p50_us'], '.1f')} | {fmt_num(r['p99_us'], '.1f')} | "
                   f"{fmt_num(r['p99_9_us'], '.1f')} | {fmt_num(r['cpu_us_per_req'], '.3f')} | "
                   f"{r['note']} |")
    return "\n".join(out)


def sweep_table(sweep, noise):
    """p50/p90/p99 of Fulmar's open-loop points at shares of its peak, with the
    machine's own noise beside them: a tail below that noise is not something
    this VM can show."""
    pts = sorted((p for p in sweep if p["server"] == "fulmar"), key=lambda p: p["offered"])
    if not pts:
        return ""
    out = ["| offered (share of peak) | achieved req/s | p50 µs | p90 µs | p99 µs | p99.9 µs |",
           "|---:|---:|---:|---:|---:|---:|"]
    for p in pts:
        out.append(f"| {p['offered']:,.0f} ({100 * p['of_peak']:.0f}%) | {p['achieved']:,.0f} | "
                   f"{fmt_num(p.get('p50'), '.1f')} | {fmt_num(p.get('p90'), '.1f')} | "
                   f"{fmt_num(p.get('p99'), '.1f')} | {fmt_num(p.get('p99_9'), '.1f')} |")
    if noise:
        out.append("")
        out.append(f"machine noise beside it: an idle-core thread lost its CPU "
                   f"{100 * noise['lost_fraction']:.1f}% of the time, {noise['mean_gap_us']:.0f} µs "
                   f"per gap on average, longest {noise['max_gap_us']:.0f} µs")
    return "\n".join(out)


def chart(sweep, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("python3-matplotlib missing: no chart")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for server, style in (("fulmar", "o-"), ("memcached", "s-")):
        pts = sorted((p["achieved"], p["p99"]) for p in sweep if p["server"] == server)
        if pts:
            ax.plot([x / 1e6 for x, _ in pts], [y for _, y in pts], style, label=f"{server} p99")
        pts = sorted((p["achieved"], p["p50"]) for p in sweep if p["server"] == server)
        if pts:
            ax.plot([x / 1e6 for x, _ in pts], [y for _, y in pts], style, alpha=0.4,
                    label=f"{server} p50")
    ax.set_xlabel("throughput (M requests/s)")
    ax.set_ylabel("latency (µs)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title("GET/SET 90/10, 16 B keys, 32 B values, one server core")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    log(f"chart: {path}")


def hiccups(a):
    """The noise floor of core 1 (where every server runs): gaps a spinning
    thread sees between two clock reads (tools/bench/hiccup.cc)."""
    log("machine noise: tools/bench/hiccup on core 1")
    r = subprocess.run(["taskset", "-c", "1", os.path.join(a.build, "tools/bench/hiccup"),
                        "--seconds", "1" if a.quick else "3"], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"hiccup failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        return None
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true", help="a short run (under 2 minutes)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results.json"))
    ap.add_argument("--chart", default=os.path.join(ROOT, "bench-latency.png"))
    ap.add_argument("--only", default="fulmar,memcached,redis,ceiling",
                    help="comma-separated subset of fulmar,memcached,redis,ceiling")
    ap.add_argument("--no-sweep", action="store_true",
                    help="peak runs only: no latency sweep of Fulmar and memcached")
    ap.add_argument("--window", type=int, dest="window_arg", help="requests in flight at peak (default 256; "
                    "--quick 128)")
    ap.add_argument("--burst", type=int, default=64,
                    help="fulmar-pktgen's TX/RX burst, the same for Fulmar and the ceiling "
                    "(default 64: fewer memif calls a request than 32; 128 measured no better)")
    ap.add_argument("--workloads", choices=("all", "main"), default=None,
                    help="all: also Fulmar at Zipf 0.99 and at 100%% GET (default for the "
                    "full run); main: only the 90%% GET uniform row (default for --quick)")
    ap.add_argument("--name-prefix", default="fb-",
                    help="prefix of DPDK file prefixes and of the temporary folder (memif "
                    "sockets), so runs side by side do not collide")
    # A/B knobs for the memif path (docs/memif-tuning.md); the defaults are
    # what the tuning chose, so a plain run needs none of them.
    ap.add_argument("--client-devargs", default="",
                    help="appended to pktgen's net_memif devargs, e.g. ',rsize=11'")
    ap.add_argument("--server-devargs", default="",
                    help="appended to the dataplane's and testpmd's net_memif devargs")
    ap.add_argument("--dataplane-config", action="append", default=[],
                    help="a 'key = value' line for the bench's [dataplane] section, e.g. "
                    "'rx_desc = 512' (repeatable)")
    ap.add_argument("--pktgen-arg", action="append", default=[],
                    help="more fulmar-pktgen options, e.g. '--mbufs 4095' (repeatable)")
    ap.add_argument("--memory-mb", type=int, dest="memory_arg",
                    help="memory_per_shard_mb of the bench's dataplane (default 512; --quick 256)")
    a = ap.parse_args()
    a.dataplane_extra = "\n".join(a.dataplane_config)
    only = set(a.only.split(","))
    if not only <= {"fulmar", "memcached", "redis", "ceiling"}:
        ap.error(f"--only: unknown part in {a.only}")
    a.get_ratio = 0.9
    if (a.workloads or ("main" if a.quick else "all")) == "all":
        a.workloads = [("zipf:0.99", 0.9), ("uniform", 1.0), ("zipf:0.99", 1.0)]
    else:
        a.workloads = []
    if a.quick:
        a.keys, a.duration, a.window, a.memory_mb = 100_000, 2, 128, 256
        a.sweep, a.mc_windows, a.redis_requests = [0.5], [1, 16], 100_000
    else:
        # 512 MiB holds the 1 M items (80 MB) many times over and leaves
        # hugepages for the index, the mbufs and testpmd on a 2 GiB reserve.
        a.keys, a.duration, a.window, a.memory_mb = 1_000_000, 10, 256, 512
        a.sweep = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        a.mc_windows, a.redis_requests = [1, 2, 4, 8, 16, 32, 64, 128, 256], 2_000_000
    if a.window_arg:
        a.window = a.window_arg
    if a.memory_arg:
        a.memory_mb = a.memory_arg
    if a.no_sweep:
        a.sweep, a.mc_windows = [], []
    load_start = os.getloadavg()[0]
    noise = hiccups(a)
    tmp_prefix = "fulmar-bench-" if a.name_prefix == "fb-" else f"{a.name_prefix}bench-"
    with tempfile.TemporaryDirectory(prefix=tmp_prefix) as tmp:
        rows, sweep = [], []
        if "fulmar" in only:
            f_rows, f_sweep = bench_fulmar(a, tmp)
            rows += f_rows
            sweep += f_sweep
        if "memcached" in only:
            m_rows, m_sweep = bench_memcached(a, tmp)
            rows += m_rows
            sweep += m_sweep
        if "redis" in only:
            rows += bench_redis(a, tmp)
        if "ceiling" in only:
            rows += bench_ceiling(a, tmp)
    print()
    load_end = os.getloadavg()[0]
    print(f"workload: {a.keys:,} keys, 16 B keys, 32 B values, 90% GET / 10% SET, uniform, "
          f"window {a.window}, pktgen burst {a.burst}, {a.duration} s per run, "
          f"machine: {os.cpu_count()} cores, "
          f"load average {load_start:.2f} at the start, {load_end:.2f} at the end "
          f"(above ~{os.cpu_count()}: other work shared the cores and every rate is low)")
    print()
    print(table(rows))
    print()
    if noise:
        print(f"machine noise on core 1 (tools/bench/hiccup, idle core): the thread lost its CPU "
              f"{noise['gaps_per_s']:.0f} times/s for {noise['mean_gap_us']:.0f} µs on average "
              f"({100 * noise['lost_fraction']:.1f}% of the time, longest "
              f"{noise['max_gap_us']:.0f} µs): no server on that core can show a tail below it")
        print()
    swept = sweep_table(sweep, noise)
    if swept:
        print("Fulmar's latency at shares of its peak (open loop):")
        print(swept)
        print()
    by = {r["name"].split(" ")[0]: r for r in rows}
    fulmar = next((r for r in rows if r["name"].startswith("Fulmar")), None)
    mc = next((r for r in rows if r["name"].startswith("memcached")), None)
    redis = [r for r in rows if r["name"].startswith("Redis") and "GET" in r["name"]]
    ceiling = next((r for r in rows if r["name"].startswith("Ceiling")), None)
    ratios = {}
    if fulmar and mc:
        ratios["fulmar_over_memcached"] = fulmar["requests_per_s"] / mc["requests_per_s"]
    if fulmar and redis:
        ratios["fulmar_over_redis_best_get"] = fulmar["requests_per_s"] / max(
            r["requests_per_s"] for r in redis)
    if fulmar and ceiling:
        ratios["fulmar_over_ceiling"] = fulmar["requests_per_s"] / ceiling["requests_per_s"]
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    for r, what in ((fulmar, "the Fulmar row"), (ceiling, "the ceiling row")):
        g = r and r.get("generator")
        if not g:
            continue
        verdict = ("GENERATOR-BOUND: fulmar-pktgen, not the server, set this rate"
                   if g["limited"] else "the server set this rate (the generator waited on it)")
        per = (f", {g['busy_ns_per_request']:.0f} ns per request"
               if g["busy_ns_per_request"] else "")
        print(f"generator on {what}: busy {100 * g['busy']:.1f}% of its loop{per}: {verdict}")
    if ceiling and (ceiling.get("generator") or {}).get("limited"):
        print("note: the ceiling is the generator's own limit; the memif path carries more, "
              "so fulmar_over_ceiling overstates Fulmar's share of it")
    del by
    with open(a.out, "w") as f:
        json.dump({"quick": a.quick, "keys": a.keys, "duration_s": a.duration,
                   "window": a.window, "burst": a.burst, "rows": rows, "ratios": ratios, "sweep": sweep,
                   "machine_noise_core1": noise,
                   "load_average": {"start": load_start, "end": load_end}}, f,
                  indent=2)
    log(f"results: {a.out}")
    if sweep:
        chart(sweep, a.chart)
    return 0 if (fulmar or "fulmar" not in only) else 1


if __name__ == "__main__":
    sys.exit(main())
