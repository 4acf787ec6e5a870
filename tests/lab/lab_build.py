# SPDX-License-Identifier: BSD-2-Clause
"""Generate the loopback lab in DIR: keys, signed zones, NSD configs, contracts.

Turns the hierarchy in lab_model.py into files: ECDSA P-256 keys (fresh for
every `lab up`, kept in DIR/keys), zone files signed bottom-up with
ldns-signzone (children first, so each parent carries its children's DS), the
deliberate breakage applied to the signed output, one NSD config per server
address, and the files other tests read: ostrov.yaml, unbound.conf,
root.hints, ta.ds, kresd.conf, names.json, servers.json, zones.json,
bench-queries.txt.
Every signing tool runs with DIR/keys as its working directory because ldns
writes dsset/.ds files into the current directory.
"""

import concurrent.futures
import hashlib
import json
import os
import subprocess
import time

import lab_model

DAY = 86400
KEY_ALG = "ECDSAP256SHA256"


class BuildError(Exception):
    """A signing tool failed; the message carries its output."""


def zone_file_stem(name):
    return "root" if name == "." else name.rstrip(".")


def run_tool(argv, cwd):
    res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                         timeout=120)
    if res.returncode != 0:
        raise BuildError(f"{' '.join(argv)} failed ({res.returncode}): "
                         f"{res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


class Layout:
    """Paths inside the lab directory."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.keys = os.path.join(self.root, "keys")
        self.zones = os.path.join(self.root, "zones")
        self.nsd = os.path.join(self.root, "nsd")
        self.run = os.path.join(self.root, "run")
        self.log = os.path.join(self.root, "log")
        self.cache = os.path.join(self.root, "cache")

    def mkdirs(self):
        for d in (self.keys, self.zones, self.nsd, self.run, self.log,
                  self.cache):
            os.makedirs(d, exist_ok=True)

    def file(self, name):
        return os.path.join(self.root, name)

    def nsd_conf(self, addr):
        return os.path.join(self.nsd, f"{addr}.conf")

    def nsd_pid(self, addr):
        return os.path.join(self.run, f"nsd-{addr}.pid")

    def nsd_log(self, addr):
        return os.path.join(self.log, f"nsd-{addr}.log")

    def bh_pid(self, addr):
        return os.path.join(self.run, f"blackhole-{addr}.pid")

    def bh_log(self, addr):
        return os.path.join(self.log, f"blackhole-{addr}.log")


def _keygen(lay, z):
    """A KSK and a ZSK for zone z. ldns-keygen names the files after the key
    tag, so a ZSK whose tag equals the KSK's (about 1 zone in 65,536, seen once
    in CI as an empty ldns-key2ds output) overwrites the KSK's files: then
    both are made again."""
    for _ in range(8):
        ksk = run_tool(["ldns-keygen", "-a", KEY_ALG, "-k", z.name],
                       lay.keys).strip()
        zsk = run_tool(["ldns-keygen", "-a", KEY_ALG, z.name], lay.keys).strip()
        if zsk != ksk:
            return ksk, zsk
        for ext in (".key", ".private", ".ds"):
            try:
                os.remove(os.path.join(lay.keys, ksk + ext))
            except FileNotFoundError:
                pass
    raise BuildError(f"{z.name}: KSK and ZSK key tags collide again and again")


def _ds_rdata(lay, ksk):
    out = run_tool(["ldns-key2ds", "-n", "-2", ksk + ".key"], lay.keys)
    fields = out.split()
    if len(fields) < 7 or fields[3] != "DS":
        raise BuildError(f"ldns-key2ds gave unexpected output: {out!r}")
    return " ".join(fields[4:])


def _corrupt_ds(rdata):
    """Flip the last hex digit of the digest: key tag and algorithm match,
    the digest does not (RFC 4035 5.2: no DNSKEY matches the DS)."""
    head, digest = rdata.rsplit(" ", 1)
    last = "0" if digest[-1] != "0" else "1"
    return f"{head} {digest[:-1]}{last}"


def _write_unsigned(lay, z, ds_of, serial):
    path = os.path.join(lay.zones, zone_file_stem(z.name) + ".zone")
    lines = [f"; ostrov loopback lab zone {z.name} (generated, do not edit)"]
    for owner, ttl, rtype, rdata in z.records:
        lines.append(f"{owner}\t{ttl}\tIN\t{rtype}\t{rdata}")
    for child, rdata in ds_of.items():
        dttl = 86400 if z.name == "." else 3600
        lines.append(f"{child}\t{dttl}\tIN\tDS\t{rdata}")
    if z.zonemd == "bad":
        # A well-formed SHA-384 ZONEMD whose digest cannot match: signed like
        # any RRset, so only ZONEMD verification (RFC 8976) notices.
        wrong = hashlib.sha384(b"ostrov lab: wrong digest").hexdigest()
        lines.append(f"{z.name}\t{z.ttl}\tIN\tZONEMD\t{serial} 1 1 {wrong}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _sign(lay, z, unsigned, keys, now, validity=None):
    out = os.path.join(lay.zones, zone_file_stem(z.name) + ".signed")
    if z.broken == "expired":
        inception, expiration = now - 40 * DAY, now - 10 * DAY
    elif validity is not None:
        inception, expiration = now - DAY, now + validity
    else:
        inception, expiration = now - DAY, now + 30 * DAY
    argv = ["ldns-signzone", "-i", str(inception), "-e", str(expiration),
            "-o", z.name, "-f", out]
    if z.denial in ("nsec3", "nsec3-optout"):
        argv += ["-n", "-a", "1", "-t", "0"]
        if z.denial == "nsec3-optout":
            argv.append("-p")
    if z.zonemd == "good":
        argv += ["-z", "simple:sha384"]
    argv += [unsigned, keys[0], keys[1]]
    run_tool(argv, lay.keys)
    if z.missing_rrsig or z.broken == "bad-nsec3":
        _strip_signed(out, z)
    return out, inception, expiration


def _strip_signed(path, z):
    """Remove RRSIGs of the chosen RRsets, or every NSEC3 and its RRSIG."""
    kept = []
    removed = 0
    with open(path) as f:
        for line in f:
            fields = line.split()
            drop = False
            if len(fields) >= 5 and fields[3] == "RRSIG":
                if (fields[0], fields[4]) in z.missing_rrsig:
                    drop = True
                if z.broken == "bad-nsec3" and fields[4] == "NSEC3":
                    drop = True
            elif len(fields) >= 4 and fields[3] == "NSEC3" and \
                    z.broken == "bad-nsec3":
                drop = True
            if drop:
                removed += 1
            else:
                kept.append(line)
    if removed == 0:
        raise BuildError(f"{path}: breakage {z.broken} removed nothing")
    with open(path, "w") as f:
        f.writelines(kept)


def sign_all(lay, zs, serial, now, workers=2):
    """Sign every zone, children first; return {zone: info dict}."""
    info = {}
    ds_rdata = {}
    by_depth = {}
    for z in zs:
        depth = 0 if z.name == "." else z.name.count(".")
        by_depth.setdefault(depth, []).append(z)

    def one(z):
        children = {c.name: ds_rdata[c.name] for c in zs
                    if lab_model.parent_zone(zs, c) is z and c.name in ds_rdata}
        unsigned = _write_unsigned(lay, z, children, serial)
        entry = {"unsigned_file": unsigned, "file": unsigned,
                 "children_ds": children}
        if z.signed:
            keys = _keygen(lay, z)
            signed, inc, exp = _sign(lay, z, unsigned, keys, now)
            ds = _ds_rdata(lay, keys[0])
            entry.update({"file": signed, "ksk": keys[0], "zsk": keys[1],
                          "ds": ds, "inception": inc, "expiration": exp})
        return z, entry

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        for depth in sorted(by_depth, reverse=True):
            for z, entry in ex.map(one, by_depth[depth]):
                info[z.name] = entry
                if z.signed and z.ds != "none":
                    ds = entry["ds"]
                    ds_rdata[z.name] = _corrupt_ds(ds) if z.ds == "bad" else ds
    return info


def servers_of(zs):
    """address -> list of zone names it serves."""
    out = {addr: [] for addr in lab_model.SERVERS}
    for z in zs:
        for addr in z.addrs:
            out[addr].append(z.name)
    return out


def write_nsd_conf(lay, addr, zones, info, zs_by_name, notify=()):
    lines = [
        f"# NSD for lab server {addr} (generated by tests/lab, loopback only)",
        "server:",
        "  server-count: 1",
        f"  ip-address: {addr}@53",
        "  port: 53",
        "  do-ip4: yes",
        "  do-ip6: no",
        "  reuseport: no",
        '  username: ""',
        '  chroot: ""',
        f'  zonesdir: "{lay.zones}"',
        '  database: ""',
        f'  pidfile: "{lay.nsd_pid(addr)}"',
        f'  xfrdfile: "{os.path.join(lay.run, addr + ".xfrd.state")}"',
        f'  xfrdir: "{lay.run}"',
        f'  zonelistfile: "{os.path.join(lay.run, addr + ".zone.list")}"',
        f'  logfile: "{lay.nsd_log(addr)}"',
        "  verbosity: 0",
        "  hide-version: yes",
        "  hide-identity: yes",
        "  zonefiles-write: 0",
        "  rrl-ratelimit: 0",
        "  rrl-whitelist-ratelimit: 0",
        "  tcp-count: 200",
        "remote-control:",
        "  control-enable: no",
    ]
    for name in zones:
        z = zs_by_name[name]
        lines += ["zone:", f'  name: "{name}"',
                  f'  zonefile: "{info[name]["file"]}"']
        if z.axfr:
            lines.append("  provide-xfr: 127.0.0.0/8 NOKEY")
            # Secondaries (ostrovd mirrors) to tell when the zone changes,
            # from this server's own address as a real primary would.
            for target in notify:
                lines.append(f"  notify: {target} NOKEY")
            if notify:
                lines.append(f"  outgoing-interface: {addr}")
    path = lay.nsd_conf(addr)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_contracts(lay, zs, info, listen_port, unbound_port, kresd_port):
    """ostrov.yaml, unbound.conf, root.hints, ta.ds, names/servers/zones."""
    root = next(z for z in zs if z.name == ".")
    hints = ["; Root hints for the ostrov loopback lab (named.root style).",
             "; Lab only: these servers exist on loopback and nowhere else."]
    for host in root.ns:
        hints.append(f".\t3600000\tIN\tNS\t{host}")
    for host in root.ns:
        hints.append(f"{host}\t3600000\tIN\tA\t{lab_model.HOST_ADDR[host]}")
    with open(lay.file("root.hints"), "w") as f:
        f.write("\n".join(hints) + "\n")

    with open(lay.file("ta.ds"), "w") as f:
        f.write("; Trust anchor of the lab root (not the real root!)\n")
        f.write(f".\t86400\tIN\tDS\t{info['.']['ds']}\n")

    yaml = f"""# ostrovd config for the loopback lab in {lay.root} (generated).
