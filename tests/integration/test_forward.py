#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Forward and stub zones (resolver.forward-zones, resolver.stub-zones)
against the loopback lab.

usage: test_forward.py OSTROVD

1. `lab up`; ostrovd B resolves the lab on its own (the lab's ostrov.yaml).
2. ostrovd A forwards "." to B (RD=1, and CD=1 since A validates) and has a
   stub zone for example.com. pointing at one of that zone's lab servers.
   Every names.json entry that validates is asked of A: rcode, answer RRset
   and AD as names.json says (A validates what B hands over); the bogus
   names give SERVFAIL with one of their expected EDE codes, which A found
   itself since B was asked with CD=1.
3. B is stopped: names A has not cached fail (SERVFAIL) instead of being
   resolved around the forwarder, while names under the stub zone that A
   has not seen yet still resolve from the stub server.
Exit 0 on success, 1 on failure, 77 when the lab is not there.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402


def forward_config(lab, b_port, stub_addr):
    """The lab's config for A: its own cache, control socket and port, "."
    forwarded to B, example.com. stubbed to one lab server."""
    with open(lab.file("ostrov.yaml")) as f:
        text = f.read()
    a_dir = lab.file("cache-a")
    os.makedirs(a_dir, exist_ok=True)
    text = re.sub(r"(?m)^(\s*path:\s*).*cache.*$", r"\g<1>" + a_dir, text)
    text = re.sub(r"(?m)^(\s*control-socket:\s*).*$", r"\g<1>" + lab.file("ctl-a.sock"), text)
    text = re.sub(r"(?m)^(resolver:\s*)$",
                  "resolver:\n"
                  "  forward-zones:\n"
                  "    - name: \".\"\n"
                  f"      addresses: [\"127.0.0.1@{b_port}\"]\n"
                  "  stub-zones:\n"
                  "    - name: example.com.\n"
                  f"      addresses: [\"{stub_addr}\"]", text, count=1)
    path = lab.file("ostrov-forward.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def listen_port(path):
    with open(path) as f:
        m = re.search(r"127\.0\.0\.1@(\d+)", f.read())
    return int(m.group(1))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    L.need_tools("dig", "nsd", binary)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=20)
    a = b = None
    try:
        b = L.ostrovd(binary, lab.file("ostrov.yaml"), lab.port, lab.file("ostrovd-b.log"))
        b.start()
        stub = [addr for addr, s in lab.servers.items() if "example.com." in s["zones"]]
        check(len(stub) >= 1, "a lab server for example.com.")
        a_port = L.free_port()
        conf = forward_config(lab, lab.port, stub[0])
        with open(conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^(\s*listen:\s*).*$", rf'\g<1>["127.0.0.1@{a_port}"]', text)
        with open(conf, "w") as f:
            f.write(text)
        check(listen_port(conf) == a_port, "A listens on its own port")
        a = L.ostrovd(binary, conf, a_port, lab.file("ostrovd-a.log"))
        a.start()

        entries = [e for e in lab.names if e["security"] != "bogus"]
        replies = L.dig_batch(a_port, [(e["qname"], e["qtype"]) for e in entries])
        bad = 0
        for e, r in zip(entries, replies):
            want_ad = e["security"] == "secure" and e["rcode"] != "SERVFAIL"
            ok = (r["rcode"] == e["rcode"] and
                  L.norm_set(r["answers"]) == L.norm_set(e["answers"]) and
                  ("ad" in r["flags"]) == want_ad)
            if not ok:
                bad += 1
                if bad <= 10:
                    check(False, f"A: {e['qname']} {e['qtype']}: expected {e['rcode']} "
                          f"ad={want_ad} got {r['rcode']} {r['flags']} {r['answers']}")
        check(bad == 0, f"A through the forwarder: {len(entries) - bad}/{len(entries)} names "
              "as expected")

        bogus = [e for e in lab.names if e["security"] == "bogus"]
        replies = L.dig_batch(a_port, [(e["qname"], e["qtype"]) for e in bogus])
        bad_b = [f"{e['qname']} {e['qtype']}: {r['rcode']} EDE {r['ede']}"
                 for e, r in zip(bogus, replies)
                 if r["rcode"] != "SERVFAIL" or (e["ede"] and r["ede"] not in e["ede"])]
        check(len(bogus) >= 10 and not bad_b,
              f"A validates what B hands over (CD=1): bogus names SERVFAIL with their EDE "
              f"({len(bogus) - len(bad_b)}/{len(bogus)}; {bad_b[:4]})")
        sa = a.stats()["0"]
        sb = b.stats()["0"]
        L.log(f"A: queries_sent={sa['queries_sent']} B: queries_sent={sb['queries_sent']}")
        check(int(sa["queries_sent"]) > 0 and int(sb["queries_sent"]) > 0,
              "both resolvers sent queries upstream")

        # 3. Without B: no way around the forwarder; the stub zone still works.
        check(b.stop() == 0, "B exits 0 on SIGTERM")
        b = None
        # (names in unsigned zones: no cached NSEC can deny them, RFC 8198)
        unseen = [("never-asked-1.insecure.com.", "A"),
                  ("never-asked-2.unsigned.example.net.", "A")]
        for (qn, qt), r in zip(unseen, L.dig_batch(a_port, unseen, timeout=8)):
            check(r["rcode"] == "SERVFAIL", f"without B, {qn} {qt}: SERVFAIL "
                  f"(got {r['rcode']})")
        fresh = [("nosuchname-fwd.example.com.", "A")]
        r = L.dig_batch(a_port, fresh, timeout=8)[0]
        check(r["rcode"] == "NXDOMAIN", f"without B, a new name under the stub zone "
              f"example.com. resolves from the stub server (got {r['rcode']})")
        check(a.stop() == 0, "A exits 0 on SIGTERM")
        a = None
    finally:
        for d in (a, b):
            if d:
                d.stop()
        lab.close(failed=bool(check.failed))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
