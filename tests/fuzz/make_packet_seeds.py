#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Writes the hand-made seed corpus of fuzz_packet: one valid query of each
# shape and one packet for each malformation the classifier must handle.
import struct

from seedlib import corpus_dir, name, write_seeds

d = corpus_dir('packet')


def hdr(id=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!HHHHHH', id, flags, qd, an, ns, ar)


q = struct.pack('!HH', 1, 1)
opt = b'\0' + struct.pack('!HHIH', 41, 1232, 0x8000, 0)
seeds = {
    'query_a': hdr() + name('www.example.ru') + q,
    'query_edns_do': hdr(ar=1) + name('example.com') + struct.pack('!HH', 28, 1) + opt,
    'short_header': hdr()[:7],
    'response': hdr(flags=0x8180) + name('a') + q,
    'qdcount2': hdr(qd=2) + name('a') + q + name('b') + q,
    'notify_opcode': hdr(flags=0x2000) + name('ru') + struct.pack('!HH', 6, 1),
    'label64': hdr() + bytes([64]) + b'a' * 64 + b'\0' + q,
    'name256': hdr() + (bytes([63]) + b'b' * 63) * 4 + b'\0' + q,
    'compression_loop': hdr() + b'\xc0\x0c' + q,
    'forward_pointer': hdr() + b'\xc0\x20' + q + b'\0' * 20,
    'edns_version1': hdr(ar=1) + name('x') + q + b'\0' + struct.pack('!HHIH', 41, 1232, 0x00010000, 0),
    'truncated_question': hdr() + name('example.org')[:5],
    'empty': b'',
}
write_seeds(d, seeds)