server:
  listen: ["127.0.0.1@{listen_port}"]
  workers: 1
  log-level: info
  control-socket: {lay.file("ostrov.sock")}
access:
  allow: ["127.0.0.0/8", "::1/128"]
  deny-action: refuse
resolver:
  root-hints-file: {lay.file("root.hints")}
  trust-anchor-file: {lay.file("ta.ds")}
  upstream-allow: ["127.0.0.0/8"]
  upstream-port: 53
  qname-minimisation: yes
  edns-buffer-size: 1232
  validation: yes
cache:
  path: {lay.cache}
  size: 64M
  min-ttl: 0
  max-ttl: 86400
  max-negative-ttl: 3600
"""
    with open(lay.file("ostrov.yaml"), "w") as f:
        f.write(yaml)

    unbound = f"""# Lab-only Unbound config for differential tests (generated).
# Queries only the lab (root hints and trust anchor below); never use it
# outside the lab. Start: unbound -d -c {lay.file("unbound.conf")}
server:
  interface: 127.0.0.1@{unbound_port}
  port: {unbound_port}
  do-ip4: yes
  do-ip6: no
  outgoing-interface: 127.0.0.1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  root-hints: "{lay.file("root.hints")}"
  trust-anchor-file: "{lay.file("ta.ds")}"
  trust-anchor-signaling: no
  root-key-sentinel: no
  module-config: "validator iterator"
  pidfile: "{os.path.join(lay.run, "unbound.pid")}"
  chroot: ""
  username: ""
  directory: "{lay.root}"
  logfile: "{os.path.join(lay.log, "unbound.log")}"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  ede: yes
  num-threads: 1
  so-reuseport: no
  qname-minimisation: yes
  harden-glue: yes
  minimal-responses: yes
