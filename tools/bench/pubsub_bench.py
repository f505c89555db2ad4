#!/usr/bin/python3
"""Redis pub/sub: Fulmar's control plane next to redis-server 7 in the same
run (tools/fulmar bench pubsub).

For 1, 100 and 10,000 subscribers of one channel, each server gets:

  deliveries/s  redis-benchmark publishes 128-byte messages (-c 1 -P 16)
                while this process reads every subscriber (epoll, bytes
                counted, not parsed); deliveries = subscribers x messages,
                over the time from the first PUBLISH sent to the last byte
                received. Messages per row: 200,000 / subscribers, at least
                100 (so 1M deliveries at 100 and 10,000 subscribers).
  latency       one PUBLISH at a time (--samples, default 200): the time
                from sending it to the first subscriber's copy (p50, p99)
                and to every subscriber's copy (p99).

Both servers on host loopback, each measured alone with the same client:
Fulmar's control plane listens on 127.0.0.1 (its dataplane on a TAP port of
its own namespace: tag pbb, 198.18.122.129), redis-server 7 on a free
port with no persistence. Both stopped by pid. Every phase is bounded
(--phase-timeout, default 60 s); a phase that runs out prints "timeout".
The client is Python: with many subscribers it may be the limit, for both
servers alike. Numbers are printed, never asserted. Needs root, hugepages.
"""
import argparse
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.dont_write_bytecode = True
import fulmar_it as F  # noqa: E402

CHANNEL = b"bench"
PAYLOAD = b"p" * 128
MESSAGE = (b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
           % (len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD))
PUBLISH = (b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
           % (len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD))
