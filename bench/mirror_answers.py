#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""CPU per answer from the zone mirror vs per cache hit, in one ostrovd on the loopback lab.

ostrovd mirrors the lab's "." and "ru." (AXFR from the lab servers, DNSSEC + ZONEMD
verified), then the root and ru. servers are cut (`lab cut ... refuse`), so every answer
below ru. can only come from the mirror. Two query streams, both with dnsperf at the same
fixed rate, ostrovd pinned to --resolver-cpus and dnsperf to --gen-cpus, as bench/run.py:

* mirror: --names distinct random names under ru. (each asked once, `dnsperf -n 1`), none
  of them cached; the ru. mirror answers NXDOMAIN with its NSEC3 proof (ru. is NSEC3
  opt-out in the lab, so no aggressive negative caching can answer them instead);
* cache hit: 100 distinct random names under example.ru. (a signed zone delegated from
  ru., whose own servers stay reachable), asked once to warm the cache (the engine
  follows the mirror's referral and caches example.ru.'s validated NXDOMAIN), then asked
  again from the cache for --duration seconds. Not the mirror stream's names: answers
  made by the mirror fast path (resolver/mirror_fast.c) are not cached, they cost what
  a hit does.

Reported: ostrovd's CPU µs (utime+stime from /proc/PID/stat) per answered query of each
stream, median/min/max of --runs runs (fresh names each run), and their ratio. Every answer
must be NXDOMAIN; anything else is counted and printed. Pick a --rate the mirror stream can
sustain on one core (1000 on this 2-core machine): above it dnsperf's window limits the rate
of that stream and the two streams are no longer compared at the same load. --perf FILE
records where ostrovd's time goes in the mirror stream (perf report -i FILE --children).

Usage (root, release build): bench/mirror_answers.py [--lab DIR] [--runs 3] [--rate 5000]
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import run as rb  # noqa: E402  (bench/run.py: dnsperf parsing, /proc CPU, binaries)


def log(msg):
    print("mirror_answers: " + msg, file=sys.stderr, flush=True)


def lab_cmd(*args):
    subprocess.run([os.path.join(REPO, "tests", "lab", "lab")] + list(args), check=True,
                   stdout=subprocess.DEVNULL, timeout=120)


def write_config(lab, work, port):
    zones = json.load(open(os.path.join(lab, "zones.json")))
    base = open(os.path.join(lab, "ostrov.yaml")).read()
    base = re.sub(r'listen: \[[^\]]*\]', 'listen: ["127.0.0.1@%d"]' % port, base)
    base = re.sub(r'control-socket: .*', 'control-socket: %s/ctl.sock' % work, base)
    base = re.sub(r'path: .*/cache', 'path: %s/cache' % work, base)
    base = re.sub(r'log-level: .*', 'log-level: info', base)
    base = base.replace("size: 64M", "size: 256M")
    lines = [base.rstrip(), "mirror:", "  path: %s/mirror" % work, "  zones:"]
    for z in (".", "ru."):
        srcs = ["%s@53" % a for a in zones[z]["servers"]]
        lines += ['    - name: "%s"' % z, "      sources: %s" % json.dumps(srcs),
                  "      require-zonemd: yes"]
    path = os.path.join(work, "ostrov.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def dnsperf(a, port, qfile, extra):
    argv = rb.pin(a.gen_cpus) + ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-b", "4096",
                                 "-d", qfile] + extra
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    return rb.parse_dnsperf(r.stdout)


