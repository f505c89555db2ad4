#!/usr/bin/python3
"""Pub/sub across the cluster ring: a PUBLISH on any node reaches the
subscribers (channels and patterns) of every node; SPUBLISH stays on the
shard channel's owner, and a node that does not own it answers MOVED.

    cluster_pubsub_test.py <fulmar-dataplane> <fulmar-controlplane> <fulmarctl> [Test ...]

etcd and three appliances A-C on one L2 segment (cluster_it.py), each its
own partition pA-pC in one ring (`fulmarctl ring add`). Checks:
  - PUBLISH on each node: its reply counts that node's receivers only
    (Redis Cluster's), and every subscriber of every node gets the message,
    pattern subscribers as pmessage, in publish order;
  - FULMAR.PEERPUBLISH (the nodes' internal form) from a client that is not
    a ring member is refused;
  - SPUBLISH / SSUBSCRIBE on the owner deliver to its SSUBSCRIBE
    subscribers only (no other node's subscribers); on a non-owner both get
    -MOVED naming the owner's address and RESP port;
  - a node stopped and started again: publishes on the others go on while
    it is down, and reach it again once it is back (the peers reconnect);
  - a partition leaves the ring: its shard subscribers are told
    (sunsubscribe), the channel is served by its new owner, and the others
    stop forwarding to it.

Everything lives in 198.18.144.0/24 inside namespaces the test creates; names
carry FULMAR_IT_TAG. Needs root, hugepages and etcd; exits 77 (skipped)
without.
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_it as C  # noqa: E402

DATAPLANE = CONTROLPLANE = FULMARCTL = None
NAMES = ("A", "B", "C")
PARTS = {n: f"p{n}" for n in NAMES}


class Conn:
    """A RESP2 connection from the client namespace that reads whole
    values (nested arrays included): replies and pushed messages."""

    def __init__(self, cluster, host, timeout=3.0):
        self.s = cluster.client_ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((host, C.REDIS_PORT))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def value(self):
        head = self._line()
        kind, rest = head[:1], head[1:]
        if kind in (b"+", b"-"):
            return head
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if kind == b"*":
            return [self.value() for _ in range(int(rest))]
        raise AssertionError(f"unexpected reply {head!r}")

    def call(self, *args):
        self.s.sendall(C.resp(*args))
        return self.value()

    def send(self, *args):
        self.s.sendall(C.resp(*args))

    def nothing_within(self, seconds):
        """True when nothing arrives within `seconds`."""
        if self.buf:
            return False
        self.s.settimeout(seconds)
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.s.settimeout(3.0)
        self.buf += chunk
        return False

    def close(self):
        self.s.close()


class ClusterPubSubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="fulmar-ps-")
        cls.cluster = C.Cluster(DATAPLANE, CONTROLPLANE, FULMARCTL, cls.workdir, names=NAMES,
                                net="198.18.144", memory_mb=16, partitions=PARTS)
        try:
            for epoch, n in enumerate(NAMES, start=1):
                rc, _, err = cls.cluster.nodes[n].ctl(
                    "ring", "add", PARTS[n], f"{cls.cluster.nodes[n].ip}:{C.MC_PORT}")
                if rc != 0:
                    raise RuntimeError(f"ring add {PARTS[n]}: {err}")
                cls.wait_epoch(epoch)
        except BaseException:
            cls.cluster.teardown()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.teardown()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def wait_epoch(cls, epoch, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = True
            for n in cls.cluster.nodes.values():
                rc, out, _ = n.ctl("--json", "ring", "status")
                st = json.loads(out) if rc == 0 else {}
                ok = ok and str(st.get("epoch")) == str(epoch) and st.get("phase") == "serving"
            if ok:
                return
            time.sleep(0.3)
        raise RuntimeError(f"ring epoch {epoch} not reached")

    def ip(self, name):
        return self.cluster.nodes[name].ip

    def conn(self, name):
        c = Conn(self.cluster, self.ip(name))
        self.addCleanup(c.close)
        return c

    def subscriber(self, name, channels=(), patterns=()):
        c = self.conn(name)
        for i, ch in enumerate(channels, start=1):
            self.assertEqual(c.call("SUBSCRIBE", ch), [b"subscribe", ch.encode(), i])
        for i, p in enumerate(patterns, start=len(channels) + 1):
            self.assertEqual(c.call("PSUBSCRIBE", p), [b"psubscribe", p.encode(), i])
        return c

    def wait_reaches(self, publisher, subs, channel, drain=()):
        """Publishes on `publisher` until each of `subs` (subscribed to
        `channel`) got one message: the peers' connections are up. Then
        drains what `subs` and `drain` got."""
        deadline = time.monotonic() + 15
        pending = set(range(len(subs)))
        pub = self.conn(publisher)
        while pending and time.monotonic() < deadline:
            self.assertIsInstance(pub.call("PUBLISH", channel, "probe"), int)
            for i in list(pending):
                if not subs[i].nothing_within(0.2):
                    pending.discard(i)
        self.assertEqual(pending, set(), f"publishes on {publisher} never reached some nodes")
        time.sleep(0.3)
        for s in list(subs) + list(drain):
            while not s.nothing_within(0.2):
                msg = s.value()
                self.assertIn(msg[0], (b"message", b"pmessage"), msg)

    # ---- the tests, in order (one cluster) ----------------------------------

    def test_1_publish_reaches_every_node(self):
        subs = {n: self.subscriber(n, channels=("news",)) for n in NAMES}
        pats = {n: self.subscriber(n, patterns=("ne*",)) for n in NAMES}
        everyone = list(subs.values()) + list(pats.values())
        for n in NAMES:
            self.wait_reaches(n, [subs[m] for m in NAMES if m != n], "news", drain=everyone)
        for n in NAMES:
            pub = self.conn(n)
            for i in range(20):
                # Redis Cluster's count: this node's receivers (one channel
                # subscriber and one pattern subscriber).
                self.assertEqual(pub.call("PUBLISH", "news", f"{n}{i}"), 2)
            for m in NAMES:
                for i in range(20):
                    self.assertEqual(subs[m].value(), [b"message", b"news", f"{n}{i}".encode()])
                    self.assertEqual(pats[m].value(),
                                     [b"pmessage", b"ne*", b"news", f"{n}{i}".encode()])
        # A channel nobody matches: nothing anywhere, a count of 0.
        self.assertEqual(self.conn("A").call("PUBLISH", "other", "x"), 0)
        for m in NAMES:
            self.assertTrue(subs[m].nothing_within(0.3))
            self.assertTrue(pats[m].nothing_within(0.01))

    def test_2_peer_publish_is_refused_from_a_client(self):
        for n in NAMES:
            r = self.conn(n).call("FULMAR.PEERPUBLISH", "news", "forged")
            self.assertTrue(r.startswith(b"-ERR fulmar.peerpublish is only taken from another "
                                         b"member"), r)

    def owner_of(self, channel):
        """The node that owns `channel`, and the MOVED line the others give."""
        c = self.conn("A")
        r = c.call("SPUBLISH", channel, "x")
        if isinstance(r, int):
            return "A"
        self.assertTrue(r.startswith(b"-MOVED "), r)
        host = r.split()[2].decode().rsplit(":", 1)[0]
        return next(n for n in NAMES if self.ip(n) == host)

    def test_3_spublish_goes_to_the_owner_only(self):
        # One shard channel owned by each node.
        owned = {}
        for i in range(200):
            ch = f"shard{i}"
            owned.setdefault(self.owner_of(ch), ch)
            if len(owned) == len(NAMES):
                break
        self.assertEqual(set(owned), set(NAMES), owned)
        for owner, ch in owned.items():
            others = [n for n in NAMES if n != owner]
            moved = f"{self.ip(owner)}:{C.REDIS_PORT}".encode()
            ssub = self.conn(owner)
            self.assertEqual(ssub.call("SSUBSCRIBE", ch), [b"ssubscribe", ch.encode(), 1])
            # Plain subscribers of the same name on every node: a shard
            # message is not theirs.
            plain = {n: self.subscriber(n, channels=(ch,)) for n in NAMES}
            for n in others:
                c = self.conn(n)
                r = c.call("SSUBSCRIBE", ch)
                self.assertTrue(r.startswith(b"-MOVED ") and r.endswith(b" " + moved), r)
                r = c.call("SPUBLISH", ch, "wrong node")
                self.assertTrue(r.startswith(b"-MOVED ") and r.endswith(b" " + moved), r)
            self.assertEqual(self.conn(owner).call("SPUBLISH", ch, "hello"), 1)
            self.assertEqual(ssub.value(), [b"smessage", ch.encode(), b"hello"])
            for n in NAMES:
                self.assertTrue(plain[n].nothing_within(0.3), n)
        # Channels of different owners in one SSUBSCRIBE.
        a, b = owned["A"], owned["B"]
        r = self.conn("A").call("SSUBSCRIBE", a, b)
        self.assertEqual(r, b"-CROSSSLOT Keys in request don't hash to the same slot")

    def test_4_a_restarted_node_gets_publishes_again(self):
        subs = {n: self.subscriber(n, channels=("back",)) for n in NAMES}
        self.wait_reaches("A", [subs["B"], subs["C"]], "back")
        node = self.cluster.nodes["C"]
        node.stop()
        # C is down: A's publishes still answer at once and reach B.
        pub = self.conn("A")
        t0 = time.monotonic()
        for i in range(50):
            self.assertEqual(pub.call("PUBLISH", "back", f"down{i}"), 1)
        self.assertLess(time.monotonic() - t0, 2.0)
        for i in range(50):
            self.assertEqual(subs["B"].value(), [b"message", b"back", f"down{i}".encode()])
        node.start()
        self.wait_epoch(3)
        c_sub = self.subscriber("C", channels=("back",))
        # A reconnects (backoff at most 2 s) and B too.
        self.wait_reaches("A", [c_sub, subs["B"]], "back")
        self.wait_reaches("B", [c_sub], "back", drain=[subs["B"]])
        for i in range(10):
            self.assertEqual(pub.call("PUBLISH", "back", f"up{i}"), 1)
        for i in range(10):
            self.assertEqual(c_sub.value(), [b"message", b"back", f"up{i}".encode()])
            self.assertEqual(subs["B"].value(), [b"message", b"back", f"up{i}".encode()])
        # A's INFO: two peers, both connected again. (What went while C was
        # down is dropped; the count depends on when A saw the connection
        # break: messages the kernel took are lost uncounted.)
        info = self.conn("A").call("INFO", "stats").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        self.assertEqual(fields["fulmar_pubsub_peers"], "2", info)
        self.assertEqual(fields["fulmar_pubsub_peers_connected"], "2", info)
        self.assertGreater(int(fields["fulmar_pubsub_forwarded"]), 100, info)
        self.assertGreaterEqual(int(fields["fulmar_pubsub_forward_dropped"]), 0, info)
        self.assertEqual(fields["fulmar_pubsub_forward_refused"], "0", info)

    def test_5_a_partition_leaves_the_ring(self):
        ch = next(c for c in (f"leave{i}" for i in range(500)) if self.owner_of(c) == "C")
        ssub = self.conn("C")
        self.assertEqual(ssub.call("SSUBSCRIBE", ch), [b"ssubscribe", ch.encode(), 1])
        rc, _, err = self.cluster.nodes["A"].ctl("ring", "remove", "pC")
        self.assertEqual(rc, 0, err)
        self.wait_epoch(4)
        # Redis 7.0 tells shard subscribers of a slot that moved away.
        self.assertEqual(ssub.value(), [b"sunsubscribe", ch.encode(), 0])
        owner = self.owner_of(ch)
        self.assertIn(owner, ("A", "B"))
        r = self.conn("C").call("SPUBLISH", ch, "x")
        self.assertTrue(r.endswith(f" {self.ip(owner)}:{C.REDIS_PORT}".encode()), r)
        # The peers follow the ring: A forwards to B only now.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            info = self.conn("A").call("INFO", "stats").decode()
            if "fulmar_pubsub_peers:1\r\n" in info:
                break
            time.sleep(0.1)
        self.assertIn("fulmar_pubsub_peers:1\r\n", info)
        b_sub = self.subscriber("B", channels=("after",))
        c_sub = self.subscriber("C", channels=("after",))
        self.assertEqual(self.conn("A").call("PUBLISH", "after", "m"), 0)
        self.assertEqual(b_sub.value(), [b"message", b"after", b"m"])
        self.assertTrue(c_sub.nothing_within(0.5))


def main():
    return C.test_main(__doc__, sys.modules[__name__], ('DATAPLANE', 'CONTROLPLANE', 'FULMARCTL'))


if __name__ == "__main__":
    sys.exit(main())
