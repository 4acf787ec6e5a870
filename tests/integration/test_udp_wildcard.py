#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ostrovd on wildcard listen addresses answers every UDP query from the
address it was sent to (server/udp.c, udp_cmsg.c: IP_PKTINFO, IPV6_PKTINFO).

usage: test_udp_wildcard.py OSTROVD

One worker listening on 0.0.0.0@P and [::]@P, a resolver whose only root
server is a small authoritative stand-in on 127.0.0.1 (this script: it
answers every A query with one A record, AA set), validation off. A client
bound to 127.0.0.1 sends queries to 127.0.0.2, 127.0.0.3 and 127.0.0.1, and
one on ::1 to ::1. Every reply must come from the address and port its query
was sent to, for:

1. cache misses: the reply is made when the upstream answer arrives, from
   the reply target held meanwhile (the stand-in must have seen the query);
2. cache hits, one at a time (answered inside the receive batch; asked
   until a round needs no upstream query, as the cache commits its writes
   a moment after the answer);
3. a burst of cache hits to the three addresses sent before reading, so that
   one receive batch holds replies to one client from several addresses
   (UDP GSO, on by default, may group only those from one address).

Without IP_PKTINFO Linux sends every reply to a loopback client from
127.0.0.1 (the preferred source of the local 127.0.0.0/8 route), so the
127.0.0.2 and 127.0.0.3 checks fail then. Loopback has one IPv6 address,
so the ::1 checks only show that the IPV6_PKTINFO path answers at all.
Nothing leaves loopback. Waiting is on replies and log lines, with deadlines.
"""

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TMP = tempfile.mkdtemp(prefix="ost_wild_")
PROCS = []
V4_TARGETS = ["127.0.0.2", "127.0.0.3", "127.0.0.1"]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

check = L.Checks()
free_port = L.free_port  # below the ephemeral range: no client's source port


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def query(qid, name):
    """A recursive (RD=1) query for NAME A."""
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode()
    return msg + b"\0" + struct.pack("!HH", 1, 1)


class StandIn(threading.Thread):
    """The root server: every A query gets an authoritative answer of one A
    record (192.0.2.7 is only data here, never an address anything is sent
    to); other types get an empty NOERROR. Names asked are counted."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked = {}
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            m, peer = self.sock.recvfrom(4096)
            if len(m) < 17:
                continue
            end = 12
            while end < len(m) and m[end] != 0:
                end += 1 + m[end]
            qend = end + 5
            if qend > len(m):
                continue
            qname = m[12:end + 1]
            qtype = struct.unpack("!H", m[end + 1:end + 3])[0]
            name = self.wire_name(qname).lower()
            with self.lock:
                self.asked[name] = self.asked.get(name, 0) + 1
            rd = struct.unpack("!H", m[2:4])[0] & 0x0100
            an = 1 if qtype == 1 else 0
            out = m[:2] + struct.pack("!HHHHH", 0x8400 | rd, 1, an, 0, 0) + m[12:qend]
            if an:
                out += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + bytes([192, 0, 2, 7])
            self.sock.sendto(out, peer)

    @staticmethod
    def wire_name(w):
        labels, i = [], 0
        while i < len(w) and w[i]:
            labels.append(w[i + 1:i + 1 + w[i]].decode(errors="replace"))
            i += 1 + w[i]
        return ".".join(labels) + "."

    def count(self, name):
        with self.lock:
            return self.asked.get(name, 0)


