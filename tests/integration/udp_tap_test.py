#!/usr/bin/python3
"""End-to-end tests of fulmar-dataplane on a TAP port (design.md section 8).

    udp_tap_test.py <path of fulmar-dataplane> [TestClass[.test] ...]

Each test class starts its own fulmar-dataplane (wrapped in `timeout`, its own
EAL --file-prefix) on a net_tap port, moves the TAP's kernel side into a
network namespace of its own (198.18.0.2/24 there, IPv6 off) and talks to
198.18.0.1:11211 with kernel UDP sockets from inside that namespace. Needs
root and hugepages (tools/fulmar setup); exits 77 (meson: skipped) without.
"""
import base64
import os
import random
import socket
import struct
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import fulmar_it as F  # noqa: E402

DATAPLANE = None  # set by main()
VERBOSE = os.environ.get("FULMAR_IT_VERBOSE") == "1"  # print differential replies


def key(tag):
    return f"it{os.getpid()}_{tag}_{random.randrange(1 << 30)}"


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class TapCase(unittest.TestCase):
    """One dataplane + namespace per class."""

    WORKERS = (1,)
    CLIENT_MAC = F.CLIENT_MAC

    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE, workers=cls.WORKERS, client_mac=cls.CLIENT_MAC)
        cls.mc = cls.fx.client
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer `mn` over UDP; log:\n{log}")

    @classmethod
    def tearDownClass(cls):
        cls.fx.teardown()
        cls.check_teardown(cls.fx)

    @staticmethod
    def check_teardown(fx):
        # Nothing of ours may survive a test class.
        problems = []
        if fx.dp.alive():
            problems.append("dataplane still running")
        if fx.ns is not None and fx.ns.exists():
            problems.append(f"namespace {fx.ns.name} still there")
        if F.hugepage_files(fx.dp.prefix):
            problems.append(f"hugepage files {F.hugepage_files(fx.dp.prefix)}")
        if os.path.exists(os.path.join(F.DPDK_RUN_DIR, fx.dp.prefix)):
            problems.append("EAL runtime dir still there")
        if problems:
            raise AssertionError("teardown: " + "; ".join(problems))

    def stats(self):
        return self.fx.dp.telemetry("/fulmar/stats")

    def assertServing(self):
        k = key("alive")
        self.assertEqual(self.mc.request(f"set {k} 0 0 2\r\nok\r\n".encode()), b"STORED\r\n")
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()),
                         f"VALUE {k} 0 2\r\nok\r\nEND\r\n".encode())
        self.assertTrue(self.fx.dp.alive())


# ---- 1. basics --------------------------------------------------------------

