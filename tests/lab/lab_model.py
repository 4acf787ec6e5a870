# SPDX-License-Identifier: BSD-2-Clause
"""The loopback lab's DNS hierarchy, described as data, and its expected answers.

Everything the lab serves comes from this one description: the servers and
their addresses, the zones with their records, how each zone is signed and
how it is deliberately broken. lab_build.py turns it into zone files, keys and
NSD configs; the small resolver at the bottom (`expect`) walks the same data to
compute what a validating resolver must answer for each test name, so the
expectations in names.json can never drift from what NSD actually serves.

Address plan (all UDP+TCP port 53, IPv4 only, inside 127.53.0.0/16; `lab up
--prefix 127.N` moves the whole plan to 127.N.0.0/16 for a second lab):

  127.53.0.1-3     root            a/b/c.root-servers.lab.          group root
  127.53.1.1-6     com org net     a/b.nic.{com,org,net}.           group foreign-tld
  127.53.2.1-6     ru xn--p1ai su  a/b.dns.{ru,xn--p1ai,su}.        group national-tld
  127.53.3.1-4     foreign SLDs    example.com (2), example.net,
                                   insecure.com (also unsigned.example.net)
                                                                    group foreign-sld
  127.53.4.1-8     national SLDs   example.ru (2), bench.ru,
                                   hoster.ru (2, also example.org),
                                   xn--e1afmkfd.xn--p1ai, example.su,
                                   insecure.ru
                                                                    group national-sld
  127.53.4.20-24   broken zones    expired.ru, bad-ds.ru, no-rrsig.ru,
                                   zonemd-bad.ru, bad-nsec3.ru      group national-sld
                                                                    and broken
Record data (A) lives in 127.54.0.0/16 and 127.55.0.0/16 (bench.ru), AAAA
data in 2001:db8::/32: nothing ever needs to reach those addresses.
"""

import itertools

# --- servers ---------------------------------------------------------------

# The plan as (last two octets, host, group); the first two octets are the
# lab's prefix, 127.53 by default (see set_prefix).
PLAN = []
for _i, _l in enumerate("abc"):
    PLAN.append((f"0.{_i + 1}", f"{_l}.root-servers.lab.", "root"))
for _i, _tld in enumerate(["com", "org", "net"]):
    PLAN.append((f"1.{2 * _i + 1}", f"a.nic.{_tld}.", "foreign-tld"))
    PLAN.append((f"1.{2 * _i + 2}", f"b.nic.{_tld}.", "foreign-tld"))
for _i, _tld in enumerate(["ru", "xn--p1ai", "su"]):
    PLAN.append((f"2.{2 * _i + 1}", f"a.dns.{_tld}.", "national-tld"))
    PLAN.append((f"2.{2 * _i + 2}", f"b.dns.{_tld}.", "national-tld"))
PLAN += [
    ("3.1", "ns1.example.com.", "foreign-sld"),
    ("3.2", "ns2.example.com.", "foreign-sld"),
    ("3.3", "ns1.example.net.", "foreign-sld"),
    ("3.4", "ns.insecure.com.", "foreign-sld"),
    ("4.1", "ns1.example.ru.", "national-sld"),
    ("4.2", "ns2.example.ru.", "national-sld"),
    ("4.3", "ns1.bench.ru.", "national-sld"),
    ("4.4", "ns1.hoster.ru.", "national-sld"),
    ("4.5", "ns2.hoster.ru.", "national-sld"),
    ("4.6", "ns1.xn--e1afmkfd.xn--p1ai.", "national-sld"),
    ("4.7", "ns1.example.su.", "national-sld"),
    ("4.8", "ns.insecure.ru.", "national-sld"),
    ("4.20", "ns1.expired.ru.", "national-sld"),
    ("4.21", "ns1.bad-ds.ru.", "national-sld"),
    ("4.22", "ns1.no-rrsig.ru.", "national-sld"),
    ("4.23", "ns1.zonemd-bad.ru.", "national-sld"),
    ("4.24", "ns1.bad-nsec3.ru.", "national-sld"),
]
BROKEN_SUFFIXES = {"4.20", "4.21", "4.22", "4.23", "4.24"}

