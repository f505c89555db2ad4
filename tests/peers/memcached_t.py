#!/usr/bin/python3
"""Run memcached's own t/ suite against a running server (its T_MEMD_USE_DAEMON mode).

    tests/peers/memcached_t.py --tcp HOST:PORT [--udp HOST:PORT]
                               [--prefix 'ip netns exec fulmar'] [FILE.t ...]

The suite is Debian's source package of the installed memcached, fetched by
`tools/fulmar setup` into .fulmar/peers/memcached-<version>/ (never copied into
this repository). Runs the 15 files that can drive an external server (FILES
below; others warp the server's clock, restart it or need start-up options),
each as its own `perl` process with tests/peers/lib/FulmarDaemonMode.pm loaded
first, after `flush_all` over TCP. udp.t counts for its ASCII half only: it
passes when every assertion up to its last ASCII one passed; the binary half
that follows is reported, not judged. --prefix runs the flush and every client
through that command (e.g. inside the appliance's network namespace).

Prints one line per file and a summary; exits 1 if any file failed, 2 when
the suite is missing or the arguments are wrong.
"""

import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = os.path.join(ROOT, ".fulmar", "peers")

FILES = [
    "udp.t",
    "getset.t",
    "incrdecr.t",
    "noreply.t",
    "flags.t",
    "cas.t",
    "metaget.t",
    "bogus-commands.t",
    "malicious-commands.t",
    "multiversioning.t",
    "issue_3.t",
    "issue_14.t",
    "issue_22.t",
    "issue_70.t",
    "quit.t",
]

# udp.t runs every UDP operation in ASCII, then again in the binary protocol;
# this is its last ASCII assertion.
UDP_LAST_ASCII = "Delete key aval0 using ASCII protocol"

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)")


def die(msg, code=2):
    print(f"memcached_t: {msg}", file=sys.stderr)
    sys.exit(code)


