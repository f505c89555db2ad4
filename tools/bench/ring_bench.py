#!/usr/bin/python3
"""Ring rebalancing benchmark: 3 -> 4 -> 3 partitions with N keys under a mixed
read/write load, next to Redis's MIGRATE on the same machine in the same run.

    ring_bench.py <fulmar-dataplane> <fulmar-controlplane> <fulmarctl> <ring_place>
                  [--keys N] [--json PATH]

etcd and four appliances A-D (cluster_it.py, 198.18.145.0/24, each its own
partition pA-pD). The ring is pA, pB, pC; N keys (16 B keys, 32 B values) are
loaded straight to their owners (placement by ring_place: the same ketama).
A client then runs 90% GET / 10% SET over the keys (following MOVED, retrying
TRYAGAIN), before, during and after `fulmarctl ring add pD` and again for
`ring remove pD`. Printed per move: keys and MB moved, the move's rate (keys/s,
MB/s, from `ring add` to the flip), the flip pause (writes to moving keys
refused, per old owner), GET p50/p99 before and during, hit ratio before and
after, wrong values (must be 0), misses of keys present all along.
Redis 7 (two redis-servers on loopback): MIGRATE one key per call (classic)
and MIGRATE ... KEYS in batches of 100, keys/s.
"""
import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import cluster_it as C  # noqa: E402
import fulmar_it as F  # noqa: E402

NAMES = ("A", "B", "C", "D")


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class Load(threading.Thread):
    """90% GET over every key, 10% SET over the writable half; samples GET
    latency per phase; counts hits, wrong values, misses of stable keys."""

    def __init__(self, cluster, values, stable):
        super().__init__(daemon=True)
        self.c = C.MovedClient(cluster)
        self.values, self.stable = values, stable
        self.keys = list(values)
        self.writable = [k for k in self.keys if k not in stable]
        self.phase = "before"
        self.lat = {}
        self.hits = {}
        self.gets = {}
        self.wrong = self.stable_misses = 0
        self.stop = False

    def run(self):
        rnd = random.Random(7)
        n = 0
        while not self.stop:
            ph = self.phase
            if rnd.random() < 0.1:
                k = rnd.choice(self.writable)
                v = f"w{n:030d}"[:32]
                if self.c.call(k, "SET", k, v) == b"+OK":
                    self.values[k] = v
            else:
                k = rnd.choice(self.keys)
                t0 = time.perf_counter()
                r = self.c.call(k, "GET", k)
                self.lat.setdefault(ph, []).append(time.perf_counter() - t0)
                self.gets[ph] = self.gets.get(ph, 0) + 1
                if r is None:
                    if k in self.stable:
                        self.stable_misses += 1
                else:
                    self.hits[ph] = self.hits.get(ph, 0) + 1
                    if r.decode() != self.values[k]:
                        self.wrong += 1
            n += 1


def ctl(node, *args):
    rc, out, err = node.ctl("--json", *args)
    if rc != 0:
        raise RuntimeError(f"fulmarctl {' '.join(args)}: {err}")
    return json.loads(out) if out.startswith("{") else out


