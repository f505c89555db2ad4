#!/usr/bin/python3
"""A real DPDK secondary process reads a running dataplane's shards.

    shm_secondary_test.py <fulmar-dataplane> <secondary_reader>

Starts fulmar-dataplane with two workers and 2 MiB of item memory per shard
(two 1 MiB pages) on a TAP port in a namespace of its own, then runs
tests/shm/secondary_reader (EAL --proc-type=secondary, same --file-prefix)
while kernel UDP clients in the namespace keep storing values whose size
swings between small and large, so that every shard's owner evicts and
moves pages between size classes the whole time. The reader reads every key
from its owner's shard lock-free through shared memory and checks each hit
against the writer's rule (secondary_reader.cc); a torn or mixed value is a
failure. Passes when both shards were read (hits on each), no read was bad,
and the owners moved pages while the reader ran. Needs root and hugepages;
exits 77 (skipped) without.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
import fulmar_it as F  # noqa: E402

DATAPLANE = None
READER = None
KEYS = 400
READ_SECONDS = 6


def value_for(key, gen):
    """The writer's rule (secondary_reader.cc valid_value): sizes swing
    between slab classes from one generation to the next, each request
    within one unfragmented datagram (the dataplane drops IP fragments)."""
    size = (60, 1200, 200, 900, 500)[gen % 5] + random.randrange(0, 40)
    head = f"{key}|{gen}|"
    return head + chr(ord("a") + gen % 26) * max(0, size - len(head))


class SecondaryReaderTest(unittest.TestCase):
    def setUp(self):
        self.fx = F.TapFixture(DATAPLANE, workers=(1, 2), memory_mb=2)
        if not self.fx.wait_serving():
            log = self.fx.dp.text()
            self.fx.teardown()
            self.fail(f"the dataplane does not answer; log:\n{log}")

    def tearDown(self):
        self.fx.teardown()

    def writer(self, stop, counts, idx):
        mc = F.McUdp(self.fx.ns, F.DP_IP, F.MC_PORT)
        gen = idx
        try:
            while not stop.is_set():
                gen += 1
                for i in range(idx, KEYS, 2):
                    if stop.is_set():
                        break
                    k = f"sk{i}"
                    v = value_for(k, gen)
                    r = mc.maybe(f"set {k} {gen} 0 {len(v)}\r\n{v}\r\n".encode(), 1.0)
                    counts[idx] += r == b"STORED\r\n"
        finally:
            mc.close()

    def test_secondary_reads_every_shard_while_owners_write_and_move_pages(self):
        # Every key present before the reader starts.
        mc = self.fx.client
        for i in range(KEYS):
            v = value_for(f"sk{i}", 0)
            self.assertEqual(mc.request(f"set sk{i} 0 0 {len(v)}\r\n{v}\r\n".encode()),
                             b"STORED\r\n")
        stop = threading.Event()
        counts = [0, 0]
        writers = [threading.Thread(target=self.writer, args=(stop, counts, i)) for i in (0, 1)]
        for w in writers:
            w.start()
        try:
            time.sleep(0.3)
            r = subprocess.run(
                ["timeout", "-k", "5", "60", READER, "--proc-type=secondary",
                 "--file-prefix", self.fx.dp.prefix, "--no-pci", "--lcores", "0@0",
                 "--log-level=lib.eal:error", "--",
                 "--prefix", "sk", "--keys", str(KEYS), "--seconds", str(READ_SECONDS)],
                capture_output=True, text=True, timeout=90)
        finally:
            stop.set()
            for w in writers:
                w.join(10)
        self.assertEqual(r.returncode, 0, f"reader failed: {r.stderr}\n{r.stdout}")
        out = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"\nreader: {json.dumps(out)}\nwriter stores: {counts}", file=sys.stderr)
        self.assertEqual(len(out["shards"]), 2)
        for i, s in enumerate(out["shards"]):
            self.assertEqual(s["bad"], 0, f"shard {i}: bad reads {out['bad_examples']}")
            self.assertGreater(s["hits"], 100, f"shard {i} was hardly read")
            self.assertGreater(s["sets_after"], s["sets_before"],
                               f"shard {i}: no write while reading")
            self.assertGreater(s["page_moves_after"], s["page_moves_before"],
                               f"shard {i}: no page moved while reading")
        self.assertGreater(sum(counts), 0)
        # The dataplane is unharmed and the reader left nothing registered:
        # a page move (which waits for every registered reader) still works.
        self.assertTrue(self.fx.dp.alive())
        before = self.fx.dp.telemetry("/fulmar/shards")
        # One round per size class the writer uses: a shard holds two pages,
        # so at least three of the five classes must take a page from another.
        for gen in range(5, 10):
            for i in range(KEYS):
                v = value_for(f"sk{i}", gen)
                mc.request(f"set sk{i} {gen} 0 {len(v)}\r\n{v}\r\n".encode())
        self.assertEqual(mc.request(b"mn\r\n"), b"MN\r\n")
        after = self.fx.dp.telemetry("/fulmar/shards")
        moved = sum(after[s]["page_moves"] - before[s]["page_moves"] for s in ("shard0", "shard1"))
        self.assertGreater(moved, 0)


def main():
    global DATAPLANE, READER
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE, READER = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    why = F.preconditions()
    if why:
        # CI provides root and hugepages: there a missing one is a failure.
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
