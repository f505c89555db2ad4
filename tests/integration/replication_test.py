#!/usr/bin/python3
"""Replication between two appliances: a primary and its read-only replica.

    replication_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

Two appliances of their own (two workers each, so both have two shards), in
namespaces of their own; the primary's control plane listens for replicas on
REPL_PORT, the replica's config says replica_of it. Their control planes
talk over the kernel sides of their exception paths (host-local
addresses); clients are Debian's redis-py and pymemcache.

Covers: a full sync of a primary holding every type, written to all along
(memcached flags, CAS and TTLs, Redis strings, counters, lists, sets,
hashes, expiries, deletions) ends with the replica holding the same keys
with the same DUMP payloads, flags, CAS and TTLs; the replica refuses
writes (Redis READONLY, memcached SERVER_ERROR) naming its primary and
serves reads; WAIT counts the replica; INFO replication on both sides; a
replica whose link breaks resumes from the backlog (partial resync) and
converges again.

Needs root and hugepages; exits 77 (skipped) without. Names: tag "rp",
subnets 198.18.114.0/24 (primary) and 198.18.115.0/24 (replica)
($FULMAR_IT_TAG, $FULMAR_IT_SUBNETS="198.18.A,198.18.B").
"""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402
import resp_it as R  # noqa: E402
from cluster_it import child_pid  # noqa: E402

DATAPLANE = CONTROLPLANE = None
TAG = os.environ.get("FULMAR_IT_TAG", "rp")
SUBNETS = os.environ.get("FULMAR_IT_SUBNETS", "198.18.114,198.18.115").split(",")
PRIMARY_IP, REPLICA_IP = f"{SUBNETS[0]}.1", f"{SUBNETS[1]}.1"
REPL_PORT = 16379
# A primary and its replicas hash keys with one seed (dataplane.digest_seed).
SEED = [f'digest_seed = "{random.getrandbits(64):016x}"']
MC_PORT = 11211

import redis  # noqa: E402  (Debian's python3-redis)
from pymemcache.client.base import Client as McClient  # noqa: E402


def info(r, section="replication"):
    return r.info(section)


class Writer(threading.Thread):
    """Random writes of every kind on the primary until stopped."""

    def __init__(self, seed):
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.stop_flag = threading.Event()
        self.ops = 0
        self.error = None

    def run(self):
        try:
            r = redis.Redis(host=PRIMARY_IP, port=R.REDIS_PORT)
            mc = McClient((PRIMARY_IP, MC_PORT))
            while not self.stop_flag.is_set():
                p = r.pipeline(transaction=False)
                for _ in range(50):
                    one_write(self.rng, p, mc)
                    self.ops += 1
                p.execute(raise_on_error=False)
            mc.close()
        except Exception as e:  # surfaced by the test
            self.error = e


def one_write(rng, p, mc):
    k = rng.randrange(3000)
    op = rng.randrange(12)
    if op == 0:
        p.set(f"s{k}", "v" * rng.randrange(1, 200), ex=rng.choice([None, None, 1, 30, 3600]))
    elif op == 1:
        p.incrby(f"n{k}", rng.randrange(-5, 100))
    elif op == 2:
        p.append(f"s{k}", "+app")
    elif op == 3:
        p.rpush(f"l{k % 300}", *[f"e{rng.randrange(1000)}" for _ in range(rng.randrange(1, 4))])
    elif op == 4:
        p.lpop(f"l{k % 300}")
    elif op == 5:
        p.sadd(f"t{k % 300}", *[f"m{rng.randrange(100)}" for _ in range(3)])
    elif op == 6:
        p.srem(f"t{k % 300}", f"m{rng.randrange(100)}")
    elif op == 7:
        p.hset(f"h{k % 300}", f"f{rng.randrange(50)}", "x" * rng.randrange(1, 80))
    elif op == 8:
        p.delete(f"s{k}")
    elif op == 9:
        p.expire(f"n{k}", rng.choice([1, 60]))
    elif op == 10:
        mc.set(f"m{k}", b"mv" * rng.randrange(1, 50), expire=rng.choice([0, 0, 2, 300]),
               flags=rng.randrange(1 << 16), noreply=False)
    else:
        mc.incr(f"c{k % 100}", rng.randrange(1, 9), noreply=False) or \
            mc.add(f"c{k % 100}", b"1", noreply=False)


def all_keys(r):
    return set(r.scan_iter(count=1000))


def mg(sock, key):
    """memcached meta get over a plain socket: flags, CAS, TTL of a key."""
    sock.sendall(b"mg " + key + b" f c t\r\n")
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf.strip()


class ReplicationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pfx, cls.pcp = R.start_appliance(
            DATAPLANE, CONTROLPLANE, TAG, PRIMARY_IP, f"{SUBNETS[0]}.2",
            lines=[f"memcached_port = {MC_PORT}", "", "[replication]", f"port = {REPL_PORT}",
                   "backlog_seconds = 600"], dataplane_lines=SEED)
        cls.primary = redis.Redis(host=PRIMARY_IP, port=R.REDIS_PORT, decode_responses=False)
        cls.rfx = cls.rcp = None

    @classmethod
    def tearDownClass(cls):
        for cp, fx in ((cls.rcp, cls.rfx), (cls.pcp, cls.pfx)):
            if cp is not None:
                cp.stop()
            if fx is not None:
                fx.teardown()

    def start_replica(self):
        cls = type(self)
        cls.rfx, cls.rcp = R.start_appliance(
            DATAPLANE, CONTROLPLANE, TAG, REPLICA_IP, f"{SUBNETS[1]}.2",
            lines=[f"memcached_port = {MC_PORT}", "", "[replication]",
                   f'replica_of = "{PRIMARY_IP}:{REPL_PORT}"'], dataplane_lines=SEED,
            # Slab pages spread over size classes by each node's own
            # history: a full primary's items need some slack on a replica
            # (docs/replication.md).
            memory_mb=48)
        cls.replica = redis.Redis(host=REPLICA_IP, port=R.REDIS_PORT, decode_responses=False)

    def wait_caught_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = info(self.primary)
            q = info(self.replica)
            if (q.get("master_link_status") == "up" and q.get("master_sync_in_progress") == 0
                    and q.get("slave_repl_offset") == p.get("master_repl_offset")):
                return p, q
            time.sleep(0.1)
        self.fail(f"the replica did not catch up: primary {info(self.primary)}, "
                  f"replica {info(self.replica)}\nreplica log:\n{self.rcp.text()[-3000:]}")

    def assert_same_items(self):
        pkeys, rkeys = all_keys(self.primary), all_keys(self.replica)
        self.assertGreater(len(pkeys), 1000)
        # A key only one side lists must be one in its last seconds (each
        # node's sweep frees expired keys on its own clock), or gone by now.
        odd = []
        for k in pkeys ^ rkeys:
            ttl = (self.primary if k in pkeys else self.replica).pttl(k)
            if not (ttl == -2 or 0 <= ttl <= 2000):
                odd.append((k, ttl))
        self.assertEqual(odd[:5], [], f"{len(odd)} keys on one side only")
        keys = pkeys & rkeys
        pmc = socket.create_connection((PRIMARY_IP, MC_PORT))
        rmc = socket.create_connection((REPLICA_IP, MC_PORT))
        differ = []
        for k in sorted(keys):
            da, db = self.primary.dump(k), self.replica.dump(k)
            if da != db and any(t == -2 or 0 <= t <= 2000
                                for t in (self.primary.pttl(k), self.replica.pttl(k))):
                continue  # expiring between the two reads
            if da != db:
                differ.append((k, "dump", da[:60] if da else da, db[:60] if db else db))
                continue
            if self.primary.type(k) == b"string":
                a, b = mg(pmc, k).split(), mg(rmc, k).split()
                # A key in its last seconds may expire between the two reads
                # (each node's clock ticks on its own): not a difference.
                if any(x.startswith(b"t") and 0 <= int(x[1:]) <= 2 for x in a + b):
                    continue
                # flags and CAS exactly; the TTL within the second the two reads straddle
                ta = [x for x in a if x.startswith(b"t")]
                tb = [x for x in b if x.startswith(b"t")]
                if [x for x in a if not x.startswith(b"t")] != \
                        [x for x in b if not x.startswith(b"t")]:
                    differ.append((k, a, b))
                elif ta and tb and abs(int(ta[0][1:]) - int(tb[0][1:])) > 1:
                    differ.append((k, a, b))
            else:
                pa, pb = self.primary.pttl(k), self.replica.pttl(k)
                if 0 <= min(pa, pb) <= 2000 or pa == -2 or pb == -2:
                    continue
                if (pa < 0) != (pb < 0) or abs(pa - pb) > 1000:
                    differ.append((k, pa, pb))
        pmc.close()
        rmc.close()
        self.assertEqual(differ[:5], [], f"{len(differ)} of {len(keys)} keys differ")

    def test_1_full_sync_under_writes_then_stream(self):
        p = self.primary.pipeline(transaction=False)
        rng = random.Random(1)
        mc = McClient((PRIMARY_IP, MC_PORT))
        for i in range(4000):
            one_write(rng, p, mc)
        p.execute(raise_on_error=False)
        for i in range(2000):
            mc.set(f"pre{i}", b"x" * (i % 300), flags=i, expire=0 if i % 3 else 3600)
        mc.close()
        writer = Writer(2)
        writer.start()
        time.sleep(0.5)
        self.start_replica()
        time.sleep(3)
        writer.stop_flag.set()
        writer.join(20)
        self.assertIsNone(writer.error)
        self.assertGreater(writer.ops, 1000)
        p_info, q_info = self.wait_caught_up()
        self.assertEqual(p_info["connected_slaves"], 1)
        self.assertEqual(p_info["slave0"]["state"], "online")
        self.assertEqual(q_info["role"], "slave")
        self.assertEqual(q_info["master_host"], PRIMARY_IP)
        self.assert_same_items()

    def test_2_replica_is_read_only_and_serves_reads(self):
        self.primary.set("ro-key", "primary's")
        self.assertEqual(self.primary.wait(1, 5000), 1)
        self.assertEqual(self.replica.get("ro-key"), b"primary's")
        with self.assertRaises(redis.exceptions.ReadOnlyError) as e:
            self.replica.set("ro-key", "replica's")
        self.assertIn(PRIMARY_IP, str(e.exception))
        mc = McClient((REPLICA_IP, MC_PORT))
        with self.assertRaises(Exception) as e:
            mc.set("ro-mc", b"v", noreply=False)
        self.assertIn("read only replica", str(e.exception))
        self.assertEqual(mc.get("ro-key"), b"primary's")
        mc.close()
        # memcached UDP, straight from the replica's own dataplane: reads
        # served, writes refused there too.
        self.assertEqual(self.rfx.client.request(b"get ro-key\r\n"),
                         b"VALUE ro-key 0 9\r\nprimary's\r\nEND\r\n")
        self.assertTrue(self.rfx.client.request(b"set ro-udp 0 0 1\r\nx\r\n")
                        .startswith(b"SERVER_ERROR read only replica"))
        with self.assertRaises(redis.exceptions.ResponseError):
            self.replica.wait(1, 10)

    def test_3_wait_times_out_without_enough_replicas(self):
        self.primary.set("w", "1")
        t0 = time.monotonic()
        self.assertEqual(self.primary.wait(2, 300), 1)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertEqual(self.primary.wait(0, 0), 1)
        # The operator's equivalent: fulmarctl wait N --timeout MS.
        ctl = os.path.join(os.path.dirname(os.path.dirname(CONTROLPLANE)), "tools", "fulmarctl",
                           "fulmarctl")

        def wait(fx, *args):
            r = subprocess.run([ctl, "--socket", os.path.join(fx.workdir, "admin.sock"), "wait",
                                *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=20)
            return r.returncode, r.stdout.strip(), r.stderr.strip()

        self.primary.set("w", "2")
        self.assertEqual(wait(self.pfx, "1", "--timeout", "5000"), (0, "1", ""))
        rc, out, _ = wait(self.pfx, "2", "--timeout", "300")
        self.assertEqual((rc, out), (1, "1"))
        rc, _, err = wait(self.rfx, "1")
        self.assertNotEqual(rc, 0)
        self.assertIn("not a primary", err)

    def resume_after(self, cut):
        before = info(self.replica)
        rng = random.Random(4)
        mc = McClient((PRIMARY_IP, MC_PORT))
        self.assertEqual(cut(), 1)
        p = self.primary.pipeline(transaction=False)
        for _ in range(3000):
            one_write(rng, p, mc)
        p.execute(raise_on_error=False)
        mc.close()
        _, after = self.wait_caught_up()
        # Both shards resumed from the backlog; nothing was sent whole.
        self.assertEqual(after["fulmar_partial_syncs"], before["fulmar_partial_syncs"] + 2)
        self.assertEqual(after["fulmar_full_syncs"], before["fulmar_full_syncs"])
        self.assert_same_items()

    def test_4_a_cut_link_resumes_from_the_backlog(self):
        self.resume_after(lambda: self.replica.execute_command("CLIENT", "KILL", "TYPE", "master"))

    def test_5_a_primary_cutting_its_replica_resumes_too(self):
        self.resume_after(lambda: self.primary.execute_command("CLIENT", "KILL", "TYPE", "replica"))

    def test_6_replicaof_no_one_then_back(self):
        self.assertTrue(self.replica.execute_command("REPLICAOF", "NO", "ONE"))
        self.assertEqual(info(self.replica)["role"], "master")
        self.replica.set("own-write", "mine")  # a primary now: it takes writes
        self.assertEqual(self.replica.get("own-write"), b"mine")
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            self.replica.execute_command("REPLICAOF", PRIMARY_IP, "0")
        self.assertIn("Invalid master port", str(e.exception))
        self.assertTrue(self.replica.execute_command("REPLICAOF", PRIMARY_IP, str(REPL_PORT)))
        _, after = self.wait_caught_up()
        self.assertEqual(after["role"], "slave")
        self.assertEqual(after["fulmar_full_syncs"], 2)  # another history: both shards whole
        # Its own write is gone: a new primary's items replace a node's own.
        self.assertIsNone(self.replica.get("own-write"))
        self.assert_same_items()

    def test_7_every_write_command_and_evictions_converge(self):
        """Memory pressure (twice the shards' memory written) and the write
        commands of both protocols, then every item compared."""
        r = self.primary
        rng = random.Random(7)
        r.flushall()
        mc = socket.create_connection((PRIMARY_IP, MC_PORT))

        def mcall(line, data=None):
            mc.sendall(line + b"\r\n" + (data + b"\r\n" if data is not None else b""))
            buf = b""
            while not buf.endswith(b"\r\n"):
                buf += mc.recv(4096)
            return buf

        big = "z" * 2000
        p = r.pipeline(transaction=False)
        for i in range(40000):  # ~80 MB into 2 x 32 MiB: the CLOCK hand evicts
            p.set(f"big{i}", big)
            if i % 1000 == 999:
                p.execute()
        p.execute()
        for i in range(300):
            k = f"mc{i}".encode()
            mcall(b"set " + k + b" 5 0 3", b"abc")
            mcall(b"append " + k + b" 0 0 2", b"de")
            mcall(b"prepend " + k + b" 0 0 2", b"xy")
            mcall(b"touch " + k + b" " + str(rng.choice([0, 100, 1])).encode())
            mcall(b"ms " + k + b"m 4 T50 F9", b"meta")
            mcall(b"set " + k + b"n 0 0 2", b"10")
            mcall(b"incr " + k + b"n 7")
            mcall(b"ma " + k + b"n D3 MD")
            if i % 3 == 0:
                mcall(b"md " + k + b"m")
            if i % 5 == 0:
                gets = mcall(b"gets " + k)
                cas = gets.split(b"\r\n")[0].split()[-1] if gets.startswith(b"VALUE") else b"1"
                mcall(b"cas " + k + b" 1 0 3 " + cas, b"new")
                mcall(b"gat 200 " + k)
        for i in range(200):
            # Keys of one command share a hash tag: they are on one shard.
            r.rpush(f"{{l}}{i}", *[f"e{j}" for j in range(20)])
            r.lmove(f"{{l}}{i}", f"{{l}}{(i + 1) % 200}", "LEFT", "RIGHT")
            r.ltrim(f"{{l}}{i}", 0, 10)
            r.sadd(f"S{i}", *range(30))
            r.spop(f"S{i}", 3)
            r.srem(f"S{i}", 5)
            r.hset(f"H{i}", mapping={f"f{j}": j for j in range(10)})
            r.hdel(f"H{i}", "f1")
            r.hincrby(f"H{i}", "f2", 5)
            r.set(f"{{r{i}}}a", "rename-me")
            r.rename(f"{{r{i}}}a", f"{{r{i}}}b")
            r.setrange(f"{{r{i}}}b", 3, "XX")
            r.getdel(f"big{i}")
            r.expire(f"S{i}", 500)
            r.pexpire(f"H{i}", 400000)
            r.persist(f"S{i}")
            r.mset({f"{{t{i}}}a": "1", f"{{t{i}}}b": "2"})
            r.incrbyfloat(f"F{i}", 1.5)
        dumped = r.dump("{l}0")
        r.restore("restored", 0, dumped)
        mcall(b"flush_all 3600")  # a delayed flush: horizons travel too
        mc.close()
        self.assertGreater(int(r.info("stats")["evicted_keys"]), 0)
        self.wait_caught_up(60)
        self.assert_same_items()

    def test_8_a_replica_killed_mid_full_sync_syncs_again(self):
        cls = type(self)
        self.replica.execute_command("REPLICAOF", "NO", "ONE")
        self.replica.flushall()
        with open(self.rcp.config) as f:
            section = f.read().split("\n[controlplane]\n", 1)[1]
        # kill -9 its control plane while it receives the primary's items
        self.assertTrue(self.replica.execute_command("REPLICAOF", PRIMARY_IP, str(REPL_PORT)))
        deadline = time.monotonic() + 10
        syncing = False
        while time.monotonic() < deadline and not syncing:
            syncing = info(self.replica)["master_sync_in_progress"] == 1
        self.assertTrue(syncing, "the full sync was not seen under way")
        pid = child_pid(self.rcp.proc, CONTROLPLANE)
        self.assertIsNotNone(pid)
        os.kill(pid, signal.SIGKILL)
        self.rcp.proc.wait(10)
        self.rcp.stop()
        # A new control plane (its config says replica_of): it starts over.
        cls.rcp = F.ControlPlane(CONTROLPLANE, self.rfx.dp, self.rfx.workdir, section)
        self.assertTrue(cls.rcp.wait_ready(), cls.rcp.text())
        self.wait_caught_up(60)
        self.assert_same_items()


if __name__ == "__main__":
    sys.exit(R.main(__doc__, globals(), tools=()))
