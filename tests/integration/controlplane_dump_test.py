#!/usr/bin/python3
"""DUMP / RESTORE / DEBUG RELOAD / DEBUG OBJECT against redis-server 7.0.15.

    controlplane_dump_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

An appliance of its own (two workers) as controlplane_resp_test.py starts
it, and a redis-server 7 on host loopback (stopped by its pid). Both ways:
every value Fulmar DUMPs restores in redis-server with the same content and
the encoding Fulmar had; every value redis-server DUMPs (each encoding of
strings, lists, sets and hashes it writes) restores in Fulmar with the same
content and the encoding redis-server gives the same payload when it
restores it. RESTORE's errors byte for byte; DEBUG RELOAD keeps values and
TTLs and re-encodes as Redis; DEBUG OBJECT's encoding and serializedlength
as redis-server's. Needs root and hugepages; exits 77 (skipped) without.
Names: tag "dmp", subnet 198.18.131.0/24 ($FULMAR_IT_TAG,
$FULMAR_IT_SUBNET).
"""
import os
import random
import socket
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp_it as R  # noqa: E402
from controlplane_resp_test import Raw  # noqa: E402

DATAPLANE = CONTROLPLANE = None
TAG = os.environ.get("FULMAR_IT_TAG", "dmp")
SUBNET = os.environ.get("FULMAR_IT_SUBNET", "198.18.131")
DP_IP = f"{SUBNET}.1"
CLIENT_IP = f"{SUBNET}.2"
REDIS_PORT = 6379


def parse(reply):
    """A RESP2 reply as Python values (bulk: bytes, array: list)."""
    def one(at):
        end = reply.index(b"\r\n", at)
        kind, head = reply[at:at + 1], reply[at + 1:end]
        if kind in (b"+", b"-"):
            return head, end + 2
        if kind == b":":
            return int(head), end + 2
        n = int(head)
        if kind == b"$":
            return (None, end + 2) if n < 0 else (reply[end + 2:end + 2 + n], end + 4 + n)
        items, at = [], end + 2
        for _ in range(max(n, 0)):
            v, at = one(at)
            items.append(v)
        return items, at
    return one(0)[0]


# What to build in a server, per case: the commands (before them, CONFIG SET
# pairs both servers take), how to read the value back as a comparable
# Python value.
def cases():
    rnd = random.Random(7)
    incompressible = bytes(rnd.randrange(256) for _ in range(3000))
    big_hash = ["hset", "K"]
    for i in range(300):
        big_hash += [f"field{i}", f"v{i}" * (i % 5)]
    many = ["rpush", "K"] + [f"e{i}" * (i % 9 + 1) for i in range(400)]
    return [
        ("int", [], [["set", "K", "12345"]], "get"),
        ("negative int", [], [["set", "K", "-2147483648"]], "get"),
        ("big int", [], [["set", "K", "123456789012345"]], "get"),
        ("embstr", [], [["set", "K", "hello"]], "get"),
        ("lzf", [], [["set", "K", "abc" * 500]], "get"),
        ("incompressible", [], [["set", "K", incompressible]], "get"),
        ("small list", [], [["rpush", "K", "a", "1", "-300", "70000", "9223372036854775807",
                             "9223372036854775808", "x" * 70, "y" * 5000]], "list"),
        ("list of nodes", [("list-max-listpack-size", "4")], [many], "list"),
        ("list of 8k nodes", [], [many], "list"),
        ("intset", [], [["sadd", "K", "1", "-5", "70000", "5000000000"]], "set"),
        ("set", [], [["sadd", "K", "a", "b", "1"]], "set"),
        ("large intset", [], [["sadd", "K"] + [str(i) for i in range(600)]], "set"),
        ("hash listpack", [], [["hset", "K", "f", "v", "n", "12", "long", "z" * 40]], "hash"),
        ("hash table", [], [big_hash], "hash"),
        ("hash long value", [], [["hset", "K", "f", "v" * 100]], "hash"),
    ]


class DumpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx, cls.cp = R.start_appliance(DATAPLANE, CONTROLPLANE, TAG, DP_IP, CLIENT_IP)
        cls.redis = None
        cls.redis_port = None
        cls.start_redis()

    @classmethod
    def tearDownClass(cls):
        R.stop_process(cls.redis)
        cls.cp.stop()
        cls.fx.teardown()

    @classmethod
    def start_redis(cls):
        if cls.redis is not None:
            return
        cls.redis, cls.redis_port = R.start_redis_server(cls.fx.workdir,
                                                         ["--enable-debug-command", "yes"])

    def fulmar(self):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((DP_IP, REDIS_PORT))
        return Raw(s)

    def theirs(self):
        return Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))

    def read(self, c, key, how):
        if how == "get":
            return parse(c.cmd("get", key))
        if how == "list":
            return parse(c.cmd("lrange", key, 0, -1))
        if how == "set":
            return sorted(parse(c.cmd("smembers", key)))
        flat = parse(c.cmd("hgetall", key))
        return dict(zip(flat[0::2], flat[1::2]))

    def configure(self, c, settings):
        for name, value in settings:
            self.assertEqual(c.cmd("config", "set", name, value), b"+OK\r\n")

    def reset(self, c):
        for name, value in [("list-max-listpack-size", "-2"), ("set-max-intset-entries", "512"),
                            ("hash-max-listpack-entries", "512"),
                            ("hash-max-listpack-value", "64")]:
            c.cmd("config", "set", name, value)

    def build(self, c, key, cmds):
        c.cmd("del", key)
        for cmd in cmds:
            reply = c.cmd(*[key if a == "K" else a for a in cmd])
            self.assertFalse(reply.startswith(b"-"), reply)

    def test_fulmar_payloads_restore_in_redis(self):
        ours, theirs = self.fulmar(), self.theirs()
        try:
            for name, settings, cmds, how in cases():
                with self.subTest(name):
                    self.reset(ours)
                    self.reset(theirs)
                    self.configure(ours, settings)
                    self.configure(theirs, settings)
                    key = f"from_fulmar_{name.replace(' ', '_')}"
                    self.build(ours, key, cmds)
                    payload = parse(ours.cmd("dump", key))
                    self.assertIsInstance(payload, bytes)
                    theirs.cmd("del", key)
                    self.assertEqual(theirs.cmd("restore", key, 0, payload), b"+OK\r\n")
                    self.assertEqual(self.read(theirs, key, how), self.read(ours, key, how))
                    self.assertEqual(theirs.cmd("object", "encoding", key),
                                     ours.cmd("object", "encoding", key))
        finally:
            self.reset(ours)
            self.reset(theirs)
            ours.close()
            theirs.close()

    def test_redis_payloads_restore_in_fulmar(self):
        ours, theirs = self.fulmar(), self.theirs()
        try:
            for name, settings, cmds, how in cases():
                for restore_settings in ([], [("hash-max-listpack-entries", "2"),
                                              ("set-max-intset-entries", "2")]):
                    with self.subTest(name, restore_settings=restore_settings):
                        self.reset(ours)
                        self.reset(theirs)
                        self.configure(theirs, settings)
                        key = f"from_redis_{name.replace(' ', '_')}"
                        self.build(theirs, key, cmds)
                        payload = parse(theirs.cmd("dump", key))
                        # Redis's own encoding for its payload once loaded
                        # under the settings RESTORE runs with.
                        self.configure(theirs, restore_settings)
                        self.configure(ours, restore_settings)
                        theirs.cmd("del", key + "2")
                        self.assertEqual(theirs.cmd("restore", key + "2", 0, payload), b"+OK\r\n")
                        ours.cmd("del", key)
                        self.assertEqual(ours.cmd("restore", key, 0, payload), b"+OK\r\n")
                        self.assertEqual(self.read(ours, key, how), self.read(theirs, key, how))
                        self.assertEqual(ours.cmd("object", "encoding", key),
                                         theirs.cmd("object", "encoding", key + "2"))
        finally:
            self.reset(ours)
            self.reset(theirs)
            ours.close()
            theirs.close()

    def test_plain_nodes_both_ways(self):
        ours, theirs = self.fulmar(), self.theirs()
        try:
            for c in (ours, theirs):
                self.assertEqual(c.cmd("debug", "quicklist-packed-threshold", "1b"), b"+OK\r\n")
                c.cmd("del", "plain")
                c.cmd("rpush", "plain", "xxxxxxxxxx", "bb", "9")
            for src, dst in ((ours, theirs), (theirs, ours)):
                payload = parse(src.cmd("dump", "plain"))
                self.assertEqual(dst.cmd("restore", "plain2", 0, payload, "replace"),
                                 b"+OK\r\n")
                self.assertEqual(dst.cmd("lrange", "plain2", 0, -1),
                                 src.cmd("lrange", "plain", 0, -1))
        finally:
            for c in (ours, theirs):
                c.cmd("debug", "quicklist-packed-threshold", "0")
                c.close()

    def test_restore_errors_as_redis(self):
        ours, theirs = self.fulmar(), self.theirs()
        try:
            for c in (ours, theirs):
                c.cmd("set", "busy", "v")
            good = parse(theirs.cmd("dump", "busy"))
            body = good[:-10]
            # A list node in no container Redis knows (3). (A string shorter
            # than its length is refused here but not by Redis, which reads
            # on into the payload's trailer: docs/resp-progress.md.)
            junk = b"\x12\x01\x03\x01a" + good[-10:-8]
            bad_crc = good[:-1] + bytes([good[-1] ^ 1])
            requests = [
                ("restore", "busy", 0, good),
                ("restore", "busy", -1, good),
                ("restore", "new", -1, good),
                ("restore", "new", "x", good),
                ("restore", "new", 0, good, "bogus"),
                ("restore", "new", 0, good, "idletime", -1),
                ("restore", "new", 0, good, "idletime", "x"),
                ("restore", "new", 0, good, "freq", 256),
                ("restore", "new", 0, good, "freq", 1, "idletime", 1),
                ("restore", "new", 0, bad_crc),
                ("restore", "new", 0, b"short"),
                ("restore", "new", 0, junk + crc_of(junk)),
                ("restore", "new", 0, body + b"\x0b\x00" + crc_of(body + b"\x0b\x00")),
                ("restore", "new"),
                ("dump", "missing"),
                ("restore", "new", 0, good, "replace", "absttl", "idletime", 10),
                ("exists", "new"),
                ("restore", "new", 1, good, "absttl", "replace"),
                ("exists", "new"),
            ]
            for r in requests:
                with self.subTest(r[:3]):
                    self.assertEqual(ours.cmd(*r), theirs.cmd(*r))
        finally:
            ours.close()
            theirs.close()

    def test_reload_and_debug_object_as_redis(self):
        ours, theirs = self.fulmar(), self.theirs()
        try:
            for c in (ours, theirs):
                c.cmd("config", "set", "set-max-intset-entries", "4")
                c.cmd("del", "s", "l", "h", "n")
                c.cmd("sadd", "s", 1, 2, 3, 4, 5)
                c.cmd("srem", "s", 5)
                c.cmd("rpush", "l", *[f"item{i}" for i in range(50)])
                c.cmd("pexpire", "l", 100000)
                c.cmd("hset", "h", "f", "v")
                c.cmd("set", "n", "20000")
            for key in ("s", "l", "h", "n"):
                self.assertEqual(ours.cmd("object", "encoding", key),
                                 theirs.cmd("object", "encoding", key))
            for c in (ours, theirs):
                self.assertEqual(c.cmd("debug", "reload"), b"+OK\r\n")
            for key in ("s", "l", "h", "n"):
                with self.subTest(key):
                    self.assertEqual(ours.cmd("object", "encoding", key),
                                     theirs.cmd("object", "encoding", key))
                    ob = parse(ours.cmd("debug", "object", key)).split()
                    tb = parse(theirs.cmd("debug", "object", key)).split()
                    # Encoding and serializedlength alike; the address,
                    # LRU clock and list node bytes are each server's own.
                    self.assertEqual(ob[2:4], tb[2:4])
            self.assertEqual(ours.cmd("smembers", "s"), b"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
                                                       b"$1\r\n4\r\n")
            self.assertEqual(ours.cmd("lrange", "l", 0, -1), theirs.cmd("lrange", "l", 0, -1))
            ttl = parse(ours.cmd("pttl", "l"))
            self.assertTrue(90000 < ttl <= 100000, ttl)
            self.assertEqual(ours.cmd("debug", "object", "nope"), theirs.cmd("debug", "object",
                                                                              "nope"))
        finally:
            for c in (ours, theirs):
                c.cmd("config", "set", "set-max-intset-entries", "512")
                c.close()

    def test_sanitize_dump_payload_is_always_yes(self):
        ours = self.fulmar()
        try:
            self.assertEqual(ours.cmd("config", "get", "sanitize-dump-payload"),
                             b"*2\r\n$21\r\nsanitize-dump-payload\r\n$3\r\nyes\r\n")
            self.assertEqual(ours.cmd("config", "set", "sanitize-dump-payload", "yes"),
                             b"+OK\r\n")
            self.assertTrue(ours.cmd("config", "set", "sanitize-dump-payload", "no")
                            .startswith(b"-ERR CONFIG SET failed"))
        finally:
            ours.close()


def crc_of(data):
    """Redis's CRC-64/Jones trailer of `data`, computed bit by bit here (an
    independent check of the C++ one)."""
    poly = int("{:064b}".format(0xad93d23594c935a9)[::-1], 2)
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc.to_bytes(8, "little")


def main():
    return R.main(__doc__, globals())


if __name__ == "__main__":
    sys.exit(main())
