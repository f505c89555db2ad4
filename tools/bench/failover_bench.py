#!/usr/bin/python3
"""Failover figures on one machine: etcd and three appliances of one
partition (tests/integration/cluster_it.py), a client writing through the
partition's address all along.

    tools/bench/failover_bench.py DATAPLANE CONTROLPLANE FULMARCTL
        [--kills N] [--lease-ms MS] [--keys N]

Prints, next to the issue's goals:
  - time from kill -9 of the primary (dataplane and control plane) to the
    first write the address accepts again, p50/p99 over N kills;
  - writes acknowledged by the primary and missing after the failover
    (how many, and how long before the kill the oldest was acknowledged),
    and writes acknowledged by WAIT 1 that are missing (goal 0);
  - a planned switchover (fulmarctl failover): writes lost (goal 0) and the
    time writes were refused;
  - replication lag under load, p50/p99: a write acknowledged through the
    address until a replica serves it;
  - full-sync rate: a replica restarted empty until it holds the primary's
    items, MB/s of records;
  - whether two nodes ever took writes at once (sampled every 200 ms).
Root, hugepages and etcd needed, as for the integration tests. Bounded:
every process under `timeout`, the load a few seconds per step.
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import cluster_it as C  # noqa: E402
import fulmar_it as F  # noqa: E402


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Writer(threading.Thread):
    """Writes w<i> through the address one at a time (reconnecting), noting
    when each was acknowledged; every 20th also waits for one replica."""

    def __init__(self, cluster, tag):
        super().__init__(daemon=True)
        self.c, self.tag = cluster, tag
        self.stop_flag = threading.Event()
        self.acked = {}       # key -> monotonic time of +OK
        self.waited = set()   # keys WAIT 1 confirmed on a replica
        self.refused = []     # monotonic times of refusals (READONLY, errors)

    def run(self):
        i = 0
        conn = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    # Short: a connect sent to the old primary's MAC before
                    # the gratuitous ARP is lost; the next one is not.
                    conn = self.c.resp(timeout=0.2)
                key = f"{self.tag}{i}"
                r = conn.call("SET", key, f"v{i}")
                if r == b"+OK":
                    self.acked[key] = time.monotonic()
                    if i % 20 == 0 and conn.call("WAIT", 1, 200) == b":1":
                        self.waited.add(key)
                    i += 1
                else:
                    self.refused.append(time.monotonic())
                    time.sleep(0.005)
            except OSError:
                self.refused.append(time.monotonic())
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()

    def finish(self):
        self.stop_flag.set()
        self.join(10)


class Watch(threading.Thread):
    """Samples every node's may_write: never two at once."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.c = cluster
        self.stop_flag = threading.Event()
        self.samples = 0
        self.violations = []

    def run(self):
        while not self.stop_flag.is_set():
            writers = [n.name for n in list(self.c.nodes.values())
                       if n.cp is not None and n.status().get("may_write") == "yes"]
            self.samples += 1
            if len(writers) > 1:
                self.violations.append(writers)
            time.sleep(0.2)


def missing(cluster, keys):
    if not keys:
        return []
    conn = cluster.resp(timeout=5)
    try:
        keys = list(keys)
        got = conn.pipeline([("GET", k) for k in keys])
    finally:
        conn.close()
    return [k for k, v in zip(keys, got) if v is None]


