#!/usr/bin/python3
"""redis-benchmark against Fulmar's appliance and redis-server 7 in the same
run (tools/fulmar bench redis).

    resp_bench.py [--build DIR] [--quick] [--out DIR] [--perf TEST:P] ...

One workload for both servers: Debian's redis-benchmark 7.0.15, one test at
a time (-t), SET GET INCR LPUSH LPOP SADD HSET, each with -P 1 and -P 16,
50 connections, random keys (-r), a bounded request count (-n) and a
`timeout` around every run. The two servers take turns on each row, so
noise from other tenants of the machine falls on both.

    client ns rbn-<pid>-<n>                       host namespace
      redis-benchmark (CPU 0)
        198.18.126.2   --TAP--> fulmar-dataplane (1 worker, CPU 1)
                                  --kernel TAP--> 198.18.126.1:6379
                                                  fulmar-controlplane (CPU 0)
        198.18.126.130 --veth-> 198.18.126.129:17001
                                                  redis-server 7 (CPU 0)

Both servers sit in the host namespace and the client in the namespace, so
both paths cross a namespace boundary; they differ in what lies between:
Fulmar's TCP segments go through the TAP into the dataplane's worker, which
punts them (the exception path) to the kernel TAP the control plane's socket
lives on, and the replies come back the same way; Redis's cross a veth pair
(kernel to kernel, no process in between). redis-server is pinned to the
CPU the control plane has (CPU 0, --redis-cpu to change), and redis-benchmark
shares that CPU with both: the load generator competes with the server it
measures, on a 2-CPU machine, and the worker's CPU 1 (adaptive idle) is
Fulmar's alone (other tenants of the machine share both CPUs). Writes run on
the worker (the owner of every key), reads of strings on the control plane.

Prints a markdown table (req/s, ratio, p50/p99 from redis-benchmark's
--csv, server CPU us per request, the client namespace's TCP
retransmissions, frames the kernel dropped on the two TAPs) and a second
one of CPU per request by thread with each server thread's run-queue wait
(schedstat: runnable while another task had its CPU), and writes
results.json under --out. Redis 7's redis-benchmark stops at the first
error reply: such a row has no rate and is listed after the table.
--perf TEST:P (repeatable) profiles one more Fulmar run of that case with
`perf record -g` on the control plane and the dataplane and saves the
reports beside the JSON. Everything started here is stopped by PID and the
namespace (with the veth in it) is removed, on errors and SIGTERM too
(tests/integration/fulmar_it's safety net for the appliance; redis-benchmark
runs in a session of its own, killed as a group). Needs root and hugepages
(tools/fulmar setup). Names: tag `rbn`, 198.18.126.0/24, Redis on port
17001: one run at a time. See docs/resp-bench.md.
"""
import argparse
import atexit
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
import fulmar_it as F  # noqa: E402
from compare import Proc  # noqa: E402
from cp_read_bench import child_pid, threads_of  # noqa: E402

TAG = "rbn"
DP_IP = "198.18.126.1"
CLIENT_IP = "198.18.126.2"
# The veth to redis-server: a /30 inside the same /24, more specific than
# the TAP's route on both sides.
REDIS_IP = "198.18.126.129"
VETH_CLIENT_IP = "198.18.126.130"
FULMAR_PORT = 6379
REDIS_PORT = 17001
TESTS = ("set", "get", "incr", "lpush", "lpop", "sadd", "hset")
PIPELINES = (1, 16)


def log(msg):
    print(f"==> {msg}", flush=True)