DEFAULT_PREFIX = "127.53"
# Second octets never used as a prefix: the record data lives in 127.54 and
# 127.55, and 127.0 holds 127.0.0.1 where resolvers under test listen.
RESERVED_SECOND_OCTETS = {0, 54, 55}

SERVERS = {}       # address -> (name server host name, group)
HOST_ADDR = {}     # host name -> address
BROKEN_ADDRS = set()


def set_prefix(prefix):
    """Place the lab at prefix.x.y ("127.N"); default 127.53.

    A second prefix lets two labs run side by side on one machine (other
    agents, parallel CI jobs); everything downstream reads the addresses
    from servers.json.
    """
    parts = prefix.split(".")
    if len(parts) != 2 or parts[0] != "127" or not parts[1].isdigit() or \
            not 0 < int(parts[1]) < 256 or \
            int(parts[1]) in RESERVED_SECOND_OCTETS:
        raise ValueError(f"bad lab prefix {prefix!r}: want 127.N, N in "
                         f"1..255 except {sorted(RESERVED_SECOND_OCTETS)}")
    SERVERS.clear()
    HOST_ADDR.clear()
    BROKEN_ADDRS.clear()
    for suffix, host, group in PLAN:
        addr = f"{prefix}.{suffix}"
        SERVERS[addr] = (host, group)
        HOST_ADDR[host] = addr
        if suffix in BROKEN_SUFFIXES:
            BROKEN_ADDRS.add(addr)


set_prefix(DEFAULT_PREFIX)

# Group aliases accepted by `lab cut`/`lab restore` besides the base groups.
GROUP_ALIASES = {
    "all-foreign": {"foreign-tld", "foreign-sld"},
    "all-national": {"national-tld", "national-sld"},
    "all": {"root", "foreign-tld", "national-tld", "foreign-sld",
            "national-sld"},
}

# EDE codes (RFC 8914) a validator should attach to each kind of breakage;
# the first is the precise one, 6 (DNSSEC Bogus) is always acceptable.
EDE = {"expired": [7, 6], "bad-ds": [9, 6], "missing-rrsig": [10, 6],
       "bad-nsec3": [12, 6]}


# --- zones -----------------------------------------------------------------

class Zone:
    """One zone: its name servers, signing recipe, breakage and records.

    denial: "nsec", "nsec3", "nsec3-optout" or None (unsigned).
    ds: "good", "none" (insecure delegation) or "bad" (digest mismatch).
    zonemd: None, "good" (SHA-384, simple) or "bad" (signed, wrong digest).
    broken: None, "expired", "missing-rrsig" or "bad-nsec3".
    axfr: allow AXFR from 127.0.0.0/8.
    """

    def __init__(self, name, ns, denial="nsec3", ds="good", zonemd=None,
                 broken=None, axfr=False, ttl=3600, ns_ttl=None,
                 soa=(3600, 600, 86400, 300)):
        self.name = name
        self.ns = ns
        self.denial = denial
        self.ds = ds if denial else "none"
        self.zonemd = zonemd
        self.broken = broken
        self.axfr = axfr
        self.ttl = ttl
        self.ns_ttl = ns_ttl or ttl
        self.soa = soa
        self.records = []          # (owner, ttl, type, rdata), absolute names
        self.missing_rrsig = set()  # (owner, type) whose RRSIGs are removed
        self.bench = False

    @property
    def signed(self):
        return self.denial is not None

    @property
    def addrs(self):
        return [HOST_ADDR[h] for h in self.ns]

    def fq(self, rel):
        if rel == "@":
            return self.name
        if rel.endswith("."):
            return rel
        return rel + "." + ("" if self.name == "." else self.name)

    def add(self, rel, rtype, rdata, ttl=None):
        self.records.append((self.fq(rel), ttl or self.ttl, rtype, rdata))


_addr_counter = itertools.count(1)


