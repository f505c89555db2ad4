"""Helpers of the TAP integration tests: a real fulmar-dataplane process on a
net_tap port whose kernel side is moved into a network namespace that the
test creates, kernel UDP clients inside that namespace, Debian's memcached as
a reference peer.

Everything a fixture creates is named after a tag (a test's own, else
$FULMAR_IT_TAG, else "fmt"), this process's pid and a counter (namespace
<tag>-<pid>-<n>, TAP iface <tag><pid%100000>n<n>, its kernel side
<tag><pid%100000>k<n>, EAL --file-prefix <tag><pid>_<n>_), every process is
wrapped in `timeout`, and teardown removes what it made: nothing can hang CI
or collide with a parallel run. Traffic goes only to 198.18.0.0/15 addresses
inside namespaces created here, or to the kernel side of a dataplane started
here (the exception path: that interface stays in the host's namespace,
holding the dataplane's address; tests give it a subnet of their own).

The dataplane is started with --ready-file and nothing touches its
interfaces before that file exists: a net_tap interface moved to another
namespace while the PMD still sets up its queues gets a twin in the old one.

Clients: the test process enters the namespace with setns(2) on the calling
thread only long enough to create a socket (a socket stays in the namespace
it was created in), then goes back; memcached is started with
`ip netns exec`.
"""
import atexit
import ctypes
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

DP_IP = "198.18.0.1"
CLIENT_IP = "198.18.0.2"
DP_MAC = "02:00:00:00:00:01"
# The kernel side of the TAP gets its own address, as a real client host
# would have. (net_tap gives the kernel iface the port's own MAC; see
# TapSameMacTest for what that does.)
CLIENT_MAC = "02:00:00:00:00:02"
MC_PORT = 11211
HUGEPAGE_DIR = "/dev/hugepages"
DPDK_RUN_DIR = "/var/run/dpdk"
# Longest life of any process started here (the whole suite takes ~1 min).
PROCESS_TIMEOUT_S = 200
# The names' tag when a test does not pick one; FULMAR_IT_TAG lets parallel
# runs of one suite (several checkouts on one machine) keep apart by name.
TAG = os.environ.get("FULMAR_IT_TAG", "fmt")
assert TAG.isalnum() and len(TAG) <= 3, "FULMAR_IT_TAG: up to 3 letters or digits"

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_counter = 0
_counter_lock = threading.Lock()
_netns_lock = threading.Lock()
# Everything still alive, for the atexit / SIGTERM safety net.
_live = set()


def _next_n():
    global _counter
    with _counter_lock:
        _counter += 1
        return _counter


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


def run(*cmd, check=True, timeout=20):
    """Runs a short command (never a shell); returns CompletedProcess."""
    r = subprocess.run(["timeout", str(timeout), *cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout + 5)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stdout.strip()}")
    return r


def preconditions():
    """None when the suite can run here, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, TAP)"
    if not os.path.ismount(HUGEPAGE_DIR):
        return f"{HUGEPAGE_DIR} is not mounted (tools/fulmar setup)"
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            free = int(f.read())
    except OSError:
        free = 0
    if free < 128:
        return f"only {free} free 2 MiB hugepages (tools/fulmar setup reserves them)"
    for tool in ("ip", "timeout"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command"
    return None


class Netns:
    """A network namespace of our own."""

    def __init__(self, tag=None):
        tag = tag or TAG
        self.name = f"{tag}-{os.getpid()}-{_next_n()}"
        run("ip", "netns", "add", self.name)
        _live.add(self)

    @property
    def path(self):
        return f"/var/run/netns/{self.name}"

    def exists(self):
        return os.path.exists(self.path)

    def ip(self, *args, check=True):
        return run("ip", "netns", "exec", self.name, *args, check=check)

    def socket(self, family=socket.AF_INET, type_=socket.SOCK_DGRAM, proto=0):
        """A socket that lives in this namespace (created on this thread
        inside it, then the thread goes back)."""
        with _netns_lock:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(self.path, os.O_RDONLY)
            try:
                _setns(target)
                try:
                    return socket.socket(family, type_, proto)
                finally:
                    _setns(own)
            finally:
                os.close(target)
                os.close(own)

    def delete(self):
        if self.exists():
            run("ip", "netns", "del", self.name, check=False)
        _live.discard(self)


def make_segment(client_ip, client_mac):
    """One L2 segment of namespaces made here: a bridge (br0) in a namespace
    of its own and a client namespace on it (veth vc, `client_ip`/24).
    Appliances join by moving their TAP's kernel end onto br0. Returns
    (bridge, client); the caller deletes both (Netns.delete)."""
    bridge = Netns()
    client = None
    try:
        bridge.ip("ip", "link", "add", "br0", "type", "bridge")
        bridge.ip("ip", "link", "set", "br0", "up")
        client = Netns()
        client.ip("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        client.ip("ip", "link", "set", "lo", "up")
        client.ip("ip", "link", "add", "vc", "address", client_mac, "type", "veth", "peer",
                  "name", "vb", "netns", bridge.name)
        client.ip("ip", "addr", "add", f"{client_ip}/24", "dev", "vc")
        client.ip("ip", "link", "set", "vc", "up")
        bridge.ip("ip", "link", "set", "vb", "master", "br0")
        bridge.ip("ip", "link", "set", "vb", "up")
    except BaseException:
        for ns in (client, bridge):
            if ns is not None:
                ns.delete()
        raise
    return bridge, client


def hugepage_files(prefix):
    return sorted(glob.glob(os.path.join(HUGEPAGE_DIR, glob.escape(prefix) + "map_*")))


def write_config(path, iface, workers, extra_dataplane="", ip=DP_IP, mac=DP_MAC, memory_mb=64,
                 kernel_iface=None):
    kernel = f'kernel_device = "net_tap1,iface={kernel_iface}"\n' if kernel_iface else ""
    with open(path, "w") as f:
        f.write(f"""# Written by tests/integration (shape of configs/local.toml).
