#!/usr/bin/python3
"""`tools/fulmar up` and `down`, 20 times in a row.

    up_down_test.py BUILD_DIR TOOLS_FULMAR [ROUNDS]

Each round runs `tools/fulmar up --no-build` (with a namespace, EAL prefix,
run directory and config of this test's own: FULMAR_NETNS, FULMAR_FILE_PREFIX,
FULMAR_RUN_DIR, FULMAR_CONFIG), which must succeed only once memcached over
UDP and TCP through the kernel side both answer; then a set and a get over
UDP through `tools/fulmar udp`; then `tools/fulmar down`, after which nothing
may be left: no process, namespace, interface, EAL runtime directory,
hugepage file, pid or ready file. The regression it guards: `up` used to move
the TAP into the namespace while the dataplane still set up its queues (the
PMD then made a second interface, nothing was answered, and `up` said it
served). Needs root and hugepages; exits 77 (skipped) without.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fulmar_it as F  # noqa: E402

ROUNDS = 20


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else ROUNDS
    why = F.preconditions()
    if why:
        print(f"{'FAIL' if os.environ.get('CI') else 'SKIP'}: {why}")
        return 1 if os.environ.get("CI") else 77

    pid = os.getpid()
    work = tempfile.mkdtemp(prefix="fulmar-updown-")
    tap_if, kernel_if = f"exc{pid % 100000}u", f"exc{pid % 100000}v"
    subnet = pid % 250  # 198.19.S.0/24: not the other tests' 198.18.x.0/24
    ip = f"198.19.{subnet}.1"
    config = os.path.join(work, "updown.toml")
    with open(config, "w") as f:
        f.write(f"""# Written by tests/integration/up_down_test.py (shape of configs/local.toml).
[dataplane]
workers = [1]
main_lcore = 0
memory_per_shard_mb = 32
allowed_clients = ["198.18.0.0/15"]

[[ports]]
device = "net_tap0,iface={tap_if}"
ipv4 = "{ip}/24"
mac = "02:00:00:00:00:01"
kernel_device = "net_tap1,iface={kernel_if}"
""")
    prefix = f"excud{pid}_"
    netns = f"exc-updown-{pid}"
    run_dir = os.path.join(work, "run")
    env = dict(os.environ, FULMAR_BUILD_DIR=build, FULMAR_CONFIG=config, FULMAR_NETNS=netns,
               FULMAR_FILE_PREFIX=prefix, FULMAR_RUN_DIR=run_dir)

    def fulmar(*args, timeout=90):
        return subprocess.run(["timeout", str(timeout), tool, *args], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def leftovers():
        left = []
        if os.path.exists(f"/var/run/netns/{netns}"):
            left.append(f"namespace {netns}")
        for iface in (tap_if, kernel_if):
            if os.path.exists(f"/sys/class/net/{iface}"):
                left.append(f"interface {iface}")
        if os.path.exists(os.path.join(F.DPDK_RUN_DIR, prefix)):
            left.append("EAL runtime dir")
        left += F.hugepage_files(prefix)
        for name in ("dataplane.pid", "dataplane.ready"):
            if os.path.exists(os.path.join(run_dir, name)):
                left.append(name)
        exe = os.path.realpath(os.path.join(build, "dataplane", "fulmar-dataplane"))
        for p in glob.glob("/proc/[0-9]*/exe"):
            try:
                if os.readlink(p).removesuffix(" (deleted)") != exe:
                    continue
                with open(p.replace("exe", "cmdline"), "rb") as f:
                    if prefix.encode() in f.read():
                        left.append(f"process {p.split('/')[2]}")
            except OSError:
                pass
        return left

    failures = []
    t0 = time.monotonic()
    try:
        for i in range(1, rounds + 1):
            up = fulmar("up", "--no-build")
            if up.returncode != 0:
                failures.append(f"round {i}: up exited {up.returncode}:\n{up.stdout}")
                fulmar("down")
                continue
            key = f"round{i}"
            set_ = fulmar("udp", "--timeout", "2", "set", key, f"v{i}")
            get = fulmar("udp", "--timeout", "2", "get", key)
            if set_.stdout.strip() != "STORED" or f"v{i}" not in get.stdout:
                failures.append(f"round {i}: set -> {set_.stdout.strip()!r}, "
                                f"get -> {get.stdout.strip()!r}")
            down = fulmar("down")
            if down.returncode != 0:
                failures.append(f"round {i}: down exited {down.returncode}:\n{down.stdout}")
            left = leftovers()
            if left:
                failures.append(f"round {i}: left after down: {left}")
            print(f"round {i}: up, UDP set/get, down "
                  f"{'ok' if not failures or not failures[-1].startswith(f'round {i}:') else 'FAILED'}"
                  f" ({time.monotonic() - t0:.1f} s)", flush=True)
    finally:
        fulmar("down")
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(failures))
        return 1
    print(f"{rounds} rounds of up/down, every one answered, nothing left behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