def _data_a():
    n = next(_addr_counter)
    return f"127.54.{n // 250}.{n % 250 + 1}"


def _data_aaaa():
    return f"2001:db8::{next(_addr_counter):x}"


def _host(z, rel, aaaa=True, txt=False, mx=False):
    z.add(rel, "A", _data_a())
    if aaaa:
        z.add(rel, "AAAA", _data_aaaa())
    if txt:
        z.add(rel, "TXT", f'"lab {z.fq(rel)}"')
    if mx:
        z.add(rel, "MX", f"10 mail.{z.name}")


def build_zones(serial, bench_names=10000):
    """Return the list of lab zones, parents before children.

    Deterministic: the same serial and bench size give the same zones.
    """
    global _addr_counter
    _addr_counter = itertools.count(1)
    zs = []
    root = Zone(".", [f"{l}.root-servers.lab." for l in "abc"], denial="nsec",
                zonemd="good", axfr=True, ttl=86400, ns_ttl=518400,
                soa=(1800, 900, 604800, 300))
    zs.append(root)
    for tld, denial in [("com", "nsec3-optout"), ("org", "nsec3"),
                        ("net", "nsec3-optout")]:
        zs.append(Zone(f"{tld}.", [f"a.nic.{tld}.", f"b.nic.{tld}."],
                       denial=denial, ns_ttl=172800))
    for tld, denial in [("ru", "nsec3-optout"), ("xn--p1ai", "nsec3-optout"),
                        ("su", "nsec3")]:
        zs.append(Zone(f"{tld}.", [f"a.dns.{tld}.", f"b.dns.{tld}."],
                       denial=denial, zonemd="good", axfr=True,
                       ns_ttl=172800, soa=(1800, 900, 604800, 300)))

    # Foreign second level.
    z = Zone("example.com.", ["ns1.example.com.", "ns2.example.com."],
             denial="nsec")
    _host(z, "@", aaaa=False, mx=True)
    _host(z, "www", txt=True)
    _host(z, "mail", aaaa=False)
    z.add("txt", "TXT", '"v=lab1 foreign"')
    z.add("*.wild", "A", _data_a())
    z.add("*.wild", "TXT", '"wildcard example.com"')
    z.add("alias", "CNAME", "www.example.com.")
    z.add("chain", "CNAME", "chain.example.net.")
    z.add("dangling", "CNAME", "nosuch.example.ru.")
    z.add("short", "A", _data_a(), ttl=2)
    zs.append(z)

    z = Zone("example.net.", ["ns1.example.net."], denial="nsec3-optout")
    _host(z, "www", mx=True)
    _host(z, "mail", aaaa=False)
    z.add("chain", "CNAME", "www.example.ru.")
    zs.append(z)

    z = Zone("unsigned.example.net.", ["ns.insecure.com."], denial=None,
             ds="none")
    _host(z, "www")
    zs.append(z)

    z = Zone("insecure.com.", ["ns.insecure.com."], denial=None, ds="none")
    _host(z, "www", mx=True)
    _host(z, "mail", aaaa=False)
    zs.append(z)

    z = Zone("example.org.", ["ns1.hoster.ru.", "ns2.hoster.ru."],
             denial="nsec3")
    _host(z, "www", txt=True)
    zs.append(z)

    # National second level.
    z = Zone("example.ru.", ["ns1.example.ru.", "ns2.example.ru."],
             denial="nsec3")
    _host(z, "@", aaaa=False, mx=True)
    _host(z, "www", txt=True)
    _host(z, "mail")
    z.add("txt", "TXT", '"v=lab1 national"')
    z.add("*.wild", "A", _data_a())
    z.add("*.wild", "AAAA", _data_aaaa())
    z.add("alias", "CNAME", "www.example.com.")
    z.add("ins-chain", "CNAME", "www.insecure.com.")
    z.add("short", "A", _data_a(), ttl=2)
    zs.append(z)

    z = Zone("bench.ru.", ["ns1.bench.ru."], denial="nsec3")
    z.bench = True
    for i in range(bench_names):
        z.add(f"h{i:05d}", "A", f"127.55.{i // 256 % 256}.{i % 256}")
        z.add(f"h{i:05d}", "AAAA", f"2001:db8:b::{i:x}")
    zs.append(z)

    z = Zone("hoster.ru.", ["ns1.hoster.ru.", "ns2.hoster.ru."],
             denial="nsec")
    _host(z, "www")
    zs.append(z)

    z = Zone("xn--e1afmkfd.xn--p1ai.", ["ns1.xn--e1afmkfd.xn--p1ai."],
             denial="nsec3")
    _host(z, "@", aaaa=False, mx=True)
    _host(z, "www", txt=True)
    _host(z, "mail", aaaa=False)
    zs.append(z)

    z = Zone("example.su.", ["ns1.example.su."], denial="nsec")
    _host(z, "www", txt=True)
    zs.append(z)

    z = Zone("insecure.ru.", ["ns.insecure.ru."], denial=None, ds="none")
    _host(z, "www", mx=True)
    _host(z, "mail", aaaa=False)
    zs.append(z)

    # Deliberately broken zones.
    z = Zone("expired.ru.", ["ns1.expired.ru."], denial="nsec3",
             broken="expired")
    _host(z, "www")
    zs.append(z)

    z = Zone("bad-ds.ru.", ["ns1.bad-ds.ru."], denial="nsec", ds="bad")
    _host(z, "www")
    zs.append(z)

    z = Zone("no-rrsig.ru.", ["ns1.no-rrsig.ru."], denial="nsec",
             broken="missing-rrsig")
    _host(z, "www", aaaa=False)
    _host(z, "ok", aaaa=False)
    z.missing_rrsig.add(("www.no-rrsig.ru.", "A"))
    zs.append(z)

    z = Zone("zonemd-bad.ru.", ["ns1.zonemd-bad.ru."], denial="nsec",
             zonemd="bad", axfr=True, soa=(1800, 900, 604800, 300))
    _host(z, "www")
    zs.append(z)

    z = Zone("bad-nsec3.ru.", ["ns1.bad-nsec3.ru."], denial="nsec3",
             broken="bad-nsec3")
    _host(z, "www", aaaa=False)
    zs.append(z)

    _add_infrastructure(zs, serial)
    return zs


