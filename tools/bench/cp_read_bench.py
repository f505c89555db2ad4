#!/usr/bin/python3
"""UDP beside TCP: what TCP reads and a TCP write storm cost the dataplane's
worker (tools/fulmar bench tcp).

    cp_read_bench.py [--build DIR] [--duration S] [--keys N] [--quick]

One run, everything started here and stopped by PID:

    client ns bch-<pid>-<n> 198.18.90.2 --TAP--> fulmar-dataplane (1 worker, CPU 1)
        udp_loadgen (UDP gets)                  UDP 11211 answered by the worker
        tcp load (this file, --load)            TCP: punted to the kernel side
                                                198.18.90.1 -> fulmar-controlplane
        memcached -t 1 on 198.18.90.2:11311     (the same TCP load, for comparison)

1. Reads: the UDP get rate the worker answers (udp_loadgen, closed loop,
   fixed duration) alone, then with a TCP get load beside it (connections
   pipelining `get` of the same keys, answered by the control plane through
   store::ShardView, never by the worker); the TCP rate; the same TCP load
   against Debian's memcached -t 1. Counters before and after each phase
   (admin socket: STATS PER-WORKER and STATS) show where the gets ran: the
   worker's cmd_get grows by the UDP gets only, the control plane's slot
   (STATS total minus the workers') by the TCP gets; the worker still moves
   the TCP frames (kernel_punted / kernel_returned), and that is printed too.
2. Writes: UDP get latency (p50/p99/p99.9, a small window so the figure is
   the path, not a queue) alone and beside a TCP set storm (many
   connections pipelining sets: every one goes through the owner's inbox,
   which the worker drains at most `burst_size` messages a loop).

Both planes share the machine: the worker has CPU 1 to itself, everything
else (the dataplane's main lcore, the control plane, both load generators,
memcached, the kernel's TCP and TAP work) is pinned to CPU 0. Each phase
prints the CPU seconds every process and thread used and the CPU it ran on.
Numbers are printed, never asserted. Needs root and hugepages (tools/fulmar
setup). Names: namespace, TAP and file prefix start with `bch`, the subnet is
198.18.90.0/24, the admin socket is in a temporary directory, no metrics port.
"""
import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DP_IP = "198.18.90.1"
CLIENT_IP = "198.18.90.2"
PORT = 11211
MEMCACHED_PORT = 11311
KEY_LEN = 16
VALUE_LEN = 32
M64 = (1 << 64) - 1


def log(msg):
    print(f"==> {msg}", flush=True)


# ---- the workload: udp_loadgen's keys and values ----------------------------

def make_key(i):
    """udp_loadgen's make_key(i, 16)."""
    return f"key:{i:0{KEY_LEN - 4}d}"[:KEY_LEN].ljust(KEY_LEN, "k")


def make_value(i):
    """udp_loadgen's make_value(i, 32): derived from the key, so any hit on
    either transport can be checked."""
    x = (i * 0x9E3779B97F4A7C15 + 1) & M64
    out = []
    for _ in range(VALUE_LEN):
        x ^= x >> 13
        x = (x * 0xFF51AFD7ED558CCD) & M64
        out.append(chr(ord("a") + (x >> 59) % 26))
    return "".join(out)


# ---- the TCP load (runs as its own process, inside the namespace) -----------