class BasicTest(TapCase):
    """ARP, ICMP echo, classic commands, admin refusal, telemetry."""

    def test_arp_resolved(self):
        self.mc.request(b"mn\r\n")
        r = self.fx.ns.ip("ip", "neigh", "show", F.DP_IP)
        self.assertIn(f"lladdr {F.DP_MAC}", r.stdout)

    def test_icmp_echo(self):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        try:
            ident = random.randrange(1, 65536)
            for seq in range(1, 4):
                payload = os.urandom(56)
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
                csum = icmp_checksum(hdr + payload)
                s.sendto(struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload, (F.DP_IP, 0))
                deadline = time.monotonic() + 2
                got = None
                while time.monotonic() < deadline and got is None:
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    try:
                        pkt, src = s.recvfrom(2048)
                    except socket.timeout:
                        break
                    ihl = (pkt[0] & 0xF) * 4
                    icmp = pkt[ihl:]
                    t, c, _, i, q = struct.unpack("!BBHHH", icmp[:8])
                    if src[0] == F.DP_IP and t == 0 and i == ident and q == seq:
                        got = (pkt, icmp)
                self.assertIsNotNone(got, f"no echo reply to seq {seq}")
                pkt, icmp = got
                self.assertEqual(icmp[8:], payload)
                self.assertEqual(icmp[1], 0)
                self.assertEqual(icmp_checksum(icmp), 0, "ICMP checksum")
                self.assertEqual(icmp_checksum(pkt[:(pkt[0] & 0xF) * 4]), 0, "IP checksum")
                self.assertEqual(socket.inet_ntoa(pkt[12:16]), F.DP_IP)
                self.assertEqual(socket.inet_ntoa(pkt[16:20]), F.CLIENT_IP)
        finally:
            s.close()

    def test_set_get_delete_incr(self):
        k = key("basic")
        mc = self.mc
        self.assertEqual(mc.request(f"get {k}\r\n".encode()), b"END\r\n")
        self.assertEqual(mc.request(f"set {k} 42 0 5\r\nhello\r\n".encode()), b"STORED\r\n")
        self.assertEqual(mc.request(f"get {k}\r\n".encode()),
                         f"VALUE {k} 42 5\r\nhello\r\nEND\r\n".encode())
        self.assertEqual(mc.request(f"delete {k}\r\n".encode()), b"DELETED\r\n")
        self.assertEqual(mc.request(f"delete {k}\r\n".encode()), b"NOT_FOUND\r\n")
        self.assertEqual(mc.request(f"get {k}\r\n".encode()), b"END\r\n")
        self.assertEqual(mc.request(f"incr {k} 1\r\n".encode()), b"NOT_FOUND\r\n")
        self.assertEqual(mc.request(f"set {k} 0 0 2\r\n41\r\n".encode()), b"STORED\r\n")
        self.assertEqual(mc.request(f"incr {k} 1\r\n".encode()), b"42\r\n")
        self.assertEqual(mc.request(f"decr {k} 50\r\n".encode()), b"0\r\n")
        self.assertEqual(mc.request(f"get {k}\r\n".encode()),
                         f"VALUE {k} 0 2\r\n0 \r\nEND\r\n".encode())
        self.assertEqual(mc.request(f"mg {k} v\r\n".encode()), b"VA 2\r\n0 \r\n")
        # Several commands in one datagram: one reply, in order.
        self.assertEqual(
            mc.request(f"set {k} 0 0 1\r\nx\r\nget {k}\r\ndelete {k}\r\nmn\r\n".encode()),
            f"STORED\r\nVALUE {k} 0 1\r\nx\r\nEND\r\nDELETED\r\nMN\r\n".encode())

    def test_version_served(self):
        self.assertTrue(self.mc.request(b"version\r\n").startswith(b"VERSION 1.6.18"))

    def test_admin_refused(self):
        k = key("admin")
        self.assertEqual(self.mc.request(f"set {k} 0 0 1\r\nx\r\n".encode()), b"STORED\r\n")
        before = self.stats()["udp_refused_admin"]
        for cmd in (b"stats\r\n", b"stats items\r\n", b"flush_all\r\n", b"flush_all 0\r\n",
                    b"verbosity 1\r\n", b"get x\r\nstats\r\n"):
            self.assertIsNone(self.mc.maybe(cmd, 0.4), f"{cmd!r} answered over UDP")
        self.assertEqual(self.stats()["udp_refused_admin"] - before, 6)
        # flush_all did not run: the item is still there.
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()),
                         f"VALUE {k} 0 1\r\nx\r\nEND\r\n".encode())
        self.assertServing()

    def test_telemetry_counts(self):
        before = self.stats()
        for i in range(10):
            self.mc.request(f"get {key('t')}\r\n".encode())
        after = self.stats()
        self.assertGreaterEqual(after["udp_requests"] - before["udp_requests"], 10)
        self.assertGreaterEqual(after["get_misses"] - before["get_misses"], 10)
        shards = self.fx.dp.telemetry("/fulmar/shards")
        self.assertIn("shard0", shards)


# ---- 2. differential against memcached over UDP ------------------------------

