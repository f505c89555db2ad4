#!/usr/bin/python3
"""libfulmar end to end: fulmar-cli against a three-node ring.

    client_cluster_test.py FULMAR_DATAPLANE FULMAR_CLI

Nodes 0 and 1 are real fulmar-dataplane processes, each on its own TAP port
(198.18.0.1:11211 and 198.18.1.1:11211), node 2 is Debian's memcached over
UDP in the same namespace (198.18.0.2:11311). fulmar-cli runs inside the namespace: 1,000 keys are set through
the ring, each one must sit on the node `whereis` names (asked directly), and
one multi-get of all 1,000 keys (fanned out to the three nodes at once) must
return every value. Needs root and hugepages; exits 77 (skipped) without.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

DATAPLANE = None
CLI = None
DP2_IP = "198.18.1.1"
N_KEYS = 1000


class ClientClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE)
        if not cls.fx.wait_serving():
            log = cls.fx.dp.text()
            cls.fx.teardown()
            raise AssertionError(f"the dataplane does not answer; log:\n{log}")
        cls.dp2 = None
        try:
            cls.mc1 = cls.fx.start_memcached(11311)
            # A second dataplane, its TAP in the same namespace on 198.18.1.0/24.
            cls.dp2 = F.Dataplane(DATAPLANE, cls.fx.workdir, ip=DP2_IP, mac="02:00:00:00:01:01")
            if not cls.dp2.wait_iface():
                raise RuntimeError(f"no TAP for the second dataplane:\n{cls.dp2.text()}")
            cls.dp2.find_pid(time.monotonic() + 5)
            F.run("ip", "link", "set", cls.dp2.iface, "netns", cls.fx.ns.name)
            cls.fx.ns.ip("ip", "link", "set", cls.dp2.iface, "address", "02:00:00:00:01:02")
            cls.fx.ns.ip("ip", "addr", "add", "198.18.1.2/24", "dev", cls.dp2.iface)
            cls.fx.ns.ip("ip", "link", "set", cls.dp2.iface, "up")
            cls.mc2 = F.McUdp(cls.fx.ns, DP2_IP, 11211)
            if not F.wait_serving(cls.mc2, 15):
                raise RuntimeError(f"second dataplane does not answer:\n{cls.dp2.text()}")
        except BaseException:
            cls.tearDownClass()
            raise
        cls.servers = f"{F.DP_IP}:11211,{DP2_IP}:11211,{F.CLIENT_IP}:11311"

    @classmethod
    def tearDownClass(cls):
        dp2 = getattr(cls, "dp2", None)
        if dp2 is not None:
            dp2.stop()
        cls.fx.teardown()
        if dp2 is not None:
            dp2.cleanup_files()

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
        nodes = {f"{F.DP_IP}:11211": self.fx.client, f"{DP2_IP}:11211": self.mc2,
                 f"{F.CLIENT_IP}:11311": self.mc1}
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
        # CI provides root and hugepages: there a missing one is a failure.
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
