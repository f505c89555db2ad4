#!/usr/bin/python3
"""Failover: etcd and three appliances of one partition; the primary dies,
is cut off, or loses etcd, and a client keeps using one address.

    failover_test.py <fulmar-dataplane> <fulmar-controlplane> <fulmarctl> [Test ...]

One L2 segment (a bridge in a namespace of the test's own) joins a client
namespace, which also runs etcd, and three appliances, each in a namespace
of its own with its control plane ([cluster]: partition "p1", lease 2 s,
service address .100, replication port 16379; one dataplane.digest_seed):

    client ns (.2, etcd :2379) --veth--+
                                      br0 --TAP-- appliance A (.11)
                                      br0 --TAP-- appliance B (.12)
                                      br0 --TAP-- appliance C (.13)

Covers: one primary is elected and serves the service address (UDP and
Redis over TCP), the others replicate it; writes acknowledged by WAIT are
on the new primary after the old one is killed (-9, dataplane and control
plane), which takes writes on the same address within the lease plus a
few seconds (printed); the killed node, started again, rejoins as a
replica and converges; with etcd killed, the primary fences itself (writes
refused, reads served) and nobody else is elected; etcd back, writes
resume.

Everything lives in 198.18.141.0/24 inside namespaces the test creates;
names carry FULMAR_IT_TAG. Needs root, hugepages and etcd; exits 77
(skipped) without.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_it as C  # noqa: E402
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = FULMARCTL = None
NET = os.environ.get("FULMAR_IT_SUBNET", "198.18.141")
LEASE_MS = 2000
MC_PORT = C.MC_PORT


class FailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="fulmar-it-")
        cls.c = C.Cluster(DATAPLANE, CONTROLPLANE, FULMARCTL, cls.workdir, net=NET,
                          lease_ms=LEASE_MS)
        cls.nodes, cls.client_ns, cls.bridge = cls.c.nodes, cls.c.client_ns, cls.c.bridge

    @classmethod
    def tearDownClass(cls):
        cls.c.teardown()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def roles(self):
        return self.c.roles()

    def wait_one_primary(self, timeout=15):
        p = self.c.one_primary(timeout)
        if p is None:
            self.fail(f"no single primary: {self.c.roles()}")
        return p

    def write_through_service(self, prefix, n):
        c = self.c.resp()
        try:
            replies = c.pipeline([("SET", f"{prefix}{i}", f"v{i}") for i in range(n)])
            self.assertEqual(set(replies), {b"+OK"})
            return c.call("WAIT", len(self.nodes) - 1, 5000)
        finally:
            c.close()

    def first_write_after(self, t0, timeout=20):
        took = self.c.first_write_after(t0, timeout)
        if took is None:
            self.fail("no write accepted after the failover")
        return took

    def kill_etcd(self):
        self.c.kill_etcd()

    def start_etcd(self):
        self.c.start_etcd()

    def test_1_one_primary_serves_the_address_and_the_others_replicate(self):
        primary = self.wait_one_primary()
        time.sleep(0.5)
        acked = self.write_through_service("k", 2000)
        self.assertEqual(acked, b":2", "both replicas acknowledge")
        st = self.nodes[primary].status()
        self.assertEqual(st["may_write"], "yes")
        self.assertIn("served here", st["service_address"])
        udp = F.McUdp(self.client_ns, self.c.service_ip, MC_PORT, self.c.client_ip)
        try:
            self.assertEqual(udp.request(b"get k7\r\n"), b"VALUE k7 0 2\r\nv7\r\nEND\r\n")
        finally:
            udp.close()

    def test_2_kill_the_primary_and_the_address_moves_with_no_acked_write_lost(self):
        old = self.wait_one_primary()
        acked = self.write_through_service("w", 1000)
        self.assertEqual(acked, b":2")
        t0 = time.monotonic()
        self.nodes[old].kill9()
        took = self.first_write_after(t0)
        print(f"\nfailover: first write accepted {took:.2f} s after kill -9 of the primary "
              f"(lease {LEASE_MS} ms)", file=sys.stderr)
        self.assertLess(took, LEASE_MS / 1000 + 4)
        new = self.wait_one_primary()
        self.assertNotEqual(new, old)
        # The third node resumes from the new primary, which continued the
        # old one's history (PSYNC2-style): no full sync.
        third = next(n for n in self.nodes.values() if n.name not in (old, new))
        self.assert_resumed(third)
        c = self.c.resp()
        try:
            got = c.pipeline([("GET", f"w{i}") for i in range(1000)])
        finally:
            c.close()
        missing = [i for i, v in enumerate(got) if v != f"v{i}".encode()]
        self.assertEqual(missing, [], "acknowledged writes lost in the failover")
        # The old node comes back: it rejoins as a replica and converges.
        self.nodes[old].start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.nodes[old].status().get("role") == "replica" and \
                    self.nodes[old].status().get("syncing") == "no" and \
                    self.nodes[old].status().get("link") == "up":
                break
            time.sleep(0.2)
        self.assertEqual(self.nodes[old].status().get("role"), "replica")
        self.assertEqual(self.write_through_service("x", 10), b":2")

    def test_3_without_etcd_the_primary_fences_and_nobody_takes_over(self):
        primary = self.wait_one_primary()
        self.kill_etcd()
        t0 = time.monotonic()
        refused = None
        while time.monotonic() - t0 < LEASE_MS / 1000 + 2:
            c = self.c.resp()
            try:
                r = c.call("SET", "fenced", "1")
                if r.startswith(b"-READONLY"):
                    refused = time.monotonic() - t0
                    self.assertEqual(c.call("GET", "k7"), b"v7")  # reads go on
                    break
            finally:
                c.close()
            time.sleep(0.05)
        self.assertIsNotNone(refused, "the primary kept taking writes without its lease")
        self.assertLess(refused, LEASE_MS / 1000)
        time.sleep(LEASE_MS / 1000 + 1)
        roles = self.roles()
        # Still the primary, fenced; nobody else elected.
        self.assertEqual(roles[primary], "fenced")
        self.assertEqual([k for k, v in roles.items() if v == "primary"], [])
        self.start_etcd()
        took = self.first_write_after(time.monotonic(), timeout=30)
        print(f"\netcd back: writes resumed after {took:.2f} s", file=sys.stderr)
        self.wait_one_primary()

    def ctl(self, node, *args):
        return node.ctl(*args)

    def assert_resumed(self, node, timeout=15):
        """The node follows its new primary without a full sync."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = node.info()
            if info.get("master_link_status") == "up" and \
                    str(info.get("master_sync_in_progress")) == "0":
                break
            time.sleep(0.1)
        # One shard per node here (one worker).
        self.assertEqual((str(info.get("fulmar_full_syncs")), str(info.get("fulmar_partial_syncs"))),
                         ("0", "1"), info)

    def assert_converged(self, timeout=20):
        """Every replica holds the primary's items (DUMP of every key)."""
        primary = self.nodes[self.wait_one_primary()]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            want = str(primary.info().get("master_repl_offset"))
            offsets = [str(n.info().get("slave_repl_offset")) for n in self.nodes.values()
                       if n is not primary and n.cp is not None]
            if all(o == want for o in offsets):
                break
            time.sleep(0.1)
        conns = {n.name: C.Resp(self.client_ns, n.ip) for n in self.nodes.values()
                 if n.cp is not None}
        try:
            keys, cursor = [], b"0"
            while True:
                conns[primary.name].s.sendall(C.resp("SCAN", cursor.decode(), "COUNT", "1000"))
                # *2 $cursor *N $key...: read by hand (Resp reads flat replies)
                head = conns[primary.name].reply_array()
                cursor, batch = head[0], head[1]
                keys += batch
                if cursor == b"0":
                    break
            self.assertGreater(len(keys), 100)
            want = conns[primary.name].pipeline([("DUMP", k.decode()) for k in keys])
            for name, c in conns.items():
                got = c.pipeline([("DUMP", k.decode()) for k in keys])
                differ = [k for k, a, b in zip(keys, want, got) if a != b]
                self.assertEqual(differ[:5], [], f"{name}: {len(differ)} of {len(keys)} differ")
        finally:
            for c in conns.values():
                c.close()

    def test_4_a_planned_switchover_loses_nothing(self):
        old = self.wait_one_primary()
        c = self.c.resp()
        try:
            # Acknowledged by the primary only (no WAIT): the switchover must
            # still carry every one of them over.
            self.assertEqual(set(c.pipeline([("SET", f"p{i}", f"v{i}") for i in range(2000)])),
                             {b"+OK"})
        finally:
            c.close()
        rc, out, err = self.ctl(self.nodes[old], "failover")
        self.assertEqual(rc, 0, err)
        print(f"\nplanned switchover: {out}", file=sys.stderr)
        new = self.wait_one_primary()
        self.assertNotEqual(new, old)
        self.first_write_after(time.monotonic())
        c = self.c.resp()
        try:
            got = c.pipeline([("GET", f"p{i}") for i in range(2000)])
        finally:
            c.close()
        self.assertEqual([i for i, v in enumerate(got) if v != f"v{i}".encode()], [])
        # Both the old primary and the other replica resume: nothing whole,
        # and they end with the new primary's items.
        for n in self.nodes.values():
            if n.name != new:
                self.assert_resumed(n)
        self.assert_converged()
        rc, _, err = self.ctl(self.nodes[old], "failover")
        self.assertNotEqual(rc, 0)
        self.assertIn("not the partition's primary", err)

    def test_5_a_primary_cut_off_fences_and_rejoins_as_replica(self):
        old = self.wait_one_primary()
        iface = self.nodes[old].dp.iface
        self.bridge.ip("ip", "link", "set", iface, "down")
        try:
            t0 = time.monotonic()
            took = self.first_write_after(t0)
            print(f"\npartitioned primary: writes on the new one {took:.2f} s after the cut",
                  file=sys.stderr)
            new = self.wait_one_primary()
        finally:
            self.bridge.ip("ip", "link", "set", iface, "up")
        self.assertNotEqual(new, old)
        deadline = time.monotonic() + 20
        st = {}
        while time.monotonic() < deadline:
            st = self.nodes[old].status()
            if st.get("role") == "replica" and st.get("link") == "up" and \
                    st.get("syncing") == "no":
                break
            time.sleep(0.2)
        self.assertEqual(st.get("role"), "replica", st)
        self.assertNotIn("served here", st.get("service_address", ""))
        # It had nothing the new primary lacks (fenced before the election):
        # it resumes where it stopped.
        self.assert_resumed(self.nodes[old])
        self.assert_converged()
        self.assertEqual(self.write_through_service("y", 10), b":2")


def main():
    return C.test_main(__doc__, sys.modules[__name__], ('DATAPLANE', 'CONTROLPLANE', 'FULMARCTL'))


if __name__ == "__main__":
    sys.exit(main())
