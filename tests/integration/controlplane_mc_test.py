#!/usr/bin/python3
"""memcached over TCP through the control plane, on the appliance's address.

    controlplane_mc_test.py <fulmar-dataplane> <fulmar-controlplane> [c_api_tcp_test
                            [leaked_count]] [Test ...]

The dataplane runs with its kernel side holding the appliance's address in the
host's namespace (the exception path); fulmar-controlplane, a DPDK secondary,
listens there; clients in the test's namespace reach one address over UDP (the
dataplane) and TCP (the control plane), on the same keyspace:

    client ns 198.18.S.2 --TAP--> dataplane --kernel TAP--> 198.18.S.1:11211 (TCP)
                                  (UDP 11211 answered here)

Covers: the keyspace shared by both transports, pipelining and ordering
(a read after the connection's own writes), values of 1 MiB, multi-key gets
over two shards, backpressure (a tiny in-flight limit: nothing dropped), a
slow reader disconnected past its output limit, max_connections and
idle_timeout_s (LimitsTest, an appliance of its own), `kill -9` of the control plane
under UDP load (UDP goes on, page moves still complete, a new control plane
attaches and serves), and the control plane exiting when the dataplane dies.
Needs root and hugepages (tools/fulmar setup); exits 77 (skipped) without.
"""
import os
import base64
import random
import shutil
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

DATAPLANE = CONTROLPLANE = None
C_API_TCP_TEST = None  # libfulmar's TCP transport tests (cmocka), when given
LEAKED_COUNT = None  # tests/shm/leaked_count, when given
SUBNET = 100 + (os.getpid() + 77) % 150
DP_IP = f"198.18.{SUBNET}.1"
CLIENT_IP = f"198.18.{SUBNET}.2"
PORT = 11211


