#!/usr/bin/python3
"""memcached UDP requests larger than the MTU: IP fragments, reassembled by the
kernel, served by the control plane.

    controlplane_udp_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

A client in the test's namespace sends one datagram larger than the TAP's
MTU; its kernel cuts it into IP fragments. The dataplane hands fragments of
allowed clients to its kernel side, the host's kernel reassembles them, and
fulmar-controlplane's UDP socket on the appliance's address serves the
request (writes at the owners) and replies in memcached's UDP frames, out
through the kernel side and the data port:

    client ns 198.18.S.2 --fragments--> dataplane --kernel TAP--> 198.18.S.1:11211
                                        (unfragmented datagrams answered here)

Covers: a 4 KiB and a 60 KiB set in one datagram each, read back over UDP
(the dataplane) and TCP (the control plane); a multi-get of one fragmented
datagram whose reply spans datagrams (numbering and 1400-byte pieces
checked); a get of a 20,000-byte value in one unfragmented datagram (the
dataplane cuts the reply); admin commands dropped over UDP; the counters on
both sides. Needs root and hugepages (tools/fulmar setup); exits 77 (skipped)
without.
"""
import os
import random
import shutil
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = None
# A subnet of its own: controlplane-mc takes 100..249, `tools/fulmar up` 0.
SUBNET = 60 + os.getpid() % 40
DP_IP = f"198.18.{SUBNET}.1"
CLIENT_IP = f"198.18.{SUBNET}.2"
PORT = F.MC_PORT
MTU_PAYLOAD = 1400  # memcached's UDP_MAX_PAYLOAD_SIZE


def redis_stats(sock_path):
    words = F.run("redis-cli", "-s", sock_path, "stats").stdout.split()
    return {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)
            if words[i + 1].isdigit()}


class Tcp:
    def __init__(self, ns):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect((DP_IP, PORT))
        self.buf = b""

    def close(self):
        self.s.close()

    def read_until(self, end):
        while end not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        i = self.buf.index(end) + len(end)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def get(self, key):
        self.s.sendall(f"get {key}\r\n".encode())
        out = b""
        while not out.endswith(b"END\r\n"):
            out += self.read_until(b"\r\n")
        return out


class ControlPlaneUdpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Two shards: writes of one datagram go to two owners.
        cls.fx = F.TapFixture(DATAPLANE, workers=(1, 2), tag="cuf", kernel=True, ip=DP_IP,
                              client_ip=CLIENT_IP, memory_mb=8)
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer over UDP; log:\n{log}")
        cls.sock_path = os.path.join(cls.fx.workdir, "admin.sock")
        cls.cp = F.ControlPlane(CONTROLPLANE, cls.fx.dp, cls.fx.workdir, "\n".join([
            f'admin_socket = "{cls.sock_path}"',
            "metrics_port = 0",
            "request_arena_mb = 8",
        ]))
        if not cls.cp.wait_ready():
            text = cls.cp.text()
            cls.cp.stop()
            cls.fx.teardown()
            raise AssertionError(f"the control plane did not get ready; log:\n{text}")
        cls.udp = F.McUdp(cls.fx.ns, DP_IP, PORT, CLIENT_IP)

    @classmethod
    def tearDownClass(cls):
        cls.udp.close()
        cls.cp.stop()
        cls.fx.teardown()

    def key(self, tag):
        return f"{tag}{os.getpid()}_{random.randrange(1 << 30)}"

    def check_frames(self, headers, length):
        """Reply datagrams numbered 0..n-1, total n, at most 1400 bytes each."""
        n = (length + MTU_PAYLOAD - 1) // MTU_PAYLOAD
        self.assertEqual(sorted(h[0] for h in headers), list(range(n)))
        self.assertTrue(all(h[1] == n and h[2] == 0 for h in headers), headers)
        self.assertTrue(all(h[3] <= MTU_PAYLOAD for h in headers), headers)

    def set_in_one_datagram(self, size):
        k = self.key(f"v{size}_")
        value = random.randbytes(size)
        request = f"set {k} 5 0 {len(value)}\r\n".encode() + value + b"\r\n"
        self.assertGreater(len(request), 1500, "must leave the client as fragments")
        self.assertEqual(self.udp.request(request, timeout=5), b"STORED\r\n")
        expected = f"VALUE {k} 5 {len(value)}\r\n".encode() + value + b"\r\nEND\r\n"
        # Read back over UDP: one small datagram, the dataplane answers it
        # and cuts the reply.
        _, reply, headers = self.udp.request_frames(f"get {k}\r\n".encode(), timeout=5)
        self.assertEqual(reply, expected)
        self.check_frames(headers, len(expected))
        # And over TCP (the control plane).
        c = Tcp(self.fx.ns)
        try:
            self.assertEqual(c.get(k), expected)
        finally:
            c.close()

    def test_a_4k_set_in_one_datagram(self):
        self.set_in_one_datagram(4096)

    def test_a_60k_set_in_one_datagram(self):
        self.set_in_one_datagram(60 * 1024)

    def test_a_fragmented_multi_get_gets_a_numbered_reply(self):
        keys = [self.key("m") + "_" + "k" * 40 for _ in range(80)]
        c = Tcp(self.fx.ns)
        try:
            for i, k in enumerate(keys):
                c.s.sendall(f"set {k} {i} 0 100\r\n".encode() + bytes([65 + i % 26]) * 100 +
                            b"\r\n")
                self.assertEqual(c.read_until(b"\r\n"), b"STORED\r\n")
        finally:
            c.close()
        request = ("get " + " ".join(keys) + "\r\n").encode()
        self.assertGreater(len(request), 1500)
        _, reply, headers = self.udp.request_frames(request, timeout=5)
        expected = b"".join(f"VALUE {k} {i} 100\r\n".encode() + bytes([65 + i % 26]) * 100 +
                            b"\r\n" for i, k in enumerate(keys)) + b"END\r\n"
        self.assertEqual(reply, expected)
        self.assertGreater(len(headers), 5)
        self.check_frames(headers, len(expected))

    def test_writes_to_both_shards_in_one_fragmented_datagram(self):
        keys = [self.key("w") for _ in range(8)]
        request = b"".join(f"set {k} 0 0 300\r\n".encode() + b"x" * 300 + b"\r\n" for k in keys)
        request += ("get " + " ".join(keys) + "\r\n").encode()
        reply = self.udp.request(request, timeout=5)
        expected = b"STORED\r\n" * len(keys) + b"".join(
            f"VALUE {k} 0 300\r\n".encode() + b"x" * 300 + b"\r\n" for k in keys) + b"END\r\n"
        self.assertEqual(reply, expected, "the get waits for the datagram's own writes")

    def test_an_unfragmented_get_of_20000_bytes_is_the_dataplanes(self):
        k = self.key("big")
        value = b"z" * 20000
        c = Tcp(self.fx.ns)
        try:
            c.s.sendall(f"set {k} 0 0 {len(value)}\r\n".encode() + value + b"\r\n")
            self.assertEqual(c.read_until(b"\r\n"), b"STORED\r\n")
        finally:
            c.close()
        before = redis_stats(self.sock_path).get("cp_udp_requests", 0)
        _, reply, headers = self.udp.request_frames(f"get {k}\r\n".encode(), timeout=5)
        expected = f"VALUE {k} 0 20000\r\n".encode() + value + b"\r\nEND\r\n"
        self.assertEqual(reply, expected)
        self.check_frames(headers, len(expected))
        self.assertEqual(redis_stats(self.sock_path)["cp_udp_requests"], before,
                         "an unfragmented datagram never reaches the control plane")

    def test_admin_commands_are_dropped_over_udp(self):
        before = redis_stats(self.sock_path)
        request = f"set {self.key('a')} 0 0 2000\r\n".encode() + b"a" * 2000 + b"\r\nstats\r\n"
        self.assertIsNone(self.udp.maybe(request, 1.0))
        after = redis_stats(self.sock_path)
        self.assertEqual(after["cp_udp_refused_admin"], before["cp_udp_refused_admin"] + 1)

    def test_z_counters_on_both_sides(self):
        k = self.key("c")
        value = b"c" * 3000
        self.assertEqual(self.udp.request(f"set {k} 0 0 3000\r\n".encode() + value + b"\r\n",
                                          timeout=5), b"STORED\r\n")
        deadline = time.monotonic() + 2
        while True:
            st = self.fx.dp.telemetry("/fulmar/stats")
            if st["kernel_fragments"] >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(st["kernel_fragments"], 3, st)
        self.assertEqual(st.get("drop_fragment", 0), 0, st)
        cp = redis_stats(self.sock_path)
        self.assertGreaterEqual(cp["cp_udp_requests"], 1, cp)
        self.assertGreater(cp["cp_udp_reply_datagrams"], 0, cp)
        self.assertEqual(cp["cp_udp_refused_client"], 0, cp)
        self.assertEqual(cp["cp_udp_timed_out"], 0, cp)


def main():
    global DATAPLANE, CONTROLPLANE
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    DATAPLANE, CONTROLPLANE = (os.path.abspath(a) for a in sys.argv[1:3])
    why = F.preconditions()
    if why is None and shutil.which("redis-cli") is None:
        why = "no `redis-cli` (tools/fulmar setup)"
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
