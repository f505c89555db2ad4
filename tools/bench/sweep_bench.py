#!/usr/bin/python3
"""TTL sweeps: Fulmar's paced sweep next to Redis 7's active expire cycle
(tools/fulmar bench sweep).

One workload for both: N keys (default 200,000), half without a TTL, half
with a TTL drawn from 5-10 s; then, every second, as many new keys with a
5-10 s TTL as expire on average (N/2 / 7.5 per second), so the population of
keys with a TTL stays steady and keeps expiring. Every second for --seconds
(default 30) it prints, for each server, the share of the keys with a TTL
that have expired but are still in memory, computed from the known expiry
schedule against what the server holds (Fulmar: STATUS items; Redis: INFO
keyspace keys), never from the server's own estimate; for Fulmar also the
pacer's estimate (STATS sweep_expired_percent) and the sweep's share of the
owner's core (sweep_cpu_percent_max, from the cycles the owner reports).

Fulmar: fulmar-dataplane on a TAP port (tests/integration/fulmar_it's
TapFixture: its own namespace, EAL prefix and names tagged `swb`, address
198.18.72.1) with a 64 MiB shard, and fulmar-controlplane with memcached TCP
and its admin socket on loopback (keys are written over TCP). Redis:
redis-server 7 on a free loopback port, no persistence, its defaults
otherwise (hz 10, active-expire-effort 1: Redis tolerates ~10% expired keys
among those with a TTL before it works harder). Both are stopped by PID.
Needs root and hugepages (tools/fulmar setup).
"""
import argparse
import bisect
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.dont_write_bytecode = True
import fulmar_it as F  # noqa: E402

import redis  # noqa: E402  (python3-redis, Debian)

TTL_MIN, TTL_MAX = 5, 10
VALUE = b"v" * 32


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_call(path, *args, timeout=10):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)).encode())
        with s.makefile("rb") as f:
            return _read_reply(f)


def _read_reply(f):
    """One RESP value from the file `f`."""
    line = f.readline().decode().rstrip("\r\n")
    kind, rest = line[0], line[1:]
    if kind == "+":
        return rest
    if kind == "-":
        raise RuntimeError(rest)
    if kind == ":":
        return int(rest)
    if kind == "$":
        return f.read(int(rest) + 2)[:-2].decode()
    if kind == "*":
        return [_read_reply(f) for _ in range(int(rest))]
    raise RuntimeError(f"bad RESP line {line!r}")


def table(flat):
    return dict(zip(flat[0::2], flat[1::2]))


class Schedule:
    """When each key with a TTL expires, as the server counts it."""

    def __init__(self):
        self.expiries = []  # sorted
        self.no_ttl = 0

    def add(self, expiry):
        bisect.insort(self.expiries, expiry)

    def live_ttl(self, now):
        return len(self.expiries) - bisect.bisect_right(self.expiries, now)


class FulmarSide:
    """memcached text over TCP to the control plane; memcached's clock is in
    whole seconds: a key set at t with TTL s expires when floor(now) >=
    floor(t) + s."""

    def __init__(self, port, admin):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.admin = admin
        self.sched = Schedule()

    def set_many(self, keys_ttls):
        now = time.time()
        buf = bytearray()
        for k, ttl in keys_ttls:
            buf += b"set %s 0 %d %d noreply\r\n%s\r\n" % (k, ttl, len(VALUE), VALUE)
            if ttl:
                self.sched.add(math.floor(now) + ttl)
            else:
                self.sched.no_ttl += 1
        self.sock.sendall(bytes(buf) + b"mn\r\n")
        got = b""
        while not got.endswith(b"MN\r\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the control plane closed the connection")
            got += chunk

    def sample(self):
        now = math.floor(time.time())
        status = table(resp_call(self.admin, "STATUS"))
        stats = table(resp_call(self.admin, "STATS"))
        resident = int(status["items"])
        live = self.sched.no_ttl + self.sched.live_ttl(now)
        ttl_resident = resident - self.sched.no_ttl
        return {"ttl_resident": ttl_resident, "expired": resident - live,
                "estimate": float(stats["sweep_expired_percent"]),
                "cpu": float(stats["sweep_cpu_percent_max"])}


class RedisSide:
    """Redis with the same keys (SET EX): its clock is in milliseconds."""

    def __init__(self, port):
        self.r = redis.Redis(host="127.0.0.1", port=port)
        self.sched = Schedule()

    def set_many(self, keys_ttls):
        p = self.r.pipeline(transaction=False)
        now = time.time()
        for k, ttl in keys_ttls:
            if ttl:
                p.set(k, VALUE, ex=ttl)
                self.sched.add(now + ttl)
            else:
                p.set(k, VALUE)
                self.sched.no_ttl += 1
        p.execute()

    def sample(self):
        now = time.time()
        ks = self.r.info("keyspace").get("db0", {"keys": 0, "expires": 0})
        live = self.sched.no_ttl + self.sched.live_ttl(now)
        return {"ttl_resident": ks["expires"], "expired": ks["keys"] - live}


