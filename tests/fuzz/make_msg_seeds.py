#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Writes the hand-made seed corpus of fuzz_msg: OST_CTAG_MSG payloads in the
# version-1 layout of resolver/answer.c (our fields in host byte order, here
# little-endian x86-64; records in DNS wire order), each prefixed with the
# two mode bytes of fuzz_msg.c (entry, client).
import struct

from seedlib import corpus_dir, name, rr, write_seeds

d = corpus_dir('msg')


def rec(owner, rtype, rdata, ttl=300):
    o = name(owner)
    return o, rtype, rr(o, rtype, rdata, ttl)


def payload(qname, qtype, rcode, sections):
    qn = name(qname)
    recs, descs, blob = [], b'', b''
    counts = [0, 0, 0]
    for sec, (owner, rtype, wire) in sections:
        descs += struct.pack('<HHHBB', len(blob), len(wire), rtype, sec, len(owner))
        blob += wire
        counts[sec] += 1
    hdr = struct.pack('<BBBBHHHHHH', 1, 0, rcode, len(qn), qtype, 1, counts[0], counts[1], counts[2],
                      len(sections))
    return hdr + qn + descs + blob


A, NS, CNAME, SOA, RRSIG, NSEC = 1, 2, 5, 6, 46, 47
soa = name('ns.example') + name('h.example') + struct.pack('!IIIII', 1, 3600, 600, 86400, 300)
sig = struct.pack('!HBBIIIH', A, 13, 2, 300, 1769904000, 1764720000, 1) + name('example') + b'\x5a' * 64
seeds = {
    'answer_a': (0x02, 0x01, payload('www.example', A, 0, [(0, rec('www.example', A, b'\x7f\0\0\1'))])),
    'answer_signed_do': (0x02, 0x03, payload('www.example', A, 0, [
        (0, rec('www.example', A, b'\x7f\0\0\1')), (0, rec('www.example', RRSIG, sig))])),
    'cname_nxdomain': (0x01, 0x00, payload('a.example', A, 3, [
        (0, rec('a.example', CNAME, name('b.example'))), (1, rec('example', SOA, soa)),
        (1, rec('a.example', NSEC, name('c.example') + b'\0\1\x40'))])),
    'referral_glue_tcp': (0x00, 0x09, payload('x.example', A, 0, [
        (1, rec('example', NS, name('ns.example'))), (2, rec('ns.example', A, b'\x7f\0\0\2'))])),
    'small_buffer': (0x00, 0x11, payload('www.example', A, 0, [(0, rec('www.example', A, b'\x7f\0\0\1'))] * 8)),
    'bad_version': (0x00, 0x00, b'\x02' + payload('www.example', A, 0, [])[1:]),
}
write_seeds(d, {k: bytes([e, c]) + p for k, (e, c, p) in seeds.items()})
