#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Writes the hand-made seed corpus of fuzz_response: upstream replies of
# every shape the iterator meets (referral with glue, signed answer, NXDOMAIN
# with NSEC, CNAME chain, TC=1, FORMERR, compression tricks), packed by hand
# in RFC 1035 wire format. The ID of each seed carries the run mode of
# fuzz_response.c (0x1 patch ID/question, 0x2 answer every query, 0x4
# validate, 0x8 no QNAME minimisation, 0x30 client QTYPE, 0x40 DO, 0x80 CD).
# The question is the one the engine asks first in that mode ("ru. A" with
# minimisation, "www.example.ru. A" without), so compression offsets stay
# right after the patch.
import struct

from seedlib import corpus_dir, name, rr, write_seeds

d = corpus_dir('response')

A, NS, CNAME, SOA, TXT, AAAA, OPT, DS, RRSIG, NSEC, DNSKEY = 1, 2, 5, 6, 16, 28, 41, 43, 46, 47, 48


def rrsig(covered, labels, signer, tag=12345):
    return (struct.pack('!HBBIIIH', covered, 13, labels, 3600, 1769904000, 1764720000, tag) +
            name(signer) + b'\x5a' * 64)


def nsec(nxt, types):
    bitmap = bytearray(32)
    for t in types:
        bitmap[t // 8] |= 0x80 >> (t % 8)
    n = max(t // 8 for t in types) + 1
    return name(nxt) + bytes([0, n]) + bytes(bitmap[:n])


def soa(mname, rname):
    return name(mname) + name(rname) + struct.pack('!IIIII', 2026010101, 3600, 600, 864000, 300)


def msg(mode, flags, qname, qtype, an=(), ns=(), ar=(), edns=True):
    ar = list(ar)
    if edns:
        ar.append(b'\0' + struct.pack('!HHIH', OPT, 1232, 0x8000, 0))
    h = struct.pack('!HHHHHH', mode, flags, 1, len(an), len(ns), len(ar))
    return h + name(qname) + struct.pack('!HH', qtype, 1) + b''.join(an) + b''.join(ns) + b''.join(ar)


QR, AA, TC = 0x8000, 0x0400, 0x0200
P, ALL, VAL, NOQMIN = 0x1, 0x2, 0x4, 0x8
ip = lambda s: bytes(int(x) for x in s.split('.'))
full = 'www.example.ru'

seeds = {
    # Root refers to ru. with glue; answered to every query (goes deep).
    'referral_glue': msg(P | ALL, QR, 'ru', A, ns=[
        rr('ru', NS, name('a.dns.ru')), rr('ru', NS, name('b.dns.ru')),
        rr('ru', DS, struct.pack('!HBB', 12345, 13, 2) + b'\x11' * 32),
        rr('ru', RRSIG, rrsig(DS, 1, '.'))],
        ar=[rr('a.dns.ru', A, ip('127.53.1.1')), rr('b.dns.ru', AAAA, b'\0' * 15 + b'\1')]),
    # Referral without glue: a sub-request for the name server's address.
    'referral_noglue': msg(P | ALL | NOQMIN, QR, full, A, ns=[
        rr('example.ru', NS, name('ns.example.net'))]),
    # Signed positive answer, validated (the signature is junk: bogus).
    'answer_rrsig': msg(P | VAL | NOQMIN | 0x40, QR | AA, full, A, an=[
        rr(full, A, ip('127.0.0.80')), rr(full, RRSIG, rrsig(A, 3, 'example.ru'))]),
    # NXDOMAIN with the SOA and an NSEC proof, with RRSIGs.
    'nxdomain_nsec': msg(P | ALL | VAL | NOQMIN, QR | AA | 3, full, A, ns=[
        rr('example.ru', SOA, soa('ns.example.ru', 'hostmaster.example.ru'), ttl=300),
        rr('example.ru', RRSIG, rrsig(SOA, 2, 'example.ru')),
        rr('mail.example.ru', NSEC, nsec('zzz.example.ru', [A, RRSIG, NSEC])),
        rr('mail.example.ru', RRSIG, rrsig(NSEC, 3, 'example.ru')),
        rr('example.ru', NSEC, nsec('mail.example.ru', [NS, SOA, RRSIG, NSEC, DNSKEY]))]),
    # CNAME chain leaving the zone, then an answer for the target.
    'cname_chain': msg(P | ALL | NOQMIN, QR | AA, full, A, an=[
        rr(full, CNAME, name('a.example.ru')),
        rr('a.example.ru', CNAME, name('b.example.net')),
        rr('b.example.net', A, ip('127.0.0.9'))]),
    # DNAME with its synthesised CNAME.
    'dname': msg(P | NOQMIN, QR | AA, full, A, an=[
        rr('example.ru', 39, name('example.org')),
        rr(full, CNAME, name('www.example.org'))]),
    # TC=1 over UDP: the engine retries over TCP and gets the same again.
    'truncated': msg(P | ALL, QR | TC, 'ru', A),
    # FORMERR to EDNS: retried without OPT.
    'formerr': msg(P | ALL, QR | 1, 'ru', A, edns=False),
    # NODATA with SOA for the AAAA question (client QTYPE AAAA).
    'nodata_aaaa': msg(P | NOQMIN | 0x10, QR | AA, full, AAAA, ns=[
        rr('example.ru', SOA, soa('ns.example.ru', 'h.example.ru'))]),
    # Owner names compressed to the question (offset 12) and to each other.
    'compression': msg(P | NOQMIN, QR | AA, full, A, an=[
        rr(b'\xc0\x0c', CNAME, b'\x01a\xc0\x10'),
        rr(b'\x01a\xc0\x10', A, ip('127.0.0.7'))]),
    # A pointer to itself in the answer's owner name.
    'compression_loop': msg(P | NOQMIN, QR | AA, full, A, an=[
        rr(b'\xc0\x20', A, ip('127.0.0.7'))]),
    # rdlength longer than the message.
    'rdlen_overrun': msg(P | NOQMIN, QR | AA, full, A)[:] + b'',
    # Not patched: the wrong ID is ignored until the query times out.
    'unpatched': msg(0, QR | AA, full, A, an=[rr(full, A, ip('127.0.0.1'))]),
    # Upward referral (lame) to every query.
    'upward_referral': msg(P | ALL | NOQMIN, QR, full, A, ns=[rr('.', NS, name('a.root.test'))]),
}
# rdlen_overrun: claim one answer whose rdata runs past the end.
m = bytearray(seeds['rdlen_overrun'])
m[7] = 1
seeds['rdlen_overrun'] = bytes(m[:-11]) + name(full) + struct.pack('!HHIH', A, 1, 60, 400) + b'\x7f\0'

write_seeds(d, seeds)
