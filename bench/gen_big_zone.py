#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Generate a large signed zone for the mirror import benchmark, in one of two shapes.

Both shapes are delegation zones (default `big.test.`): delegation i has 2-4 NS records
(i % 3), and one in five has its name servers inside the delegated zone with A glue for each
and AAAA glue for the first two. NS and glue are never signed (RFC 4035 §2.2).

--shape dense (default, the shape of the first 1M-record figures): every delegation has an
  NSEC and its RRSIG, and one in three has a DS (SHA-256) and its RRSIG: about 1.33 RRSIGs
  per delegation, 200,000 per 1M records. This is the worst case for verification per record.
--shape tld: a national-TLD-like zone (the root, ru., su.): NSEC3 with opt-out (SHA-1, no
  salt, 0 extra iterations, RFC 9276), one delegation in ten is secure (DS), so only the apex,
  the DS RRsets and the NSEC3 RRs of the secure delegations are signed: about 0.2 RRSIGs per
  delegation, ~45,000 per 1M records.

--alg 13 (default): ECDSA P-256 KSK and ZSK. --alg 8: RSASHA256, 2048-bit KSK and ZSK, like
the root and most TLDs. The zone is signed by ldns-signzone with a ZONEMD SIMPLE/SHA-384
(`-z 1:1`); keys are made by ldns-keygen.

Delegations are added until the signed zone will hold at least --records resource records,
counting every RR in the signed file (SOA, NS, glue, DS, NSEC/NSEC3, NSEC3PARAM, DNSKEY,
ZONEMD and RRSIG alike). The exact count of the signed file is written to DIR/records.