def in_zone(name, zone):
    """True if name is zone or below it."""
    return zone == "." or name == zone or name.endswith("." + zone)


def find_zone(zs, name, exclude=None):
    """Deepest lab zone that contains name (excluding `exclude`)."""
    by_name = _zone_map(zs)
    while True:
        z = by_name.get(name)
        if z is not None and name != exclude:
            return z
        if name == ".":
            return None
        name = name.split(".", 1)[1] or "."


_ZONE_MAPS = {}


def _zone_map(zs):
    """name -> zone for a zone list (rebuilt when the list grows)."""
    cached = _ZONE_MAPS.get(id(zs))
    if cached is None or cached[0] is not zs or len(cached[1]) != len(zs):
        cached = (zs, {z.name: z for z in zs})
        _ZONE_MAPS[id(zs)] = cached
    return cached[1]


def parent_zone(zs, z):
    return None if z.name == "." else find_zone(zs, z.name, exclude=z.name)


def _add_infrastructure(zs, serial):
    """Add SOA, apex NS, name server addresses, delegations and glue.

    DS records are added later by lab_build, once the children are signed.
    """
    for z in zs:
        soa = (f"{z.ns[0]} hostmaster.{'lab.' if z.name == '.' else z.name}"
               f" {serial} " + " ".join(str(v) for v in z.soa))
        z.records.insert(0, (z.name, z.ttl, "SOA", soa))
        for host in z.ns:
            z.records.append((z.name, z.ns_ttl, "NS", host))
    for host, addr in HOST_ADDR.items():
        find_zone(zs, host).records.append((host, 3600, "A", addr))
    for z in zs:
        p = parent_zone(zs, z)
        if p is None:
            continue
        dttl = 172800 if p.name == "." else 3600
        for host in z.ns:
            p.records.append((z.name, dttl, "NS", host))
            if in_zone(host, z.name):
                p.records.append((host, dttl, "A", HOST_ADDR[host]))


