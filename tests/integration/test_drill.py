#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A `foreign-cut` isolation drill run end to end through ostrovctl, and the
control socket's errors.

usage: test_drill.py OSTROVD OSTROVCTL

The lab's ostrov.yaml gets the `resilience:` section of test_failover_lib.py
(default detection settings; recovery lowered to reachable-evals 3 and
recovered-evals 3 so the report's time to recover is known within the test).
Every lab server stays up: the drill alone cuts root, foreign TLD and
foreign second-level servers, in ostrovd's transport.

1. Control errors, before and during the drill; after each the state is
   unchanged and the daemon still answers DNS: `drill start no-such-profile`
   (ostrovctl: usage error; raw on the socket: ERR), unisolate when not
   isolated, garbage (binary, an over-long line, an unknown command) on the
   socket, and a second `drill start` while one runs.
2. Warm the cache (foreign corpus, one national name per TLD), then
   `ostrovctl drill start foreign-cut --duration 40`; send a known mix:
   national names never asked before and cached foreign names; wait for
   ISOLATED (<= 30 s, polled), send the mix again plus never-seen foreign
   names (SERVFAIL + EDE 22); `ostrovctl drill stop`; wait for NORMAL.
3. `ostrovctl drill report --json`: queries by class equal what the test
   sent, answered counts equal what came back NOERROR/NXDOMAIN, SERVFAIL by
   EDE equals what the test saw, sources add up, no unflagged stale answer,
   time to ISOLATED within the target and not later than the test saw it,
   time to recover known and not later than the test saw NORMAL, national
   upstream queries never cut, root and foreign ones cut.
4. `isolate` (ISOLATED at once, never-seen foreign names SERVFAIL + EDE 22,
   a second isolate refused), `unisolate`, `cache flush NAME`, `zone list`
   without a mirror, `stats --json`.
Exit 0 on success, 1 on failure, 77 when the lab is not there.
"""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_failover as T  # noqa: E402
import test_failover_lib as F  # noqa: E402
import test_resolve_lib as L  # noqa: E402

DURATION_S = 40


def raw(sock, data, timeout=5):
    """Send raw bytes on the control socket; return the reply text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    return out.decode(errors="replace")


class Tally:
    """What the test sent and what came back, by name class."""

    def __init__(self):
        self.sent = {"national": 0, "foreign": 0}
        self.answered = {"national": 0, "foreign": 0}
        self.never = {"national": 0, "foreign": 0}  # never-seen names sent
        self.servfail_ede = {}
        self.timeouts = 0

    def add(self, cls, r):
        self.sent[cls] += 1
        if r["rcode"] in ("NOERROR", "NXDOMAIN"):
            self.answered[cls] += 1
        elif r["rcode"] == "SERVFAIL":
            k = str(r["ede"]) if r["ede"] is not None else "none"
            self.servfail_ede[k] = self.servfail_ede.get(k, 0) + 1
        elif r["rcode"] == "TIMEOUT":
            self.timeouts += 1


def send_mix(check, port, tally, nat, frn, never, label):
    qs = [(e["qname"], e["qtype"]) for e in nat + frn] + [(n, "A") for n in never]
    replies, took = T.ask(port, qs, timeout=10)
    # The report classes names by where the question name lives (alias.example.ru
    # is national even though its CNAME target is abroad), and so does the tally.
    for (qn, qt), r in zip(qs, replies):
        tally.add("national" if T.tld(qn) in T.NATIONAL else "foreign", r)
    for n in never:
        tally.never["national" if T.tld(n) in T.NATIONAL else "foreign"] += 1
    n_nat_ok = sum(1 for e, r in zip(nat, replies) if r["rcode"] == "NOERROR" and
                   "ad" in r["flags"] and L.norm_set(r["answers"]) == L.norm_set(e["answers"]))
    n_frn_ok = sum(1 for e, r in zip(frn, replies[len(nat):]) if r["rcode"] == "NOERROR" and
                   L.norm_set(r["answers"]) == L.norm_set(e["answers"]))
    n_never = sum(1 for r in replies[len(nat) + len(frn):] if r["rcode"] == "SERVFAIL" and
                  r["ede"] == 22)
    check(n_nat_ok == len(nat), f"{label}: national {n_nat_ok}/{len(nat)} NOERROR+AD")
    check(n_frn_ok == len(frn), f"{label}: cached foreign {n_frn_ok}/{len(frn)} answered")
    check(n_never == len(never), f"{label}: never-seen foreign {n_never}/{len(never)} "
          "SERVFAIL + EDE 22")
    L.log(f"{label}: {len(qs)} queries in {took:.2f} s")


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
        nat, frn = T.corpus(lab.names)
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd.log"))
        d.start()
        L.wait_for(lambda: T.state(ctl, sock) == "NORMAL", 10, "NORMAL at start")
        mode = oct(os.stat(sock).st_mode & 0o777)
        check(mode == "0o600", f"control socket mode 0600 (got {mode})")

        def alive(label, want_state):
            r = L.udp_ask(lab.port, L.build_query("example.ru.", 1, rd=False), 2)
            st = T.state(ctl, sock)
            check(r is not None and st == want_state,
                  f"{label}: daemon answers DNS and state is still {want_state} (got {st})")

        # 1. control errors before the drill.
        rc, out, err = F.ctl(ctl, sock, "drill", "start", "no-such-profile")
        check(rc == 2 and "profile" in err, f"ostrovctl: unknown profile is a usage error "
              f"(rc={rc} err={err.strip()!r})")
        rep = raw(sock, b"drill start no-such-profile\n")
        check(rep.startswith("ERR") and "profile" in rep,
              f"socket: unknown profile -> ERR ({rep.strip()!r})")
        rc, out, err = F.ctl(ctl, sock, "unisolate")
        check(rc == 1 and ("ERR" in err or "not" in (out + err)),
              f"unisolate when not isolated refused (rc={rc} {out.strip()!r} {err.strip()!r})")
        alive("after unisolate", "NORMAL")
        for label, data in (("binary", bytes(range(256)) + b"\n"),
                            ("over-long line", b"status " + b"x" * 10000 + b"\n"),
                            ("unknown command", b"format c:\n"),
                            ("empty", b"")):
            rep = raw(sock, data)
            check(rep.startswith("ERR"), f"socket: {label} -> ERR ({rep[:80].strip()!r})")
            alive(f"after {label}", "NORMAL")
        rc, out, err = F.ctl(ctl, sock, "drill", "report")
        check(rc == 1 and "no drill" in err, f"drill report before any drill refused "
              f"({err.strip()!r})")
        rc, out, err = F.ctl(ctl, sock, "reload")
        check(rc == 0 and "reloaded" in out, f"reload of the unchanged file "
              f"({out.strip()!r} {err.strip()!r})")
        st = F.ctl_json(ctl, sock, "stats")
        check(st is not None and st.get("workers", 0) >= 1 and "hits" in st,
              f"stats --json has worker counters ({str(st)[:80]})")

        # 2. warm, then the drill.
        warm_nat = {}
        for e in nat:
            warm_nat.setdefault(T.tld(e["qname"]), e)
        warm = list(warm_nat.values())
        fresh = [e for e in nat if e not in warm]
        half = len(fresh) // 2
        replies, _ = T.ask(lab.port, [(e["qname"], e["qtype"]) for e in frn + warm])
        check(all(r["rcode"] == "NOERROR" for r in replies), "warm-up answered")
        rc, out, err = F.ctl(ctl, sock, "drill", "start", "foreign-cut", "--duration",
                             str(DURATION_S))
        t_start = time.monotonic()
        check(rc == 0 and "started" in out, f"drill start: {out.strip()} {err.strip()}")
        rc, out, err = F.ctl(ctl, sock, "drill", "start", "foreign-loss")
        check(rc == 1 and "already running" in err,
              f"second drill start refused ({err.strip()!r})")
        tally = Tally()
        send_mix(check, lab.port, tally, fresh[:half], frn, [], "drill, before ISOLATED")
        try:
            T.wait_state(ctl, sock, "ISOLATED", 30)
            seen_isolated = time.monotonic() - t_start
            L.log(f"ISOLATED seen {seen_isolated:.1f} s after drill start")
        except TimeoutError as ex:
            check(False, f"{ex}; {F.ctl(ctl, sock, 'status')[1]}")
            seen_isolated = None
        never = [f"never-seen-{i}.example.com." for i in range(4)] + \
                [f"never-seen-{i}.example.net." for i in range(4)]
        send_mix(check, lab.port, tally, fresh[half:] + warm, frn, never,
                 "drill, ISOLATED")
        rc, out, err = F.ctl(ctl, sock, "drill", "stop")
        t_stop = time.monotonic()
        check(rc == 0, f"drill stop: {out.strip()} {err.strip()}")
        try:
            T.wait_state(ctl, sock, "NORMAL", 60)
            seen_normal = time.monotonic() - t_stop
            L.log(f"NORMAL seen {seen_normal:.1f} s after drill stop")
        except TimeoutError as ex:
            check(False, str(ex))
            seen_normal = None

        # 3. the report against the test's own count.
        rc, out, err = F.ctl(ctl, sock, "drill", "report")
        L.log("drill report:\n" + out)
        rep = F.ctl_json(ctl, sock, "drill", "report")
        check(rep is not None, "drill report --json parses")
        rep = rep or {}
        L.log("report JSON: " + json.dumps(rep, sort_keys=True))
        L.log(f"test count: sent={tally.sent} answered={tally.answered} "
              f"servfail_by_ede={tally.servfail_ede} timeouts={tally.timeouts}")
        names = rep.get("names", {})
        for cls in ("national", "foreign"):
            got = names.get(cls, {})
            check(got.get("queries") == tally.sent[cls],
                  f"report: {cls} queries {got.get('queries')} == sent {tally.sent[cls]}")
            check(got.get("answered") == tally.answered[cls],
                  f"report: {cls} answered {got.get('answered')} == test saw "
                  f"{tally.answered[cls]}")
            # never-seen names sent while ISOLATED are refused at once by design
            check(got.get("unseen") == tally.never[cls],
                  f"report: {cls} never-seen refused at once {got.get('unseen')} == "
                  f"sent {tally.never[cls]}")
        check(names.get("root", {}).get("queries") == 0, "report: no root-name queries")
        check(rep.get("servfail_by_ede") == tally.servfail_ede,
              f"report: SERVFAIL by EDE {rep.get('servfail_by_ede')} == test saw "
              f"{tally.servfail_ede}")
        total = sum(tally.sent.values())
        check(sum(rep.get("sources", {}).values()) == total,
              f"report: sources add up to {total} ({rep.get('sources')})")
        check(rep.get("stale_unflagged") == 0, "report: no stale answer without EDE 3/19")
        tti = rep.get("time_to_isolated_ms")
        check(tti is not None and tti <= 30000 and
              (seen_isolated is None or tti / 1000 <= seen_isolated + 0.5),
              f"report: time to ISOLATED {tti} ms <= 30000 and <= seen {seen_isolated}")
        ttr = rep.get("time_to_recover_ms")
        check(ttr is not None and (seen_normal is None or ttr / 1000 <= seen_normal + 0.5),
              f"report: time to recover {ttr} ms, seen {seen_normal}")
        up = rep.get("upstream", {})
        check(up.get("national", {}).get("cut") == 0 and
              up.get("national", {}).get("sent", 0) > 0,
              f"report: national upstream queries sent and never cut ({up.get('national')})")
        for c in ("root", "foreign-tld"):
            u = up.get(c, {})
            check(u.get("sent", 0) > 0 and u.get("cut") == u.get("sent"),
                  f"report: every {c} query cut during the drill ({u})")
        share = tally.answered["foreign"] / max(1, tally.sent["foreign"] -
                                                tally.never["foreign"])
        verdict = {c["name"]: c["verdict"] for c in rep.get("checks", [])}
        check(verdict.get("foreign answered share") == ("PASS" if share >= 0.95 else "FAIL"),
              f"report: foreign answered share verdict matches the test's share {share:.4f} "
              f"against 0.95 ({verdict.get('foreign answered share')})")
        check(verdict.get("national answered share") == "PASS" and
              verdict.get("time to detect") == "PASS", f"report: national share and "
              f"detection pass ({verdict})")
        check(rep.get("stop_reason") == "operator", f"report: stopped by the operator "
              f"({rep.get('stop_reason')})")
        # 4. operator isolation, and the other daemon commands.
        rc, out, err = F.ctl(ctl, sock, "isolate")
        check(rc == 0 and T.state(ctl, sock) == "ISOLATED", f"isolate: ISOLATED at once "
              f"({out.strip()} {err.strip()})")
        r, took = T.ask_timed(lab.port, {"qname": "forced-never-seen.example.org.",
                                         "qtype": "A"})
        check(r["rcode"] == "SERVFAIL" and r["ede"] == 22 and took < 0.5,
              f"operator isolation: never-seen foreign name SERVFAIL + EDE 22 at once "
              f"({r['rcode']} {r['ede']} {took:.2f}s)")
        rc, out, err = F.ctl(ctl, sock, "isolate")
        check(rc == 1, f"second isolate refused ({err.strip()!r})")
        rc, out, err = F.ctl(ctl, sock, "unisolate")
        st = T.state(ctl, sock)
        check(rc == 0 and st in ("RECOVERING", "NORMAL"), f"unisolate: {st} ({out.strip()})")
        j = F.ctl_json(ctl, sock, "cache", "flush", "example.net")
        check(j is not None and j.get("removed", 0) >= 1,
              f"cache flush example.net removed entries ({j})")
        rc, out, err = F.ctl(ctl, sock, "cache", "flush", "bad..name")
        check(rc != 0, f"cache flush of a bad name refused (rc={rc} {err.strip()!r})")
        rc, out, err = F.ctl(ctl, sock, "zone", "list")
        check(rc == 0 and "no mirror configured" in out, f"zone list without a mirror "
              f"({out.strip()!r})")
        st = F.ctl_json(ctl, sock, "stats")
        check(st is not None and st.get("isolated_servfail", 0) >= len(never) + 1,
              f"stats: isolated_servfail counts the SERVFAILs given in isolation "
              f"({st and st.get('isolated_servfail')})")
        check(d.stop() == 0, "SIGTERM: exit 0")
        d = None
    finally:
        if d:
            d.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
