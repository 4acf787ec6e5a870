#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Real-time soak: a `foreign-loss` drill (30 % of foreign upstream queries
lost inside ostrovd's transport) for a fixed time against the loopback lab,
with default failover settings and a steady query mix, and the check that the
failover state machine never leaves NORMAL (issue: "zero transitions out of
NORMAL ... during a real 2-minute one in the lab").

usage: bench/soak_loss.py OSTROVD OSTROVCTL [SECONDS]   (default 120; root)

The mix, every 100 ms: one never-seen name under a foreign zone (NXDOMAIN,
so it needs upstream queries that the drill may lose), one cached foreign
name and one national name. The state is polled every second. Prints the
states seen, the transitions and the drill report; exit 0 when the state
stayed NORMAL, 1 otherwise, 77 when the lab cannot run here. Not part of
the test run (it takes minutes); its result goes into bench/RESULTS.md.
"""

import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_failover as T  # noqa: E402
import test_failover_lib as F  # noqa: E402
import test_resolve_lib as L  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    binary, ctl = (os.path.abspath(a) for a in sys.argv[1:3])
    seconds = int(sys.argv[3]) if len(sys.argv) == 4 else 120
    L.need_tools("dig", "nsd", binary, ctl)
    lab = L.Lab(L.free_port(), bench_names=0)
    d = None
    ok = False
    try:
        conf = F.write_config(lab.dir)  # default failover settings
        sock = F.control_socket(conf)
        nat, frn = T.corpus(lab.names)
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd.log"))
        d.start()
        L.wait_for(lambda: T.state(ctl, sock) == "NORMAL", 10, "NORMAL at start")
        T.ask(lab.port, [(e["qname"], e["qtype"]) for e in frn + nat])
        rc, out, err = F.ctl(ctl, sock, "drill", "start", "foreign-loss", "--duration",
                             str(seconds + 30))
        print(f"drill start: rc={rc} {out.strip()} {err.strip()}")
        if rc != 0:
            return 1
        states = {}
        rng = random.Random(7)
        sent = answered = servfail = 0
        t0 = time.monotonic()
        next_poll = t0
        while time.monotonic() - t0 < seconds:
            foreign_zone = rng.choice(["example.com.", "example.net.", "insecure.com."])
            qs = [(f"soak-{rng.randrange(1 << 30)}.{foreign_zone}", "A"),
                  (lambda e: (e["qname"], e["qtype"]))(rng.choice(frn)),
                  (lambda e: (e["qname"], e["qtype"]))(rng.choice(nat))]
            replies, _ = T.ask(lab.port, qs, timeout=3)
            for r in replies:
                sent += 1
                answered += r["rcode"] in ("NOERROR", "NXDOMAIN")
                servfail += r["rcode"] == "SERVFAIL"
            now = time.monotonic()
            if now >= next_poll:
                s = T.state(ctl, sock)
                states[s] = states.get(s, 0) + 1
                next_poll = now + 1
            time.sleep(0.1)
        j = F.ctl_json(ctl, sock, "status")
        tr = {(t["from"], t["to"]): t["count"] for t in j["failover"]["transitions"]}
        F.ctl(ctl, sock, "drill", "stop")
        rc, report, _ = F.ctl(ctl, sock, "drill", "report")
        print(report)
        moved = {k: v for k, v in tr.items() if k[0] != "LOADING"}
        print(f"soak {seconds} s at 30% foreign loss: {sent} queries, {answered} answered, "
              f"{servfail} SERVFAIL; states polled {states}; transitions {tr}")
        ok = not moved and set(states) == {"NORMAL"}
        print("result: " + ("PASS (no transition out of NORMAL)" if ok else "FAIL"))
        d.stop()
        d = None
    finally:
        if d:
            d.stop()
        lab.close(failed=not ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
