"""A partition on one machine: etcd and appliances (dataplane + control
plane with [cluster]) on one L2 segment, for the failover test, the failover
benchmark and `tools/fulmar cluster up`.

One bridge in a namespace of its own joins a client namespace (which also
runs etcd) and N appliances, each in a namespace of its own with its
control plane (partition "p1", one dataplane.digest_seed, replication port
16379, the partition's service address .100):

    client ns (.2, etcd :2379) --veth--+
                                      br0 --TAP-- appliance A (.11)
                                      br0 --TAP-- appliance B (.12) ...

Everything is in NET.0/24 (198.18.x) inside namespaces made here; processes
are wrapped in `timeout` (fulmar_it.PROCESS_TIMEOUT_S) and stopped by PID.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import fulmar_it as F

MC_PORT = 11211
REDIS_PORT = 6379
REPL_PORT = 16379


def child_pid(proc, exe):
    """The process `exe` that `timeout` (proc) runs."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                for k in (int(x) for x in f.read().split()):
                    if os.path.realpath(f"/proc/{k}/exe") == os.path.realpath(exe):
                        return k
        except OSError:
            pass
        time.sleep(0.02)
    return None


def resp(*args):
    return b"".join([f"*{len(args)}\r\n".encode()] +
                    [f"${len(str(a).encode())}\r\n{a}\r\n".encode() for a in args])


