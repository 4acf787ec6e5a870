#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Process test for ostrovd: start it on a free 127.0.0.1 port and check it
from the outside, as an operator or a client would.

- REFUSED over UDP and TCP (dig, and raw packets whose ID and question we
  control), with our OPT only when the client used EDNS;
- TCP pipelining (three queries in one segment, three answers) and the idle
  timeout;
- FORMERR for a compression loop, NOTIMP for NOTIFY, nothing for a short
  packet or a response, and the server still answering afterwards;
- the client ACL from a 127.0.0.2 source: REFUSED with deny-action refuse,
  silence and a closed connection with deny-action drop;
- exit code 2 naming the address for a port in use and a non-local address;
- --check-config exit codes and messages;
- a clean exit 0 on SIGTERM.

Waiting is on events (a log line, a reply, a closed socket, process exit)
with deadlines. Only the "no answer" checks need a bounded wait, because
absence cannot be observed any other way.

Usage: test_server_ostrovd.py PATH/TO/ostrovd
"""
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

OSTROVD = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="ost_srv_")
PROCS = []
FAILURES = []


def check(cond, what):
    if cond:
        print(f"ok   - {what}")
    else:
        print(f"FAIL - {what}")
        FAILURES.append(what)
    return cond


def free_port():
    """test_resolve_lib.free_port(): below the ephemeral range, so no client's
    random source port can be the server's."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import test_resolve_lib  # noqa: E402
    return test_resolve_lib.free_port()


def have_ipv6_loopback(port):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", port))
        s.close()
        return True
    except OSError:
        return False


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def config(port, deny="refuse", max_conns=64, extra="", v6=False):
    listen = f"\"127.0.0.1@{port}\"" + (f", \"::1@{port}\"" if v6 else "")
    return (
        "server:\n"
        f"  listen: [{listen}]\n"
        "  workers: 2\n"
        "  log-level: debug\n"
        "  tcp-idle-timeout: 700\n"
        f"  tcp-max-connections: {max_conns}\n"
        "access:\n"
        "  allow: [\"127.0.0.1/32\", \"::1/128\"]\n"
        f"  deny-action: {deny}\n"
        "resolver:\n"
        "  upstream-allow: [\"127.0.0.0/8\"]\n" + extra
    )


def wait_for(pred, deadline_s, step=0.02):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)  # polling interval of a deadline poll, not a fixed wait
    return pred()


class Daemon:
    def __init__(self, cfg_path, name):
        self.log = os.path.join(TMP, name + ".log")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([OSTROVD, "-c", cfg_path], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        PROCS.append(self.proc)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait_started(self):
        return wait_for(lambda: "msg=\"started\"" in self.text() or
                        self.proc.poll() is not None, 10) and self.proc.poll() is None


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def make_query(qid, name, qtype=1, edns=None, flags=0x0100):
    """flags: 16-bit header flags (default RD). edns: UDP size or None."""
    ar = 1 if edns else 0
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, ar)
    msg += qname_wire(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return msg


def parse_header(resp):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", resp[:12])
    return {"id": qid, "qr": flags >> 15, "opcode": (flags >> 11) & 15, "rd": (flags >> 8) & 1,
            "ra": (flags >> 7) & 1, "rcode": flags & 15, "qd": qd, "an": an, "ar": ar}


def udp_exchange(port, msgs, src="127.0.0.1", timeout=3.0):
    """Send every message from one socket; return the first reply (or None)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        for m in msgs:
            s.sendto(m, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_query(s, qid):
    """One framed query on connected socket @s; the reply's ID, or None if closed."""
    try:
        m = make_query(qid, "tcp.example")
        s.sendall(struct.pack("!H", len(m)) + m)
        ln = recv_exact(s, 2)
        r = recv_exact(s, struct.unpack("!H", ln)[0]) if ln else None
        return parse_header(r)["id"] if r else None
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return None


def dig(port, *args):
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3", *args],
                       capture_output=True, text=True, timeout=20)
    return r.stdout