def tcp_load(a):
    """--load get|set|preload: prints one JSON line."""
    import random
    rng = random.Random(os.getpid())
    end_marker = b"END\r\n" if a.load == "get" else b"STORED\r\n"
    if a.load == "preload":
        s = socket.create_connection((a.host, a.port), timeout=30)
        for lo in range(0, a.keys, 1000):
            s.sendall(b"".join(
                f"set {make_key(i)} 0 0 {VALUE_LEN} noreply\r\n{make_value(i)}\r\n".encode()
                for i in range(lo, min(lo + 1000, a.keys))))
        s.sendall(b"version\r\n")
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("preload: connection closed")
            buf += chunk
        if not buf.startswith(b"VERSION "):
            sys.exit(f"preload: unexpected reply {buf[:200]!r}")
        s.close()
        print(json.dumps({"preloaded": a.keys}), flush=True)
        return

    def batch():
        ks = [rng.randrange(a.keys) for _ in range(a.depth)]
        if a.load == "get":
            return b"".join(f"get {make_key(k)}\r\n".encode() for k in ks)
        return b"".join(f"set {make_key(k)} 0 0 {VALUE_LEN}\r\n{make_value(k)}\r\n".encode()
                        for k in ks)

    # A few distinct batches per connection, cycled: building requests in
    # Python would cost more than sending them.
    batches = [batch() for _ in range(16)]
    # One sample batch is checked in full: each key's own value, in order.
    check_keys = [rng.randrange(a.keys) for _ in range(min(a.depth, 32))]
    lock = threading.Lock()
    totals = {"replies": 0, "hits": 0, "bad": 0, "batches": 0, "errors": []}
    rtts = []
    start = threading.Event()
    deadline = [0.0]

    def check(s):
        if a.load != "get":
            return 0
        s.sendall(b"".join(f"get {make_key(k)}\r\n".encode() for k in check_keys))
        want = b"".join(f"VALUE {make_key(k)} 0 {VALUE_LEN}\r\n{make_value(k)}\r\nEND\r\n".encode()
                        for k in check_keys)
        got = b""
        while len(got) < len(want):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
        return 0 if got == want else 1

    def conn():
        try:
            s = socket.create_connection((a.host, a.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            bad = check(s)
            start.wait()
            replies = hits = n = 0
            my_rtts = []
            tail = b""
            while time.monotonic() < deadline[0]:
                t0 = time.monotonic()
                s.sendall(batches[n % len(batches)])
                n += 1
                got = 0
                while got < a.depth:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        raise ConnectionError("closed by the server")
                    data = tail + chunk
                    got += data.count(end_marker)
                    if a.load == "get":
                        hits += data.count(b"\r\nVALUE ") + data.startswith(b"VALUE ")
                    if b"ERROR" in data:
                        bad += 1
                    # Enough bytes to find a marker cut across two reads,
                    # too few to hold a whole one twice.
                    tail = data[-(len(end_marker) - 1):]
                replies += got
                my_rtts.append(time.monotonic() - t0)
            with lock:
                totals["replies"] += replies
                totals["hits"] += hits
                totals["bad"] += bad
                totals["batches"] += n
                rtts.extend(my_rtts)
            s.close()
        except OSError as e:
            with lock:
                totals["errors"].append(str(e))

    threads = [threading.Thread(target=conn, daemon=True) for _ in range(a.connections)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # every connection open and checked
    t0 = time.monotonic()
    deadline[0] = t0 + a.duration
    start.set()
    for t in threads:
        t.join(a.duration + 30)
    dt = time.monotonic() - t0
    rtts.sort()

    def q(p):
        return round(rtts[min(len(rtts) - 1, int(p * len(rtts)))] * 1e6, 1) if rtts else None

    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "load": a.load, "connections": a.connections, "depth": a.depth,
        "seconds": round(dt, 3), "requests_per_s": round(totals["replies"] / dt, 1),
        "replies": totals["replies"], "hits": totals["hits"], "bad": totals["bad"],
        "errors": totals["errors"][:3], "batch_rtt_us": {"p50": q(0.5), "p99": q(0.99)},
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2)}), flush=True)


# ---- the harness -------------------------------------------------------------

class Loader:
    """A load process in the namespace, pinned; reaped with wait4 so its CPU
    time is known."""

    def __init__(self, ns, argv, cpu, out_path):
        self.out_path = out_path
        self.out = open(out_path, "w")
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "taskset", "-c", str(cpu), *argv],
                                  stdout=self.out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        self.cpu = cpu

    def finish(self, timeout):
        """(exit status, CPU seconds, output text)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid == self.p.pid:
                self.p.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        else:
            self.p.kill()
            _, status, ru = os.wait4(self.p.pid, 0)
            self.p.returncode = os.waitstatus_to_exitcode(status)
        self.out.close()
        with open(self.out_path) as f:
            text = f.read()
        return self.p.returncode, ru.ru_utime + ru.ru_stime, text


def threads_of(pid, label):
    """{label/thread: (cpu seconds, last CPU)} of every thread of pid."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        out[f"{label}/{comm}[{tid}]"] = ((int(rest[11]) + int(rest[12])) / tick, int(rest[36]),
                                         int(rest[12]) / tick)
    return out


def child_pid(proc):
    """The process under a `timeout` wrapper (the fixture's way)."""
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