def wait_epoch(cluster, epoch, poll=None, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sts = [ctl(n, "ring", "status") for n in cluster.nodes.values()]
        if poll:
            poll(sts)
        if all(str(s["epoch"]) == str(epoch) and s["phase"] == "serving" and
               s["dropping"] == "no" for s in sts):
            return sts
        time.sleep(0.1)
    raise RuntimeError(f"ring epoch {epoch} not reached")


def dbsize(cluster):
    out = {}
    for name, n in cluster.nodes.items():
        c = C.Resp(cluster.client_ns, n.ip)
        out[name] = int(c.call("DBSIZE")[1:])
        c.close()
    return out


def load_keys(cluster, ring_place, values):
    members = ctl(cluster.nodes["A"], "ring", "status")["members"].split()
    entries = [f"{m.split('=')[1]} {m.split('=')[0]}" for m in members]
    keys = list(values)
    r = subprocess.run([ring_place, *entries], input="\n".join(keys) + "\n",
                       stdout=subprocess.PIPE, text=True, check=True)
    owners = [int(x) for x in r.stdout.split()]
    ips = [m.split("=")[1].rsplit(":", 2)[0] for m in members]
    by_host = {}
    for k, o in zip(keys, owners):
        by_host.setdefault(ips[o], []).append(k)
    for host, ks in by_host.items():
        c = C.Resp(cluster.client_ns, host, timeout=30)
        for i in range(0, len(ks), 2000):
            batch = ks[i:i + 2000]
            rs = c.pipeline([("SET", k, values[k]) for k in batch])
            if set(rs) != {b"+OK"}:
                raise RuntimeError(f"loading {host}: {set(rs)}")
        c.close()


def move(cluster, load, what, epoch):
    before = dbsize(cluster)
    flips = {s["partition"]: int(s["flips"])
             for s in (ctl(n, "ring", "status") for n in cluster.nodes.values())}
    load.phase = "before"
    time.sleep(3)
    load.phase = f"during {what[0]}"
    t0 = time.monotonic()
    rc, out, err = cluster.nodes["A"].ctl("ring", *what)
    if rc != 0:
        raise RuntimeError(err)
    sts = wait_epoch(cluster, epoch)
    took = time.monotonic() - t0
    load.phase = f"after {what[0]}"
    time.sleep(3)
    after = dbsize(cluster)
    moved = sum(max(0, after[n] - before[n]) for n in after)
    # The old owners of this move: the nodes that froze and saw it flip.
    olds = [s for s in sts if int(s["flips"]) > flips[s["partition"]]]
    pauses = {s["partition"]: s["last_flip_pause_ms"] for s in olds}
    # What the old owners sent (records: snapshot items and live changes).
    mbytes = sum(int(s["last_move_bytes"]) for s in olds) / 1e6
    records = sum(int(s["last_move_keys"]) for s in olds)
    return {"move": " ".join(what[:2]), "seconds": round(took, 3), "keys_moved": moved,
            "keys_total": sum(after.values()), "records_sent": records,
            "mb_sent": round(mbytes, 1),
            "keys_per_s": round(moved / took), "mb_per_s": round(mbytes / took, 1),
            "flip_pause_ms": pauses, "before": before, "after": after}


def redis_migrate(n_keys):
    """Redis 7's MIGRATE between two local servers: one key per call, then
    KEYS batches of 100."""
    if shutil.which("redis-server") is None:
        return None
    procs, ports = [], []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    try:
        for p in ports:
            procs.append(subprocess.Popen(
                ["timeout", "600", "redis-server", "--port", str(p), "--save", "", "--appendonly",
                 "no", "--databases", "1", "--bind", "127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        out = {}
        for mode in ("one", "batch100"):
            src = socket.create_connection(("127.0.0.1", ports[0]))
            src.settimeout(30)
            buf = b""

            def call(*args):
                nonlocal buf
                src.sendall(C.resp(*args))
                while b"\r\n" not in buf:
                    buf += src.recv(65536)
                line, buf = buf.split(b"\r\n", 1)
                return line
            keys = [f"key:{i:012d}" for i in range(n_keys)]
            for i in range(0, n_keys, 1000):
                src.sendall(b"".join(C.resp("SET", k, "v" * 32) for k in keys[i:i + 1000]))
                got = 0
                while got < len(keys[i:i + 1000]):
                    while b"\r\n" not in buf:
                        buf += src.recv(65536)
                    line, buf = buf.split(b"\r\n", 1)
                    got += 1
            t0 = time.monotonic()
            if mode == "one":
                for k in keys:
                    call("MIGRATE", "127.0.0.1", ports[1], k, 0, 5000)
            else:
                for i in range(0, n_keys, 100):
                    call("MIGRATE", "127.0.0.1", ports[1], "", 0, 5000, "KEYS", *keys[i:i + 100])
            out[mode] = round(n_keys / (time.monotonic() - t0))
            dst = socket.create_connection(("127.0.0.1", ports[1]))
            dst.sendall(C.resp("FLUSHALL"))
            dst.recv(100)
            dst.close()
            src.close()
        return out
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataplane")
    ap.add_argument("controlplane")
    ap.add_argument("fulmarctl")
    ap.add_argument("ring_place")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--json")
    a = ap.parse_args()
    why = F.preconditions()
    if why or shutil.which("etcd") is None:
        print(f"SKIP: {why or 'needs etcd'}")
        return 77
    workdir = tempfile.mkdtemp(prefix="fulmar-ringbench-")
    mem = max(64, a.keys * 400 // 1_000_000)
    cluster = C.Cluster(a.dataplane, a.controlplane, a.fulmarctl, workdir, names=NAMES,
                        net="198.18.145", memory_mb=mem,
                        partitions={n: f"p{n}" for n in NAMES})
    try:
        a_node = cluster.nodes["A"]
        for i, n in enumerate(("A", "B", "C")):
            rc, _, err = a_node.ctl("ring", "add", f"p{n}", f"{cluster.nodes[n].ip}:{C.MC_PORT}")
            if rc != 0:
                raise RuntimeError(err)
            wait_epoch(cluster, i + 1)
        values = {f"key:{i:012d}": f"{i:032d}" for i in range(a.keys)}
        t0 = time.monotonic()
        load_keys(cluster, a.ring_place, values)
        print(f"loaded {a.keys} keys in {time.monotonic() - t0:.1f} s: {dbsize(cluster)}",
              flush=True)
        stable = set(random.Random(1).sample(list(values), a.keys // 2))
        load = Load(cluster, values, stable)
        load.start()
        grow = move(cluster, load, ("add", "pD", f"{cluster.nodes['D'].ip}:{C.MC_PORT}"), 4)
        shrink = move(cluster, load, ("remove", "pD"), 5)
        load.stop = True
        load.join(10)
        redis = redis_migrate(min(a.keys, 100_000))
        lat = {ph: {"p50_ms": round(pct(v, 0.5) * 1e3, 3), "p99_ms": round(pct(v, 0.99) * 1e3, 3),
                    "gets": len(v),
                    "hit_ratio": round(load.hits.get(ph, 0) / max(1, load.gets.get(ph, 0)), 4)}
               for ph, v in load.lat.items()}
        result = {"keys": a.keys, "moves": [grow, shrink], "load": lat,
                  "wrong_values": load.wrong, "stable_key_misses": load.stable_misses,
                  "redis_migrate_keys_per_s": redis,
                  "machine": {"nproc": os.cpu_count(), "loadavg": os.getloadavg()}}
        print()
        print(f"{'move':<10} {'keys moved':>10} {'MB sent':>8} {'seconds':>8} {'keys/s':>9} "
              f"{'MB/s':>6}  flip pause ms (per old owner)")
        for m in (grow, shrink):
            print(f"{m['move']:<10} {m['keys_moved']:>10} {m['mb_sent']:>8} {m['seconds']:>8} "
                  f"{m['keys_per_s']:>9} {m['mb_per_s']:>6}  {m['flip_pause_ms']}")
        print(f"\n{'phase':<14} {'GETs':>7} {'p50 ms':>7} {'p99 ms':>7} {'hit ratio':>9}")
        for ph, v in lat.items():
            print(f"{ph:<14} {v['gets']:>7} {v['p50_ms']:>7} {v['p99_ms']:>7} "
                  f"{v['hit_ratio']:>9}")
        print(f"\nwrong values {load.wrong}, misses of keys present all along "
              f"{load.stable_misses}")
        if redis:
            print(f"Redis 7 MIGRATE, same machine: {redis['one']} keys/s one key per call, "
                  f"{redis['batch100']} keys/s with KEYS batches of 100")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=1)
        return 0 if load.wrong == 0 else 1
    finally:
        cluster.teardown()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