def thread_cpu(pids):
    """({process/thread name: CPU seconds}, {name: seconds runnable but
    waiting for a CPU (schedstat)}) over every thread of `pids`, threads of
    one name summed."""
    cpu, wait = {}, {}
    for label, pid in pids.items():
        for k, v in threads_of(pid, label).items():
            name, tid = k[:-1].rsplit("[", 1)
            cpu[name] = cpu.get(name, 0.0) + v[0]
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    wait[name] = wait.get(name, 0.0) + int(f.read().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                pass
    return cpu, wait


def tcp_losses(prefix=()):
    """{RetransSegs, TCPTimeouts} of a network namespace (`prefix`: the
    `ip netns exec NS` that reads it; none: this one). Retransmissions are
    where a path that drops segments shows: a retransmission timeout stalls
    a connection for 200 ms or more."""
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        r = subprocess.run([*prefix, "cat", path], capture_output=True, text=True, timeout=10)
        lines = r.stdout.splitlines()
        for head, vals in zip(lines[0::2], lines[1::2]):
            kv = dict(zip(head.split()[1:], vals.split()[1:]))
            for k in ("RetransSegs", "TCPTimeouts"):
                if k in kv:
                    out[k] = int(kv[k])
    return out


def tap_drops(prefix, dev):
    """The kernel's tx_dropped on a TAP interface: frames it had for the
    dataplane and could not queue (the worker was not reading)."""
    r = subprocess.run([*prefix, "ip", "-s", "-j", "link", "show", "dev", dev],
                       capture_output=True, text=True, timeout=10)
    try:
        return json.loads(r.stdout)[0]["stats64"]["tx"]["dropped"]
    except (ValueError, LookupError):
        return None


def children_cpu():
    """CPU seconds of every child waited for so far (redis-benchmark under
    `ip netns exec` and `timeout`: each waits for the next)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Bench:
    def __init__(self, a):
        self.a = a
        self.fx = self.cp = self.redis = None
        self.veth = f"{TAG}{os.getpid() % 100000}v"
        self.rows = []

    # -- set-up -------------------------------------------------------------------
    def start(self):
        a = self.a
        log(f"starting fulmar-dataplane (1 worker, CPU 1) and fulmar-controlplane (CPU 0), "
            f"namespace {TAG}-*, {DP_IP}:{FULMAR_PORT}")
        self.fx = F.TapFixture(os.path.join(a.build, "dataplane/fulmar-dataplane"), workers=(1,),
                               tag=TAG, kernel=True, ip=DP_IP, client_ip=CLIENT_IP,
                               memory_mb=a.memory_mb)
        if not self.fx.wait_serving():
            raise RuntimeError(f"the dataplane does not answer over UDP:\n{self.fx.dp.text()}")
        self.ns = self.fx.ns.name
        section = "\n".join([f'admin_socket = "{os.path.join(self.fx.workdir, "admin.sock")}"',
                             "metrics_port = 0", f"request_arena_mb = {a.arena_mb}",
                             f"redis_port = {FULMAR_PORT}"])
        self.cp = F.ControlPlane(os.path.join(a.build, "controlplane/fulmar-controlplane"),
                                 self.fx.dp, self.fx.workdir, section)
        if not self.cp.wait_ready():
            raise RuntimeError(f"the control plane did not get ready:\n{self.cp.text()}")
        self.fulmar_pids = {"dataplane": self.fx.dp.pid, "controlplane": child_pid(self.cp.proc)}

        # The veth's namespace end is created inside the namespace: deleting
        # the namespace (teardown, or fulmar_it's safety net) deletes both.
        F.run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", self.veth + "c",
              "netns", self.ns)
        F.run("ip", "addr", "add", f"{REDIS_IP}/30", "dev", self.veth)
        F.run("ip", "link", "set", self.veth, "up")
        self.fx.ns.ip("ip", "addr", "add", f"{VETH_CLIENT_IP}/30", "dev", self.veth + "c")
        self.fx.ns.ip("ip", "link", "set", self.veth + "c", "up")

        log(f"starting redis-server 7 (CPU {a.redis_cpu}) on {REDIS_IP}:{REDIS_PORT} (veth)")
        self.redis = Proc(["timeout", "-k", "5", str(F.PROCESS_TIMEOUT_S), "taskset", "-c",
                           str(a.redis_cpu), "redis-server", "--port", str(REDIS_PORT),
                           "--bind", REDIS_IP, "--save", "", "--appendonly", "no",
                           "--databases", "1", "--protected-mode", "no",
                           "--dir", self.fx.workdir],
                          os.path.join(self.fx.workdir, "redis.log"))
        if not self.redis.wait_for("Ready to accept connections", 10):
            raise RuntimeError("redis-server did not start")
        self.redis_pids = {"redis-server": child_pid(self.redis.p)}
        for host, port in ((DP_IP, FULMAR_PORT), (REDIS_IP, REDIS_PORT)):
            r = self.fx.ns.ip("redis-cli", "-h", host, "-p", str(port), "ping", check=False)
            if r.stdout.strip() != "PONG":
                raise RuntimeError(f"{host}:{port} does not answer PING: {r.stdout.strip()}")

    def stop(self):
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.cp is not None:
            self.cp.stop()
            self.cp = None
        if self.fx is not None:
            self.fx.teardown()  # the namespace, with the veth
            self.fx = None
        F.run("ip", "link", "del", self.veth, check=False)

    # -- one redis-benchmark run ----------------------------------------------------
    def benchmark_argv(self, host, port, test, pipeline):
        a = self.a
        n = a.requests if pipeline == 1 else a.requests_pipelined
        return ["ip", "netns", "exec", self.ns, "timeout", "-k", "5", str(a.run_timeout),
                "taskset", "-c", "0", "redis-benchmark", "-h", host, "-p", str(port), "-t", test,
                "-n", str(n), "-P", str(pipeline), "-c", str(a.clients), "-r", str(a.keys),
                "-d", str(a.data_size), "--csv"]

    def drops(self):
        """tx_dropped of the data TAP (client -> worker) and of the kernel
        TAP (control plane -> worker)."""
        return {"data_tap": tap_drops(("ip", "netns", "exec", self.ns), self.fx.dp.iface),
                "kernel_tap": tap_drops((), self.fx.dp.kernel_iface)}

    def run_one(self, side, test, pipeline):
        host, port, pids = ((DP_IP, FULMAR_PORT, self.fulmar_pids) if side == "fulmar" else
                            (REDIS_IP, REDIS_PORT, self.redis_pids))
        ns_prefix = ("ip", "netns", "exec", self.ns)
        l0, h0 = tcp_losses(ns_prefix), tcp_losses()
        d0 = self.drops()
        (c0, w0), k0, t0 = thread_cpu(pids), children_cpu(), time.monotonic()
        # Its own session: on an error or SIGTERM here the whole group
        # (`ip netns exec` become `timeout`, and redis-benchmark) is killed.
        r = subprocess.Popen(self.benchmark_argv(host, port, test, pipeline),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        try:
            out, err = r.communicate()
        except BaseException:
            os.killpg(r.pid, signal.SIGKILL)
            r.wait()
            raise
        wall, (c1, w1), client = time.monotonic() - t0, thread_cpu(pids), children_cpu() - k0
        l1, h1 = tcp_losses(ns_prefix), tcp_losses()
        d1 = self.drops()
        threads = {k: round(v - c0.get(k, 0.0), 3) for k, v in c1.items()
                   if v - c0.get(k, 0.0) >= 0.005}
        cpu = sum(threads.values())
        # Runnable, not running: other tenants of the CPU (the client, the
        # machine's other work) had it.
        waits = {k: round(v - w0.get(k, 0.0), 3) for k, v in w1.items()
                 if v - w0.get(k, 0.0) >= 0.005}
        rec = {"side": side, "test": test.upper(), "pipeline": pipeline, "exit": r.returncode,
               "wall_s": round(wall, 2), "server_cpu_s": round(cpu, 3),
               "server_threads_cpu_s": threads, "server_threads_runqueue_s": waits,
               "client_cpu_s": round(client, 3),
               # The client's namespace holds only this run's connections;
               # the host's counts the server's side and every other
               # tenant's traffic.
               "client_ns_tcp": {k: v - l0.get(k, 0) for k, v in l1.items()},
               "host_ns_tcp": {k: v - h0.get(k, 0) for k, v in h1.items()},
               "tap_tx_dropped": {k: (v - d0[k] if v is not None and d0[k] is not None else None)
                                  for k, v in d1.items()},
               # redis-benchmark 7 stops at the first error reply (no CSV
               # row then), saying so on stderr.
               "errors": [x for x in err.splitlines() if x.startswith("Error from server")]}
        for line in out.splitlines():
            cols = [c.strip('"') for c in line.split(",")]
            if len(cols) == 8 and cols[0] == test.upper():
                rec.update(rps=float(cols[1]), avg_ms=float(cols[2]), p50_ms=float(cols[4]),
                           p95_ms=float(cols[5]), p99_ms=float(cols[6]), max_ms=float(cols[7]))
        if "rps" not in rec:
            rec["output"] = (out + err)[-600:]
        else:
            n = self.a.requests if pipeline == 1 else self.a.requests_pipelined
            rec["server_cpu_us_per_req"] = round(cpu / n * 1e6, 2)
            rec["client_cpu_us_per_req"] = round(client / n * 1e6, 2)
        return rec

    def run(self):
        for pipeline in PIPELINES:
            for test in self.a.tests:
                pair = {}
                for side in ("fulmar", "redis"):
                    pair[side] = self.run_one(side, test, pipeline)
                f, r = pair["fulmar"], pair["redis"]
                log(f"{test.upper():5} -P {pipeline:<2}  Fulmar {f.get('rps', 0):>10,.0f}  "
                    f"Redis {r.get('rps', 0):>10,.0f} req/s")
                self.rows.append(pair)

    # -- the profile ------------------------------------------------------------------
    def profile(self, case):
        test, _, p = case.partition(":")
        pipeline = int(p or 1)
        stem = os.path.join(self.a.out, f"perf-{test}-P{pipeline}")
        data = stem + ".data"
        log(f"perf record -g on the control plane and the dataplane: Fulmar {test.upper()} "
            f"-P {pipeline}")
        perf = subprocess.Popen(["timeout", "-k", "5", str(self.a.run_timeout + 30), "perf",
                                 "record", "-g", "-o", data, "-p",
                                 ",".join(str(p) for p in self.fulmar_pids.values())],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        rec = self.run_one("fulmar", test, pipeline)
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
        reports = {}
        for name, sort in (("by-thread", "comm,dso"), ("by-symbol", "comm,dso,sym")):
            path = f"{stem}-{name}.txt"
            with open(path, "w") as f:
                subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                "--sort", sort, "--percent-limit", "0.5", "-g", "none"],
                               stdout=f, stderr=subprocess.DEVNULL, timeout=300)
            reports[name] = path
        return {"case": f"{test.upper()} -P {pipeline}", "run": rec, "reports": reports}

    # -- the report -------------------------------------------------------------------
    def table(self):
        lines = ["| command | -P | Fulmar req/s | Redis req/s | Fulmar / Redis | "
                 "Fulmar p50 / p99 ms | Redis p50 / p99 ms | server CPU us/req Fulmar / Redis | "
                 "client retransmits (timeouts) Fulmar / Redis | "
                 "Fulmar TAP drops: data / kernel |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for pair in self.rows:
            f, r = pair["fulmar"], pair["redis"]

            def lat(x):
                return f"{x['p50_ms']:.3f} / {x['p99_ms']:.3f}" if "rps" in x else "failed"

            def losses(x):
                t = x["client_ns_tcp"]
                return f"{t.get('RetransSegs', '?')} ({t.get('TCPTimeouts', '?')})"

            d = f["tap_tx_dropped"]

            ratio = f"{f['rps'] / r['rps']:.2f}" if "rps" in f and "rps" in r else "-"
            lines.append(f"| {f['test']} | {f['pipeline']} | {f.get('rps', 0):,.0f} | "
                         f"{r.get('rps', 0):,.0f} | {ratio} | {lat(f)} | {lat(r)} | "
                         f"{f.get('server_cpu_us_per_req', '-')} / "
                         f"{r.get('server_cpu_us_per_req', '-')} | {losses(f)} / {losses(r)} | "
                         f"{d['data_tap']} / {d['kernel_tap']} |")
        return "\n".join(lines)

    def cpu_table(self):
        """Where the CPU went, per request: Fulmar's control plane, its
        worker (CPU 1, adaptive idle: its polling counts too) and the rest
        of the dataplane; redis-server; redis-benchmark for each. CPU 0 busy:
        the share of the run's wall time that what is pinned to CPU 0 (the
        client, the control plane or redis-server, the dataplane's main
        lcore and service threads) was on it. Run-queue wait: the share of
        the wall time a server thread was runnable but another task had its
        CPU (/proc/<pid>/task/<tid>/schedstat; the kernel adds a wait
        when the thread next runs, so a short run can show over 100%)."""
        lines = ["| command | -P | Fulmar: control plane | worker | rest of dataplane | "
                 "client | CPU 0 busy | run-queue wait: control plane / worker | "
                 "Redis: redis-server | client | CPU 0 busy | run-queue wait: redis-server |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for pair in self.rows:
            f, r = pair["fulmar"], pair["redis"]
            if "rps" not in f or "rps" not in r:
                continue
            n = self.a.requests if f["pipeline"] == 1 else self.a.requests_pipelined
            th = f["server_threads_cpu_s"]
            cp = sum(v for k, v in th.items() if k.startswith("controlplane/"))
            wk = sum(v for k, v in th.items() if k.startswith("dataplane/rte-worker"))
            rest = max(0.0, f["server_cpu_s"] - cp - wk)  # each figure was rounded

            def us(sec):
                return f"{sec / n * 1e6:.1f}"

            def wait(x, prefix):
                w = sum(v for k, v in x["server_threads_runqueue_s"].items()
                        if k.startswith(prefix))
                return f"{w / x['wall_s']:.0%}"

            lines.append(
                f"| {f['test']} | {f['pipeline']} | {us(cp)} | {us(wk)} | {us(rest)} | "
                f"{us(f['client_cpu_s'])} | {(cp + rest + f['client_cpu_s']) / f['wall_s']:.0%} | "
                f"{wait(f, 'controlplane/')} / {wait(f, 'dataplane/rte-worker')} | "
                f"{us(r['server_cpu_s'])} | {us(r['client_cpu_s'])} | "
                f"{(r['server_cpu_s'] + r['client_cpu_s']) / r['wall_s']:.0%} | "
                f"{wait(r, 'redis-server/')} |")
        return "\n".join(lines)


def set_names(tag, net):
    """The run's tag and /24 (--tag, --net): the addresses keep their last
    octets."""
    global TAG, DP_IP, CLIENT_IP, REDIS_IP, VETH_CLIENT_IP
    TAG = tag
    DP_IP, CLIENT_IP = f"{net}.1", f"{net}.2"
    REDIS_IP, VETH_CLIENT_IP = f"{net}.129", f"{net}.130"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", help="results directory (default results/resp-bench-<UTC time>)")
    ap.add_argument("--requests", type=int, default=100_000, help="-n of the -P 1 runs")
    ap.add_argument("--requests-pipelined", type=int, default=100_000,
                    help="-n of the -P 16 runs")
    ap.add_argument("--clients", type=int, default=50, help="redis-benchmark -c")
    ap.add_argument("--keys", type=int, default=10_000,
                    help="redis-benchmark -r: keys, set members, hash fields")
    ap.add_argument("--data-size", type=int, default=3, help="redis-benchmark -d (its default)")
    ap.add_argument("--redis-cpu", type=int, default=0,
                    help="redis-server's CPU (0: the control plane's; 1: the worker's)")
    ap.add_argument("--memory-mb", type=int, default=64, help="the shard's memory")
    ap.add_argument("--arena-mb", type=int, default=16, help="controlplane.request_arena_mb")
    ap.add_argument("--run-timeout", type=int, default=240, help="seconds, each redis-benchmark")
    ap.add_argument("--perf", metavar="TEST:P", action="append", default=[],
                    help="profile one more Fulmar run of this case (repeatable), e.g. hset:16")
    ap.add_argument("--quick", action="store_true", help="a few seconds: -n 2,000 / 10,000")
    ap.add_argument("--tests", default=",".join(TESTS),
                    help="comma-separated subset of the rows, in this order: " + ",".join(TESTS)
                    + " (LPOP pops the list LPUSH filled: keep both)")
    ap.add_argument("--tag", default=TAG,
                    help="names of the run (namespace, interfaces); a second run at the same "
                         "time needs its own, with --net")
    ap.add_argument("--net", default=DP_IP.rsplit(".", 1)[0], metavar="A.B.C",
                    help="the /24 of the run (inside 198.18.0.0/15); a second run at the same "
                         "time needs its own")
    a = ap.parse_args()
    set_names(a.tag, a.net)
    a.tests = tuple(t.strip().lower() for t in a.tests.split(",") if t.strip())
    bad = [t for t in a.tests if t not in TESTS]
    if bad or not a.tests:
        ap.error(f"--tests: unknown {','.join(bad) or '(none)'}; choose from {','.join(TESTS)}")
    if a.quick:
        a.requests, a.requests_pipelined, a.keys, a.run_timeout = 2_000, 10_000, 1_000, 20
    a.out = a.out or os.path.join(ROOT, "results",
                                  time.strftime("resp-bench-%Y%m%dT%H%M%SZ", time.gmtime()))
    why = F.preconditions()
    for tool in ("redis-server", "redis-benchmark", "redis-cli", "taskset") + (
            ("perf",) if a.perf else ()):
        if why is None and shutil.which(tool) is None:
            why = f"no `{tool}` (tools/fulmar setup)"
    for exe in ("dataplane/fulmar-dataplane", "controlplane/fulmar-controlplane"):
        if why is None and not os.access(os.path.join(a.build, exe), os.X_OK):
            why = f"{a.build}/{exe} is not built (tools/fulmar build)"
    if why is not None:
        print(f"resp_bench: {why}", file=sys.stderr)
        return 77
    os.makedirs(a.out, exist_ok=True)
    # Every process started here outlives the whole run by a margin, never
    # more: 28 runs of at most run_timeout, the profiles, set-up.
    runs = 2 * len(a.tests) * len(PIPELINES) + len(a.perf)
    F.PROCESS_TIMEOUT_S = runs * (a.run_timeout + 5) + 120
    b = Bench(a)
    atexit.register(b.stop)  # before fulmar_it's: runs first
    results = {"machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()},
               "argv": sys.argv, "workload": {
                   "tests": [t.upper() for t in a.tests], "pipelines": PIPELINES,
                   "requests": a.requests, "requests_pipelined": a.requests_pipelined,
                   "clients": a.clients, "keyspace": a.keys, "data_size": a.data_size},
               "layout": f"redis-benchmark on CPU 0 in namespace {TAG}-*; fulmar-controlplane "
                         f"CPU 0, fulmar-dataplane worker CPU 1 (main lcore CPU 0); "
                         f"redis-server CPU {a.redis_cpu}; Fulmar over TAP + kernel TAP, Redis "
                         f"over a veth"}
    try:
        b.start()
        b.run()
        results["profiles"] = [b.profile(case) for case in a.perf]
    finally:
        b.stop()
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    results["rows"] = b.rows
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print()
    print(f"redis-benchmark {a.clients} clients, -r {a.keys}, -d {a.data_size}, "
          f"-n {a.requests} (-P 1) / {a.requests_pipelined} (-P 16); machine {os.cpu_count()} "
          f"CPUs, load average {results['machine']['load_avg_at_start'][0]:.2f} at start, "
          f"{results['machine']['load_avg_at_end'][0]:.2f} at end.")
    print("The load generator shares CPU 0 with the control plane and with redis-server (CPU "
          f"{a.redis_cpu}); Fulmar's worker has CPU 1. Fulmar: client -> TAP -> worker -> kernel "
          "TAP -> control plane; Redis: client -> veth -> redis-server.")
    print()
    print(b.table())
    print()
    print("CPU us per request (from /proc and the client's rusage; a thread's kernel work, "
          "softirqs included, counts where it ran):")
    print()
    print(b.cpu_table())
    bad = [x for pair in b.rows for x in pair.values() if "rps" not in x or x["errors"]]
    for x in bad:
        print(f"NOTE {x['side']} {x['test']} -P {x['pipeline']}: exit {x['exit']}: "
              f"{x.get('output', '')!r} {x['errors'][:3]}")
    for prof in results.get("profiles", []):
        print(f"profile of Fulmar {prof['case']}: {', '.join(prof['reports'].values())}")
    print()
    print(f"results: {os.path.join(a.out, 'results.json')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
