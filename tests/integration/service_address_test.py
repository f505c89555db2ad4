#!/usr/bin/python3
"""A service address moves between two appliances and a client keeps using it.

    service_address_test.py <fulmar-dataplane> <fulmar-controlplane> <fulmarctl> [Test ...]

Two appliances (a dataplane and its control plane each) and a client share
one L2 segment, a bridge in a namespace of the test's own; each appliance
runs in a namespace of its own ("its host"), where its port's kernel side
(the exception path) holds its address and its control plane listens:

    client ns (.2) --veth--+                       (bridge ns)
                           br0 --TAP-- dataplane A --kernel TAP-- ns A: .11, cp A
                           br0 --TAP-- dataplane B --kernel TAP-- ns B: .12, cp B

The service address (.100) is added on A with `fulmarctl address add`; the
client sets and gets through it over memcached UDP, memcached TCP and Redis
(A's keys). Then it is removed from A and added on B, and the same client,
with the same socket and without its neighbour cache flushed, reaches B
(B's keys) within ~1 s: B's gratuitous ARPs moved the client's cache entry
to B's MAC. TCP (a new connection) follows too, because the control plane
put the address on its kernel side. Bad ADDRESS input gets clear errors.

Everything lives in 198.18.140.0/24 inside namespaces the test creates (no
address in the host's namespace); names carry FULMAR_IT_TAG. Needs root and
hugepages (tools/fulmar setup); exits 77 (skipped) without.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = FULMARCTL = None
NET = "198.18.140"
CLIENT_IP = f"{NET}.2"
SERVICE_IP = f"{NET}.100"
APPLIANCES = {
    # name: (port address, port MAC, MAC of the TAP's bridge side)
    "A": (f"{NET}.11", "02:00:00:8c:00:0b", "02:00:00:8c:01:0b"),
    "B": (f"{NET}.12", "02:00:00:8c:00:0c", "02:00:00:8c:01:0c"),
}
MC_PORT = 11211
REDIS_PORT = 6379


class Appliance:
    """A dataplane and its control plane in a namespace of their own."""

    def __init__(self, name, workdir, bridge_ns):
        self.name = name
        self.ip, self.mac, self.bridge_mac = APPLIANCES[name]
        self.ns = F.Netns()
        self.ns.ip("ip", "link", "set", "lo", "up")
        self.cp = None
        self.dp = F.Dataplane(DATAPLANE, workdir, ip=self.ip, mac=self.mac, memory_mb=16,
                              kernel=True, netns=self.ns)
        if not self.dp.wait_ready():
            raise RuntimeError(f"dataplane {name} did not get ready:\n{self.dp.text()}")
        self.dp.find_pid(time.monotonic() + 5)
        # The data TAP's kernel end goes onto the bridge with a MAC of its
        # own (a bridge keeps its ports' MACs for itself: frames to the
        # port's MAC would stop there).
        self.ns.ip("ip", "link", "set", self.dp.iface, "netns", bridge_ns.name)
        bridge_ns.ip("ip", "link", "set", self.dp.iface, "address", self.bridge_mac)
        bridge_ns.ip("ip", "link", "set", self.dp.iface, "master", "br0")
        bridge_ns.ip("ip", "link", "set", self.dp.iface, "up")
        self.sock = os.path.join(workdir, f"admin-{name}.sock")
        self.cp = F.ControlPlane(CONTROLPLANE, self.dp, workdir, "\n".join([
            'listen = "0.0.0.0"',  # TCP follows the service address
            f'admin_socket = "{self.sock}"',
            "metrics_port = 0",
            "request_arena_mb = 8",
        ]), netns=self.ns)
        if not self.cp.wait_ready():
            raise RuntimeError(f"control plane {name} did not get ready:\n{self.cp.text()}\n"
                               f"{self.dp.text()}")

    def ctl(self, *args):
        """fulmarctl against this appliance: (exit status, stdout, stderr)."""
        r = subprocess.run(["timeout", "10", FULMARCTL, "--socket", self.sock, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=15)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    def kernel_addrs(self):
        out = self.ns.ip("ip", "-4", "-o", "addr", "show", "dev", self.dp.kernel_iface).stdout
        return [line.split()[3] for line in out.splitlines()]

    def stats(self):
        rc, out, err = self.ctl("--json", "stats")
        assert rc == 0, err
        return {k: int(v) if str(v).isdigit() else v for k, v in json.loads(out).items()}

    def stop(self):
        if self.cp is not None:
            self.cp.stop()
        self.dp.stop()
        self.dp.cleanup_files()
        self.ns.delete()


class TcpClient:
    """One TCP connection from the client namespace."""

    def __init__(self, ns, host, port, timeout=5):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((host, port))

    def call(self, data, done):
        """Sends `data`, reads until done(bytes so far)."""
        self.s.sendall(data)
        got = b""
        while not done(got):
            chunk = self.s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        self.s.close()


def mc_tcp(ns, host, request):
    c = TcpClient(ns, host, MC_PORT)
    try:
        return c.call(request, lambda got: got.endswith(b"END\r\n"))
    finally:
        c.close()


def resp(*args):
    return b"".join([f"*{len(args)}\r\n".encode()] +
                    [f"${len(a)}\r\n{a}\r\n".encode() for a in args])


def resp_complete(got):
    """Whether `got` holds one whole simple, error, integer or bulk reply."""
    line_end = got.find(b"\r\n")
    if line_end < 0:
        return False
    if got[:1] != b"$" or got.startswith(b"$-1"):
        return True
    return len(got) >= line_end + 2 + int(got[1:line_end]) + 2


def redis(ns, host, *args):
    c = TcpClient(ns, host, REDIS_PORT)
    try:
        return c.call(resp(*args), resp_complete)
    finally:
        c.close()


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ping(ns, host, timeout=2.0):
    """One ICMP echo from `ns` (a raw socket: no ping(8) needed); True when
    the reply comes from `host`."""
    s = ns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        ident, payload = os.getpid() & 0xffff, b"fulmar-service-address"
        head = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        s.sendto(struct.pack("!BBHHH", 8, 0, inet_checksum(head + payload), ident, 1) + payload,
                 (host, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(deadline - time.monotonic())
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                break
            icmp = data[(data[0] & 0xf) * 4:]
            if src[0] == host and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                return True
        return False
    finally:
        s.close()


class ServiceAddressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="fulmar-it-")
        cls.appliances = {}
        cls.bridge = cls.client_ns = cls.udp = None
        try:
            cls.bridge, cls.client_ns = F.make_segment(CLIENT_IP, "02:00:00:8c:00:02")
            for name in APPLIANCES:
                cls.appliances[name] = Appliance(name, cls.workdir, cls.bridge)
            cls.a, cls.b = cls.appliances["A"], cls.appliances["B"]
            # Each appliance's own keys, set through its own address.
            for app in (cls.a, cls.b):
                own = F.McUdp(cls.client_ns, app.ip, MC_PORT, CLIENT_IP)
                try:
                    if not F.wait_serving(own, 15):
                        raise RuntimeError(f"{app.name} does not answer on {app.ip}:\n"
                                           f"{app.dp.text()}")
                    for key in ("who", f"only_{app.name}"):
                        reply = own.request(f"set {key} 0 0 1\r\n{app.name}\r\n".encode())
                        assert reply == b"STORED\r\n", reply
                finally:
                    own.close()
                assert redis(cls.client_ns, app.ip, "SET", "rwho", app.name) == b"+OK\r\n"
            # The client of the test: one socket, to the service address.
            cls.udp = F.McUdp(cls.client_ns, SERVICE_IP, MC_PORT, CLIENT_IP)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.udp is not None:
            cls.udp.close()
        for app in cls.appliances.values():
            app.stop()
        for ns in (cls.client_ns, cls.bridge):
            if ns is not None:
                ns.delete()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def neighbour_mac(self):
        out = self.client_ns.ip("ip", "neigh", "show", SERVICE_IP, "dev", "vc").stdout.split()
        return out[out.index("lladdr") + 1] if "lladdr" in out else None

    def get_who(self, timeout):
        return self.udp.maybe(b"get who\r\n", timeout)

    def test_1_bad_input_gets_clear_errors(self):
        for args, message in [
            (("add", "198.18.140"), "'198.18.140' is not an IPv4 address (a.b.c.d)"),
            (("add", "224.0.0.1"), "224.0.0.1 is not a unicast host address"),
            (("add", self.a.ip), f"{self.a.ip} is the port's own address"),
            (("remove", SERVICE_IP), f"{SERVICE_IP} is not a service address"),
        ]:
            rc, out, err = self.a.ctl("address", *args)
            self.assertEqual(rc, 1, (args, out, err))
            self.assertEqual(err, f"fulmarctl: ERR {message}")
        rc, out, err = self.a.ctl("address", "list")
        self.assertEqual((rc, out), (0, ""))

    def test_2_the_address_moves_and_the_client_follows(self):
        a, b = self.a, self.b
        # Before: nobody answers for it.
        self.assertIsNone(self.get_who(0.5))

        self.assertEqual(a.ctl("address", "add", SERVICE_IP), (0, "OK", ""))
        self.assertEqual(a.ctl("address", "list")[1], SERVICE_IP)
        self.assertEqual(a.ctl("--json", "address", "list")[1], f'{{"list": ["{SERVICE_IP}"]}}')
        self.assertIn(f"{SERVICE_IP}/32", a.kernel_addrs())
        self.assertEqual(a.ctl("address", "add", SERVICE_IP)[2],
                         f"fulmarctl: ERR {SERVICE_IP} is already a service address")
        self.assertEqual(self.get_who(2.0), b"VALUE who 0 1\r\nA\r\nEND\r\n")
        self.assertEqual(self.udp.request(b"get only_A\r\n"),
                         b"VALUE only_A 0 1\r\nA\r\nEND\r\n")
        self.assertEqual(self.neighbour_mac(), a.mac)
        self.assertTrue(ping(self.client_ns, SERVICE_IP), "an echo reply from the address")
        # TCP: memcached text and Redis reach A's control plane there.
        self.assertEqual(mc_tcp(self.client_ns, SERVICE_IP, b"get who\r\n"),
                         b"VALUE who 0 1\r\nA\r\nEND\r\n")
        self.assertEqual(redis(self.client_ns, SERVICE_IP, "GET", "rwho"), b"$1\r\nA\r\n")
        self.assertGreaterEqual(a.stats()["gratuitous_arps"], 2)  # its own at start, then this

        # Failover: A lets go, B takes it. The client changes nothing.
        b_garps = b.stats()["gratuitous_arps"]
        t0 = time.monotonic()
        self.assertEqual(a.ctl("address", "remove", SERVICE_IP), (0, "OK", ""))
        self.assertEqual(b.ctl("address", "add", SERVICE_IP), (0, "OK", ""))
        reply = None
        while time.monotonic() - t0 < 5:
            reply = self.get_who(0.1)
            if reply == b"VALUE who 0 1\r\nB\r\nEND\r\n":
                break
        elapsed = time.monotonic() - t0
        print(f"\n  the client reached B {elapsed:.3f}s after the move began", file=sys.stderr)
        self.assertEqual(reply, b"VALUE who 0 1\r\nB\r\nEND\r\n", f"after {elapsed:.2f}s")
        self.assertLess(elapsed, 1.5, "the gratuitous ARP moves the client at once")
        self.assertEqual(self.neighbour_mac(), b.mac, "the client's cache entry moved to B")
        self.assertEqual(self.udp.request(b"get only_B only_A\r\n"),
                         b"VALUE only_B 0 1\r\nB\r\nEND\r\n")
        self.assertEqual(mc_tcp(self.client_ns, SERVICE_IP, b"get who\r\n"),
                         b"VALUE who 0 1\r\nB\r\nEND\r\n")
        self.assertEqual(redis(self.client_ns, SERVICE_IP, "GET", "rwho"), b"$1\r\nB\r\n")
        self.assertEqual(a.ctl("address", "list"), (0, "", ""))
        self.assertEqual(b.ctl("address", "list")[1], SERVICE_IP)
        self.assertNotIn(f"{SERVICE_IP}/32", a.kernel_addrs())
        self.assertIn(f"{SERVICE_IP}/32", b.kernel_addrs())
        self.assertIn(f"{a.ip}/24", a.kernel_addrs(), "the port's own address stays")
        # Three announcements, ~0.5 s apart.
        deadline = time.monotonic() + 3
        while b.stats()["gratuitous_arps"] < b_garps + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(b.stats()["gratuitous_arps"], b_garps + 3)
        # A still serves its own address.
        own = F.McUdp(self.client_ns, a.ip, MC_PORT, CLIENT_IP)
        try:
            self.assertEqual(own.request(b"get who\r\n"), b"VALUE who 0 1\r\nA\r\nEND\r\n")
        finally:
            own.close()


def main():
    global DATAPLANE, CONTROLPLANE, FULMARCTL
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE, CONTROLPLANE, FULMARCTL = (os.path.abspath(p) for p in sys.argv[1:4])
    why = F.preconditions()
    if why:
        print(f"SKIP: {why}")
        return 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[4:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
