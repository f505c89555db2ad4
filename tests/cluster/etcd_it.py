#!/usr/bin/python3
"""Integration tests of src/cluster against a real etcd this script starts.

    etcd_it.py client  ETCD_CLIENT_TEST       the client's GoogleTest binary
    etcd_it.py election AGENT_DRIVER          one primary; failover to the most
                                              caught-up candidate, epoch bumped
    etcd_it.py etcd-down AGENT_DRIVER         etcd killed: the primary fences
                                              before its lease could lapse, no
                                              failover; etcd back: unfenced

Each run starts its own etcd (under `timeout`, data directory in a temporary
directory, loopback ports) and stops it and every agent it started by PID.
Ports: FULMAR_ETCD_PORTS="CLIENT,PEER[,DEAD]" when set (parallel helpers
each have a range), else free ports the kernel picks. Debian's etcd-server
is needed; without it the test fails (CI installs it: tools/fulmar setup).
Debian's interpreter, standard library only.
"""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ports():
    env = os.environ.get("FULMAR_ETCD_PORTS")
    if env:
        p = [int(x) for x in env.split(",")]
        while len(p) < 3:
            p.append(free_port())
        return p[0], p[1], p[2]
    return free_port(), free_port(), free_port()


class Etcd:
    """One etcd member on loopback; stop() and kill() act on its PID only."""

    def __init__(self, workdir, client_port, peer_port):
        self.data = os.path.join(workdir, "etcd-data")
        self.log_path = os.path.join(workdir, "etcd.log")
        self.client_port = client_port
        self.peer_port = peer_port
        self.proc = None

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.client_port}"

    def start(self):
        c = f"http://127.0.0.1:{self.client_port}"
        p = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["timeout", "600", ETCD, "--name", "n1", "--data-dir", self.data,
             "--listen-client-urls", c, "--advertise-client-urls", c,
             "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
             "--initial-cluster", f"n1={p}"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited {self.proc.returncode}: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.client_port), 0.2):
                    pass
                # Listening is not serving: wait until it answers a write.
                r = subprocess.run(
                    ["etcdctl", "--endpoints", self.endpoint, "--command-timeout=1s",
                     "put", "/fulmar-it/ready", "1"],
                    capture_output=True, env=dict(os.environ, ETCDCTL_API="3"), timeout=5)
                if r.returncode == 0:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"etcd did not come up: {self.tail()}")

    def kill(self):
        """SIGKILL etcd itself (the child of `timeout`), then reap."""
        if self.proc is None:
            return
        child = etcd_child(self.proc.pid)
        if child:
            os.kill(child, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()  # timeout(1) passes SIGTERM on to etcd
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""


def etcd_child(timeout_pid):
    """The PID of the process `timeout` runs (its only child)."""
    try:
        with open(f"/proc/{timeout_pid}/task/{timeout_pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def run_client(test_binary):
    client_port, peer_port, dead_port = ports()
    with tempfile.TemporaryDirectory(prefix="fulmar-etcd-") as work:
        etcd = Etcd(work, client_port, peer_port)
        etcd.start()
        try:
            env = dict(os.environ, FULMAR_ETCD_ENDPOINT=etcd.endpoint,
                       FULMAR_ETCD_DEAD_ENDPOINT=f"127.0.0.1:{dead_port}")
            r = subprocess.run(["timeout", "120", test_binary], env=env)
            return r.returncode
        finally:
            etcd.stop()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, binary = sys.argv[1], sys.argv[2]
    if not os.access(ETCD, os.X_OK):
        print(f"no etcd at {ETCD} (Debian's etcd-server; tools/fulmar setup)", file=sys.stderr)
        return 1
    if mode == "client":
        return run_client(binary)
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