[dataplane]
workers = [{", ".join(str(w) for w in workers)}]
main_lcore = 0
memory_per_shard_mb = {memory_mb}
udp_port = {MC_PORT}
allowed_clients = ["198.18.0.0/15"]
{extra_dataplane}
[dataplane.idle]
mode = "adaptive"
pause_iterations = 1024
max_sleep_us = 100

[[ports]]
device = "net_tap0,iface={iface}"
ipv4 = "{ip}/24"
mac = "{mac}"
{kernel}
[telemetry]
enabled = true
""")


class Dataplane:
    """fulmar-dataplane on a net_tap port, under `timeout`."""

    def __init__(self, exe, workdir, workers=(1,), extra_dataplane="", ip=DP_IP, mac=DP_MAC,
                 memory_mb=64, tag=None, kernel=False, netns=None):
        """netns: a Netns to run in (`ip netns exec`): both TAP interfaces
        are created there, and its kernel side stays there with its address,
        as on an appliance host of its own."""
        tag = tag or TAG
        self.netns = netns
        n = _next_n()
        self.exe = exe
        self.iface = f"{tag}{os.getpid() % 100000}n{n}"
        assert len(self.iface) <= 15
        # The port's kernel side ([[ports]] kernel_device), in our namespace.
        self.kernel_iface = f"{tag}{os.getpid() % 100000}k{n}" if kernel else None
        self.prefix = f"{tag}{os.getpid()}_{n}_"
        self.config = os.path.join(workdir, f"dp{n}.toml")
        self.log_path = os.path.join(workdir, f"dp{n}.log")
        self.ready_path = os.path.join(workdir, f"dp{n}.ready")
        write_config(self.config, self.iface, workers, extra_dataplane, ip, mac, memory_mb,
                     self.kernel_iface)
        # Main lcore 0 on CPU 0, the workers on CPU 1 (a 2-CPU machine).
        lcores = ",".join(["0@0"] + [f"{w}@1" for w in workers])
        self.cmd = ["timeout", "-k", "5", str(PROCESS_TIMEOUT_S), exe, "--lcores", lcores,
                    "--no-pci", "--file-prefix", self.prefix, "--log-level=pmd.net.tap:warning",
                    "--", "--config", self.config, "--ready-file", self.ready_path]
        if netns is not None:
            # `ip netns exec` execs `timeout`: the process tree is the same.
            self.cmd = ["ip", "netns", "exec", netns.name] + self.cmd
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _live.add(self)
        self.pid = None  # fulmar-dataplane itself (the child of timeout)
        self.returncode = None
        self.exit_seconds = None
        self.leftover_hugepages = None

    def find_pid(self, deadline):
        while time.monotonic() < deadline and self.pid is None:
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            for k in kids:
                try:
                    if os.path.realpath(f"/proc/{k}/exe") == os.path.realpath(self.exe):
                        self.pid = k
                except OSError:
                    pass
            if self.pid is None:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
        return self.pid

    def wait_ready(self, timeout=20):
        """Until the dataplane says it is ready (ports started, workers
        running: its --ready-file exists); False if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_path) and self._iface_exists():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def _iface_exists(self):
        if self.netns is None:
            return os.path.exists(f"/sys/class/net/{self.iface}")
        return self.netns.ip("ip", "link", "show", self.iface, check=False).returncode == 0

    # The TAP interface is safe to move once the dataplane is ready.
    wait_iface = wait_ready

    def alive(self):
        return self.proc.poll() is None

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=10):
        """SIGTERM to fulmar-dataplane (ours), wait; SIGKILL only if stuck.
        Returns the exit status (the `timeout` wrapper passes it through)."""
        if self.returncode is not None:
            return self.returncode
        t0 = time.monotonic()
        if self.proc.poll() is None:
            target = self.pid or self.find_pid(time.monotonic() + 2)
            os.kill(target if target else self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                if self.pid:
                    try:
                        os.kill(self.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(10)
        self.exit_seconds = time.monotonic() - t0
        self.returncode = self.proc.returncode
        self.log.close()
        _live.discard(self)
        return self.returncode

    def cleanup_files(self):
        """After exit: what the process left, then remove it all."""
        self.leftover_hugepages = hugepage_files(self.prefix)
        for p in self.leftover_hugepages:
            os.unlink(p)
        shutil.rmtree(os.path.join(DPDK_RUN_DIR, self.prefix), ignore_errors=True)

    def telemetry(self, cmd, timeout=3):
        """One DPDK telemetry command (its v2 socket in the runtime dir)."""
        path = os.path.join(DPDK_RUN_DIR, self.prefix, "dpdk_telemetry.v2")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(timeout)
            s.connect(path)
            hello = json.loads(s.recv(65536).decode())
            s.send(cmd.encode())
            reply = json.loads(s.recv(hello.get("max_output_len", 16384) + 1024).decode())
        return reply[cmd]

    def summary(self):
        """The counters printed at exit: ({name: value}, [{shard stats}])."""
        text = self.text()
        i = text.find("fulmar-dataplane: stopping")
        totals, shards = {}, []
        if i < 0:
            return totals, shards
        for line in text[i:].splitlines()[1:]:
            m = re.match(r"^\s+([a-z_0-9]+)\s+(\d+)$", line)
            if m:
                totals[m.group(1)] = int(m.group(2))
                continue
            m = re.match(r"^\s+shard (\d+):(.*)$", line)
            if m:
                shards.append({k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))})
        return totals, shards


