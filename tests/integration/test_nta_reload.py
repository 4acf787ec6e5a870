#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Negative trust anchors (RFC 7646), `ostrovctl reload` and SIGHUP against
the loopback lab.

usage: test_nta_reload.py OSTROVD OSTROVCTL

The lab's ostrov.yaml, with two workers (so every worker has to see each
change) and `resolver.negative-trust-anchors: [expired.ru.]`:

1. a configured NTA works from the start: a name in expired.ru (all RRSIGs
   expired) answers NOERROR without AD; `nta list` shows it as config, never
   expiring; `nta remove` of it is refused;
2. a name in bad-ds.ru answers SERVFAIL with its EDE (and the failure is
   cached); `nta add bad-ds.ru.` makes it NOERROR without AD at once, with
   the authorities' data; `nta list` shows it as runtime with its seconds
   left; `nta remove` makes it SERVFAIL + EDE again; a duration above
   resolver.nta-max-lifetime is refused; a short NTA expires by itself; each
   add, remove and expiry is one JSON log record;
2b. reload of the trust anchors: a DS that matches no root key makes a
   name not asked before SERVFAIL with EDE 9 naming the anchor at once (the
   workers' key caches go with the old anchors); back to the lab's anchor,
   the next name is secure again;
3. reload with access.allow changed to 127.0.0.2/32 only: 127.0.0.1 is
   REFUSED, 127.0.0.2 answered, on every worker; the reply names the key;
   a changed server.workers is reported as "needs a restart" and not
   applied;
4. reload of a broken file fails with FILE:LINE and the reason, and the
   daemon keeps answering with the configuration it had;
5. SIGHUP does the same as reload: the file back to 127.0.0.0/8 and without
   the configured NTA takes effect (expired.ru SERVFAIL again), a broken
   file is logged and changes nothing;
5b. resolver, cache and failover keys apply live:
   - cache.max-ttl 60 (with cache.size changed, which needs a restart and is
     reported) and upstream-port 5353 (restart: the name below still
     resolves on port 53): a name resolved after the reload has every TTL
     <= 60, from the engine and again from the cache; one cached before
     keeps its TTL;
   - upstream-allow narrowed to exclude example.com's servers (replaced by
     our own listeners, which first see a query to prove they would): a new
     example.com name is SERVFAIL and no packet reaches them; widened again,
     it resolves;
   - validation off then on again: a bogus name whose failure is cached
     answers NOERROR without AD once it is off, SERVFAIL again once it is
     back (each switch empties the cache of what the other mode stored);
   - resolver.max-queries 1 makes a name of an uncached zone SERVFAIL, back
     to the default the next one resolves;
   - a stub zone for example.net at a server that refuses it, added live:
     a cached example.net answer is flushed and the name SERVFAILs; removed,
     it resolves again;
   - with one root server blackholed R_root is 2/3: NORMAL with the default
     degrade-below 0.5, DEGRADED once a reload sets 0.8; a further change
     keeps the state, its age and its transition count;
6. a trust-anchor file whose key is not in the root zone: every validated
   answer is SERVFAIL with EDE 9 and a text that names the anchor (issue 5
   item 1), in a second ostrovd with a cache of its own.