class Bench:
    def __init__(self, a, F):
        self.a = a
        self.F = F
        self.results = {"machine": {}, "phases": {}}
        self.fx = self.cp = None
        self.mc = None

    # -- counters ---------------------------------------------------------------
    def admin(self, *args):
        r = subprocess.run(["timeout", "5", "redis-cli", "-s", self.sock, *args],
                           capture_output=True, text=True)
        return r.stdout.split("\n")

    def counters(self):
        """{'total': {...}, 'workers': [{...}], 'cp': {...}} from STATS and
        STATS PER-WORKER; the control plane's slot is the total minus the
        workers' (STATS sums the control plane's engine counters in)."""
        def pairs(lines):
            lines = [x for x in lines if x != ""]
            return list(zip(lines[0::2], lines[1::2]))
        total = {k: int(v) for k, v in pairs(self.admin("stats")) if v.lstrip("-").isdigit()}
        workers = []
        for k, v in pairs(self.admin("stats", "per-worker")):
            if k == "worker":
                workers.append({})
            if v.lstrip("-").isdigit():
                workers[-1][k] = int(v)
        cp = {k: total.get(k, 0) - sum(w.get(k, 0) for w in workers)
              for k in ("cmd_get", "get_hits", "get_misses", "cmd_set", "tcp_backpressure_waits")}
        return {"total": total, "workers": workers, "cp": cp}

    def cpu_snapshot(self):
        snap = {}
        snap.update(threads_of(self.fx.dp.pid, "dataplane"))
        snap.update(threads_of(self.cp_pid, "controlplane"))
        if self.mc_pid:
            snap.update(threads_of(self.mc_pid, "memcached"))
        return snap

    @staticmethod
    def cpu_delta(before, after):
        out = {}
        for k, (sec, cpu, sys_s) in after.items():
            b = before.get(k, (0, cpu, 0))
            if sec - b[0] >= 0.01:
                out[k] = {"cpu_s": round(sec - b[0], 2), "sys_s": round(sys_s - b[2], 2),
                          "last_cpu": cpu}
        return out

    @staticmethod
    def diff(after, before):
        w = [{k: v - b.get(k, 0) for k, v in a.items()}
             for a, b in zip(after["workers"], before["workers"])]
        return {"workers": w, "cp": {k: v - before["cp"].get(k, 0) for k, v in after["cp"].items()}}

    # -- load processes -----------------------------------------------------------
    def udp(self, window, name, rt=False):
        out = os.path.join(self.tmp, f"{name}.json")
        argv = [os.path.join(self.a.build, "tools/bench/udp_loadgen"), "--server",
                f"{DP_IP}:{PORT}", "--keys", str(self.a.keys), "--key-len", str(KEY_LEN),
                "--value-len", str(VALUE_LEN), "--get-ratio", "1", "--window", str(window),
                "--duration", str(self.a.duration), "--json", out]
        if rt:
            argv = ["chrt", "-f", "1", *argv]
        return Loader(self.ns, argv, 0, os.path.join(self.tmp, f"{name}.log")), out

    def tcp(self, kind, host, port, connections, depth, duration, name):
        argv = ["/usr/bin/python3", os.path.abspath(__file__), "--load", kind, "--host", host,
                "--port", str(port), "--keys", str(self.a.keys), "--connections",
                str(connections), "--depth", str(depth), "--duration", str(duration)]
        return Loader(self.ns, argv, 0, os.path.join(self.tmp, f"{name}.log"))

    @staticmethod
    def last_json(text):
        for line in reversed(text.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        return None

    def run_udp(self, window, name, beside=None, beside_args=None, rt=False):
        """A UDP phase, optionally beside a TCP load started 0.5 s before it
        and running 1 s past it. Returns the phase's record."""
        tcp = None
        if beside is not None:
            tcp = self.tcp(*beside_args, duration=self.a.duration + 1.5, name=f"{name}-tcp")
            time.sleep(0.5 + 0.3)  # its connections open and checked, its load on
        c0, t0 = self.counters(), self.cpu_snapshot()
        udp, out = self.udp(window, name, rt)
        time.sleep(self.a.duration / 2)
        mid = {k: v[1] for k, v in self.cpu_snapshot().items()}
        rc, udp_cpu, text = udp.finish(self.a.duration + 30)
        c1, t1 = self.counters(), self.cpu_snapshot()
        rec = {"udp_window": window, "udp_rt": rt, "udp_exit": rc, "udp_cpu_s": round(udp_cpu, 2),
               "udp_text": text.strip().splitlines()[-1] if text.strip() else ""}
        try:
            with open(out) as f:
                rec["udp"] = json.load(f)
        except (OSError, ValueError):
            rec["udp"] = None
        rec["counters"] = self.diff(c1, c0)
        rec["threads"] = self.cpu_delta(t0, t1)
        rec["threads_cpu_mid"] = {k: v for k, v in mid.items() if k in rec["threads"]}
        if tcp is not None:
            rc, cpu, text = tcp.finish(self.a.duration + 40)
            rec["tcp"] = self.last_json(text)
            rec["tcp_exit"] = rc
            rec["tcp_cpu_s"] = round(cpu, 2)
            if rec["tcp"] is None:
                rec["tcp_text"] = text[-600:]
        self.results["phases"][name] = rec
        return rec

    def run_tcp_only(self, kind, host, port, conns, depth, name, with_counters=True):
        c0 = self.counters() if with_counters else None
        t0 = self.cpu_snapshot()
        tcp = self.tcp(kind, host, port, conns, depth, self.a.duration, name)
        rc, cpu, text = tcp.finish(self.a.duration + 40)
        rec = {"tcp": self.last_json(text), "tcp_exit": rc, "tcp_cpu_s": round(cpu, 2),
               "threads": self.cpu_delta(t0, self.cpu_snapshot())}
        if rec["tcp"] is None:
            rec["tcp_text"] = text[-600:]
        if with_counters:
            rec["counters"] = self.diff(self.counters(), c0)
        self.results["phases"][name] = rec
        return rec

    # -- set-up -------------------------------------------------------------------
    def hiccup(self):
        r = subprocess.run(["taskset", "-c", "1", os.path.join(self.a.build, "tools/bench/hiccup"),
                            "--seconds", "2"], capture_output=True, text=True, timeout=30)
        try:
            self.results["machine"]["hiccup_cpu1"] = json.loads(r.stdout)
        except ValueError:
            self.results["machine"]["hiccup_cpu1"] = None

    def start(self):
        F = self.F
        extra = f"burst_size = {self.a.burst}" if self.a.burst else ""
        self.fx = F.TapFixture(os.path.join(self.a.build, "dataplane/fulmar-dataplane"),
                               workers=(1,), tag="bch", kernel=True, ip=DP_IP,
                               client_ip=CLIENT_IP, memory_mb=self.a.memory_mb,
                               extra_dataplane=extra)
        if not self.fx.wait_serving():
            raise RuntimeError(f"the dataplane does not answer over UDP:\n{self.fx.dp.text()}")
        self.ns = self.fx.ns.name
        self.tmp = self.fx.workdir
        self.sock = os.path.join(self.tmp, "admin.sock")
        section = "\n".join([f'admin_socket = "{self.sock}"', "metrics_port = 0",
                             f"request_arena_mb = {self.a.arena_mb}"])
        self.cp = F.ControlPlane(os.path.join(self.a.build, "controlplane/fulmar-controlplane"),
                                 self.fx.dp, self.tmp, section)
        if not self.cp.wait_ready():
            raise RuntimeError(f"the control plane did not get ready:\n{self.cp.text()}")
        self.cp_pid = child_pid(self.cp.proc)
        # memcached -t 1 in the namespace, on CPU 0 like the control plane.
        self.mc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "timeout", "-k", "5", str(F.PROCESS_TIMEOUT_S),
             "taskset", "-c", "0", "memcached", "-u", "root", "-U", "0", "-p", str(MEMCACHED_PORT),
             "-l", CLIENT_IP, "-m", "64", "-t", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.mc_pid = None
        for _ in range(50):
            self.mc_pid = child_pid(self.mc)
            if self.mc_pid:
                break
            time.sleep(0.05)

    def stop(self):
        if self.mc is not None and self.mc.poll() is None:
            self.mc.terminate()  # `timeout`, which passes TERM on
            try:
                self.mc.wait(10)
            except subprocess.TimeoutExpired:
                self.mc.kill()
                self.mc.wait(5)
        if self.cp is not None:
            self.cp.stop()
        if self.fx is not None:
            self.fx.teardown()

    # -- the run ------------------------------------------------------------------
    def run(self):
        a = self.a
        self.results["machine"] = {
            "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(),
            "layout": "the worker lcore is this bench's only process on CPU 1 (other tenants of "
                      "the machine are not: see the lost time); the dataplane's main lcore, the "
                      "control plane, udp_loadgen, the TCP load and memcached are pinned to CPU 0"}
        log("machine noise: tools/bench/hiccup on CPU 1, 2 s")
        self.hiccup()
        log(f"starting fulmar-dataplane (1 worker, CPU 1), fulmar-controlplane and memcached -t 1 "
            f"in namespace bch ({DP_IP}, {CLIENT_IP})")
        self.start()
        self.results["machine"]["namespace"] = self.ns
        self.results["machine"]["burst_size"] = a.burst or 32
        log(f"preloading {a.keys} keys over TCP into Fulmar (owner's inbox) and memcached")
        for host, port in ((DP_IP, PORT), (CLIENT_IP, MEMCACHED_PORT)):
            rc, _, text = self.tcp("preload", host, port, 1, 1, 0, f"preload-{port}").finish(120)
            if rc != 0:
                raise RuntimeError(f"preload of {host}:{port} failed: {text[-400:]}")
        g = (a.tcp_connections, a.tcp_depth)
        log(f"1a. UDP gets alone (window {a.udp_window}, {a.duration} s)")
        self.run_udp(a.udp_window, "udp_alone")
        log(f"1b. UDP gets beside a TCP get load ({g[0]} connections x {g[1]} pipelined gets)")
        self.run_udp(a.udp_window, "udp_with_tcp_gets", beside=True,
                     beside_args=("get", DP_IP, PORT, *g))
        log("1c. the TCP get load alone: Fulmar's control plane, then memcached -t 1")
        self.run_tcp_only("get", DP_IP, PORT, *g, "tcp_gets_fulmar")
        self.run_tcp_only("get", CLIENT_IP, MEMCACHED_PORT, *g, "tcp_gets_memcached",
                          with_counters=False)
        s = (a.storm_connections, a.storm_depth)
        log(f"2a. UDP get latency alone (window {a.latency_window})")
        self.run_udp(a.latency_window, "latency_alone")
        log(f"2b. UDP get latency beside a TCP set storm ({s[0]} connections x {s[1]} "
            f"pipelined sets, all through the owner's inbox)")
        self.run_udp(a.latency_window, "latency_with_tcp_sets", beside=True,
                     beside_args=("set", DP_IP, PORT, *s))
        # The same, the UDP client at SCHED_FIFO 1 (chrt): it stands for a
        # client machine of its own, so CPU 0's other tenants (the control
        # plane spins while requests are at the owners, and the storm's own
        # generator) no longer decide when it runs, and what is left is the
        # worker's share of the latency.
        log("2c. 2a and 2b again, the UDP client at SCHED_FIFO (chrt -f 1) on CPU 0")
        self.run_udp(a.latency_window, "latency_alone_rt", rt=True)
        self.run_udp(a.latency_window, "latency_with_tcp_sets_rt", beside=True,
                     beside_args=("set", DP_IP, PORT, *s), rt=True)
        self.results["machine"]["load_avg_at_end"] = os.getloadavg()

    # -- the report ---------------------------------------------------------------
    def report(self):
        P = self.results["phases"]
        m = self.results["machine"]

        def rate(rec):
            return rec["udp"]["requests_per_s"] if rec.get("udp") else float("nan")

        def tcp_rate(rec):
            return rec["tcp"]["requests_per_s"] if rec.get("tcp") else float("nan")

        print()
        h = m.get("hiccup_cpu1") or {}
        print(f"machine: {m['cpus']} CPUs, load average at start {m['load_avg_at_start'][0]:.2f}, "
              f"CPU 1 lost {h.get('lost_fraction', float('nan')) * 100:.1f}% of its time in "
              f"{h.get('gaps_per_s', 0):.0f} gaps/s (max {h.get('max_gap_us', 0):.0f} us) "
              f"before the run; {m['layout']}")
        print()
        print("1. Reads: UDP gets answered by the worker, with and without TCP gets beside them")
        print()
        print("| phase | UDP gets/s | TCP gets/s | worker cmd_get | control plane cmd_get | "
              "worker kernel_punted + returned | udp hits / misses / bad |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name in ("udp_alone", "udp_with_tcp_gets", "tcp_gets_fulmar"):
            rec = P.get(name)
            if rec is None:
                continue
            w = rec["counters"]["workers"][0]
            u = rec.get("udp") or {}
            hits = (f"{u.get('received', 0)} recv, hit ratio {u.get('hit_ratio', 0):.3f}, "
                    f"bad {u.get('bad', 0)}" if u else "-")
            print(f"| {name} | {rate(rec) if u else float('nan'):,.0f} | "
                  f"{tcp_rate(rec) if rec.get('tcp') else 0:,.0f} | {w.get('cmd_get', 0):,} | "
                  f"{rec['counters']['cp']['cmd_get']:,} | "
                  f"{w.get('kernel_punted', 0):,} + {w.get('kernel_returned', 0):,} | {hits} |")
        alone, beside = P.get("udp_alone"), P.get("udp_with_tcp_gets")
        fm, mc = P.get("tcp_gets_fulmar"), P.get("tcp_gets_memcached")
        if alone and beside:
            print()
            print(f"UDP rate beside TCP gets / alone: {rate(beside) / rate(alone):.3f}")
        if fm and mc:
            print()
            print("TCP get load alone, same load, same run:")
            print()
            print("| server | TCP gets/s | batch RTT p50 us | p99 us | server CPU s | "
                  "hits / replies | load CPU s |")
            print("|---|---:|---:|---:|---:|---|---:|")
            for label, rec, who in (("Fulmar control plane (TCP via the kernel side)", fm,
                                     "controlplane/"),
                                    ("memcached 1.6 -t 1 (TCP, namespace loopback)", mc,
                                     "memcached/")):
                t = rec.get("tcp") or {}
                cpu = sum(v["cpu_s"] for k, v in rec["threads"].items() if k.startswith(who))
                rtt = t.get("batch_rtt_us", {})
                print(f"| {label} | {t.get('requests_per_s', float('nan')):,.0f} | "
                      f"{rtt.get('p50')} | {rtt.get('p99')} | {cpu:.2f} | "
                      f"{t.get('hits')} / {t.get('replies')} | {rec['tcp_cpu_s']} |")
        print()
        print("2. Writes: UDP get latency (us) with and without a TCP set storm")
        print()
        print("| phase | UDP gets/s | p50 | p99 | p99.9 | max | TCP sets/s | worker handoff_in "
              "| worker kernel_punted + returned | tcp_backpressure_waits |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in ("latency_alone", "latency_with_tcp_sets", "latency_alone_rt",
                     "latency_with_tcp_sets_rt"):
            rec = P.get(name)
            if rec is None or not rec.get("udp"):
                continue
            lat = rec["udp"]["latency_us"]
            w = rec["counters"]["workers"][0]
            print(f"| {name} | {rate(rec):,.0f} | {lat['p50']:.1f} | {lat['p99']:.1f} | "
                  f"{lat['p99_9']:.1f} | {lat['max']:.1f} | "
                  f"{tcp_rate(rec) if rec.get('tcp') else 0:,.0f} | "
                  f"{w.get('handoff_in', 0):,} | "
                  f"{w.get('kernel_punted', 0):,} + {w.get('kernel_returned', 0):,} | "
                  f"{rec['counters']['cp'].get('tcp_backpressure_waits', 0):,} |")
        for suffix, how in (("", "same priority"), ("_rt", "UDP client at SCHED_FIFO")):
            la, ls = P.get("latency_alone" + suffix), P.get("latency_with_tcp_sets" + suffix)
            if not (la and ls and la.get("udp") and ls.get("udp")):
                continue
            a_l, s_l = la["udp"]["latency_us"], ls["udp"]["latency_us"]
            w = ls["counters"]["workers"][0]
            n_in = w.get("handoff_in", 0)
            wk = [v for k, v in ls["threads"].items() if "worker" in k]
            wcpu = wk[0]["cpu_s"] if wk else float("nan")
            print()
            print(f"{how}: the worker ran {n_in / self.a.duration:,.0f} inbox messages/s in "
                  f"{wcpu:.2f} CPU s of {self.a.duration:.0f} ({wk[0]['sys_s'] if wk else 'nan'} s "
                  f"in the kernel: sleeps, TAP reads and writes, the punted TCP frames' softirq); "
                  f"replies dropped {w.get('handoff_reply_dropped', 0)}")
            if n_in:
                per = wcpu / n_in * 1e6
                print(f"  inbox budget {m['burst_size']} messages per loop x at most {per:.2f} us "
                      f"a message (the worker's CPU time / messages, idle spinning included: an "
                      f"upper bound) = at most {m['burst_size'] * per:.0f} us of inbox work "
                      f"between two RX bursts")
            print(f"  UDP p50 / p99 / p99.9 beside the storm {s_l['p50']:.1f} / {s_l['p99']:.1f} / "
                  f"{s_l['p99_9']:.1f} us, alone {a_l['p50']:.1f} / {a_l['p99']:.1f} / "
                  f"{a_l['p99_9']:.1f} us: added p99 {s_l['p99'] - a_l['p99']:+.1f} us, "
                  f"p99.9 {s_l['p99_9'] - a_l['p99_9']:+.1f} us")
        print()
        print("CPU seconds per process/thread in each phase (last CPU it ran on):")
        for name, rec in P.items():
            parts = [f"{k} {v['cpu_s']}s (sys {v['sys_s']})@cpu{v['last_cpu']}" for k, v in
                     sorted(rec.get("threads", {}).items())]
            if "udp_cpu_s" in rec:
                parts.append(f"udp_loadgen {rec['udp_cpu_s']}s@cpu0(pinned)")
            if "tcp_cpu_s" in rec:
                parts.append(f"tcp-load {rec['tcp_cpu_s']}s@cpu0(pinned)")
            print(f"  {name}: " + ", ".join(parts))
        for name, rec in P.items():
            for key in ("udp_exit", "tcp_exit"):
                if rec.get(key) not in (None, 0):
                    print(f"  NOTE {name}: {key} = {rec[key]} "
                          f"{rec.get('udp_text', '') if key == 'udp_exit' else rec.get('tcp_text', '')}")
            if rec.get("tcp") and (rec["tcp"].get("bad") or rec["tcp"].get("errors")):
                print(f"  NOTE {name}: TCP bad {rec['tcp']['bad']} errors {rec['tcp']['errors']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per phase")
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--memory-mb", type=int, default=32, help="the shard's memory")
    ap.add_argument("--arena-mb", type=int, default=16, help="controlplane.request_arena_mb")
    ap.add_argument("--burst", type=int, default=0,
                    help="dataplane.burst_size (RX burst and inbox budget); 0: the default")
    ap.add_argument("--udp-window", type=int, default=64)
    ap.add_argument("--latency-window", type=int, default=4)
    ap.add_argument("--tcp-connections", type=int, default=8)
    ap.add_argument("--tcp-depth", type=int, default=64)
    ap.add_argument("--storm-connections", type=int, default=32)
    ap.add_argument("--storm-depth", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="1 s phases, 10,000 keys (a smoke test)")
    ap.add_argument("--json", help="write every figure here")
    # The TCP load process (run by the harness inside the namespace).
    ap.add_argument("--load", choices=("get", "set", "preload"), help=argparse.SUPPRESS)
    ap.add_argument("--host", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--connections", type=int, default=8, help=argparse.SUPPRESS)
    ap.add_argument("--depth", type=int, default=64, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.load:
        tcp_load(a)
        return 0
    if a.quick:
        a.duration, a.keys = 1.0, 10_000
    sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
    import fulmar_it as F
    why = F.preconditions()
    for tool in ("memcached", "redis-cli", "taskset"):
        if why is None and shutil.which(tool) is None:
            why = f"no `{tool}` (tools/fulmar setup)"
    for exe in ("dataplane/fulmar-dataplane", "controlplane/fulmar-controlplane",
                "tools/bench/udp_loadgen", "tools/bench/hiccup"):
        if why is None and not os.access(os.path.join(a.build, exe), os.X_OK):
            why = f"{a.build}/{exe} is not built (tools/fulmar build)"
    if why is not None:
        print(f"cp_read_bench: {why}", file=sys.stderr)
        return 77
    b = Bench(a, F)
    try:
        b.run()
    finally:
        b.stop()
    b.report()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(b.results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