# Each case: datagrams sent in order; "{k}" is a key fresh for the case (and
# the same for both servers), "{cas}" the last CAS unique that server showed.
# An `mn` is appended to every datagram so that the end of the reply is known
# (memcached answers each command of a datagram with frames of its own);
# RAW cases are sent as they are and may be answered with silence.
CASES = {
    "get-miss": ["get {k}\r\n", "gets {k}\r\n", "get {k} {k}2 {k}3\r\n"],
    "set-get": ["set {k} 5 0 3\r\nabc\r\n", "get {k}\r\n", "gets {k}\r\n", "get {k} {k}\r\n"],
    "multi-get": ["set {k}a 1 0 1\r\na\r\n", "set {k}c 3 0 3\r\nccc\r\n",
                  "get {k}a {k}b {k}c\r\n", "gets {k}a {k}b {k}c\r\n"],
    "empty-value": ["set {k} 0 0 0\r\n\r\n", "get {k}\r\n", "append {k} 0 0 0\r\n\r\n",
                    "get {k}\r\n"],
    "add": ["add {k} 0 0 1\r\n1\r\n", "add {k} 0 0 1\r\n2\r\n", "get {k}\r\n"],
    "replace": ["replace {k} 0 0 1\r\n1\r\n", "set {k} 0 0 1\r\n1\r\n",
                "replace {k} 7 0 2\r\n22\r\n", "get {k}\r\n"],
    "append-prepend": ["append {k} 0 0 1\r\nx\r\n", "prepend {k} 0 0 1\r\nx\r\n",
                       "set {k} 9 0 3\r\nmid\r\n", "append {k} 1 0 4\r\n-end\r\n",
                       "prepend {k} 2 0 6\r\nstart-\r\n", "get {k}\r\n"],
    "cas": ["cas {k} 0 0 1 1\r\nx\r\n", "set {k} 0 0 1\r\na\r\n", "gets {k}\r\n",
            "cas {k} 0 0 1 999999999\r\nb\r\n", "cas {k} 3 0 1 {cas}\r\nc\r\n", "gets {k}\r\n",
            "cas {k} 0 0 1 {cas}\r\nd\r\n", "cas {k} 0 0 1\r\nd\r\n", "get {k}\r\n"],
    "delete": ["delete {k}\r\n", "set {k} 0 0 1\r\nx\r\n", "delete {k}\r\n", "get {k}\r\n",
               "set {k} 0 0 1\r\nx\r\n", "delete {k} 0\r\n", "delete {k} 5\r\n",
               "delete {k} noreply\r\n", "get {k}\r\n"],
    "incr-decr": ["incr {k} 1\r\n", "decr {k} 1\r\n", "set {k} 3 0 2\r\n10\r\n",
                  "incr {k} 5\r\n", "decr {k} 20\r\n", "incr {k} 0\r\n", "get {k}\r\n",
                  "incr {k} 18446744073709551615\r\n", "get {k}\r\n"],
    "incr-wrap": ["set {k} 0 0 20\r\n18446744073709551615\r\n", "incr {k} 1\r\n",
                  "get {k}\r\n", "incr {k} 18446744073709551616\r\n", "decr {k} 5\r\n"],
    "incr-length": ["set {k} 0 0 3\r\n100\r\n", "decr {k} 1\r\n", "get {k}\r\n",
                    "set {k} 0 0 2\r\n99\r\n", "incr {k} 1\r\n", "get {k}\r\n"],
    "incr-non-numeric": ["set {k} 0 0 3\r\nabc\r\n", "incr {k} 1\r\n", "decr {k} 1\r\n",
                         "incr {k} abc\r\n", "incr {k} -1\r\n", "set {k} 0 0 2\r\n-1\r\n",
                         "incr {k} 1\r\n", "set {k} 0 0 3\r\n 12\r\n", "incr {k} 1\r\n"],
    "touch-gat": ["touch {k} 100\r\n", "gat 100 {k}\r\n", "set {k} 4 0 2\r\nhi\r\n",
                  "touch {k} 100\r\n", "get {k}\r\n", "gat 0 {k}\r\n", "gats 100 {k} {k}x\r\n",
                  "touch {k} abc\r\n", "gat abc {k}\r\n"],
    # A long key stops a gat where memcached meets it: the keys before it
    # are touched (and fetched: mg's h) all the same.
    "gat-long-key": ["set {k} 0 0 1\r\nx\r\n", "gat 1000 {k} " + "L" * 251 + "\r\n",
                     "mg {k} h t\r\n", "get {k} " + "L" * 251 + "\r\n", "mg {k} h\r\n"],
    "exptime": ["set {k} 0 -1 1\r\nx\r\n", "get {k}\r\n", "set {k} 0 1000 1\r\ny\r\n",
                "get {k}\r\n", "touch {k} -1\r\n", "get {k}\r\n"],
    "flags": ["set {k} 4294967295 0 1\r\nx\r\n", "get {k}\r\n",
              "set {k} 4294967296 0 1\r\nx\r\n", "get {k}\r\n", "set {k} -1 0 1\r\nx\r\n",
              "get {k}\r\n", "set {k} 0x10 0 1\r\nx\r\n", "get {k}\r\n"],
    "noreply": ["set {k} 0 0 1 noreply\r\na\r\n", "add {k} 0 0 1 noreply\r\nb\r\n",
                "replace {k} 0 0 1 noreply\r\nc\r\n", "append {k} 0 0 1 noreply\r\nd\r\n",
                "prepend {k} 0 0 1 noreply\r\ne\r\n", "get {k}\r\n",
                "set {k}n 0 0 1 noreply\r\n5\r\n", "incr {k}n 3 noreply\r\n",
                "decr {k}n 1 noreply\r\n", "touch {k}n 10 noreply\r\n", "get {k}n\r\n",
                "delete {k}n noreply\r\n", "get {k}n\r\n", "gets {k}\r\n",
                "cas {k} 0 0 1 {cas} noreply\r\nz\r\n", "get {k}\r\n"],
    "batch": ["set {k}1 0 0 1\r\n1\r\nset {k}2 0 0 1\r\n2\r\nget {k}1 {k}2\r\n"
              "delete {k}1\r\nincr {k}2 5\r\nget {k}1 {k}2\r\n"],
    "line-endings": ["set {k} 0 0 1\nx\r\n", "get {k}\n", "get {k} \r\n", "get  {k}\r\n"],
    "errors": ["bogus\r\n", "\r\n", "GET {k}\r\n", "get\r\n", "set {k} 0 0\r\n",
               "set {k} abc 0 1\r\nx\r\n", "set {k} 0 0 -1\r\n", "incr {k}\r\n",
               "touch {k}\r\n", "delete\r\n", "cas {k} 0 0 1 abc\r\nx\r\n",
               "get " + "a" * 251 + "\r\n", "set " + "a" * 251 + " 0 0 1\r\nx\r\n"],
    "bad-data-chunk": ["set {k} 0 0 3\r\nabcd\r\n", "set {k} 0 0 3\r\nab\r\n",
                       "get {k}\r\n"],
    # meta
    "meta-set-get": ["mg {k} v\r\n", "mg {k} v q\r\n", "ms {k} 3\r\nabc\r\n", "mg {k}\r\n",
                     "mg {k} v\r\n", "mg {k} s v f t\r\n", "mg {k} k v c O123\r\n",
                     "ms {k} 3 T0 F5 c\r\nxyz\r\n", "mg {k} v f k\r\n", "mg {k} h v\r\n",
                     "mg {k} q v\r\n", "mg {k} q\r\n"],
    "meta-set-modes": ["ms {k} 1 ME\r\na\r\n", "ms {k} 1 ME\r\nb\r\n", "ms {k} 1 MA\r\nc\r\n",
                       "ms {k} 1 MP\r\nd\r\n", "mg {k} v\r\n", "ms {k} 1 MR\r\ne\r\n",
                       "ms {k}z 1 MR\r\ne\r\n", "ms {k}z 1 MA\r\ne\r\n", "ms {k} 1 MS\r\nf\r\n",
                       "mg {k} v\r\n", "ms {k} 1 MX\r\ng\r\n", "ms {k} 1 q\r\nh\r\n",
                       "ms {k} 1 k O9 b\r\ni\r\n", "mg {k} v\r\n"],
    "meta-cas": ["ms {k} 1 c\r\na\r\n", "ms {k} 1 C999999999\r\nb\r\n",
                 "ms {k} 1 C{cas} c\r\nc\r\n", "mg {k} v c\r\n", "md {k} C1\r\n",
                 "md {k} C{cas}\r\n", "mg {k} v\r\n"],
    "meta-delete": ["md {k}\r\n", "md {k} q\r\n", "ms {k} 1\r\na\r\n", "md {k}\r\n",
                    "mg {k} v\r\n", "ms {k} 1\r\na\r\n", "md {k} q\r\n", "mg {k} v\r\n",
                    "ms {k} 1\r\na\r\n", "md {k} O5 k\r\n"],
    "meta-arithmetic": ["ma {k}\r\n", "ma {k} N0 J13 v\r\n", "ma {k} v\r\n", "ma {k} D5 v\r\n",
                        "ma {k} MD D100 v\r\n", "ma {k} MI D7 v t\r\n", "ma {k} q\r\n",
                        "mg {k} v\r\n", "ms {k} 1\r\nx\r\n", "ma {k} v\r\n",
                        "ma {k} Dabc\r\n", "ma {k} MX\r\n"],
    "meta-errors": ["mg\r\n", "ms {k}\r\n", "ms {k} abc\r\nx\r\n", "mg {k} !\r\n",
                    "ms {k} 2\r\nabc\r\n", "ma\r\n", "md\r\n", "mg " + "b" * 251 + " v\r\n"],
    "meta-base64": ["ms {b64} 2 b\r\nhi\r\n", "mg {b64} b v k\r\n", "mg {k} v\r\n",
                    "mg {b64} v\r\n", "mg !!! b v\r\n"],
}
# Sent as they are (no `mn`): both must be silent or answer the same. (Not
# here: a datagram that ends inside a data block. memcached keeps that state
# and eats the next datagram as the rest of the data; Fulmar treats each
# datagram as a connection of its own: test_cut_short_request.)
RAW_CASES = {
    "noreply-silent": ["set {k} 0 0 1 noreply\r\nx\r\n", "get {k}\r\n"],
    "quiet-silent": ["mg {k} q v\r\n", "ms {k} 1 q\r\nx\r\n", "mg {k} v\r\n"],
    "meta-noop": ["mn\r\n", "mn\r\nmn\r\n"],
    "line-without-newline": ["get {k}", "get {k}\r\n"],
}