class Resp:
    """A Redis connection from a namespace (raw RESP2)."""

    def __init__(self, ns, host, timeout=2.0):
        self.s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((host, REDIS_PORT))
        self.buf = b""

    def reply(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                head = self.buf[:end]
                if head[:1] in (b"+", b"-", b":"):
                    self.buf = self.buf[end + 2:]
                    return head
                n = int(head[1:])
                if n < 0:
                    self.buf = self.buf[end + 2:]
                    return None
                if len(self.buf) >= end + 2 + n + 2:
                    v = self.buf[end + 2:end + 2 + n]
                    self.buf = self.buf[end + 2 + n + 2:]
                    return v
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def reply_array(self):
        """A two-level array reply (SCAN's): nested lists of bulk strings."""
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                break
            self.buf += self.s.recv(65536)
        head = self.buf[:end]
        assert head[:1] == b"*", head
        self.buf = self.buf[end + 2:]
        out = []
        for _ in range(int(head[1:])):
            end = -1
            while end < 0:
                end = self.buf.find(b"\r\n")
                if end < 0:
                    self.buf += self.s.recv(65536)
            if self.buf[:1] == b"*":
                out.append(self.reply_array())
            else:
                out.append(self.reply())
        return out

    def call(self, *args):
        self.s.sendall(resp(*args))
        return self.reply()

    def pipeline(self, commands):
        self.s.sendall(b"".join(resp(*c) for c in commands))
        return [self.reply() for _ in commands]

    def close(self):
        self.s.close()


class Node:
    """A dataplane and its control plane, a member of the partition."""

    def __init__(self, cluster, name, index, partition="p1"):
        self.cluster, self.name, self.partition = cluster, name, partition
        net = cluster.net
        self.ip = f"{net}.{11 + index}"
        self.mac = f"02:00:00:8d:00:{11 + index:02x}"
        self.bridge_mac = f"02:00:00:8d:01:{11 + index:02x}"
        self.ns = self.dp = self.cp = None
        self.sock = os.path.join(cluster.workdir, f"admin-{name}.sock")
        self.start()

    def start(self):
        c = self.cluster
        self.ns = F.Netns()
        self.ns.ip("ip", "link", "set", "lo", "up")
        self.dp = F.Dataplane(c.dataplane, c.workdir, ip=self.ip, mac=self.mac,
                              memory_mb=c.memory_mb, kernel=True, netns=self.ns,
                              extra_dataplane=f'digest_seed = "{c.seed}"')
        if not self.dp.wait_ready():
            raise RuntimeError(f"dataplane {self.name} did not get ready:\n{self.dp.text()}")
        self.dp.find_pid(time.monotonic() + 5)
        self.ns.ip("ip", "link", "set", self.dp.iface, "netns", c.bridge.name)
        c.bridge.ip("ip", "link", "set", self.dp.iface, "address", self.bridge_mac)
        c.bridge.ip("ip", "link", "set", self.dp.iface, "master", "br0")
        c.bridge.ip("ip", "link", "set", self.dp.iface, "up")
        self.cp = F.ControlPlane(c.controlplane, self.dp, c.workdir, "\n".join([
            'listen = "0.0.0.0"',
            f'admin_socket = "{self.sock}"',
            "metrics_port = 0",
            "request_arena_mb = 8",
            f"memcached_port = {MC_PORT}",
            f"redis_port = {REDIS_PORT}",
            "[replication]",
            f"port = {REPL_PORT}",
            "[cluster]",
            f'etcd = ["{c.client_ip}:2379"]',
            f'partition = "{self.partition}"',
            f'node_id = "{self.name}"',
            f"lease_ms = {c.lease_ms}",
        ] + ([f'service_address = "{c.service_ip}"'] if c.partitions is None else [])),
            netns=self.ns)
        if not self.cp.wait_ready():
            raise RuntimeError(f"control plane {self.name} did not get ready:\n{self.cp.text()}")

    def ctl(self, *args):
        r = subprocess.run(["timeout", "30", self.cluster.fulmarctl, "--socket", self.sock, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    def status(self):
        rc, out, _ = self.ctl("--json", "cluster", "status")
        return json.loads(out) if rc == 0 else {}

    def info(self):
        rc, out, _ = self.ctl("--json", "replication")
        return json.loads(out) if rc == 0 else {}

    def kill9(self):
        """The node dies at once: both processes, SIGKILL, by PID."""
        cp = child_pid(self.cp.proc, self.cluster.controlplane)
        for pid in (cp, self.dp.pid):
            if pid:
                os.kill(pid, signal.SIGKILL)
        # `timeout` exits with its child: then nothing is left to stop.
        self.cp.proc.wait(10)
        self.dp.proc.wait(10)
        self.cp.stop()
        try:
            self.dp.stop()
        except ProcessLookupError:
            pass
        self.dp.cleanup_files()
        self.ns.delete()
        self.cp = None

    def stop(self):
        if self.cp is not None:
            self.cp.stop()
            self.dp.stop()
            self.dp.cleanup_files()
            self.ns.delete()
            self.cp = None


class Cluster:
    def __init__(self, dataplane, controlplane, fulmarctl, workdir, names=("A", "B", "C"),
                 net="198.18.141", lease_ms=2000, memory_mb=16, partitions=None):
        """partitions: node name -> partition name (a ring of partitions, no
        service address); None: every node in partition p1."""
        self.partitions = partitions
        self.dataplane, self.controlplane, self.fulmarctl = dataplane, controlplane, fulmarctl
        self.workdir, self.net, self.lease_ms, self.memory_mb = workdir, net, lease_ms, memory_mb
        self.client_ip, self.service_ip = f"{net}.2", f"{net}.100"
        self.seed = f"{random.getrandbits(64):016x}"
        self.nodes = {}
        self.bridge = self.client_ns = self.etcd = None
        try:
            self.bridge, self.client_ns = F.make_segment(self.client_ip, "02:00:00:8d:00:02")
            self.etcd_dir = os.path.join(workdir, "etcd")
            self.start_etcd()
            for i, name in enumerate(names):
                self.nodes[name] = Node(self, name, i,
                                        partitions[name] if partitions else "p1")
        except BaseException:
            self.teardown()
            raise

    def start_etcd(self):
        url = f"http://{self.client_ip}:2379"
        self.etcd_log = open(os.path.join(self.workdir, "etcd.log"), "ab")
        self.etcd = subprocess.Popen(
            ["ip", "netns", "exec", self.client_ns.name, "timeout", "-k", "5",
             str(F.PROCESS_TIMEOUT_S), "etcd", "--name", "e1", "--data-dir", self.etcd_dir,
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", "http://127.0.0.1:2380",
             "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "e1=http://127.0.0.1:2380"],
            stdout=self.etcd_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            s = self.client_ns.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.settimeout(0.5)
                if s.connect_ex((self.client_ip, 2379)) == 0:
                    return
            finally:
                s.close()
            time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    def kill_etcd(self):
        pid = child_pid(self.etcd, shutil.which("etcd"))
        if pid:
            os.kill(pid, signal.SIGKILL)
        self.etcd.wait(10)
        self.etcd = None

    def teardown(self):
        for n in self.nodes.values():
            n.stop()
        if self.etcd is not None:
            self.kill_etcd()
        for ns in (self.client_ns, self.bridge):
            if ns is not None:
                ns.delete()

    def resp(self, host=None, timeout=2.0):
        return Resp(self.client_ns, host or self.service_ip, timeout)

    def roles(self):
        """Each live node's role; a primary that may not write (fenced: cut
        off from etcd, it cannot know it was replaced) shows as "fenced"."""
        out = {}
        for n in self.nodes.values():
            if n.cp is None:
                continue
            st = n.status()
            role = st.get("role")
            out[n.name] = "fenced" if role == "primary" and st.get("may_write") != "yes" else role
        return out

    def one_primary(self, timeout=15):
        """The name of the only primary that may write, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roles = self.roles()
            primaries = [k for k, v in roles.items() if v == "primary"]
            if len(primaries) == 1 and all(v in ("primary", "replica", "fenced")
                                           for v in roles.values()):
                return primaries[0]
            time.sleep(0.2)
        return None

    def first_write_after(self, t0, timeout=20):
        """Seconds from t0 to the first write the service address accepts,
        or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = self.resp(timeout=0.5)
                try:
                    if c.call("SET", "probe", "1") == b"+OK":
                        return time.monotonic() - t0
                finally:
                    c.close()
            except OSError:
                pass
            time.sleep(0.02)
        return None


class MovedClient:
    """Redis over TCP to a ring, following MOVED (and retrying TRYAGAIN) as
    a cluster client does; remembers where each key was last served."""

    def __init__(self, cluster, first="A"):
        self.cluster, self.first = cluster, first
        self.conns, self.owner = {}, {}
        self.moved = self.tryagain = 0

    def conn(self, host):
        if host not in self.conns:
            self.conns[host] = Resp(self.cluster.client_ns, host, timeout=5)
        return self.conns[host]

    def call(self, key, *args):
        host = self.owner.get(key, self.cluster.nodes[self.first].ip)
        for _ in range(1000):
            r = self.conn(host).call(*args)
            if isinstance(r, bytes) and r.startswith(b"-MOVED "):
                self.moved += 1
                host = r.split()[2].decode().rsplit(":", 1)[0]
                continue
            if isinstance(r, bytes) and r.startswith(b"-TRYAGAIN"):
                self.tryagain += 1
                time.sleep(0.005)
                continue
            self.owner[key] = host
            return r
        raise AssertionError(f"{args}: no answer but MOVED/TRYAGAIN")

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}


def test_main(doc, module, exe_names):
    """A cluster test's main(): the executables from argv into `module`'s
    globals, a skip (77) without root, hugepages or etcd, then unittest on
    the remaining arguments."""
    n = len(exe_names)
    if len(sys.argv) < 1 + n:
        print(doc)
        return 2
    for name, value in zip(exe_names, sys.argv[1:1 + n]):
        setattr(module, name, value)
    why = F.preconditions()
    if not why and shutil.which("etcd") is None:
        why = "needs etcd (Debian's etcd-server)"
    if why:
        print(f"SKIP: {why}")
        return 77
    prog = unittest.main(module=module, argv=[sys.argv[0]] + sys.argv[1 + n:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1
