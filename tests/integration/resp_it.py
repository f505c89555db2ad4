"""What the Redis-protocol integration tests share (controlplane_resp_test,
_resp_server_test, _pubsub_test, _dump_test): an appliance (the dataplane on
a TAP port in a namespace of its own, and the control plane serving RESP
there), a reference redis-server 7 on host loopback, and the command line
every one of them takes (`TEST DATAPLANE CONTROLPLANE [unittest args]`).
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

REDIS_PORT = 6379


def start_appliance(dataplane, controlplane, tag, dp_ip, client_ip, lines=(), dataplane_lines=(),
                    memory_mb=32):
    """Two workers, `memory_mb` a shard, Redis on REDIS_PORT; `lines` go into the
    control plane's section (and may open sections after it),
    `dataplane_lines` into [dataplane]. (fixture, control plane); raises
    with the logs when either does not come up."""
    fx = F.TapFixture(dataplane, workers=(1, 2), tag=tag, kernel=True, ip=dp_ip,
                      client_ip=client_ip, memory_mb=memory_mb,
                      extra_dataplane="\n".join(dataplane_lines))
    if not fx.wait_serving():
        log = fx.dp.text()
        fx.teardown()
        raise AssertionError(f"the dataplane does not answer over UDP; log:\n{log}")
    section = "\n".join([
        f'admin_socket = "{os.path.join(fx.workdir, "admin.sock")}"',
        "metrics_port = 0",
        "request_arena_mb = 8",
        f"redis_port = {REDIS_PORT}",
        *lines,
    ])
    cp = F.ControlPlane(controlplane, fx.dp, fx.workdir, section)
    if not cp.wait_ready():
        text = cp.text()
        cp.stop()
        fx.teardown()
        raise AssertionError(f"the control plane did not get ready; log:\n{text}")
    return fx, cp


def start_redis_server(workdir, extra=(), ports=None):
    """redis-server 7 on 127.0.0.1, a free port (of `ports`, else any in
    20000-59999), no persistence, one database (the appliance has only
    database 0), `extra` flags. (process, port)."""
    candidates = random.sample(ports, min(20, len(ports))) if ports else \
        [random.randrange(20000, 60000) for _ in range(20)]
    for port in candidates:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                continue
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--databases", "1", "--dir", workdir, "--daemonize", "no",
             *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return proc, port
            time.sleep(0.05)
        stop_process(proc)
    raise AssertionError("redis-server did not start")


def stop_process(proc):
    """SIGTERM to a process this test started (by its PID), then wait."""
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


def main(doc, module_globals, tools=("redis-cli", "redis-server")):
    """The tests' command line: DATAPLANE and CONTROLPLANE into the module's
    globals, 77 (skip) without root, hugepages or `tools`."""
    if len(sys.argv) < 3:
        print(doc)
        return 2
    module_globals["DATAPLANE"], module_globals["CONTROLPLANE"] = sys.argv[1], sys.argv[2]
    why = F.preconditions()
    for tool in tools:
        if shutil.which(tool) is None:
            why = why or f"needs {tool}"
    if why:
        print(f"SKIP: {why}")
        return 77
    argv = [sys.argv[0]] + sys.argv[3:]
    prog = unittest.main(module=module_globals["__name__"], argv=argv, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1