The result is cached: DIR (default /tmp/ostrov-bigzone-<records> for dense/13, else
/tmp/ostrov-bigzone-<shape>-a<alg>-<records>) holds zone.signed, anchor.ds (the KSK's DS)
and params.json; a second call with the same parameters reuses it. Never commit the
generated zone.

Usage: gen_big_zone.py [--records N] [--shape dense|tld] [--alg 13|8] [--zone NAME]
                       [--dir DIR] [--force]
Prints the directory on stdout (last line).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_zonemd as zonemd  # noqa: E402

# Signatures are valid from 2026-01-01 to 2036-01-01; bench/mirror pins its clock inside.
INCEPTION = "20260101000000"
EXPIRATION = "20360101000000"
VERIFY_TIME = (1800000000, "20270115080000")  # unix seconds and ldns-verify-zone -t form
VERSION = 3  # bump when the layout changes so cached zones are regenerated
ALGS = {13: ("ECDSAP256SHA256", []), 8: ("RSASHA256", ["-b", "2048"])}


def delegation(i, zone, shape, alg):
    """Records (text lines) of delegation i and how many RRs the signed zone has for it."""
    label = hashlib.blake2b(i.to_bytes(4, "big"), digest_size=6).hexdigest()
    owner = "%s.%s" % (label, zone)
    nns = 2 + i % 3
    lines = []
    in_zone = i % 5 == 0
    for k in range(nns):
        ns = "ns%d.%s" % (k + 1, owner) if in_zone else "ns%d.host%d.net." % (k + 1, i % 997)
        lines.append("%s 86400 IN NS %s" % (owner, ns))
        if in_zone:
            lines.append("%s 86400 IN A 10.%d.%d.%d" % (ns, (i >> 16) & 255, (i >> 8) & 255,
                                                         (i + k) & 255))
            if k < 2:
                lines.append("%s 86400 IN AAAA 2001:db8:%x:%x::%x" % (ns, i >> 16, i & 0xffff,
                                                                       k + 1))
    if shape == "dense":
        signed = 2  # NSEC + its RRSIG
        secure = i % 3 == 1
    else:
        signed = 0  # opt-out: an insecure delegation has no NSEC3
        secure = i % 10 == 3
        if secure:
            signed = 2  # its NSEC3 + RRSIG
    if secure:
        digest = hashlib.sha256(owner.encode()).hexdigest().upper()
        lines.append("%s 86400 IN DS %d %d 2 %s" % (owner, 1000 + i % 60000, alg, digest))
        signed += 1  # the RRSIG over the DS (the DS itself is in lines)
    return lines, len(lines) + signed


def generate(a, d):
    zone = a.zone if a.zone.endswith(".") else a.zone + "."
    unsigned = os.path.join(d, "zone")
    # SOA, 2 NS, 2 DNSKEY, NSEC (or NSEC3 + NSEC3PARAM), ZONEMD and one RRSIG over each RRset
    apex_rrs = 12 if a.shape == "dense" else 14
    total, n = apex_rrs, 0
    t0 = time.monotonic()
    # tld shape: ldns-signzone -p only sets the opt-out flag and still chains every
    # delegation, so the insecure delegations are kept out of the signed part and merged in
    # afterwards (an opt-out span covers them, RFC 5155 §6), then the ZONEMD is recomputed.
    insecure = os.path.join(d, "insecure")
    with open(unsigned, "w") as f, open(insecure, "w") as g:
        f.write("$ORIGIN %s\n$TTL 86400\n" % zone)
        f.write("@ 3600 IN SOA a.nic.%s hostmaster.%s 2026112601 3600 900 604800 3600\n" %
                (zone, zone))
        f.write("@ 86400 IN NS a.nic.example.\n@ 86400 IN NS b.nic.example.\n")
        while total < a.records:
            lines, count = delegation(n, zone, a.shape, a.alg)
            out = g if a.shape == "tld" and not any(" DS " in x for x in lines) else f
            out.write("\n".join(lines))
            out.write("\n")
            total += count
            n += 1
    log("wrote %d delegations (~%d RRs signed) in %.1f s" % (n, total, time.monotonic() - t0))

    def keygen(*flags):
        name, extra = ALGS[a.alg]
        r = subprocess.run(["ldns-keygen", "-a", name, "-r", "/dev/urandom"] + extra +
                           list(flags) + [zone], cwd=d, check=True, capture_output=True,
                           text=True)
        return r.stdout.strip()

    ksk = keygen("-k")
    zsk = keygen()
    shutil.copy(os.path.join(d, ksk + ".ds"), os.path.join(d, "anchor.ds"))
    t0 = time.monotonic()
    denial = [] if a.shape == "dense" else ["-n", "-p", "-a", "1", "-t", "0"]
    subprocess.run(["ldns-signzone", "-z", "1:1", "-i", INCEPTION, "-e", EXPIRATION, "-f",
                    os.path.join(d, "zone.signed")] + denial + [unsigned, ksk, zsk], cwd=d,
                   check=True)
    sign_s = time.monotonic() - t0
    log("signed in %.1f s" % sign_s)
    os.unlink(unsigned)
    if a.shape == "tld":
        t0 = time.monotonic()
        zonemd.merge_and_digest(os.path.join(d, "zone.signed"), insecure, zone,
                                os.path.join(d, zsk + ".private"), int(zsk.split("+")[-1]),
                                a.alg)
        log("merged the insecure delegations and re-made the ZONEMD in %.1f s" %
            (time.monotonic() - t0))
    os.unlink(insecure)
    records = count_rrs(os.path.join(d, "zone.signed"))
    with open(os.path.join(d, "records"), "w") as f:
        f.write("%d\n" % records)
    return {"delegations": n, "records": records, "sign_s": round(sign_s, 1)}


def count_rrs(path):
    """RRs in an ldns-signzone output file: one record per line, no comments, no directives."""
    n = 0
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s and not s.startswith(";") and not s.startswith("$"):
                n += 1
    return n


def log(msg):
    print("gen_big_zone: " + msg, file=sys.stderr, flush=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1000000,
                    help="at least this many RRs in the signed zone")
    ap.add_argument("--shape", choices=("dense", "tld"), default="dense",
                    help="dense: every delegation signed (NSEC), DS for 1 in 3; tld: NSEC3 "
                    "opt-out, DS for 1 in 10")
    ap.add_argument("--alg", type=int, choices=sorted(ALGS), default=13,
                    help="13: ECDSA P-256; 8: RSASHA256 2048-bit")
    ap.add_argument("--zone", default="big.test.")
    ap.add_argument("--dir", help="cache directory (default /tmp/ostrov-bigzone-RECORDS)")
    ap.add_argument("--force", action="store_true", help="regenerate even if cached")
    a = ap.parse_args(argv)
    if a.dir:
        d = a.dir
    elif a.shape == "dense" and a.alg == 13:
        d = "/tmp/ostrov-bigzone-%d" % a.records
    else:
        d = "/tmp/ostrov-bigzone-%s-a%d-%d" % (a.shape, a.alg, a.records)
    want = {"version": VERSION, "zone": a.zone, "records_min": a.records,
            "inception": INCEPTION, "expiration": EXPIRATION, "shape": a.shape,
            "alg": a.alg}
    pfile = os.path.join(d, "params.json")
    if not a.force and os.path.exists(pfile):
        with open(pfile) as f:
            have = json.load(f)
        # zones cached before --shape/--alg existed are dense/13
        old = {"shape": "dense", "alg": 13}
        if all(have.get(k, old.get(k)) == v for k, v in want.items()) and \
                os.path.exists(os.path.join(d, "zone.signed")):
            log("cached in %s (%d RRs)" % (d, have["records"]))
            print(d)
            return 0
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    want.update(generate(a, d))
    want["verify_time"] = VERIFY_TIME[0]
    want["verify_time_ldns"] = VERIFY_TIME[1]
    with open(pfile, "w") as f:
        json.dump(want, f, indent=1)
    print(d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