def wait_synced(node, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = node.status()
        if st.get("role") == "replica" and st.get("link") == "up" and st.get("syncing") == "no":
            return True
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataplane")
    ap.add_argument("controlplane")
    ap.add_argument("fulmarctl")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--lease-ms", type=int, default=2000)
    ap.add_argument("--keys", type=int, default=200000)
    a = ap.parse_args()
    why = F.preconditions() or (None if shutil.which("etcd") else "needs etcd")
    if why:
        print(f"SKIP: {why}")
        return 77
    workdir = tempfile.mkdtemp(prefix="fulmar-bench-")
    c = C.Cluster(a.dataplane, a.controlplane, a.fulmarctl, workdir, lease_ms=a.lease_ms,
                  memory_mb=64)
    watch = Watch(c)
    rows = []
    try:
        primary = c.one_primary()
        watch.start()
        # Items to sync: keys of 100-byte values through the address.
        conn = c.resp(timeout=10)
        value = "x" * 100
        for start in range(0, a.keys, 1000):
            conn.pipeline([("SET", f"k{i}", value) for i in range(start, min(a.keys, start + 1000))])
        conn.call("WAIT", 2, 10000)
        conn.close()

        # Full sync: a replica restarted empty.
        replica = next(n for n in c.nodes.values() if n.name != primary)
        before = int(c.nodes[primary].info().get("fulmar_snapshot_bytes", 0))
        replica.kill9()
        replica.start()
        t0 = time.monotonic()
        synced = wait_synced(replica)
        took = time.monotonic() - t0
        sent = int(c.nodes[primary].info().get("fulmar_snapshot_bytes", 0)) - before
        rows.append(("full sync: records sent", f"{sent / 1e6:.1f} MB in {took:.2f} s "
                     f"= {sent / 1e6 / took:.1f} MB/s" if synced else "did not finish", ""))

        # Lag under load: acknowledged through the address until a replica
        # (its own address) serves it.
        load = Writer(c, "load")
        load.start()
        lags = []
        probe = c.resp(timeout=2)
        reader = C.Resp(c.client_ns, replica.ip, timeout=2)
        end = time.monotonic() + 5
        i = 0
        while time.monotonic() < end:
            key = f"lag{i}"
            if probe.call("SET", key, "1") != b"+OK":
                continue
            t_ack = time.monotonic()
            while reader.call("GET", key) is None and time.monotonic() - t_ack < 2:
                pass
            lags.append((time.monotonic() - t_ack) * 1e3)
            i += 1
            time.sleep(0.01)
        load.finish()
        probe.close()
        reader.close()
        rows.append(("replication lag under load, ms p50 / p99",
                     f"{pct(lags, 50):.2f} / {pct(lags, 99):.2f} ({len(lags)} probes, "
                     f"{len(load.acked)} writes beside)", ""))

        # Kills.
        took, lost_acked, lost_window, lost_waited = [], 0, [], 0
        for k in range(a.kills):
            primary = c.one_primary()
            w = Writer(c, f"f{k}_")
            w.start()
            time.sleep(1.0)
            t_kill = time.monotonic()
            c.nodes[primary].kill9()
            while time.monotonic() - t_kill < 30:
                after = [t for t in w.acked.values() if t > t_kill]
                if after:
                    break
                time.sleep(0.01)
            after = [t for t in w.acked.values() if t > t_kill]
            took.append(min(after) - t_kill if after else float("inf"))
            time.sleep(0.5)
            w.finish()
            before_kill = {key for key, t in w.acked.items() if t <= t_kill}
            gone = missing(c, before_kill)
            lost_acked += len(gone)
            lost_window += [(t_kill - w.acked[key]) * 1e3 for key in gone]
            lost_waited += len(set(gone) & w.waited)
            c.nodes[primary].start()
            wait_synced(c.nodes[primary])
        rows.append((f"kill -9 of the primary -> first write accepted, s p50 / p99 ({a.kills})",
                     f"{pct(took, 50):.2f} / {pct(took, 99):.2f} (lease {a.lease_ms} ms)",
                     "p99 <= 3 s"))
        rows.append(("writes acked by the primary, lost in those crashes",
                     f"{lost_acked}" + (f" (acked up to {max(lost_window):.1f} ms before the kill)"
                                        if lost_window else ""),
                     "at most the last 10 ms"))
        rows.append(("writes acked by WAIT 1, lost", f"{lost_waited}", "0"))

        # Planned switchover.
        primary = c.one_primary()
        w = Writer(c, "s_")
        w.start()
        time.sleep(1.0)
        t0 = time.monotonic()
        rc, out, err = c.nodes[primary].ctl("failover")
        time.sleep(1.0)
        w.finish()
        gone = missing(c, w.acked.keys())
        refused = [t for t in w.refused if t >= t0]
        pause = (max(refused) - min(refused)) if refused else 0.0
        rows.append(("planned switchover: acked writes lost", f"{len(gone)}", "0"))
        rows.append(("planned switchover: writes refused for, s",
                     f"{pause:.2f} ({out or err})", ""))
    finally:
        watch.stop_flag.set()
        watch.join(5)
        rows.append(("two nodes taking writes at once",
                     f"{len(watch.violations)} of {watch.samples} samples", "never"))
        c.teardown()
        shutil.rmtree(workdir, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  value  [goal]")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value}" + (f"  [{goal}]" if goal else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
