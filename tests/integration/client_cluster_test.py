#!/usr/bin/python3
"""libfulmar end to end: fulmar-cli against a three-node ring.

    client_cluster_test.py FULMAR_DATAPLANE FULMAR_CLI

Node 0 is a real fulmar-dataplane on a TAP port (198.18.0.1:11211), nodes 1
and 2 are Debian's memcached over UDP in the same namespace (198.18.0.2:11311
and :11312). fulmar-cli runs inside the namespace: 1,000 keys are set through
the ring, each one must sit on the node `whereis` names (asked directly), and
one multi-get of all 1,000 keys (fanned out to the three nodes at once) must
return every value. Needs root and hugepages; exits 77 (skipped) without.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = None
CLI = None
N_KEYS = 1000


class ClientClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE)
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer; log:\n{log}")
        try:
            cls.mc1 = cls.fx.start_memcached(11311)
            # A second memcached: TapFixture tracks one, this one is ours.
            cls.mc2_proc = subprocess.Popen(
                ["ip", "netns", "exec", cls.fx.ns.name, "timeout", "-k", "5", "200", "memcached",
                 "-u", "root", "-U", "11312", "-p", "0", "-l", F.CLIENT_IP, "-m", "64", "-t",
                 "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL)
            cls.mc2 = F.McUdp(cls.fx.ns, F.CLIENT_IP, 11312)
            if not F.wait_serving(cls.mc2, 10):
                raise RuntimeError("second memcached does not answer")
        except BaseException:
            cls.tearDownClass()
            raise
        cls.servers = f"{F.DP_IP}:11211,{F.CLIENT_IP}:11311,{F.CLIENT_IP}:11312"

    @classmethod
    def tearDownClass(cls):
        proc = getattr(cls, "mc2_proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        cls.fx.teardown()

    def cli(self, *args, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.fx.ns.name, CLI, "--servers",
                               self.servers, *args], capture_output=True, timeout=timeout)

    def test_thousand_keys_across_three_nodes(self):
        keys = [f"cluster:{i:05d}" for i in range(N_KEYS)]
        values = {k: f"value-{k}-{i * 7919}" for i, k in enumerate(keys)}
        # One namespace entry, a thousand client runs inside it.
        script = "\n".join(f"{CLI} --servers {self.servers} set {k} {values[k]} || exit 1"
                           for k in keys)
        script_path = os.path.join(self.fx.workdir, "sets.sh")
        with open(script_path, "w") as f:
            f.write(script + "\n")
        r = subprocess.run(["ip", "netns", "exec", self.fx.ns.name, "sh", script_path],
                           capture_output=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-500:])

        where = self.cli("whereis", *keys)
        self.assertEqual(where.returncode, 0, where.stderr.decode())
        placement = {}
        for line in where.stdout.decode().splitlines():
            # "KEY -> INDEX HOST:PORT"
            parts = line.split()
            placement[parts[0]] = parts[-1]
        self.assertEqual(set(placement), set(keys))
        nodes = {f"{F.DP_IP}:11211": self.fx.client, f"{F.CLIENT_IP}:11311": self.mc1,
                 f"{F.CLIENT_IP}:11312": self.mc2}
        per_node = {n: 0 for n in nodes}
        for k in keys:
            self.assertIn(placement[k], nodes, placement[k])
            per_node[placement[k]] += 1
        # Ketama spreads 1,000 keys over 3 equal nodes: none is empty.
        for n, c in per_node.items():
            self.assertGreater(c, 150, f"{n} holds only {c} keys")
        # Each key is stored exactly where the ring says, and only there.
        for k in keys[:200]:
            for n, client in nodes.items():
                reply = client.request(f"get {k}\r\n".encode())
                if n == placement[k]:
                    self.assertEqual(reply, f"VALUE {k} 0 {len(values[k])}\r\n{values[k]}\r\n"
                                            f"END\r\n".encode())
                else:
                    self.assertEqual(reply, b"END\r\n", f"{k} also on {n}")

        got = self.cli("mget", *keys)
        self.assertEqual(got.returncode, 0, got.stderr.decode()[-500:])
        lines = got.stdout.decode().split("\r\n") if "\r\n" in got.stdout.decode() else \
            got.stdout.decode().split("\n")
        seen = {}
        i = 0
        while i < len(lines):
            parts = lines[i].split()
            if parts and parts[0] == "VALUE":
                seen[parts[1]] = lines[i + 1]
                i += 2
            else:
                i += 1
        self.assertEqual(len(seen), N_KEYS, f"{N_KEYS - len(seen)} keys missing")
        for k in keys:
            self.assertEqual(seen[k], values[k])


def main():
    global DATAPLANE, CLI
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE = os.path.abspath(sys.argv[1])
    CLI = os.path.abspath(sys.argv[2])
    why = F.preconditions()
    if why:
        print(f"SKIP: {why}")
        return 77
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
