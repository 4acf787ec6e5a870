#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Writes the hand-made seed corpus of fuzz_xfr: a mode byte (see fuzz_xfr.c)
# then a TCP stream of 2-byte-length-prefixed AXFR/IXFR answer messages for
# "example.", packed by hand in RFC 1035 wire format: complete transfers in
# one and in several messages, IXFR (incremental, up to date), and broken
# ones (wrong question, REFUSED, no closing SOA, out-of-zone records), and
# IXFR differences applied to a stored base version (mode bit 0x08).
import struct

from seedlib import corpus_dir, name, rr, write_seeds

d = corpus_dir('xfr')

A, NS, SOA, TXT, AXFR, IXFR = 1, 2, 6, 16, 252, 251


def soa(serial):
    return rr('example', SOA, name('ns1.example') + name('admin.example') +
              struct.pack('!IIIII', serial, 1800, 900, 604800, 86400))


def msg(records, qtype=AXFR, rcode=0, question=True, qname='example'):
    h = struct.pack('!HHHHHH', 0, 0x8400 | rcode, 1 if question else 0, len(records), 0, 0)
    q = name(qname) + struct.pack('!HH', qtype, 1) if question else b''
    return h + q + b''.join(records)


def stream(mode, msgs):
    return bytes([mode]) + b''.join(struct.pack('!H', len(m)) + m for m in msgs)


body = [rr('example', NS, name('ns1.example')), rr('ns1.example', A, bytes([127, 53, 2, 1])),
        rr('www.example', TXT, b'\x05hello')]
seeds = {
    'axfr_one_message': stream(0, [msg([soa(2018031901)] + body + [soa(2018031901)])]),
    'axfr_three_messages': stream(0, [msg([soa(2018031901), body[0]]),
                                      msg([body[1]], question=False),
                                      msg([body[2], soa(2018031901)], question=False)]),
    'axfr_no_closing_soa': stream(0, [msg([soa(2018031901)] + body)]),
    'axfr_out_of_zone': stream(0, [msg([soa(2018031901), rr('evil.test', A, b'\1\2\3\4')] + body +
                                       [soa(2018031901)])]),
    'axfr_wrong_question': stream(0, [msg([soa(2018031901)] + body + [soa(2018031901)], qname='other')]),
    'axfr_refused': stream(0, [msg([], rcode=5)]),
    'ixfr_up_to_date': stream(1, [msg([soa(2018031900)], qtype=IXFR)]),
    'ixfr_incremental': stream(1, [msg([soa(2018031902), soa(2018031900), body[2], soa(2018031902),
                                        rr('www.example', TXT, b'\x03new'), soa(2018031902)], qtype=IXFR),
                                   msg([soa(2018031902)] + body + [soa(2018031902)])]),
    'ixfr_full_answer': stream(1, [msg([soa(2018031903)] + body + [soa(2018031903)], qtype=IXFR)]),
    # With the base version stored: differences applied to it.
    'ixfr_applied': stream(9, [msg([soa(2018031902), soa(2018031900), body[2], soa(2018031902),
                                    rr('www.example', TXT, b'\x03new'), soa(2018031902)], qtype=IXFR)]),
    'ixfr_delete_missing': stream(9, [msg([soa(2018031902), soa(2018031900),
                                           rr('nope.example', A, b'\1\2\3\4'), soa(2018031902),
                                           soa(2018031902)], qtype=IXFR)]),
    'ixfr_wrong_base': stream(9, [msg([soa(2018031902), soa(2018031899), body[2], soa(2018031902),
                                       soa(2018031902)], qtype=IXFR)]),
    'axfr_lower_serial': stream(8, [msg([soa(2018031800)] + body + [soa(2018031800)])]),
    'tsig_unsigned': stream(2, [msg([soa(2018031901)] + body + [soa(2018031901)])]),
    'wrong_id': stream(4, [msg([soa(2018031901)] + body + [soa(2018031901)])]),
}
write_seeds(d, seeds)
