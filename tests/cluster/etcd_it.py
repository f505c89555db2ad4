#!/usr/bin/python3
"""Integration tests of src/cluster against a real etcd this script starts.

    etcd_it.py client  ETCD_CLIENT_TEST       the client's GoogleTest binary
    etcd_it.py election AGENT_DRIVER          one primary; failover to the most
                                              caught-up candidate, epoch bumped
    etcd_it.py etcd-down AGENT_DRIVER         etcd killed: the primary fences
                                              before its lease could lapse, no
                                              failover; etcd back: unfenced
    etcd_it.py cluster3 AGENT_DRIVER          a 3-member etcd: its leader killed,
                                              the primary stays; failover on two

Each run starts its own etcd (under `timeout`, data directory in a temporary
directory, loopback ports) and stops it and every agent it started by PID.
Ports: FULMAR_ETCD_PORTS="CLIENT,PEER[,DEAD]" when set (parallel helpers
each have a range), else free ports the kernel picks. Debian's etcd-server
is needed; without it the test fails (CI installs it: tools/fulmar setup).
Debian's interpreter, standard library only.
"""

import json
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


def free_ports(n):
    """n distinct loopback ports the kernel picks (all bound at once, so no
    two are the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ports():
    env = os.environ.get("FULMAR_ETCD_PORTS")
    if env:
        p = [int(x) for x in env.split(",")]
        p += free_ports(3 - len(p)) if len(p) < 3 else []
        return p[0], p[1], p[2]
    p = free_ports(3)
    return p[0], p[1], p[2]


class Etcd:
    """One etcd member on loopback; stop() and kill() act on its PID only."""

    def __init__(self, workdir, client_port, peer_port, name="n1", initial_cluster=None):
        self.name = name
        self.data = os.path.join(workdir, f"etcd-data-{name}")
        self.log_path = os.path.join(workdir, f"etcd-{name}.log")
        self.client_port = client_port
        self.peer_port = peer_port
        self.initial_cluster = initial_cluster or f"{name}=http://127.0.0.1:{peer_port}"
        self.proc = None

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.client_port}"

    def start(self):
        self.spawn()
        self.wait_serving()

    def spawn(self):
        c = f"http://127.0.0.1:{self.client_port}"
        p = f"http://127.0.0.1:{self.peer_port}"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["timeout", "600", ETCD, "--name", self.name, "--data-dir", self.data,
             "--listen-client-urls", c, "--advertise-client-urls", c,
             "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
             "--initial-cluster", self.initial_cluster],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_serving(self):
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
    """The PID of the process `timeout` runs (its only child; a just-started
    `timeout` may not have forked it yet)."""
    for _ in range(50):
        try:
            with open(f"/proc/{timeout_pid}/task/{timeout_pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return None  # timeout itself is gone
        if kids:
            return int(kids[0])
        time.sleep(0.02)
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


TTL_MS = 3000
MARGIN_MS = 500
PARTITION = "p0"


def mono_ms():
    return int(time.monotonic() * 1000)  # CLOCK_MONOTONIC, as the driver prints


class Agent:
    """One agent_driver process; its stdout lines are collected by a thread."""

    def __init__(self, driver, workdir, endpoints, node, offset):
        self.node = node
        self.err_path = os.path.join(workdir, f"agent-{node}.err")
        err = open(self.err_path, "ab")
        self.proc = subprocess.Popen(
            ["timeout", "300", driver, "--endpoints", endpoints, "--partition", PARTITION,
             "--node", node, "--address", f"addr-{node}", "--offset", str(offset),
             "--ttl-ms", str(TTL_MS), "--margin-ms", str(MARGIN_MS), "--seconds", "240"],
            stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        self.lines = []  # (mono ms, [words])
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            words = line.split()
            if len(words) < 2:
                continue
            with self.cond:
                self.lines.append((int(words[0]), words[1:]))
                self.cond.notify_all()

    def wait_for(self, what, timeout_s, after_ms=0):
        """The first line whose words start with `what`, printed at or after
        `after_ms`; None when none came within timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for t, words in self.lines:
                    if t >= after_ms and words[:len(what)] == what:
                        return t, words
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def events(self, after_ms=0):
        with self.cond:
            return [(t, w) for t, w in self.lines if t >= after_ms]

    def kill(self):
        child = etcd_child(self.proc.pid)
        if child:
            os.kill(child, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self):
        with open(self.err_path, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")


class Failure(Exception):
    pass


def check(cond, what, agents=()):
    if not cond:
        detail = "".join(f"\n--- {a.node} events: {a.events()}\n{a.log()}" for a in agents)
        raise Failure(what + detail)


def etcdctl(etcd, *args):
    r = subprocess.run(["etcdctl", "--endpoints", etcd.endpoint, "--command-timeout=2s", *args],
                       capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"),
                       timeout=10)
    if r.returncode != 0:
        raise Failure(f"etcdctl {args}: {r.stderr}")
    return r.stdout


def etcd_value(etcd, key):
    out = etcdctl(etcd, "get", "--print-value-only", key).strip()
    return out


def primary_lease(etcd):
    for line in etcdctl(etcd, "get", "/fulmar/partitions/p0/primary", "-w",
                        "fields").splitlines():
        if line.startswith('"Lease"'):
            return int(line.split(":")[1].strip())
    raise Failure("no lease on the primary key")


def primaries(agents, after_ms=0):
    """(agent, epoch) for every 'primary' line after after_ms."""
    return [(a, int(w[1])) for a in agents for t, w in a.events(after_ms) if w[0] == "primary"]


def scenario_election(driver, etcd, work):
    """Exactly one primary among three; kill it: the most caught-up of the
    others wins within TTL + ~1 s with the epoch bumped; revoke the new
    primary's lease: it steps down and one node wins epoch 3."""
    a = Agent(driver, work, etcd.endpoint, "a", 0)
    agents = [a]
    try:
        check(a.wait_for(["primary", "1"], 10), "a did not become primary at epoch 1", agents)
        b = Agent(driver, work, etcd.endpoint, "b", 10)
        c = Agent(driver, work, etcd.endpoint, "c", 20)
        agents += [b, c]
        for n in (b, c):
            check(n.wait_for(["replica", "addr-a", "1"], 10), f"{n.node} did not follow a", agents)
        time.sleep(2)
        check(primaries(agents) == [(a, 1)], f"more than one primary: {primaries(agents)}",
              agents)
        check(etcd_value(etcd, "/fulmar/partitions/p0/epoch") == "1", "epoch key is not 1")

        killed = mono_ms()
        a.kill()
        won = c.wait_for(["primary", "2"], 10, killed)
        check(won is not None, "c (offset 20, the most caught up) did not win epoch 2", agents)
        took = won[0] - killed
        print(f"failover after SIGKILL of the primary: {took} ms (TTL {TTL_MS} ms)")
        check(took <= TTL_MS + 1500, f"failover took {took} ms", agents)
        check(b.wait_for(["replica", "addr-c", "2"], 5, killed), "b did not follow c", agents)
        check(primaries([b], killed) == [], "b also became primary", agents)
        check(etcd_value(etcd, "/fulmar/partitions/p0/epoch") == "2", "epoch key is not 2")
        check(etcd_value(etcd, "/fulmar/partitions/p0/primary") == "2 c addr-c",
              "primary key is not c's")

        # Revoke c's lease, as etcd does when it lapses: c learns at its next
        # renewal, steps down, and the partition elects again (epoch 3).
        lease = primary_lease(etcd)
        revoked = mono_ms()
        etcdctl(etcd, "lease", "revoke", format(lease, "x"))
        check(c.wait_for(["down", "2"], 5, revoked), "c did not step down", agents)
        deadline = time.monotonic() + TTL_MS / 1000 + 3
        while time.monotonic() < deadline and not primaries([b, c], revoked):
            time.sleep(0.05)
        time.sleep(1)
        p = primaries([b, c], revoked)
        check(len(p) == 1 and p[0][1] == 3, f"not exactly one primary at epoch 3: {p}", agents)
        winner = p[0][0]
        loser = c if winner is b else b
        check(loser.wait_for(["replica", f"addr-{winner.node}", "3"], 5, revoked),
              f"{loser.node} did not follow {winner.node} at epoch 3", agents)
        print(f"after revoking c's lease: {winner.node} primary at epoch 3")
    finally:
        for n in agents:
            n.stop()


def scenario_etcd_down(driver, etcd, work):
    """SIGKILL etcd: the primary fences itself before its lease could lapse
    and nobody else becomes primary; etcd back on the same data: the primary
    renews and unfences (or a clean election happens)."""
    a = Agent(driver, work, etcd.endpoint, "a", 0)
    agents = [a]
    try:
        check(a.wait_for(["primary", "1"], 10), "a did not become primary", agents)
        b = Agent(driver, work, etcd.endpoint, "b", 5)  # ahead of a (0) when a loses
        agents.append(b)
        check(b.wait_for(["replica", "addr-a", "1"], 10), "b did not follow a", agents)
        time.sleep(1.5)

        killed = mono_ms()
        etcd.kill()
        fenced = a.wait_for(["fenced"], TTL_MS / 1000 + 1, killed)
        check(fenced is not None, "a did not fence itself with etcd dead", agents)
        fenced_at, words = fenced
        deadline = int(words[1])
        print(f"etcd killed; a fenced after {fenced_at - killed} ms, deadline "
              f"{deadline - killed} ms after the kill")
        # The last renewal etcd answered was sent before the kill, so the
        # lease lives until at least that send + TTL: the fence must come
        # margin before that bound (plus the 50 ms tick).
        check(deadline - killed <= TTL_MS - MARGIN_MS, "fence deadline past TTL - margin", agents)
        check(fenced_at - killed <= TTL_MS - MARGIN_MS + 200, "fenced late", agents)
        time.sleep(2 * TTL_MS / 1000)
        check(primaries(agents, killed) == [], "a primary was elected without etcd", agents)
        check(a.wait_for(["unfenced"], 0, killed) is None, "a unfenced without etcd", agents)

        restarted = mono_ms()
        etcd.start()
        back = a.wait_for(["unfenced"], 10, restarted)
        if back is not None:
            print(f"etcd restarted; a renewed its lease and unfenced after "
                  f"{back[0] - restarted} ms")
            time.sleep(2)
            check(primaries(agents, killed) == [], "a second primary after the restart", agents)
            check(etcd_value(etcd, "/fulmar/partitions/p0/epoch") == "1",
                  "epoch moved with the primary still in place")
            # b's watch resumed across the restart: revoking a's lease (its
            # primary key goes with it) must make b primary at epoch 2, and a
            # come back as b's replica.
            lease = primary_lease(etcd)
            revoked = mono_ms()
            etcdctl(etcd, "lease", "revoke", format(lease, "x"))
            won = b.wait_for(["primary", "2"], 5, revoked)
            check(won is not None, "b did not see a's key go after the restart", agents)
            check(a.wait_for(["replica", "addr-b", "2"], 5, revoked), "a did not follow b",
                  agents)
            print(f"after the restart, a's lease revoked: b primary at epoch 2 after "
                  f"{won[0] - revoked} ms, a its replica")
        else:
            # Its lease was lost: then a clean election, exactly one winner.
            time.sleep(TTL_MS / 1000 + 2)
            p = primaries(agents, restarted)
            check(len(p) == 1 and p[0][1] == 2, f"no clean election after restart: {p}", agents)
            print(f"etcd restarted; clean election: {p[0][0].node} at epoch 2")
    finally:
        for n in agents:
            n.stop()


def leader_member(members):
    """The member that is etcd's raft leader now."""
    live = [m for m in members if m.proc is not None]
    r = subprocess.run(["etcdctl", "--endpoints", ",".join(m.endpoint for m in live),
                        "--command-timeout=2s", "endpoint", "status", "-w", "json"],
                       capture_output=True, text=True, env=dict(os.environ, ETCDCTL_API="3"),
                       timeout=10)
    if r.returncode != 0:
        raise Failure(f"etcdctl endpoint status: {r.stderr}")
    out = r.stdout
    for st in json.loads(out):
        status = st["Status"]
        if status["header"]["member_id"] == status["leader"]:
            return next(m for m in members if m.endpoint == st["Endpoint"])
    raise Failure(f"no leader in {out}")


def scenario_cluster3(driver, work):
    """A 3-member etcd, agents given all three endpoints: SIGKILL the raft
    leader: the primary stays primary (unfenced again if the new leader took
    long), nobody else is elected; then failover still works on two members."""
    env = os.environ.get("FULMAR_ETCD_PORTS")
    if env:
        base_c, base_p = (int(x) for x in env.split(",")[:2])
        cports, pports = [base_c + i for i in range(3)], [base_p + i for i in range(3)]
    else:
        p = free_ports(6)
        cports, pports = p[:3], p[3:]
    initial = ",".join(f"m{i}=http://127.0.0.1:{pports[i]}" for i in range(3))
    members = [Etcd(work, cports[i], pports[i], f"m{i}", initial) for i in range(3)]
    agents = []
    try:
        for m in members:
            m.spawn()
        for m in members:
            m.wait_serving()
        endpoints = ",".join(m.endpoint for m in members)
        a = Agent(driver, work, endpoints, "a", 0)
        agents.append(a)
        check(a.wait_for(["primary", "1"], 10), "a did not become primary", agents)
        b = Agent(driver, work, endpoints, "b", 5)
        agents.append(b)
        check(b.wait_for(["replica", "addr-a", "1"], 10), "b did not follow a", agents)
        time.sleep(1.5)

        leader = leader_member(members)
        killed = mono_ms()
        leader.kill()
        time.sleep(2 * TTL_MS / 1000)
        check(primaries(agents, killed) == [], "a primary elected after a member died", agents)
        fenced = a.wait_for(["fenced"], 0, killed)
        if fenced is not None:
            back = a.wait_for(["unfenced"], 5, fenced[0])
            check(back is not None, "a fenced and never unfenced with 2 of 3 members", agents)
            print(f"leader {leader.name} killed: a fenced for {back[0] - fenced[0]} ms")
        else:
            print(f"leader {leader.name} killed: a stayed unfenced")
        check(b.wait_for(["replica", "addr-a", "2"], 0, killed) is None, "b moved", agents)

        killed = mono_ms()
        a.kill()
        won = b.wait_for(["primary", "2"], 10, killed)
        check(won is not None, "b did not take over on two members", agents)
        print(f"a killed: b primary at epoch 2 after {won[0] - killed} ms on two members")
        check(won[0] - killed <= TTL_MS + 1500, "failover too slow", agents)
    finally:
        for n in agents:
            n.stop()
        for m in members:
            m.stop()


def run_agents(mode, driver):
    if mode == "cluster3":
        with tempfile.TemporaryDirectory(prefix="fulmar-etcd-") as work:
            try:
                scenario_cluster3(driver, work)
            except Failure as e:
                print(f"FAIL: {e}", file=sys.stderr)
                return 1
        print(f"{mode}: ok")
        return 0
    client_port, peer_port, _ = ports()
    with tempfile.TemporaryDirectory(prefix="fulmar-etcd-") as work:
        etcd = Etcd(work, client_port, peer_port)
        etcd.start()
        try:
            {"election": scenario_election, "etcd-down": scenario_etcd_down}[mode](
                driver, etcd, work)
        except Failure as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
        finally:
            etcd.stop()
    print(f"{mode}: ok")
    return 0


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
    if mode in ("election", "etcd-down", "cluster3"):
        return run_agents(mode, binary)
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
