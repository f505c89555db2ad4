#!/usr/bin/python3
"""memcached's own t/ suite (memcached_t.py) and memccapable -a (memccapable.sh), together.

    tests/peers/peer_suites.py --memcached
        starts Debian's memcached on a free 127.0.0.1 port (TCP and UDP on the
        same number, -m 3: see below), runs both against it, stops it by PID;
        this is the integration test `memcached-t-vs-memcached`.
    tests/peers/peer_suites.py --tcp HOST:PORT [--udp HOST:PORT] [--prefix CMD]
        both against a server that is already running, e.g. the appliance:
        tests/peers/peer_suites.py --tcp 198.18.0.1:11211 --prefix 'ip netns exec fulmar'

The reference memcached gets -m 3 because t/issue_22.t starts its own server
with -m 3 and counts evictions in it (with the default 64 MB it sees none);
the other 14 files and memccapable pass at that size too.

Exits 0 when both pass, 1 when either fails, 2 when something is missing
(memcached's suite not fetched: run tools/fulmar setup).
"""

import argparse
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no port free for both TCP and UDP")


def start_memcached():
    port = free_port()
    cmd = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", str(port), "-m", "3", "-t", "2"]
    if os.getuid() == 0:
        cmd += ["-u", "root"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"peer_suites: memcached exited at start ({proc.returncode}): {proc.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            print(f"peer_suites: memcached {' '.join(cmd[1:])} (pid {proc.pid})", flush=True)
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    sys.exit("peer_suites: memcached did not accept connections within 10 s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memcached", action="store_true", help="start Debian's memcached and test it")
    ap.add_argument("--tcp", help="the server's TCP HOST:PORT")
    ap.add_argument("--udp", help="the server's UDP HOST:PORT (default: the TCP one)")
    ap.add_argument("--prefix", default="", help="command the clients run under, e.g. 'ip netns exec fulmar'")
    ap.add_argument("--skip", action="append", default=[],
                    help="a t/ file not to run (repeatable), with the reason in the caller")
    args = ap.parse_args()
    if args.memcached == bool(args.tcp):
        ap.error("give either --memcached or --tcp HOST:PORT")

    proc = None
    if args.memcached:
        proc, tcp = start_memcached()
        udp = tcp
    else:
        tcp, udp = args.tcp, args.udp or args.tcp
    try:
        sys.dont_write_bytecode = True
        sys.path.insert(0, HERE)
        from memcached_t import FILES  # noqa: E402
        files = [f for f in FILES if f not in args.skip]
        t = subprocess.run([sys.executable, os.path.join(HERE, "memcached_t.py"), "--tcp", tcp, "--udp", udp,
                            "--prefix", args.prefix] + files, check=False).returncode
        if t == 2:
            return 2
        c = subprocess.run([os.path.join(HERE, "memccapable.sh"), "--tcp", tcp, "--prefix", args.prefix],
                           check=False).returncode
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(f"peer_suites: memcached t/ {'PASS' if t == 0 else 'FAIL'}, memccapable -a {'PASS' if c == 0 else 'FAIL'}")
    if c == 2:
        return 2
    return 0 if t == 0 and c == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