def host_port(text):
    m = re.fullmatch(r"([^:\s]+):(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def installed_memcached_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "memcached"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


def find_suite():
    """The fetched source tree of the installed memcached, or exit 2."""
    version = installed_memcached_version()
    hint = "run tools/fulmar setup (as root): it fetches memcached's source package into .fulmar/peers/"
    if not version:
        die(f"memcached is not installed; {hint}")
    tree = os.path.join(PEERS, "memcached-" + version.split("-")[0])
    try:
        with open(os.path.join(tree, ".fulmar-version")) as f:
            fetched = f.read().strip()
    except OSError:
        die(f"memcached's test suite is not fetched ({tree} is missing); {hint}")
    if fetched != version:
        die(f"{tree} is memcached {fetched}, the installed memcached is {version}; {hint}")
    return tree


def flush(tcp, timeout=5.0):
    """flush_all over TCP; returns an error string or None."""
    host, port = tcp.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(b"flush_all\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                reply += chunk
    except OSError as e:
        return f"flush_all to {tcp}: {e}"
    if reply != b"OK\r\n":
        return f"flush_all to {tcp} answered {reply!r}"
    return None


def parse_tap(stdout):
    plan, results = None, []
    for line in stdout.splitlines():
        m = TAP_PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_LINE.match(line)
        if m:
            ok = m.group(1) == "ok"
            desc = m.group(3)
            # "not ok ... # TODO" is an expected failure in TAP.
            if not ok and re.search(r"#\s*TODO\b", desc, re.I):
                ok = True
            results.append((ok, desc))
    return plan, results


def judge(name, rc, plan, results):
    """(passed, detail) for one file."""
    failed = [i + 1 for i, (ok, _) in enumerate(results) if not ok]
    if name == "udp.t":
        last = next((i for i, (_, d) in enumerate(results) if d == UDP_LAST_ASCII), None)
        binary = results[last + 1:] if last is not None else []
        bin_ok = sum(ok for ok, _ in binary)
        bin_note = (f"binary half (not judged): {bin_ok}/{len(binary)} ok"
                    f"{', exit ' + str(rc) if rc else ''}")
        if last is None:
            return False, f"ASCII half incomplete: {len(results)} results, no '{UDP_LAST_ASCII}'"
        ascii_failed = [n for n in failed if n <= last + 1]
        if ascii_failed:
            return False, f"ASCII half: {len(ascii_failed)} of {last + 1} failed ({_nums(ascii_failed)}); {bin_note}"
        return True, f"ASCII half {last + 1}/{last + 1} ok; {bin_note}"
    if plan is None:
        return False, f"no TAP plan (exit {rc})"
    if failed:
        return False, f"{len(failed)} of {plan} failed ({_nums(failed)})"
    if len(results) != plan:
        return False, f"ran {len(results)} of {plan} planned (exit {rc})"
    if rc != 0:
        return False, f"all {plan} ok but exit {rc}"
    return True, f"{plan}/{plan} ok"


def _nums(ns):
    shown = ", ".join(map(str, ns[:10]))
    return shown + (", ..." if len(ns) > 10 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcp", type=host_port, help="the server's TCP address")
    ap.add_argument("--udp", type=host_port, help="the server's UDP address (default: the TCP one)")
    ap.add_argument("--prefix", default="", help="command the flush and the clients run under, "
                    "e.g. 'ip netns exec fulmar'")
    ap.add_argument("--suite", help="memcached source tree (default: the one tools/fulmar setup fetched)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per file (default 300)")
    ap.add_argument("--flush-only", type=host_port, metavar="HOST:PORT", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=f"files to run (default: the {len(FILES)} below)")
    args = ap.parse_args()

    if args.flush_only:  # the child the flush runs as under --prefix
        err = flush(args.flush_only)
        if err:
            print(err, file=sys.stderr)
            return 1
        return 0

    if not args.tcp:
        ap.error("--tcp HOST:PORT is required")
    udp = args.udp or args.tcp
    prefix = shlex.split(args.prefix)
    suite = args.suite or find_suite()
    tlib = os.path.join(suite, "t", "lib")
    if not os.path.isfile(os.path.join(tlib, "MemcachedTest.pm")):
        die(f"no t/lib/MemcachedTest.pm under {suite}; run tools/fulmar setup")
    files = args.files or FILES
    for f in files:
        if not os.path.isfile(os.path.join(suite, "t", f)):
            die(f"no t/{f} in {suite}")

    print(f"memcached t/ suite from {suite} against TCP {args.tcp}, UDP {udp}"
          f"{' under ' + args.prefix if prefix else ''}", flush=True)
    env_cmd = ["env", f"T_MEMD_USE_DAEMON={args.tcp}", f"FULMAR_T_UDP={udp}", "SSL_TEST="]
    passed, total_tests, t0 = [], 0, time.monotonic()
    for name in files:
        start = time.monotonic()
        fl = subprocess.run([*prefix, sys.executable, os.path.abspath(__file__), "--flush-only", args.tcp],
                            capture_output=True, text=True, check=False)
        if fl.returncode != 0:
            print(f"FAIL {name:24s} {(fl.stderr or fl.stdout).strip()}", flush=True)
            continue
        cmd = [*prefix, *env_cmd, "perl", "-I", tlib, "-I", os.path.join(HERE, "lib"),
               "-MFulmarDaemonMode", os.path.join(suite, "t", name)]
        try:
            run = subprocess.run(cmd, cwd=suite, capture_output=True, text=True, errors="replace",
                                 timeout=args.timeout, start_new_session=True, check=False)
            rc, out, err = run.returncode, run.stdout, run.stderr
        except subprocess.TimeoutExpired as e:
            rc = "timeout"
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = (e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")) \
                + f"\n(killed after {args.timeout:.0f} s)"
        plan, results = parse_tap(out)
        ok, detail = judge(name, rc, plan, results)
        total_tests += len(results)
        secs = time.monotonic() - start
        print(f"{'PASS' if ok else 'FAIL'} {name:24s} {detail} ({secs:.1f} s)", flush=True)
        if ok:
            passed.append(name)
        else:
            tail = [ln for ln in (out + "\n" + err).splitlines() if ln.strip() and not ln.startswith("ok")]
            for ln in tail[-25:]:
                print(f"    {ln}")
    secs = time.monotonic() - t0
    verdict = "PASS" if len(passed) == len(files) else "FAIL"
    print(f"Files={len(files)}, Tests={total_tests}, {secs:.0f} wallclock secs; "
          f"{len(passed)}/{len(files)} files passed: {verdict}")
    failed = [f for f in files if f not in passed]
    if failed:
        print("failed: " + " ".join(failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
