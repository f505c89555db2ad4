#!/usr/bin/python3
"""Peer test of src/ring: our ketama placement against nutcracker's and libmemcached's.

For each scenario (a server list with weights, sometimes names) it starts memcached instances
on free loopback ports, stores 2,000 keys through the peer (nutcracker with `distribution:
ketama`, `hash: md5`; libmemcached with KETAMA_WEIGHTED through python3-pylibmc), asks every
memcached directly which keys it holds, and compares that with ring_place, the CLI over
fulmar::ring::Ketama. Any difference fails the test.

    nutcracker_placement_test.py PATH/TO/ring_place

Exits 0 on agreement, 1 on a difference or a failure, 77 (meson: skipped) when nutcracker or
memcached is not installed. The libmemcached half is skipped, with a message, without pylibmc.
Only processes this script starts are stopped, by their PID; every wait is bounded.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# CI installs every peer (tools/fulmar setup): there a missing one is a failure.
SKIP = 1 if os.environ.get("CI") else 77
START_TIMEOUT_S = 10.0
IO_TIMEOUT_S = 5.0
N_KEYS = 2000

# (title, [(weight, name or None)], peers). Weights 1,1,1,10,12 floor to 28,28,28,320,380
# points in float, not the exact 32,32,32,320,384: it checks that we round as the peers do.
SCENARIOS = [
    ("three equal nodes", [(1, None), (1, None), (1, None)], ("nutcracker", "libmemcached")),
    ("weights 1,2,3", [(1, None), (2, None), (3, None)], ("nutcracker", "libmemcached")),
    ("weights 1,1,1,10,12 (float rounding)",
     [(1, None), (1, None), (1, None), (10, None), (12, None)], ("nutcracker", "libmemcached")),
    ("twemproxy names, weights 2,1,1", [(2, "alpha"), (1, "beta"), (1, "gamma")],
     ("nutcracker",)),
]


def keys():
    """Keys of many shapes: counters, paths, every length up to memcached's 250 bytes."""
    out = []
    for i in range(N_KEYS):
        kind = i % 4
        if kind == 0:
            out.append(f"key:{i}")
        elif kind == 1:
            out.append(f"user/{i * 7919}/profile")
        elif kind == 2:
            out.append(f"{i}-" + "x" * (i % 240))
        else:
            out.append(f"session_{i:08x}_{(i * 2654435761) % 2**32:x}")
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {port} after {START_TIMEOUT_S} s")


def stop(proc):
    """Stops one process this script started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class TextClient:
    """A minimal memcached text-protocol client over one TCP connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S)
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def line(self):
        got = self.reader.readline()
        if not got.endswith(b"\r\n"):
            raise RuntimeError(f"connection closed mid-reply: {got!r}")
        return got[:-2]

    def set(self, key):
        self.sock.sendall(f"set {key} 0 0 1\r\nv\r\n".encode())
        reply = self.line()
        if reply != b"STORED":
            raise RuntimeError(f"set {key}: {reply!r}")

    def held(self, wanted):
        """The subset of `wanted` this server holds, by multi-get in short lines."""
        found = set()
        batch = []
        for key in list(wanted) + [None]:
            if key is not None and sum(len(k) + 1 for k in batch) + len(key) < 1500:
                batch.append(key)
                continue
            if batch:
                self.sock.sendall(("get " + " ".join(batch) + "\r\n").encode())
                while True:
                    reply = self.line()
                    if reply == b"END":
                        break
                    parts = reply.split()
                    if parts[0] != b"VALUE":
                        raise RuntimeError(f"get: {reply!r}")
                    self.reader.read(int(parts[3]) + 2)
                    found.add(parts[1].decode())
            batch = [key]
        return found

    def flush_all(self):
        self.sock.sendall(b"flush_all\r\n")
        if self.line() != b"OK":
            raise RuntimeError("flush_all failed")


def placement_by_servers(ports, all_keys):
    """Which server index holds each key; every key must be on exactly one."""
    where = {}
    for index, port in enumerate(ports):
        client = TextClient(port)
        try:
            for key in client.held(all_keys):
                if key in where:
                    raise RuntimeError(f"key {key} on servers {where[key]} and {index}")
                where[key] = index
        finally:
            client.close()
    missing = [k for k in all_keys if k not in where]
    if missing:
        raise RuntimeError(f"{len(missing)} keys on no server, e.g. {missing[:3]}")
    return [where[k] for k in all_keys]