# --- expected answers ------------------------------------------------------

_SEC_ORDER = {"secure": 0, "insecure": 1, "bogus": 2}


def zone_security(zs, z):
    """Return (security, ede list) of a zone as seen from the lab root."""
    p = parent_zone(zs, z)
    if p is None:
        return ("secure", []) if z.signed else ("insecure", [])
    psec, pede = zone_security(zs, p)
    if psec != "secure":
        return psec, pede
    if z.ds == "none":
        return "insecure", []
    if z.ds == "bad":
        return "bogus", EDE["bad-ds"]
    if z.broken == "expired":
        return "bogus", EDE["expired"]
    return "secure", []


class Index:
    """Name lookup over all zones: nodes, empty non-terminals, delegations."""

    def __init__(self, zs):
        self.zs = zs
        self.nodes = {}   # zone name -> {owner -> {type -> [rr text]}}
        self.ents = {}    # zone name -> set of empty non-terminals
        self.sec = {z.name: zone_security(zs, z) for z in zs}
        for z in zs:
            nodes = {}
            for owner, ttl, rtype, rdata in z.records:
                if find_zone(zs, owner) is not z:
                    continue  # glue, or a delegation's NS at the cut
                nodes.setdefault(owner, {}).setdefault(rtype, []).append(
                    (ttl, rdata))
            self.nodes[z.name] = nodes
            ents = set()
            for owner in nodes:
                name = owner
                while name != z.name:
                    name = name.split(".", 1)[1] or "."
                    if name not in nodes:
                        ents.add(name)
            self.ents[z.name] = ents


def _rr(owner, ttl, rtype, rdata):
    return f"{owner} {ttl} IN {rtype} {rdata}"


def expect(index, qname, qtype):
    """Resolve (qname, qtype) over the lab data like a validating resolver.

    Returns a dict with rcode, answers, security, ede, cd_rcode, cd_answers
    (what the authorities serve, seen with CD=1) and tags.
    """
    answers, tags, sec, ede = [], set(), "secure", []
    zones_seen = []
    name, rcode = qname, "NOERROR"

    def worsen(s, e):
        nonlocal sec, ede
        if _SEC_ORDER[s] > _SEC_ORDER[sec]:
            sec, ede = s, e

    for _ in range(12):
        z = find_zone(index.zs, name)
        zones_seen.append(z)
        zsec, zede = index.sec[z.name]
        worsen(zsec, zede)
        nodes = index.nodes[z.name]
        node = nodes.get(name)
        owner = name
        if node is None and name not in index.ents[z.name]:
            # Closest encloser, then the wildcard source of synthesis.
            ce = name
            while ce != z.name and ce not in nodes and \
                    ce not in index.ents[z.name]:
                ce = ce.split(".", 1)[1] or "."
            wild = "*." + ce if ce != "." else "*."
            node = nodes.get(wild)
            if node is not None:
                tags.add("wildcard")
            if z.denial == "nsec3-optout" and zsec == "secure":
                # The NSEC3 covering the next closer name has the opt-out
                # flag, so it cannot prove that name absent (an unsigned
                # delegation may hide there): validators call the NXDOMAIN
                # or wildcard answer insecure (RFC 5155 section 9.2; Unbound agrees).
                worsen("insecure", [])
            if z.broken == "bad-nsec3" and zsec == "secure":
                worsen("bogus", EDE["bad-nsec3"])
        if node is None:
            rcode = "NXDOMAIN"
            break
        if qtype in node:
            for ttl, rdata in node[qtype]:
                answers.append(_rr(owner, ttl, qtype, rdata))
            if (owner, qtype) in z.missing_rrsig and zsec == "secure":
                worsen("bogus", EDE["missing-rrsig"])
            break
        if "CNAME" in node and qtype != "CNAME":
            ttl, target = node["CNAME"][0]
            answers.append(_rr(owner, ttl, "CNAME", target))
            tags.add("cname-chain")
            name = target
            continue
        if z.broken == "bad-nsec3" and zsec == "secure":
            worsen("bogus", EDE["bad-nsec3"])
        break  # NODATA
    for z in zones_seen:
        if z.broken:
            tags.add("broken-" + {"expired": "expired",
                                  "missing-rrsig": "rrsig",
                                  "bad-nsec3": "nsec3"}[z.broken])
        if z.ds == "bad":
            tags.add("broken-ds")
        if z.zonemd == "bad":
            tags.add("broken-zonemd")
        if z.bench:
            tags.add("bench")
        if any(not in_zone(h, z.name) for h in z.ns) and z.name != ".":
            tags.add("out-of-bailiwick")
    if rcode == "NXDOMAIN":
        tags.add("nxdomain")
    elif not any(a.split()[3] == qtype for a in answers):
        tags.add("nodata")
    if sec == "insecure":
        tags.add("insecure")
    cd_rcode, cd_answers = rcode, list(answers)
    if sec == "bogus":
        rcode, answers = "SERVFAIL", []
    return {"rcode": rcode, "answers": answers, "security": sec, "ede": ede,
            "cd_rcode": cd_rcode, "cd_answers": cd_answers, "tags": tags,
            "zone": zones_seen[0].name,
            "depends": depends(index.zs, zones_seen)}