CONFIRM = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class Subscribers:
    """n connections subscribed to CHANNEL, read through one epoll."""

    def __init__(self, port, n, deadline):
        self.socks = []
        self.ep = select.epoll()
        self.got = {}
        self.buf = bytearray(1 << 20)
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL))
            self.socks.append(s)
        for s in self.socks:
            s.setblocking(False)
            self.ep.register(s.fileno(), select.EPOLLIN)
            self.got[s.fileno()] = 0
        # Every confirmation in: every subscriber counts from zero after.
        if not self.wait_each(len(CONFIRM), deadline):
            raise TimeoutError("subscriptions")
        for fd in self.got:
            self.got[fd] = 0
        self.first = self.socks[0].fileno()

    def pump(self, timeout):
        for fd, _ in self.ep.poll(timeout):
            while True:
                try:
                    n = os.readv(fd, [self.buf])
                except BlockingIOError:
                    break
                if n == 0:
                    raise ConnectionError("a subscriber was disconnected")
                self.got[fd] += n
                if n < len(self.buf):
                    break

    def wait_each(self, want, deadline, first_cb=None):
        """Until every subscriber holds `want` bytes; first_cb() once the
        first subscriber does."""
        pending = {fd for fd, g in self.got.items() if g < want}
        while pending:
            if time.monotonic() > deadline:
                return False
            self.pump(0.05)
            if first_cb is not None and self.got[self.first] >= want:
                first_cb()
                first_cb = None
            pending = {fd for fd in pending if self.got[fd] < want}
        if first_cb is not None:
            first_cb()
        return True

    def close(self):
        self.ep.close()
        for s in self.socks:
            s.close()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def measure(port, n_subs, n_msgs, samples, phase_timeout):
    """(deliveries/s, p50 first, p99 first, p99 all) in µs; None on timeout."""
    deadline = time.monotonic() + phase_timeout
    subs = Subscribers(port, n_subs, deadline)
    try:
        # Throughput: redis-benchmark publishes, we read.
        t0 = time.monotonic()
        bench = subprocess.Popen(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "1", "-P", "16", "-n",
             str(n_msgs), "-q", "PUBLISH", CHANNEL.decode(), PAYLOAD.decode()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = subs.wait_each(len(MESSAGE) * n_msgs, deadline)
        elapsed = time.monotonic() - t0
        if bench.poll() is None:
            if not ok:
                bench.kill()
            bench.wait(30)
        rate = n_subs * n_msgs / elapsed if ok else None
        # Latency: one PUBLISH at a time.
        pub = socket.create_connection(("127.0.0.1", port))
        pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        first, every = [], []
        base = len(MESSAGE) * n_msgs
        for i in range(samples):
            if time.monotonic() > deadline:
                break
            t = time.monotonic_ns()
            pub.sendall(PUBLISH)
            if not subs.wait_each(base + len(MESSAGE) * (i + 1), deadline,
                                  lambda: first.append(time.monotonic_ns() - t)):
                break
            every.append(time.monotonic_ns() - t)
            reply = pub.recv(64)
            if not reply.startswith(b":"):
                raise RuntimeError(f"PUBLISH answered {reply!r}")
        pub.close()
        if len(every) < samples:
            return rate, None, None, None
        us = 1000
        return rate, pct(first, 50) / us, pct(first, 99) / us, pct(every, 99) / us
    finally:
        subs.close()


def fmt_rate(r):
    return "timeout" if r is None else f"{r / 1e6:.2f} M/s"


def fmt_us(v):
    return "timeout" if v is None else f"{v:.0f} us"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--subscribers", default="1,100,10000")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--phase-timeout", type=float, default=60)
    args = ap.parse_args()
    why = F.preconditions()
    for tool in ("redis-server", "redis-benchmark"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "").split(os.pathsep)):
            why = why or f"needs {tool}"
    if why:
        sys.exit(f"pubsub bench: {why}")
    rows = [int(x) for x in args.subscribers.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(rows) * 2 + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    fx = cp = redis_proc = None
    workdir = tempfile.mkdtemp(prefix="fulmar-pubsub-bench-")
    results = {}
    try:
        fx = F.TapFixture(os.path.join(args.build, "dataplane", "fulmar-dataplane"), memory_mb=32,
                          tag="pbb", ip="198.18.122.129", client_ip="198.18.122.130")
        fport = free_port()
        cp = F.ControlPlane(os.path.join(args.build, "controlplane", "fulmar-controlplane"), fx.dp,
                            fx.workdir, "\n".join([
                                'listen = "127.0.0.1"', "memcached_port = 0",
                                f"redis_port = {fport}", "metrics_port = 0",
                                f'admin_socket = "{os.path.join(fx.workdir, "admin.sock")}"',
                                "request_arena_mb = 8", f"max_connections = {want}"]))
        if not cp.wait_ready() or not wait_port(fport, None):
            sys.exit(f"the control plane did not start:\n{cp.text()}")
        rport = free_port()
        redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", str(want), "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        if not wait_port(rport, redis_proc):
            sys.exit("redis-server did not start")
        for n in rows:
            n_msgs = max(100, 200_000 // n)
            for name, port in (("fulmar", fport), ("redis 7", rport)):
                print(f"==> {name}: {n} subscribers, {n_msgs} messages of {len(PAYLOAD)} bytes",
                      flush=True)
                results[(n, name)] = measure(port, n, n_msgs, args.samples, args.phase_timeout)
        print()
        print(f"{'subscribers':>11}  {'server':<8} {'deliveries/s':>13} {'p50 first':>10} "
              f"{'p99 first':>10} {'p99 all':>10}")
        for n in rows:
            for name in ("fulmar", "redis 7"):
                rate, p50, p99, p99all = results[(n, name)]
                print(f"{n:>11}  {name:<8} {fmt_rate(rate):>13} {fmt_us(p50):>10} "
                      f"{fmt_us(p99):>10} {fmt_us(p99all):>10}")
    finally:
        if redis_proc is not None and redis_proc.poll() is None:
            os.kill(redis_proc.pid, signal.SIGTERM)
            redis_proc.wait(10)
        if cp is not None:
            cp.stop()
        if fx is not None:
            fx.teardown()


if __name__ == "__main__":
    main()