def ours(ring_place, mode, entries, all_keys):
    result = subprocess.run([ring_place, "--mode", mode] + entries,
                            input="\n".join(all_keys) + "\n", capture_output=True, text=True,
                            timeout=30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ring_place: {result.stderr.strip()}")
    return [int(x) for x in result.stdout.split()]


def compare(title, peer, theirs, mine, all_keys, n_servers):
    diffs = [(k, t, m) for k, t, m in zip(all_keys, theirs, mine) if t != m]
    counts = [theirs.count(i) for i in range(n_servers)]
    if diffs:
        print(f"FAIL {title} via {peer}: {len(diffs)} of {len(all_keys)} keys differ")
        for k, t, m in diffs[:10]:
            print(f"    {k!r}: {peer} node {t}, ours node {m}")
        return False
    print(f"ok   {title} via {peer}: {len(all_keys)} keys agree, per node {counts}")
    return True


def through_nutcracker(workdir, ports, servers, all_keys):
    listen = free_port()
    lines = [
        "fulmar_ring_test:",
        f"  listen: 127.0.0.1:{listen}",
        "  hash: md5",
        "  distribution: ketama",
        "  auto_eject_hosts: false",
        "  timeout: 2000",
        "  servers:",
    ]
    for port, (weight, name) in zip(ports, servers):
        lines.append(f"   - 127.0.0.1:{port}:{weight}" + (f" {name}" if name else ""))
    conf = os.path.join(workdir, "nutcracker.yml")
    with open(conf, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    # Own stats port: the default, 22222, may belong to another nutcracker.
    proc = subprocess.Popen(["nutcracker", "-c", conf, "-s", str(free_port()), "-a", "127.0.0.1",
                             "-o", os.path.join(workdir, "nutcracker.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(listen, proc, "nutcracker")
        client = TextClient(listen)
        try:
            for key in all_keys:
                client.set(key)
        finally:
            client.close()
    finally:
        stop(proc)


def through_libmemcached(pylibmc, ports, servers, all_keys):
    client = pylibmc.Client([f"127.0.0.1:{p}:{w}" for p, (w, _) in zip(ports, servers)],
                            behaviors={"ketama_weighted": True})
    behaviors = client.behaviors
    if not behaviors["ketama_weighted"] or behaviors["hash"] != "md5":
        raise RuntimeError(f"pylibmc did not enable weighted ketama with md5: {behaviors}")
    for key in all_keys:
        if not client.set(key, "v"):
            raise RuntimeError(f"pylibmc set {key} failed")
    client.disconnect_all()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 1
    ring_place = sys.argv[1]
    for tool in ("nutcracker", "memcached"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"skip: {tool} is not installed (apt-get install nutcracker memcached)")
            return SKIP
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    try:
        import pylibmc  # pylint: disable=import-outside-toplevel
    except ImportError:
        pylibmc = None
        if os.environ.get("CI"):
            print("python3-pylibmc is missing: CI installs it (tools/fulmar setup)")
            return 1
        print("skip libmemcached half: python3-pylibmc is not installed")

    all_keys = keys()
    n_max = max(len(s) for _, s, _ in SCENARIOS)
    memcacheds = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="fulmar-ring-") as workdir:
        try:
            ports = []
            for _ in range(n_max):
                port = free_port()
                cmd = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
                if os.geteuid() == 0:
                    cmd[1:1] = ["-u", "root"]
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                memcacheds.append(proc)
                wait_listening(port, proc, f"memcached on {port}")
                ports.append(port)

            for title, servers, peers in SCENARIOS:
                used = ports[:len(servers)]
                for peer in peers:
                    if peer == "libmemcached" and pylibmc is None:
                        continue
                    for port in used:
                        client = TextClient(port)
                        client.flush_all()
                        client.close()
                    if peer == "nutcracker":
                        through_nutcracker(workdir, used, servers, all_keys)
                        entries = [f"127.0.0.1:{p}:{w}" + (f" {n}" if n else "")
                                   for p, (w, n) in zip(used, servers)]
                        mine = ours(ring_place, "twemproxy", entries, all_keys)
                    else:
                        through_libmemcached(pylibmc, used, servers, all_keys)
                        entries = [f"127.0.0.1:{p}:{w}" for p, (w, _) in zip(used, servers)]
                        mine = ours(ring_place, "libmemcached", entries, all_keys)
                    theirs = placement_by_servers(used, all_keys)
                    ok = compare(title, peer, theirs, mine, all_keys, len(used)) and ok
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            print(f"FAIL: {e}")
            ok = False
        finally:
            for proc in memcacheds:
                stop(proc)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
