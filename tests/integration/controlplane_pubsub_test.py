#!/usr/bin/python3
"""Redis pub/sub through the control plane.

    controlplane_pubsub_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

An appliance of its own (two workers) with the exception path, its control
plane listening for Redis on REDIS_PORT with small pubsub output limits
(so a slow subscriber is cut quickly); clients in the test's namespace:

    client ns 198.18.122.2 --TAP--> dataplane --kernel TAP--> 198.18.122.1:6379

Covers: differential tests (the same pub/sub script on three connections
against the appliance and a redis-server 7 started here on host loopback,
stopped by its pid; every connection's bytes compared after each step, with
a PING on each as the barrier; then keyspace notifications of writes, both
servers with notify-keyspace-events AKEn); redis-cli's SUBSCRIBE and Debian's Python
`redis` client's pubsub() unchanged; a closed connection leaving its
channels; slow subscribers cut at the hard and at the soft limit while a
fast one receives every message and the publisher never waits.
Needs root and hugepages; exits 77 (skipped) without.
Names: tag "pbs", subnet 198.18.122.0/24, sockets in a temporary directory.
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp_it as R  # noqa: E402
from controlplane_resp_test import Raw as Raw2  # noqa: E402

DATAPLANE = CONTROLPLANE = None
TAG = "pbs"
DP_IP = "198.18.122.1"
CLIENT_IP = "198.18.122.2"
REDIS_PORT = 6379
PY = "/usr/bin/python3"
# The appliance's pubsub limits (MiB, s): small, so the tests are quick.
HARD_MB, SOFT_MB, SOFT_S = 16, 2, 1
# Idle clients are closed past this; subscribers are not (as in Redis).
IDLE_S = 5


def read_reply(sock, buf):
    """One whole RESP2 or RESP3 reply from `sock`: (its bytes, what is left)."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError(f"closed; have {buf[:200]!r}")
            buf += chunk

    def line(at):
        while b"\r\n" not in buf[at:]:
            need(len(buf) + 1)
        return buf.index(b"\r\n", at) + 2

    def one(at):
        need(at + 1)
        end = line(at)
        kind, head = buf[at:at + 1], buf[at + 1:end - 2]
        if kind in b"+-:_,#(":
            return end
        n = int(head)
        if kind in (b"$", b"=", b"!"):
            if n < 0:
                return end
            need(end + n + 2)
            return end + n + 2
        if kind in (b"*", b">", b"~", b"%", b"|"):
            for _ in range(max(n, 0) * (2 if kind in (b"%", b"|") else 1)):
                end = one(end)
            return end
        raise AssertionError(f"not RESP: {buf[at:at + 50]!r}")

    end = one(0)
    return buf[:end], buf[end:]


