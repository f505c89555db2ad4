#!/usr/bin/python3
"""The TTL sweep paced by the control plane, against a real appliance.

    sweep_pacing_test.py <fulmar-dataplane> <fulmar-controlplane>

PacedTest: fulmar-dataplane on a TAP port (fulmar_it.TapFixture, tag `swp`,
198.18.70.0/24) and fulmar-controlplane with memcached TCP and the admin
socket on loopback; 20,000 keys stored over TCP, half with a 2 s TTL. The
admin socket's STATS must show the pacer's estimate of expired-but-resident
items under 1% of the TTL'd ones within a few seconds of their expiry, every
expired item gone from memory, the owner's fallback sweep idle while the
pacer runs, and SWEEP / SWEEP NOW answering per shard.

FallbackTest: the dataplane alone, 2,000 keys stored over UDP (half with a
2 s TTL); 4 s later a control plane is started only to read the counters:
the owner's fallback sweep (no paced step for 1 s) freed the expired half.

Needs root and hugepages; exits 77 (skipped) without.
"""
import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = None
TAG = "swp"
DP_IP, CLIENT_IP = "198.18.70.1", "198.18.70.2"
N_KEYS = 20_000
TTL_S = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_call(path, *args, timeout=10):
    """One RESP command on the admin socket; the reply as str, int, list."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        req = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        s.sendall(req.encode())
        with s.makefile("rb") as f:
            return _read_reply(f)


def _read_reply(f):
    """One RESP value from the file `f`."""
    line = f.readline().decode().rstrip("\r\n")
    kind, rest = line[0], line[1:]
    if kind == "+":
        return rest
    if kind == "-":
        raise RuntimeError(rest)
    if kind == ":":
        return int(rest)
    if kind == "$":
        return f.read(int(rest) + 2)[:-2].decode()
    if kind == "*":
        return [_read_reply(f) for _ in range(int(rest))]
    raise RuntimeError(f"bad RESP line {line!r}")


def table(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def start_cp(fx, sock, mc_port):
    cp = F.ControlPlane(CONTROLPLANE, fx.dp, fx.workdir, "\n".join([
        'listen = "127.0.0.1"',
        f"memcached_port = {mc_port}",
        f'admin_socket = "{sock}"',
        "request_arena_mb = 8",
        "metrics_port = 0",
        "sweep_goal_percent = 1",
        "sweep_max_cpu_percent = 5",
    ]))
    if not cp.wait_ready():
        raise RuntimeError(f"control plane not ready:\n{cp.text()}\n{fx.dp.text()}")
    return cp


class PacedTest(unittest.TestCase):
    def setUp(self):
        self.fx = F.TapFixture(DATAPLANE, memory_mb=32, tag=TAG, ip=DP_IP, client_ip=CLIENT_IP)
        self.cp = None
        try:
            self.sock = os.path.join(self.fx.workdir, "admin.sock")
            self.mc_port = free_port()
            self.cp = start_cp(self.fx, self.sock, self.mc_port)
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        if self.cp is not None:
            self.cp.stop()
        self.fx.teardown()

    def stats(self):
        return table(resp_call(self.sock, "STATS"))

    def worker(self):
        return table(resp_call(self.sock, "STATS", "PER-WORKER")[0])

    def test_expired_estimate_falls_under_the_goal_and_memory_comes_back(self):
        fallback_before = None
        with socket.create_connection(("127.0.0.1", self.mc_port), timeout=10) as s:
            req = b"".join(
                f"set k{i} 0 {TTL_S if i % 2 else 0} 8 noreply\r\nv{i:07d}\r\n".encode()
                for i in range(N_KEYS))
            s.sendall(req + b"get k0\r\n")
            got = b""
            while not got.endswith(b"END\r\n"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, "connection closed")
                got += chunk
        loaded = time.monotonic()
        w = self.worker()
        self.assertEqual(int(w["shard_items"]), N_KEYS)
        fallback_before = int(w["sweep_fallback_steps"])
        # The pacer learns the TTL'd count from its next step (every 100 ms).
        deadline = time.monotonic() + 2
        while int(self.stats()["sweep_ttl_items"]) != N_KEYS // 2:
            self.assertLess(time.monotonic(), deadline, self.stats())
            time.sleep(0.05)

        # Every TTL'd key expires 1-2 s after the load (whole seconds); within
        # a few seconds after that, the pacer says under 1% and memory agrees.
        history = []
        deadline = loaded + TTL_S + 6
        ok = False
        while time.monotonic() < deadline:
            st, w = self.stats(), self.worker()
            history.append((round(time.monotonic() - loaded, 2), st["sweep_expired_percent"],
                            st["sweep_rate_chunks_per_s"], w["shard_items"]))
            if (time.monotonic() > loaded + TTL_S + 1 and float(st["sweep_expired_percent"]) < 1
                    and int(w["shard_items"]) == N_KEYS // 2):
                ok = True
                break
            time.sleep(0.1)
        self.assertTrue(ok, f"(s, expired %, rate, items): {history}")
        st, w = self.stats(), self.worker()
        print(f"\n  under the goal {history[-1][0]} s after the load; samples: {history[::5]}",
              file=sys.stderr)
        self.assertEqual(int(st["sweep_ttl_items"]), 0)
        self.assertGreaterEqual(int(w["shard_sweep_reclaimed"]), N_KEYS // 2 * 9 // 10)
        self.assertGreater(int(w["sweep_paced_steps"]), 10)
        self.assertGreater(int(w["shard_sweep_cycles"]), 0)
        self.assertEqual(int(w["sweep_fallback_steps"]), fallback_before,
                         "the owner's fallback swept while the pacer ran")
        self.assertLess(float(st["sweep_cpu_percent_max"]), 5.0)
        self.assertEqual(float(st["sweep_goal_percent"]), 1.0)

        # SWEEP: one table per shard; SWEEP NOW answers after a full pass.
        rows = [table(r) for r in resp_call(self.sock, "SWEEP")]
        self.assertEqual([r["shard"] for r in rows], ["0"])
        self.assertEqual(rows[0]["pass_running"], "0")
        rows = [table(r) for r in resp_call(self.sock, "SWEEP", "NOW")]
        self.assertEqual(rows[0]["pass_running"], "0")
        self.assertGreaterEqual(int(rows[0]["pass_steps"]), 1)
        self.assertEqual(int(rows[0]["ttl_items"]), 0)
        with self.assertRaises(RuntimeError):
            resp_call(self.sock, "SWEEP", "LATER")


class FallbackTest(unittest.TestCase):
    def test_without_a_control_plane_the_owner_still_reclaims(self):
        fx = F.TapFixture(DATAPLANE, memory_mb=16, tag=TAG, ip=DP_IP, client_ip=CLIENT_IP)
        cp = None
        try:
            self.assertTrue(fx.wait_serving(), fx.dp.text())
            n = 2000
            for i in range(n):
                reply = fx.client.request(
                    f"set f{i} 0 {TTL_S if i % 2 else 0} 1\r\nv\r\n".encode())
                self.assertEqual(reply, b"STORED\r\n")
            time.sleep(TTL_S + 2)
            sock = os.path.join(fx.workdir, "admin.sock")
            cp = start_cp(fx, sock, free_port())
            w = table(resp_call(sock, "STATS", "PER-WORKER")[0])
            self.assertGreater(int(w["sweep_fallback_steps"]), 0)
            # The worker's own counter: only the fallback's frees.
            self.assertEqual(int(w["sweep_reclaimed"]), n // 2, w)
            self.assertEqual(int(w["shard_items"]), n // 2)
        finally:
            if cp is not None:
                cp.stop()
            fx.teardown()


def main():
    global DATAPLANE, CONTROLPLANE
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE, CONTROLPLANE = (os.path.abspath(a) for a in sys.argv[1:3])
    why = F.preconditions()
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
