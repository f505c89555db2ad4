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
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = FULMARCTL = None
NET = os.environ.get("FULMAR_IT_SUBNET", "198.18.141")
CLIENT_IP = f"{NET}.2"
SERVICE_IP = f"{NET}.100"
NODES = {
    # name: (port address, port MAC, MAC of the TAP's bridge side)
    "A": (f"{NET}.11", "02:00:00:8d:00:0b", "02:00:00:8d:01:0b"),
    "B": (f"{NET}.12", "02:00:00:8d:00:0c", "02:00:00:8d:01:0c"),
    "C": (f"{NET}.13", "02:00:00:8d:00:0d", "02:00:00:8d:01:0d"),
}
LEASE_MS = 2000
MC_PORT = 11211
REDIS_PORT = 6379
REPL_PORT = 16379
SEED = f'digest_seed = "{random.getrandbits(64):016x}"'


def child_pid(proc, exe):
    """The process `exe` that `timeout` (proc) runs."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                for k in (int(x) for x in f.read().split()):
                    if os.path.realpath(f"/proc/{k}/exe") == os.path.realpath(exe):
                        return k
        except OSError:
            pass
        time.sleep(0.02)
    return None


def resp(*args):
    return b"".join([f"*{len(args)}\r\n".encode()] +
                    [f"${len(str(a).encode())}\r\n{a}\r\n".encode() for a in args])


class Resp:
    """A Redis connection from the client namespace (raw RESP2)."""

    def __init__(self, ns, host, timeout=2.0):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((host, REDIS_PORT))
        self.buf = b""

    def reply(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                head = self.buf[:end]
                if head[:1] in (b"+", b"-", b":"):
                    self.buf = self.buf[end + 2:]
                    return head
                n = int(head[1:])
                if n < 0:
                    self.buf = self.buf[end + 2:]
                    return None
                if len(self.buf) >= end + 2 + n + 2:
                    v = self.buf[end + 2:end + 2 + n]
                    self.buf = self.buf[end + 2 + n + 2:]
                    return v
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def call(self, *args):
        self.s.sendall(resp(*args))
        return self.reply()

    def pipeline(self, commands):
        self.s.sendall(b"".join(resp(*c) for c in commands))
        return [self.reply() for _ in commands]

    def close(self):
        self.s.close()


class Node:
    """A dataplane and its control plane, a member of partition p1."""

    def __init__(self, name, workdir, bridge_ns):
        self.name, self.workdir, self.bridge_ns = name, workdir, bridge_ns
        self.ip, self.mac, self.bridge_mac = NODES[name]
        self.ns = self.dp = self.cp = None
        self.start()

    def start(self):
        self.ns = F.Netns()
        self.ns.ip("ip", "link", "set", "lo", "up")
        self.dp = F.Dataplane(DATAPLANE, self.workdir, ip=self.ip, mac=self.mac, memory_mb=16,
                              kernel=True, netns=self.ns, extra_dataplane=SEED)
        if not self.dp.wait_ready():
            raise RuntimeError(f"dataplane {self.name} did not get ready:\n{self.dp.text()}")
        self.dp.find_pid(time.monotonic() + 5)
        self.ns.ip("ip", "link", "set", self.dp.iface, "netns", self.bridge_ns.name)
        self.bridge_ns.ip("ip", "link", "set", self.dp.iface, "address", self.bridge_mac)
        self.bridge_ns.ip("ip", "link", "set", self.dp.iface, "master", "br0")
        self.bridge_ns.ip("ip", "link", "set", self.dp.iface, "up")
        self.sock = os.path.join(self.workdir, f"admin-{self.name}.sock")
        self.cp = F.ControlPlane(CONTROLPLANE, self.dp, self.workdir, "\n".join([
            'listen = "0.0.0.0"',
            f'admin_socket = "{self.sock}"',
            "metrics_port = 0",
            "request_arena_mb = 8",
            f"memcached_port = {MC_PORT}",
            f"redis_port = {REDIS_PORT}",
            "[replication]",
            f"port = {REPL_PORT}",
            "[cluster]",
            f'etcd = ["{CLIENT_IP}:2379"]',
            'partition = "p1"',
            f'node_id = "{self.name}"',
            f"lease_ms = {LEASE_MS}",
            f'service_address = "{SERVICE_IP}"',
        ]), netns=self.ns)
        if not self.cp.wait_ready():
            raise RuntimeError(f"control plane {self.name} did not get ready:\n{self.cp.text()}")

    def status(self):
        r = subprocess.run(["timeout", "10", FULMARCTL, "--socket", self.sock, "--json", "cluster",
                            "status"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            return {}
        return json.loads(r.stdout)

    def kill9(self):
        """The node dies at once: both processes, SIGKILL, by PID."""
        cp = child_pid(self.cp.proc, CONTROLPLANE)
        for pid in (cp, self.dp.pid):
            if pid:
                os.kill(pid, signal.SIGKILL)
        # `timeout` exits with its child: then nothing is left to stop.
        self.cp.proc.wait(10)
        self.dp.proc.wait(10)
        self.cp.stop()
        try:
            self.dp.stop()
        except ProcessLookupError:
            pass
        self.dp.cleanup_files()
        self.ns.delete()
        self.cp = None

    def stop(self):
        if self.cp is not None:
            self.cp.stop()
            self.dp.stop()
            self.dp.cleanup_files()
            self.ns.delete()
            self.cp = None


class FailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="fulmar-it-")
        cls.nodes = {}
        cls.bridge = cls.client_ns = cls.etcd = None
        try:
            cls.bridge = F.Netns()
            cls.bridge.ip("ip", "link", "add", "br0", "type", "bridge")
            cls.bridge.ip("ip", "link", "set", "br0", "up")
            cls.client_ns = F.Netns()
            cls.client_ns.ip("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            cls.client_ns.ip("ip", "link", "set", "lo", "up")
            cls.client_ns.ip("ip", "link", "add", "vc", "address", "02:00:00:8d:00:02", "type",
                             "veth", "peer", "name", "vb", "netns", cls.bridge.name)
            cls.client_ns.ip("ip", "addr", "add", f"{CLIENT_IP}/24", "dev", "vc")
            cls.client_ns.ip("ip", "link", "set", "vc", "up")
            cls.bridge.ip("ip", "link", "set", "vb", "master", "br0")
            cls.bridge.ip("ip", "link", "set", "vb", "up")
            cls.etcd_dir = os.path.join(cls.workdir, "etcd")
            cls.start_etcd()
            for name in NODES:
                cls.nodes[name] = Node(name, cls.workdir, cls.bridge)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_etcd(cls):
        url = f"http://{CLIENT_IP}:2379"
        cls.etcd_log = open(os.path.join(cls.workdir, "etcd.log"), "ab")
        cls.etcd = subprocess.Popen(
            ["ip", "netns", "exec", cls.client_ns.name, "timeout", "-k", "5",
             str(F.PROCESS_TIMEOUT_S), "etcd", "--name", "e1", "--data-dir", cls.etcd_dir,
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", "http://127.0.0.1:2380",
             "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "e1=http://127.0.0.1:2380"],
            stdout=cls.etcd_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            s = cls.client_ns.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.settimeout(0.5)
                if s.connect_ex((CLIENT_IP, 2379)) == 0:
                    return
            finally:
                s.close()
            time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    @classmethod
    def kill_etcd(cls):
        pid = child_pid(cls.etcd, shutil.which("etcd"))
        if pid:
            os.kill(pid, signal.SIGKILL)
        cls.etcd.wait(10)
        cls.etcd = None

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes.values():
            n.stop()
        if cls.etcd is not None:
            cls.kill_etcd()
        for ns in (cls.client_ns, cls.bridge):
            if ns is not None:
                ns.delete()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def roles(self):
        """Each live node's role; a primary that may not write (fenced: cut
        off from etcd, it cannot know it was replaced) shows as "fenced"."""
        out = {}
        for n in self.nodes.values():
            if n.cp is None:
                continue
            st = n.status()
            role = st.get("role")
            out[n.name] = "fenced" if role == "primary" and st.get("may_write") != "yes" else role
        return out

    def wait_one_primary(self, timeout=15):
        deadline = time.monotonic() + timeout
        roles = {}
        while time.monotonic() < deadline:
            roles = self.roles()
            primaries = [k for k, v in roles.items() if v == "primary"]
            if len(primaries) == 1 and all(v in ("primary", "replica", "fenced")
                                           for v in roles.values()):
                return primaries[0]
            time.sleep(0.2)
        self.fail(f"no single primary: {roles}")

    def write_through_service(self, prefix, n):
        c = Resp(self.client_ns, SERVICE_IP)
        try:
            replies = c.pipeline([("SET", f"{prefix}{i}", f"v{i}") for i in range(n)])
            self.assertEqual(set(replies), {b"+OK"})
            return c.call("WAIT", len(self.nodes) - 1, 5000)
        finally:
            c.close()

    def first_write_after(self, t0, timeout=20):
        """Seconds from t0 to the first write the service address accepts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = Resp(self.client_ns, SERVICE_IP, timeout=0.5)
                try:
                    if c.call("SET", "probe", "1") == b"+OK":
                        return time.monotonic() - t0
                finally:
                    c.close()
            except OSError:
                pass
            time.sleep(0.05)
        self.fail("no write accepted after the failover")

    def test_1_one_primary_serves_the_address_and_the_others_replicate(self):
        primary = self.wait_one_primary()
        time.sleep(0.5)
        acked = self.write_through_service("k", 2000)
        self.assertEqual(acked, b":2", "both replicas acknowledge")
        st = self.nodes[primary].status()
        self.assertEqual(st["may_write"], "yes")
        self.assertIn("served here", st["service_address"])
        udp = F.McUdp(self.client_ns, SERVICE_IP, MC_PORT, CLIENT_IP)
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
        c = Resp(self.client_ns, SERVICE_IP)
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
            c = Resp(self.client_ns, SERVICE_IP)
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
        r = subprocess.run(["timeout", "30", FULMARCTL, "--socket", node.sock, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    def test_4_a_planned_switchover_loses_nothing(self):
        old = self.wait_one_primary()
        c = Resp(self.client_ns, SERVICE_IP)
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
        c = Resp(self.client_ns, SERVICE_IP)
        try:
            got = c.pipeline([("GET", f"p{i}") for i in range(2000)])
        finally:
            c.close()
        self.assertEqual([i for i, v in enumerate(got) if v != f"v{i}".encode()], [])
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
        self.assertEqual(self.write_through_service("y", 10), b":2")


def main():
    global DATAPLANE, CONTROLPLANE, FULMARCTL
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    DATAPLANE, CONTROLPLANE, FULMARCTL = sys.argv[1:4]
    why = F.preconditions()
    if not why and shutil.which("etcd") is None:
        why = "needs etcd (Debian's etcd-server)"
    if why:
        print(f"SKIP: {why}")
        return 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[4:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
