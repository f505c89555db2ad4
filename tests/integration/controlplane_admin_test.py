#!/usr/bin/python3
"""The admin socket, fulmarctl and /metrics against a real appliance.

    controlplane_admin_test.py <fulmar-dataplane> <fulmar-controlplane> <fulmarctl>

Starts fulmar-dataplane on a TAP port (fulmar_it.TapFixture) and
fulmar-controlplane attached to it (fulmar_it.ControlPlane) with memcached
TCP, the admin socket and the metrics port on 127.0.0.1, stores keys over
TCP, then checks: `fulmarctl status/stats/slabs/config show --json` (valid
JSON, parsed by `python3 -m json.tool`, the values right); `redis-cli -s`
on the same socket; fulmarctl's error and exit status 3 when nothing
listens; /metrics scraped by Debian's `prometheus` (its own config,
1 s scrape interval, TSDB in a temp dir, a free loopback port) and a Fulmar
counter read back through its HTTP API; `fulmarctl top` in a tmux session of
its own (a server on its own socket), refreshed in place, one row per
worker, `q` quits. Needs root and hugepages; exits 77 (skipped) without.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
import fulmar_it as F  # noqa: E402

DATAPLANE = CONTROLPLANE = FULMARCTL = None
N_KEYS = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class ControlPlaneAdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = F.TapFixture(DATAPLANE, memory_mb=16)
        cls.cp = None
        try:
            cls.sock = os.path.join(cls.fx.workdir, "admin.sock")
            cls.mc_port, cls.metrics_port = free_port(), free_port()
            cls.cp = F.ControlPlane(CONTROLPLANE, cls.fx.dp, cls.fx.workdir, "\n".join([
                'listen = "127.0.0.1"',
                f"memcached_port = {cls.mc_port}",
                f'admin_socket = "{cls.sock}"',
                "request_arena_mb = 8",
                f"metrics_port = {cls.metrics_port}",
            ]))
            if not cls.cp.wait_ready():
                raise RuntimeError(f"control plane not ready:\n{cls.cp.text()}\n{cls.fx.dp.text()}")
            with socket.create_connection(("127.0.0.1", cls.mc_port), timeout=5) as s:
                req = b"".join(f"set k{i} 0 0 {len(str(i))}\r\n{i}\r\n".encode()
                               for i in range(N_KEYS))
                s.sendall(req + b"get k1 k2 nope\r\n")
                got = b""
                while not got.endswith(b"END\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            assert got.count(b"STORED\r\n") == N_KEYS, got
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.cp is not None:
            cls.cp.stop()
        cls.fx.teardown()

    def ctl(self, *args, check=True):
        r = subprocess.run([FULMARCTL, "--socket", self.sock, *args], capture_output=True,
                           text=True, timeout=20)
        if check:
            self.assertEqual(r.returncode, 0, f"fulmarctl {args}: {r.stderr}")
        return r

    def ctl_json(self, *args):
        out = self.ctl(*args, "--json").stdout
        # Debian's json.tool must accept it as it is.
        tool = subprocess.run(["/usr/bin/python3", "-m", "json.tool"], input=out,
                              capture_output=True, text=True, timeout=20)
        self.assertEqual(tool.returncode, 0, f"{args}: not JSON: {tool.stderr}\n{out}")
        return json.loads(out)

    def test_fulmarctl_json_commands(self):
        st = self.ctl_json("status")
        self.assertEqual(st["workers"], 1)
        self.assertEqual(st["items"], N_KEYS)
        self.assertEqual(st["memcached_tcp_port"], self.mc_port)
        stats = self.ctl_json("stats")
        self.assertGreaterEqual(stats["cmd_set"], N_KEYS)
        self.assertGreaterEqual(stats["get_hits"], 2)
        self.assertIn("drop_not_ipv4", stats)
        per = self.ctl_json("stats", "--per-worker")
        self.assertEqual([w["worker"] for w in per], [0])
        self.assertEqual(per[0]["shard_items"], N_KEYS)
        slabs = self.ctl_json("slabs")
        self.assertTrue(slabs and all(r["shard"] == 0 for r in slabs))
        self.assertEqual(sum(r["live"] for r in slabs), N_KEYS)
        for r in slabs:
            self.assertEqual(set(r), {"shard", "class", "chunk_size", "chunks_per_page", "pages",
                                      "live", "free", "evictions"})
        cfg = self.ctl_json("config", "show")
        self.assertEqual(cfg["controlplane.admin_socket"], self.sock)
        self.assertEqual(cfg["controlplane.metrics_port"], self.metrics_port)
        self.assertEqual(cfg["dataplane.workers"], [1])
        self.assertIsNone(cfg["ports[0].vlan"])
        self.assertEqual(self.ctl_json("ping"), {"reply": "PONG"})
        # Text forms too.
        self.assertIn("workers", self.ctl("status").stdout)
        self.assertIn("chunk_size", self.ctl("slabs").stdout)

    def test_redis_cli_speaks_to_the_same_socket(self):
        def cli(*args):
            return subprocess.run(["redis-cli", "-s", self.sock, *args], capture_output=True,
                                  text=True, timeout=20).stdout
        self.assertEqual(cli("ping").strip(), "PONG")
        lines = cli("status").split()
        self.assertEqual(lines[lines.index("workers") + 1], "1")
        self.assertIn("controlplane.metrics_port", cli("config", "show"))
        self.assertIn("ERR", cli("nosuchcommand"))

    def test_fulmarctl_says_when_nothing_runs(self):
        path = os.path.join(self.fx.workdir, "nothing.sock")
        for args in (["status"], ["stats", "--json"], ["top"]):
            r = subprocess.run([FULMARCTL, "--socket", path, *args], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(r.returncode, 3, args)
            self.assertIn(f"no control plane at {path}: is `tools/fulmar up` running?", r.stderr)

    def test_prometheus_scrapes_metrics(self):
        base = f"http://127.0.0.1:{self.metrics_port}"
        code, text = http_get(base + "/metrics")
        self.assertEqual(code, 200)
        self.assertIn('fulmar_engine_cmd_set_total{worker="0"}', text)
        self.assertEqual(http_get(base + "/other")[0], 404)
        if shutil.which("promtool"):
            chk = subprocess.run(["promtool", "check", "metrics"], input=text,
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(chk.returncode, 0, chk.stdout + chk.stderr)
        prom = shutil.which("prometheus")
        self.assertIsNotNone(prom, "no prometheus (tools/fulmar setup installs it)")
        tmp = tempfile.mkdtemp(prefix="fulmar-prom-", dir=self.fx.workdir)
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fulmar
    static_configs:
      - targets: ["127.0.0.1:{self.metrics_port}"]
""")
        web = free_port()
        log = open(os.path.join(tmp, "prometheus.log"), "wb")
        p = subprocess.Popen(
            ["timeout", "-k", "5", "120", prom, f"--config.file={tmp}/prometheus.yml",
             f"--storage.tsdb.path={tmp}/data", f"--web.listen-address=127.0.0.1:{web}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            query = urllib.parse.quote('sum(fulmar_engine_cmd_set_total{job="fulmar"})')
            value, deadline = None, time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    code, body = http_get(f"http://127.0.0.1:{web}/api/v1/query?query={query}")
                    res = json.loads(body)["data"]["result"] if code == 200 else []
                    if res:
                        value = float(res[0]["value"][1])
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertIsNotNone(value, "prometheus never had the series")
            self.assertGreaterEqual(value, N_KEYS)
            code, body = http_get(f"http://127.0.0.1:{web}/api/v1/query?query=up")
            self.assertEqual(json.loads(body)["data"]["result"][0]["value"][1], "1")
        finally:
            p.send_signal(15)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            log.close()

    def test_top_refreshes_in_place_in_tmux(self):
        tmux_sock = f"fulmar-it-{os.getpid()}"

        def tmux(*args, check=True):
            return subprocess.run(["tmux", "-L", tmux_sock, *args], capture_output=True,
                                  text=True, timeout=20, check=check)
        tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "40",
             f"{FULMARCTL} --socket {self.sock} top")
        try:
            time.sleep(2.5)
            first = tmux("capture-pane", "-p", "-t", "top").stdout
            time.sleep(2.0)
            second = tmux("capture-pane", "-p", "-t", "top").stdout
            samples = []
            for screen in (first, second):
                heads = [line for line in screen.splitlines() if line.startswith("fulmar top")]
                self.assertEqual(len(heads), 1, f"not redrawn in place:\n{screen}")
                samples.append(int(heads[0].split("sample ")[1].split(",")[0]))
                rows = [line.split()[0] for line in screen.splitlines()
                        if line.split() and line.split()[0] in ("0", "all")]
                self.assertEqual(rows, ["0", "all"], screen)
                self.assertIn("GET/s", screen)
            self.assertGreater(samples[1], samples[0])
            tmux("send-keys", "-t", "top", "q")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if tmux("has-session", "-t", "top", check=False).returncode != 0:
                    break
                time.sleep(0.1)
            self.assertNotEqual(tmux("has-session", "-t", "top", check=False).returncode, 0,
                                "top did not quit on q")
        finally:
            tmux("kill-server", check=False)


def main():
    global DATAPLANE, CONTROLPLANE, FULMARCTL
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    DATAPLANE, CONTROLPLANE, FULMARCTL = (os.path.abspath(a) for a in sys.argv[1:4])
    why = F.preconditions()
    for tool in ("redis-cli", "tmux"):
        if why is None and shutil.which(tool) is None:
            why = f"no `{tool}` (tools/fulmar setup)"
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[4:], exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
