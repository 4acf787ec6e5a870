#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Cache-hit wake-ups per query: ostrovd and Unbound in alternating rounds.

Brings up tests/lab, then per round starts ostrovd, then Unbound (bench/run.py's
configurations, one worker, validation on, pinned to CPU 1), warms 100 lab names, offers
40k qps with dnsperf on CPU 0 for 14 s and, during seconds 3-11, counts the resolver's
receive/send system calls, epoll_wait calls and context switches with `perf stat -p` beside
its utime+stime from /proc. Prints one line per run. Needs root, perf and the release build.

    bench/hit_syscalls.py [ROUNDS]
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as B  # noqa: E402  (bench/run.py: lab, resolvers, process bookkeeping)

EVENTS = ["syscalls:sys_enter_recvmmsg", "syscalls:sys_enter_sendmmsg",
          "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_sendto",
          "syscalls:sys_enter_recvmsg", "syscalls:sys_enter_sendmsg",
          "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_epoll_pwait",
          "context-switches"]


def one(res, lab, hit, tag):
    res.start(lab, 1, True, "1", tag)
    why = res.wait_ready(lab, True, 30)
    if why:
        res.stop()
        return "%s not ready: %s" % (res.name, why)
    pid, port = res.pids()[0], res.port
    base = B.pin("0") + ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-b", "4096", "-d", hit]
    B.run("dnsperf-warm", base + ["-n", "2", "-q", "20"])
    gen = subprocess.Popen(base + ["-l", "14", "-Q", "40000", "-q", "500"],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    t0 = B.cpu_ticks([pid])
    ps = subprocess.run(["perf", "stat", "-x", ",", "-e", ",".join(EVENTS), "-p", str(pid),
                         "--", "sleep", "8"], capture_output=True, text=True)
    t1 = B.cpu_ticks([pid])
    out = gen.communicate()[0]
    res.stop()
    r = B.parse_dnsperf(out)
    q = r["completed"] / r["runtime"] * 8  # answered during the 8 s window (steady rate)
    c = {}
    for line in ps.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[0].strip().isdigit():
            c[f[2].replace("syscalls:sys_enter_", "")] = int(f[0])
    recv = c.get("recvmmsg", 0) + c.get("recvfrom", 0) + c.get("recvmsg", 0)
    send = c.get("sendmmsg", 0) + c.get("sendto", 0) + c.get("sendmsg", 0)
    waits = c.get("epoll_wait", 0) + c.get("epoll_pwait", 0)
    return ("%-8s cpu_us/q %.2f lost %d recv/q %.4f send/q %.4f epoll/q %.4f ctxsw/q %.4f "
            "q/recv %.1f" % (res.name, (t1 - t0) / B.CLK_TCK * 1e6 / q, r["lost"], recv / q,
                             send / q, waits / q, c.get("context-switches", 0) / q,
                             q / recv if recv else 0))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    work = tempfile.mkdtemp(prefix="ostrov-hitsys-")
    atexit.register(shutil.rmtree, work, True)  # runs last: after the lab is down
    atexit.register(B.cleanup)
    B._nice = -10
    lab = B.RealLab(os.path.join(B.REPO, "tests", "lab", "lab"), os.path.join(work, "lab"), 100)
    hit = os.path.join(work, "hit.txt")
    B.write_queries(hit, lab.hit)
    ostrovd = B.find_binary("server/ostrovd", None)
    with open("/proc/loadavg") as f:
        print("load before", f.read().strip(), flush=True)
    for i in range(rounds):
        for res in (B.Ostrovd(B.free_port(5301), work, ostrovd),
                    B.Unbound(B.free_port(5302), work)):
            print("round %d %s" % (i, one(res, lab, hit, "r%d" % i)), flush=True)
    with open("/proc/loadavg") as f:
        print("load after", f.read().strip(), flush=True)


if __name__ == "__main__":
    main()