class McUdp:
    """A memcached UDP client in a namespace: one request datagram (8-byte
    frame header, total 1), reply datagrams reassembled by sequence number."""

    def __init__(self, ns, host, port, client_ip=CLIENT_IP):
        self.sock = ns.socket()
        self.sock.bind((client_ip, 0))
        self.addr = (host, port)
        self.rid = random.randrange(1, 30000)

    def close(self):
        self.sock.close()

    def next_rid(self):
        self.rid = self.rid % 65535 + 1
        return self.rid

    def send_raw(self, datagram):
        self.sock.sendto(datagram, self.addr)

    def send(self, payload, rid=None, seq=0, total=1, reserved=0):
        rid = self.next_rid() if rid is None else rid
        self.send_raw(struct.pack("!HHHH", rid, seq, total, reserved) + payload)
        return rid

    def collect(self, rid, timeout):
        """(reply bytes, [(seq, total, reserved, payload length)]) or
        (None, []) when no datagram of request `rid` arrives in time."""
        deadline = time.monotonic() + timeout
        parts, headers, total = {}, [], None
        while total is None or len(parts) < total:
            left = deadline - time.monotonic()
            if left <= 0:
                if total is None:
                    return None, []
                raise AssertionError(
                    f"request {rid}: {len(parts)} of {total} reply datagrams within {timeout}s")
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            if src != self.addr or len(data) < 8:
                continue
            r, seq, tot, rsv = struct.unpack("!HHHH", data[:8])
            if r != rid:
                continue  # late reply of an earlier request
            if total is not None and tot != total:
                raise AssertionError(f"request {rid}: total {tot} after {total}")
            total = tot
            if seq in parts:
                raise AssertionError(f"request {rid}: sequence {seq} twice")
            parts[seq] = data[8:]
            headers.append((seq, tot, rsv, len(data) - 8))
        if sorted(parts) != list(range(total)):
            raise AssertionError(f"request {rid}: sequences {sorted(parts)} of {total}")
        return b"".join(parts[i] for i in range(total)), headers

    def request(self, payload, timeout=2.0):
        """The reassembled reply; AssertionError if none comes."""
        rid = self.send(payload)
        reply, _ = self.collect(rid, timeout)
        if reply is None:
            raise AssertionError(f"no reply within {timeout}s to {payload[:80]!r}")
        return reply

    def request_frames(self, payload, timeout=2.0):
        rid = self.send(payload)
        reply, headers = self.collect(rid, timeout)
        return rid, reply, headers

    def maybe(self, payload, timeout):
        """Reply or None (for requests that may be answered with silence)."""
        rid = self.send(payload)
        reply, _ = self.collect(rid, timeout)
        return reply

    def exchange(self, payload, sentinel=b"MN\r\n", quiet=0.3, timeout=3.0):
        """For peers that answer one datagram with several replies (memcached
        sends each response as its own frame sequence, all with the request
        id): every datagram of the request, until the reply ends with
        `sentinel` (a last `mn` in the request) or nothing comes for `quiet`
        seconds. Returns (bytes or None, number of frame sequences)."""
        rid = self.send(payload)
        t_end = time.monotonic() + timeout
        msgs = []  # [total, {seq: payload}]
        out = []

        def complete():
            return not msgs or len(msgs[-1][1]) == msgs[-1][0]

        while True:
            if msgs and complete() and sentinel and b"".join(out).endswith(sentinel):
                break
            now = time.monotonic()
            if now >= t_end:
                break
            wait = quiet
            if (not msgs and sentinel) or not complete():
                wait = t_end - now
            self.sock.settimeout(max(0.001, min(wait, t_end - now)))
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                if complete():
                    break
                continue
            if src != self.addr or len(data) < 8:
                continue
            r, seq, tot, _ = struct.unpack("!HHHH", data[:8])
            if r != rid:
                continue
            if tot == 0 and len(data) == 8:
                # memcached sends an empty frame (total 0) ahead of some
                # multi-key replies: nothing to reassemble.
                continue
            if complete():
                msgs.append([tot, {}])
            if seq in msgs[-1][1] or tot != msgs[-1][0]:
                raise AssertionError(f"request {rid}: bad frame seq {seq} total {tot}")
            msgs[-1][1][seq] = data[8:]
            if len(msgs[-1][1]) == tot:
                out.append(b"".join(msgs[-1][1][i] for i in range(tot)))
        if not complete():
            raise AssertionError(f"request {rid}: reply datagrams missing")
        return (b"".join(out) if msgs else None), len(msgs)

    def drain(self):
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recvfrom(65536)
        except (BlockingIOError, socket.timeout):
            pass
        finally:
            self.sock.setblocking(True)


