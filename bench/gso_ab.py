#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Alternating A/B rounds of cache-hit cost for UDP GSO sends (server/udp.c build_gso()).

Built on bench/coalesce_ab.py (same mini lab, pinning, dnsperf wrapper and CPU accounting:
the resolver's utime+stime from /proc per answered query), with what the GSO question needs:

  variants  floor            bench/floor.c as run.py measures it
            floor:g          the same with -g (its answers grouped by peer and length)
            ostrovd[:k=v+k=v]   the --ostrovd binary with server-section keys
            base[:k=v]       the --base binary (e.g. main's, to A/B a whole branch)
            unbound          as run.py starts it
  --mix     queries of several types and lengths instead of run.py's 100 same-shape names
            (A answers, NODATA, NXDOMAIN with names of different lengths, SOA, NS,
            DNSKEY): replies of different lengths to one client, fewer GSO groups
  --clients N   dnsperf -c N: queries from N sockets, replies to N destinations

Each round measures every variant once (the order rotates), a fresh process each time.
For ostrovd it prints the share of replies that left inside GSO messages
(udp_gso_dgrams / udp_datagrams from `ostrovctl stats --json`).

Example: bench/gso_ab.py --rounds 4 --variants floor,floor:g,ostrovd:udp-gso=no,ostrovd
Network rule: as run.py, everything stays in 127.0.0.0/8.
"""

import argparse
import atexit
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import coalesce_ab as cab  # noqa: E402
import run as rb  # noqa: E402

KEYS = cab.UDP_KEYS + ("udp_gso_sends", "udp_gso_dgrams", "hits", "misses", "hit_rejected")


class FloorG(rb.Floor):
    def start(self, lab, workers, validation, cpus, tag):
        self.procs = [rb.start("floor", rb.pin(cpus) + [self.binary, "-g", "-a", "127.0.0.1",
                                                       "-p", str(self.port), "-t", "1"],
                               os.path.join(self.work, "floor.log"))]


def make_resolver(variant, work, a):
    name, _, opts = variant.partition(":")
    port = rb.free_port(5321)
    if name == "floor":
        cls = FloorG if opts == "g" else rb.Floor
        return cls(port, work, a.floor or rb.build_floor(work))
    if name == "unbound":
        return rb.Unbound(port, work)
    if name not in ("ostrovd", "base"):
        raise SystemExit("unknown variant " + variant)
    binary = a.base if name == "base" else rb.find_binary("server/ostrovd", a.ostrovd)
    r = rb.Ostrovd(port, work, binary)
    r.extra_server = "".join("  %s: %s\n" % tuple(kv.split("=", 1))
                             for kv in opts.split("+") if kv)
    return r


def ctl_for(binary):
    return os.path.join(os.path.dirname(os.path.dirname(binary)), "control", "ostrovctl")


def measure(variant, rnd, a, lab, work, qfile):
    res = make_resolver(variant, work, a)
    tag = "%s-r%d" % (variant.replace(":", "_").replace("=", "").replace("+", "_"), rnd)
    res.start(lab, 1, True, a.resolver_cpus, tag)
    try:
        why = res.wait_ready(lab, True, 30)
        if why:
            rb.log("%s: not ready: %s" % (variant, why))
            return []
        gen = rb.Gen(a.gen_cpus, res.port, a.resolver_cpus)
        clients = ["-c", str(a.clients)] if a.clients > 1 else []
        w = gen.dnsperf("dnsperf-warm", qfile, res.pids(),
                        ["-n", "2", "-q", "20", "-t", "5"] + clients)
        if w["rcodes"].get("NOERROR", 0) == 0:
            raise RuntimeError("warm-up got no NOERROR: %s" % w["rcodes"])
        ctl = ctl_for(res.binary) if isinstance(res, rb.Ostrovd) else None
        sock = os.path.join(work, "ostrovd-" + tag, "control.sock")
        s0 = cab.ctl_stats(ctl, sock) if ctl else {}
        la = cab.loadavg()
        r = cab.dnsperf(gen, qfile, res.pids(),
                        ["-l", str(a.duration), "-Q", str(a.rate), "-q", "500", "-t", "2"] +
                        clients, os.path.join(work, "dnsperf-%s.out" % tag))
        s1 = cab.ctl_stats(ctl, sock) if s0 else {}
        ok = r["completed"]
        row = {"variant": variant, "round": rnd, "load": la,
               "cpu_us": r["cpu_s"] * 1e6 / ok if ok else float("nan"),
               "p50_us": rb.percentile(r["lat"], 50) * 1e6,
               "p99_us": rb.percentile(r["lat"], 99) * 1e6,
               "lost": r["lost"], "other_pct": r["other_pct"], "rcodes": r["rcodes"]}
        for k in KEYS:
            if k in s0 and k in s1:
                row[k] = s1[k] - s0[k]
        extra = ""
        if row.get("udp_datagrams"):
            extra = " dgrams/recv %.1f in-gso %.1f%% (%.1f per GSO send)" % (
                row["udp_datagrams"] / max(1, row["udp_recv_calls"]),
                100.0 * row.get("udp_gso_dgrams", 0) / row["udp_datagrams"],
                row.get("udp_gso_dgrams", 0) / max(1, row.get("udp_gso_sends", 0)))
            extra += " hits %d misses %d hit_rejected %d" % (
                row.get("hits", 0), row.get("misses", 0), row.get("hit_rejected", 0))
        rb.log("round %d %-28s cpu %.2f us/q p50 %.0f p99 %.0f lost %d other %.0f%% load %s%s "
               "rcodes %s" % (rnd, variant, row["cpu_us"], row["p50_us"], row["p99_us"],
                              row["lost"], row["other_pct"], la, extra, r["rcodes"]))
        return [row]
    finally:
        res.stop()


def mix_queries(lab, n):
    """A mix of cache-hit questions whose replies differ in length (deterministic)."""
    rnd = random.Random(4)
    hs = [q for q, _ in lab.hit]
    out = [(rnd.choice(hs), "A") for _ in range(n * 40 // 100)]
    out += [(rnd.choice(hs), "AAAA") for _ in range(n * 20 // 100)]
    out += [(rnd.choice(hs), "TXT") for _ in range(n * 10 // 100)]
    out += [("%s.bench." % ("x" * rnd.randint(1, 40)), "A") for _ in range(n * 15 // 100)]
    out += [("bench.", t) for t in ("SOA", "NS", "DNSKEY") for _ in range(n * 3 // 100)]
    out += [("ns.bench.", "A")] * (n - len(out))
    rnd.shuffle(out)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rate", type=int, default=40000)
    ap.add_argument("--variants", default="floor,floor:g,ostrovd:udp-gso=no,ostrovd")
    ap.add_argument("--mix", action="store_true")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--mini-names", type=int, default=300)
    ap.add_argument("--hit-names", type=int, default=100)
    ap.add_argument("--ostrovd")
    ap.add_argument("--base", help="a second ostrovd binary (variant 'base')")
    ap.add_argument("--floor")
    ap.add_argument("--resolver-cpus", default="1")
    ap.add_argument("--gen-cpus", default="0")
    ap.add_argument("--nice", type=int, default=-10)
    ap.add_argument("--rt", type=int, default=0,
                    help="run resolver and generator SCHED_FIFO at this priority (chrt -f), "
                    "as bench/coalesce_ab.py --rt")
    a = ap.parse_args(argv)
    variants = [v for v in a.variants.split(",") if v]
    rb._nice = a.nice
    if a.rt:
        rb.pin = lambda cpus: ["chrt", "-f", str(a.rt), "taskset", "-c", cpus]
    signal.signal(signal.SIGTERM, rb._on_signal)
    signal.signal(signal.SIGINT, rb._on_signal)
    atexit.register(rb.cleanup)
    if os.geteuid() != 0:
        print("gso_ab: needs root (NSD binds port 53)")
        return 2
    work = tempfile.mkdtemp(prefix="ostrov-gso-")
    rb._cleanups.insert(0, lambda: rb.shutil.rmtree(work, ignore_errors=True))
    lab = rb.MiniLab(os.path.join(work, "mini"), a.mini_names, a.hit_names)
    qfile = os.path.join(work, "queries.txt")
    rb.write_queries(qfile, mix_queries(lab, 100) if a.mix else lab.hit)
    rows = []
    for rnd in range(a.rounds):
        order = variants[rnd % len(variants):] + variants[:rnd % len(variants)]
        for v in order:
            try:
                rows += measure(v, rnd + 1, a, lab, work, qfile)
            except Exception as e:  # one failed run must not lose the others
                rb.log("round %d %s failed: %s" % (rnd + 1, v, e))
    print("\nload average at the end: %s; %s queries, %d client socket(s), %d qps" % (
        cab.loadavg(), "mixed" if a.mix else "run.py hit", a.clients, a.rate))
    print("| variant | cpu us/q median (min-max) | p50 us | p99 us | lost | in GSO |")
    print("|---|---|---|---|---|---|")
    for v in variants:
        rs = [r for r in rows if r["variant"] == v]
        if not rs:
            continue
        c = sorted(r["cpu_us"] for r in rs)
        dg = sum(r.get("udp_datagrams", 0) for r in rs)
        gso = "%.1f %%" % (100.0 * sum(r.get("udp_gso_dgrams", 0) for r in rs) / dg) if dg \
            else ""
        print("| %s | %.2f (%.2f-%.2f) | %.0f | %.0f | %d | %s |" % (
            v, statistics.median(c), c[0], c[-1],
            statistics.median(r["p50_us"] for r in rs),
            statistics.median(r["p99_us"] for r in rs), sum(r["lost"] for r in rs), gso))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
