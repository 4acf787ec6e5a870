#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Integration test of the loopback lab itself (tests/lab).

Brings the lab up in a fresh temporary directory and checks what every later
test relies on: each server answers its zones authoritatively and nothing
else (no leaking zones between addresses); DNSSEC records are served; AXFR of
the root and of the national TLDs works and carries ZONEMD, foreign TLDs
refuse it; good zones verify with ldns-verify-zone and the deliberately broken
ones fail the way they should; names.json agrees with what the authorities
serve and, when Unbound and Knot Resolver are installed, with what both
validating resolvers answer; `cut refuse` closes the port, `cut blackhole` turns answers into
timeouts, `restore` brings them back; `down` leaves no process behind and can
be repeated. Exit 0 on success, 1 on any failure, 77 if the tools or port 53
are not available (ctest SKIP_RETURN_CODE).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LABDIR = os.path.join(os.path.dirname(HERE), "lab")
LAB = os.path.join(LABDIR, "lab")
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, LABDIR)

import dnsq  # noqa: E402
import lab_proc  # noqa: E402
import zonemd  # noqa: E402

TOOLS = ["nsd", "dig", "ldns-signzone", "ldns-keygen", "ldns-key2ds",
         "ldns-verify-zone"]
REQUIRED_KINDS = {"positive", "nxdomain", "nodata", "cname-chain", "wildcard",
                  "insecure", "out-of-bailiwick", "broken-expired",
                  "broken-ds", "broken-rrsig", "broken-zonemd", "bench"}
NAME_KEYS = {"qname", "qtype", "rcode", "answers", "security", "ede", "kind",
             "tags", "zone", "cd_rcode", "cd_answers", "depends"}


