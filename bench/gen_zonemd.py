# SPDX-License-Identifier: BSD-2-Clause
"""ZONEMD for gen_big_zone.py's tld shape: merge unsigned delegations into a signed zone file
and re-make its ZONEMD (RFC 8976 SIMPLE, SHA-384) and the ZSK's RRSIG over it.

Why here and not ldns: ldns-signzone -p sets the NSEC3 opt-out flag but still puts every
delegation in the chain, and `ldns-signzone -Z` (ZONEMD without keys) drops the existing
RRSIGs. So the generator signs the secure part with ldns-signzone, appends the insecure
delegations (covered by opt-out spans, RFC 5155 §6), and this module digests the result.
It is an independent implementation of the digest (Python, canonical wire forms of the few
types the generator writes), checked by bench/mirror's own ZONEMD code and, where it does not
hang on NSEC3 zones (NLnetLabs/ldns#287), by ldns-verify-zone -ZZ.

Only what gen_big_zone.py writes is supported: names without escapes, class IN, and the types
SOA NS A AAAA DS DNSKEY RRSIG NSEC3 NSEC3PARAM ZONEMD.
"""
import base64
import calendar
import hashlib
import ipaddress
import struct
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TYPES = {"A": 1, "NS": 2, "SOA": 6, "AAAA": 28, "DS": 43, "RRSIG": 46, "NSEC": 47,
         "DNSKEY": 48, "NSEC3": 50, "NSEC3PARAM": 51, "ZONEMD": 63}


def name_wire(n):
    n = n.lower()
    if n == ".":
        return b"\0"
    assert n.endswith("."), n
    return b"".join(bytes([len(lab)]) + lab.encode() for lab in n[:-1].split(".")) + b"\0"


def name_key(n):
    n = n.lower()
    return [] if n == "." else [lab.encode() for lab in reversed(n[:-1].split("."))]


def sig_time(s):
    return calendar.timegm(time.strptime(s, "%Y%m%d%H%M%S"))


def bitmap(types):
    nums = sorted(TYPES[t] for t in types)
    out = b""
    for win in sorted({t >> 8 for t in nums}):
        bits = bytearray(32)
        for t in nums:
            if t >> 8 == win:
                bits[(t & 255) >> 3] |= 0x80 >> (t & 7)
        n = max(i for i in range(32) if bits[i]) + 1
        out += bytes([win, n]) + bytes(bits[:n])
    return out


def rdata_wire(rtype, f):
    if rtype == "A":
        return ipaddress.IPv4Address(f[0]).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(f[0]).packed
    if rtype == "NS":
        return name_wire(f[0])
    if rtype == "SOA":
        return name_wire(f[0]) + name_wire(f[1]) + struct.pack("!5I", *map(int, f[2:7]))
    if rtype == "DS":
        return struct.pack("!HBB", int(f[0]), int(f[1]), int(f[2])) + bytes.fromhex(
            "".join(f[3:]))
    if rtype == "DNSKEY":
        return struct.pack("!HBB", int(f[0]), int(f[1]), int(f[2])) + base64.b64decode(
            "".join(f[3:]))
    if rtype == "RRSIG":
        return rrsig_head(f) + base64.b64decode("".join(f[8:]))
    if rtype in ("NSEC3", "NSEC3PARAM"):
        salt = b"" if f[3] == "-" else bytes.fromhex(f[3])
        w = struct.pack("!BBH", int(f[0]), int(f[1]), int(f[2])) + bytes([len(salt)]) + salt
        if rtype == "NSEC3":
            h = base64.b32hexdecode(f[4].upper())
            w += bytes([len(h)]) + h + bitmap(f[5:])
        return w
    if rtype == "ZONEMD":
        return struct.pack("!IBB", int(f[0]), int(f[1]), int(f[2])) + bytes.fromhex(
            "".join(f[3:]))
    raise ValueError("type %s not supported" % rtype)