No sleeps: every wait polls with a deadline. Exit 0 on success, 1 on failure,
77 when the lab cannot run here.
"""

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

EDE_RE = re.compile(r"; EDE: (\d+)(?: \([^)]*\))?(?:: \((.*)\))?")


def dig(port, name, qtype="A", src=None, timeout=3):
    """One query with DO=1; {'rcode', 'flags', 'ede', 'ede_text', 'answers'}."""
    argv = ["dig", "@127.0.0.1", "-p", str(port), name, qtype, "+dnssec", "+noall",
            "+comments", "+answer", f"+time={timeout}", "+tries=1", "+retry=0"]
    if src:
        argv += ["-b", src]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10)
    out = {"rcode": "TIMEOUT", "flags": set(), "ede": None, "ede_text": "", "answers": []}
    for line in r.stdout.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            m = re.search(r"status: (\w+)", line)
            out["rcode"] = m.group(1) if m else "?"
        elif line.startswith(";; flags:"):
            out["flags"] = set(line.split(";")[2].split(":", 1)[1].split())
        elif line.startswith("; EDE:"):
            m = EDE_RE.match(line)
            if m:
                out["ede"] = int(m.group(1))
                out["ede_text"] = m.group(2) or ""
        elif line and not line.startswith(";"):
            out["answers"].append(line)
    return out


def show(r):
    return f"{r['rcode']} flags={sorted(r['flags'])} ede={r['ede']} {r['ede_text']!r}"


def ctl(ostrovctl, sock, *args):
    r = subprocess.run([ostrovctl, "-s", sock, *args], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def ctl_json(ostrovctl, sock, *args):
    rc, out, _ = ctl(ostrovctl, sock, *args, "--json")
    if rc != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def first(names, kind):
    """The first A question of @kind in names.json."""
    return next(e for e in names if e["kind"] == kind and e["qtype"] == "A")


def write_yaml(path, base, allow='["127.0.0.0/8", "::1/128"]', ntas=("expired.ru.",),
               workers=2, extra_resolver="", broken_line=None, ta=None, subs=None,
               append=""):
    """The lab config with our changes; @broken_line is inserted as is;
    @subs: key -> new value of its first line; @append: text at the end."""
    text = base
    for k, v in (subs or {}).items():
        text, n = re.subn(rf"(?m)^(\s*{re.escape(k)}:\s*).*$", lambda m: m.group(1) + v,
                          text, count=1)
        assert n == 1, f"no key {k} in the lab config"
    text = text.rstrip("\n") + "\n" + append
    if ta:
        text = re.sub(r"(?m)^(\s*trust-anchor-file:\s*).*$", rf"\g<1>{ta}", text)
    text = re.sub(r"(?m)^(\s*workers:\s*).*$", rf"\g<1>{workers}", text)
    text = re.sub(r"(?m)^(\s*allow:\s*).*$", lambda m: m.group(1) + allow, text, count=1)
    lst = ", ".join(f'"{n}"' for n in ntas)
    add = f"  negative-trust-anchors: [{lst}]\n  nta-max-lifetime: 604800\n"
    text = text.replace("resolver:\n", "resolver:\n" + add + extra_resolver, 1)
    if broken_line:
        text = text.replace("cache:\n", broken_line + "\ncache:\n", 1)
    # Written in place and renamed: the daemon never reads half a file.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return text


def line_of(path, needle):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    return None


def ttls(r):
    """TTLs of the answer records of a dig() result."""
    return [int(a.split()[1]) for a in r["answers"]]


def status_json(ostrovctl, sock):
    """`ostrovctl status --json`, or None."""
    rc, out, _ = ctl(ostrovctl, sock, "status", "--json")
    if rc != 0:
        return None
    body = out.split("\n", 1)[1] if out.startswith("OK") else out
    try:
        return json.loads(body)
    except ValueError:
        return None


class Listeners:
    """UDP and TCP sockets on port 53 of lab addresses whose NSD was stopped:
    they count what arrives and never answer."""

    def __init__(self, addrs):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.got = []
        for a in addrs:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((a, 53))
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((a, 53))
            t.listen(16)
            for x in (u, t):
                x.setblocking(False)
                self.sel.register(x, selectors.EVENT_READ)
                self.socks.append(x)

    def drain(self, timeout=0):
        """Read what is waiting (up to @timeout s for the first); return it."""
        got = []
        for key, _ in self.sel.select(timeout):
            s = key.fileobj
            try:
                while True:
                    if s.type == socket.SOCK_DGRAM:
                        got.append(("udp",) + s.recvfrom(4096)[1])
                    else:
                        c, peer = s.accept()
                        got.append(("tcp",) + peer)
                        c.close()
            except BlockingIOError:
                pass
        self.got += got
        return got

    def close(self):
        for x in self.socks:
            self.sel.unregister(x)
            x.close()
        self.socks = []


def start_daemon(binary, conf, logpath):
    """Start ostrovd on a fresh port (rewritten into @conf); another process on
    this busy machine may take a port between free_port() and our bind, so a
    failed bind is retried on another port. Returns (daemon, port)."""
    for _ in range(3):
        port = L.free_port()
        with open(conf) as f:
            text = f.read()
        text = re.sub(r'(?m)^(\s*listen:\s*).*$', rf'\g<1>["127.0.0.1@{port}"]', text)
        with open(conf, "w") as f:
            f.write(text)
        d = L.ostrovd(binary, conf, port, logpath)
        try:
            d.start()
        except RuntimeError:
            if "cannot bind" in d.tail(5):
                continue
            raise
        # Something else may have answered the readiness probe: ours must run.
        if d.proc.poll() is None:
            return d, port
        if "cannot bind" not in d.tail(5):
            raise RuntimeError(f"ostrovd exited: {d.tail()}")
    raise RuntimeError("no port could be bound")


def live_keys(check, lab, d, port, ostrovctl, sock, conf, base, used, bogus):
    """5b: resolver, cache and failover keys applied by a reload."""
    def pick(zone, n):
        out = []
        for e in lab.names:
            if (e["zone"] == zone and e["qtype"] == "A" and e["kind"] == "positive" and
                    e["rcode"] == "NOERROR" and e["security"] == "secure" and e["answers"] and
                    e["qname"] not in used and
                    all(int(a.split()[1]) > 60 for a in e["answers"])):
                used.add(e["qname"])
                out.append(e)
                if len(out) == n:
                    return out
        raise RuntimeError(f"names.json has fewer than {n} fresh names in {zone}")

    def reload(what, **kw):
        write_yaml(conf, base, ntas=(), **kw)
        j = ctl_json(ostrovctl, sock, "reload")
        check(j is not None and j.get("ok"), f"reload ({what}) ({j})")
        return j or {"changed": [], "needs_restart": []}

    # max-ttl: what is stored from now on; cache.size needs a restart.
    x = pick("example.ru.", 2)
    r = dig(port, x[0]["qname"])
    check(r["rcode"] == "NOERROR" and ttls(r) and min(ttls(r)) > 60,
          f"before the reload {x[0]['qname']} has the zone's TTLs ({ttls(r)})")
    j = reload("max-ttl", subs={"max-ttl": "60", "size": "128M", "upstream-port": "5353"})
    check("cache.max-ttl" in j["changed"] and "cache.max-ttl" not in j["needs_restart"] and
          sorted(j["needs_restart"]) == ["cache.size", "resolver.upstream-port"],
          f"reload: cache.max-ttl changed live, cache.size and resolver.upstream-port "
          f"need a restart ({j})")
    # (x[1] is resolved through example.ru's servers: on port 53, the running value,
    # since nothing in the lab answers on 5353.)
    for phase in ("resolved", "from the cache"):
        r = dig(port, x[1]["qname"])
        check(r["rcode"] == "NOERROR" and "ad" in r["flags"] and ttls(r) and
              max(ttls(r)) <= 60,
              f"max-ttl 60: {x[1]['qname']} {phase}, every TTL <= 60 ({show(r)} {ttls(r)})")
    r = dig(port, x[0]["qname"])
    check(r["rcode"] == "NOERROR" and ttls(r) and min(ttls(r)) > 60,
          f"{x[0]['qname']} stored before the reload keeps its TTL ({ttls(r)})")
    j = ctl_json(ostrovctl, sock, "reload")
    check(j is not None and "cache.size" in j.get("needs_restart", []) and
          "cache.max-ttl" not in j.get("changed", []),
          f"reload again: max-ttl runs, cache.size still needs a restart ({j})")

    # upstream-allow narrowed: nothing reaches example.com's servers.
    excluded = sorted(a for a, s in lab.servers.items() if "example.com." in s["zones"])
    allowed = sorted(a for a in lab.servers if a not in excluded)
    check(len(excluded) >= 1, f"example.com's servers {excluded}")
    narrow = "[" + ", ".join(f'"{a}/32"' for a in allowed) + "]"
    y = pick("example.com.", 3)
    for a in excluded:
        lab.cut(a, "refuse")
    lis = Listeners(excluded)
    try:
        # Control: with the lab's allow-list our listeners do see ostrovd's query.
        dig(port, y[0]["qname"], timeout=1)
        L.wait_for(lambda: lis.drain(0.2) or lis.got, 10, "a query reaches the listener")
        check(bool(lis.got), f"before narrowing, ostrovd asks example.com's servers "
              f"({lis.got[:2]})")
        j = reload("upstream-allow", subs={"max-ttl": "60", "upstream-allow": narrow})
        check("resolver.upstream-allow" in j["changed"],
              f"reload: resolver.upstream-allow changed live ({j})")
        lis.drain(0)
        lis.got = []
        r = dig(port, y[1]["qname"], timeout=5)
        after = lis.drain(0.3)
        check(r["rcode"] == "SERVFAIL",
              f"narrowed: {y[1]['qname']} SERVFAIL at once ({show(r)})")
        check(after == [], f"narrowed: no packet reached example.com's servers ({after})")
    finally:
        lis.close()
        for a in excluded:
            lab.restore(a)
    j = reload("upstream-allow back", subs={"max-ttl": "60"})
    check("resolver.upstream-allow" in j["changed"],
          f"reload: upstream-allow widened again ({j})")
    r = dig(port, y[2]["qname"])
    check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
          f"widened: {y[2]['qname']} resolves again ({show(r)})")

    # validation off, then on again: nothing stored meanwhile is served unchecked.
    r = dig(port, bogus["qname"])
    check(r["rcode"] == "SERVFAIL", f"{bogus['qname']} SERVFAIL, its failure cached "
          f"({show(r)})")
    j = reload("validation off", subs={"max-ttl": "60", "validation": "no"})
    check("resolver.validation" in j["changed"], f"reload: validation off live ({j})")
    r = dig(port, bogus["qname"])
    check(r["rcode"] == "NOERROR" and "ad" not in r["flags"],
          f"validation off: {bogus['qname']} NOERROR without AD ({show(r)})")
    j = reload("validation on", subs={"max-ttl": "60"})
    check("resolver.validation" in j["changed"], f"reload: validation on again live ({j})")
    r = dig(port, bogus["qname"])
    check(r["rcode"] == "SERVFAIL" and r["ede"] in bogus["ede"],
          f"validation on again: {bogus['qname']} SERVFAIL + EDE, not the unvalidated "
          f"copy ({show(r)})")

    # A per-request limit: one upstream query per client request cannot
    # resolve a name whose zones are not cached (the flush above emptied it).
    z = pick("example.su.", 2)
    j = reload("max-queries 1", subs={"max-ttl": "60"},
               extra_resolver="  max-queries: 1\n")
    check("resolver.max-queries" in j["changed"], f"reload: resolver.max-queries live ({j})")
    r = dig(port, z[0]["qname"])
    check(r["rcode"] == "SERVFAIL", f"max-queries 1: {z[0]['qname']} SERVFAIL ({show(r)})")
    j = reload("max-queries back", subs={"max-ttl": "60"})
    check("resolver.max-queries" in j["changed"], f"reload: resolver.max-queries back ({j})")
    r = dig(port, z[1]["qname"])
    check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
          f"max-queries back to 32: {z[1]['qname']} resolves ({show(r)})")

    # A stub zone added live: example.net "served" by example.com's server,
    # which refuses it. The answer cached before is flushed (it was learnt
    # from example.net's own servers), so the stub's servers are asked.
    n = pick("example.net.", 1)[0]
    other = sorted(a for a, s in lab.servers.items() if "example.com." in s["zones"])[0]
    r = dig(port, n["qname"])
    check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
          f"{n['qname']} resolves and is cached ({show(r)})")
    stub = (f"  stub-zones:\n    - name: example.net.\n"
            f"      addresses: [\"{other}\"]\n")
    j = reload("stub zone", subs={"max-ttl": "60"}, extra_resolver=stub)
    check("resolver.forward-zones/stub-zones" in j["changed"],
          f"reload: stub zone added live ({j})")
    r = dig(port, n["qname"])
    check(r["rcode"] == "SERVFAIL",
          f"stub zone at a server that refuses it: {n['qname']} SERVFAIL, the cached "
          f"answer was flushed ({show(r)})")
    check(re.search(r"forward/stub zone example\.net\. changed, cache flushed", d.tail(200))
          is not None, "log line: the cache under the stub zone was flushed")
    j = reload("stub zone removed", subs={"max-ttl": "60"})
    check("resolver.forward-zones/stub-zones" in j["changed"],
          f"reload: stub zone removed live ({j})")
    r = dig(port, n["qname"])
    check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
          f"stub zone removed: {n['qname']} resolves again ({show(r)})")

    # Failover thresholds: one root of three blackholed gives R_root = 2/3.
    roots = sorted(a for a, s in lab.servers.items() if s["group"] == "root")
    lab.cut(roots[-1], "blackhole")
    try:
        def root_window():
            st = status_json(ostrovctl, sock)
            w = ((st or {}).get("failover") or {}).get("evidence", {}).get("windows") or []
            if w and w[0].get("r_root") is not None and w[0]["r_root"] < 0.8 and \
                    w[0]["n_root"] >= 4:
                return st
            return None
        st = L.wait_for(root_window, 30, "R_root falls to 2/3", step=0.5)
        fo = st["failover"]
        check(fo["state"] == "NORMAL" and fo["settings"]["degrade_below"] == 0.5,
              f"R_root {fo['evidence']['windows'][0]['r_root']}: NORMAL with degrade-below "
              f"0.5 ({fo['state']})")
        res = ("resilience:\n  failover:\n    degrade-below: 0.8\n    healthy-min: 0.9\n"
               "    eval-ms: 1000\n")
        j = reload("failover thresholds", subs={"max-ttl": "60"}, append=res)
        check("resilience.failover" in j["changed"] and
              "resilience.failover" not in j["needs_restart"],
              f"reload: resilience.failover changed live ({j})")
        try:
            st = L.wait_for(lambda: (status_json(ostrovctl, sock) or {}).get(
                "failover", {}).get("state") == "DEGRADED" and status_json(ostrovctl, sock),
                20, "DEGRADED with degrade-below 0.8", step=0.25)
            fo = st["failover"]
            check(fo["settings"]["degrade_below"] == 0.8 and "0.80" in fo["last_reason"] and
                  fo["settings"]["eval_ms"] == 1000,
                  f"DEGRADED by the new threshold ({fo['last_reason']!r})")
        except TimeoutError as ex:
            check(False, f"{ex}: {ctl(ostrovctl, sock, 'status')[1]}")
            fo = {}
        before = status_json(ostrovctl, sock)["failover"]
        res2 = res + "    healthy-evals: 100\n"
        j = reload("failover again", subs={"max-ttl": "60"}, append=res2)
        after = status_json(ostrovctl, sock)["failover"]
        edges = {(t["from"], t["to"]): t["count"] for t in after["transitions"]}
        check("resilience.failover" in j["changed"] and after["state"] == "DEGRADED" and
              after["in_state_s"] >= before["in_state_s"] and
              edges.get(("NORMAL", "DEGRADED")) == 1 and
              after["settings"]["healthy_evals"] == 100,
              f"a further change keeps the state, its age and its count ({after['state']} "
              f"{before['in_state_s']}->{after['in_state_s']} s, {edges})")
    finally:
        lab.restore(roots[-1])
    reload("back to the lab's settings")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, ostrovctl = (os.path.abspath(a) for a in sys.argv[1:])
    L.need_tools("dig", "nsd", binary, ostrovctl)
    if os.geteuid() != 0:
        L.log("SKIP: the lab needs root for port 53")
        return L.SKIP
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=0)
    d = d2 = None
    failed = True
    try:
        with open(lab.file("ostrov.yaml")) as f:
            base = f.read()
        sock = lab.file("ostrov.sock")
        conf = lab.file("ostrov-nta.yaml")
        write_yaml(conf, base)
        bogus = first(lab.names, "broken-ds")        # bad-ds.ru: DS does not match
        expired = first(lab.names, "broken-expired")  # expired.ru: configured NTA
        secure = next(e for e in lab.names if e["kind"] == "positive" and
                      e["qtype"] == "A" and e["security"] == "secure" and
                      e["zone"] == "example.ru.")
        d, port = start_daemon(binary, conf, lab.file("ostrovd.log"))
        # The reloads below rewrite the file from the lab's text: keep our port.
        base = re.sub(r'(?m)^(\s*listen:\s*).*$', rf'\g<1>["127.0.0.1@{port}"]', base)

        # 1. the configured NTA, from the start.
        r = dig(port, expired["qname"])
        check(r["rcode"] == "NOERROR" and "ad" not in r["flags"] and
              L.norm_set(r["answers"]) == L.norm_set(expired["cd_answers"]),
              f"config NTA: {expired['qname']} NOERROR without AD, with its data ({show(r)})")
        r = dig(port, secure["qname"])
        check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
              f"outside the NTA {secure['qname']} is still secure ({show(r)})")
        j = ctl_json(ostrovctl, sock, "nta", "list")
        ntas = {n["name"]: n for n in (j or {}).get("ntas", [])}
        check("expired.ru." in ntas and ntas["expired.ru."]["source"] == "config" and
              ntas["expired.ru."]["seconds_left"] is None,
              f"nta list --json: expired.ru. config, never expires ({j})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "remove", "expired.ru.")
        check(rc == 1 and "configured" in err, f"nta remove of a configured NTA refused "
              f"(rc={rc} {err.strip()!r})")

        # 2. run-time NTA over a cached failure.
        r = dig(port, bogus["qname"])
        check(r["rcode"] == "SERVFAIL" and r["ede"] in bogus["ede"],
              f"{bogus['qname']} SERVFAIL with EDE in {bogus['ede']} ({show(r)})")
        r = dig(port, bogus["qname"])
        check(r["rcode"] == "SERVFAIL", f"{bogus['qname']} still SERVFAIL (cached) ({show(r)})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "add", "bad-ds.ru.", "10m")
        check(rc == 0 and "bad-ds.ru." in out, f"nta add bad-ds.ru. 10m ({out.strip()!r} "
              f"{err.strip()!r})")
        r = dig(port, bogus["qname"])
        check(r["rcode"] == "NOERROR" and "ad" not in r["flags"] and r["ede"] is None and
              L.norm_set(r["answers"]) == L.norm_set(bogus["cd_answers"]),
              f"after nta add: {bogus['qname']} NOERROR without AD, its data ({show(r)})")
        j = ctl_json(ostrovctl, sock, "nta", "list")
        ntas = {n["name"]: n for n in (j or {}).get("ntas", [])}
        n = ntas.get("bad-ds.ru.")
        check(n is not None and n["source"] == "runtime" and 590 <= n["seconds_left"] <= 600,
              f"nta list: bad-ds.ru. runtime with about 600 s left ({n})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "list")
        check(rc == 0 and re.search(r"bad-ds\.ru\.\s+runtime\s+\d+", out) and
              re.search(r"expired\.ru\.\s+config\s+never", out),
              f"nta list text ({out.strip()!r})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "remove", "bad-ds.ru.")
        check(rc == 0, f"nta remove bad-ds.ru. ({out.strip()!r} {err.strip()!r})")
        r = dig(port, bogus["qname"])
        check(r["rcode"] == "SERVFAIL" and r["ede"] in bogus["ede"],
              f"after nta remove: {bogus['qname']} SERVFAIL + EDE again ({show(r)})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "remove", "bad-ds.ru.")
        check(rc == 1 and "no negative trust anchor" in err,
              f"second nta remove refused ({err.strip()!r})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "add", "bad-ds.ru.", "8d")
        check(rc == 1 and "nta-max-lifetime" in err,
              f"nta add above the maximum refused ({err.strip()!r})")
        rc, out, err = ctl(ostrovctl, sock, "nta", "add", "bad-ds.ru.", "2s")
        check(rc == 0, f"nta add bad-ds.ru. 2s ({err.strip()!r})")
        r = dig(port, bogus["qname"])
        check(r["rcode"] == "NOERROR", f"short NTA: NOERROR at first ({show(r)})")
        try:
            L.wait_for(lambda: dig(port, bogus["qname"])["rcode"] == "SERVFAIL", 15,
                       "the 2 s NTA expires", step=0.5)
            check(True, "short NTA expired by itself")
        except TimeoutError as ex:
            check(False, str(ex))
        log = d.tail(100000)
        for ev in ("nta_add", "nta_remove", "nta_expire"):
            check(re.search(r'\{"ts":"[^"]+","mod":"validator","event":"%s","zone":'
                            r'"bad-ds\.ru\."' % ev, log) is not None,
                  f"one JSON log record for {ev}")

        # 2b. reload of the trust anchors: a DS that matches no root key, then back.
        ta = lab.file("ta-wrong.ds")
        with open(lab.file("ta.ds")) as f:
            good = [ln for ln in f if ln.strip() and not ln.startswith(";")][0].split()
        digest = good[-1]
        flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
        with open(ta, "w") as f:
            f.write(" ".join(good[:-1] + [flipped]) + "\n")
        fresh = [e for e in lab.names if e["security"] == "secure" and e["rcode"] == "NOERROR"
                 and e["qtype"] == "A" and e["zone"] in ("example.ru.", "example.com.")
                 and e["qname"] != secure["qname"]][:2]
        write_yaml(conf, base, ta=ta)
        rc, out, err = ctl(ostrovctl, sock, "reload")
        check(rc == 0 and "resolver.trust-anchor-file" in out,
              f"reload with another trust anchor applied ({out.strip()!r} {err.strip()!r})")
        r = dig(port, fresh[0]["qname"])
        check(r["rcode"] == "SERVFAIL" and r["ede"] == 9 and str(good[4]) in r["ede_text"],
              f"new anchor matches no root key: {fresh[0]['qname']} SERVFAIL EDE 9 naming "
              f"anchor {good[4]} ({show(r)})")
        write_yaml(conf, base)
        rc, out, err = ctl(ostrovctl, sock, "reload")
        check(rc == 0 and "resolver.trust-anchor-file" in out,
              f"reload back to the lab anchor ({out.strip()!r} {err.strip()!r})")
        r = dig(port, fresh[1]["qname"])
        check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
              f"good anchor again: {fresh[1]['qname']} NOERROR + AD ({show(r)})")

        # 3. reload: the ACL, on every worker; a key that needs a restart.
        write_yaml(conf, base, allow='["127.0.0.2/32"]', workers=3)
        rc, out, err = ctl(ostrovctl, sock, "reload")
        check(rc == 0 and "access.allow" in out and
              "needs a restart: server.workers" in out,
              f"reload: access.allow changed, server.workers needs a restart "
              f"({out.strip()!r} {err.strip()!r})")
        check("needs a restart: server.workers" in d.tail(50), "log line: needs a restart")
        # SO_REUSEPORT spreads source ports over both workers: ask many times.
        rs = [dig(port, secure["qname"], timeout=2) for _ in range(12)]
        check(all(r["rcode"] == "REFUSED" for r in rs),
              f"127.0.0.1 refused after the reload ({[r['rcode'] for r in rs]})")
        rs = [dig(port, secure["qname"], src="127.0.0.2", timeout=2) for _ in range(12)]
        check(all(r["rcode"] == "NOERROR" and "ad" in r["flags"] for r in rs),
              f"127.0.0.2 answered after the reload ({[r['rcode'] for r in rs]})")
        j = ctl_json(ostrovctl, sock, "reload")
        check(j is not None and j.get("changed") == [] and
              "server.workers" in j.get("needs_restart", []),
              f"reload --json again: nothing changed, workers still needs a restart ({j})")

        # 4. reload of a broken file: FILE:LINE, old configuration kept.
        write_yaml(conf, base, allow='["127.0.0.0/8"]', broken_line="  edns-buffer-size: 100")
        bad_line = line_of(conf, "edns-buffer-size: 100")
        rc, out, err = ctl(ostrovctl, sock, "reload")
        check(rc == 1 and f"{conf}:{bad_line}:" in err and "edns-buffer-size" in err,
              f"broken reload: FILE:LINE and the key ({err.strip()!r})")
        r = dig(port, secure["qname"], timeout=2)
        check(r["rcode"] == "REFUSED", f"after the failed reload 127.0.0.1 still refused "
              f"({show(r)})")
        r = dig(port, secure["qname"], src="127.0.0.2", timeout=2)
        check(r["rcode"] == "NOERROR", f"after the failed reload 127.0.0.2 still answered "
              f"({show(r)})")
        r = dig(port, expired["qname"], src="127.0.0.2")
        check(r["rcode"] == "NOERROR" and "ad" not in r["flags"],
              f"after the failed reload the configured NTA still applies ({show(r)})")

        # 5. SIGHUP: a good file applies, a broken one changes nothing.
        write_yaml(conf, base, ntas=())
        d.send_signal(signal.SIGHUP)
        try:
            L.wait_for(lambda: dig(port, secure["qname"], timeout=1)["rcode"] == "NOERROR",
                       10, "SIGHUP: 127.0.0.1 answered again", step=0.1)
            check(True, "SIGHUP applied the ACL")
        except TimeoutError as ex:
            check(False, str(ex))
        r = dig(port, expired["qname"])
        check(r["rcode"] == "SERVFAIL" and r["ede"] in expired["ede"],
              f"SIGHUP removed the configured NTA: {expired['qname']} SERVFAIL with EDE in "
              f"{expired['ede']} ({show(r)})")
        check(re.search(r'"event":"nta_remove","zone":"expired\.ru\.","source":"config"',
                        d.tail(200)) is not None, "JSON log record of the config NTA removal")
        write_yaml(conf, base, allow='["127.0.0.2/32"]', broken_line="  bogus-key: 1")
        before = d.tail(100000).count("reload failed")
        d.send_signal(signal.SIGHUP)
        try:
            L.wait_for(lambda: d.tail(100000).count("reload failed") > before, 10,
                       "SIGHUP with a broken file is logged")
            check("unknown key" in d.tail(5), f"the log says why ({d.tail(3).strip()!r})")
        except TimeoutError as ex:
            check(False, str(ex))
        r = dig(port, secure["qname"])
        check(r["rcode"] == "NOERROR" and "ad" in r["flags"],
              f"after the broken SIGHUP 127.0.0.1 is still answered ({show(r)})")
        live_keys(check, lab, d, port, ostrovctl, sock, conf, base,
                  used={e["qname"] for e in (secure, expired, bogus, *fresh)}, bogus=bogus)
        rc = d.stop()
        check(rc == 0, f"ostrovd stopped cleanly after the reloads (exit {rc})")
        d = None

        # 6. a trust anchor whose key is not in the zone, from the start.
        conf2 = lab.file("ostrov-ta.yaml")
        text = write_yaml(conf2, base, ntas=())
        text = re.sub(r"(?m)^(\s*trust-anchor-file:\s*).*$", rf"\g<1>{ta}", text)
        text = re.sub(r"(?m)^(\s*path:\s*).*$", r"\g<1>" + lab.file("cache-ta"), text)
        text = re.sub(r"(?m)^(\s*control-socket:\s*).*$",
                      r"\g<1>" + lab.file("ostrov-ta.sock"), text)
        with open(conf2, "w") as f:
            f.write(text)
        os.makedirs(lab.file("cache-ta"), exist_ok=True)
        d2, port = start_daemon(binary, conf2, lab.file("ostrovd-ta.log"))
        r = dig(port, secure["qname"])
        check(r["rcode"] == "SERVFAIL" and r["ede"] == 9 and "anchor" in r["ede_text"] and
              str(good[4]) in r["ede_text"],
              f"anchor key missing from the root: SERVFAIL, EDE 9 naming anchor {good[4]} "
              f"({show(r)})")
        failed = bool(check.failed)
    finally:
        for x in (d, d2):
            if x:
                x.stop()
        lab.close(failed=failed)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