def udp_batch_checks(port, d):
    """server/udp.c reads in recvmmsg batches of 64 and answers each batch with one
    sendmmsg: a burst of 300 datagrams mixing queries with packets that get no
    answer or an error answer must get exactly the right replies, and a datagram
    larger than a 4 KiB receive slot is dropped."""
    m = [ln for ln in d.text().splitlines() if "msg=\"udp socket ready\"" in ln]
    sizes = [int(x.split("=")[1]) for ln in m for x in ln.split() if x.startswith("rcvbuf=")]
    check(len(sizes) >= 2 and min(sizes) > 0, "udp sockets log their receive buffer size")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    want = set()
    for i in range(300):
        qid = 0x1000 + i
        if i % 10 == 3:
            s.sendto(make_query(qid, "resp.example", flags=0x8100), ("127.0.0.1", port))
        elif i % 10 == 7:
            s.sendto(b"\x12\x34\x01", ("127.0.0.1", port))
        elif i % 10 == 9:
            s.sendto(make_query(qid, "zone.example", qtype=6, flags=4 << 11),
                     ("127.0.0.1", port))
            want.add((qid, 4))
        else:
            s.sendto(make_query(qid, f"b{i}.example", edns=1232), ("127.0.0.1", port))
            want.add((qid, 5))
    got = set()
    s.settimeout(3)
    try:
        while len(got) < len(want):
            h = parse_header(s.recv(65535))
            got.add((h["id"], h["rcode"]))
    except socket.timeout:
        pass
    check(got == want, f"udp burst of 300: {len(want)} right answers, none for the rest "
          f"(got {len(got)}, {len(got - want)} unexpected)")
    big = make_query(0x4242, "big.example", edns=1232)[:-11]
    pad = struct.pack("!HH", 12, 5000) + b"\0" * 5000
    big += b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(pad)) + pad
    s.sendto(big, ("127.0.0.1", port))
    s.sendto(make_query(0x4243, "after.example"), ("127.0.0.1", port))
    try:
        h = parse_header(s.recv(65535))
    except socket.timeout:
        h = {}
    check(h.get("id") == 0x4243, "udp: a 5 kB datagram is dropped, the next query answered")
    s.close()