def measure(a, port, pid, qfile, extra):
    t0 = rb.cpu_ticks([pid])
    out = dnsperf(a, port, qfile, extra)
    ticks = rb.cpu_ticks([pid]) - t0
    us = ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(1, out["completed"])
    return us, out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", help="a running lab (default: bring one up and down)")
    ap.add_argument("--ostrovd", help="default build/{release,...}/server/ostrovd")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=int, default=5000, help="dnsperf -Q for both streams")
    ap.add_argument("--names", type=int, default=15000, help="mirror-answered names per run")
    ap.add_argument("--duration", type=int, default=5, help="seconds of cache hits per run")
    ap.add_argument("--resolver-cpus", default="1")
    ap.add_argument("--gen-cpus", default="0")
    ap.add_argument("--nice", type=int, default=-10)
    ap.add_argument("--perf", help="perf record the mirror stream of the first run into FILE")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    rb._nice = a.nice
    ostrovd = rb.find_binary("server/ostrovd", a.ostrovd)
    if not ostrovd or not shutil.which("dnsperf") or os.geteuid() != 0:
        log("needs root, dnsperf and a built ostrovd")
        return 77
    work = tempfile.mkdtemp(prefix="ostrov-mans-")
    lab, own_lab, proc, cut = a.lab, False, None, False
    try:
        if not lab:
            lab, own_lab = os.path.join(work, "lab"), True
            lab_cmd("up", lab, "--prefix", "auto", "--bench-names", "0")
        port = rb.free_port(5311)
        cfg = write_config(lab, work, port)
        logf = open(os.path.join(work, "ostrovd.log"), "w")
        proc = subprocess.Popen(rb.pin(a.resolver_cpus) + [ostrovd, "-c", cfg], stdout=logf,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            text = open(os.path.join(work, "ostrovd.log")).read()
            if all(re.search(r'mirror import ok" zone=%s ' % re.escape(z), text)
                   for z in (".", "ru.")):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("mirrors not imported:\n" + text[-2000:])
            time.sleep(0.2)
        lab_cmd("cut", lab, "root", "refuse")
        lab_cmd("cut", lab, "ru.", "refuse")
        cut = True
        log("mirrors of . and ru. imported; root and ru. servers cut")
        warm = os.path.join(work, "warm.txt")
        with open(warm, "w") as f:
            f.write("warm-up-name.ru. A\nru. DNSKEY\nru. SOA\n")
        out = dnsperf(a, port, warm, ["-n", "1", "-t", "5"])
        if out["rcodes"].get("SERVFAIL") or out["completed"] < 3:
            raise SystemExit("warm-up failed: %s" % out)
        res = {"mirror": [], "hit": []}
        bad = 0
        for i in range(a.runs):
            tag = "%06x" % random.getrandbits(24)
            names = ["m%d-%s.ru." % (k, tag) for k in range(a.names)]
            qm, qh = os.path.join(work, "m%d.txt" % i), os.path.join(work, "h%d.txt" % i)
            with open(qm, "w") as f:
                f.writelines("%s A\n" % n for n in names)
            with open(qh, "w") as f:
                f.writelines("h%d-%s.example.ru. A\n" % (k, tag) for k in range(100))
            ow = dnsperf(a, port, qh, ["-n", "1", "-t", "5"])
            if ow["rcodes"].get("NXDOMAIN", 0) != 100:
                raise SystemExit("cache warm-up under example.ru. failed: %s" % ow)
            perf = None
            if a.perf and i == 0:
                perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "300",
                                         "-o", a.perf, "-p",
                                         str(proc.pid)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                time.sleep(0.5)
            us_m, om = measure(a, port, proc.pid, qm, ["-n", "1", "-Q", str(a.rate), "-q",
                                                       "200", "-t", "5"])
            if perf:
                perf.send_signal(2)
                perf.wait(60)
            us_h, oh = measure(a, port, proc.pid, qh, ["-l", str(a.duration), "-Q",
                                                       str(a.rate), "-q", "200", "-t", "5"])
            for o in (om, oh):
                bad += sum(n for c, n in o["rcodes"].items() if c != "NXDOMAIN") + \
                    int(o.get("lost", 0))
            log("run %d: mirror %.1f µs/q (%d answers %s), cache hit %.1f µs/q (%d answers)" %
                (i, us_m, om["completed"], om["rcodes"], us_h, oh["completed"]))
            res["mirror"].append(us_m)
            res["hit"].append(us_h)
        m, h = statistics.median(res["mirror"]), statistics.median(res["hit"])
        print("ostrovd CPU µs per answered query at %d qps, %d runs, median (min-max):" %
              (a.rate, a.runs))
        print("  answered from the mirror (NXDOMAIN under ru., distinct names): "
              "%.1f (%.1f-%.1f)" % (m, min(res["mirror"]), max(res["mirror"])))
        print("  cache hits (NXDOMAIN under example.ru., cached):              "
              "%.1f (%.1f-%.1f)" % (h, min(res["hit"]), max(res["hit"])))
        print("  mirror/cache-hit ratio: %.1f; answers not NXDOMAIN or lost: %d" % (m / h, bad))
        return 0
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
        if own_lab:
            lab_cmd("down", lab)
        elif cut:
            lab_cmd("restore", lab, "root")
            lab_cmd("restore", lab, "ru.")
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept %s" % work)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