class Raw(Raw2):
    """controlplane_resp_test's raw connection, reading RESP3 too."""

    def cmd(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts += [f"${len(a)}\r\n".encode(), a, b"\r\n"]
        self.s.sendall(b"".join(parts))
        reply, self.buf = read_reply(self.s, self.buf)
        return reply

    def raw(self, data):
        self.s.sendall(data)
        reply, self.buf = read_reply(self.s, self.buf)
        return reply


def enc(*args):
    parts = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts += [f"${len(a)}\r\n".encode(), a, b"\r\n"]
    return b"".join(parts)


def split_replies(data):
    """The whole replies in `data` (every one of them complete)."""
    out = []

    class Buf:
        def recv(self, n):
            raise AssertionError(f"incomplete reply in {data[:200]!r}")

    while data:
        one, data = read_reply(Buf(), data)
        out.append(one)
    return out


# The barrier: a PING with a word no step uses, answered in either mode.
BARRIER = "__barrier__"
PONGS = (b"$11\r\n__barrier__\r\n", b"*2\r\n$4\r\npong\r\n$11\r\n__barrier__\r\n")

# The script: (connection, command, any order). Any order: the step's
# replies come in dict order in Redis (UNSUBSCRIBE with no channel, PUBSUB
# CHANNELS, the pmessages of several matching patterns), compared as sets.
SCRIPT = [
    ("a", ["unsubscribe"], False),
    ("a", ["punsubscribe"], False),
    ("a", ["sunsubscribe"], False),
    ("a", ["subscribe"], False),
    ("a", ["subscribe", "news", "sport", "news"], False),
    ("b", ["psubscribe", "n*", "ne[wx]s", "x\\*y", "[^s]*"], False),
    ("c", ["publish", "news", "hello"], True),
    ("c", ["publish", "sport", "goal"], False),
    ("c", ["publish", "x*y", "star"], True),
    ("c", ["publish", "xay", "not the escaped star"], False),
    ("c", ["publish", "nobody", ""], True),
    ("c", ["publish", "news"], False),
    ("a", ["echo", "x"], False),
    ("a", ["get", "k"], False),
    ("a", ["set", "k", "v"], False),
    ("a", ["ping"], False),
    ("a", ["ping", "hi"], False),
    ("a", ["ping", "a", "b"], False),
    ("a", ["pubsub", "numpat"], False),
    ("a", ["pubsub", "channels", "a", "b"], False),
    ("a", ["pubsub", "nosuch"], False),
    ("a", ["pubsub", "numpat", "x"], False),
    ("a", ["nosuchcommand", "x"], False),
    ("c", ["pubsub", "channels"], True),
    ("c", ["pubsub", "channels", "n*"], True),
    ("c", ["pubsub", "channels", "zzz"], False),
    ("c", ["pubsub", "numsub", "news", "sport", "zz"], False),
    ("c", ["pubsub", "numsub"], False),
    ("c", ["pubsub", "numpat"], False),
    ("c", ["pubsub", "help"], False),
    ("c", ["pubsub", "help", "x"], False),
    ("c", ["pubsub"], False),
    ("c", ["PUBSUB", "FOO", "x"], False),
    ("c", ["pubsub", "shardchannels", "a", "b"], False),
    ("a", ["ssubscribe", "s1", "s2"], False),
    ("b", ["ssubscribe", "news"], False),
    ("c", ["spublish", "news", "shard only"], False),
    ("c", ["spublish", "s1", "m"], False),
    ("c", ["publish", "s1", "plain"], False),
    ("c", ["pubsub", "shardchannels"], True),
    ("c", ["pubsub", "shardchannels", "s*"], True),
    ("c", ["pubsub", "shardnumsub", "s1", "news", "q"], False),
    ("c", ["pubsub", "shardnumsub"], False),
    ("a", ["unsubscribe", "news", "nope"], False),
    ("a", ["unsubscribe"], False),
    ("a", ["ping"], False),
    ("a", ["sunsubscribe", "s1"], False),
    ("a", ["sunsubscribe"], False),
    ("a", ["ping"], False),
    ("a", ["echo", "free again"], False),
    ("b", ["punsubscribe", "n*"], False),
    ("b", ["punsubscribe"], True),
    ("b", ["ping"], False),
    ("b", ["sunsubscribe", "news", "other"], False),
    ("b", ["ping"], False),
    ("c", ["publish", "news", "nobody left"], False),
    ("c", ["pubsub", "numpat"], False),
    ("c", ["subscribe", "c1"], False),
    ("c", ["psubscribe", "c*"], False),
    ("c", ["unsubscribe", "c1"], False),
    ("c", ["get", "k"], False),
    ("c", ["punsubscribe", "c*", "d*"], False),
    ("c", ["spublish", "x"], False),
    ("c", ["subscribe", "bin\x00ary", "ünï"], False),
    ("a", ["publish", "bin\x00ary", "m\r\nx"], False),
    ("c", ["unsubscribe", "bin\x00ary", "ünï"], False),
]


# RESP3 (HELLO 3, whose reply names the server: not compared): pushes, no
# subscribed mode; RESET back to RESP2, every subscription gone.
RESP3_SCRIPT = [
    ("a", ["hello", "3"], "skip"),
    ("a", ["unsubscribe"], False),
    ("a", ["subscribe", "r3", "r3b"], False),
    ("a", ["psubscribe", "r*"], False),
    ("b", ["publish", "r3", "hi"], True),
    ("a", ["publish", "r3b", "to myself"], True),
    ("a", ["set", "r3.k", "v"], False),
    ("a", ["get", "r3.k"], False),
    ("a", ["ping"], False),
    ("a", ["pubsub", "numsub", "r3"], False),
    ("a", ["ssubscribe", "s3"], False),
    ("b", ["spublish", "s3", "sm"], False),
    ("a", ["unsubscribe", "r3"], False),
    ("a", ["punsubscribe", "r*", "nope"], False),
    ("a", ["reset"], False),
    ("b", ["pubsub", "numsub", "r3b"], False),
    ("b", ["pubsub", "shardnumsub", "s3"], False),
    ("b", ["pubsub", "numpat"], False),
    ("a", ["ping"], False),
    ("a", ["subscribe", "after.reset"], False),
    ("a", ["get", "r3.k"], False),
    ("a", ["reset"], False),
    ("a", ["del", "r3.k"], False),
]

NOTIFY = "AKEn"

# CONFIG GET/SET notify-keyspace-events, the next writes following it; the
# flags are back to NOTIFY at the end.
CONFIG_SCRIPT = [
    ("a", ["psubscribe", "__key*"], False),
    ("c", ["config", "get", "notify-keyspace-events"], False),
    ("c", ["config", "set", "notify-keyspace-events", "KQ"], False),
    ("c", ["config", "set", "notify-keyspace-events", "Kx$"], False),
    ("c", ["config", "get", "notify-keyspace-events"], False),
    ("c", ["set", "cf.k", "v"], False),
    ("c", ["config", "set", "notify-keyspace-events", ""], False),
    ("c", ["set", "cf.k", "w"], False),
    ("c", ["config", "set", "notify-keyspace-events", "gE"], False),
    ("c", ["del", "cf.k"], False),
    ("c", ["config", "set", "notify-keyspace-events", NOTIFY], False),
    ("c", ["config", "get", "notify-keyspace-events"], False),
]

# Keyspace notifications (both servers run with notify-keyspace-events
# NOTIFY): 'a' listens to every keyspace and keyevent channel while 'c'
# writes. Multi-key writes are cut per key across the owners here, so their
# events are compared in any order.
NOTIFY_SCRIPT = [
    ("a", ["psubscribe", "__key*__:*"], False),
    ("b", ["subscribe", "__keyevent@0__:set", "__keyspace@0__:ks.k"], False),
    ("c", ["set", "ks.k", "v"], False),
    ("c", ["set", "ks.k", "v2", "ex", "100"], False),
    ("c", ["set", "ks.k", "v", "nx"], False),
    ("c", ["set", "ks.k", "v3", "xx", "get"], False),
    ("c", ["setnx", "ks.n", "1"], False),
    ("c", ["setex", "ks.e", "100", "v"], False),
    ("c", ["incr", "ks.n"], False),
    ("c", ["incrby", "ks.i", "5"], False),
    ("c", ["decr", "ks.i"], False),
    ("c", ["append", "ks.a", "x"], False),
    ("c", ["append", "ks.a", "y"], False),
    ("c", ["incr", "ks.a"], False),
    ("c", ["expire", "ks.a", "100"], False),
    ("c", ["persist", "ks.a"], False),
    ("c", ["persist", "ks.a"], False),
    ("c", ["expire", "ks.a", "-5"], False),
    ("c", ["expire", "ks.none", "5"], False),
    ("c", ["mset", "ks.m1", "1", "ks.m2", "2", "ks.k", "3"], True),
    ("c", ["del", "ks.m1", "ks.m2", "ks.none"], True),
    ("c", ["del", "ks.k"], False),
    ("c", ["get", "ks.n"], False),
    ("c", ["getset", "ks.g", "1"], False),
    ("c", ["getset", "ks.g", "2"], False),
    ("c", ["getex", "ks.g", "ex", "100"], False),
    ("c", ["getex", "ks.g", "persist"], False),
    ("c", ["getex", "ks.g", "persist"], False),
    ("c", ["setrange", "ks.g", "1", "xy"], False),
    ("c", ["setrange", "ks.r", "1", "xy"], False),
    ("c", ["incrbyfloat", "ks.f", "2.5"], False),
    ("c", ["getdel", "ks.f"], False),
    ("c", ["unlink", "ks.g"], False),
    ("c", ["pexpire", "ks.r", "100000"], False),
    ("c", ["expireat", "ks.r", "1"], False),
    ("c", ["lpush", "ks.l", "a", "b"], False),
    ("c", ["rpush", "ks.l", "c"], False),
    ("c", ["lpushx", "ks.nol", "a"], False),
    ("c", ["rpushx", "ks.l", "d"], False),
    ("c", ["lpop", "ks.l"], False),
    ("c", ["rpop", "ks.l", "2"], False),
    ("c", ["linsert", "ks.l", "before", "a", "q"], False),
    ("c", ["lset", "ks.l", "0", "x"], False),
    ("c", ["lrem", "ks.l", "0", "x"], False),
    ("c", ["lmove", "ks.l", "ks.l", "left", "right"], False),
    ("c", ["rpoplpush", "ks.l", "ks.l"], False),
    ("c", ["ltrim", "ks.l", "0", "-1"], False),
    ("c", ["ltrim", "ks.l", "1", "0"], False),
    ("c", ["rpush", "ks.l2", "1"], False),
    ("c", ["rpop", "ks.l2"], False),
    # One key: keys of several shards answer CROSSSLOT here (no hash tags).
    ("c", ["msetnx", "ks.t1", "1"], False),
    ("c", ["msetnx", "ks.t1", "2"], False),
    ("c", ["publish", "__keyevent@0__:set", "not an event"], False),
]


def unordered(replies):
    """A step whose order is a dict's in Redis (UNSUBSCRIBE with no channel,
    PUBSUB CHANNELS): its replies as sorted elements, and for
    confirmations the sorted names and sorted counts apart (each count
    depends on the order)."""
    names, counts, other = [], [], []
    for r in replies:
        head, _, rest = r.partition(b"\r\n")
        parts = split_replies(rest)
        if head in (b"*3", b">3") and parts[0].endswith(b"subscribe\r\n"):
            names.append(parts[0] + parts[1])
            counts.append(parts[2])
        else:
            other.append(head + b"\r\n" + b"".join(sorted(parts)))
    return sorted(names), sorted(counts), sorted(other)


class PubSubTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx, cls.cp = R.start_appliance(DATAPLANE, CONTROLPLANE, TAG, DP_IP, CLIENT_IP,
                                           [f"pubsub_output_hard_limit_mb = {HARD_MB}",
                                            f"pubsub_output_soft_limit_mb = {SOFT_MB}",
                                            f"pubsub_output_soft_seconds = {SOFT_S}",
                                            f'notify_keyspace_events = "{NOTIFY}"',
                                            f"idle_timeout_s = {IDLE_S}"])
        cls.redis = None
        cls.redis_port = None

    @classmethod
    def tearDownClass(cls):
        R.stop_process(cls.redis)
        cls.cp.stop()
        cls.fx.teardown()

    def sock(self, rcvbuf=None):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect((DP_IP, REDIS_PORT))
        return s

    def fulmar(self):
        return Raw(self.sock())

    @classmethod
    def start_redis(cls):
        """redis-server 7 on host loopback, a port of its own, no persistence,
        keyspace notifications as the appliance's."""
        if cls.redis is not None:
            return
        cls.redis, cls.redis_port = R.start_redis_server(cls.fx.workdir,
                                                         ["--notify-keyspace-events", NOTIFY])

    def numsub(self, channel):
        c = self.fulmar()
        try:
            reply = c.cmd("pubsub", "numsub", channel)
        finally:
            c.close()
        return int(reply.split(b"\r\n")[-2][1:])

    # ---- the same script against both servers -----------------------------

    def run_script(self, connect, script=SCRIPT):
        conns = {name: Raw(connect()) for name in "abc"}
        transcript = []
        try:
            for who, args, any_order in script:
                conns[who].s.sendall(enc(*[a.encode() for a in args]))
                step = {}
                # The commanding connection first: once its answer is in,
                # every delivery the command made is on its way.
                for name in [who] + [n for n in conns if n != who]:
                    c = conns[name]
                    # A PING behind the command on every connection: what
                    # came before its answer is what the step produced.
                    c.s.sendall(enc("ping", BARRIER))
                    got = []
                    while True:
                        reply, c.buf = read_reply(c.s, c.buf)
                        if reply in PONGS:
                            break
                        got.append(reply)
                    if any_order == "skip" and name == who:
                        got = [b"(not compared)"]
                    step[name] = unordered(got) if any_order is True else got
                    step[name + " barrier"] = reply
                transcript.append((who, args, step))
        finally:
            for c in conns.values():
                c.close()
        return transcript

    def test_differential_against_redis_7(self):
        self.start_redis()

        def to_redis():
            s = socket.create_connection(("127.0.0.1", self.redis_port))
            return s

        theirs = self.run_script(to_redis)
        ours = self.run_script(self.sock)
        diffs = []
        for (who, args, mine), (_, _, want) in zip(ours, theirs):
            if mine != want:
                diffs.append(f"{who}: {args}\n  fulmar: {mine}\n  redis:  {want}")
        self.assertEqual(diffs, [], "\n".join(diffs))
        self.assertEqual(len(ours), len(SCRIPT))

    def test_resp3_pushes_as_redis_7_sends_them(self):
        self.start_redis()

        def to_redis():
            return socket.create_connection(("127.0.0.1", self.redis_port))

        theirs = self.run_script(to_redis, RESP3_SCRIPT)
        ours = self.run_script(self.sock, RESP3_SCRIPT)
        diffs = []
        for (who, args, mine), (_, _, want) in zip(ours, theirs):
            if mine != want:
                diffs.append(f"{who}: {args}\n  fulmar: {mine}\n  redis:  {want}")
        self.assertEqual(diffs, [], "\n".join(diffs))
        # The pushes were RESP3's (the script's third step: SUBSCRIBE r3 r3b).
        self.assertEqual(ours[2][2]["a"][0], b">3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n")

    def test_config_set_notify_keyspace_events_as_redis_7(self):
        self.start_redis()

        def to_redis():
            return socket.create_connection(("127.0.0.1", self.redis_port))

        theirs = self.run_script(to_redis, CONFIG_SCRIPT)
        ours = self.run_script(self.sock, CONFIG_SCRIPT)
        diffs = []
        for (who, args, mine), (_, _, want) in zip(ours, theirs):
            if mine != want:
                diffs.append(f"{who}: {args}\n  fulmar: {mine}\n  redis:  {want}")
        self.assertEqual(diffs, [], "\n".join(diffs))
        self.assertEqual(len(ours[5][2]["a"]), 1)  # "set" on the keyspace channel only

    def test_keyspace_notifications_as_redis_7_sends_them(self):
        self.start_redis()

        def to_redis():
            return socket.create_connection(("127.0.0.1", self.redis_port))

        theirs = self.run_script(to_redis, NOTIFY_SCRIPT)
        ours = self.run_script(self.sock, NOTIFY_SCRIPT)
        diffs = []
        for (who, args, mine), (_, _, want) in zip(ours, theirs):
            if mine != want:
                diffs.append(f"{who}: {args}\n  fulmar: {mine}\n  redis:  {want}")
        self.assertEqual(diffs, [], "\n".join(diffs))
        # The script did deliver events (a listener that heard nothing
        # would pass the comparison only if Redis were silent too).
        heard = sum(len(step["a"]) for _, _, step in ours)
        self.assertGreater(heard, 40)

    def test_expired_events_come_when_the_sweep_frees_the_key(self):
        # Redis fires them from its active expiry; here the owner's paced
        # sweep hands back the keys it freed. Same channels, same bytes.
        self.start_redis()
        key = f"exp.{os.getpid()}.{random.randrange(1 << 30)}"
        want = [(b"*4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n"
                 b"$22\r\n__keyevent@0__:expired\r\n" + f"${len(key)}\r\n{key}\r\n".encode()),
                (b"*4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n" +
                 f"${15 + len(key)}\r\n__keyspace@0__:{key}\r\n$7\r\nexpired\r\n".encode())]
        for connect in (lambda: socket.create_connection(("127.0.0.1", self.redis_port)),
                        self.sock):
            listener, writer = Raw(connect()), Raw(connect())
            try:
                listener.cmd("psubscribe", "__key*")
                self.assertEqual(writer.cmd("set", key, "v", "ex", "1"), b"+OK\r\n")
                got = []
                listener.s.settimeout(20)
                deadline = time.monotonic() + 20
                while len(got) < 2 and time.monotonic() < deadline:
                    reply, listener.buf = read_reply(listener.s, listener.buf)
                    if b"expired" in reply:
                        got.append(reply)
                self.assertEqual(sorted(got), sorted(want))
            finally:
                listener.close()
                writer.close()

    def test_evicted_events_name_every_key_the_owners_evicted(self):
        # Keys pushed out by memory pressure (32 MiB a shard; no
        # maxmemory here: the store always evicts when full): each eviction
        # is an "evicted" event, as many as INFO's evicted_keys, and every
        # key named is gone. The owners hand the keys back with the sweep's
        # steps, or a step of their own every 50 ms: here the only ones, as
        # the sweep is off (DEBUG SET-ACTIVE-EXPIRE 0).
        c, listener = self.fulmar(), self.fulmar()
        tag = f"ev{os.getpid()}.{random.randrange(1 << 30)}."
        value = b"x" * 16000
        try:
            self.assertEqual(c.cmd("config", "set", "notify-keyspace-events", "Ee"), b"+OK\r\n")
            self.assertEqual(c.cmd("flushall"), b"+OK\r\n")
            self.assertEqual(c.cmd("debug", "set-active-expire", "0"), b"+OK\r\n")
            before = int(re.search(rb"evicted_keys:(\d+)", c.cmd("info", "stats")).group(1))
            listener.cmd("subscribe", "__keyevent@0__:evicted")
            n = 8000  # 128 MB of values: twice what two shards hold
            for start in range(0, n, 500):
                batch = b"".join(enc(b"set", f"{tag}{i}".encode(), value)
                                 for i in range(start, min(n, start + 500)))
                c.s.sendall(batch)
                for _ in range(start, min(n, start + 500)):
                    reply, c.buf = read_reply(c.s, c.buf)
                    self.assertEqual(reply, b"+OK\r\n")
            after = int(re.search(rb"evicted_keys:(\d+)", c.cmd("info", "stats")).group(1))
            evicted = after - before
            self.assertGreater(evicted, n // 3)
            keys = []
            listener.s.settimeout(2)
            while len(keys) < evicted:
                try:
                    reply, listener.buf = read_reply(listener.s, listener.buf)
                except socket.timeout:
                    break
                parts = reply.split(b"\r\n")
                self.assertEqual(parts[2:5:2], [b"message", b"__keyevent@0__:evicted"])
                keys.append(parts[6].decode())
            info = c.cmd("info", "stats")
            dropped = int(re.search(rb"fulmar_notify_evicted_dropped:(\d+)", info).group(1))
            self.assertEqual(dropped, 0)
            self.assertEqual(len(keys), evicted)
            self.assertEqual(len(set(keys)), len(keys))
            self.assertTrue(all(k.startswith(tag) for k in keys))
            for k in random.sample(keys, min(200, len(keys))):
                self.assertEqual(c.cmd("exists", k), b":0\r\n", k)
        finally:
            c.cmd("config", "set", "notify-keyspace-events", NOTIFY)
            c.cmd("debug", "set-active-expire", "1")
            c.cmd("flushall")
            listener.close()
            c.close()

    def test_maxmemory_empties_pages_and_noeviction_refuses_writes(self):
        c = self.fulmar()
        oom = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"

        def evicted():
            return int(re.search(rb"evicted_keys:(\d+)", c.cmd("info", "stats")).group(1))

        try:
            self.assertEqual(c.cmd("flushall"), b"+OK\r\n")
            self.assertEqual(c.cmd("set", "mm.a", "v"), b"+OK\r\n")
            # One byte: no page for anything; the owners empty theirs at once.
            self.assertEqual(c.cmd("config", "set", "maxmemory", "1"), b"+OK\r\n")
            deadline = time.monotonic() + 5
            while c.cmd("dbsize") != b":0\r\n" and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(c.cmd("dbsize"), b":0\r\n")
            self.assertEqual(c.cmd("set", "mm.b", "v"), oom)
            self.assertIn(b"maxmemory:1\r\n", c.cmd("info", "memory"))
            self.assertEqual(c.cmd("config", "set", "maxmemory", "0"), b"+OK\r\n")
            self.assertEqual(c.cmd("set", "mm.b", "v"), b"+OK\r\n")
            # noeviction: once full, a write fails and nothing is evicted.
            self.assertEqual(c.cmd("config", "set", "maxmemory-policy", "noeviction"),
                             b"+OK\r\n")
            before = evicted()
            value = b"x" * 16000
            replies = set()
            for start in range(0, 8000, 500):
                c.s.sendall(b"".join(enc(b"set", f"mm.{i}".encode(), value)
                                     for i in range(start, start + 500)))
                for _ in range(500):
                    reply, c.buf = read_reply(c.s, c.buf)
                    replies.add(reply)
            self.assertEqual(replies, {b"+OK\r\n", oom})
            self.assertEqual(evicted(), before)
            self.assertEqual(c.cmd("get", "mm.b"), b"$1\r\nv\r\n")
            self.assertEqual(c.cmd("config", "set", "maxmemory-policy", "volatile-lru")[:4],
                             b"-ERR")
        finally:
            c.cmd("config", "set", "maxmemory", "0")
            c.cmd("config", "set", "maxmemory-policy", "allkeys-lru")
            c.cmd("flushall")
            c.close()

    def test_an_idle_subscriber_is_not_closed_for_idleness(self):
        sub, idle = self.fulmar(), self.fulmar()
        try:
            sub.cmd("subscribe", "idle.chan")
            self.assertEqual(idle.cmd("ping"), b"+PONG\r\n")
            time.sleep(IDLE_S + 2.5)
            pub = self.fulmar()
            try:
                self.assertEqual(pub.cmd("publish", "idle.chan", "still here"), b":1\r\n")
            finally:
                pub.close()
            self.assertEqual(sub.raw(b""),
                             b"*3\r\n$7\r\nmessage\r\n$9\r\nidle.chan\r\n$10\r\nstill here\r\n")
            # The other one, idle as long, was closed.
            idle.s.settimeout(5)
            self.assertEqual(idle.s.recv(10), b"")
        finally:
            sub.close()
            idle.close()

    # ---- clients unchanged -------------------------------------------------

    def test_python_redis_pubsub(self):
        script = f"""
import redis, time
r = redis.Redis(host="{DP_IP}", port={REDIS_PORT}, socket_timeout=10)
p = r.pubsub()
p.subscribe("py.news")
p.psubscribe("py.*")
def next_message():
    deadline = time.time() + 5
    while time.time() < deadline:
        m = p.get_message(timeout=1)
        if m is not None:
            return m
    raise AssertionError("no message")
assert next_message() == {{"type": "subscribe", "pattern": None, "channel": b"py.news", "data": 1}}
assert next_message() == {{"type": "psubscribe", "pattern": None, "channel": b"py.*", "data": 2}}
assert r.pubsub_numsub("py.news") == [(b"py.news", 1)], r.pubsub_numsub("py.news")
assert r.pubsub_numpat() == 1
assert r.publish("py.news", "x" * 128) == 2
got = [next_message(), next_message()]
assert got[0] == {{"type": "message", "pattern": None, "channel": b"py.news", "data": b"x" * 128}}, got
assert got[1] == {{"type": "pmessage", "pattern": b"py.*", "channel": b"py.news", "data": b"x" * 128}}, got
p.unsubscribe()
p.punsubscribe()
assert next_message()["type"] == "unsubscribe"
assert next_message()["type"] == "punsubscribe"
assert r.publish("py.news", "x") == 0
p.close()
print("ok")
"""
        r = self.fx.ns.ip(PY, "-c", script, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.strip(), "ok")

    def test_redis_cli_subscribe(self):
        sub = subprocess.Popen(
            ["ip", "netns", "exec", self.fx.ns.name, "timeout", "10", "redis-cli", "-h", DP_IP,
             "-p", str(REDIS_PORT), "subscribe", "cli.chan"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 5
            while self.numsub("cli.chan") != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            r = self.fx.ns.ip("redis-cli", "-h", DP_IP, "-p", str(REDIS_PORT), "publish",
                              "cli.chan", "hello from cli")
            self.assertEqual(r.stdout.strip(), "1")
            time.sleep(0.3)
        finally:
            os.kill(sub.pid, signal.SIGTERM)
            out, _ = sub.communicate(10)
        self.assertIn(b"subscribe\ncli.chan\n1\nmessage\ncli.chan\nhello from cli\n", out)

    def test_closed_connection_leaves_every_channel(self):
        c = self.fulmar()
        c.cmd("subscribe", "gone.a")
        c.s.sendall(enc("subscribe", "gone.b") + enc("psubscribe", "gone.*") +
                    enc("ssubscribe", "gone.s"))
        self.assertEqual(c.raw(b""), b"*3\r\n$9\r\nsubscribe\r\n$6\r\ngone.b\r\n:2\r\n")
        self.assertEqual(self.numsub("gone.a"), 1)
        before = self.info_pubsub()
        c.close()
        deadline = time.monotonic() + 5
        while self.numsub("gone.a") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        p = self.fulmar()
        try:
            self.assertEqual(p.cmd("publish", "gone.a", "m"), b":0\r\n")
            self.assertEqual(p.cmd("pubsub", "numsub", "gone.b"),
                             b"*2\r\n$6\r\ngone.b\r\n:0\r\n")
            self.assertEqual(p.cmd("pubsub", "shardnumsub", "gone.s"),
                             b"*2\r\n$6\r\ngone.s\r\n:0\r\n")
            self.assertEqual(p.cmd("pubsub", "channels", "gone.*"), b"*0\r\n")
        finally:
            p.close()
        # INFO stats counts channels, patterns and shard channels as Redis.
        after = self.info_pubsub()
        self.assertEqual({k: before[k] - after[k] for k in before},
                         {"pubsub_channels": 2, "pubsub_patterns": 1, "pubsubshard_channels": 1})

    def info_pubsub(self):
        c = self.fulmar()
        try:
            text = c.cmd("info", "stats").decode()
        finally:
            c.close()
        return {k: int(v) for k, v in (line.split(":") for line in text.split("\r\n")
                                       if line.startswith("pubsub"))}

    # ---- slow subscribers --------------------------------------------------

    def slow_and_fast(self, channel, n, msg_size, extra=0, then=None):
        """A subscriber that never reads (a small receive buffer) and one that
        reads everything, on `channel`; n messages of `msg_size` published,
        each PUBLISH timed, then `then(publish)` (which publishes `extra`
        more). Returns (publish times, receivers per publish, the bytes the
        fast one got, the bytes it should have got, the slow socket)."""
        slow = self.sock(rcvbuf=4096)
        slow.sendall(enc("subscribe", channel))
        fast = self.fulmar()
        self.assertEqual(fast.cmd("subscribe", channel),
                         f"*3\r\n$9\r\nsubscribe\r\n${len(channel)}\r\n{channel}\r\n:1\r\n".encode())
        deadline = time.monotonic() + 5
        while self.numsub(channel) != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.numsub(channel), 2)
        one = (f"*3\r\n$7\r\nmessage\r\n${len(channel)}\r\n{channel}\r\n"
               f"${msg_size}\r\n").encode() + b"m" * msg_size + b"\r\n"
        want = len(one) * (n + extra)
        got = [len(fast.buf)]

        def drain():
            fast.s.settimeout(20)
            while got[0] < want:
                chunk = fast.s.recv(1 << 20)
                if not chunk:
                    return
                got[0] += len(chunk)

        reader = threading.Thread(target=drain)
        reader.start()
        pub = self.fulmar()
        times, receivers = [], []
        body = b"m" * msg_size

        def publish():
            t0 = time.monotonic()
            reply = pub.cmd("publish", channel, body)
            times.append(time.monotonic() - t0)
            receivers.append(int(reply[1:-2]))

        try:
            for _ in range(n):
                publish()
            if then is not None:
                then(publish)
        finally:
            reader.join(30)
            pub.close()
            fast.close()
        return times, receivers, got[0], want, slow

    def assert_closed(self, s):
        s.settimeout(10)
        try:
            while s.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        s.close()

    def test_slow_subscriber_cut_while_a_fast_one_gets_everything(self):
        # 24 MiB to a subscriber that takes nothing: past the hard limit
        # (the kernel holds at most a few MiB of it) it is cut; the fast one
        # gets every message; no PUBLISH waits on either.
        times, receivers, got, want, slow = self.slow_and_fast(
            "slow.hard", (24 << 20) // 16384, 16384)
        self.assertEqual(receivers[0], 2)
        self.assertEqual(receivers[-1], 1)
        self.assertEqual(got, want)
        self.assertLess(max(times), 1.0, f"a PUBLISH took {max(times):.3f} s")
        self.assert_closed(slow)
        self.assertEqual(self.numsub("slow.hard"), 0)

    def test_slow_subscriber_cut_after_the_soft_limit_seconds(self):
        def wait_then_publish(publish):
            # 8 MiB sent: past the soft limit once the kernel's buffers are
            # full, under the hard one. Kept for the soft seconds, the next
            # message cuts it.
            time.sleep(SOFT_S + 1.2)
            publish()
            time.sleep(0.3)
            publish()

        times, receivers, got, want, slow = self.slow_and_fast(
            "slow.soft", (8 << 20) // 16384, 16384, extra=2, then=wait_then_publish)
        self.assertTrue(all(r == 2 for r in receivers[:-2]), receivers[-5:])
        self.assertEqual(receivers[-1], 1)
        self.assertEqual(got, want)
        self.assertLess(max(times), 1.0)
        self.assert_closed(slow)


def main():
    return R.main(__doc__, globals())


if __name__ == "__main__":
    sys.exit(main())
