#!/usr/bin/python3
"""One address for UDP and TCP: the exception path end to end.

    exception_path_test.py <path of fulmar-dataplane> [TestClass[.test] ...]

The dataplane runs with a data TAP, moved into a client namespace of the
test's own, and a kernel side (`[[ports]] kernel_device`, a second net_tap)
that stays in the host's namespace, where the dataplane gives it the port's
MAC and address (198.18.S.1/24, S picked from the pid so parallel runs do not
share a subnet). Small TCP and UDP servers bound to that address in the host's
namespace answer clients in the client namespace, through the dataplane:

    client ns: 198.18.S.2 --TAP--> dataplane --kernel TAP--> host: 198.18.S.1
                                   (memcached UDP answered here)

and memcached over UDP on the same address keeps working in the same run.
Needs root and hugepages (tools/fulmar setup); exits 77 (skipped) without.
"""
import os
import random
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = None  # set by main()
SUBNET = 100 + os.getpid() % 150
DP_IP = f"198.18.{SUBNET}.1"
CLIENT_IP = f"198.18.{SUBNET}.2"


class Server(threading.Thread):
    """A TCP echo server (or UDP, with udp=True) bound to `ip` in the host's
    namespace, on a port the kernel picks."""

    def __init__(self, ip, udp=False):
        super().__init__(daemon=True)
        self.udp = udp
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        if not udp:
            self.sock.listen(8)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                if self.udp:
                    data, peer = self.sock.recvfrom(65536)
                    self.sock.sendto(data, peer)
                    continue
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn):
        with conn:
            conn.settimeout(10)
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.join(5)
        self.sock.close()


class ExceptionPathTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE, tag="exc", kernel=True, ip=DP_IP, client_ip=CLIENT_IP)
        cls.kernel_iface = cls.fx.dp.kernel_iface
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer `mn` over UDP; log:\n{log}")

    @classmethod
    def tearDownClass(cls):
        fx = cls.fx
        fx.teardown()
        problems = []
        if fx.dp.alive():
            problems.append("dataplane still running")
        if fx.ns is not None and fx.ns.exists():
            problems.append(f"namespace {fx.ns.name} still there")
        for iface in (fx.dp.iface, cls.kernel_iface):
            if os.path.exists(f"/sys/class/net/{iface}"):
                problems.append(f"interface {iface} still there")
        if os.path.exists(os.path.join(F.DPDK_RUN_DIR, fx.dp.prefix)):
            problems.append("EAL runtime dir still there")
        if problems:
            raise AssertionError("teardown: " + "; ".join(problems))

    def stats(self):
        return self.fx.dp.telemetry("/fulmar/stats")

    def tcp_client(self, port):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((DP_IP, port))
        return s

    def test_kernel_side_has_the_ports_mac_and_address_in_the_host_namespace(self):
        with open(f"/sys/class/net/{self.kernel_iface}/address") as f:
            self.assertEqual(f.read().strip(), F.DP_MAC)
        with open(f"/sys/class/net/{self.kernel_iface}/flags") as f:
            self.assertTrue(int(f.read(), 16) & 0x1, "IFF_UP")
        r = F.run("ip", "-4", "-o", "addr", "show", "dev", self.kernel_iface)
        self.assertIn(f"inet {DP_IP}/24", r.stdout)
        with open(f"/proc/sys/net/ipv6/conf/{self.kernel_iface}/disable_ipv6") as f:
            self.assertEqual(f.read().strip(), "1")
        # The client sees one MAC for the address.
        self.fx.client.request(b"mn\r\n")
        r = self.fx.ns.ip("ip", "neigh", "show", DP_IP)
        self.assertIn(f"lladdr {F.DP_MAC}", r.stdout)

    def test_tcp_echo_and_udp_memcached_on_one_address(self):
        server = Server(DP_IP)
        try:
            with self.tcp_client(server.port) as c:
                for word in (b"hello", b"fulmar", b"x" * 1000):
                    c.sendall(word)
                    got = b""
                    while len(got) < len(word):
                        got += c.recv(65536)
                    self.assertEqual(got, word)
                # A window's worth and more: segments both ways, ACK clocking.
                blob = random.randbytes(256 * 1024)
                sender = threading.Thread(target=c.sendall, args=(blob,))
                sender.start()
                got = bytearray()
                while len(got) < len(blob):
                    chunk = c.recv(65536)
                    self.assertTrue(chunk, "connection closed early")
                    got += chunk
                sender.join(10)
                self.assertEqual(bytes(got), blob)
            # Memcached over UDP at the same address, same run.
            k = f"exc{os.getpid()}_{random.randrange(1 << 30)}"
            mc = self.fx.client
            self.assertEqual(mc.request(f"set {k} 0 0 3\r\ntcp\r\n".encode()), b"STORED\r\n")
            self.assertEqual(mc.request(f"get {k}\r\n".encode()),
                             f"VALUE {k} 0 3\r\ntcp\r\nEND\r\n".encode())
        finally:
            server.stop()

    def test_a_closed_tcp_port_is_refused_by_the_kernel(self):
        # Port 9 (discard) has no listener here: the kernel answers with RST.
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            with self.assertRaises(ConnectionRefusedError):
                s.connect((DP_IP, 9))
        finally:
            s.close()

    def test_udp_to_another_port_reaches_a_host_socket(self):
        server = Server(DP_IP, udp=True)
        s = self.fx.ns.socket()
        try:
            s.settimeout(3)
            s.bind((CLIENT_IP, 0))
            s.sendto(b"ping over udp", (DP_IP, server.port))
            data, src = s.recvfrom(2048)
            self.assertEqual(data, b"ping over udp")
            self.assertEqual(src, (DP_IP, server.port))
        finally:
            s.close()
            server.stop()

    def test_counters_show_both_directions(self):
        server = Server(DP_IP)
        try:
            with self.tcp_client(server.port) as c:
                c.sendall(b"count me")
                self.assertEqual(c.recv(100), b"count me")
        finally:
            server.stop()
        # The worker polls its kernel queue every 50 us; the counters are
        # read from shared memory, a little late at most.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            st = self.stats()
            if st["kernel_punted"] >= 3 and st["kernel_returned"] >= 3:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(st["kernel_punted"], 3, st)
        self.assertGreaterEqual(st["kernel_returned"], 3, st)
        self.assertEqual(st["kernel_dropped"], 0, st)
        self.assertEqual(st.get("drop_not_udp", 0), 0, "TCP is not a drop with a kernel side")


def main():
    global DATAPLANE
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE = os.path.abspath(sys.argv[1])
    why = F.preconditions()
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0], "-v", *sys.argv[2:]], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