def depends(zs, zones, _seen=None):
    """Zones whose servers a cold-cache resolver must reach: each zone on
    the way and its ancestors, plus, for name servers outside the zone
    (no glue in the parent), the zones that hold their addresses."""
    seen = set() if _seen is None else _seen
    for z in zones:
        while z is not None and z.name not in seen:
            seen.add(z.name)
            for host in z.ns:
                if not in_zone(host, z.name):
                    depends(zs, [find_zone(zs, host)], seen)
            z = parent_zone(zs, z)
    return sorted(seen, key=lambda n: (n.count("."), n)) \
        if _seen is None else None


KIND_ORDER = ["broken-expired", "broken-ds", "broken-rrsig", "broken-nsec3",
              "broken-zonemd", "bench", "cname-chain", "wildcard", "nxdomain",
              "nodata", "insecure", "out-of-bailiwick"]


def probes(zs):
    """The (qname, qtype) list that names.json describes."""
    out = []
    seen = set()

    def add(q, t):
        if (q, t) not in seen:
            seen.add((q, t))
            out.append((q, t))

    index = Index(zs)
    for z in zs:
        nodes = index.nodes[z.name]
        for owner in sorted(nodes):
            for rtype in nodes[owner]:
                if rtype in ("SOA", "NS"):
                    continue
                if owner.startswith("*."):
                    add("anything" + owner[1:], rtype)
                    add("a.b" + owner[1:], rtype)
                    continue
                add(owner, "A" if rtype == "CNAME" else rtype)
        if z.name != ".":
            add(z.name, "SOA")
        add(z.name, "NS")
        add(("nosuch." + z.name) if z.name != "." else "nosuchtld.", "A")
        www = nodes.get(z.fq("www"))
        if www is not None:
            for t in ("TXT", "MX", "AAAA"):
                if t not in www:
                    add(z.fq("www"), t)
                    break
        wild = nodes.get(z.fq("*.wild"))
        if wild is not None and "MX" not in wild:
            add(z.fq("nodata.wild"), "MX")
    return index, out


def names(zs):
    """Return the names.json list: one dict per probe."""
    index, qs = probes(zs)
    out = []
    for qname, qtype in qs:
        e = expect(index, qname, qtype)
        tags = e.pop("tags")
        kind = next((k for k in KIND_ORDER if k in tags), "positive")
        entry = {"qname": qname, "qtype": qtype, "kind": kind}
        entry.update(e)
        entry["tags"] = sorted(tags)
        out.append(entry)
    return out