def wait_serving(client, timeout=15):
    """Polls with `mn` until the peer answers (ARP, link, startup)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.maybe(b"mn\r\n", 0.25) == b"MN\r\n":
            client.drain()
            return True
    return False


class TapFixture:
    """A dataplane, its namespace with the TAP's kernel side, a client."""

    def __init__(self, exe, workers=(1,), client_mac=CLIENT_MAC, extra_dataplane="", memory_mb=64,
                 tag=None, kernel=False, ip=DP_IP, client_ip=CLIENT_IP):
        """kernel: the port gets a kernel side (exception path) holding `ip`
        in our namespace; give it a subnet no other run uses."""
        self.workdir = tempfile.mkdtemp(prefix="fulmar-it-")
        self.ns = None
        self.client = None
        self.memcached = None
        self.torn_down = False
        self.ip = ip
        self.client_ip = client_ip
        self.dp = Dataplane(exe, self.workdir, workers, extra_dataplane, ip=ip,
                            memory_mb=memory_mb, tag=tag, kernel=kernel)
        try:
            if not self.dp.wait_ready():
                raise RuntimeError(f"the dataplane did not get ready (TAP iface {self.dp.iface}); "
                                   f"log:\n{self.dp.text()}")
            self.dp.find_pid(time.monotonic() + 5)
            self.ns = Netns(tag)
            run("ip", "link", "set", self.dp.iface, "netns", self.ns.name)
            self.ns.ip("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            self.ns.ip("ip", "link", "set", "lo", "up")
            if client_mac:
                self.ns.ip("ip", "link", "set", self.dp.iface, "address", client_mac)
            self.ns.ip("ip", "addr", "add", f"{client_ip}/24", "dev", self.dp.iface)
            self.ns.ip("ip", "link", "set", self.dp.iface, "up")
            self.client = McUdp(self.ns, ip, MC_PORT, client_ip)
        except BaseException:
            self.teardown()
            raise

    def wait_serving(self, timeout=15):
        return wait_serving(self.client, timeout)

    def start_memcached(self, port=11311):
        if shutil.which("memcached") is None:
            raise RuntimeError("memcached is not installed (tools/fulmar setup)")
        self.memcached = subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, "timeout", "-k", "5", str(PROCESS_TIMEOUT_S),
             "memcached", "-u", "root", "-U", str(port), "-p", "0", "-l", self.client_ip, "-m", "64",
             "-t", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        mc = McUdp(self.ns, self.client_ip, port, self.client_ip)
        if not wait_serving(mc, 10):
            raise RuntimeError("memcached does not answer over UDP")
        return mc

    def teardown(self):
        """Stops what we started, removes the namespace and the DPDK files.
        Returns the dataplane's exit status."""
        if self.torn_down:
            return self.dp.returncode
        self.torn_down = True
        if self.client:
            self.client.close()
        rc = self.dp.stop()
        if self.memcached is not None:
            if self.memcached.poll() is None:
                # `ip netns exec` execs `timeout`, which passes TERM on.
                self.memcached.send_signal(signal.SIGTERM)
            try:
                self.memcached.wait(10)
            except subprocess.TimeoutExpired:
                self.memcached.kill()
                self.memcached.wait(5)
        if self.ns is not None:
            self.ns.delete()
        self.dp.cleanup_files()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return rc


class ControlPlane:
    """fulmar-controlplane, a DPDK secondary attached to `dp` (its
    --file-prefix), under `timeout`. Its config is the dataplane's file plus
    a [controlplane] section made of `section` (TOML lines)."""

    def __init__(self, exe, dp, workdir, section, netns=None):
        """netns: a Netns to run in, where the dataplane's kernel side is
        (its TCP listeners and service addresses are there)."""
        n = _next_n()
        self.config = os.path.join(workdir, f"cp{n}.toml")
        self.log_path = os.path.join(workdir, f"cp{n}.log")
        with open(dp.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text + "\n[controlplane]\n" + section + "\n")
        self.log = open(self.log_path, "wb")
        cmd = ["timeout", "-k", "5", str(PROCESS_TIMEOUT_S), exe, "--lcores", "0@0",
               "--proc-type=secondary", "--no-pci", "--file-prefix", dp.prefix,
               "--log-level=lib.eal:error", "--", "--config", self.config]
        if netns is not None:
            cmd = ["ip", "netns", "exec", netns.name] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _live.add(self)

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if "fulmar-controlplane: ready" in self.text():
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=10):
        """SIGTERM (`timeout` passes it on), wait; SIGKILL only if stuck.
        Stop it before its dataplane."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self.log.closed:
            self.log.close()
        _live.discard(self)
        return self.proc.returncode


def _emergency_cleanup():
    # Control planes first: they are secondaries of a dataplane below.
    for obj in [o for o in _live if isinstance(o, ControlPlane)]:
        try:
            obj.stop(timeout=5)
        except Exception:  # best effort: we are exiting anyway
            pass
    for obj in list(_live):
        try:
            if isinstance(obj, Dataplane):
                obj.stop(timeout=5)
                obj.cleanup_files()
            elif isinstance(obj, Netns):
                obj.delete()
        except Exception:  # best effort: we are exiting anyway
            pass


atexit.register(_emergency_cleanup)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_sigterm)


# ---- memcached reply handling ----------------------------------------------

_META_CAS = re.compile(rb"^c\d+$")
_META_HEADS = (b"VA", b"HD", b"EN", b"NF", b"NS", b"EX", b"MN")


def mask_cas(reply):
    """Masks CAS uniques: the 5th token of VALUE lines, meta `c<digits>`
    flags. Walks the reply so that data blocks are never touched."""
    if reply is None:
        return None
    out, i = [], 0
    while i < len(reply):
        j = reply.find(b"\r\n", i)
        if j < 0:
            out.append(reply[i:])
            break
        line = reply[i:j]
        toks = line.split(b" ")
        data_len = None
        if toks[0] == b"VALUE" and len(toks) >= 4:
            if len(toks) == 5:
                toks[4] = b"<cas>"
            data_len = int(toks[3]) if toks[3].isdigit() else None
        elif toks[0] in _META_HEADS:
            toks = [b"c<cas>" if _META_CAS.match(t) else t for t in toks]
            if toks[0] == b"VA" and len(toks) >= 2 and toks[1].isdigit():
                data_len = int(toks[1])
        out.append(b" ".join(toks) + b"\r\n")
        i = j + 2
        if data_len is not None:
            out.append(reply[i:i + data_len + 2])
            i += data_len + 2
    return b"".join(out)
