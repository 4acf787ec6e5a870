#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Generate a large signed, delegation-heavy zone for the mirror import benchmark.

The zone (default `big.test.`) looks like a national TLD: almost every name is a delegation.
Delegation i has 2-4 NS records (i % 3); one in five has its name servers inside the
delegated zone with A glue for each and AAAA glue for the first two; one in three has a DS
(SHA-256). It is signed with ECDSA P-256 (a KSK and a ZSK made by ldns-keygen) and NSEC by
ldns-signzone, with a ZONEMD SIMPLE/SHA-384 (`-z 1:1`), so only the apex RRsets, the DS
RRsets and the NSEC RRsets carry signatures (about 1.33 per delegation) -- the realistic
case, and the one ldns-signzone can sign in reasonable time. NSEC, not NSEC3: ldns 1.8.3's
ZONEMD verification hangs on some NSEC3 zones (NLnetLabs/ldns#287).

Delegations are added until the signed zone will hold at least --records resource records,
counting every RR in the signed file (SOA, NS, glue, DS, NSEC, DNSKEY, ZONEMD and RRSIG
alike). The exact count of the signed file is written to DIR/records.

The result is cached: DIR (default /tmp/ostrov-bigzone-<records>) holds zone.signed,
anchor.ds (the KSK's DS) and params.json; a second call with the same parameters reuses it.
Never commit the generated zone.

Usage: gen_big_zone.py [--records N] [--zone NAME] [--dir DIR] [--force]
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

# Signatures are valid from 2026-01-01 to 2036-01-01; bench/mirror pins its clock inside.
INCEPTION = "20260101000000"
EXPIRATION = "20360101000000"
VERIFY_TIME = (1800000000, "20270115080000")  # unix seconds and ldns-verify-zone -t form
VERSION = 3  # bump when the layout changes so cached zones are regenerated


def delegation(i, zone):
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
    signed = 2  # NSEC + its RRSIG
    if i % 3 == 1:
        digest = hashlib.sha256(owner.encode()).hexdigest().upper()
        lines.append("%s 86400 IN DS %d 13 2 %s" % (owner, 1000 + i % 60000, digest))
        signed += 1  # the RRSIG over the DS (the DS itself is in lines)
    return lines, len(lines) + signed


def generate(a, d):
    zone = a.zone if a.zone.endswith(".") else a.zone + "."
    unsigned = os.path.join(d, "zone")
    apex_rrs = 12  # SOA, 2 NS, 2 DNSKEY, NSEC, ZONEMD and one RRSIG over each RRset
    total, n = apex_rrs, 0
    t0 = time.monotonic()
    with open(unsigned, "w") as f:
        f.write("$ORIGIN %s\n$TTL 86400\n" % zone)
        f.write("@ 3600 IN SOA a.nic.%s hostmaster.%s 2026112601 3600 900 604800 3600\n" %
                (zone, zone))
        f.write("@ 86400 IN NS a.nic.example.\n@ 86400 IN NS b.nic.example.\n")
        while total < a.records:
            lines, count = delegation(n, zone)
            f.write("\n".join(lines))
            f.write("\n")
            total += count
            n += 1
    log("wrote %d delegations (~%d RRs signed) in %.1f s" % (n, total, time.monotonic() - t0))

    def keygen(*flags):
        r = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-r", "/dev/urandom"] +
                           list(flags) + [zone], cwd=d, check=True, capture_output=True,
                           text=True)
        return r.stdout.strip()

    ksk = keygen("-k")
    zsk = keygen()
    shutil.copy(os.path.join(d, ksk + ".ds"), os.path.join(d, "anchor.ds"))
    t0 = time.monotonic()
    subprocess.run(["ldns-signzone", "-z", "1:1", "-i", INCEPTION, "-e", EXPIRATION, "-f",
                    os.path.join(d, "zone.signed"), unsigned, ksk, zsk], cwd=d, check=True)
    sign_s = time.monotonic() - t0
    log("signed in %.1f s" % sign_s)
    os.unlink(unsigned)
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
    ap.add_argument("--zone", default="big.test.")
    ap.add_argument("--dir", help="cache directory (default /tmp/ostrov-bigzone-RECORDS)")
    ap.add_argument("--force", action="store_true", help="regenerate even if cached")
    a = ap.parse_args(argv)
    d = a.dir or "/tmp/ostrov-bigzone-%d" % a.records
    want = {"version": VERSION, "zone": a.zone, "records_min": a.records,
            "inception": INCEPTION, "expiration": EXPIRATION}
    pfile = os.path.join(d, "params.json")
    if not a.force and os.path.exists(pfile):
        with open(pfile) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()) and \
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