def share(side):
    return 100.0 * max(0, side["expired"]) / max(1, side["ttl_resident"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    why = F.preconditions()
    if why:
        sys.exit(f"sweep bench: {why}")
    rng = random.Random(args.seed)
    fx = cp = redis_proc = None
    workdir = tempfile.mkdtemp(prefix="fulmar-sweep-bench-")
    try:
        fx = F.TapFixture(os.path.join(args.build, "dataplane", "fulmar-dataplane"), memory_mb=64,
                          tag="swb", ip="198.18.72.1", client_ip="198.18.72.2")
        admin = os.path.join(fx.workdir, "admin.sock")
        mc_port = free_port()
        cp = F.ControlPlane(os.path.join(args.build, "controlplane", "fulmar-controlplane"), fx.dp,
                            fx.workdir, "\n".join([
                                'listen = "127.0.0.1"', f"memcached_port = {mc_port}",
                                f'admin_socket = "{admin}"', "request_arena_mb = 16",
                                "metrics_port = 0"]))
        if not cp.wait_ready():
            sys.exit(f"the control plane did not start:\n{cp.text()}")
        redis_port = free_port()
        redis_log = open(os.path.join(workdir, "redis.log"), "w")
        redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--hz", "10", "--dir", workdir],
            stdout=redis_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        rs = RedisSide(redis_port)
        for _ in range(100):
            try:
                rs.r.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        version = rs.r.info("server")["redis_version"]
        fs = FulmarSide(mc_port, admin)

        print(f"==> loading {args.keys} keys (half with a {TTL_MIN}-{TTL_MAX} s TTL) into "
              f"Fulmar and Redis {version}", flush=True)
        batch = []
        for i in range(args.keys):
            ttl = rng.randint(TTL_MIN, TTL_MAX) if i % 2 else 0
            batch.append((b"k%d" % i, ttl))
            if len(batch) == 10_000:
                fs.set_many(batch)
                rs.set_many(batch)
                batch = []
        if batch:
            fs.set_many(batch)
            rs.set_many(batch)
        per_second = int((args.keys // 2) / ((TTL_MIN + TTL_MAX) / 2))
        print(f"==> then {per_second} new keys with a TTL every second; expired-but-resident "
              f"share of the keys with a TTL, from the expiry schedule:", flush=True)
        print(f"{'t s':>4} | {'Fulmar':>7} {'(pacer)':>8} {'sweep cpu':>9} {'ttl keys':>8} | "
              f"{'Redis':>7} {'ttl keys':>8}")
        rows = []
        start = time.monotonic()
        gen = 0
        for sec in range(1, args.seconds + 1):
            new = [(b"r%d" % (gen * per_second + j), rng.randint(TTL_MIN, TTL_MAX))
                   for j in range(per_second)]
            gen += 1
            fs.set_many(new)
            rs.set_many(new)
            time.sleep(max(0.0, start + sec - time.monotonic()))
            f, r = fs.sample(), rs.sample()
            rows.append((sec, share(f), f["estimate"], f["cpu"], share(r)))
            print(f"{sec:>4} | {share(f):>6.2f}% {f['estimate']:>7.2f}% {f['cpu']:>8.2f}% "
                  f"{f['ttl_resident']:>8} | {share(r):>6.2f}% {r['ttl_resident']:>8}", flush=True)
        steady = [x for x in rows if x[0] > TTL_MAX] or rows
        mean = lambda i: sum(x[i] for x in steady) / len(steady)  # noqa: E731
        print(f"==> after {TTL_MAX} s (steady expiry): expired-but-resident share, mean / max: "
              f"Fulmar {mean(1):.2f}% / {max(x[1] for x in steady):.2f}% (pacer's estimate "
              f"{mean(2):.2f}%, sweep {mean(3):.2f}% of a core at most, mean over the shards' max), "
              f"Redis {mean(4):.2f}% / {max(x[4] for x in steady):.2f}%")
    finally:
        if redis_proc is not None:
            redis_proc.send_signal(signal.SIGTERM)
            try:
                redis_proc.wait(10)
            except subprocess.TimeoutExpired:
                redis_proc.kill()
                redis_proc.wait()
        if cp is not None:
            cp.stop()
        if fx is not None:
            fx.teardown()
        subprocess.run(["rm", "-rf", workdir], check=False)


if __name__ == "__main__":
    main()
