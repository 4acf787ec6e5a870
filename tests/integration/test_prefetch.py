#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Prefetch (resolver.prefetch) in ostrovd against the lab: a hot name never misses.

usage: test_prefetch.py OSTROVD OSTROVCTL

The lab's short names ("short.example.ru.", "short.example.com.") have TTL 2;
ostrovd runs with cache.min-ttl 12, so their cached answers live 12 s (above
the 10 s prefetch floor) and enter the last tenth of their TTL in their 12th
second. Each case resolves a name (one miss), then asks it in bursts of 20
every 50 ms through that second and the next, and once more 13.5 s after the
first query, when the answer first cached has expired:
- prefetch on (the default): exactly one refresh is started however many
  hits fall in the last tenth (prefetch_started +1, the others skipped), and
  every later query, also after the first answer's expiry, is a fast-path
  hit: the worker never sends the name to the engine again (misses +1 only);
- `ostrovctl reload` with `prefetch: no` is applied live (changed, no
  restart); the same schedule for the other name then starts no refresh and
  the first answer's expiry makes misses again (the queries arriving then go
  to the engine until it has answered).
Skipped (77) without the lab.
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_failover_lib as F  # noqa: E402
import test_resolve_lib as L  # noqa: E402

MIN_TTL = 12
KEYS = ("hits", "misses", "prefetch_started", "prefetch_skipped", "prefetch_failed")


def counters(d):
    """The daemon's counters of KEYS, summed over its workers."""
    out = dict.fromkeys(KEYS, 0)
    for w in d.stats().values():
        for k in KEYS:
            out[k] += int(w.get(k, 0))
    return out


def delta(a, b):
    return {k: b[k] - a[k] for k in KEYS}


def run_case(check, d, port, name, prefetch):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    qid = [0]

    def ask():
        qid[0] = (qid[0] + 1) & 0xffff
        w = L.build_query(name, 1, qid=qid[0])
        sock.sendto(w, ("127.0.0.1", port))
        while True:
            r = sock.recv(65535)
            if r[:2] == w[:2]:
                return r[3] & 0x0f, struct.unpack("!H", r[6:8])[0]

    c0 = counters(d)
    t0 = time.monotonic()
    rcode, an = ask()
    check(rcode == 0 and an >= 1, f"{name}: resolved (rcode {rcode}, {an} answers)")
    # The answer is stored at wall second S (t0 - 1 < S <= t0) and expires
    # at S + 12; its last tenth is second S + 11, which starts within
    # [t0 + 10, t0 + 11]. Bursts from t0 + 10 to t0 + 12 cover it.
    time.sleep(max(0.0, t0 + 10.0 - time.monotonic()))
    bad = 0
    while time.monotonic() < t0 + 12.0:
        for _ in range(20):
            rcode, an = ask()
            bad += rcode != 0 or an < 1
        time.sleep(0.05)
    time.sleep(max(0.0, t0 + 13.5 - time.monotonic()))
    rcode, an = ask()
    bad += rcode != 0 or an < 1
    check(bad == 0, f"{name}: every answer NOERROR with data ({bad} not)")
    c1 = counters(d)
    dl = delta(c0, c1)
    L.log(f"{name} prefetch={'yes' if prefetch else 'no'}: {dl}")
    if prefetch:
        check(dl["prefetch_started"] == 1,
              f"{name}: one refresh started in the last tenth ({dl['prefetch_started']})")
        check(dl["prefetch_skipped"] >= 1,
              f"{name}: the other hits of the last tenth started none "
              f"({dl['prefetch_skipped']} skipped)")
        check(dl["prefetch_failed"] == 0, f"{name}: the refresh did not fail")
        check(dl["misses"] == 1,
              f"{name}: only the first query missed, none after the first answer's expiry "
              f"({dl['misses']} misses)")
    else:
        check(dl["prefetch_started"] == 0 and dl["prefetch_skipped"] == 0,
              f"{name}: no prefetch when switched off ({dl})")
        check(dl["misses"] >= 2,
              f"{name}: the first answer's expiry sent queries to the engine again "
              f"({dl['misses']} misses)")
    sock.close()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, ostrovctl = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    L.need_tools("nsd", binary, ostrovctl)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=20)
    d = None
    failed = True
    try:
        conf = lab.config(extra={"min-ttl": str(MIN_TTL)})
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd-prefetch.log"))
        d.start()
        run_case(check, d, lab.port, "short.example.ru.", prefetch=True)
        # Switched off by a reload: live, no restart.
        with open(conf) as f:
            text = f.read()
        check("  validation: yes\n" in text, "the lab config has resolver.validation")
        with open(conf, "w") as f:
            f.write(text.replace("  validation: yes\n", "  validation: yes\n  prefetch: no\n", 1))
        j = F.ctl_json(ostrovctl, F.control_socket(conf), "reload")
        check(j is not None and "resolver.prefetch" in j.get("changed", []) and
              "resolver.prefetch" not in j.get("needs_restart", []),
              f"reload: resolver.prefetch changed live ({j})")
        run_case(check, d, lab.port, "short.example.com.", prefetch=False)
        failed = bool(check.failed)
    finally:
        if d:
            d.stop()
        lab.close(failed=failed)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
