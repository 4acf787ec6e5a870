#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Alternating A/B rounds of the validating cache-miss step, for a busy machine.

One lab (tests/lab via bench/run.py's classes) stays up; each round starts every listed
ostrovd binary and Unbound on a fresh cache, in alternating order (ABU, UBA, ...), and
measures the resolver's CPU µs per resolution of the distinct lab names (dnsperf -n 1
-q 200, resolver on CPU 1, generator on CPU 0, nice -10, as bench/run.py). Prints each
round, the medians, and the median of the per-round ratios to Unbound (the figure least
disturbed by other load, which moves both sides of a round together).

usage: bench/ab_miss.py ROUNDS label=path[,label=path...] [--no-unbound] [--perf LABEL]
--perf LABEL records round 0 of LABEL with perf (dwarf call graphs) into perf-LABEL.data
and leaves that round out of the figures."""
import os, sys, statistics, tempfile, time, argparse, subprocess
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R

ap = argparse.ArgumentParser()
ap.add_argument("rounds", type=int)
ap.add_argument("bins")
ap.add_argument("--no-unbound", action="store_true")
ap.add_argument("--names", type=int, default=100000)
ap.add_argument("--window", type=int, default=200)
ap.add_argument("--perf", default="")
ap.add_argument("--keep-lab", default="")
a = ap.parse_args()
R._nice = -10
R.atexit.register(R.cleanup)
work = tempfile.mkdtemp(prefix="ostrov-ab-")
lab = R.RealLab(os.path.join(R.REPO, "tests", "lab", "lab"), os.path.join(work, "lab"), 100)
missfile = os.path.join(work, "miss.txt")
R.write_queries(missfile, lab.names[:a.names])
print("names", len(lab.names[:a.names]), flush=True)
res = []
for spec in a.bins.split(","):
    lbl, path = spec.split("=")
    res.append((lbl, R.Ostrovd(R.free_port(5391 + len(res)), work, path)))
if not a.no_unbound:
    res.append(("unbound", R.Unbound(R.free_port(5399), work)))
out = {l: [] for l, _ in res}
per_round = {}
for rnd in range(a.rounds):
    order = res if rnd % 2 == 0 else list(reversed(res))
    for lbl, r in order:
        tag = "%s-%d" % (lbl, rnd)
        r.start(lab, 1, True, "1", tag)
        why = r.wait_ready(lab, True, 30)
        if why:
            print(lbl, why); r.stop(); continue
        gen = R.Gen("0", r.port, "1")
        perfp = None
        if a.perf == lbl and rnd == 0:
            perfp = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "999",
                                      "-p", str(r.pids()[0]), "-o", "perf-%s.data" % lbl],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        x = gen.dnsperf("miss", missfile, r.pids(), ["-n", "1", "-q", str(a.window), "-t", "5"])
        if perfp:
            perfp.send_signal(2); perfp.wait()
        ok = x["rcodes"].get("NOERROR", 0)
        bad = x["rcodes"].get("SERVFAIL", 0) + int(x["lost"])
        us = x["cpu_s"] * 1e6 / ok if ok else float("nan")
        if not perfp:
            out[lbl].append(us)
            per_round.setdefault(rnd, {})[lbl] = us
        print("round %d %-8s %7.1f us/res  %6.0f res/s  bad %d other %.0f%% load %s" %
              (rnd, lbl, us, ok / x["runtime"], bad, x["other_pct"],
               open("/proc/loadavg").read().split()[0]), flush=True)
        r.stop()
print("load", open("/proc/loadavg").read().strip())
ub = statistics.median(out["unbound"]) if out.get("unbound") else None
for l, v in out.items():
    if not v: continue
    m = statistics.median(v)
    print("%-8s median %.1f us (n=%d, min %.1f max %.1f)%s" % (l, m, len(v), min(v), max(v),
          "  ratio/unbound %.3f" % (m / ub) if ub and l != "unbound" else ""))

# per-round ratio to unbound (rounds where both were measured)
for l in out:
    if l == "unbound":
        continue
    rr = sorted(d[l] / d["unbound"] for d in per_round.values() if l in d and "unbound" in d)
    if rr:
        print("%-8s per-round CPU ratio/unbound median %.3f (%s)" %
              (l, statistics.median(rr), " ".join("%.2f" % x for x in rr)))
