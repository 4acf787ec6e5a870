#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ostrovd's cache outlives the process: a clean restart with every lab
server cut still answers from it, and kill -9 in the middle of a query flood
never costs the cache.

usage: test_cache_persist.py OSTROVD

1. Resolve a handful of lab names (positive, CNAME chain, NXDOMAIN), stop
   ostrovd with SIGTERM (exit 0), cut ALL lab servers (`lab cut DIR all
   refuse`: every NSD stopped), start ostrovd again on the same cache: the
   same names are answered with the same rcode and RRsets, and its counters
   show zero upstream queries (queries_sent=0) and fast-path hits; a name
   whose TTL (2 s) has run out is served stale with EDE 3 (RFC 8767).
2. Servers restored. Five rounds: start ostrovd, flood it from a Python UDP
   loop with bench and lab names (bounded: at most 4 s and 200k datagrams),
   kill -9 it mid-flood at a varying moment, restart it on the same cache:
   it must open the cache (no "corrupt" moved-aside copy, no error) and
   answer a name it resolved before the first kill, with the right answer.
Exit 0 on success, 1 on failure, 77 when the lab is not there.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

PICK = [("www.example.ru.", "A"), ("alias.example.ru.", "A"),
        ("chain.example.com.", "A"), ("nosuch.example.ru.", "A"),
        ("www.example.com.", "TXT"), ("www.example.org.", "A"),
        ("www.insecure.com.", "MX")]


def flood(port, names, stop, counters):
    """Send queries as fast as one socket allows, reading what comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    wires = [L.build_query(q, 28 if t == "AAAA" else 1, qid=i & 0xffff)
             for i, (q, t) in enumerate(names)]
    end = time.monotonic() + 4
    i = 0
    while not stop.is_set() and time.monotonic() < end and i < 200000:
        try:
            s.sendto(wires[i % len(wires)], ("127.0.0.1", port))
            counters["sent"] += 1
        except OSError:
            pass  # refused once the daemon is gone
        i += 1
        try:
            while True:
                s.recv(65535)
                counters["recv"] += 1
        except OSError:
            pass
    s.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    L.need_tools("dig", "nsd", binary)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=200)
    d = None
    try:
        expected = {(e["qname"], e["qtype"]): e for e in lab.names}
        entries = [expected[p] for p in PICK]
        conf = lab.file("ostrov.yaml")
        cache_dir = None
        with open(conf) as f:
            for line in f:
                if line.strip().startswith("path:"):
                    cache_dir = line.split(":", 1)[1].strip()
        check(cache_dir is not None, "lab config names a cache path")

        def ask_and_compare(label):
            replies = L.dig_batch(lab.port, PICK)
            ok = True
            for e, r in zip(entries, replies):
                good = r["rcode"] == e["rcode"] and \
                    L.norm_set(r["answers"]) == L.norm_set(e["answers"])
                ok &= check(good, f"{label}: {e['qname']} {e['qtype']} -> {e['rcode']} "
                            f"(got {r['rcode']} {r['answers']})")
            return ok

        # 1. Resolve, stop cleanly, cut everything, restart: served from the cache.
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd-1.log"))
        d.start()
        ask_and_compare("first run")
        short = expected[("short.example.ru.", "A")]
        r = L.dig_batch(lab.port, [("short.example.ru.", "A")])[0]
        t_short = time.monotonic()
        check(r["rcode"] == "NOERROR" and
              L.norm_set(r["answers"]) == L.norm_set(short["answers"]),
              "first run: short.example.ru (TTL 2 s) resolved")
        check(d.stop() == 0, "SIGTERM: exit 0")
        lab.cut("all", "refuse")
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd-2.log"))
        d.start()
        ask_and_compare("restart, all servers cut")
        st = d.stats()["0"]
        L.log(f"restart: hits={st['hits']} misses={st['misses']} "
              f"queries_sent={st['queries_sent']} cache_entries={st['cache_entries']}")
        check(st["queries_sent"] == "0", "restart: zero upstream queries")
        # RFC 8767: short.example.ru has expired (TTL 2 s) and every server
        # is cut, so the answer is the stale record with EDE 3.
        L.wait_for(lambda: time.monotonic() - t_short > 2.5, 5, "short.example.ru expired")
        out = subprocess.run(["dig", "@127.0.0.1", "-p", str(lab.port), "short.example.ru",
                              "A", "+time=5", "+tries=1"], capture_output=True,
                             text=True).stdout
        check("status: NOERROR" in out and "EDE: 3 (Stale Answer)" in out and
              L.norm_rr(short["answers"][0])[2] in out,
              "restart, all cut: expired short.example.ru served stale with EDE 3")
        check(int(st["hits"]) >= len(PICK), "restart: every name a fast-path hit")
        check(d.stop() == 0, "SIGTERM: exit 0 again")
        d = None
        lab.restore("all")

        # 2. kill -9 during a flood, five times.
        names = [(e["qname"], e["qtype"]) for e in lab.names
                 if e["qtype"] in ("A", "AAAA")]
        rnd = random.Random(4242)
        for rnd_i in range(5):
            d = L.ostrovd(binary, conf, lab.port, lab.file(f"ostrovd-k{rnd_i}.log"))
            took = d.start()
            check(ask_and_compare(f"kill round {rnd_i}: after restart"),
                  f"kill round {rnd_i}: answers after restart ({took:.2f}s to start)")
            log = d.tail(1000)
            check("corrupt" not in log and "level=err" not in log,
                  f"kill round {rnd_i}: cache opened cleanly")
            stop = threading.Event()
            counters = {"sent": 0, "recv": 0}
            th = threading.Thread(target=flood, args=(lab.port, names, stop, counters))
            th.start()
            # Kill once it is busy: some answers came back, then a varying delay.
            L.wait_for(lambda: counters["recv"] > 50, 5, "flood answered")
            time.sleep(rnd.uniform(0.05, 0.6))
            rc = d.stop(signal.SIGKILL)
            stop.set()
            th.join()
            L.log(f"kill round {rnd_i}: sent={counters['sent']} recv={counters['recv']} "
                  f"rc={rc}")
            check(rc == -signal.SIGKILL, f"kill round {rnd_i}: killed by SIGKILL")
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd-final.log"))
        d.start()
        ask_and_compare("after the last kill")
        check("corrupt" not in d.tail(1000), "after the last kill: cache opened cleanly")
        parent = os.path.dirname(cache_dir.rstrip("/"))
        aside = [n for n in os.listdir(parent) if ".corrupt-" in n]
        check(not aside, f"no cache moved aside ({aside})")
        check(d.stop() == 0, "final SIGTERM: exit 0")
        d = None
    finally:
        if d:
            d.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