def rrsig_head(f):
    """RRSIG rdata up to and including the signer's name (RFC 4034 §3.1.8.1)."""
    return struct.pack("!HBBIIIH", TYPES[f[0]], int(f[1]), int(f[2]), int(f[3]),
                       sig_time(f[4]), sig_time(f[5]), int(f[6])) + name_wire(f[7])


def parse_line(line):
    line = line.split(";", 1)[0]
    f = line.split()
    if not f:
        return None
    return f[0], int(f[1]), f[2], f[3], f[4:]


def load_private(path, alg):
    kv = {}
    with open(path) as fh:
        for line in fh:
            if ":" in line:
                k, v = line.split(":", 1)
                kv[k.strip()] = v.strip()

    def num(k):
        return int.from_bytes(base64.b64decode(kv[k]), "big")
    if alg == 8:
        pub = rsa.RSAPublicNumbers(num("PublicExponent"), num("Modulus"))
        return rsa.RSAPrivateNumbers(num("Prime1"), num("Prime2"), num("PrivateExponent"),
                                     num("Exponent1"), num("Exponent2"), num("Coefficient"),
                                     pub).private_key()
    return ec.derive_private_key(num("PrivateKey"), ec.SECP256R1())


def sign(key, alg, data):
    if alg == 8:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def merge_and_digest(signed_path, extra_path, zone, zsk_private, zsk_tag, alg):
    """Rewrite signed_path: its records plus extra_path's, a new apex ZONEMD and RRSIG."""
    apex = zone.lower()
    keep, recs = [], []
    zonemd_ttl, old_sig = 3600, None
    serial = None
    for path in (signed_path, extra_path):
        with open(path) as fh:
            for line in fh:
                r = parse_line(line)
                if r is None:
                    continue
                owner, ttl, cls, rtype, f = r
                if owner.lower() == apex and rtype == "ZONEMD":
                    zonemd_ttl = ttl
                    continue
                if owner.lower() == apex and rtype == "RRSIG" and f[0] == "ZONEMD":
                    old_sig = f
                    continue
                if owner.lower() == apex and rtype == "SOA":
                    serial = int(f[2])
                keep.append(line if line.endswith("\n") else line + "\n")
                recs.append((name_key(owner), TYPES[rtype], rdata_wire(rtype, f), owner, ttl))
    assert old_sig is not None and serial is not None, "no apex ZONEMD RRSIG or SOA"
    recs.sort(key=lambda x: (x[0], x[1], x[2]))
    h = hashlib.sha384()
    prev = None
    for key, t, rd, owner, ttl in recs:
        if prev == (key, t, rd):
            continue  # duplicates are digested once (RFC 8976 §3.3.1.1)
        prev = (key, t, rd)
        h.update(name_wire(owner) + struct.pack("!HHIH", t, 1, ttl, len(rd)) + rd)
    zmd_rd = struct.pack("!IBB", serial, 1, 1) + h.digest()
    # The RRSIG over the ZONEMD: same labels, TTL and validity as ldns-signzone's, ZSK.
    sig_f = ["ZONEMD", str(alg), old_sig[2], str(zonemd_ttl), old_sig[4], old_sig[5],
             str(zsk_tag), zone]
    data = rrsig_head(sig_f) + name_wire(zone) + struct.pack(
        "!HHIH", TYPES["ZONEMD"], 1, zonemd_ttl, len(zmd_rd)) + zmd_rd
    sig = sign(load_private(zsk_private, alg), alg, data)
    with open(signed_path, "w") as out:
        out.writelines(keep)
        out.write("%s\t%d\tIN\tZONEMD\t%d 1 1 %s\n" % (zone, zonemd_ttl, serial,
                                                      h.hexdigest()))
        out.write("%s\t%d\tIN\tRRSIG\t%s %s\n" % (zone, zonemd_ttl, " ".join(sig_f),
                                                 base64.b64encode(sig).decode()))