def main():
    port = free_port()
    v6 = have_ipv6_loopback(port)
    cfg = write("ostrov.yaml", config(port, v6=v6))

    # --check-config, good and bad.
    r = subprocess.run([OSTROVD, "-c", cfg, "--check-config"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.strip() == f"{cfg}: ok", "--check-config good: 0, ok")
    bad = write("bad.yaml", "server:\n  workers: 2\n  listne: [\"127.0.0.1@53\"]\n")
    r = subprocess.run([OSTROVD, "-c", bad, "--check-config"], capture_output=True, text=True)
    check(r.returncode == 2 and f"{bad}:3:" in r.stderr and "server.listne" in r.stderr,
          "--check-config bad: 2, FILE:LINE and key")
    r = subprocess.run([OSTROVD, "-c", os.path.join(TMP, "missing.yaml")],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "missing.yaml" in r.stderr, "unreadable config: 2")

    d = Daemon(cfg, "main")
    if not check(d.wait_started(), "ostrovd starts"):
        print(d.text())
        return
    log = d.text()
    check(f"msg=\"listening\" addr=127.0.0.1@{port} proto=udp worker=1" in log,
          "logs where it listens (udp, worker 1)")
    check(f"msg=\"listening\" addr=127.0.0.1@{port} proto=tcp" in log, "logs where it listens (tcp)")

    # dig over UDP (with EDNS by default) and TCP.
    out = dig(port, "example.com.", "A")
    check("status: REFUSED" in out and "flags: qr rd ra;" in out, "dig udp: REFUSED, qr rd ra")
    check(";example.com.\t\t\tIN\tA" in out, "dig udp: question echoed")
    check("udp: 1232" in out, "dig udp: our OPT with 1232")
    out = dig(port, "+tcp", "+noedns", "Some.Example.", "MX")
    check("status: REFUSED" in out and ";Some.Example.\t\t\tIN\tMX" in out,
          "dig tcp: REFUSED, question with case kept")
    check("OPT PSEUDOSECTION" not in out, "dig tcp without EDNS: no OPT")

    if v6:
        r = subprocess.run(["dig", "@::1", "-p", str(port), "+tries=1", "+time=3", "v6.example.",
                            "A"], capture_output=True, text=True, timeout=20)
        check("status: REFUSED" in r.stdout, "dig over IPv6 ::1: REFUSED")
    else:
        print("skip - no IPv6 loopback")

    # Raw UDP: our ID, question bytes, no OPT without EDNS.
    q = make_query(0xBEEF, "raw.example", qtype=28)
    resp = udp_exchange(port, [q])
    h = parse_header(resp) if resp else {}
    check(resp is not None and h["id"] == 0xBEEF and h["qr"] == 1 and h["rd"] == 1 and
          h["ra"] == 1 and h["rcode"] == 5 and h["qd"] == 1 and h["ar"] == 0 and
          resp[12:] == q[12:], "raw udp: REFUSED with ID, RD, question; no OPT")
    q = make_query(0x0102, "edns.example", edns=4096, flags=0)
    resp = udp_exchange(port, [q])
    h = parse_header(resp) if resp else {}
    check(resp is not None and h["id"] == 0x0102 and h["rd"] == 0 and h["ar"] == 1 and
          resp[-11:-8] == b"\0\0\x29" and struct.unpack("!H", resp[-8:-6])[0] == 1232,
          "raw udp with EDNS: RD clear, OPT 1232")

    # Malformed: short and response packets get nothing; the next query is answered.
    short = b"\x11\x22\x01\x00\x00"
    response = make_query(0x3333, "x.example", flags=0x8100)
    resp = udp_exchange(port, [short, response, make_query(0x4444, "alive.example")])
    check(resp is not None and parse_header(resp)["id"] == 0x4444,
          "short packet and response dropped, server answers the next query")
    loop = struct.pack("!HHHHHH", 0x5555, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1"
    resp = udp_exchange(port, [loop])
    h = parse_header(resp) if resp else {}
    check(resp is not None and h["id"] == 0x5555 and h["rcode"] == 1 and h["qd"] == 0,
          "compression loop: FORMERR")
    two = struct.pack("!HHHHHH", 0x5656, 0x0100, 2, 0, 0, 0) + (qname_wire("a") + b"\0\1\0\1") * 2
    resp = udp_exchange(port, [two])
    check(resp is not None and parse_header(resp)["rcode"] == 1, "QDCOUNT=2: FORMERR")
    notify = make_query(0x6666, "zone.example", qtype=6, flags=4 << 11)
    resp = udp_exchange(port, [notify])
    h = parse_header(resp) if resp else {}
    check(resp is not None and h["id"] == 0x6666 and h["rcode"] == 4 and h["opcode"] == 4,
          "NOTIFY: NOTIMP")
    rnd = random.Random(7)
    garbage = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(12, 300))) for _ in range(200)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for g in garbage:
        s.sendto(g, ("127.0.0.1", port))
    s.close()
    out = dig(port, "still.alive.", "A")
    check("status: REFUSED" in out and d.proc.poll() is None, "200 garbage packets: still alive")
    udp_batch_checks(port, d)

    # TCP pipelining: three queries in one write, three answers.
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    ids = [0x7001, 0x7002, 0x7003]
    data = b""
    for i in ids:
        m = make_query(i, f"p{i}.example")
        data += struct.pack("!H", len(m)) + m
    s.sendall(data)
    got = []
    for _ in ids:
        ln = recv_exact(s, 2)
        m = recv_exact(s, struct.unpack("!H", ln)[0]) if ln else None
        if m:
            got.append(parse_header(m)["id"])
    check(sorted(got) == ids, "tcp pipelining: three answers on one connection")
    # A 9 kB query (EDNS padding option, RFC 7830) sent in three pieces: the
    # receive buffer grows past its first 4 kB and the frame is reassembled.
    big = make_query(0x7777, "big.example", edns=1232)[:-11]
    pad = struct.pack("!HH", 12, 9000) + b"\0" * 9000
    big += b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(pad)) + pad
    framed = struct.pack("!H", len(big)) + big
    s.sendall(framed[:1])
    s.sendall(framed[1:5000])
    s.sendall(framed[5000:])
    ln = recv_exact(s, 2)
    m = recv_exact(s, struct.unpack("!H", ln)[0]) if ln else None
    h = parse_header(m) if m else {}
    check(m is not None and h["id"] == 0x7777 and h["rcode"] == 5 and h["ar"] == 1,
          "tcp: 9 kB query in three pieces answered")
    # Idle timeout (700 ms): the server closes the connection.
    s.settimeout(5)
    t0 = time.monotonic()
    try:
        closed = s.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        closed = False
    check(closed and time.monotonic() - t0 < 4, "tcp idle timeout closes the connection")
    s.close()

    # ACL with deny-action refuse: a 127.0.0.2 source gets REFUSED (not served).
    resp = udp_exchange(port, [make_query(0x8888, "acl.example")], src="127.0.0.2")
    check(resp is not None and parse_header(resp)["id"] == 0x8888 and
          parse_header(resp)["rcode"] == 5, "ACL refuse: REFUSED for 127.0.0.2")

    # A second daemon on the same port: exit 2 naming the address.
    r = subprocess.run([OSTROVD, "-c", cfg], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and f"127.0.0.1@{port}" in r.stderr, "port in use: exit 2, address")
    nonlocal_cfg = write("nonlocal.yaml", config(port).replace(
        f"127.0.0.1@{port}", f"192.0.2.1@{port}"))
    r = subprocess.run([OSTROVD, "-c", nonlocal_cfg], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and f"192.0.2.1@{port}" in r.stderr, "non-local address: exit 2")
    check(d.proc.poll() is None, "first daemon unaffected")

    # ACL with deny-action drop, on a second port.
    port2 = free_port()
    d2 = Daemon(write("drop.yaml", config(port2, deny="drop", max_conns=2)), "drop")
    if check(d2.wait_started(), "drop daemon starts"):
        resp = udp_exchange(port2, [make_query(0x9999, "drop.example")], src="127.0.0.2",
                            timeout=0.7)
        check(resp is None, "ACL drop: no UDP answer for 127.0.0.2")
        resp = udp_exchange(port2, [make_query(0x999A, "ok.example")])
        check(resp is not None and parse_header(resp)["id"] == 0x999A,
              "ACL drop: 127.0.0.1 still answered")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.2", 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port2))
        try:
            closed = s.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        s.close()
        check(closed, "ACL drop: TCP connection from 127.0.0.2 closed")

        # tcp-max-connections 2: a third connection is closed, a query on the others works.
        c1 = socket.create_connection(("127.0.0.1", port2), timeout=5)
        c2 = socket.create_connection(("127.0.0.1", port2), timeout=5)
        check(tcp_query(c1, 0xA001) == 0xA001 and tcp_query(c2, 0xA002) == 0xA002,
              "two TCP connections answered")
        c3 = socket.create_connection(("127.0.0.1", port2), timeout=5)
        check(tcp_query(c3, 0xA003) is None, "third TCP connection over the limit: closed")
        c3.close()
        c1.close()
        # The server notices c1's EOF asynchronously: poll until a new connection works.
        check(wait_for(lambda: tcp_query(socket.create_connection(("127.0.0.1", port2),
                                                                   timeout=5), 0xA004) == 0xA004,
                       5, step=0.05), "a slot freed by a closed connection is reused")
        c2.close()
        d2.proc.send_signal(signal.SIGINT)
        try:
            rc = d2.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGINT: exit 0")

    # SIGTERM: clean exit 0 within the deadline.
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "SIGTERM: exit 0 within 10 s")
    check("msg=\"stopped\"" in d.text(), "logs its stop")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s); logs in {TMP}")
        sys.exit(1)
    subprocess.run(["rm", "-rf", TMP])
    print("all passed")
