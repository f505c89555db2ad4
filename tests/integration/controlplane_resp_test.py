#!/usr/bin/python3
"""Redis (RESP2) through the control plane, on the keyspace memcached uses.

    controlplane_resp_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

An appliance of its own (two workers, so keys land on two owners) with the
exception path, as controlplane_mc_test.py starts it, its control plane
listening for Redis on REDIS_PORT; clients in the test's namespace:

    client ns 198.18.110.2 --TAP--> dataplane --kernel TAP--> 198.18.110.1:6379

Covers: redis-cli and Debian's Python `redis` client unchanged; one keyspace
with memcached over UDP; and a differential test: the same commands, byte
streams compared reply by reply with a redis-server 7 started here on host
loopback (stopped by its pid), TTL/PTTL figures within the rounding of our
whole-second clock; the set and hash commands the same way (Redis's hash
table orders some replies: those are compared as multisets), and SMOVE and
the STORE forms on one owner or CROSSSLOT. Lists: the same differential test, keys of a move
placed on one owner; blocking pops (redis-py woken by another client's push
in arrival order, timeouts byte for byte, a blocked client's later
requests held, a client that disconnects while blocked takes nothing, a
BLMOVE waking a BLPOP on its destination, CROSSSLOT across owners); LMPOP
and BLMPOP byte for byte; blocked pops woken by a MULTI/EXEC only once it
ran whole (the suite's LPUSH + DEL cases, BLMPOP's several waiters), the
same scenario run against both servers and every reply compared.
Needs root and hugepages; exits 77 (skipped) without. Names: tag "rsp",
subnet 198.18.110.0/24 ($FULMAR_IT_TAG, $FULMAR_IT_SUBNET), sockets in a
temporary directory.
"""
import os
import random
import re
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp_it as R  # noqa: E402

DATAPLANE = CONTROLPLANE = None
# FULMAR_IT_TAG and FULMAR_IT_SUBNET ("198.18.N") let parallel runs apart.
TAG = os.environ.get("FULMAR_IT_TAG", "rsp")
SUBNET = os.environ.get("FULMAR_IT_SUBNET", "198.18.110")
DP_IP = f"{SUBNET}.1"
CLIENT_IP = f"{SUBNET}.2"
REDIS_PORT = 6379
PY = "/usr/bin/python3"


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
        nonlocal buf
        while b"\r\n" not in buf[at:]:
            need(len(buf) + 1)
        return buf.index(b"\r\n", at) + 2

    def one(at):
        need(at + 1)
        end = line(at)
        kind, head = buf[at:at + 1], buf[at + 1:end - 2]
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return end
        n = int(head)
        if kind in (b"$", b"=", b"!"):
            if n < 0:
                return end
            need(end + n + 2)
            return end + n + 2
        if kind in (b"*", b"~", b">", b"%"):
            for _ in range(max(n, 0) * (2 if kind == b"%" else 1)):
                end = one(end)
            return end
        raise AssertionError(f"not RESP: {buf[at:at + 50]!r}")

    end = one(0)
    return buf[:end], buf[end:]


class Raw:
    """A RESP connection speaking raw bytes."""

    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(10)
        self.buf = b""

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

    def close(self):
        self.s.close()


class RespTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx, cls.cp = R.start_appliance(DATAPLANE, CONTROLPLANE, TAG, DP_IP, CLIENT_IP)
        cls.redis = None
        cls.redis_port = None

    @classmethod
    def tearDownClass(cls):
        R.stop_process(cls.redis)
        cls.cp.stop()
        cls.fx.teardown()

    def fulmar(self):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((DP_IP, REDIS_PORT))
        return Raw(s)

    @classmethod
    def start_redis(cls):
        """redis-server 7 on host loopback, a port of its own, no persistence,
        one database (the appliance has only database 0)."""
        if cls.redis is not None:
            return
        cls.redis, cls.redis_port = R.start_redis_server(cls.fx.workdir)

    def key(self, tag):
        return f"{tag}{os.getpid()}_{random.randrange(1 << 30)}"

    def test_redis_cli_unchanged(self):
        k = self.key("cli")

        def cli(*args):
            r = self.fx.ns.ip("redis-cli", "-h", DP_IP, "-p", str(REDIS_PORT), *args)
            return r.stdout.strip()

        self.assertEqual(cli("ping"), "PONG")
        self.assertEqual(cli("set", k, "hello"), "OK")
        self.assertEqual(cli("get", k), "hello")
        self.assertEqual(cli("incr", k), "ERR value is not an integer or out of range")
        self.assertEqual(cli("append", k, " world"), "11")
        self.assertEqual(cli("mget", k, k + "x"), "hello world")
        self.assertEqual(cli("del", k), "1")

    def test_python_redis_client_unchanged(self):
        k = self.key("py")
        script = f"""
import redis
r = redis.Redis(host="{DP_IP}", port={REDIS_PORT}, socket_timeout=10)
assert r.ping()
assert r.set("{k}", "v", ex=100)
assert r.get("{k}") == b"v", r.get("{k}")
assert 99 <= r.ttl("{k}") <= 100
assert r.incr("{k}n", 5) == 5
assert r.mset({{"{k}a": "1", "{k}b": "2"}})
assert r.mget("{k}a", "{k}b", "{k}c") == [b"1", b"2", None]
assert r.delete("{k}a", "{k}b", "{k}c") == 2
assert r.exists("{k}", "{k}n") == 2
p = r.pipeline(transaction=False)
for i in range(200):
    p.incr("{k}p")
    p.get("{k}p")
out = p.execute()
assert out[-1] == b"200" and out[-2] == 200, out[-2:]
assert r.sadd("{k}set", "a", "b", "c") == 3
assert r.smembers("{k}set") == {{b"a", b"b", b"c"}}
assert r.sismember("{k}set", "b") and not r.sismember("{k}set", "z")
assert r.smismember("{k}set", ["a", "z"]) == [1, 0]
assert r.srem("{k}set", "a") == 1 and r.scard("{k}set") == 2
assert set(r.sscan_iter("{k}set")) == {{b"b", b"c"}}
assert r.spop("{k}set") in (b"b", b"c") and r.scard("{k}set") == 1
assert r.hset("{k}h", mapping={{"f1": "v1", "f2": "2"}}) == 2
assert r.hgetall("{k}h") == {{b"f1": b"v1", b"f2": b"2"}}
assert r.hincrby("{k}h", "f2", 3) == 5
assert r.hincrbyfloat("{k}h", "f3", 1.5) == 1.5
assert r.hmget("{k}h", ["f1", "nope"]) == [b"v1", None]
assert dict(r.hscan_iter("{k}h")) == {{b"f1": b"v1", b"f2": b"5", b"f3": b"1.5"}}
assert r.hdel("{k}h", "f1", "f2", "f3") == 3 and not r.exists("{k}h")
try:
    r.hget("{k}set", "f")
    raise SystemExit("no WRONGTYPE")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
print("ok")
"""
        r = self.fx.ns.ip(PY, "-c", script, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.strip(), "ok")

    def test_one_keyspace_with_memcached_udp(self):
        c = self.fulmar()
        try:
            k = self.key("ks")
            self.assertEqual(c.cmd("set", k, "redis"), b"+OK\r\n")
            self.assertEqual(self.fx.client.request(f"get {k}\r\n".encode()),
                             f"VALUE {k} 0 5\r\nredis\r\nEND\r\n".encode())
            self.assertEqual(self.fx.client.request(f"set {k} 3 0 2\r\n41\r\n".encode()),
                             b"STORED\r\n")
            self.assertEqual(c.cmd("incr", k), b":42\r\n")
            self.assertEqual(self.fx.client.request(f"get {k}\r\n".encode()),
                             f"VALUE {k} 3 2\r\n42\r\nEND\r\n".encode())
        finally:
            c.close()

    def test_pipelined_replies_keep_their_order(self):
        c = self.fulmar()
        try:
            k = self.key("pipe")
            req = b""
            expect = b""
            for i in range(300):
                req += f"*3\r\n$3\r\nset\r\n${len(k)}\r\n{k}\r\n${len(str(i))}\r\n{i}\r\n".encode()
                req += f"*2\r\n$3\r\nget\r\n${len(k)}\r\n{k}\r\n".encode()
                req += f"*3\r\n$3\r\ndel\r\n${len(k)}\r\n{k}\r\n$1\r\nz\r\n".encode()
                expect += f"+OK\r\n${len(str(i))}\r\n{i}\r\n:1\r\n".encode()
            c.s.sendall(req)
            got = b""
            while len(got) < len(expect):
                got += c.s.recv(1 << 16)
            self.assertEqual(got, expect)
        finally:
            c.close()

    # The differential test: each command to both servers, replies compared.
    DIFF = [
        ["ping"], ["ping", "hello"], ["echo", "a b"], ["select", "0"], ["select", "1"],
        ["select", "x"], ["get", "{k}s"], ["set", "{k}s", "v1"], ["get", "{k}s"],
        ["set", "{k}s", "v2", "NX"], ["set", "{k}s", "v2", "XX", "GET"], ["get", "{k}s"],
        ["set", "{k}n", "x", "xx"], ["set", "{k}s", "v", "nx", "xx"],
        ["set", "{k}s", "v", "EX", "0"], ["set", "{k}s", "v", "EX", "abc"],
        ["set", "{k}s", "v", "EX"], ["set", "{k}s", "v", "KEEPTTL", "EX", "5"],
        ["set", "{k}s", "v", "FOO"], ["set", "{k}e", "v", "EX", "100"], ["ttl", "{k}e"],
        ["pttl", "{k}e"], ["set", "{k}e", "w", "KEEPTTL"], ["ttl", "{k}e"],
        ["set", "{k}p", "v", "PX", "5000"], ["pttl", "{k}p"], ["ttl", "{k}none"],
        ["pttl", "{k}s"], ["setnx", "{k}s", "x"], ["setnx", "{k}nx", "x"],
        ["setex", "{k}x", "100", "v"], ["setex", "{k}x", "0", "v"], ["setex", "{k}x", "a", "v"],
        ["psetex", "{k}x", "100000", "v"], ["psetex", "{k}x", "-5", "v"], ["ttl", "{k}x"],
        ["incr", "{k}c"], ["incrby", "{k}c", "41"], ["decr", "{k}c"], ["decrby", "{k}c", "50"],
        ["incrby", "{k}c", "x"], ["incr", "{k}s"], ["set", "{k}m", "9223372036854775807"],
        ["incr", "{k}m"], ["decrby", "{k}c", "-9223372036854775808"], ["get", "{k}c"],
        ["set", "{k}z", " 1"], ["incr", "{k}z"], ["set", "{k}z", "01"], ["incr", "{k}z"],
        ["append", "{k}a", "ab"], ["append", "{k}a", "cd"], ["get", "{k}a"],
        ["strlen", "{k}a"], ["strlen", "{k}none"], ["exists", "{k}a", "{k}a", "{k}none"],
        ["mset", "{k}1", "a", "{k}2", "b", "{k}3", "c"], ["mset", "{k}1", "a", "{k}2"],
        ["mget", "{k}1", "{k}none", "{k}3", "{k}2"], ["del", "{k}1", "{k}2", "{k}none"],
        ["del", "{k}3"], ["mget", "{k}1", "{k}3"], ["expire", "{k}a", "100"],
        ["ttl", "{k}a"], ["expire", "{k}a", "50", "GT"], ["expire", "{k}a", "50", "LT"],
        ["ttl", "{k}a"], ["expire", "{k}a", "60", "NX"], ["expire", "{k}a", "1", "NX", "XX"],
        ["expire", "{k}a", "1", "GT", "LT"], ["expire", "{k}a", "1", "YY"],
        ["expire", "{k}a", "x"], ["persist", "{k}a"], ["persist", "{k}a"], ["ttl", "{k}a"],
        ["expire", "{k}a", "60", "XX"], ["expire", "{k}a", "60", "GT"],
        ["expire", "{k}none", "5"], ["expire", "{k}a", "-1"], ["exists", "{k}a"],
        ["get"], ["get", "a", "b"], ["set", "a"], ["del"], ["mget"], ["incr"], ["ttl"],
        ["strlen"], ["echo"], ["ping", "a", "b"], ["nosuch"], ["nosuch", "a", "b"],
        ["command", "count", "x"], ["command", "nosuch"], ["flushall", "x"],
        ["flushall"], ["get", "{k}s"], ["exists", "{k}s", "{k}e"],
    ]

    def assert_same_replies(self, cmds, tag):
        """`cmds` sent to the appliance and to redis-server: no difference."""
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        try:
            diffs = self.differences(ours, theirs, cmds, self.key(tag))
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    @staticmethod
    def differences(ours, theirs, cmds, k):
        """Each command sent to both; the replies that differ."""
        diffs = []
        for cmd in cmds:
            args = [a.replace("{k}", k) for a in cmd]
            a, b = ours.cmd(*args), theirs.cmd(*args)
            name = args[0].lower() if args else ""
            if name in ("ttl", "pttl", "expiretime", "pexpiretime") and \
                    a.startswith(b":") and b.startswith(b":"):
                x, y = int(a[1:-2]), int(b[1:-2])
                # Whole seconds here; Redis rounds milliseconds.
                slack = 1000 if name in ("pttl", "pexpiretime") else 1
                if x >= 0 and y >= 0 and abs(x - y) <= slack:
                    continue
            if a != b:
                diffs.append(f"{args}: fulmar {a!r} redis {b!r}")
        return diffs

    # The rest of the string and key commands (one key each: the two
    # workers' shards never split them).
    DIFF_STRINGS = [
        ["set", "{k}s", "hello world"], ["getrange", "{k}s", "0", "4"],
        ["getrange", "{k}s", "-5", "-1"], ["getrange", "{k}s", "5", "2"],
        ["getrange", "{k}s", "-1", "-5"], ["getrange", "{k}s", "0", "100"],
        ["getrange", "{k}none", "0", "1"], ["getrange", "{k}s", "a", "1"],
        ["substr", "{k}s", "1", "3"], ["setrange", "{k}s", "6", "Redis"], ["get", "{k}s"],
        ["setrange", "{k}r", "5", "x"], ["get", "{k}r"], ["setrange", "{k}none", "0", ""],
        ["exists", "{k}none"], ["setrange", "{k}s", "-1", "x"], ["setrange", "{k}s", "0", ""],
        ["getset", "{k}s", "new"], ["getset", "{k}g", "first"], ["get", "{k}g"],
        ["getdel", "{k}g"], ["getdel", "{k}g"], ["exists", "{k}g"],
        ["set", "{k}x", "v"], ["getex", "{k}x", "EX", "100"], ["ttl", "{k}x"],
        ["getex", "{k}x", "PERSIST"], ["ttl", "{k}x"], ["getex", "{k}x", "PX", "200000"],
        ["pttl", "{k}x"], ["getex", "{k}x", "EX", "0"], ["getex", "{k}x", "EX", "1", "PX", "1"],
        ["getex", "{k}x", "FOO"], ["getex", "{k}x", "EX"], ["getex", "{k}none"],
        ["getex", "{k}x", "EXAT", "1"], ["exists", "{k}x"],
        ["set", "{k}f", "10.5"], ["incrbyfloat", "{k}f", "0.1"], ["incrbyfloat", "{k}f", "-5"],
        ["incrbyfloat", "{k}f", "5.0e3"], ["incrbyfloat", "{k}nf", "3"],
        ["incrbyfloat", "{k}f", "abc"], ["incrbyfloat", "{k}f", "1e400"],
        ["incrbyfloat", "{k}s", "1"], ["incrbyfloat", "{k}f", " 1"], ["get", "{k}f"],
        ["set", "{k}e", "v"], ["pexpire", "{k}e", "100000"], ["pttl", "{k}e"],
        ["expireat", "{k}e", "4000000000"], ["expiretime", "{k}e"], ["pexpiretime", "{k}e"],
        ["pexpireat", "{k}e", "4000000000000"], ["expiretime", "{k}e"],
        ["expiretime", "{k}none"], ["expiretime", "{k}s"], ["pexpire", "{k}e", "x"],
        ["expireat", "{k}e", "1"], ["exists", "{k}e"],
        ["pexpire", "{k}s", "9223372036854775807"], ["expire", "{k}s", "9223372036854775807"],
        ["touch", "{k}s", "{k}none", "{k}s"], ["unlink", "{k}s", "{k}none"], ["type", "{k}s"],
        ["set", "{k}t", "v"], ["type", "{k}t"], ["type", "{k}none"], ["flushdb", "x"],
        ["getdel"], ["getrange", "{k}s"], ["rename", "{k}s"], ["msetnx", "{k}a"],
        ["msetnx", "{k}a", "1", "{k}b"],
        ["setbit", "{k}b", "7", "1"], ["getbit", "{k}b", "7"], ["get", "{k}b"],
        ["setbit", "{k}b", "100", "1"], ["strlen", "{k}b"], ["setbit", "{k}b", "7", "0"],
        ["getbit", "{k}b", "100"], ["getbit", "{k}b", "100000"], ["getbit", "{k}none", "3"],
        ["setbit", "{k}b", "-1", "1"], ["setbit", "{k}b", "4294967296", "1"],
        ["setbit", "{k}b", "1", "2"], ["setbit", "{k}b", "1", "x"], ["getbit", "{k}b", "x"],
        ["set", "{k}:{t}l1", "ohmytext"], ["set", "{k}:{t}l2", "mynewtext"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2"], ["lcs", "{k}:{t}l1", "{k}:{t}l2", "LEN"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2", "IDX"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2", "IDX", "WITHMATCHLEN"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2", "LEN", "IDX"], ["lcs", "{k}:{t}l1", "{k}:{t}none"],
        ["lcs", "{k}:{t}l1", "{k}:{t}l2", "FOO"], ["lcs", "{k}:{t}l1"],
        ["copy", "{k}:{t}l1", "{k}:{t}c"], ["get", "{k}:{t}c"],
        ["copy", "{k}:{t}l1", "{k}:{t}c"], ["copy", "{k}:{t}l2", "{k}:{t}c", "REPLACE"],
        ["get", "{k}:{t}c"], ["copy", "{k}:{t}l1", "{k}:{t}c", "DB", "1"],
        ["copy", "{k}:{t}l1", "{k}:{t}l1"], ["copy", "{k}:{t}none", "{k}:{t}c"],
        ["copy", "{k}:{t}l1", "{k}:{t}c", "DB", "x"], ["copy", "{k}:{t}l1", "{k}:{t}c", "FOO"],
        ["setex", "{k}:{t}e", "100", "v"], ["copy", "{k}:{t}e", "{k}:{t}e2"],
        ["ttl", "{k}:{t}e2"], ["time", "x"],
    ]

    # SORT and SORT_RO. Without STORE a read (any shard: the BY and GET keys
    # here spread over both owners); with STORE on the key's owner, every
    # key on its shard ({t}).
    DIFF_SORT = [
        ["rpush", "{k}:{t}l", "3", "1", "2", "10", "-4.5"], ["sort", "{k}:{t}l"],
        ["sort", "{k}:{t}l", "desc"], ["sort", "{k}:{t}l", "alpha"],
        ["sort", "{k}:{t}l", "alpha", "desc"], ["sort", "{k}:{t}l", "limit", "1", "2"],
        ["sort", "{k}:{t}l", "limit", "0", "0"], ["sort", "{k}:{t}l", "limit", "-1", "2"],
        ["sort", "{k}:{t}l", "limit", "10", "2"], ["sort", "{k}:{t}l", "limit", "1", "-1"],
        ["sort", "{k}:{t}l", "limit", "4", "9"], ["sort", "{k}:{t}l", "limit", "x", "1"],
        ["sort", "{k}:{t}l", "limit", "1"], ["sort", "{k}:{t}l", "foo"],
        ["sort", "{k}:{t}l", "by", "nosort"], ["sort", "{k}:{t}l", "by", "nosort", "desc"],
        ["sort", "{k}:{t}l", "by", "nosort", "desc", "limit", "1", "2"],
        ["sort", "{k}:{t}l", "by", "nosort", "limit", "1", "2"],
        ["set", "{k}w_3", "30"], ["set", "{k}w_1", "100"], ["set", "{k}w_2", "-1"],
        ["set", "{k}w_10", "0.5"], ["set", "{k}n_3", "three"], ["set", "{k}n_1", "one"],
        ["hset", "{k}h_1", "f", "uno"], ["hset", "{k}h_2", "f", "dos"], ["sadd", "{k}h_3", "f"],
        ["sort", "{k}:{t}l", "by", "{k}w_*"], ["sort", "{k}:{t}l", "by", "{k}w_*", "desc"],
        ["sort", "{k}:{t}l", "by", "{k}n_*", "alpha"],
        ["sort", "{k}:{t}l", "by", "{k}n_*", "alpha", "desc"],
        ["sort", "{k}:{t}l", "by", "{k}n_*"],
        ["sort", "{k}:{t}l", "get", "{k}n_*", "get", "#", "get", "{k}h_*->f"],
        ["sort", "{k}:{t}l", "by", "{k}w_*", "get", "{k}h_*->f", "limit", "0", "3"],
        ["sort", "{k}:{t}l", "get", "{k}n_"], ["sort", "{k}:{t}l", "by", "{k}h_*->f", "alpha"],
        ["sort", "{k}:{t}l", "get", "{k}h_*->"],
        ["sort_ro", "{k}:{t}l", "by", "{k}w_*", "get", "#"],
        ["sort_ro", "{k}:{t}l", "store", "{k}:{t}d"], ["sort_ro", "{k}:{t}l", "alpha"],
        ["sort", "{k}:{t}l", "store", "{k}:{t}d"], ["lrange", "{k}:{t}d", "0", "-1"],
        ["set", "{k}:{t}x", "v"], ["expire", "{k}:{t}x", "100"],
        ["sort", "{k}:{t}l", "desc", "limit", "0", "2", "store", "{k}:{t}x"],
        ["type", "{k}:{t}x"], ["ttl", "{k}:{t}x"], ["lrange", "{k}:{t}x", "0", "-1"],
        ["set", "{k}:{t}w_3", "3"], ["hset", "{k}:{t}hh_1", "f", "a"],
        ["sort", "{k}:{t}l", "by", "{k}:{t}w_*", "get", "#", "get", "{k}:{t}hh_*->f", "store",
         "{k}:{t}d"], ["lrange", "{k}:{t}d", "0", "-1"],
        ["sort", "{k}:{t}none", "store", "{k}:{t}d"], ["exists", "{k}:{t}d"],
        ["sadd", "{k}:{t}s", "5", "3", "9", "a"], ["sort", "{k}:{t}s", "alpha"],
        ["sort", "{k}:{t}s"], ["sort", "{k}:{t}s", "by", "nosort", "store", "{k}:{t}d"],
        ["lrange", "{k}:{t}d", "0", "-1"], ["sadd", "{k}:{t}i", "7", "-2", "11"],
        ["sort", "{k}:{t}i"], ["sort", "{k}:{t}i", "desc", "limit", "1", "5"],
        ["rpush", "{k}:{t}f", "1.5", "1.50", "01.5", "", " 2", "0x10", "inf", "-inf"],
        ["sort", "{k}:{t}f"], ["sort", "{k}:{t}f", "desc"],
        ["rpush", "{k}:{t}nan", "nan"], ["sort", "{k}:{t}nan"],
        ["rpush", "{k}:{t}bad", "1", "2x"], ["sort", "{k}:{t}bad"],
        ["sort", "{k}:{t}bad", "alpha"], ["sort", "{k}:{t}x", "alpha"],
        ["sort", "{k}:{t}none"], ["set", "{k}:{t}str", "v"], ["sort", "{k}:{t}str"],
        ["hset", "{k}:{t}hash", "a", "1"], ["sort", "{k}:{t}hash"], ["sort"],
        ["sort_ro"], ["command", "getkeys", "sort", "{k}:{t}l", "store", "{k}:{t}d"],
        ["command", "getkeys", "sort", "{k}:{t}l", "by", "store"],
    ]

    def test_sort_matches_redis_server(self):
        self.assert_same_replies(self.DIFF_SORT, "so")

    def test_string_and_key_commands_match_redis_server(self):
        self.assert_same_replies(self.DIFF_STRINGS, "ds")

    # Sets and hashes: one key per write (the reads of several keys are
    # served from every shard's memory, so SINTER/SUNION/SDIFF/SINTERCARD
    # name keys of both owners). "U" first: Redis's reply order is its hash
    # table's, so the elements are compared as a multiset (pairs kept
    # together for field/value replies, a scan's cursor exactly).
    DIFF_COLLECTIONS = [
        ["sadd", "{k}s", "a", "b", "c", "a"], ["sadd", "{k}s", "d"], ["scard", "{k}s"],
        ["U", "smembers", "{k}s"], ["sismember", "{k}s", "a"], ["sismember", "{k}s", "z"],
        ["smismember", "{k}s", "a", "z", "d"], ["smismember", "{k}none", "a"],
        ["srem", "{k}s", "a", "z", "a"], ["U", "smembers", "{k}s"], ["smembers", "{k}none"],
        ["sadd", "{k}t", "c", "d", "e"], ["sadd", "{k}u", "d", "x"],
        ["U", "sinter", "{k}s", "{k}t"], ["U", "sinter", "{k}s", "{k}t", "{k}u"],
        ["sinter", "{k}s", "{k}none"], ["U", "sunion", "{k}s", "{k}t", "{k}u", "{k}none"],
        ["U", "sdiff", "{k}s", "{k}t"], ["U", "sdiff", "{k}t", "{k}u", "{k}none"],
        ["sdiff", "{k}none", "{k}s"], ["sintercard", "2", "{k}s", "{k}t"],
        ["sintercard", "3", "{k}s", "{k}t", "{k}u", "LIMIT", "1"],
        ["sintercard", "0", "{k}s"], ["sintercard", "3", "{k}s"],
        ["sintercard", "1", "{k}s", "limit", "-1"], ["sintercard", "1", "{k}s", "x"],
        ["set", "{k}str", "v"], ["sadd", "{k}str", "a"], ["sinter", "{k}none", "{k}str"],
        ["sunion", "{k}s", "{k}str"], ["smembers", "{k}str"], ["scard", "{k}str"],
        ["spop", "{k}str"], ["spop", "{k}none"], ["spop", "{k}none", "2"],
        ["spop", "{k}s", "-1"], ["spop", "{k}s", "x"], ["spop", "{k}s", "1", "2"],
        ["spop", "{k}s", "0"], ["srandmember", "{k}none"], ["srandmember", "{k}none", "-3"],
        ["srandmember", "{k}s", "0"], ["srandmember", "{k}s", "x"],
        ["srandmember", "{k}s", "-9223372036854775808"], ["srandmember", "{k}s", "1", "2"],
        ["U", "srandmember", "{k}s", "10"], ["sadd", "{k}one", "x"], ["spop", "{k}one"],
        ["exists", "{k}one"], ["sadd", "{k}one", "x"], ["srandmember", "{k}one", "-3"],
        ["U", "spop", "{k}t", "10"], ["exists", "{k}t"],
        ["U", "sscan", "{k}s", "0"], ["U", "sscan", "{k}s", "0", "MATCH", "c*", "COUNT", "5"],
        ["sscan", "{k}s", "x"], ["sscan", "{k}s", "0", "COUNT", "0"],
        ["sscan", "{k}none", "0", "COUNT", "0"], ["sscan", "{k}s", "0", "TYPE", "set"],
        ["sscan", "{k}str", "0"], ["sadd", "{k}s"], ["sintercard", "1"], ["smove", "a", "b"],
        ["sadd", "{k}e", "a"], ["expire", "{k}e", "100"], ["sadd", "{k}e", "b"],
        ["srem", "{k}e", "a"], ["ttl", "{k}e"], ["srem", "{k}e", "b"], ["exists", "{k}e"],
        ["hset", "{k}h", "f1", "v1", "f2", "v2"], ["hset", "{k}h", "f1", "x", "f3", "v3"],
        ["hmset", "{k}h", "f4", "4"], ["hset", "{k}h", "f"], ["hmset", "{k}h", "f", "v", "g"],
        ["hget", "{k}h", "f1"], ["hget", "{k}h", "no"], ["hget", "{k}none", "f"],
        ["hmget", "{k}h", "f1", "no", "f3"], ["hmget", "{k}none", "a"], ["hlen", "{k}h"],
        ["U", "hgetall", "{k}h"], ["U", "hkeys", "{k}h"], ["U", "hvals", "{k}h"],
        ["hgetall", "{k}none"], ["hkeys", "{k}none"], ["hexists", "{k}h", "f2"],
        ["hexists", "{k}h", "no"], ["hstrlen", "{k}h", "f3"], ["hstrlen", "{k}h", "no"],
        ["hsetnx", "{k}h", "f1", "y"], ["hsetnx", "{k}h", "f9", "y"], ["hdel", "{k}h", "f9", "f9"],
        ["hincrby", "{k}h", "n", "5"], ["hincrby", "{k}h", "n", "-7"], ["hincrby", "{k}h", "n", "x"],
        ["hincrby", "{k}h", "f1", "1"], ["hset", "{k}h", "m", "9223372036854775807"],
        ["hincrby", "{k}h", "m", "1"], ["hincrbyfloat", "{k}h", "fl", "10.5"],
        ["hincrbyfloat", "{k}h", "fl", "0.1"], ["hincrbyfloat", "{k}h", "fl", "5.0e3"],
        ["hincrbyfloat", "{k}h", "fl", "x"], ["hincrbyfloat", "{k}h", "fl", "inf"],
        ["hincrbyfloat", "{k}h", "f1", "1"], ["hincrbyfloat", "{k}h", "n", "1.5"],
        ["hrandfield", "{k}none"], ["hrandfield", "{k}none", "2", "withvalues"],
        ["hrandfield", "{k}h", "0"], ["hrandfield", "{k}h", "x"],
        ["hrandfield", "{k}h", "1", "foo"], ["hrandfield", "{k}h", "-9223372036854775807", "withvalues"],
        ["U", "hrandfield", "{k}h", "100"], ["U", "hrandfield", "{k}h", "100", "WITHVALUES"],
        ["U", "hscan", "{k}h", "0"], ["U", "hscan", "{k}h", "0", "MATCH", "f*"],
        ["hscan", "{k}h", "0", "COUNT", "x"], ["hscan", "{k}none", "0"], ["hscan", "{k}h", " 0"],
        ["hget", "{k}str", "f"], ["hset", "{k}str", "f", "v"], ["hgetall", "{k}str"],
        ["hincrby", "{k}str", "f", "1"], ["hrandfield", "{k}str"],
        ["expire", "{k}h", "100"], ["hset", "{k}h", "z", "1"], ["hdel", "{k}h", "f1"], ["ttl", "{k}h"],
        ["hdel", "{k}h", "f2", "f3", "f4", "n", "m", "fl", "z"], ["exists", "{k}h"],
        ["type", "{k}s"], ["type", "{k}h"],
    ]

    @staticmethod
    def canonical(reply, group):
        """An aggregate reply with its elements (`group` at a time) sorted."""
        if reply[:1] not in (b"*", b"~", b"%"):
            return reply
        eol = reply.index(b"\r\n") + 2
        items, at = [], eol
        while at < len(reply):
            end = at
            for _ in range(group):
                end = RespTest.reply_len(reply, end)
            items.append(reply[at:end])
            at = end
        return reply[:eol] + b"".join(sorted(items))

    def unordered(self, args, reply):
        name = args[0].lower()
        group = 2 if name in ("hgetall", "hscan") or (name == "hrandfield" and len(args) == 4) \
            else 1
        if reply.startswith(b"%") or (name == "hrandfield" and reply.startswith(b"*") and
                                      reply[reply.index(b"\r\n") + 2:][:2] == b"*2"):
            group = 1  # RESP3: a map's pairs, or nested pairs, are whole elements
        if name in ("sscan", "hscan") and reply.startswith(b"*2\r\n"):
            cur = self.reply_len(reply, 4)
            return reply[:cur] + self.canonical(reply[cur:], group)
        return self.canonical(reply, group)

    @staticmethod
    def reply_len(b, at):
        eol = b.index(b"\r\n", at)
        kind = b[at:at + 1]
        n = int(b[at + 1:eol]) if kind in (b"$", b"*", b"~", b"%") else 0
        at = eol + 2
        if kind == b"$":
            return at if n < 0 else at + n + 2
        if kind in (b"*", b"~", b"%"):
            for _ in range(max(n, 0) * (2 if kind == b"%" else 1)):
                at = RespTest.reply_len(b, at)
        return at

    def test_set_and_hash_commands_match_redis_server(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("dc")
        diffs = []
        try:
            ordered = [c for c in self.DIFF_COLLECTIONS if c[0] != "U"]
            for cmd in self.DIFF_COLLECTIONS:
                if cmd[0] != "U":
                    diffs += self.differences(ours, theirs, [cmd], k)
                    continue
                args = [a.replace("{k}", k) for a in cmd[1:]]
                a, b = ours.cmd(*args), theirs.cmd(*args)
                ca, cb = self.unordered(args, a), self.unordered(args, b)
                if ca != cb:
                    diffs.append(f"{args} (unordered): fulmar {a!r} redis {b!r}")
            self.assertGreater(len(ordered), 100)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    # The same commands' RESP3 forms (after HELLO 3): sets (~), maps (%),
    # null (_), nested HRANDFIELD pairs.
    DIFF_COLLECTIONS_RESP3 = [
        ["sadd", "{k}s", "a", "b", "c"], ["U", "smembers", "{k}s"], ["smembers", "{k}none"],
        ["U", "sinter", "{k}s", "{k}s"], ["U", "sunion", "{k}s", "{k}none"],
        ["sdiff", "{k}s", "{k}s"], ["U", "spop", "{k}none", "2"], ["spop", "{k}none"],
        ["srandmember", "{k}none"], ["U", "srandmember", "{k}s", "5"],
        ["srandmember", "{k}s", "0"], ["smismember", "{k}s", "a", "z"], ["U", "sscan", "{k}s", "0"],
        ["hset", "{k}h", "f1", "v1", "f2", "v2"], ["U", "hgetall", "{k}h"], ["hgetall", "{k}none"],
        ["U", "hkeys", "{k}h"], ["hget", "{k}h", "no"], ["hmget", "{k}h", "f1", "no"],
        ["hrandfield", "{k}none"], ["hrandfield", "{k}none", "2", "withvalues"],
        ["U", "hrandfield", "{k}h", "5", "withvalues"], ["U", "hrandfield", "{k}h", "5"],
        ["hincrbyfloat", "{k}h", "n", "1.5"], ["U", "hscan", "{k}h", "0"],
        ["sadd", "{k}one", "x"], ["spop", "{k}one", "1"], ["hset", "{k}h1", "f", "v"],
        ["hrandfield", "{k}h1", "-2", "withvalues"], ["hrandfield", "{k}h1", "1", "withvalues"],
    ]

    def test_set_and_hash_resp3_replies_match_redis_server(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("d3")
        diffs = []
        try:
            for r in (ours, theirs):
                self.assertTrue(r.cmd("hello", "3").startswith(b"%"))
            for cmd in self.DIFF_COLLECTIONS_RESP3:
                if cmd[0] != "U":
                    diffs += self.differences(ours, theirs, [cmd], k)
                    continue
                args = [a.replace("{k}", k) for a in cmd[1:]]
                a, b = ours.cmd(*args), theirs.cmd(*args)
                if self.unordered(args, a) != self.unordered(args, b):
                    diffs.append(f"{args} (unordered): fulmar {a!r} redis {b!r}")
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_set_and_hash_writes_of_two_keys_on_one_shard_or_crossslot(self):
        """SMOVE and the STORE forms run whole when their keys share an
        owner (compared with redis-server then), CROSSSLOT otherwise."""
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("mc")
        seen = set()
        try:
            for i in range(40):
                src, dst = f"{k}src", f"{k}dst{i}"
                for r in (ours, theirs):
                    r.cmd("del", src)
                    r.cmd("sadd", src, "a", "b", "c")
                    r.cmd("sadd", dst, "c", "d")
                rep = ours.cmd("smove", src, dst, "a")
                if rep.startswith(b"-CROSSSLOT"):
                    seen.add("cross")
                    for cmd in (["sinterstore", dst, src, dst], ["sunionstore", src, dst],
                                ["sdiffstore", dst, src]):
                        self.assertTrue(ours.cmd(*cmd).startswith(b"-CROSSSLOT"), cmd)
                    self.assertEqual(ours.cmd("scard", src), b":3\r\n")
                    continue
                seen.add("ok")
                self.assertEqual(rep, theirs.cmd("smove", src, dst, "a"))
                # Only src and dst: a third key could live on another owner.
                for cmd in (["smove", src, dst, "zz"], ["smove", src, src, "b"],
                            ["sunionstore", dst, src, dst], ["sinterstore", src, src, dst],
                            ["scard", src], ["sdiffstore", src, src, dst], ["exists", src],
                            ["sadd", src, "q"], ["sinterstore", dst, src, dst],
                            ["exists", dst]):
                    self.assertEqual(ours.cmd(*cmd), theirs.cmd(*cmd), cmd)
            self.assertEqual(seen, {"ok", "cross"})
        finally:
            ours.close()
            theirs.close()

    def test_multi_key_writes_on_one_shard_or_crossslot(self):
        """RENAME and MSETNX run whole when both keys share an owner, and
        answer CROSSSLOT otherwise (two workers: some pairs split)."""
        r = self.fulmar()
        k = self.key("mk")
        try:
            seen = set()
            for i in range(40):
                r.cmd("set", f"{k}src", "v")
                rep = r.cmd("rename", f"{k}src", f"{k}dst{i}")
                if rep == b"+OK\r\n":
                    seen.add("ok")
                    self.assertEqual(r.cmd("get", f"{k}dst{i}"), b"$1\r\nv\r\n")
                    self.assertEqual(r.cmd("exists", f"{k}src"), b":0\r\n")
                    self.assertEqual(r.cmd("renamenx", f"{k}dst{i}", f"{k}dst{i}"), b":0\r\n")
                    self.assertEqual(r.cmd("msetnx", f"{k}src", "a", f"{k}dst{i}", "b"),
                                     b":0\r\n")
                    r.cmd("del", f"{k}dst{i}")
                    self.assertEqual(r.cmd("msetnx", f"{k}src", "a", f"{k}dst{i}", "b"),
                                     b":1\r\n")
                    self.assertEqual(r.cmd("mget", f"{k}src", f"{k}dst{i}"),
                                     b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
                else:
                    seen.add("cross")
                    self.assertEqual(rep, b"-CROSSSLOT Keys in request don't hash to the "
                                          b"same slot\r\n")
                    self.assertEqual(r.cmd("exists", f"{k}src"), b":1\r\n")
                r.cmd("del", f"{k}src")
            self.assertEqual(seen, {"ok", "cross"})
            # (a destination on the same owner: else the answer is CROSSSLOT)
            x = self.same_owner(r, f"{k}nosuch", "x")
            self.assertEqual(r.cmd("rename", f"{k}nosuch", x), b"-ERR no such key\r\n")
        finally:
            r.close()

    def test_lazy_and_active_expiry(self):
        """With the paced sweep stopped (DEBUG SET-ACTIVE-EXPIRE 0) expired
        keys stay resident until a read meets them, which frees them, as
        Redis's lazy expiry; turned back on, the sweep frees them unread."""
        import redis
        r = redis.Redis(host=DP_IP, port=REDIS_PORT, socket_timeout=10)
        k = self.key("lazy")
        keys = [f"{{{k}}}:{i}" for i in range(3)]
        try:
            base = r.dbsize()
            r.execute_command("debug", "set-active-expire", "0")
            for key in keys:
                r.psetex(key, 300, "v")
            time.sleep(1.5)
            self.assertEqual(r.dbsize(), base + 3)
            self.assertEqual(r.mget(keys), [None, None, None])
            self.assertEqual(r.dbsize(), base)
            for key in keys:
                r.psetex(key, 300, "v")
            r.execute_command("debug", "set-active-expire", "1")
            # At its minimum rate (few expiries) the paced sweep walks a
            # page of small chunks in several seconds: a few expired keys
            # among live ones can take that long (docs/redis-suite.md).
            deadline = time.monotonic() + 30
            while r.dbsize() != base and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(r.dbsize(), base)
        finally:
            r.execute_command("debug", "set-active-expire", "1")
            r.close()

    def test_hash_tags_put_keys_on_one_owner(self):
        """Keys sharing a Redis Cluster hash tag share an owner: multi-key
        writes over them never answer CROSSSLOT."""
        r = self.fulmar()
        k = self.key("tag")
        try:
            for i in range(30):
                a, b = f"{{{k}{i}}}:a", f"x{{{k}{i}}}:b"
                self.assertEqual(r.cmd("set", a, "v"), b"+OK\r\n")
                self.assertEqual(r.cmd("rename", a, b), b"+OK\r\n")
                self.assertEqual(r.cmd("msetnx", a, "1", b, "2"), b":0\r\n")
                self.assertEqual(r.cmd("del", a, b), b":1\r\n")
        finally:
            r.close()

    def test_keys_scan_randomkey_over_both_shards(self):
        """KEYS and RANDOMKEY gather every owner's answer; SCAN's cursor walks
        one owner after the other; redis-py's scan_iter sees every key once."""
        import redis
        r = redis.Redis(host=DP_IP, port=REDIS_PORT, socket_timeout=10)
        k = self.key("ks")
        want = {f"{k}:{i}".encode() for i in range(300)}
        pipe = r.pipeline(transaction=False)
        for key in want:
            pipe.set(key, "v")
        pipe.execute()
        self.assertEqual(set(r.keys(f"{k}:*")), want)
        self.assertEqual(set(r.keys(f"{k}:1?")), {f"{k}:1{d}".encode() for d in range(10)})
        seen = list(r.scan_iter(match=f"{k}:*", count=17))
        self.assertEqual(len(seen), len(want))
        self.assertEqual(set(seen), want)
        self.assertEqual(set(r.scan_iter(match=f"{k}:*", _type="string")), want)
        self.assertEqual(list(r.scan_iter(match=f"{k}:*", _type="list")), [])
        for _ in range(20):
            key = r.randomkey()
            self.assertIsNotNone(key)
            self.assertEqual(r.exists(key), 1)
        r.delete(*want)
        self.assertEqual(r.keys(f"{k}:*"), [])
        r.close()

    # Lists ({d}: a key on the same owner as {k}d, found by the test).
    DIFF_LISTS = [
        ["lpush", "{k}l", "a", "b", "c"], ["rpush", "{k}l", "d", "e"], ["lrange", "{k}l", "0", "-1"],
        ["lpushx", "{k}l", "x"], ["rpushx", "{k}l", "y"], ["lpushx", "{k}none", "x"],
        ["rpushx", "{k}none", "x"], ["exists", "{k}none"], ["llen", "{k}l"], ["llen", "{k}none"],
        ["lrange", "{k}l", "1", "3"], ["lrange", "{k}l", "-3", "-1"], ["lrange", "{k}l", "5", "2"],
        ["lrange", "{k}l", "-100", "100"], ["lrange", "{k}l", "a", "1"],
        ["lrange", "{k}none", "0", "-1"], ["lindex", "{k}l", "0"], ["lindex", "{k}l", "-1"],
        ["lindex", "{k}l", "100"], ["lindex", "{k}l", "x"], ["lindex", "{k}none", "x"],
        ["lset", "{k}l", "1", "B"], ["lset", "{k}l", "-1", "Y"], ["lset", "{k}l", "99", "z"],
        ["lset", "{k}none", "0", "z"], ["lset", "{k}l", "x", "z"], ["lrange", "{k}l", "0", "-1"],
        ["lpop", "{k}l"], ["rpop", "{k}l"], ["lpop", "{k}l", "2"], ["rpop", "{k}l", "1"],
        ["lpop", "{k}l", "0"], ["lpop", "{k}none"], ["lpop", "{k}none", "0"],
        ["rpop", "{k}none", "5"], ["lpop", "{k}l", "-1"], ["lpop", "{k}l", "x"],
        ["lpop", "{k}l", "1", "2"], ["rpush", "{k}r", "a", "b", "a", "c", "a", "b", "a"],
        ["lrem", "{k}r", "1", "a"], ["lrem", "{k}r", "-1", "a"], ["lrange", "{k}r", "0", "-1"],
        ["lrem", "{k}r", "0", "a"], ["lrem", "{k}r", "0", "zz"], ["lrem", "{k}none", "0", "a"],
        ["lrem", "{k}r", "x", "a"], ["lrange", "{k}r", "0", "-1"],
        ["linsert", "{k}r", "before", "b", "n"], ["linsert", "{k}r", "AFTER", "c", "m"],
        ["linsert", "{k}r", "after", "zz", "m"], ["linsert", "{k}none", "after", "a", "m"],
        ["linsert", "{k}r", "middle", "b", "n"], ["lrange", "{k}r", "0", "-1"],
        ["ltrim", "{k}r", "1", "-2"], ["lrange", "{k}r", "0", "-1"], ["ltrim", "{k}r", "0", "x"],
        ["ltrim", "{k}none", "0", "1"], ["ltrim", "{k}r", "5", "1"], ["exists", "{k}r"],
        ["rpush", "{k}p", "a", "b", "c", "1", "2", "3", "c", "c"], ["lpos", "{k}p", "c"],
        ["lpos", "{k}p", "c", "RANK", "2"], ["lpos", "{k}p", "c", "RANK", "-1"],
        ["lpos", "{k}p", "c", "COUNT", "0"], ["lpos", "{k}p", "c", "COUNT", "2", "RANK", "-1"],
        ["lpos", "{k}p", "c", "COUNT", "0", "MAXLEN", "3"], ["lpos", "{k}p", "c", "RANK", "9"],
        ["lpos", "{k}p", "x", "COUNT", "1"], ["lpos", "{k}none", "x"],
        ["lpos", "{k}none", "x", "COUNT", "0"], ["lpos", "{k}p", "a", "RANK", "-9223372036854775808"],
        ["lpos", "{k}p", "c", "RANK", "0"], ["lpos", "{k}p", "c", "COUNT", "-1"],
        ["lpos", "{k}p", "c", "MAXLEN", "-1"], ["lpos", "{k}p", "c", "COUNT"],
        ["lpos", "{k}p", "c", "FOO", "1"], ["lpos", "{k}p", "c", "RANK", "x"],
        ["rpush", "{k}d", "1", "2", "3"], ["lmove", "{k}d", "{d}", "left", "RIGHT"],
        ["rpoplpush", "{k}d", "{d}"], ["lrange", "{d}", "0", "-1"],
        ["lmove", "{d}", "{d}", "left", "right"], ["lrange", "{d}", "0", "-1"],
        ["lmove", "{k}d", "{d}", "right", "left"], ["exists", "{k}d"],
        ["lmove", "{k}d", "{d}", "right", "left"], ["rpoplpush", "{k}d", "{d}"],
        ["lmove", "{k}d", "{d}", "up", "left"], ["set", "{k}s", "v"],
        ["set", "{k}d", "v"], ["lmove", "{d}", "{k}d", "left", "left"],
        ["lmove", "{k}d", "{d}", "left", "left"], ["brpoplpush", "{k}d", "{d}", "0"],
        ["blmove", "{d}", "{k}d", "left", "left", "0"], ["llen", "{d}"], ["del", "{k}d"],
        ["lpush", "{k}s", "a"], ["rpop", "{k}s"], ["llen", "{k}s"],
        ["lrange", "{k}s", "0", "1"], ["lindex", "{k}s", "0"], ["lpos", "{k}s", "a"],
        ["lset", "{k}s", "0", "a"], ["lrem", "{k}s", "0", "a"], ["ltrim", "{k}s", "0", "1"],
        ["linsert", "{k}s", "before", "a", "b"], ["type", "{d}"],
        ["rpush", "{k}b", "x", "y"], ["blpop", "{k}b", "0"], ["brpop", "{k}b", "1.5"],
        ["blpop", "{k}s", "0"], ["blpop", "{k}b", "x"], ["blpop", "{k}b", "-1"],
        ["blpop", "{k}b", "nan"], ["blpop", "{k}b", "inf"], ["blpop", "{k}b", "1e5000"],
        ["blpop", "{k}b", "99999999999999999999"], ["blpop", "{k}none", "0.0001"],
        ["rpush", "{k}d", "m"], ["blmove", "{k}d", "{d}", "right", "left", "0"],
        ["blmove", "{k}d", "{d}", "up", "left", "0"], ["blmove", "{k}d", "{d}", "left", "left", "x"],
        ["rpush", "{k}d", "n"], ["brpoplpush", "{k}d", "{d}", "0"], ["lrange", "{d}", "0", "-1"],
        ["brpoplpush", "{k}d", "{d}", "-1"],
        ["lpush"], ["lpush", "{k}l"], ["rpop"], ["llen"], ["lrange", "{k}l", "0"],
        ["lindex", "{k}l"], ["lset", "{k}l", "0"], ["lrem", "{k}l"], ["ltrim", "{k}l", "0"],
        ["linsert", "{k}l", "before", "a"], ["lpos", "{k}l"], ["lmove", "{k}l", "{d}", "left"],
        ["rpoplpush", "{k}l"], ["blpop", "{k}l"], ["blmove", "{k}l", "{d}", "left", "left"],
        ["brpoplpush", "{k}l", "{d}"],
    ]

    def same_owner(self, conn, key, tag):
        """A key that lives with `key` (LMOVE answers CROSSSLOT otherwise)."""
        for i in range(64):
            other = f"{key}{tag}{i}"
            if conn.cmd("rpoplpush", key, other) == b"$-1\r\n":
                return other
        raise AssertionError("no key on the same owner in 64 tries")

    def test_list_commands_match_redis_server(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("dl")
        try:
            d = self.same_owner(ours, f"{k}d", "x")
            cmds = [[a.replace("{d}", d) for a in c] for c in self.DIFF_LISTS]
            diffs = self.differences(ours, theirs, cmds, k)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_list_moves_and_blocking_pops_across_owners_are_crossslot(self):
        r = self.fulmar()
        k = self.key("lx")
        try:
            cross = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
            seen = set()
            for i in range(40):
                r.cmd("rpush", f"{k}s", "v")
                rep = r.cmd("lmove", f"{k}s", f"{k}d{i}", "left", "left")
                if rep == cross:
                    seen.add("cross")
                    self.assertEqual(r.cmd("blpop", f"{k}s", f"{k}d{i}", "0"), cross)
                    self.assertEqual(r.cmd("blmove", f"{k}s", f"{k}d{i}", "left", "left", "0"),
                                     cross)
                    self.assertEqual(r.cmd("llen", f"{k}s"), b":1\r\n")
                else:
                    seen.add("same")
                    self.assertEqual(rep, b"$1\r\nv\r\n")
                    self.assertEqual(r.cmd("blpop", f"{k}s", f"{k}d{i}", "0"),
                                     f"*2\r\n${len(k) + 1 + len(str(i))}\r\n{k}d{i}\r\n"
                                     "$1\r\nv\r\n".encode())
                r.cmd("del", f"{k}s")
            self.assertEqual(seen, {"cross", "same"})
        finally:
            r.close()

    def test_blpop_woken_by_another_client_python_redis(self):
        k = self.key("bl")
        script = f"""
import redis, threading, time
def conn():
    return redis.Redis(host="{DP_IP}", port={REDIS_PORT}, socket_timeout=20)
r = conn()
got = {{}}
def wait(name, timeout):
    t0 = time.monotonic()
    got[name] = (conn().blpop(["{k}"], timeout=timeout), time.monotonic() - t0)
# Two waiters, the first to block is served first.
a = threading.Thread(target=wait, args=("a", 0)); a.start(); time.sleep(0.3)
b = threading.Thread(target=wait, args=("b", 10)); b.start(); time.sleep(0.3)
assert not got, got
assert r.rpush("{k}", "one") == 1
a.join(5)
assert got["a"][0] == (b"{k}", b"one"), got
assert "b" not in got, got
assert r.lpush("{k}", "two") == 1
b.join(5)
assert got["b"][0] == (b"{k}", b"two"), got
assert r.exists("{k}") == 0
# A timeout: None (the null array) after about that long.
t0 = time.monotonic()
assert r.blpop(["{k}n"], timeout=0.5) is None
took = time.monotonic() - t0
assert 0.45 <= took < 2.0, took
# BRPOP takes from the tail (several keys: the CROSSSLOT test, as keys
# of two owners are refused).
r.rpush("{k}", "x", "y")
assert r.brpop(["{k}"], timeout=1) == (b"{k}", b"y")
print("ok")
"""
        r = self.fx.ns.ip(PY, "-c", script, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.strip(), "ok")

    def test_blocked_client_holds_its_later_requests_and_times_out_as_redis(self):
        self.start_redis()
        k = self.key("bh")
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        pusher = self.fulmar()
        try:
            # The timeout's reply, byte for byte.
            for c in (ours, theirs):
                self.assertEqual(c.cmd("blpop", f"{k}t", "0.2"), b"*-1\r\n")
                self.assertEqual(c.cmd("brpoplpush", f"{k}t", f"{k}t", "0.2"), b"*-1\r\n")
                self.assertEqual(c.cmd("blmove", f"{k}t", f"{k}t", "left", "left", "0.2"),
                                 b"*-1\r\n")
            # BLPOP then PING, pipelined: nothing until the push, then both.
            ours.s.sendall(f"*3\r\n$5\r\nblpop\r\n${len(k)}\r\n{k}\r\n$1\r\n0\r\n"
                           "*1\r\n$4\r\nping\r\n".encode())
            ours.s.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                ours.s.recv(100)
            ours.s.settimeout(10)
            self.assertEqual(pusher.cmd("rpush", k, "v"), b":1\r\n")
            self.assertEqual(ours.raw(b""), f"*2\r\n${len(k)}\r\n{k}\r\n$1\r\nv\r\n".encode())
            self.assertEqual(read_reply(ours.s, ours.buf)[0], b"+PONG\r\n")
        finally:
            ours.close()
            theirs.close()
            pusher.close()

    def test_blocked_client_that_disconnects_takes_nothing(self):
        k = self.key("bd")
        gone = self.fulmar()
        other = self.fulmar()
        try:
            gone.s.sendall(f"*3\r\n$5\r\nblpop\r\n${len(k)}\r\n{k}\r\n$1\r\n0\r\n".encode())
            time.sleep(0.3)
            gone.close()
            time.sleep(0.3)
            self.assertEqual(other.cmd("rpush", k, "v"), b":1\r\n")
            time.sleep(0.2)
            self.assertEqual(other.cmd("lrange", k, "0", "-1"), b"*1\r\n$1\r\nv\r\n")
            # A BLMOVE waiter is woken by a push to its source, and its move
            # wakes a BLPOP waiting on its destination.
            d = self.same_owner(other, f"{k}m", "x")
            mover, popper = self.fulmar(), self.fulmar()
            try:
                mover.s.sendall(f"*6\r\n$6\r\nblmove\r\n${len(k) + 1}\r\n{k}m\r\n"
                                f"${len(d)}\r\n{d}\r\n$4\r\nleft\r\n$5\r\nright\r\n"
                                "$1\r\n5\r\n".encode())
                popper.s.sendall(f"*3\r\n$5\r\nblpop\r\n${len(d)}\r\n{d}\r\n$1\r\n5\r\n"
                                 .encode())
                time.sleep(0.3)
                self.assertEqual(other.cmd("rpush", f"{k}m", "w"), b":1\r\n")
                self.assertEqual(mover.raw(b""), b"$1\r\nw\r\n")
                self.assertEqual(popper.raw(b""),
                                 f"*2\r\n${len(d)}\r\n{d}\r\n$1\r\nw\r\n".encode())
            finally:
                mover.close()
                popper.close()
        finally:
            other.close()

    # LMPOP and BLMPOP ({d}: a key on the same owner as {k}a).
    DIFF_MPOP = [
        ["rpush", "{k}a", "1", "2", "3", "4", "5"], ["set", "{k}s", "v"],
        ["lmpop", "2", "{k}a", "{d}", "left"], ["lmpop", "2", "{k}a", "{d}", "right", "count", "2"],
        ["lmpop", "2", "{d}", "{k}a", "LEFT", "COUNT", "10"], ["exists", "{k}a"],
        ["rpush", "{d}", "x"], ["lmpop", "2", "{k}a", "{d}", "right", "count", "1"],
        ["lmpop", "1", "{d}", "right"],
        ["lmpop", "1", "{k}s", "left"], ["lmpop", "1", "{k}a", "left", "count", "9223372036854775807"],
        ["lmpop", "0", "{k}a", "left"], ["lmpop", "-1", "{k}a", "left"],
        ["lmpop", "abc", "{k}a", "left"], ["lmpop", "3", "{k}a", "{d}", "left"],
        ["lmpop", "9223372036854775807", "{k}a", "left"], ["lmpop", "2", "{k}a", "{d}"],
        ["lmpop", "1", "{k}a", "up"], ["lmpop", "1", "{k}a", "left", "count", "0"],
        ["lmpop", "1", "{k}a", "left", "count", "abc"], ["lmpop", "1", "{k}a", "left", "count"],
        ["lmpop", "1", "{k}a", "left", "count", "1", "count", "1"],
        ["lmpop", "1", "{k}a", "left", "foo"], ["lmpop", "1", "{k}a"], ["lmpop"],
        ["blmpop", "-1", "1", "{k}a", "left"], ["blmpop", "abc", "1", "{k}a", "left"],
        ["blmpop", "abc", "0", "{k}a", "left"], ["blmpop", "abc", "1", "{k}a", "up"],
        ["blmpop", "abc", "1", "{k}a", "left", "count", "0"], ["blmpop", "0", "1", "{k}s", "left"],
        ["rpush", "{d}", "1", "2", "3"],
        ["blmpop", "0", "2", "{k}a", "{d}", "right", "count", "2"],
        ["blmpop", "0.05", "1", "{k}a", "left"], ["blmpop", "0", "1", "{k}a"],
        ["multi"], ["blmpop", "0", "1", "{k}a", "left"], ["lmpop", "1", "{k}a", "left"],
        ["blpop", "{k}a", "0"], ["blmpop", "0", "2", "{k}a", "{d}", "left", "count", "5"],
        ["exec"], ["command", "getkeys", "lmpop", "2", "{k}a", "{d}", "left"],
        ["command", "getkeys", "blmpop", "0", "1", "{k}a", "left", "count", "2"],
    ]

    def test_lmpop_and_blmpop_match_redis_server(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("mp")
        try:
            d = self.same_owner(ours, f"{k}a", "x")
            cmds = [[a.replace("{d}", d) for a in c] for c in self.DIFF_MPOP]
            diffs = self.differences(ours, theirs, cmds, k)
            # Keys of two owners: refused, nothing popped.
            cross = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
            seen = set()
            for i in range(40):
                ours.cmd("rpush", f"{k}c", "v")
                rep = ours.cmd("lmpop", "2", f"{k}c", f"{k}c{i}", "left")
                if rep == cross:
                    seen.add("cross")
                    self.assertEqual(ours.cmd("blmpop", "0", "2", f"{k}c", f"{k}c{i}", "left"),
                                     cross)
                    self.assertEqual(ours.cmd("llen", f"{k}c"), b":1\r\n")
                else:
                    seen.add("same")
                    self.assertEqual(rep, f"*2\r\n${len(k) + 1}\r\n{k}c\r\n*1\r\n$1\r\nv\r\n"
                                     .encode())
                ours.cmd("del", f"{k}c")
            self.assertEqual(seen, {"cross", "same"})
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def blocked_scenarios(self, connect, k, d):
        """The suite's blocking-pop cases around MULTI/EXEC, run against one
        server: every reply the clients got, in order."""
        got = []
        r = connect()
        waiters = []

        def block(*args):
            c = connect()
            parts = [f"*{len(args)}\r\n".encode()]
            for a in args:
                parts += [f"${len(a)}\r\n".encode(), a.encode(), b"\r\n"]
            c.s.sendall(b"".join(parts))
            waiters.append(c)
            time.sleep(0.15)  # blocked before what follows
            return c

        try:
            # A transaction's pushes wake a waiter once it has run whole.
            for pop in (["blpop", k, "0"], ["blmpop", "0", "1", k, "left"]):
                w = block(*pop)
                got += [r.cmd("multi"), r.cmd("lpush", k, "a"), r.cmd("lpush", k, "b"),
                        r.cmd("lpush", k, "c"), r.cmd("exec"), w.raw(b""), r.cmd("del", k)]
                # LPUSH + DEL (+ SET) in one transaction wakes no one.
                w = block(*pop)
                got += [r.cmd("multi"), r.cmd("lpush", k, "a"), r.cmd("del", k),
                        r.cmd("set", k, "foo"), r.cmd("exec"), r.cmd("del", k),
                        r.cmd("lpush", k, "b"), w.raw(b"")]
            # BLMPOP with several blocked clients, served in arrival order.
            ws = [block("blmpop", "0", "2", k, d, "left", "count", "1"),
                  block("blmpop", "0", "2", k, d, "right", "count", "10"),
                  block("blmpop", "0", "2", k, d, "left", "count", "10"),
                  block("blmpop", "0", "2", k, d, "right", "count", "1")]
            got += [r.cmd("multi"), r.cmd("lpush", k, "a", "b", "c", "d", "e"),
                    r.cmd("lpush", d, "1", "2", "3", "4", "5"), r.cmd("exec")]
            got += [w.raw(b"") for w in ws[:3]]
            got += [r.cmd("lpush", d, "1", "2", "3"), ws[3].raw(b""), r.cmd("lrange", d, "0", "-1")]
            # A blocked BRPOPLPUSH whose destination is a string: WRONGTYPE
            # when woken, the element left in the source.
            got += [r.cmd("del", k, d), r.cmd("set", d, "nolist")]
            w = block("brpoplpush", k, d, "0")
            got += [r.cmd("rpush", k, "foo"), w.raw(b""), r.cmd("lrange", k, "0", "-1"),
                    r.cmd("del", k, d)]
            # Two blocked BRPOPLPUSH, the first's destination a string: it
            # gets WRONGTYPE, the second the element (hash tags: one owner).
            src, t1, t2 = f"{{{k}}}src", f"{{{k}}}t1", f"{{{k}}}t2"
            got.append(r.cmd("set", t1, "nolist"))
            w1, w2 = block("brpoplpush", src, t1, "0"), block("brpoplpush", src, t2, "0")
            got += [r.cmd("lpush", src, "foo"), w1.raw(b""), w2.raw(b""),
                    r.cmd("lrange", t2, "0", "-1"), r.cmd("del", src, t1, t2)]
            # CLIENT UNBLOCK: as at the timeout, or Redis's error; 0 for a
            # client that is not blocked (ids differ: not compared).
            u = connect()
            waiters.append(u)
            uid = int(u.cmd("client", "id")[1:-2])
            for pop, how in ((["blpop", k, "0"], []), (["blmpop", "0", "1", k, "left"], ["TIMEOUT"]),
                             (["brpoplpush", k, d, "0"], ["ERROR"])):
                u.s.sendall(("".join(f"${len(x)}\r\n{x}\r\n" for x in pop)).join(
                    [f"*{len(pop)}\r\n", ""]).encode())
                time.sleep(0.15)
                got += [r.cmd("client", "unblock", str(uid), *how), u.raw(b"")]
            got += [r.cmd("client", "unblock", str(uid)), r.cmd("client", "unblock", "asd"),
                    r.cmd("client", "unblock", str(uid), "foo"),
                    r.cmd("client", "unblock", "asd", "foo"),
                    r.cmd("client", "unblock", str(uid), "error", "x"), u.cmd("rpush", k, "z"),
                    u.cmd("lpop", k)]
            # A timeout: the null array.
            got.append(r.cmd("blmpop", "0.1", "2", k, d, "left"))
        finally:
            for w in waiters:
                w.close()
            r.cmd("del", k, d)
            r.close()
        return got

    def test_transactions_wake_blocked_pops_as_redis(self):
        self.start_redis()
        k = self.key("mx")
        probe = self.fulmar()
        try:
            d = self.same_owner(probe, k, "x")
        finally:
            probe.close()
        theirs = self.blocked_scenarios(
            lambda: Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10)), k, d)
        ours = self.blocked_scenarios(self.fulmar, k, d)
        self.assertEqual(ours, theirs)
        self.assertIn(f"*2\r\n${len(k)}\r\n{k}\r\n$1\r\nc\r\n".encode(), ours)
        # INFO's blocked_clients counts the waiters (the suite waits on it).
        r, w = self.fulmar(), self.fulmar()
        try:
            def blocked():
                return re.search(rb"blocked_clients:(\d+)", r.cmd("info", "clients")).group(1)
            self.assertEqual(blocked(), b"0")
            w.s.sendall(f"*5\r\n$6\r\nblmpop\r\n$1\r\n0\r\n$1\r\n1\r\n${len(k)}\r\n{k}\r\n"
                        "$4\r\nleft\r\n".encode())
            time.sleep(0.2)
            self.assertEqual(blocked(), b"1")
            r.cmd("rpush", k, "v")
            self.assertEqual(w.raw(b""), f"*2\r\n${len(k)}\r\n{k}\r\n*1\r\n$1\r\nv\r\n".encode())
            self.assertEqual(blocked(), b"0")
        finally:
            r.close()
            w.close()

    # Encodings: list-max-listpack-size reaches the owners (lists cut in
    # one-entry nodes read back the same), OBJECT as redis-server answers.
    DIFF_ENCODINGS = [
        ["config", "set", "list-max-listpack-size", "1"],
        ["config", "get", "list-max-ziplist-size"],
        ["rpush", "{k}l", "a", "b", "c", "d"], ["lpush", "{k}l", "z"],
        ["lrange", "{k}l", "0", "-1"], ["lindex", "{k}l", "3"], ["lset", "{k}l", "2", "x"],
        ["linsert", "{k}l", "after", "x", "y"], ["ltrim", "{k}l", "1", "-2"],
        ["lrange", "{k}l", "0", "-1"], ["object", "encoding", "{k}l"],
        ["config", "set", "list-max-ziplist-size", "-2"], ["rpop", "{k}l", "2"],
        ["lrange", "{k}l", "0", "-1"], ["object", "encoding", "{k}l"],
        ["config", "set", "list-max-listpack-size", "x"],
        ["config", "set", "list-compress-depth", "-1"],
        ["set", "{k}i", "123"], ["set", "{k}e", "hello"], ["set", "{k}r", "r" * 45],
        ["set", "{k}b", "20000"], ["object", "encoding", "{k}i"], ["object", "encoding", "{k}e"],
        ["object", "encoding", "{k}r"], ["object", "encoding", "{k}none"],
        ["object", "refcount", "{k}i"], ["object", "refcount", "{k}b"],
        ["object", "refcount", "{k}e"], ["object", "freq", "{k}i"], ["object", "freq", "{k}none"],
        ["object", "idletime", "{k}none"], ["object", "help"], ["object", "foo"],
        ["object", "encoding"], ["object"], ["object", "help", "x"],
    ]

    def test_encodings_and_object_match_redis_server(self):
        self.assert_same_replies(self.DIFF_ENCODINGS, "de")

    # Sets and hashes: intset/hashtable and listpack/hashtable by the live
    # settings, one way, as redis-server 7.0.15 (an intset's SMEMBERS is
    # ascending there too; hashtables are read one member at a time, their
    # order being each server's own). Defaults restored at the end.
    DIFF_SET_HASH_ENCODINGS = [
        ["config", "get", "set-max-intset-entries"],
        ["config", "get", "hash-max-listpack-entries"], ["config", "get", "hash-max-ziplist-value"],
        ["sadd", "{k}s", "5", "-3", "100", "0"], ["object", "encoding", "{k}s"],
        ["smembers", "{k}s"], ["sismember", "{k}s", "05"], ["srandmember", "{k}s", "10"],
        ["sadd", "{k}s", "a"], ["object", "encoding", "{k}s"], ["srem", "{k}s", "a"],
        ["object", "encoding", "{k}s"], ["sadd", "{k}t", "9223372036854775808"],
        ["object", "encoding", "{k}t"], ["sadd", "{k}u", "-0"], ["object", "encoding", "{k}u"],
        ["config", "set", "set-max-intset-entries", "3"],
        ["config", "get", "set-max-intset-entries"],
        ["sadd", "{k}v", "1", "2", "3"], ["object", "encoding", "{k}v"],
        ["sadd", "{k}v", "4"], ["object", "encoding", "{k}v"],
        ["sinterstore", "{k}i", "{k}s", "{k}v"], ["object", "encoding", "{k}i"],
        ["smembers", "{k}i"], ["sunionstore", "{k}w", "{k}s", "{k}v"],
        ["object", "encoding", "{k}w"], ["sdiffstore", "{k}d", "{k}s", "{k}v"],
        ["object", "encoding", "{k}d"], ["scard", "{k}d"],
        ["smove", "{k}s", "{k}m", "5"], ["object", "encoding", "{k}m"],
        ["sadd", "{k}x", "1", "2"], ["smove", "{k}x", "{k}y", "2"],
        ["object", "encoding", "{k}x"], ["object", "encoding", "{k}y"],
        ["config", "set", "set-max-intset-entries", "-1"],
        ["config", "set", "set-max-intset-entries", "1k"],
        ["config", "set", "set-max-intset-entries", "512"],
        ["hset", "{k}h", "f", "v", "g", "w"], ["object", "encoding", "{k}h"],
        ["hgetall", "{k}h"], ["hset", "{k}h", "long", "x" * 65],
        ["object", "encoding", "{k}h"], ["hdel", "{k}h", "long"], ["object", "encoding", "{k}h"],
        ["hset", "{k}h2", "x" * 64, "y" * 64], ["object", "encoding", "{k}h2"],
        ["config", "set", "hash-max-ziplist-entries", "2"],
        ["config", "get", "hash-max-listpack-entries"],
        ["hset", "{k}h3", "a", "1", "b", "2"], ["object", "encoding", "{k}h3"],
        ["hincrby", "{k}h3", "c", "5"], ["object", "encoding", "{k}h3"],
        ["config", "set", "hash-max-listpack-value", "1kb"],
        ["config", "get", "hash-max-ziplist-value"],
        ["config", "set", "hash-max-listpack-value", "3"],
        ["hset", "{k}h4", "f", "1.5"], ["hincrbyfloat", "{k}h4", "f", "0.25"],
        ["object", "encoding", "{k}h4"], ["hsetnx", "{k}h5", "f", "v"],
        ["hsetnx", "{k}h5", "f", "long"], ["object", "encoding", "{k}h5"],
        ["config", "set", "hash-max-listpack-value", "-1"],
        ["config", "set", "hash-max-listpack-entries", "x"],
        ["config", "set", "hash-max-listpack-entries", "512"],
        ["config", "set", "hash-max-listpack-value", "64"],
    ]

    @staticmethod
    def same_shard_prefix(conn, base, names):
        """A key prefix whose keys prefix+name all live on one owner: SMOVE
        from a missing key answers 0 there, CROSSSLOT across two."""
        for i in range(5000):
            k = f"{base}_{i}_"
            if all(conn.cmd("smove", k + names[0], k + n, "probe") == b":0\r\n"
                   for n in names[1:]):
                return k
        raise AssertionError("no prefix with every key on one owner")

    def test_set_and_hash_encodings_match_redis_server(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        try:
            # The STORE forms and SMOVE need their keys on one owner.
            k = self.same_shard_prefix(ours, self.key("dse"), ["s", "v", "i", "w", "d", "m", "x", "y"])
            diffs = self.differences(ours, theirs, self.DIFF_SET_HASH_ENCODINGS, k)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_replies_match_redis_server_byte_for_byte(self):
        self.start_redis()
        ours = self.fulmar()
        theirs = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        k = self.key("d")
        diffs = []
        try:
            diffs = self.differences(ours, theirs, self.DIFF, k)
            # An inline command and a protocol error close the connection
            # after the error, in both.
            self.assertEqual(ours.raw(b"PING\r\n"), theirs.raw(b"PING\r\n"))
            bad = b"*1\r\n$x\r\n"
            self.assertEqual(ours.raw(bad), theirs.raw(bad))
            self.assertEqual(ours.s.recv(10), b"")
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))


def main():
    return R.main(__doc__, globals())


if __name__ == "__main__":
    sys.exit(main())