class Daemon:
    def __init__(self, ostrovd, upstream_port, v6):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(dir=TMP)
        hints = os.path.join(self.dir, "root.hints")
        with open(hints, "w") as f:
            f.write(". 3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.1\n")
        listen = f'"0.0.0.0@{self.port}"' + (f', "[::]@{self.port}"' if v6 else "")
        conf = os.path.join(self.dir, "ostrov.yaml")
        with open(conf, "w") as f:
            f.write(f"""server:
  listen: [{listen}]
  workers: 1
  log-level: info
access:
  allow: ["127.0.0.0/8", "::1/128"]
resolver:
  root-hints-file: {hints}
  upstream-allow: ["127.0.0.0/8"]
  upstream-port: {upstream_port}
  qname-minimisation: no
  validation: no
cache:
  path: {self.dir}/cache
  size: 16M
""")
        self.log = os.path.join(self.dir, "ostrovd.log")
        with open(self.log, "w") as lf:
            self.proc = subprocess.Popen([ostrovd, "-c", conf], stdout=lf,
                                         stderr=subprocess.STDOUT)
        PROCS.append(self.proc)

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def started(self):
        end = time.monotonic() + 15
        while time.monotonic() < end and self.proc.poll() is None:
            if 'msg="started"' in self.log_text():
                return True
            time.sleep(0.05)  # polling interval of a deadline poll
        return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def client(family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    s.setblocking(False)
    return s


def exchange(sock, sends, deadline_s=10):
    """Send (qid, name, addr, port) queries, then read a reply to each.
    @return {qid: (source address, source port, rcode, ancount)}"""
    for qid, name, addr, port in sends:
        sock.sendto(query(qid, name), (addr, port))
    got = {}
    end = time.monotonic() + deadline_s
    while len(got) < len(sends) and time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], 0.2)
        if not r:
            continue
        while True:
            try:
                m, src = sock.recvfrom(4096)
            except BlockingIOError:
                break
            qid, flags, _, an = struct.unpack("!HHHH", m[:8])
            got[qid] = (src[0], src[1], flags & 15, an)
    return got


def check_sources(what, sends, got):
    """Every query was answered (NOERROR, one A record) from where it was sent."""
    answered = all(qid in got for qid, _, _, _ in sends)
    check(answered, f"{what}: every query answered ({len(got)}/{len(sends)})")
    wrong = [(addr, got[qid][0]) for qid, _, addr, port in sends
             if qid in got and (got[qid][0], got[qid][1]) != (addr, port)]
    check(not wrong, f"{what}: each reply from the address asked"
          + (f" (wrong: asked, came from: {sorted(set(wrong))})" if wrong else ""))
    bad = [qid for qid, _, _, _ in sends if qid in got and got[qid][2:] != (0, 1)]
    check(not bad, f"{what}: NOERROR with the A record")


def main():
    ostrovd = os.path.abspath(sys.argv[1])
    v6 = have_ipv6_loopback()
    up = StandIn()
    up.start()
    d = Daemon(ostrovd, up.port, v6)
    try:
        if not check(d.started(), "ostrovd started on 0.0.0.0" + (" and [::]" if v6 else "")):
            print(d.log_text())
            return 1
        c4 = client(socket.AF_INET)
        targets = [(socket.AF_INET, a) for a in V4_TARGETS]
        if v6:
            c6 = client(socket.AF_INET6)
            targets.append((socket.AF_INET6, "::1"))
        qid = 0
        names = {}
        for fam, addr in targets:
            sock = c4 if fam == socket.AF_INET else c6
            name = f"miss-{addr.replace(':', 'x').replace('.', '-')}.test."
            names[addr] = name
            # 1. A cache miss: answered from the held reply target.
            sends = [(qid, name, addr, d.port)]
            got = exchange(sock, sends)
            check_sources(f"cache miss to {addr}", sends, got)
            check(up.count(name) == 1, f"cache miss to {addr}: resolved upstream")
            qid += 1
        # 2. The same names again, a round at a time, until a round is answered
        # from the cache alone (the cache's writer commits a moment later).
        end = time.monotonic() + 10
        hit = False
        while not hit and time.monotonic() < end:
            before = {a: up.count(n) for a, n in names.items()}
            rounds = []
            for fam, addr in targets:
                sock = c4 if fam == socket.AF_INET else c6
                sends = [(qid, names[addr], addr, d.port)]
                rounds.append((addr, sends, exchange(sock, sends)))
                qid += 1
            hit = all(up.count(n) == before[a] for a, n in names.items())
            if not hit:
                time.sleep(0.05)  # polling interval of a deadline poll
        check(hit, "a round of queries answered from the cache alone")
        for addr, sends, got in rounds:
            check_sources(f"cache hit to {addr}", sends, got)
        # 3. A burst of hits to all three IPv4 addresses, sent before any reply is read.
        sends = []
        for i in range(60):
            addr = V4_TARGETS[i % 3]
            sends.append((qid, names[addr], addr, d.port))
            qid += 1
        got = exchange(c4, sends)
        check_sources("burst of cache hits to 127.0.0.2, .3, .1", sends, got)
        check("udp pktinfo failed" not in d.log_text(), "no pktinfo error logged")
        check(d.stop() == 0, "clean exit on SIGTERM")
    finally:
        up.stopping = True
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