class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0
        self.t_section = None

    def ok(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed.append(f"{what}: {detail}" if detail else what)
            print(f"FAIL {what} {detail}", flush=True)
        return cond

    def section(self, title):
        now = time.monotonic()
        if self.t_section is not None:
            print(f"    ({now - self.t_section:.1f}s)", flush=True)
        self.t_section = now
        print(f"--- {title}", flush=True)


def lab(*args, check=True):
    res = subprocess.run([sys.executable, LAB] + list(args),
                         capture_output=True, text=True, timeout=120)
    if check and res.returncode != 0:
        raise RuntimeError(f"lab {' '.join(args)} failed: {res.stderr}")
    return res


def dig(*args, timeout=20):
    res = subprocess.run(["dig"] + list(args), capture_output=True,
                         text=True, timeout=timeout)
    return res.stdout + res.stderr


def parse_dig_blocks(text):
    """Split `dig -f` output into per-question dicts."""
    out = []
    for block in text.split("; <<>> DiG")[1:]:
        status = re.search(r"status: (\w+)", block)
        flags = re.search(r";; flags: ([a-z ]*);", block)
        answers = []
        m = re.search(r";; ANSWER SECTION:\n(.*?)\n\n", block, re.S)
        if m:
            for line in m.group(1).splitlines():
                f = line.split()
                if len(f) >= 4 and f[3] != "RRSIG":
                    answers.append(norm(line))
        out.append({"status": status.group(1) if status else None,
                    "flags": flags.group(1).split() if flags else [],
                    "ede": [int(x) for x in re.findall(r"; EDE: (\d+)",
                                                       block)],
                    "answers": answers, "raw": block})
    return out


def norm(rr):
    """Presentation RR without its TTL, whitespace collapsed."""
    f = rr.split()
    return " ".join([f[0].lower(), f[2], f[3]] + f[4:])


UNBOUND_PORT = 5354
OSTROVD = None  # --ostrovd PATH: also check ostrov.yaml with the daemon
KRESD_PORT = 5355


def free_port():
    """test_resolve_lib.free_port(): below the ephemeral range, so no client's
    random source port can be the server's."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import test_resolve_lib  # noqa: E402
    return test_resolve_lib.free_port()


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def prerequisites():
    missing = [t for t in TOOLS if shutil.which(t) is None and
               shutil.which(t, path="/usr/sbin:/sbin") is None]
    if missing:
        skip(f"missing tools: {' '.join(missing)}")
    try:
        # An address outside every lab plan: only permission matters here.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.53.255.254", 53))
    except PermissionError:
        skip("no permission to bind port 53 (run as root or with "
             "CAP_NET_BIND_SERVICE)")
    except OSError:
        pass  # in use: then binding is allowed


def check_contract(c, d, servers, zones, names):
    c.section("contract files")
    for f in ("ostrov.yaml", "root.hints", "ta.ds", "unbound.conf", "kresd.conf",
              "names.json", "servers.json", "zones.json", "bench-queries.txt"):
        c.ok(os.path.getsize(os.path.join(d, f)) > 0, f"{f} written")
    yaml = open(os.path.join(d, "ostrov.yaml")).read()
    c.ok('listen: ["127.0.0.1@5353"]' in yaml, "ostrov.yaml listens 5353")
    c.ok('upstream-allow: ["127.0.0.0/8"]' in yaml,
         "ostrov.yaml upstream-allow is loopback only")
    c.ok(os.path.join(d, "root.hints") in yaml and
         os.path.join(d, "ta.ds") in yaml and os.path.join(d, "cache") in yaml,
         "ostrov.yaml points into DIR")
    hints = open(os.path.join(d, "root.hints")).read()
    addrs = re.findall(r"\sA\s+(\S+)", hints)
    c.ok(len(addrs) == 3 and sorted(addrs) == sorted(zones["."]["servers"]),
         "root.hints names the three lab roots", str(addrs))
    ta = open(os.path.join(d, "ta.ds")).read()
    c.ok(zones["."]["ds_rdata"] in ta and re.search(r"^\.\s+\d+\s+IN\s+DS",
                                                   ta, re.M),
         "ta.ds holds the lab root DS")
    if OSTROVD:
        res = subprocess.run([OSTROVD, "-c", os.path.join(d, "ostrov.yaml"),
                              "--check-config"], capture_output=True,
                             text=True, timeout=20)
        c.ok(res.returncode == 0, "ostrov.yaml passes ostrovd --check-config",
             (res.stdout + res.stderr).strip())
    if shutil.which("unbound-checkconf"):
        res = subprocess.run(["unbound-checkconf",
                              os.path.join(d, "unbound.conf")],
                             capture_output=True, text=True, timeout=20)
        c.ok(res.returncode == 0, "unbound.conf passes unbound-checkconf",
             res.stderr.strip())
    prefix = zones["."]["servers"][0].rsplit(".", 2)[0] + "."
    for addr in servers:
        c.ok(addr.startswith(prefix) and prefix.startswith("127.") and
             servers[addr]["port"] == 53, f"{addr} is inside {prefix}0.0/16")
    kinds = {n["kind"] for n in names}
    c.ok(REQUIRED_KINDS <= kinds, "names.json covers every kind",
         str(REQUIRED_KINDS - kinds))
    c.ok(all(NAME_KEYS <= set(n) for n in names), "names.json entries "
         "have the documented keys")
    c.ok(sum(n["kind"] == "bench" and n["qtype"] == "A" and
             n["rcode"] == "NOERROR" for n in names) >= 10000,
         "bench zone holds 10,000+ names")
    c.ok(all(n["ede"] for n in names if n["security"] == "bogus"),
         "every bogus name has expected EDE codes")
    c.ok(all(n["depends"][0] == "." and n["zone"] in n["depends"] and
             set(n["depends"]) <= set(zones) for n in names),
         "names.json depends lists known zones, from the root to the answer")
    org = next(n for n in names if n["qname"] == "www.example.org." and
               n["qtype"] == "A")
    c.ok(set(org["depends"]) == {".", "org.", "ru.", "example.org.",
                                 "hoster.ru."},
         "www.example.org depends on its Russian hoster", str(org["depends"]))


def check_authority(c, servers, zones):
    c.section("authority and isolation between addresses")
    for addr, s in servers.items():
        for zone in s["zones"]:
            try:
                r = dnsq.query(addr, zone, "SOA", timeout=1)
                c.ok(r.aa and r.rcode == "NOERROR" and r.ancount == 1,
                     f"{addr} answers {zone} SOA authoritatively", repr(r))
                r = dnsq.query(addr, zone, "SOA", timeout=1, dnssec=True)
                signed = zone not in ("insecure.com.", "insecure.ru.",
                                      "unsigned.example.net.")
                c.ok(r.ancount == (2 if signed else 1),
                     f"{addr} {zone} SOA {'with' if signed else 'without'}"
                     " RRSIG under DO", repr(r))
            except dnsq.QueryError as e:
                c.ok(False, f"{addr} answers {zone}", str(e))
        if s["group"] == "root":
            # The root holds "." so it answers everything, by referral.
            r = dnsq.query(addr, "www.example.ru.", "A", timeout=1)
            c.ok(not r.aa and r.rcode == "NOERROR" and r.ancount == 0 and
                 r.nscount > 0, f"root {addr} refers www.example.ru "
                 "instead of answering it", repr(r))
            continue
        foreign = next(q for q in ("www.example.com.", "www.example.su.")
                       if not any(lab_proc_in_zone(q, z) for z in s["zones"]))
        r = dnsq.query(addr, foreign, "A", timeout=1)
        c.ok(r.rcode == "REFUSED" and not r.aa,
             f"{addr} refuses {foreign} (a zone it does not hold)", repr(r))
    root = zones["."]["servers"]
    r = dnsq.query(root[0], "www.example.ru.", "A", timeout=1)
    c.ok(r.rcode != "REFUSED" and not r.aa and r.ancount == 0,
         "root address does not answer a second-level name itself")
    out = dig("+norec", "+dnssec", "@" + zones["example.ru."]["servers"][0],
              "www.example.ru", "A")
    c.ok(re.search(r"www\.example\.ru\.\s+\d+\s+IN\s+RRSIG\s+A 13 ", out)
         is not None, "dig +dnssec shows the RRSIG of www.example.ru A")
    out = dig("+norec", "+dnssec", "@" + root[1], ".", "DNSKEY")
    c.ok("flags: qr aa" in out and out.count("DNSKEY\t257") == 1,
         f"root DNSKEY with one KSK served by {root[1]}")


def lab_proc_in_zone(name, zone):
    return zone == "." or name == zone or name.endswith("." + zone)


def check_axfr(c, zones):
    c.section("zone transfers")
    for zone, addr in ((".", zones["."]["servers"][0]),
                       ("ru", zones["ru."]["servers"][0]),
                       ("xn--p1ai", zones["xn--p1ai."]["servers"][1]),
                       ("su", zones["su."]["servers"][0]),
                       ("zonemd-bad.ru", zones["zonemd-bad.ru."]["servers"][0])):
        out = dig("AXFR", f"@{addr}", zone, "+time=5")
        soas = re.findall(r"^\S+\s+\d+\s+IN\s+SOA\s", out, re.M)
        c.ok(len(soas) == 2 and re.search(r"\sIN\s+ZONEMD\s", out) is not None,
             f"AXFR of {zone} from {addr} is complete and has ZONEMD",
             out[-300:] if len(soas) != 2 else "")
    out = dig("AXFR", "@" + zones["com."]["servers"][0], "com", "+time=5")
    c.ok("Transfer failed" in out, "AXFR of com (foreign) is refused")


def check_zone_files(c, d, zones):
    c.section("signed zone files (ldns-verify-zone, ZONEMD, DS)")
    keys = os.path.join(d, "keys")
    for name, z in sorted(zones.items()):
        if not z["signed"]:
            continue
        argv = ["ldns-verify-zone"]
        if z["bench"]:
            argv += ["-p", "5"]  # 5% of the 10k zone keeps this fast
        path = z["file"]
        if z["zonemd"]:
            # ldns 1.8 can loop forever verifying ZONEMD of NSEC3 zones
            # (NLnetLabs/ldns#287): check signatures on a copy without the
            # ZONEMD, and the digest with our own RFC 8976 oracle.
            path = os.path.join(keys, os.path.basename(z["file"]) + ".nozonemd")
            with open(z["file"]) as src, open(path, "w") as dst:
                for line in src:
                    f = line.split()
                    if len(f) > 4 and (f[3] == "ZONEMD" or
                                       (f[3] == "RRSIG" and f[4] == "ZONEMD")):
                        continue
                    dst.write(line)
            ok, msg = zonemd.verify(z["file"], name)
            want = z["zonemd"] == "good"
            c.ok(ok == want, f"ZONEMD of {name} {'matches' if want else 'mismatches'}",
                 msg)
        try:
            res = subprocess.run(argv + [path], capture_output=True,
                                 text=True, timeout=30)
            out, rc = res.stdout + res.stderr, res.returncode
        except subprocess.TimeoutExpired:
            out, rc = "timeout", -1
        broken = z["broken"]
        if broken is None:
            c.ok(rc == 0, f"ldns-verify-zone accepts {name}", out.strip()[-200:])
        elif broken == "expired":
            c.ok(rc != 0 and "expired" in out,
                 f"ldns-verify-zone rejects {name} as expired", out[-200:])
        elif broken == "missing-rrsig":
            c.ok(rc != 0 and "www.no-rrsig.ru" in out,
                 f"ldns-verify-zone rejects {name} (missing RRSIG)",
                 out[-200:])
        elif broken == "bad-nsec3":
            c.ok(rc != 0, f"ldns-verify-zone rejects {name} (no NSEC3)",
                 out[-200:])
        # DS in the parent must match the child's KSK, except bad-ds.
        parent = z["parent"]
        if parent and z["ds"] != "none":
            in_parent = zones[parent]["children_ds"].get(name)
            want = z["ds"] == "good"
            c.ok((in_parent == z["ds_rdata"]) == want,
                 f"DS of {name} in {parent} "
                 f"{'matches' if want else 'does not match'} its KSK")
        elif parent:
            c.ok(name not in zones[parent]["children_ds"],
                 f"no DS for insecure {name} in {parent}")
    for leftover in os.listdir(os.path.join(LABDIR)):
        c.ok(not leftover.startswith("dsset-") and
             not leftover.endswith(".ds"), f"no {leftover} left in tests/lab")


def check_names_vs_authorities(c, zones, names):
    c.section("names.json against the authorities")
    sample = [n for n in names if n["kind"] != "bench"] + \
        [n for n in names if n["kind"] == "bench"][::997]
    lines = []
    for n in sample:
        addr = zones[n["zone"]]["servers"][0]
        lines.append(f"@{addr} {n['qname']} {n['qtype']} +norec +time=2")
    with tempfile.NamedTemporaryFile("w", suffix=".batch") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        blocks = parse_dig_blocks(dig("-f", f.name, timeout=60))
    c.ok(len(blocks) == len(sample), "one dig answer per name",
         f"{len(blocks)} != {len(sample)}")
    bad = 0
    for n, b in zip(sample, blocks):
        expected = [norm(a) for a in n["cd_answers"]]
        has_cname = any(a.split()[3] == "CNAME" for a in n["cd_answers"])
        good = "aa" in b["flags"] and expected[:1] == b["answers"][:1] and \
            all(a in expected for a in b["answers"])
        if not has_cname:
            good = good and b["status"] == n["cd_rcode"] and \
                sorted(b["answers"]) == sorted(expected)
        if not good:
            bad += 1
            c.ok(False, f"authority for {n['qname']} {n['qtype']}",
                 f"got {b['status']} {b['flags']} {b['answers']}, "
                 f"expected {n['cd_rcode']} {expected}")
    c.ok(bad == 0, f"{len(sample)} names.json entries match the authorities")


def start_unbound(d, port):
    res = subprocess.run(["unbound", "-c", os.path.join(d, "unbound.conf")],
                         capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeError(f"unbound did not start: {res.stderr}")


def start_kresd(d, port):
    # kresd stays in the foreground; record its pid where `lab down` looks.
    log = open(os.path.join(d, "log", "kresd.log"), "ab")
    p = subprocess.Popen(["kresd", "-n", "-c", os.path.join(d, "kresd.conf"),
                          os.path.join(d, "kresd")],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    log.close()
    with open(os.path.join(d, "run", "kresd.pid"), "w") as f:
        f.write(f"{p.pid}\n")


def check_names_vs_validator(c, d, names, tool, port, start):
    c.section(f"names.json against {tool} (validating)")
    if shutil.which(tool) is None:
        print(f"{tool} not installed: skipping this cross-check")
        return
    pidfile = os.path.join(d, "run", f"{tool}.pid")
    try:
        start(d, port)
        end = time.monotonic() + 15
        ready = False
        while not ready and time.monotonic() < end:
            try:
                dnsq.query("127.0.0.1", "a.root-servers.lab.", "A",
                           port=port, rd=True, timeout=1)
                ready = True
            except dnsq.QueryError:
                time.sleep(0.05)
        if not c.ok(ready, f"{tool} answers on the lab config"):
            return
        sample = [n for n in names if n["kind"] != "bench"] + \
            [n for n in names if n["kind"] == "bench"][::1499]
        with tempfile.NamedTemporaryFile("w", suffix=".batch") as f:
            f.write("\n".join(f"{n['qname']} {n['qtype']}" for n in sample)
                    + "\n")
            f.flush()
            blocks = parse_dig_blocks(dig("@127.0.0.1", "-p", str(port),
                                          "+dnssec", "+time=5", "+tries=1",
                                          "-f", f.name, timeout=120))
        bad = 0
        for n, b in zip(sample, blocks):
            sec = "secure" if "ad" in b["flags"] else \
                ("bogus" if b["status"] == "SERVFAIL" else "insecure")
            problems = []
            if b["status"] != n["rcode"]:
                problems.append(f"rcode {b['status']}")
            if sorted(b["answers"]) != sorted(norm(a) for a in n["answers"]):
                problems.append(f"answers {b['answers']}")
            if sec != n["security"]:
                problems.append(f"security {sec}")
            if b["ede"] and n["ede"] and b["ede"][0] not in n["ede"]:
                problems.append(f"EDE {b['ede']}")
            if problems:
                bad += 1
                c.ok(False, f"{tool} {n['qname']} {n['qtype']} "
                     f"({n['kind']})", "; ".join(problems))
        c.ok(len(blocks) == len(sample) and bad == 0,
             f"{len(sample)} names.json entries match {tool}")
    finally:
        lab_proc.stop_by_pidfile(pidfile, tool)


def check_cuts(c, d, servers, zones):
    c.section("cut and restore")
    a1, a2 = zones["example.ru."]["servers"]
    lab("cut", d, a1, "refuse")
    t = time.monotonic()
    out = dig("+time=1", "+tries=1", "@" + a1, "www.example.ru")
    c.ok("connection refused" in out and time.monotonic() - t < 0.9,
         "cut refuse: UDP gets connection refused at once", out[-150:])
    out = dig("+tcp", "+time=1", "+tries=1", "@" + a1, "www.example.ru")
    c.ok("connection refused" in out, "cut refuse: TCP connection refused")
    lab("cut", d, a2, "blackhole")
    t = time.monotonic()
    out = dig("+time=1", "+tries=1", "@" + a2, "www.example.ru")
    elapsed = time.monotonic() - t
    c.ok("timed out" in out and "refused" not in out and elapsed >= 0.9,
         "cut blackhole: UDP times out", f"{elapsed:.2f}s {out[-150:]}")
    out = dig("+tcp", "+time=1", "+tries=1", "@" + a2, "www.example.ru")
    c.ok("timed out" in out and "refused" not in out,
         "cut blackhole: TCP accepted but never answered", out[-150:])
    st = lab("status", d, check=False)
    c.ok(st.returncode == 0 and
         re.search(re.escape(a1) + r"\s+refuse", st.stdout) and
         re.search(re.escape(a2) + r"\s+blackhole", st.stdout),
         "status reports the cuts", st.stdout[-300:])
    lab("restore", d, "example.ru")
    for addr in (a1, a2):
        r = dnsq.query(addr, "www.example.ru.", "A", timeout=1)
        c.ok(r.aa and r.ancount == 1, f"restore brings {addr} back")

    lab("cut", d, "all-foreign", "refuse")
    foreign = [a for a, s in servers.items()
               if s["group"] in ("foreign-tld", "foreign-sld")]
    national = [a for a, s in servers.items()
                if s["group"] in ("national-tld", "national-sld", "root")]
    dead = 0
    for addr in foreign:
        try:
            dnsq.query(addr, servers[addr]["zones"][0], "SOA", timeout=0.5)
        except dnsq.QueryError as e:
            dead += "refused" in str(e)
    c.ok(dead == len(foreign) == 10, "all-foreign refuse closes 10 servers",
         f"{dead}/{len(foreign)}")
    alive = sum(dnsq.query(a, servers[a]["zones"][0], "SOA",
                           timeout=1).aa for a in national)
    c.ok(alive == len(national), "national servers and root stay up")
    lab("cut", d, zones["com."]["servers"][0], "blackhole")
    lab("restore", d, "all-foreign")
    back = sum(dnsq.query(a, servers[a]["zones"][0], "SOA",
                          timeout=1).aa for a in foreign)
    c.ok(back == len(foreign), "restore all-foreign brings all back")
    res = lab("cut", d, "no-such-group", "refuse", check=False)
    c.ok(res.returncode != 0 and "unknown target" in res.stderr,
         "unknown cut target is an error")


def notifies(sock, timeout, until):
    """NOTIFY messages received on sock, [(source address, serial)], until
    until(list) holds or the timeout passes."""
    out = []
    end = time.monotonic() + timeout
    while not until(out):
        left = end - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(4096)
        except socket.timeout:
            return out
        if len(data) >= 12 and (data[2] >> 3) & 0xF == 4:  # opcode NOTIFY
            try:
                out.append((src[0], dnsq.soa_serial(dnsq.Reply(data))))
            except dnsq.QueryError:
                out.append((src[0], None))
    return out


def check_resign(c, d, notify_sock):
    c.section("resign (new serial, fresh signatures, reload, NOTIFY)")
    zones = json.load(open(os.path.join(d, "zones.json")))
    mirrored = {a for z in zones.values() if z["axfr"] for a in z["servers"]}
    seen = {src for src, _ in notifies(
        notify_sock, 5, lambda got: {s for s, _ in got} >= mirrored)}
    c.ok(seen == mirrored, "every server of a zone with AXFR sent NOTIFY "
         "from its own address", f"{sorted(seen ^ mirrored)}")
    old = zones["ru."]["serial"]
    res = lab("resign", d, "ru", "--validity", "7200", check=False)
    if not c.ok(res.returncode == 0, "lab resign ru", res.stderr):
        return
    zones = json.load(open(os.path.join(d, "zones.json")))
    z = zones["ru."]
    c.ok(z["serial"] == old + 1, "serial bumped by one",
         f"{old} -> {z['serial']}")
    c.ok(z["expiration"] - z["inception"] == 86400 + 7200,
         "signatures valid for the requested time")
    for addr in z["servers"]:
        serial = dnsq.soa_serial(dnsq.query(addr, "ru.", "SOA", timeout=1))
        c.ok(serial == old + 1, f"{addr} serves the new ru serial",
             str(serial))
    ok, msg = zonemd.verify(z["file"], "ru.")
    c.ok(ok, "new ru ZONEMD matches the re-signed data", msg)
    out = dig("AXFR", "@" + z["servers"][0], "ru", "+time=5")
    c.ok(re.search(rf"\sIN\s+ZONEMD\s+{old + 1}\s", out) is not None,
         "AXFR of ru carries the new ZONEMD serial")
    names = json.load(open(os.path.join(d, "names.json")))
    soa = next(n for n in names if n["qname"] == "ru." and n["qtype"] == "SOA")
    c.ok(soa["answers"][0].split()[6] == str(old + 1),
         "names.json follows the new serial")
    fresh = set(z["servers"])
    got = [n for n in notifies(notify_sock, 5, lambda got: {
        s for s, serial in got if serial == old + 1} >= fresh)
        if n[1] == old + 1]
    c.ok({src for src, _ in got} == fresh,
         "both ru servers sent NOTIFY with the new serial", str(got))


def lab_processes(d):
    """Live processes whose command line mentions the lab directory."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and lab_proc.alive(int(entry)) and \
                d in lab_proc.cmdline(int(entry)):
            found.append((int(entry), lab_proc.cmdline(int(entry))))
    return found


def main():
    # ctest's timeout (or a user) sends SIGTERM: unwind so the lab is torn
    # down by the finally below instead of leaking 32 NSD processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    prerequisites()
    c = Checks()
    d = tempfile.mkdtemp(prefix="ostrov-lab-test-")
    t0 = time.monotonic()
    try:
        global UNBOUND_PORT, KRESD_PORT
        UNBOUND_PORT, KRESD_PORT = free_port(), free_port()
        notify_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        notify_sock.bind(("127.0.0.1", 0))
        res = lab("up", d, "--prefix", "auto", "--unbound-port",
                  str(UNBOUND_PORT), "--kresd-port", str(KRESD_PORT),
                  "--notify", f"127.0.0.1@{notify_sock.getsockname()[1]}",
                  check=False)
        t_up = time.monotonic() - t0
        print(res.stdout.strip(), res.stderr.strip())
        if not c.ok(res.returncode == 0, "lab up", res.stderr):
            return finish(c, d, t0)
        print(f"lab up took {t_up:.1f}s")
        c.ok(t_up < 30, "lab up is fast", f"{t_up:.1f}s")
        servers = json.load(open(os.path.join(d, "servers.json")))
        zones = json.load(open(os.path.join(d, "zones.json")))
        names = json.load(open(os.path.join(d, "names.json")))
        pids = {a: lab_proc.read_pid(s["pidfile"]) for a, s in servers.items()}
        c.ok(all(pids.values()), "every server has a pid file")
        check_contract(c, d, servers, zones, names)
        check_authority(c, servers, zones)
        check_axfr(c, zones)
        check_zone_files(c, d, zones)
        check_names_vs_authorities(c, zones, names)
        check_names_vs_validator(c, d, names, "unbound", UNBOUND_PORT,
                                 start_unbound)
        check_names_vs_validator(c, d, names, "kresd", KRESD_PORT,
                                 start_kresd)
        check_cuts(c, d, servers, zones)
        check_resign(c, d, notify_sock)
        res = lab("up", d, check=False)
        c.ok(res.returncode != 0, "lab up refuses a used directory")
    except Exception as e:  # report, then still tear down
        c.ok(False, "unexpected exception", repr(e))
    finally:
        c.section("teardown")
        res = lab("down", d, check=False)
        c.ok(res.returncode == 0, "lab down", res.stderr)
        left = lab_processes(d)
        c.ok(not left, "no process of this lab remains", str(left))
        servers_path = os.path.join(d, "servers.json")
        if os.path.exists(servers_path):
            servers = json.load(open(servers_path))
            c.ok(not any(os.path.exists(s["pidfile"]) or
                         os.path.exists(s["blackhole_pidfile"])
                         for s in servers.values()), "pid files removed")
        res = lab("down", d, check=False)
        c.ok(res.returncode == 0 and "stopped 0" in res.stdout,
             "lab down is idempotent", res.stdout)
        if os.path.exists(servers_path):
            res = lab("restore", d, "all", check=False)
            c.ok(res.returncode != 0 and "is down" in res.stderr and
                 not lab_processes(d), "restore refuses a lab that is down",
                 res.stderr)
    return finish(c, d, t0)


def finish(c, d, t0):
    elapsed = time.monotonic() - t0
    print(f"=== lab test: {c.passed} checks passed, {len(c.failed)} failed, "
          f"{elapsed:.1f}s")
    for f in c.failed:
        print(f"  FAILED: {f}")
    if not c.failed and not os.environ.get("OST_LAB_KEEP"):
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f"lab directory kept: {d}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--ostrovd":
        OSTROVD = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit("usage: test_lab.py [--ostrovd PATH]")
    sys.exit(main())
