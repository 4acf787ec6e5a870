# SPDX-License-Identifier: BSD-2-Clause
# What the make_*_seeds.py scripts share: names and resource records packed
# by hand in RFC 1035 wire format, and writing a seed corpus directory
# (argv[1], else corpus/<target> beside this file).
import os
import struct
import sys


def name(s):
    out = b''
    for label in s.strip('.').split('.'):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def rr(owner, rtype, rdata, ttl=3600, cls=1):
    o = owner if isinstance(owner, bytes) else name(owner)
    return o + struct.pack('!HHIH', rtype, cls, ttl, len(rdata)) + rdata


def corpus_dir(target):
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus', target)
    os.makedirs(d, exist_ok=True)
    return d


def write_seeds(d, seeds):
    for k, v in seeds.items():
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)
