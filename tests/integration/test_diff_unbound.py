#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Differential test: ostrovd and Unbound answer the same lab questions alike.

usage: test_diff_unbound.py OSTROVD

The lab (100 bench names) is brought up; Unbound (the Debian package) runs
in the foreground on the lab's generated unbound.conf, which queries only
the lab (its root hints and trust anchor, do-not-query-localhost: no;
unbound-anchor is never run), and ostrovd runs on the lab's ostrov.yaml.
Every qname in names.json is asked with qtypes A, AAAA, MX, TXT, NS and its
own names.json qtype, plus A and AAAA of the bench names (over 500
questions, each sent to both), then the non-bench ones again with DO=1,
where the RRSIGs in the answer must agree too; and a few RD=0 questions,
which both refuse. For each, the rcode, the AD bit (dig asks with AD=1) and
the answer RRset (as sets, TTL ignored, names without case) must agree. The
agreement count is printed; a difference fails the test unless
tests/integration/diff_known.txt lists it ([DO=1] QNAME-PATTERN
QTYPE-PATTERN reason) - and a listed pattern that no longer differs is
reported, so the list shrinks as ostrov catches up.
Exit 0 on success, 1 on failure, 77 when the lab or Unbound is not there.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

KNOWN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diff_known.txt")
QTYPES = ("A", "AAAA", "MX", "TXT", "NS")


def questions(names):
    qs, seen = [], set()

    def add(q, t):
        if (q.lower(), t) not in seen:
            seen.add((q.lower(), t))
            qs.append((q, t))
    for e in names:
        if e["kind"] == "bench":
            if e["qtype"] in ("A", "AAAA"):
                add(e["qname"], e["qtype"])
            continue
        add(e["qname"], e["qtype"])
        for t in QTYPES:
            add(e["qname"], t)
    return qs


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    L.need_tools("dig", "nsd", "unbound", binary)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=100)
    ub = od = None
    try:
        ub = L.unbound(lab)
        od = L.ostrovd(binary, lab.file("ostrov.yaml"), lab.port, lab.file("ostrovd.log"))
        ub.start()
        od.start()
        qs = questions(lab.names)
        L.log(f"{len(qs)} questions")
        check(len(qs) >= 500, "at least 500 questions")
        t0 = time.monotonic()
        ours = L.dig_batch(od.port, qs)
        t1 = time.monotonic()
        theirs = L.dig_batch(ub.port, qs)
        t2 = time.monotonic()
        L.log(f"ostrovd {t1 - t0:.1f}s, unbound {t2 - t1:.1f}s")
        # RD=0: both refuse (no cache snooping for "allow" clients).
        norec = [("www.example.ru.", "A"), ("nosuch.example.ru.", "A")]
        o_nr = L.dig_batch(od.port, norec, extra=("+norec",))
        u_nr = L.dig_batch(ub.port, norec, extra=("+norec",))
        for (q, t), a, b in zip(norec, o_nr, u_nr):
            check(a["rcode"] == b["rcode"] == "REFUSED",
                  f"RD=0 {q} {t}: ostrovd {a['rcode']} unbound {b['rcode']}")

        rules = L.known_differences(KNOWN)
        used = set()

        def compare(label, qs_, ours_, theirs_, keep_rrsig=False):
            agree = known = 0
            unexplained = []
            for (q, t), a, b in zip(qs_, ours_, theirs_):
                sa = L.norm_set(a["answers"], keep_rrsig)
                sb = L.norm_set(b["answers"], keep_rrsig)
                ad_a, ad_b = "ad" in a["flags"], "ad" in b["flags"]
                if a["rcode"] == b["rcode"] and sa == sb and ad_a == ad_b:
                    agree += 1
                    continue
                reason = L.known_reason(rules, q, t, label)
                line = (f"{label} {q} {t}: ostrovd {a['rcode']} ad={ad_a} {sorted(sa)} | "
                        f"unbound {b['rcode']} ad={ad_b} {sorted(sb)}")
                if reason:
                    known += 1
                    used.add(reason)
                    L.log(f"known difference ({reason}): {line}")
                else:
                    unexplained.append(line)
            for line in unexplained:
                check(False, f"difference: {line}")
            L.log(f"AGREEMENT {label} {agree}/{len(qs_)} ({100.0 * agree / len(qs_):.1f}%), "
                  f"{known} known differences, {len(unexplained)} unexplained")
            return agree, known

        agree, known = compare("DO=0", qs, ours, theirs)
        # DO=1 (answered from the cache now, RRSIGs compared too) for the
        # non-bench questions: the same RRsets with the same signatures.
        qd = [q for q in qs if ".bench.ru." not in q[0]]
        o_do = L.dig_batch(od.port, qd, extra=("+dnssec",))
        u_do = L.dig_batch(ub.port, qd, extra=("+dnssec",))
        agree_do, known_do = compare("DO=1", qd, o_do, u_do, keep_rrsig=True)
        check(agree_do + known_do == len(qd), "DO=1: every difference is listed")
        for _only, qn, qt, reason in rules:
            if reason not in used:
                L.log(f"note: diff_known.txt rule '{qn} {qt}' matched no difference")
        check(agree + known == len(qs), "every difference is listed in diff_known.txt")
        check(agree >= 0.9 * len(qs), "at least 90% plain agreement")
        check(od.stop() == 0, "ostrovd exits 0 on SIGTERM")
        od = None
    finally:
        if od:
            od.stop()
        if ub:
            ub.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
