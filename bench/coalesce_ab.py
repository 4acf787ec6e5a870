#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Alternating A/B rounds of cache-hit cost for UDP receive coalescing (server/udp.c).

bench/run.py measures one resolver after the other, so on a shared machine a change of
background load between resolvers reads as a difference between them. This script brings
up run.py's mini lab once and then runs ROUNDS rounds; each round measures every variant
once (the order rotates from round to round) at each offered rate, with a fresh resolver
process per variant and round:

  start pinned to --resolver-cpus, readiness check, warm-up (dnsperf -n 2), then for each
  rate: dnsperf -l DURATION -Q RATE -q 500 -b 4096 -v pinned to --gen-cpus, the resolver's
  utime+stime from /proc around it, latency percentiles from the per-query lines, and for
  ostrovd the UDP counters of `ostrovctl stats --json` (wake-ups, recvmmsg() calls and the
  batch-size histogram, sendmmsg() calls, coalescing waits) before and after.

Variants: floor, unbound, kresd, ostrovd, and ostrovd with server-section keys, written
"ostrovd:udp-coalesce-us=0" (several keys joined with '+'). Prints one line per measurement,
then the median (min-max) of every figure per variant and rate, with the load averages.

Example (the figures in bench/RESULTS.md, 2026-11-26 late evening):
  bench/coalesce_ab.py --rounds 3 --rates 40000,2000 \\
      --variants floor,ostrovd:udp-coalesce-us=0,ostrovd:udp-coalesce-us=50,unbound

Network rule: as run.py, everything stays in 127.0.0.0/8.
"""

import argparse
import atexit
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as rb  # noqa: E402  (bench/run.py: lab, resolvers, dnsperf wrapper)

UDP_KEYS = ("udp_wakeups", "udp_recv_calls", "udp_datagrams", "udp_batch_1", "udp_batch_2_4",
            "udp_batch_5_16", "udp_batch_17_64", "udp_send_calls", "udp_coalesced")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ctl_stats(ctl, sock):
    """The daemon's summed counters, or {} when they cannot be read."""
    try:
        out = subprocess.run([ctl, "-s", sock, "stats", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, timeout=5).stdout
        return json.loads(out)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


def dnsperf(gen, qfile, pids, extra, out_path):
    """rb.Gen.dnsperf, but dnsperf -v writes its per-query lines to a file: through a pipe
    read by this (unpinned, busy) Python process, its receiving thread blocks on a full pipe
    at 40k lines/s and the latency it reports is the pipe's."""
    argv = gen._base("dnsperf") + ["-d", qfile] + extra + ["-v"]
    rb._check_loopback_args(argv)
    rb.note_command("dnsperf-hit", argv)
    cores = sorted(set(rb.cpu_list(gen.cpus)) | set(gen.res_cpus))
    ru0 = rb.resource.getrusage(rb.resource.RUSAGE_CHILDREN)
    t0, b0, w0 = rb.cpu_ticks(pids), rb.cpu_busy(cores), time.time()
    with open(out_path, "w") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                             preexec_fn=rb._die_with_parent)
        rb._started.append(("dnsperf", p))
        try:
            p.wait(600)
        finally:
            rb.stop(p)
    t1, b1, w1 = rb.cpu_ticks(pids), rb.cpu_busy(cores), time.time()
    ru1 = rb.resource.getrusage(rb.resource.RUSAGE_CHILDREN)
    lat, rest = [], []
    with open(out_path) as f:
        for line in f:
            if line.startswith("> "):
                try:
                    lat.append(float(line.split()[-1]))
                except ValueError:
                    pass
            else:
                rest.append(line)
    os.unlink(out_path)
    res = rb.parse_dnsperf("".join(rest))
    res["cpu_s"] = (t1 - t0) / rb.CLK_TCK
    gen_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    other = (b1 - b0) / rb.CLK_TCK - res["cpu_s"] - gen_cpu
    res["other_pct"] = max(0.0, 100.0 * other / ((w1 - w0) * len(cores)))
    res["lat"] = sorted(lat)
    return res