remote-control:
  control-enable: no
"""
    with open(lay.file("unbound.conf"), "w") as f:
        f.write(unbound)

    hints_lua = "\n".join(f"  ['{h}'] = '{lab_model.HOST_ADDR[h]}',"
                          for h in root.ns)
    kresd = f"""-- Lab-only Knot Resolver (5.x) config for differential tests (generated).
-- Start: kresd -n -c {lay.file("kresd.conf")} {os.path.join(lay.root, "kresd")}
-- kresd does not daemonize and writes no pid file: whoever starts it stops it.
net.ipv6 = false
net.listen('127.0.0.1', {kresd_port}, {{ kind = 'dns' }})
-- Nothing may reach outside the lab: no RFC 5011 updates, no sentinel
-- queries, no time-skew probes.
modules.unload('ta_update')
modules.unload('ta_signal_query')
modules.unload('detect_time_skew')
modules.unload('detect_time_jump')
modules.load('hints > iterate')
hints.root({{
{hints_lua}
}})
-- Read-only trust anchor: kresd must never try to fetch or update one.
trust_anchors.add_file('{lay.file("ta.ds")}', true)
-- kresd ignores loopback name server addresses unless ALLOW_LOCAL is set.
policy.add(policy.all(policy.FLAGS('ALLOW_LOCAL')))
cache.open(32 * MB, 'lmdb://{os.path.join(lay.root, "kresd", "cache")}')
log_level('notice')
"""
    os.makedirs(os.path.join(lay.root, "kresd"), exist_ok=True)
    with open(lay.file("kresd.conf"), "w") as f:
        f.write(kresd)

    served = servers_of(zs)
    servers = {}
    for addr, (host, group) in lab_model.SERVERS.items():
        groups = [group]
        if addr in lab_model.BROKEN_ADDRS:
            groups.append("broken")
        servers[addr] = {
            "host": host, "group": group, "groups": groups,
            "zones": served[addr], "port": 53,
            "conf": lay.nsd_conf(addr), "pidfile": lay.nsd_pid(addr),
            "log": lay.nsd_log(addr), "blackhole_pidfile": lay.bh_pid(addr),
            "blackhole_log": lay.bh_log(addr),
        }
    with open(lay.file("servers.json"), "w") as f:
        json.dump(servers, f, indent=1, sort_keys=True)

    zones = {}
    for z in zs:
        sec, ede = lab_model.zone_security(zs, z)
        p = lab_model.parent_zone(zs, z)
        e = info[z.name]
        zones[z.name] = {
            "parent": p.name if p else None, "servers": z.addrs, "ns": z.ns,
            "signed": z.signed, "denial": z.denial, "ds": z.ds,
            "zonemd": z.zonemd, "broken": z.broken, "axfr": z.axfr,
            "security": sec, "ede": ede, "file": e["file"],
            "unsigned_file": e["unsigned_file"],
            "ksk": e.get("ksk"), "zsk": e.get("zsk"),
            "ds_rdata": e.get("ds"), "children_ds": e["children_ds"],
            "inception": e.get("inception"), "expiration": e.get("expiration"),
            "missing_rrsig": sorted(f"{o} {t}" for o, t in z.missing_rrsig),
            "serial": int(next(r[3] for r in z.records
                               if r[2] == "SOA").split()[2]),
            "bench": z.bench,
        }
    with open(lay.file("zones.json"), "w") as f:
        json.dump(zones, f, indent=1, sort_keys=True)

    entries = lab_model.names(zs)
    _write_names(lay.file("names.json"), entries)
    with open(lay.file("bench-queries.txt"), "w") as f:
        for e in entries:
            if e["kind"] == "bench" and e["rcode"] == "NOERROR" and \
                    e["qtype"] in ("A", "AAAA") and e["answers"]:
                f.write(f"{e['qname']} {e['qtype']}\n")
    return servers


def build(dirpath, prefix=lab_model.DEFAULT_PREFIX, listen_port=5353,
          unbound_port=5354, kresd_port=5355, bench_names=10000,
          notify=()):
    """Generate the whole lab in dirpath; return (layout, servers dict).

    notify: "127.x.y.z@port" targets that the servers of every zone with
    AXFR (root, national TLDs, zonemd-bad.ru) send NOTIFY to on change.
    """
    for target in notify:
        addr, _, port = target.partition("@")
        if not port.isdigit() or not addr.startswith("127.") or \
                len(addr.split(".")) != 4:
            raise BuildError(f"notify target {target!r}: want 127.x.y.z@port")
    lab_model.set_prefix(prefix)
    lay = Layout(dirpath)
    lay.mkdirs()
    now = int(time.time())
    serial = now
    zs = lab_model.build_zones(serial, bench_names=bench_names)
    info = sign_all(lay, zs, serial, now)
    by_name = {z.name: z for z in zs}
    for addr, zones in servers_of(zs).items():
        if not zones:
            raise BuildError(f"server {addr} serves no zone")
        write_nsd_conf(lay, addr, zones, info, by_name, notify)
    servers = write_contracts(lay, zs, info, listen_port, unbound_port,
                              kresd_port)
    return lay, servers


def resign(root, zone_name, serial=None, validity=None):
    """Re-sign one zone of a built lab with a new SOA serial.

    For mirror-refresh and signature-expiry tests: same keys (the parent's
    DS stays valid), serial = serial or old + 1, signatures valid from
    now-1d for `validity` seconds (default 30 days), fresh ZONEMD (or a
    fresh wrong one for zonemd-bad). zones.json and the SOA answers in
    names.json follow. Returns (old serial, new serial). The caller reloads
    the servers.
    """
    lay = Layout(root)
    with open(lay.file("zones.json")) as f:
        zones = json.load(f)
    if not zone_name.endswith("."):
        zone_name += "."
    if zone_name not in zones:
        raise BuildError(f"no zone {zone_name} in this lab")
    zinfo = zones[zone_name]
    lab_model.set_prefix(zones["."]["servers"][0].rsplit(".", 2)[0])
    z = next(m for m in lab_model.build_zones(0, bench_names=0)
             if m.name == zone_name)
    path = zinfo["unsigned_file"]
    with open(path) as f:
        lines = f.readlines()
    old = None
    for i, line in enumerate(lines):
        fields = line.split()
        if len(fields) >= 7 and fields[0] == zone_name and \
                fields[3] in ("SOA", "ZONEMD"):
            pos = 6 if fields[3] == "SOA" else 4
            if fields[3] == "SOA":
                old = int(fields[pos])
            fields[pos] = "@SERIAL@"
            lines[i] = "\t".join(fields[:5]) + "\t" + \
                " ".join(fields[5:]) + "\n"
    if old is None:
        raise BuildError(f"{path}: no SOA")
    new = serial if serial is not None else old + 1
    text = "".join(lines).replace("@SERIAL@", str(new))
    with open(path, "w") as f:
        f.write(text)
    now = int(time.time())
    if z.signed:
        out, inc, exp = _sign(lay, z, path, (zinfo["ksk"], zinfo["zsk"]),
                              now, validity)
        zinfo.update({"inception": inc, "expiration": exp})
    else:
        out = path
    # NSD reloads a zone file on SIGHUP only if its mtime changed.
    st = os.stat(out)
    os.utime(out, (st.st_atime, max(time.time(), st.st_mtime) + 1))
    zinfo["serial"] = new
    _write_json(lay.file("zones.json"), zones)

    with open(lay.file("names.json")) as f:
        entries = json.load(f)
    for e in entries:
        if e["qtype"] == "SOA" and e["qname"] == zone_name:
            for key in ("answers", "cd_answers"):
                e[key] = [_with_serial(rr, new) for rr in e[key]]
    _write_names(lay.file("names.json"), entries)
    return old, new


def _with_serial(rr, serial):
    fields = rr.split()
    if len(fields) > 6 and fields[3] == "SOA":
        fields[6] = str(serial)
    return " ".join(fields)


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _write_names(path, entries):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        # One entry per line: greppable, and the C encoder stays in use.
        f.write("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")
    os.replace(tmp, path)
