#!/usr/bin/python3
"""A partition on this machine: etcd and three appliances in namespaces,
left running (tools/fulmar cluster up | status | down).

    tools/cluster.py up BUILD_DIR RUN_DIR     start etcd + appliances A, B, C
    tools/cluster.py up BUILD_DIR RUN_DIR --ring   etcd + appliances A-D, each its own
                                              partition pA-pD; the ring is pA, pB, pC
    tools/cluster.py status BUILD_DIR RUN_DIR  each node's `fulmarctl cluster status`
    tools/cluster.py down RUN_DIR             stop everything `up` started (by PID)

The topology is tests/integration/cluster_it.py's, on 198.18.150.0/24
(FULMAR_CLUSTER_SUBNET): a bridge namespace, a client namespace holding
etcd (.2:2379) and the clients, appliances at .11, .12, .13, the partition's
service address .100 (served by whichever node is primary). What `up`
made is recorded in RUN_DIR/cluster.json for `down`. Processes are bounded
by `timeout` (one day).
"""
import json
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import fulmar_it as F  # noqa: E402

F.PROCESS_TIMEOUT_S = 86400
F.TAG = "fcl"
import cluster_it as C  # noqa: E402

NET = os.environ.get("FULMAR_CLUSTER_SUBNET", "198.18.150")


def exes(build):
    return (os.path.join(build, "dataplane", "fulmar-dataplane"),
            os.path.join(build, "controlplane", "fulmar-controlplane"),
            os.path.join(build, "tools", "fulmarctl", "fulmarctl"))


def state_path(run_dir):
    return os.path.join(run_dir, "cluster.json")


def up(build, run_dir, ring=False):
    if os.path.exists(state_path(run_dir)):
        print(f"a cluster runs already ({state_path(run_dir)}): tools/fulmar cluster down first")
        return 1
    why = F.preconditions() or (None if shutil.which("etcd") else "needs etcd (etcd-server)")
    if why:
        print(f"cluster up: {why}")
        return 1
    workdir = os.path.join(os.path.abspath(run_dir), "cluster")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    dp, cp, ctl = exes(build)
    if ring:
        names = ("A", "B", "C", "D")
        c = C.Cluster(dp, cp, ctl, workdir, names=names, net=NET, lease_ms=3000, memory_mb=256,
                      partitions={n: f"p{n}" for n in names})
        primary = "A"
        for n in ("A", "B", "C"):
            rc, _, err = c.nodes["A"].ctl("ring", "add", f"p{n}", f"{c.nodes[n].ip}:{C.MC_PORT}")
            deadline = time.monotonic() + 30
            while rc == 0 and time.monotonic() < deadline:
                rc2, out, _ = c.nodes["A"].ctl("--json", "ring", "status")
                st = json.loads(out) if rc2 == 0 else {}
                if st.get("phase") == "serving" and st.get("members", "").count("=") == \
                        "ABC".index(n) + 1:
                    break
                time.sleep(0.2)
            if rc != 0:
                print(f"cluster up: ring add p{n}: {err}")
                c.teardown()
                return 1
    else:
        c = C.Cluster(dp, cp, ctl, workdir, net=NET, lease_ms=3000, memory_mb=64)
        primary = c.one_primary(20)
    if primary is None:
        print(f"cluster up: no primary elected: {c.roles()}")
        c.teardown()
        return 1
    state = {
        "net": NET,
        "client_ns": c.client_ns.name,
        "bridge_ns": c.bridge.name,
        "service": c.service_ip,
        "etcd": [C.child_pid(c.etcd, shutil.which("etcd")), c.etcd.pid],
        "nodes": {},
    }
    for n in c.nodes.values():
        state["nodes"][n.name] = {
            "ip": n.ip, "ns": n.ns.name, "socket": n.sock, "prefix": n.dp.prefix,
            "cp": [C.child_pid(n.cp.proc, cp), n.cp.proc.pid],
            "dp": [n.dp.pid, n.dp.proc.pid],
        }
    with open(state_path(run_dir), "w") as f:
        json.dump(state, f, indent=2)
    # Left running: nothing of it is torn down when this script exits.
    F._live.clear()
    if ring:
        print(f"cluster up: etcd at {c.client_ip}:2379, partitions "
              + ", ".join(f"p{n.name} {n.ip}" for n in c.nodes.values())
              + "; the ring is pA, pB, pC")
        print(f"  clients: ip netns exec {c.client_ns.name} redis-cli -c -h {c.nodes['A'].ip}")
        print(f"           ip netns exec {c.client_ns.name} {os.path.join(build, 'tools', 'fulmar-cli', 'fulmar-cli')}"
              f" --seed {c.nodes['A'].ip}:{C.MC_PORT} --tcp ring")
        print(f"  grow:    {ctl} --socket {c.nodes['A'].sock} ring add pD {c.nodes['D'].ip}:{C.MC_PORT}")
        print(f"  watch:   {ctl} --socket {c.nodes['A'].sock} ring status --watch")
        print(f"  shrink:  {ctl} --socket {c.nodes['A'].sock} ring remove pD")
        return 0
    print(f"cluster up: etcd at {c.client_ip}:2379, nodes "
          + ", ".join(f"{n.name} {n.ip}" for n in c.nodes.values())
          + f"; primary {primary}; the partition's address {c.service_ip}")
    print(f"  clients: ip netns exec {c.client_ns.name} redis-cli -h {c.service_ip}")
    print(f"  admin:   {ctl} --socket {c.nodes[primary].sock} cluster status")
    print("  chaos:   tools/fulmar cluster status; tools/bench/failover_bench.py (its own cluster)")
    return 0


def status(build, run_dir):
    with open(state_path(run_dir)) as f:
        state = json.load(f)
    ctl = exes(build)[2]
    for name, n in state["nodes"].items():
        print(f"--- {name} {n['ip']}")
        os.system(f"timeout 10 {ctl} --socket {n['socket']} cluster status")
    return 0


def stop_pid(pids, timeout=10):
    real, wrapper = pids
    for pid in (real, wrapper):
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(p and os.path.exists(f"/proc/{p}") for p in pids):
            return
        time.sleep(0.05)
    for pid in pids:
        if pid and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


def down(run_dir):
    path = state_path(run_dir)
    if not os.path.exists(path):
        print("cluster down: no cluster runs")
        return 0
    with open(path) as f:
        state = json.load(f)
    for n in state["nodes"].values():
        stop_pid(n["cp"])
    for n in state["nodes"].values():
        stop_pid(n["dp"])
        for p in F.hugepage_files(n["prefix"]):
            os.unlink(p)
        shutil.rmtree(os.path.join(F.DPDK_RUN_DIR, n["prefix"]), ignore_errors=True)
    stop_pid(state["etcd"])
    for ns in [n["ns"] for n in state["nodes"].values()] + [state["client_ns"],
                                                            state["bridge_ns"]]:
        F.run("ip", "netns", "del", ns, check=False)
    os.unlink(path)
    shutil.rmtree(os.path.join(run_dir, "cluster"), ignore_errors=True)
    print("cluster down")
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "up":
        return up(sys.argv[2], sys.argv[3], ring="--ring" in sys.argv[4:])
    if len(sys.argv) >= 4 and sys.argv[1] == "status":
        return status(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 3 and sys.argv[1] == "down":
        return down(sys.argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
