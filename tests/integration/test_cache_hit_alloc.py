#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The cache-hit path of ostrovd allocates nothing.

usage: test_cache_hit_alloc.py OSTROVD LIBMALLOC_COUNT

ostrovd runs on the lab with tests/unit/server/malloc_count.c preloaded,
which counts every allocation of the process and reports the count on
SIGUSR2. A set of lab names (positive, CNAME chain across zones, NXDOMAIN,
NODATA, wildcard) is resolved, then asked again until every one is a
fast-path hit (stats: hits). Then 3000 hit queries (with and without EDNS,
checked one by one: ID, rcode, answer count) are sent; the allocation count
must not grow by more than a handful over the whole burst (libc and libuv
internals outside the hit path), i.e. far below one per query, and the
daemon's counters must show 3000 more hits and no new miss, nearly all of
them from the worker's front table of hot entries.
Skipped (77) without the lab, or when OSTROVD is built with ASan.
"""

import os
import signal
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

NAMES = [("www.example.ru.", 1), ("chain.example.com.", 1), ("nosuch.example.ru.", 1),
         ("www.example.com.", 16), ("www.example.com.", 15), ("foo.wild.example.ru.", 28),
         ("www.example.org.", 28), ("www.insecure.ru.", 15)]
BURST = 3000
MAX_ALLOCS = 10


def with_edns(wire):
    hdr = bytearray(wire[:12])
    hdr[11] = 1  # ARCOUNT
    return bytes(hdr) + wire[12:] + b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, shim = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    L.need_tools("dig", "nsd", binary, shim)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    if "libasan" in ldd:
        L.log("SKIP: ostrovd is built with ASan (its allocator cannot be counted this way)")
        return L.SKIP
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=20)
    d = None
    count_file = lab.file("malloc-count")
    # The counter sees the whole process: the failover probes (main loop,
    # every ~3 s) allocate on their own schedule and are not the hit path,
    # so they are switched off here.
    conf = lab.file("ostrov-noprobe.yaml")
    with open(lab.file("ostrov.yaml")) as f, open(conf, "w") as g:
        g.write(f.read().rstrip("\n") + "\nresilience:\n  probes:\n    root-hints: no\n")
    try:
        os.environ["LD_PRELOAD"] = shim
        os.environ["OST_MALLOC_COUNT_FILE"] = count_file
        try:
            d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd.log"))
            d.start()
        finally:
            del os.environ["LD_PRELOAD"]
            del os.environ["OST_MALLOC_COUNT_FILE"]

        def allocs():
            if os.path.exists(count_file):
                os.unlink(count_file)
            d.send_signal(signal.SIGUSR2)

            def read():
                try:
                    with open(count_file) as f:
                        t = f.read()
                    return int(t) if t.endswith("\n") else None
                except (OSError, ValueError):
                    return None
            return L.wait_for(read, 5, "malloc count")

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        wires = []
        for i, (q, t) in enumerate(NAMES):
            w = L.build_query(q, t, qid=i)
            wires += [w, with_edns(w)]

        def ask(i, w):
            qid = i & 0xffff
            w = struct.pack("!H", qid) + w[2:]
            sock.sendto(w, ("127.0.0.1", lab.port))
            r = sock.recv(65535)
            return r if r[:2] == w[:2] else None

        # Resolve, then ask again until every name is a fast-path hit (the
        # cache writer commits asynchronously, so this polls with a deadline).
        first = [ask(i, w) for i, w in enumerate(wires)]
        check(all(first), "every name answered")
        rcodes = [r[3] & 0x0f for r in first]
        ancounts = [struct.unpack("!H", r[6:8])[0] for r in first]
        L.log(f"rcodes {rcodes}, answer counts {ancounts}")

        def all_hits():
            before = int(d.stats()["0"]["hits"])
            for i, w in enumerate(wires):
                ask(i, w)
            return int(d.stats()["0"]["hits"]) - before == len(wires)
        L.wait_for(all_hits, 10, "every name a cache hit", step=0.2)
        s0 = d.stats()["0"]
        a0 = allocs()
        bad = 0
        for n in range(BURST):
            k = n % len(wires)
            r = ask(n, wires[k])
            if not r or r[3] & 0x0f != rcodes[k] or \
                    struct.unpack("!H", r[6:8])[0] != ancounts[k]:
                bad += 1
        a1 = allocs()
        s1 = d.stats()["0"]
        hits = int(s1["hits"]) - int(s0["hits"])
        misses = int(s1["misses"]) - int(s0["misses"])
        L.log(f"burst of {BURST} hit queries: {a1 - a0} allocations in the whole process, "
              f"hits +{hits}, misses +{misses}")
        check(bad == 0, f"every burst reply right ({bad} wrong)")
        check(hits == BURST and misses == 0, "the burst was all fast-path hits")
        # Nothing was committed during the burst, so the worker's front table
        # (cache/front.c) served nearly all of it without an LMDB lookup.
        front = int(s1["cache_front_hits"]) - int(s0["cache_front_hits"])
        check(front >= BURST - 2 * len(wires),
              f"the burst was served from the front table ({front} of {BURST})")
        check(a1 - a0 <= MAX_ALLOCS, f"at most {MAX_ALLOCS} allocations for {BURST} hits "
              f"(got {a1 - a0})")
        # The counter does count: start-up allocated, and so does a cache miss.
        check(a0 > 0, f"start-up allocations counted ({a0})")
        r = ask(9999, L.build_query("www.hoster.ru.", 1))
        a2 = allocs()
        check(r is not None and a2 > a1, f"a cache miss allocates ({a2 - a1})")
        check(d.stop() == 0, "ostrovd exits 0")
        d = None
    finally:
        if d:
            d.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