def last_cas(reply, prev):
    if not reply:
        return prev
    cas = prev
    for line in reply.split(b"\r\n"):
        t = line.split(b" ")
        if t[0] == b"VALUE" and len(t) == 5:
            cas = t[4].decode()
        elif t[0] in (b"VA", b"HD", b"EN", b"NF", b"NS", b"EX"):
            for tok in t[1:]:
                if tok[:1] == b"c" and tok[1:].isdigit():
                    cas = tok[1:].decode()
    return cas


class DifferentialTest(TapCase):
    """The same datagrams to Fulmar (198.18.0.1) and to Debian's memcached
    listening on the client address inside the namespace: byte-equal
    replies (CAS uniques masked)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.ref = cls.fx.start_memcached()
        except BaseException:
            cls.fx.teardown()
            raise

    def run_case(self, name, steps, raw):
        k = key(name)
        b64 = base64.b64encode(k.encode()).decode()
        cas = {"f": "0", "m": "0"}
        for step in steps:
            out = {}
            for side, client in (("f", self.mc), ("m", self.ref)):
                payload = (step.replace("{k}", k).replace("{b64}", b64)
                           .replace("{cas}", cas[side]).encode())
                if raw:
                    reply, n = client.exchange(payload, sentinel=None, quiet=0.4)
                else:
                    reply, n = client.exchange(payload + b"mn\r\n")
                if side == "f" and reply is not None:
                    self.assertEqual(n, 1, f"{name}: Fulmar answers one datagram with one reply")
                cas[side] = last_cas(reply, cas[side])
                out[side] = F.mask_cas(reply)
            if VERBOSE:
                print(f"  {name}: {step!r} -> {out['f']!r}", file=sys.stderr)
            self.assertEqual(out["f"], out["m"], f"case {name}, request {step!r}")

    def test_cases(self):
        for name, steps in CASES.items():
            with self.subTest(case=name):
                self.run_case(name, steps, raw=False)

    def test_raw_cases(self):
        for name, steps in RAW_CASES.items():
            with self.subTest(case=name):
                self.run_case(name, steps, raw=True)

    def test_cut_short_request(self):
        k = key("cut")
        self.assertIsNone(self.mc.maybe(f"set {k} 0 0 10\r\nabc".encode(), 0.4))
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()), b"END\r\n")
        self.assertIsNone(self.mc.maybe(f"get {k}".encode(), 0.4))
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()), b"END\r\n")

    def test_admin_refused_but_memcached_answers(self):
        # Not a difference to hide: the dataplane refuses stats over UDP
        # (reflection guard) where memcached answers it.
        self.assertIsNone(self.mc.maybe(b"stats\r\n", 0.4))
        reply, _ = self.ref.exchange(b"stats\r\n", sentinel=b"END\r\n")
        self.assertTrue(reply.startswith(b"STAT pid "))
        self.assertServing()

    def big_value(self, client, k, value):
        """Stores `value` with appends of ~1000 bytes (a request is one
        datagram, and IP fragments are not reassembled by the dataplane)."""
        step = 1000
        self.assertEqual(client.request(f"set {k} 7 0 0\r\n\r\n".encode()), b"STORED\r\n")
        for i in range(0, len(value), step):
            chunk = value[i:i + step]
            self.assertEqual(
                client.request(f"append {k} 0 0 {len(chunk)}\r\n".encode() + chunk + b"\r\n"),
                b"STORED\r\n")

    def test_multi_datagram_reply(self):
        k = key("big")
        value = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20000))
        expect = f"VALUE {k} 7 20000\r\n".encode() + value + b"\r\nEND\r\n"
        for client in (self.mc, self.ref):
            self.big_value(client, k, value)
        # Fulmar: one reply in numbered datagrams of at most 1400 bytes.
        rid, reply, headers = self.mc.request_frames(f"get {k}\r\n".encode())
        self.assertEqual(reply, expect)
        total = (len(expect) + 1399) // 1400
        self.assertEqual(total, 15)
        self.assertEqual(sorted(h[0] for h in headers), list(range(total)))
        self.assertTrue(all(h[1] == total for h in headers), headers)
        self.assertTrue(all(h[2] == 0 for h in headers), headers)
        self.assertTrue(all(h[3] <= 1400 for h in headers), headers)
        self.assertEqual(sum(h[3] for h in headers), len(expect))
        ref, _ = self.ref.exchange(f"get {k}\r\n".encode(), sentinel=b"END\r\n")
        self.assertEqual(ref, expect)
        # gets and mg too, CAS masked.
        for req in (f"gets {k}\r\n", f"mg {k} v s f c\r\n"):
            f, _ = self.mc.exchange(req.encode() + b"mn\r\n")
            m, _ = self.ref.exchange(req.encode() + b"mn\r\n")
            self.assertEqual(F.mask_cas(f), F.mask_cas(m), req)

    def test_hundred_key_multiget(self):
        tag = key("mg")
        keys = [f"{tag[-8:]}{i:03}" for i in range(100)]
        for client in (self.mc, self.ref):
            for i in range(0, 100, 5):  # several sets in one datagram
                req = b"".join(f"set {k} {i} 0 100\r\n".encode() + k.encode() * 9 +
                               b"-" * (100 - 9 * len(k)) + b"\r\n" for k in keys[i:i + 5])
                rep = client.exchange(req + b"mn\r\n")[0]
                self.assertEqual(rep, b"STORED\r\n" * 5 + b"MN\r\n")
        line = ("get " + " ".join(keys) + " missing_one\r\n").encode()
        self.assertLess(len(line), 1400)
        rid, f, headers = self.mc.request_frames(line)
        self.assertGreater(len(headers), 1)
        m, _ = self.ref.exchange(line, sentinel=b"END\r\n")
        self.assertEqual(f, m)
        self.assertEqual(f.count(b"VALUE "), 100)
        gets = ("gets " + " ".join(keys) + "\r\n").encode()
        f, _ = self.mc.exchange(gets, sentinel=b"END\r\n")
        m, _ = self.ref.exchange(gets, sentinel=b"END\r\n")
        self.assertEqual(F.mask_cas(f), F.mask_cas(m))


# ---- 3. garbage ---------------------------------------------------------------

class GarbageTest(TapCase):
    """Datagrams that are not requests never stop the dataplane."""

    def test_garbage_then_get(self):
        before = self.stats()
        rng = random.Random(1234)
        s = self.mc
        sent = 0
        for n in range(8):  # shorter than a frame header, incl. empty
            s.send_raw(bytes(rng.randrange(256) for _ in range(n)))
            sent += 1
        # total != 1: memcached drops such requests, and so must Fulmar.
        rids = [s.send(b"get x\r\n", total=total) for total in (0, 2, 3, 65535)]
        sent += len(rids)
        for i, rid in enumerate(rids):
            self.assertEqual(s.collect(rid, 0.4 if i == 0 else 0.02), (None, []), rid)
        # The sequence number of a request is ignored (memcached too).
        rid = s.send(b"get x\r\n", seq=5, reserved=7)
        sent += 1
        self.assertEqual(s.collect(rid, 2)[0], b"END\r\n")
        for _ in range(300):  # random datagrams, random headers
            s.send_raw(bytes(rng.randrange(256) for _ in range(rng.randrange(8, 1400))))
            sent += 1
        for _ in range(100):  # valid header, random body
            s.send(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 1400))))
            sent += 1
        junk = [b"\0" * 1000, b"\r\n" * 600, b"\x80\x00\x00\x05" + b"\0" * 20,
                b"get " + b"k" * 1380, b"get " + b"k" * 1380 + b"\r\n",
                b"set k 0 0 999999999\r\n" + b"x" * 1000, b"a" * 1400,
                b"set k 0 0 5\r\nabc", b"mg k v" + b" v" * 600 + b"\r\n",
                b"get " + b"k " * 650 + b"\r\n", b"ms k 5000\r\n" + b"x" * 1000 + b"\r\n",
                b"ms k S2 T3\r\nxx\r\n", b"gat\r\n", b"gets\r\n", b"cas k\r\n",
                b"incr k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24\r\n"]
        for j in junk:
            s.send(j)
            sent += 1
        time.sleep(0.5)
        s.drain()
        self.assertTrue(self.fx.dp.alive())
        self.assertServing()
        after = self.stats()
        self.assertGreaterEqual(after["udp_short_frame"] - before["udp_short_frame"], 7)
        self.assertGreaterEqual(after["udp_multi_datagram"] - before["udp_multi_datagram"], 4)
        self.assertGreaterEqual(after["rx_packets"] - before["rx_packets"], sent)

    def test_too_large(self):
        # Over memcached's 1 MiB item limit: an error, the rest of the
        # datagram is dropped, the next one is served. (memcached over UDP
        # says nothing and swallows the next datagrams as the value.)
        k = key("large")
        for n in (1048576, 2000000, 999999999):
            self.assertEqual(
                self.mc.request(f"set {k} 0 0 {n}\r\nabc\r\nget {k}\r\n".encode()),
                b"SERVER_ERROR object too large for cache\r\n")
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()), b"END\r\n")
        self.assertServing()

    def test_fragments_dropped(self):
        # A request over the MTU leaves the kernel as IP fragments: the
        # dataplane drops fragments by design (memcached reassembles them).
        k = key("frag")
        big = f"set {k} 0 0 3000\r\n".encode() + b"f" * 3000 + b"\r\n"
        self.assertIsNone(self.mc.maybe(big, 0.5))
        self.assertEqual(self.mc.request(f"get {k}\r\n".encode()), b"END\r\n")
        self.assertServing()

    def test_other_ports_and_protocols(self):
        u = self.fx.ns.socket()
        try:
            for port in (11212, 53, 9):
                u.sendto(b"\0\1\0\0\0\1\0\0get x\r\n", (F.DP_IP, port))
            u.settimeout(0.3)
            with self.assertRaises(socket.timeout):
                u.recvfrom(2048)
        finally:
            u.close()
        self.assertServing()


# ---- 4. two workers ------------------------------------------------------------

class TwoWorkerTest(TapCase):
    """workers [1, 2]: writes handed to the owner, reads from any shard."""

    WORKERS = (1, 2)

    def test_round_trip_200_keys(self):
        tag = key("w2")
        keys = [f"{tag}_{i}" for i in range(200)]
        # Several client sockets: several flows, which the kernel's
        # multi-queue TAP may spread over both RX queues.
        clients = [F.McUdp(self.fx.ns, F.DP_IP, F.MC_PORT) for _ in range(4)]
        try:
            for i, k in enumerate(keys):
                c = clients[i % 4]
                v = f"v{i}-{k}"
                self.assertEqual(c.request(f"set {k} {i} 0 {len(v)}\r\n{v}\r\n".encode()),
                                 b"STORED\r\n", k)
            for i, k in enumerate(keys):
                c = clients[(i + 1) % 4]
                v = f"v{i}-{k}"
                self.assertEqual(c.request(f"get {k}\r\n".encode()),
                                 f"VALUE {k} {i} {len(v)}\r\n{v}\r\nEND\r\n".encode(), k)
                self.assertEqual(c.request(f"mg {k} v f\r\n".encode()),
                                 f"VA {len(v)} f{i}\r\n{v}\r\n".encode(), k)
            for i in range(0, 200, 40):  # multi-key reads across shards
                batch = keys[i:i + 40]
                reply = clients[0].request(("get " + " ".join(batch) + "\r\n").encode())
                self.assertEqual(reply.count(b"VALUE "), 40)
            for i, k in enumerate(keys[:50]):
                self.assertEqual(clients[i % 4].request(f"incr {k}x 1\r\n".encode()),
                                 b"NOT_FOUND\r\n")
                self.assertEqual(clients[i % 4].request(f"delete {k}\r\n".encode()),
                                 b"DELETED\r\n")
            self.assertEqual(clients[0].request(f"get {keys[0]} {keys[199]}\r\n".encode()),
                             f"VALUE {keys[199]} 199 {len(keys[199]) + 5}\r\n"
                             f"v199-{keys[199]}\r\nEND\r\n".encode())
        finally:
            for c in clients:
                c.close()
        st = self.stats()
        shards = self.fx.dp.telemetry("/fulmar/shards")
        items = [shards[f"shard{i}"]["items"] for i in range(2)]
        self.assertEqual(sum(items), 150, shards)
        self.assertTrue(all(n > 0 for n in items), f"keys on one shard only: {items}")
        self.assertGreater(st["handoff_out"], 0, st)
        self.assertEqual(st["handoff_out"], st["handoff_in"], st)
        self.assertEqual(st["handoff_ring_full"], 0, st)

    def test_span_refused(self):
        # Writes to keys of both shards in one datagram: an error, no write.
        tag = key("span")
        body = b"".join(f"set {tag}{i} 0 0 1\r\nx\r\n".encode() for i in range(16))
        self.assertEqual(self.mc.request(body),
                         b"SERVER_ERROR writes to keys of different shards in one datagram\r\n")
        reply = self.mc.request(("get " + " ".join(f"{tag}{i}" for i in range(16)) +
                                 "\r\n").encode())
        self.assertEqual(reply, b"END\r\n")

    def test_z_exit_summary(self):
        # Runs last (alphabetical): stops the dataplane and reads its summary.
        k = key("sum")
        self.assertEqual(self.mc.request(f"set {k} 0 0 1\r\nx\r\n".encode()), b"STORED\r\n")
        rc = self.fx.dp.stop()
        self.assertEqual(rc, 0, self.fx.dp.text())
        totals, shards = self.fx.dp.summary()
        self.assertEqual(len(shards), 2, self.fx.dp.text())
        self.assertGreater(totals.get("handoff_out", 0), 0, self.fx.dp.text())
        self.assertEqual(totals.get("handoff_out"), totals.get("handoff_in"))
        self.assertGreaterEqual(sum(s["items"] for s in shards), 1)


# ---- 5. shutdown under load ----------------------------------------------------

class ShutdownTest(TapCase):
    """SIGTERM while a client hammers gets and sets: a clean, quick exit."""

    def test_sigterm_under_load(self):
        stop = threading.Event()
        counts = {"sent": 0, "replies": 0}
        sock = self.fx.ns.socket()
        sock.bind((F.CLIENT_IP, 0))
        sock.setblocking(False)

        def hammer():
            rid, i = 0, 0
            while not stop.is_set():
                for _ in range(32):
                    rid = rid % 65535 + 1
                    i += 1
                    k = f"load{i % 500}"
                    body = (f"set {k} 0 0 5\r\nvalue\r\n" if i % 4 == 0 else f"get {k}\r\n")
                    try:
                        sock.sendto(struct.pack("!HHHH", rid, 0, 1, 0) + body.encode(),
                                    (F.DP_IP, F.MC_PORT))
                        counts["sent"] += 1
                    except (BlockingIOError, OSError):
                        pass
                try:
                    while True:
                        sock.recvfrom(65536)
                        counts["replies"] += 1
                except (BlockingIOError, OSError):
                    pass
                time.sleep(0.0005)

        t = threading.Thread(target=hammer, daemon=True)
        t.start()
        try:
            time.sleep(1.5)
            self.assertGreater(counts["replies"], 100, counts)
            self.assertTrue(self.fx.dp.alive())
            rc = self.fx.dp.stop(timeout=10)
            took = self.fx.dp.exit_seconds
        finally:
            stop.set()
            t.join(5)
            sock.close()
        log = self.fx.dp.text()
        self.assertEqual(rc, 0, log)
        self.assertLess(took, 5.0, f"exit took {took:.1f}s")
        self.assertIn("fulmar-dataplane: stopping", log)
        totals, shards = self.fx.dp.summary()
        self.assertGreater(totals.get("udp_requests", 0), 100, log)
        self.assertEqual(len(shards), 1)
        # The process releases its memory: what stays in /dev/hugepages is
        # the ethdev shared-data memzone DPDK 22.11 never frees (one page),
        # not the 64 MiB shard (32 pages) nor the mbuf pool.
        left = F.hugepage_files(self.fx.dp.prefix)
        self.assertLessEqual(len(left), 1, left)
        self.fx.teardown()
        self.check_teardown(self.fx)


# ---- a client with net_tap's default MAC ---------------------------------------

class TapSameMacTest(TapCase):
    """The kernel side keeps the MAC net_tap gives it, which is the port's
    own MAC (a launcher that does not change it; tools/fulmar up gives the
    client a MAC of its own since the exception path): the namespace's ARP
    requests then carry the dataplane's MAC as sender address."""

    CLIENT_MAC = None

    @classmethod
    def setUpClass(cls):
        # No wait for `mn` here: that is what the test checks.
        cls.fx = F.TapFixture(DATAPLANE, workers=cls.WORKERS, client_mac=cls.CLIENT_MAC)
        cls.mc = cls.fx.client

    def test_answers_with_default_tap_mac(self):
        # Fails while dataplane/net/classify.cc drops ARP requests whose
        # sender MAC is the port's own (meant for looped-back announcements):
        # on net_tap that is every request from the kernel side.
        r = self.fx.ns.ip("ip", "link", "show", self.fx.dp.iface)
        serving = self.fx.wait_serving(timeout=4)
        st = self.stats()
        self.assertTrue(serving, f"no reply to `mn` in 4 s; kernel iface: {r.stdout.strip()}; "
                        f"drop_arp_not_for_us={st['drop_arp_not_for_us']}")


def main():
    global DATAPLANE
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE = os.path.abspath(sys.argv[1])
    why = F.preconditions()
    if why:
        # CI provides root and hugepages: there a missing one is a failure.
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    if not os.access(DATAPLANE, os.X_OK):
        print(f"{DATAPLANE}: not an executable", file=sys.stderr)
        return 2
    prog = unittest.main(argv=[sys.argv[0], "-v", *sys.argv[2:]], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