def make_resolver(variant, work, a):
    name, _, opts = variant.partition(":")
    ports = {"ostrovd": 5311, "unbound": 5312, "kresd": 5313, "floor": 5314}
    port = rb.free_port(ports[name])
    if name == "floor":
        return rb.Floor(port, work, a.floor or rb.build_floor(work))
    if name == "unbound":
        return rb.Unbound(port, work)
    if name == "kresd":
        return rb.Kresd(port, work)
    if name != "ostrovd":
        raise SystemExit("unknown variant " + variant)
    r = rb.Ostrovd(port, work, rb.find_binary("server/ostrovd", a.ostrovd))
    r.extra_server = "".join("  %s: %s\n" % tuple(kv.split("=", 1))
                             for kv in opts.split("+") if kv)
    return r


def measure(variant, rnd, a, lab, work, ctl):
    res = make_resolver(variant, work, a)
    why = res.available()
    if why:
        rb.log("%s: skipped: %s" % (variant, why))
        return []
    tag = "%s-r%d" % (variant.replace(":", "_").replace("=", "").replace("+", "_"), rnd)
    res.start(lab, 1, True, a.resolver_cpus, tag)
    out = []
    try:
        why = res.wait_ready(lab, True, 30)
        if why:
            rb.log("%s: not ready: %s" % (variant, why))
            return []
        gen = rb.Gen(a.gen_cpus, res.port, a.resolver_cpus)
        hitfile = os.path.join(work, "hit.txt")
        w = gen.dnsperf("dnsperf-warm", hitfile, res.pids(), ["-n", "2", "-q", "20", "-t", "5"])
        if w["rcodes"].get("NOERROR", 0) == 0:
            raise RuntimeError("warm-up got no NOERROR: %s" % w["rcodes"])
        sock = os.path.join(work, "ostrovd-" + tag, "control.sock")
        for rate in a.rates:
            s0 = ctl_stats(ctl, sock) if ctl and res.name == "ostrovd" else {}
            la = loadavg()
            r = dnsperf(gen, hitfile, res.pids(),
                        ["-l", str(a.duration), "-Q", str(rate), "-q", "500", "-t", "2"],
                        os.path.join(work, "dnsperf-%s-%d.out" % (tag, rate)))
            s1 = ctl_stats(ctl, sock) if s0 else {}
            ok = r["completed"]
            row = {"variant": variant, "round": rnd, "rate": rate, "load": la,
                   "cpu_us": r["cpu_s"] * 1e6 / ok if ok else float("nan"),
                   "lost": r["lost"], "sent_qps": r["sent"] / r["runtime"],
                   "other_pct": r["other_pct"],
                   "noerror": r["rcodes"].get("NOERROR", 0), "completed": ok}
            for key, p in (("p50_us", 50), ("p99_us", 99), ("p999_us", 99.9)):
                row[key] = rb.percentile(r["lat"], p) * 1e6
            for k in UDP_KEYS:
                if k in s0 and k in s1:
                    row[k] = s1[k] - s0[k]
            out.append(row)
            extra = ""
            if "udp_datagrams" in row and row.get("udp_recv_calls"):
                extra = " dgrams/recv %.1f dgrams/send %.1f wakeups %d coalesced %d" % (
                    row["udp_datagrams"] / max(1, row["udp_recv_calls"]),
                    row["udp_datagrams"] / max(1, row["udp_send_calls"]),
                    row["udp_wakeups"], row["udp_coalesced"])
            rb.log("round %d %-34s %6d qps: cpu %.2f us/q p50 %.0f p99 %.0f lost %d "
                   "other %.0f%% load %s%s" % (rnd, variant, rate, row["cpu_us"],
                                               row["p50_us"], row["p99_us"], row["lost"],
                                               row["other_pct"], la, extra))
    finally:
        res.stop()
    return out


