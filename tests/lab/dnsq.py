# SPDX-License-Identifier: BSD-2-Clause
"""Tiny stdlib DNS query helper for the loopback lab.

The lab needs to know when a freshly started NSD instance answers, and the
integration tests need the header bits (rcode, AA, section counts) of a reply
without spawning one dig process per question. This module builds one query
and reads the reply header; anything richer (record data, DNSSEC) is checked
with dig and ldns tools by the tests. It refuses to talk to any address
outside 127.0.0.0/8.
"""

import ipaddress
import random
import socket
import struct

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH"}
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
          "AAAA": 28, "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
          "NSEC3": 50, "ZONEMD": 63, "AXFR": 252, "ANY": 255}

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class QueryError(Exception):
    """No usable reply: timeout, refused port, or a malformed reply."""


def check_loopback(addr):
    """Raise ValueError unless addr is an IPv4 address in 127.0.0.0/8."""
    if ipaddress.ip_address(addr) not in LOOPBACK:
        raise ValueError(f"{addr}: the lab only talks to 127.0.0.0/8")


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError(f"label too long in {name}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(qname, qtype, rd=False, dnssec=False, qid=None):
    """Return (id, wire) for one question, with an EDNS OPT record."""
    qid = random.randrange(65536) if qid is None else qid
    flags = 0x0100 if rd else 0
    header = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1)
    question = encode_name(qname) + struct.pack("!HH", QTYPES[qtype], 1)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000 if dnssec else 0, 0)
    return qid, header + question + opt


class Reply:
    """The header of a reply: rcode name, flags and section counts."""

    def __init__(self, wire):
        if len(wire) < 12:
            raise QueryError("short reply")
        (self.id, flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!HHHHHH", wire[:12])
        self.qr = bool(flags & 0x8000)
        self.aa = bool(flags & 0x0400)
        self.tc = bool(flags & 0x0200)
        self.ra = bool(flags & 0x0080)
        self.ad = bool(flags & 0x0020)
        self.rcode = RCODES.get(flags & 0xF, str(flags & 0xF))
        self.wire = wire

    def __repr__(self):
        return (f"Reply(rcode={self.rcode} aa={self.aa} an={self.ancount} "
                f"ns={self.nscount} ar={self.arcount})")


def _skip_name(wire, pos):
    """Return the offset just past the (possibly compressed) name at pos."""
    while True:
        if pos >= len(wire):
            raise QueryError("truncated name")
        length = wire[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def soa_serial(reply):
    """The serial of the first SOA in the answer section, or None."""
    wire = reply.wire
    pos = 12
    for _ in range(reply.qdcount):
        pos = _skip_name(wire, pos) + 4
    for _ in range(reply.ancount):
        pos = _skip_name(wire, pos)
        if pos + 10 > len(wire):
            raise QueryError("truncated record")
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10
        if rtype == QTYPES["SOA"]:
            p = _skip_name(wire, _skip_name(wire, pos))
            if p + 4 > len(wire):
                raise QueryError("truncated SOA")
            return struct.unpack("!I", wire[p:p + 4])[0]
        pos += rdlen
    return None


def query(addr, qname, qtype="A", port=53, timeout=1.0, rd=False,
          dnssec=False, tcp=False):
    """Send one query to addr:port over UDP (or TCP) and return a Reply.

    Raises QueryError on timeout, ICMP port unreachable (refused) or a reply
    whose id does not match.
    """
    check_loopback(addr)
    qid, wire = build_query(qname, qtype, rd=rd, dnssec=dnssec)
    try:
        if tcp:
            with socket.create_connection((addr, port), timeout=timeout) as s:
                s.sendall(struct.pack("!H", len(wire)) + wire)
                length = struct.unpack("!H", _recv_exact(s, 2))[0]
                data = _recv_exact(s, length)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.connect((addr, port))
                s.send(wire)
                data = s.recv(65535)
    except socket.timeout as e:
        raise QueryError(f"{addr}: timeout") from e
    except ConnectionRefusedError as e:
        raise QueryError(f"{addr}: connection refused") from e
    except OSError as e:
        raise QueryError(f"{addr}: {e}") from e
    reply = Reply(data)
    if reply.id != qid or not reply.qr:
        raise QueryError(f"{addr}: reply does not match the query")
    return reply


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise QueryError("connection closed")
        buf += chunk
    return buf
