#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Independent RFC 8976 ZONEMD check (SIMPLE scheme) for lab zone files.

Why this exists: ldns 1.8.3 (Debian 12) loops forever in
ldns_dnssec_zone_verify_zonemd() on some NSEC3-signed zones (NLnetLabs/ldns
issue 287, fixed in 1.9.0), so ldns-verify-zone cannot be the only judge of
the lab's ZONEMD records. This computes the digest from the zone text itself
for exactly the record types the lab generates (SOA NS A AAAA CNAME MX TXT DS
DNSKEY RRSIG NSEC NSEC3 NSEC3PARAM ZONEMD); any other type is an error, not a
guess. It is a test oracle, not resolver code.

    zonemd.py ZONEFILE [ORIGIN]   exit 0 if a ZONEMD matches, 1 if not
"""

import base64
import calendar
import hashlib
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
         "AAAA": 28, "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
         "NSEC3": 50, "NSEC3PARAM": 51, "ZONEMD": 63}
B32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"


class ZoneError(Exception):
    """The zone text holds something this checker does not understand."""


def name_wire(name):
    name = name.lower()
    if name == ".":
        return b"\0"
    if not name.endswith("."):
        raise ZoneError(f"relative name {name!r}")
    out = b""
    for label in name[:-1].split("."):
        raw = label.encode("ascii")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def name_key(name):
    """RFC 4034 6.1 canonical order: labels compared right to left."""
    name = name.lower().rstrip(".")
    return [l.encode("ascii") for l in reversed(name.split("."))] \
        if name else []


def tokenize(rdata):
    """Split presentation rdata, keeping quoted strings whole."""
    out, i, n = [], 0, len(rdata)
    while i < n:
        c = rdata[i]
        if c.isspace():
            i += 1
        elif c == ";":
            break
        elif c == '"':
            j, buf = i + 1, b""
            while j < n and rdata[j] != '"':
                if rdata[j] == "\\":
                    if rdata[j + 1:j + 4].isdigit():
                        buf += bytes([int(rdata[j + 1:j + 4])])
                        j += 4
                        continue
                    j += 1
                buf += rdata[j].encode("latin-1")
                j += 1
            out.append(("q", buf))
            i = j + 1
        else:
            j = i
            while j < n and not rdata[j].isspace():
                j += 1
            out.append(("t", rdata[i:j]))
            i = j
    return out


def bitmap(types):
    nums = sorted({TYPES[t] if t in TYPES else _typenum(t) for t in types})
    out, windows = b"", {}
    for t in nums:
        windows.setdefault(t >> 8, []).append(t & 0xFF)
    for w in sorted(windows):
        bits = bytearray(max(windows[w]) // 8 + 1)
        for b in windows[w]:
            bits[b // 8] |= 0x80 >> (b % 8)
        out += bytes([w, len(bits)]) + bytes(bits)
    return out


def _typenum(t):
    if t.startswith("TYPE") and t[4:].isdigit():
        return int(t[4:])
    raise ZoneError(f"unknown type {t}")


def sig_time(text):
    if len(text) == 14 and text.isdigit():
        return calendar.timegm(time.strptime(text, "%Y%m%d%H%M%S"))
    return int(text)


def rdata_wire(rtype, rdata):
    tok = tokenize(rdata)
    t = [v for k, v in tok if k == "t"]
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, t[0])
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, t[0])
    if rtype in ("NS", "CNAME"):
        return name_wire(t[0])
    if rtype == "MX":
        return struct.pack("!H", int(t[0])) + name_wire(t[1])
    if rtype == "TXT":
        out = b""
        for k, v in tok:
            raw = v if k == "q" else v.encode()
            out += bytes([len(raw)]) + raw
        return out
    if rtype == "SOA":
        return name_wire(t[0]) + name_wire(t[1]) + struct.pack(
            "!IIIII", *(int(x) for x in t[2:7]))
    if rtype == "DS":
        return struct.pack("!HBB", int(t[0]), int(t[1]), int(t[2])) + \
            bytes.fromhex("".join(t[3:]))
    if rtype == "DNSKEY":
        return struct.pack("!HBB", int(t[0]), int(t[1]), int(t[2])) + \
            base64.b64decode("".join(t[3:]))
    if rtype == "RRSIG":
        return struct.pack("!HBBIIIH", TYPES[t[0]] if t[0] in TYPES
                           else _typenum(t[0]), int(t[1]), int(t[2]),
                           int(t[3]), sig_time(t[4]), sig_time(t[5]),
                           int(t[6])) + name_wire(t[7]) + \
            base64.b64decode("".join(t[8:]))
    if rtype == "NSEC":
        # RFC 6840 5.1: the next name is not lowercased; lab names are.
        return name_wire(t[0]) + bitmap(t[1:])
    if rtype in ("NSEC3", "NSEC3PARAM"):
        salt = b"" if t[3] == "-" else bytes.fromhex(t[3])
        out = struct.pack("!BBH", int(t[0]), int(t[1]), int(t[2])) + \
            bytes([len(salt)]) + salt
        if rtype == "NSEC3PARAM":
            return out
        nxt = _b32hex(t[4])
        return out + bytes([len(nxt)]) + nxt + bitmap(t[5:])
    if rtype == "ZONEMD":
        return struct.pack("!IBB", int(t[0]), int(t[1]), int(t[2])) + \
            bytes.fromhex("".join(t[3:]))
    raise ZoneError(f"type {rtype} not supported")


def _b32hex(text):
    bits, nbits, out = 0, 0, bytearray()
    for ch in text.upper():
        bits = (bits << 5) | B32HEX.index(ch)
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
    return bytes(out)


def read_zone(path):
    """Parse ldns-style zone text (absolute owners, explicit TTL and class)."""
    rrs = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith(";"):
                continue
            if line.startswith("$"):
                raise ZoneError(f"{path}:{lineno}: directives unsupported")
            parts = line.split(None, 4)
            if len(parts) < 5 or parts[2] != "IN":
                raise ZoneError(f"{path}:{lineno}: cannot parse {line!r}")
            owner, ttl, _, rtype, rdata = parts
            try:
                rrs.append((owner.lower(), int(ttl), rtype,
                            rdata_wire(rtype, rdata.strip())))
            except (ValueError, IndexError, KeyError) as e:
                raise ZoneError(f"{path}:{lineno}: {e}") from e
    return rrs


def digests(rrs, origin):
    """Return (list of ZONEMD (serial, scheme, alg, digest)), computed SHA-384
    and SHA-512 digests of the SIMPLE scheme."""
    origin = origin.lower()
    zonemds, keep = [], set()
    for owner, ttl, rtype, wire in rrs:
        if owner == origin and rtype == "ZONEMD":
            serial, scheme, alg = struct.unpack("!IBB", wire[:6])
            zonemds.append((serial, scheme, alg, wire[6:]))
            continue
        if owner == origin and rtype == "RRSIG" and \
                struct.unpack("!H", wire[:2])[0] == TYPES["ZONEMD"]:
            continue
        keep.add((owner, ttl, rtype, wire))
    ordered = sorted(keep, key=lambda r: (name_key(r[0]), TYPES[r[2]], r[3]))
    h384, h512 = hashlib.sha384(), hashlib.sha512()
    for owner, ttl, rtype, wire in ordered:
        rec = name_wire(owner) + struct.pack("!HHIH", TYPES[rtype], 1, ttl,
                                             len(wire)) + wire
        h384.update(rec)
        h512.update(rec)
    return zonemds, {1: h384.digest(), 2: h512.digest()}


def verify(path, origin=None):
    """Return (ok, message) for the ZONEMD records of a zone file."""
    rrs = read_zone(path)
    soa = [r for r in rrs if r[2] == "SOA"]
    if not soa:
        return False, "no SOA"
    origin = origin or soa[0][0]
    serial = struct.unpack("!I", soa[0][3][-20:-16])[0]
    zonemds, computed = digests(rrs, origin)
    if not zonemds:
        return False, "no ZONEMD"
    for zserial, scheme, alg, digest in zonemds:
        if scheme == 1 and alg in computed and zserial == serial and \
                computed[alg] == digest:
            return True, f"ZONEMD scheme 1 hash {alg} matches"
    return False, "no ZONEMD matches the zone data"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    try:
        ok, msg = verify(sys.argv[1], sys.argv[2] if len(sys.argv) == 3
                         else None)
    except (OSError, ZoneError) as e:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    print(f"{sys.argv[1]}: {msg}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