def summary(rows, variants, rates):
    keys = ["cpu_us", "p50_us", "p99_us", "p999_us", "lost", "other_pct"]
    lines = ["| variant | rate | " + " | ".join(keys) + " | dgrams/recv | dgrams/send |"
             " batch 1 / 2-4 / 5-16 / 17-64 (% of recv calls with data) | coalesced wake-ups |",
             "|---" * (len(keys) + 6) + "|"]
    for rate in rates:
        for v in variants:
            rs = [r for r in rows if r["variant"] == v and r["rate"] == rate]
            if not rs:
                continue
            cells = []
            for k in keys:
                vals = sorted(r[k] for r in rs)
                cells.append("%.2f (%.2f-%.2f)" % (statistics.median(vals), vals[0], vals[-1])
                             if k == "cpu_us" else "%.0f (%.0f-%.0f)" %
                             (statistics.median(vals), vals[0], vals[-1]))
            tot = {k: sum(r.get(k, 0) for r in rs) for k in UDP_KEYS}
            if tot["udp_recv_calls"]:
                full = sum(tot[k] for k in UDP_KEYS[3:7]) or 1
                cells.append("%.1f" % (tot["udp_datagrams"] / tot["udp_recv_calls"]))
                cells.append("%.1f" % (tot["udp_datagrams"] / max(1, tot["udp_send_calls"])))
                cells.append(" / ".join("%.0f" % (100.0 * tot[k] / full) for k in UDP_KEYS[3:7]))
                cells.append("%d of %d" % (tot["udp_coalesced"], tot["udp_wakeups"]))
            else:
                cells += ["", "", "", ""]
            lines.append("| %s | %d | %s |" % (v, rate, " | ".join(cells)))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rates", default="40000,2000")
    ap.add_argument("--variants", default="floor,ostrovd,unbound")
    ap.add_argument("--mini-names", type=int, default=300)
    ap.add_argument("--hit-names", type=int, default=100)
    ap.add_argument("--ostrovd")
    ap.add_argument("--floor")
    ap.add_argument("--resolver-cpus", default="1")
    ap.add_argument("--gen-cpus", default="0")
    ap.add_argument("--nice", type=int, default=-10)
    ap.add_argument("--rt", type=int, default=0,
                    help="run resolver and generator SCHED_FIFO at this priority (chrt -f) "
                    "instead of nice: on a shared machine this gives them their cores as if "
                    "they were idle (the kernel's RT throttling still leaves others 5 %%)")
    ap.add_argument("--json", help="also write every measurement to this file")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    a.rates = [int(x) for x in a.rates.split(",")]
    variants = [v for v in a.variants.split(",") if v]
    rb._nice = a.nice
    if a.rt:
        rb.pin = lambda cpus: ["chrt", "-f", str(a.rt), "taskset", "-c", cpus]
    signal.signal(signal.SIGTERM, rb._on_signal)
    signal.signal(signal.SIGINT, rb._on_signal)
    atexit.register(rb.cleanup)
    if os.geteuid() != 0:
        print("coalesce_ab: needs root (NSD binds port 53)")
        return 2
    work = tempfile.mkdtemp(prefix="ostrov-ab-")
    if not a.keep:
        rb._cleanups.insert(0, lambda: rb.shutil.rmtree(work, ignore_errors=True))
    rb.log("work dir %s, load %s, %s" % (work, loadavg(), "SCHED_FIFO %d" % a.rt if a.rt
                                          else "nice %d" % a.nice))
    lab = rb.MiniLab(os.path.join(work, "mini"), a.mini_names, a.hit_names)
    rb.write_queries(os.path.join(work, "hit.txt"), lab.hit)
    ostrovd = rb.find_binary("server/ostrovd", a.ostrovd)
    ctl = os.path.join(os.path.dirname(os.path.dirname(ostrovd)), "control", "ostrovctl") \
        if ostrovd else None
    rows = []
    for rnd in range(a.rounds):
        order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
        for v in order:
            try:
                rows += measure(v, rnd + 1, a, lab, work, ctl)
            except Exception as e:  # one failed run must not lose the others
                rb.log("round %d %s failed: %s" % (rnd + 1, v, e))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    print()
    print("load average at the end: %s" % loadavg())
    print(summary(rows, variants, a.rates))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
