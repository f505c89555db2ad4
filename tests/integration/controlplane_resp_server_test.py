#!/usr/bin/python3
"""Redis server and connection commands through the control plane.

    controlplane_resp_server_test.py <fulmar-dataplane> <fulmar-controlplane> [Test ...]

An appliance of its own (two workers, so keys land on two owners) with the
exception path, its control plane listening for Redis on REDIS_PORT with
`requirepass` set in its config file; clients in the test's namespace:

    client ns 198.18.121.2 --TAP--> dataplane --kernel TAP--> 198.18.121.1:6379

Covers AUTH/NOAUTH, HELLO and RESP3 replies (from the owners too), CLIENT
(ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY, NO-EVICT), RESET, COMMAND,
INFO, CONFIG, DEBUG SLEEP (the loop goes on) and PROTOCOL, and MULTI/EXEC/
WATCH on one shard (CROSSSLOT across two), with Debian's redis-cli and
python3-redis, and replies compared byte for byte with a redis-server 7.0
started here on a loopback port of 16500-16599 with the same password
(stopped by its pid). Needs root and hugepages; exits 77 (skipped) without.
Names: tag "rsv", subnet 198.18.121.0/24, sockets in a temporary directory.
"""
import os
import random
import re
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp_it as R  # noqa: E402

DATAPLANE = CONTROLPLANE = None
TAG = "rsv"
DP_IP = "198.18.121.1"
CLIENT_IP = "198.18.121.2"
REDIS_PORT = 6379
PASSWORD = "s3cret"
PY = "/usr/bin/python3"


def read_reply(sock, buf):
    """One whole RESP2 or RESP3 reply from `sock`: (its bytes, what is left).
    An attribute (|) and the reply after it count as one."""
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
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return end
        n = int(head)
        if kind in (b"$", b"=", b"!"):
            if n < 0:
                return end
            need(end + n + 2)
            return end + n + 2
        if kind in (b"*", b"~", b">"):
            for _ in range(max(n, 0)):
                end = one(end)
            return end
        if kind in (b"%", b"|"):
            for _ in range(2 * n):
                end = one(end)
            return one(end) if kind == b"|" else end
        raise AssertionError(f"not RESP: {buf[at:at + 50]!r}")

    end = one(0)
    return buf[:end], buf[end:]


def bulk_text(reply):
    """The text of a RESP2 bulk string reply."""
    head, _, rest = reply.partition(b"\r\n")
    assert head.startswith(b"$"), reply[:50]
    return rest[:int(head[1:])].decode()


def encode(args):
    parts = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts += [f"${len(a)}\r\n".encode(), a, b"\r\n"]
    return b"".join(parts)


class Raw:
    """A RESP connection speaking raw bytes."""

    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(10)
        self.buf = b""

    def cmd(self, *args):
        self.s.sendall(encode(args))
        return self.reply()

    def reply(self):
        reply, self.buf = read_reply(self.s, self.buf)
        return reply

    def closed(self, timeout=3):
        """Whether the server closed the connection (nothing more to read)."""
        self.s.settimeout(timeout)
        try:
            return self.s.recv(100) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


class RespServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx, cls.cp = R.start_appliance(DATAPLANE, CONTROLPLANE, TAG, DP_IP, CLIENT_IP,
                                           [f'requirepass = "{PASSWORD}"'])
        cls.redis = None
        cls.redis_port = None

    @classmethod
    def tearDownClass(cls):
        R.stop_process(cls.redis)
        cls.cp.stop()
        cls.fx.teardown()

    def fulmar(self, auth=True):
        s = self.fx.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((DP_IP, REDIS_PORT))
        c = Raw(s)
        if auth:
            self.assertEqual(c.cmd("auth", PASSWORD), b"+OK\r\n")
        return c

    def theirs(self, auth=True):
        self.start_redis()
        c = Raw(socket.create_connection(("127.0.0.1", self.redis_port), timeout=10))
        if auth:
            self.assertEqual(c.cmd("auth", PASSWORD), b"+OK\r\n")
        return c

    @classmethod
    def start_redis(cls):
        """redis-server 7.0 on host loopback (a port of 16500-16599), no
        persistence, one database, the appliance's password."""
        if cls.redis is not None:
            return
        cls.redis, cls.redis_port = R.start_redis_server(
            cls.fx.workdir, ["--requirepass", PASSWORD, "--enable-debug-command", "yes"],
            ports=range(16500, 16600))

    def key(self, tag):
        return f"{tag}{os.getpid()}_{random.randrange(1 << 30)}"

    def same_shard_keys(self, c, n):
        """n keys that live on one shard (WATCH of two keys on two shards is
        -CROSSSLOT, else +OK)."""
        base = self.key("ss")
        keys = [base]
        i = 0
        while len(keys) < n:
            i += 1
            k = f"{base}_{i}"
            r = c.cmd("watch", base, k)
            c.cmd("unwatch")
            if r == b"+OK\r\n":
                keys.append(k)
            else:
                self.assertTrue(r.startswith(b"-CROSSSLOT"), r)
        return keys

    def other_shard_key(self, c, key):
        for i in range(64):
            k = f"{key}_o{i}"
            r = c.cmd("watch", key, k)
            c.cmd("unwatch")
            if r.startswith(b"-CROSSSLOT"):
                return k
        raise AssertionError("no key on the other shard in 64 tries")

    def diff(self, cmds, ours, theirs, mask=None):
        """Each command to both; the differences (after `mask`, a function of
        (args, reply))."""
        out = []
        for args in cmds:
            a, b = ours.cmd(*args), theirs.cmd(*args)
            if mask is not None:
                a, b = mask(args, a), mask(args, b)
            if a != b:
                out.append(f"{args}: fulmar {a!r} redis {b!r}")
        return out

    # ---- AUTH ----------------------------------------------------------------

    def test_auth_and_noauth_as_redis(self):
        cmds = [["ping"], ["get", "x"], ["nosuch"], ["get"], ["auth", "wrong"],
                ["auth", "default", "wrong"], ["auth", "nobody", PASSWORD], ["auth", "a", "b", "c"],
                ["hello", "3"], ["hello", "3", "auth", "default", "wrong"], ["hello", "4"],
                ["hello", "x"], ["hello", "2", "foo"], ["client", "id"], ["auth", PASSWORD],
                ["ping"], ["auth", "default", PASSWORD], ["echo", "in"]]
        ours, theirs = self.fulmar(auth=False), self.theirs(auth=False)
        try:
            diffs = self.diff(cmds, ours, theirs)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))
        # HELLO AUTH authenticates and switches protocol at once.
        c = self.fulmar(auth=False)
        try:
            r = c.cmd("hello", "3", "auth", "default", PASSWORD, "setname", "h3")
            self.assertTrue(r.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), r)
            self.assertIn(b"$5\r\nproto\r\n:3\r\n", r)
            self.assertEqual(c.cmd("client", "getname"), b"$2\r\nh3\r\n")
            # RESET: not authenticated any more, RESP2 again.
            self.assertEqual(c.cmd("reset"), b"+RESET\r\n")
            self.assertEqual(c.cmd("ping"), b"-NOAUTH Authentication required.\r\n")
        finally:
            c.close()

    def test_config_set_requirepass_applies_to_new_clients(self):
        c = self.fulmar()
        try:
            self.assertEqual(c.cmd("config", "get", "requirepass"),
                             f"*2\r\n$11\r\nrequirepass\r\n${len(PASSWORD)}\r\n{PASSWORD}\r\n"
                             .encode())
            self.assertEqual(c.cmd("config", "set", "requirepass", ""), b"+OK\r\n")
            d = self.fulmar(auth=False)
            self.assertEqual(d.cmd("ping"), b"+PONG\r\n")
            self.assertEqual(d.cmd("auth", "x"), b"-ERR AUTH <password> called without any "
                             b"password configured for the default user. Are you sure your "
                             b"configuration is correct?\r\n")
            d.close()
        finally:
            c.cmd("config", "set", "requirepass", PASSWORD)
            c.close()
        d = self.fulmar(auth=False)
        self.assertEqual(d.cmd("ping"), b"-NOAUTH Authentication required.\r\n")
        d.close()

    # ---- HELLO and RESP3 -------------------------------------------------------

    def test_resp3_replies_match_redis(self):
        k = self.key("r3")
        cmds = [["hello", "3"], ["get", f"{k}none"], ["set", f"{k}s", "v"],
                ["set", f"{k}s", "w", "NX"], ["set", f"{k}s", "w", "NX", "GET"],
                ["mget", f"{k}s", f"{k}none"], ["incr", f"{k}n"], ["del", f"{k}s", f"{k}n"],
                ["set", f"{k}x", "1", "XX"], ["config", "get", "databases"],
                ["command", "info", "nosuchcmd"], ["client", "getname"],
                ["debug", "protocol", "null"], ["debug", "protocol", "double"],
                ["debug", "protocol", "map"], ["debug", "protocol", "set"],
                ["debug", "protocol", "true"], ["debug", "protocol", "bignum"],
                ["debug", "protocol", "verbatim"], ["debug", "protocol", "attrib"],
                ["debug", "protocol", "nosuch"], ["multi"], ["get", f"{k}m"],
                ["set", f"{k}m", "1", "NX"], ["set", f"{k}m", "1", "NX"], ["exec"],
                ["hello", "2"], ["get", f"{k}none"], ["debug", "protocol", "map"],
                ["debug", "protocol", "push"], ["del", f"{k}m"]]

        def mask(args, r):
            # HELLO's id differs (each server numbers its own clients).
            return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:N\r\n", r)

        ours, theirs = self.fulmar(), self.theirs()
        try:
            diffs = self.diff(cmds, ours, theirs, mask)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_hello_in_a_pipeline_switches_the_owners_replies_in_order(self):
        """Requests sent before HELLO 3 are answered in RESP2, those after in
        RESP3, whoever answers (an owner, or the control plane)."""
        k = self.key("hp")
        c = self.fulmar()
        try:
            c.s.sendall(encode(["set", k, "v", "NX", "GET"]) + encode(["hello", "3"]) +
                        encode(["set", k, "w", "NX", "GET"]) + encode(["get", f"{k}none"]) +
                        encode(["hello", "2"]) + encode(["set", f"{k}2", "w", "XX"]) +
                        encode(["del", k]))
            self.assertEqual(c.reply(), b"$-1\r\n")
            self.assertTrue(c.reply().startswith(b"%7\r\n"))
            self.assertEqual(c.reply(), b"$1\r\nv\r\n")
            self.assertEqual(c.reply(), b"_\r\n")
            self.assertTrue(c.reply().startswith(b"*14\r\n"))
            self.assertEqual(c.reply(), b"$-1\r\n")
            self.assertEqual(c.reply(), b":1\r\n")
        finally:
            c.close()
        # redis-cli -3 prints what both servers answer the same way.
        self.start_redis()
        for args in (["get", f"{k}none"], ["set", k, "v"], ["get", k], ["del", k],
                     ["config", "get", "databases"]):
            common = ["redis-cli", "-3", "-a", PASSWORD, "--no-auth-warning"]
            ours = self.fx.ns.ip(*common, "-h", DP_IP, "-p", str(REDIS_PORT), *args)
            theirs = subprocess.run(common + ["-p", str(self.redis_port), *args],
                                    capture_output=True, text=True, check=True)
            self.assertEqual(ours.stdout, theirs.stdout, args)

    def test_python_redis_client_resp3_and_pipeline(self):
        k = self.key("py3")
        script = f"""
import redis
r = redis.Redis(host="{DP_IP}", port={REDIS_PORT}, password="{PASSWORD}", socket_timeout=10)
assert r.ping()
r.client_setname("pyclient")
assert r.client_getname() in ("pyclient", b"pyclient"), r.client_getname()
cid = r.client_id()
assert any(c["id"] == str(cid) or c["id"] == cid for c in r.client_list()), r.client_list()
info = r.info()
assert info["redis_version"] == "7.0.15" and info["connected_clients"] >= 1, info
assert r.config_get("databases") == {{"databases": "1"}}, r.config_get("databases")
with r.pipeline(transaction=True) as p:
    p.set("{k}", 1).incr("{k}").get("{k}")
    assert p.execute() == [True, 2, b"2"]
def add_one(pipe):
    v = int(pipe.get("{k}"))
    pipe.multi()
    pipe.set("{k}", v + 1)
assert r.transaction(add_one, "{k}") == [True]
assert r.get("{k}") == b"3"
print("ok")
"""
        r = self.fx.ns.ip(PY, "-c", script, check=False)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.strip(), "ok")

    # ---- CLIENT, RESET ---------------------------------------------------------

    def test_client_errors_match_redis(self):
        cmds = [["client"], ["client", "nosuch"], ["client", "getname", "x"],
                ["client", "setname", "a b"], ["client", "setname", "ok1"], ["client", "getname"],
                ["client", "setname", ""], ["client", "getname"], ["client", "list", "x"],
                ["client", "list", "type", "nosuch"], ["client", "list", "type", "master"],
                ["client", "kill", "id", "0"], ["client", "kill", "id", "x"],
                ["client", "kill", "nosuch", "1"], ["client", "kill", "skipme", "maybe"],
                ["client", "kill", "1.2.3.4:5"], ["client", "kill", "user", "nobody"],
                ["client", "kill", "id", "999999"], ["client", "no-evict", "maybe"],
                ["client", "no-evict", "on"], ["client", "reply", "maybe"],
                ["client", "kill", "type", "nosuch"], ["client", "list", "id", "x"],
                ["reset"], ["reset", "x"]]
        ours, theirs = self.fulmar(), self.theirs()
        try:
            diffs = self.diff(cmds, ours, theirs)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_client_list_info_and_kill(self):
        a, b = self.fulmar(), self.fulmar()
        try:
            ida = int(a.cmd("client", "id")[1:-2])
            idb = int(b.cmd("client", "id")[1:-2])
            self.assertNotEqual(ida, idb)
            self.assertEqual(a.cmd("client", "setname", "alpha"), b"+OK\r\n")
            lst = bulk_text(a.cmd("client", "list"))
            lines = [ln for ln in lst.split("\n") if ln]
            by_id = {int(re.search(r"^id=(\d+)", ln).group(1)): ln for ln in lines}
            self.assertIn(ida, by_id)
            self.assertIn(idb, by_id)
            self.assertRegex(by_id[ida], rf"^id={ida} addr={CLIENT_IP}:\d+ laddr={DP_IP}:"
                             rf"{REDIS_PORT} fd=\d+ name=alpha age=\d+ idle=\d+ flags=N db=0 "
                             r"sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ .* cmd=client\|list "
                             r"user=default redir=-1 resp=2$")
            self.assertIn("cmd=client|id", by_id[idb])
            info = a.cmd("client", "info").decode()
            self.assertIn(f"id={ida} ", info)
            one = a.cmd("client", "list", "id", str(idb), "999999").decode()
            self.assertEqual(one.count("id="), 1)
            self.assertIn(f"id={idb} ", one)
            # A: MULTI shows in flags and multi=.
            self.assertEqual(a.cmd("multi"), b"+OK\r\n")
            self.assertEqual(a.cmd("ping"), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("exec"), b"*1\r\n+PONG\r\n")
            # Kill B by id from A: B's connection goes; A's count is 1.
            self.assertEqual(a.cmd("client", "kill", "id", str(idb)), b":1\r\n")
            self.assertTrue(b.closed())
            self.assertNotIn(f"id={idb} ", a.cmd("client", "list").decode())
            # SKIPME yes (default) spares A; old form by address kills it.
            addr = re.search(r"addr=(\S+)", info).group(1)
            self.assertEqual(a.cmd("client", "kill", "addr", addr), b":0\r\n")
            self.assertEqual(a.cmd("client", "kill", "addr", addr, "skipme", "no"), b":1\r\n")
            self.assertTrue(a.closed())
        finally:
            a.close()
            b.close()

    def test_client_reply_off_skip_on_match_redis(self):
        k = self.key("rp")
        cmds = [["set", k, "1"], ["client", "reply", "off"], ["incr", k], ["get", k],
                ["client", "reply", "skip"], ["client", "reply", "on"], ["client", "reply", "skip"],
                ["incr", k], ["get", k], ["del", k]]
        for c in (self.fulmar(), self.theirs()):
            try:
                c.s.sendall(b"".join(encode(a) for a in cmds))
                got = b""
                c.s.settimeout(2)
                try:
                    while True:
                        chunk = c.s.recv(1 << 16)
                        if not chunk:
                            break
                        got += chunk
                        if got.endswith(b":1\r\n") and got.count(b"\r\n") >= 4:
                            break
                except socket.timeout:
                    pass
                self.assertEqual(got, b"+OK\r\n+OK\r\n$1\r\n3\r\n:1\r\n", c.s)
            finally:
                c.close()

    # ---- COMMAND ---------------------------------------------------------------

    def test_command_from_the_table(self):
        cmds = [["command", "getkeys", "mset", "a", "1", "b", "2"],
                ["command", "getkeys", "get", "k"], ["command", "getkeys", "nosuch", "k"],
                ["command", "getkeys", "get"], ["command", "getkeys", "ping", "x"],
                ["command", "getkeys", "get", "a", "b"], ["command", "getkeys", "del", "a", "b"],
                ["command", "getkeys"], ["command", "count", "x"], ["command", "nosuch"],
                ["command", "info", "nosuchcmd"], ["command", "docs", "nosuchcmd"],
                ["function", "flush"], ["function", "flush", "sync"], ["function", "flush", "x"],
                ["function", "flush", "a", "b"], ["function", "list"], ["function", "nosuch"]]
        ours, theirs = self.fulmar(), self.theirs()
        try:
            diffs = self.diff(cmds, ours, theirs)
            n = int(ours.cmd("command", "count")[1:-2])
            names = ours.cmd("command", "list")
            self.assertTrue(names.startswith(f"*{n}\r\n".encode()), names[:20])
            for name in (b"get", b"set", b"hello", b"multi", b"client"):
                self.assertIn(b"$%d\r\n%s\r\n" % (len(name), name), names)
            # COMMAND INFO's first six fields as Redis's for the same command.
            for name in ("get", "mset", "del", "ping", "hello", "client"):
                a = ours.cmd("command", "info", name)
                b = theirs.cmd("command", "info", name)
                head = rb"^\*1\r\n\*10\r\n\$\d+\r\n\w+\r\n:(-?\d+)\r\n\*\d+\r\n(?:\+\w+\r\n)*" \
                       rb":(-?\d+)\r\n:(-?\d+)\r\n:(-?\d+)\r\n"
                ma, mb = re.match(head, a), re.match(head, b)
                self.assertIsNotNone(ma, a)
                self.assertIsNotNone(mb, b)
                self.assertEqual(ma.groups(), mb.groups(), name)
            whole = ours.cmd("command")
            self.assertTrue(whole.startswith(f"*{n}\r\n*10\r\n".encode()))
            docs = ours.cmd("command", "docs", "get")
            self.assertEqual(docs, b"*2\r\n$3\r\nget\r\n*2\r\n$5\r\ngroup\r\n$6\r\nstring\r\n")
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))
        # redis-cli asks COMMAND DOCS at start for its hints: it works.
        r = self.fx.ns.ip("redis-cli", "-h", DP_IP, "-p", str(REDIS_PORT), "-a", PASSWORD,
                          "--no-auth-warning", "command", "count")
        self.assertEqual(r.stdout.strip(), str(n))

    # ---- INFO, CONFIG ----------------------------------------------------------

    def test_info_sections_with_real_figures(self):
        c = self.fulmar()
        try:
            k = self.key("inf")
            for i in range(5):
                c.cmd("set", f"{k}{i}", "v")
            c.cmd("get", f"{k}0")
            text = c.cmd("info").decode()
            for s in ("# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"):
                self.assertIn(s, text)
            self.assertIn(f"tcp_port:{REDIS_PORT}\r\n", text)
            keys = int(re.search(r"db0:keys=(\d+),", text).group(1))
            self.assertGreaterEqual(keys, 5)
            self.assertGreater(int(re.search(r"keyspace_hits:(\d+)", text).group(1)), 0)
            self.assertGreater(int(re.search(r"maxmemory:(\d+)", text).group(1)), 0)
            self.assertGreaterEqual(int(re.search(r"connected_clients:(\d+)", text).group(1)), 1)
            only = c.cmd("info", "clients").decode()
            self.assertIn("# Clients", only)
            self.assertNotIn("# Server", only)
            self.assertIn("# Shards", c.cmd("info", "shards").decode())
            self.assertEqual(c.cmd("info", "nosuch"), b"$0\r\n\r\n")
            before = int(re.search(r"total_commands_processed:(\d+)", text).group(1))
            self.assertGreater(before, 5)
            self.assertEqual(c.cmd("config", "resetstat"), b"+OK\r\n")
            after = c.cmd("info", "stats").decode()
            self.assertLess(int(re.search(r"total_commands_processed:(\d+)", after).group(1)),
                            before)
        finally:
            c.close()

    def test_config_errors_match_redis(self):
        cmds = [["config"], ["config", "nosuch"], ["config", "get"],
                ["config", "set", "databases"], ["config", "set", "nosuch-param", "1"],
                ["config", "set", "databases", "4"], ["config", "set", "databases", "1", "x"],
                ["config", "set", "requirepass", PASSWORD, "requirepass", PASSWORD],
                ["config", "get", "nosuch-param"], ["config", "get", "databases"],
                ["config", "get", "DATABASES"], ["config", "get", "save"],
                ["config", "get", "appendonly"], ["config", "resetstat", "x"],
                ["config", "set", "save", ""], ["config", "set", "appendonly", "no"],
                ["config", "set", "appendonly", "maybe"],
                ["config", "set", "requirepass", PASSWORD], ["config", "help"],
                ["config", "rewrite"]]
        ours, theirs = self.fulmar(), self.theirs()
        try:
            diffs = self.diff(cmds, ours, theirs)
            # A pattern: every match, each once.
            r = ours.cmd("config", "get", "*port*", "port")
            self.assertEqual(r, f"*2\r\n$4\r\nport\r\n$4\r\n{REDIS_PORT}\r\n".encode())
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    # ---- DEBUG -------------------------------------------------------------------

    def test_debug_sleep_delays_only_its_client(self):
        a, b = self.fulmar(), self.fulmar()
        try:
            self.assertEqual(a.cmd("debug", "sleep", "0"), b"+OK\r\n")
            start = time.monotonic()
            a.s.sendall(encode(["debug", "sleep", "0.6"]) + encode(["echo", "after"]))
            # The loop goes on: another client is answered at once.
            self.assertEqual(b.cmd("ping"), b"+PONG\r\n")
            self.assertLess(time.monotonic() - start, 0.4)
            self.assertEqual(a.reply(), b"+OK\r\n")
            self.assertGreaterEqual(time.monotonic() - start, 0.55)
            self.assertEqual(a.reply(), b"$5\r\nafter\r\n")
            self.assertEqual(a.cmd("debug", "nosuch"),
                             b"-ERR unknown subcommand or wrong number of arguments for 'nosuch'."
                             b" Try DEBUG HELP.\r\n")
        finally:
            a.close()
            b.close()

    # ---- MULTI / EXEC / WATCH ------------------------------------------------------

    def test_transactions_match_redis(self):
        k = self.key("tx")
        cmds = [["exec"], ["discard"], ["multi"], ["multi"], ["watch", k], ["set", k, "1"],
                ["incr", k], ["incrby", k, "x"], ["set", k, "v", "EX", "abc"], ["get", k],
                ["ping"], ["exec"], ["get", k], ["multi"], ["set", k, "2"], ["nosuch"],
                ["get"], ["exec"], ["get", k], ["multi"], ["set", k, "3"], ["discard"], ["get", k],
                ["multi"], ["exec"], ["watch", k], ["multi"], ["incr", k], ["exec"],
                ["unwatch"], ["del", k]]
        ours, theirs = self.fulmar(), self.theirs()
        try:
            diffs = self.diff(cmds, ours, theirs)
        finally:
            ours.close()
            theirs.close()
        self.assertEqual(diffs, [], "\n".join(diffs))

    def test_watch_aborts_when_another_client_writes(self):
        a, b = self.fulmar(), self.fulmar()
        try:
            k1, k2 = self.same_shard_keys(a, 2)
            self.assertEqual(a.cmd("set", k1, "1"), b"+OK\r\n")
            self.assertEqual(a.cmd("watch", k1, k2), b"+OK\r\n")
            self.assertEqual(b.cmd("set", k1, "2"), b"+OK\r\n")
            self.assertEqual(a.cmd("multi"), b"+OK\r\n")
            self.assertEqual(a.cmd("set", k2, "x"), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("exec"), b"*-1\r\n")
            self.assertEqual(a.cmd("get", k2), b"$-1\r\n")
            # A key absent at WATCH and created meanwhile aborts too; EXPIRE
            # counts as a change.
            self.assertEqual(a.cmd("watch", k2), b"+OK\r\n")
            self.assertEqual(b.cmd("set", k2, "y"), b"+OK\r\n")
            self.assertEqual(a.cmd("multi"), b"+OK\r\n")
            self.assertEqual(a.cmd("get", k2), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("exec"), b"*-1\r\n")
            self.assertEqual(a.cmd("watch", k2), b"+OK\r\n")
            self.assertEqual(b.cmd("expire", k2, "100"), b":1\r\n")
            self.assertEqual(a.cmd("multi"), b"+OK\r\n")
            self.assertEqual(a.cmd("get", k2), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("exec"), b"*-1\r\n")
            # Untouched: runs, both keys in one transaction.
            self.assertEqual(a.cmd("watch", k1), b"+OK\r\n")
            self.assertEqual(a.cmd("multi"), b"+OK\r\n")
            self.assertEqual(a.cmd("incr", k1), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("get", k2), b"+QUEUED\r\n")
            self.assertEqual(a.cmd("exec"), b"*2\r\n:3\r\n$1\r\ny\r\n")
            # RESP3: an aborted EXEC is a null.
            a.cmd("hello", "3")
            self.assertEqual(a.cmd("watch", k1), b"+OK\r\n")
            b.cmd("set", k1, "9")
            a.cmd("multi")
            a.cmd("get", k1)
            self.assertEqual(a.cmd("exec"), b"_\r\n")
            a.cmd("del", k1, k2)
        finally:
            a.close()
            b.close()

    def test_watch_of_a_collection_aborts_only_when_it_changes(self):
        """A watched set or hash runs untouched (its CAS read like a string's)
        and aborts once written; an SMOVE whose destination already holds the
        member leaves the destination untouched (the suite's "SMOVE only
        notify dstset when the addition is successful")."""
        a, b = self.fulmar(), self.fulmar()
        try:
            src, dst = self.same_shard_keys(a, 2)
            a.cmd("del", src, dst)
            a.cmd("sadd", src, "a", "b")
            a.cmd("sadd", dst, "a")
            self.assertEqual(a.cmd("watch", dst), b"+OK\r\n")
            self.assertEqual(b.cmd("smove", src, dst, "a"), b":1\r\n")
            a.cmd("multi")
            a.cmd("sadd", dst, "c")
            self.assertEqual(a.cmd("exec"), b"*1\r\n:1\r\n")
            self.assertEqual(a.cmd("scard", dst), b":2\r\n")
            self.assertEqual(a.cmd("watch", dst), b"+OK\r\n")
            self.assertEqual(b.cmd("sadd", dst, "d"), b":1\r\n")
            a.cmd("multi")
            a.cmd("scard", dst)
            self.assertEqual(a.cmd("exec"), b"*-1\r\n")
            a.cmd("hset", src, "f", "v")  # WRONGTYPE: src is a set
            a.cmd("del", src)
            a.cmd("hset", src, "f", "v")
            self.assertEqual(a.cmd("watch", src), b"+OK\r\n")
            a.cmd("multi")
            a.cmd("hget", src, "f")
            self.assertEqual(a.cmd("exec"), b"*1\r\n$1\r\nv\r\n")
            a.cmd("del", src, dst)
        finally:
            a.close()
            b.close()

    def test_watch_sees_in_place_set_and_hash_writes(self):
        """A set or hash written inside its own chunk (resp_coll_inplace.h:
        the item keeps its address, DEBUG OBJECT's `Value at:`) gets a new
        CAS as a rebuild does: a watched key aborts after SADD, SREM, HSET of
        a same-length value, HINCRBY, HDEL; a write that changes nothing
        (SADD of a member, SREM or HDEL of none) leaves it."""
        a, b = self.fulmar(), self.fulmar()
        try:
            s, h = self.key("ips"), self.key("iph")
            # Grown and shrunk (in place): the chunk keeps room for the
            # writes below.
            pads = [f"pad{i}" for i in range(40)]
            a.cmd("sadd", s, "a", *pads)
            a.cmd("srem", s, *pads)
            a.cmd("hset", h, "f", "1", *[x for p in pads for x in (p, "0")])
            a.cmd("hdel", h, *pads)

            def addr(k):
                return a.cmd("debug", "object", k).split(b" refcount:")[0]

            at_s, at_h = addr(s), addr(h)
            self.assertTrue(at_s.startswith(b"+Value at:"), at_s)
            for write, key, changes in (
                    (("sadd", s, "a"), s, False),
                    (("srem", s, "zz"), s, False),
                    (("sadd", s, "b"), s, True),
                    (("srem", s, "b"), s, True),
                    (("hdel", h, "zz"), h, False),
                    (("hset", h, "f", "2"), h, True),
                    (("hincrby", h, "f", "1"), h, True),
                    (("hset", h, "g", "x"), h, True),
                    (("hdel", h, "g"), h, True)):
                self.assertEqual(a.cmd("watch", key), b"+OK\r\n")
                b.cmd(*write)
                self.assertEqual(a.cmd("multi"), b"+OK\r\n")
                a.cmd("exists", key)
                self.assertEqual(a.cmd("exec"), b"*-1\r\n" if changes else b"*1\r\n:1\r\n",
                                 write)
            self.assertEqual(addr(s), at_s)
            self.assertEqual(addr(h), at_h)
            self.assertEqual(a.cmd("hget", h, "f"), b"$1\r\n3\r\n")
            a.cmd("del", s, h)
        finally:
            a.close()
            b.close()

    def test_pipelined_watch_sees_the_clients_own_write_and_big_exec(self):
        """WATCH right behind the client's own SET (still at the owner) reads
        the CAS after it; a thousand queued requests are one EXEC."""
        c = self.fulmar()
        try:
            k = self.key("pw")
            c.s.sendall(encode(["set", k, "5"]) + encode(["watch", k]) + encode(["multi"]) +
                        encode(["incr", k]) + encode(["exec"]))
            for want in (b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n",
                         b"*1\r\n:6\r\n"):
                self.assertEqual(c.reply(), want)
            c.s.sendall(encode(["multi"]) + b"".join(encode(["incr", k]) for _ in range(1000)) +
                        encode(["exec"]) + encode(["get", k]))
            self.assertEqual(c.reply(), b"+OK\r\n")
            for _ in range(1000):
                self.assertEqual(c.reply(), b"+QUEUED\r\n")
            r = c.reply()
            self.assertTrue(r.startswith(b"*1000\r\n:7\r\n:8\r\n"), r[:40])
            self.assertTrue(r.endswith(b":1006\r\n"), r[-20:])
            self.assertEqual(c.reply(), b"$4\r\n1006\r\n")
            c.cmd("del", k)
        finally:
            c.close()

    def test_transaction_across_shards_is_refused(self):
        c = self.fulmar()
        try:
            k = self.key("xs")
            other = self.other_shard_key(c, k)
            self.assertEqual(c.cmd("multi"), b"+OK\r\n")
            self.assertEqual(c.cmd("set", k, "1"), b"+QUEUED\r\n")
            r = c.cmd("set", other, "1")
            self.assertTrue(r.startswith(b"-CROSSSLOT Keys in request don't hash to the same "),
                            r)
            self.assertEqual(c.cmd("exec"),
                             b"-EXECABORT Transaction discarded because of previous errors.\r\n")
            self.assertEqual(c.cmd("exists", k, other), b":0\r\n")
            self.assertTrue(c.cmd("watch", k, other).startswith(b"-CROSSSLOT"))
            # One request whose own keys span two shards: refused the same way.
            self.assertEqual(c.cmd("multi"), b"+OK\r\n")
            self.assertTrue(c.cmd("mset", k, "1", other, "2").startswith(b"-CROSSSLOT"))
            self.assertEqual(c.cmd("discard"), b"+OK\r\n")
        finally:
            c.close()


def main():
    return R.main(__doc__, globals())


if __name__ == "__main__":
    sys.exit(main())