def cp_pid(cp):
    """fulmar-controlplane itself (the child of `timeout`)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{cp.proc.pid}/task/{cp.proc.pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("no fulmar-controlplane process under timeout")


class Tcp:
    """A memcached text connection from the client namespace."""

    def __init__(self, ns, timeout=10):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((DP_IP, PORT))
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def read_until(self, end):
        while not self.buf.endswith(end) and end not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"closed; have {self.buf[-200:]!r}")
            self.buf += chunk
        i = self.buf.index(end) + len(end)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def cmd(self, line, end=b"\r\n"):
        self.send(line)
        return self.read_until(end)

    def get(self, key):
        """The value of `key`, or None."""
        self.send(f"get {key}\r\n".encode())
        head = self.read_until(b"\r\n")
        if head == b"END\r\n":
            return None
        n = int(head.split()[3])
        value = self.read_exact(n + 2)[:-2]
        assert self.read_until(b"END\r\n") == b"END\r\n"
        return value


class ControlPlaneMcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir_section = None
        # Two workers, two shards (lcores 1 and 2 share CPU 1), small shards so
        # that values of swinging sizes move pages between classes.
        cls.fx = F.TapFixture(DATAPLANE, workers=(1, 2), tag="cmc", kernel=True, ip=DP_IP,
                              client_ip=CLIENT_IP, memory_mb=32)
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer over UDP; log:\n{log}")
        cls.sock_path = os.path.join(cls.fx.workdir, "admin.sock")
        cls.section = "\n".join([
            f'admin_socket = "{cls.sock_path}"',
            "metrics_port = 0",
            "request_arena_mb = 8",
            "max_inflight = 16",  # backpressure comes early
            "output_buffer_limit_mb = 1",
        ])
        cls.cp = cls.start_cp()

    @classmethod
    def start_cp(cls):
        cp = F.ControlPlane(CONTROLPLANE, cls.fx.dp, cls.fx.workdir, cls.section)
        if not cp.wait_ready():
            text = cp.text()
            cp.stop()
            cls.fx.teardown()
            raise AssertionError(f"the control plane did not get ready; log:\n{text}")
        return cp

    @classmethod
    def tearDownClass(cls):
        cls.cp.stop()
        cls.fx.teardown()

    def tcp(self):
        return Tcp(self.fx.ns)

    def key(self, tag):
        return f"{tag}{os.getpid()}_{random.randrange(1 << 30)}"

    def test_one_keyspace_over_udp_and_tcp(self):
        c = self.tcp()
        try:
            k1, k2 = self.key("a"), self.key("b")
            self.assertEqual(c.cmd(f"set {k1} 7 0 5\r\nhello\r\n".encode()), b"STORED\r\n")
            udp = self.fx.client.request(f"get {k1}\r\n".encode())
            self.assertEqual(udp, f"VALUE {k1} 7 5\r\nhello\r\nEND\r\n".encode())
            self.assertEqual(self.fx.client.request(f"set {k2} 0 0 3\r\nudp\r\n".encode()),
                             b"STORED\r\n")
            self.assertEqual(c.get(k2), b"udp")
            self.assertEqual(c.cmd(f"incr {k2} 1\r\n".encode()),
                             b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
            self.assertEqual(c.cmd(f"delete {k2}\r\n".encode()), b"DELETED\r\n")
            self.assertIsNone(c.get(k2))
            self.assertEqual(c.cmd(b"version\r\n")[:8], b"VERSION ")
            # Fulmar's `ring`: no cluster ring published here, over TCP (the
            # control plane) and UDP (the worker that got the datagram).
            self.assertEqual(c.cmd(b"ring\r\n", b"END\r\n"), b"RING 0\r\nEND\r\n")
            self.assertEqual(self.fx.client.request(b"ring\r\n"), b"RING 0\r\nEND\r\n")
            conns = c.cmd(b"stats conns\r\n", b"END\r\n").decode()
            self.assertIn(f":listen_addr tcp:{DP_IP}:{PORT}\r\n", conns)
            self.assertIn(f":addr tcp:{CLIENT_IP}:", conns)
            self.assertIn(":secs_since_last_cmd ", conns)
            general = c.cmd(b"stats\r\n", b"END\r\n").decode()
            self.assertIn("STAT curr_connections ", general)
        finally:
            c.close()

    def test_pipelined_writes_then_reads_in_order_over_both_shards(self):
        c = self.tcp()
        try:
            keys = [self.key("p") for _ in range(300)]
            batch = b"".join(f"set {k} {i} 0 {len(str(i))} noreply\r\n{i}\r\n".encode()
                             for i, k in enumerate(keys))
            batch += b"".join(f"incr {k} 1000\r\n".encode() for k in keys)
            batch += ("get " + " ".join(keys) + "\r\n").encode()
            c.send(batch)
            for i in range(len(keys)):
                self.assertEqual(c.read_until(b"\r\n"), f"{i + 1000}\r\n".encode())
            for i, k in enumerate(keys):  # one multi-get over both shards, in key order
                v = str(i + 1000).encode()
                self.assertEqual(c.read_until(b"\r\n"), f"VALUE {k} {i} {len(v)}\r\n".encode())
                self.assertEqual(c.read_exact(len(v) + 2), v + b"\r\n")
            self.assertEqual(c.read_until(b"\r\n"), b"END\r\n")
        finally:
            c.close()

    def test_flush_all_reaches_every_shard_and_mg_reads(self):
        c = self.tcp()
        try:
            keys = [self.key("f") for _ in range(40)]  # on both shards
            for k in keys:
                self.assertEqual(c.cmd(f"set {k} 3 0 1\r\nx\r\n".encode()), b"STORED\r\n")
            # mg: the first hit goes to the owner (h0, then fetched), the next
            # ones are read by the control plane; both say the same.
            k = keys[0]
            self.assertEqual(c.cmd(f"mg {k} v f h k\r\n".encode(), b"x\r\n"),
                             f"VA 1 f3 h0 k{k}\r\nx\r\n".encode())
            self.assertEqual(c.cmd(f"mg {k} v f h k\r\n".encode(), b"x\r\n"),
                             f"VA 1 f3 h1 k{k}\r\nx\r\n".encode())
            self.assertEqual(c.cmd(b"mg nothere_at_all v\r\n"), b"EN\r\n")
            self.assertEqual(c.cmd(b"flush_all\r\n"), b"OK\r\n")
            for k in keys:
                self.assertIsNone(c.get(k))
                self.assertEqual(self.fx.client.request(f"get {k}\r\n".encode()), b"END\r\n")
        finally:
            c.close()

    def test_values_of_one_mebibyte_and_the_limit(self):
        c = self.tcp()
        try:
            k = self.key("big")
            value = random.randbytes(1024 * 1024 - 512)
            self.assertEqual(c.cmd(f"set {k} 0 0 {len(value)}\r\n".encode() + value + b"\r\n"),
                             b"STORED\r\n")
            self.assertEqual(c.get(k), value)
            too_big = b"x" * (1024 * 1024 + 1)
            self.assertEqual(c.cmd(f"set {k} 0 0 {len(too_big)}\r\n".encode() + too_big + b"\r\n"),
                             b"SERVER_ERROR object too large for cache\r\n")
            self.assertIsNone(c.get(k), "memcached unlinks the key of a set too large")
        finally:
            c.close()

    def test_backpressure_drops_nothing(self):
        # 20,000 pipelined sets through a channel of 16 in flight: the
        # connection waits (its socket is not read), every set is answered.
        c = self.tcp()
        try:
            n = 20000
            tag = self.key("bp")
            payload = b"".join(f"set {tag}_{i} 0 0 8\r\n{i:08d}\r\n".encode() for i in range(n))
            sender = threading.Thread(target=c.send, args=(payload,))
            sender.start()
            got = 0
            while got < n:
                self.assertEqual(c.read_until(b"\r\n"), b"STORED\r\n")
                got += 1
            sender.join(30)
            self.assertEqual(c.get(f"{tag}_{n - 1}"), f"{n - 1:08d}".encode())
            waits = F.run("redis-cli", "-s", self.sock_path, "stats").stdout.split()
            self.assertGreater(int(waits[waits.index("tcp_backpressure_waits") + 1]), 0)
        finally:
            c.close()

    def test_slow_reader_is_disconnected(self):
        c = self.tcp()
        try:
            k = self.key("slow")
            value = b"v" * 500_000
            self.assertEqual(c.cmd(f"set {k} 0 0 {len(value)}\r\n".encode() + value + b"\r\n"),
                             b"STORED\r\n")
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # Asks for ~100 MB of replies and reads none: past 1 MiB queued
            # the control plane hangs up.
            closed = False
            try:
                for _ in range(200):
                    c.send(f"get {k}\r\n".encode())
            except OSError:
                closed = True
            deadline = time.monotonic() + 10
            while not closed and time.monotonic() < deadline:
                st = F.run("redis-cli", "-s", self.sock_path, "stats").stdout.split()
                if int(st[st.index("tcp_slow_reader_closed") + 1]) > 0:
                    closed = True
                time.sleep(0.1)
            self.assertTrue(closed, "the slow reader was not disconnected")
        finally:
            c.close()

    def test_libfulmar_over_tcp_against_the_appliance(self):
        if C_API_TCP_TEST is None:
            self.skipTest("no c_api_tcp_test given")
        r = F.run("ip", "netns", "exec", self.fx.ns.name, "env",
                  f"FULMAR_TEST_TCP_SERVERS={DP_IP}:{PORT}", C_API_TCP_TEST, check=False,
                  timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_z1_kill9_under_udp_load_then_restart(self):
        # UDP gets in a loop while the control plane is killed mid-TCP-load.
        k = self.key("udp")
        self.assertEqual(self.fx.client.request(f"set {k} 0 0 2\r\nok\r\n".encode()), b"STORED\r\n")
        stop = threading.Event()
        answered = []

        def udp_load():
            client = F.McUdp(self.fx.ns, DP_IP, F.MC_PORT, CLIENT_IP)
            try:
                while not stop.is_set():
                    r = client.maybe(f"get {k}\r\n".encode(), 0.5)
                    answered.append((time.monotonic(), r == f"VALUE {k} 0 2\r\nok\r\nEND\r\n".encode()))
            finally:
                client.close()

        def tcp_load():
            c = None
            try:
                c = self.tcp()
                while not stop.is_set():
                    c.get(k)
            except Exception:  # killed under us: expected
                pass
            finally:
                if c is not None:
                    c.close()

        threads = [threading.Thread(target=udp_load), threading.Thread(target=tcp_load)]
        for t in threads:
            t.start()
        time.sleep(1)
        killed_at = time.monotonic()
        os.kill(cp_pid(self.cp), signal.SIGKILL)
        self.cp.stop()
        # Page moves on the owners after the kill (values whose sizes swing
        # between classes in 32 MiB shards): they need the dead reader's RCU
        # id released, or the workers would hang here.
        for i in range(3000):
            size = random.choice((100, 400, 1000, 1300))
            self.fx.client.maybe(f"set m{i % 500} 0 0 {size}\r\n".encode() + b"m" * size + b"\r\n",
                                 0.5)
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join(10)
        after = [ok for t, ok in answered if t > killed_at + 0.2]
        self.assertGreater(len(after), 50, "UDP gets stopped when the control plane died")
        self.assertGreater(sum(after) / len(after), 0.95)
        self.assertIn("the control plane (pid", self.fx.dp.text())
        # A control plane may die between counting a request and sending it:
        # the next one must not wait for a reply that never comes.
        if LEAKED_COUNT is not None:
            r = F.run(LEAKED_COUNT, "--proc-type=secondary", "--no-pci", "--file-prefix",
                      self.fx.dp.prefix, "--log-level=lib.eal:error", "--lcores", "0@0",
                      timeout=30)
            self.assertIn("cp.inflight is", r.stdout)
        started = time.monotonic()
        # A new control plane attaches and serves TCP.
        type(self).cp = self.start_cp()
        self.assertLess(time.monotonic() - started, 4, "the new control plane waited too long")
        if LEAKED_COUNT is not None:
            self.assertIn("never reached an owner", self.cp.text())
        c = self.tcp()
        try:
            self.assertEqual(c.get(k), b"ok")
        finally:
            c.close()

    def test_z2_control_plane_exits_when_the_dataplane_dies(self):
        dp_pid = self.fx.dp.pid
        self.assertIsNotNone(dp_pid)
        os.kill(dp_pid, signal.SIGKILL)
        start = time.monotonic()
        try:
            rc = self.cp.proc.wait(10)
        except Exception:
            rc = None
        self.assertEqual(rc, 3, self.cp.text())
        self.assertLess(time.monotonic() - start, 3)
        self.assertIn("the dataplane", self.cp.text())


class TcpDifferentialTest(unittest.TestCase):
    """The differential cases of the UDP path (udp_tap_test.CASES), over TCP:
    each request with "mn" behind it, to the control plane and to Debian's
    memcached (TCP, in the same namespace); byte-equal replies (CAS masked)."""

    REF_PORT = 11312

    @classmethod
    def setUpClass(cls):
        import udp_tap_test as U  # the cases, shared with the UDP differential test
        cls.U = U
        cls.fx = F.TapFixture(DATAPLANE, workers=(1, 2), tag="cmd", kernel=True, ip=DP_IP,
                              client_ip=CLIENT_IP, memory_mb=32)
        cls.cp = None
        cls.ref = None
        try:
            if not cls.fx.wait_serving():
                raise AssertionError(f"the dataplane does not answer; log:\n{cls.fx.dp.text()}")
            section = "\n".join([
                f'admin_socket = "{os.path.join(cls.fx.workdir, "admin.sock")}"',
                "metrics_port = 0",
                "request_arena_mb = 4",
            ])
            cls.cp = F.ControlPlane(CONTROLPLANE, cls.fx.dp, cls.fx.workdir, section)
            if not cls.cp.wait_ready():
                raise AssertionError(f"no control plane; log:\n{cls.cp.text()}")
            cls.ref = subprocess.Popen(
                ["ip", "netns", "exec", cls.fx.ns.name, "timeout", "-k", "5", "600", "memcached",
                 "-u", "root", "-p", str(cls.REF_PORT), "-U", "0", "-l", CLIENT_IP, "-m", "64",
                 "-t", "1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while True:
                try:
                    s = cls.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.settimeout(1)
                    s.connect((CLIENT_IP, cls.REF_PORT))
                    s.close()
                    break
                except OSError:
                    s.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.ref is not None:
            cls.ref.terminate()
            cls.ref.wait(10)
        if cls.cp is not None:
            cls.cp.stop()
        cls.fx.teardown()

    def connect(self, host, port):
        c = Tcp.__new__(Tcp)
        c.s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.s.settimeout(10)
        c.s.connect((host, port))
        c.buf = b""
        return c

    @staticmethod
    def read_reply(c):
        """Up to "MN\\r\\n", or what came before 0.5 s of quiet (a request
        that swallows the mn behind it, e.g. a bad data chunk)."""
        c.s.settimeout(0.5)
        try:
            while not c.buf.endswith(b"MN\r\n"):
                chunk = c.s.recv(1 << 20)
                if not chunk:
                    break
                c.buf += chunk
        except TimeoutError:
            pass
        finally:
            c.s.settimeout(10)
        out, c.buf = c.buf, b""
        return out

    def run_case(self, name, steps):
        U = self.U
        k = U.key(name)
        b64 = base64.b64encode(k.encode()).decode()
        cas = {"f": "0", "m": "0"}
        conns = {"f": self.connect(DP_IP, PORT), "m": self.connect(CLIENT_IP, self.REF_PORT)}
        try:
            for step in steps:
                out = {}
                for side, c in conns.items():
                    payload = (step.replace("{k}", k).replace("{b64}", b64)
                               .replace("{cas}", cas[side]).encode())
                    c.send(payload + b"mn\r\n")
                    reply = self.read_reply(c)
                    cas[side] = U.last_cas(reply, cas[side])
                    out[side] = F.mask_cas(reply)
                self.assertEqual(out["f"], out["m"], f"case {name}, request {step!r}")
        finally:
            for c in conns.values():
                c.close()

    def test_cases(self):
        for name, steps in self.U.CASES.items():
            with self.subTest(case=name):
                self.run_case(name, steps)


class LimitsTest(unittest.TestCase):
    """max_connections and idle_timeout_s on an appliance of their own."""

    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE, tag="cml", kernel=True, ip=DP_IP, client_ip=CLIENT_IP,
                              memory_mb=16)
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer over UDP; log:\n{log}")
        section = "\n".join([
            f'admin_socket = "{os.path.join(cls.fx.workdir, "admin.sock")}"',
            "metrics_port = 0",
            "request_arena_mb = 4",
            "max_connections = 2",
            "idle_timeout_s = 2",
        ])
        cls.cp = F.ControlPlane(CONTROLPLANE, cls.fx.dp, cls.fx.workdir, section)
        if not cls.cp.wait_ready():
            text = cls.cp.text()
            cls.cp.stop()
            cls.fx.teardown()
            raise AssertionError(f"the control plane did not get ready; log:\n{text}")

    @classmethod
    def tearDownClass(cls):
        cls.cp.stop()
        cls.fx.teardown()

    def test_the_connection_past_the_limit_gets_memcacheds_error(self):
        # The other test's connections count until the control plane has
        # seen them close (their FINs cross the TAP and its loop): under load
        # that can take longer than that test's own wait. So the two allowed
        # connections are taken once both answer, within a deadline.
        deadline = time.monotonic() + 5
        while True:
            a, b = Tcp(self.fx.ns), Tcp(self.fx.ns)
            first, second = a.cmd(b"version\r\n"), b.cmd(b"version\r\n")
            if (first + second).count(b"VERSION ") == 2 or time.monotonic() > deadline:
                break
            a.close()
            b.close()
            time.sleep(0.2)
        try:
            self.assertEqual(first[:8], b"VERSION ")
            self.assertEqual(second[:8], b"VERSION ")
            c = Tcp(self.fx.ns)
            try:
                self.assertEqual(c.read_until(b"\r\n"), b"ERROR Too many open connections\r\n")
                self.assertEqual(c.s.recv(10), b"", "closed after the error")
            finally:
                c.close()
        finally:
            a.close()
            b.close()

    def test_idle_connections_are_closed_busy_ones_kept(self):
        time.sleep(0.5)  # the previous test's connections are gone
        idle, busy = Tcp(self.fx.ns), Tcp(self.fx.ns)
        try:
            deadline = time.monotonic() + 4.5
            while time.monotonic() < deadline:
                self.assertEqual(busy.cmd(b"version\r\n")[:8], b"VERSION ")
                time.sleep(0.3)
            idle.s.settimeout(3)
            self.assertEqual(idle.s.recv(10), b"", "the idle connection was not closed")
        finally:
            idle.close()
            busy.close()


def main():
    global DATAPLANE, CONTROLPLANE
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    global C_API_TCP_TEST
    DATAPLANE, CONTROLPLANE = (os.path.abspath(a) for a in sys.argv[1:3])
    rest = sys.argv[3:]
    global LEAKED_COUNT
    if rest and not rest[0].startswith("-") and os.path.isfile(rest[0]):
        C_API_TCP_TEST = os.path.abspath(rest.pop(0))
    if rest and not rest[0].startswith("-") and os.path.isfile(rest[0]):
        LEAKED_COUNT = os.path.abspath(rest.pop(0))
    why = F.preconditions()
    if why is None and shutil.which("redis-cli") is None:
        why = "no `redis-cli` (tools/fulmar setup)"
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
