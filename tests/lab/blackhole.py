#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A DNS swallower: bind UDP and TCP on one lab address, read, never answer.

Simulates a name server whose packets vanish (a filtered link): UDP queries
are read and dropped, TCP connections are accepted and held open, their
bytes read and ignored, so clients see timeouts rather than refusals. The pid
file is written only after both sockets are bound, so it doubles as the
readiness signal. Stops on SIGTERM/SIGINT. Refuses addresses outside
127.0.0.0/8.
"""

import argparse
import ipaddress
import os
import selectors
import signal
import socket
import sys

MAX_HELD = 512


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--pidfile", required=True)
    args = ap.parse_args()
    if ipaddress.ip_address(args.addr) not in ipaddress.ip_network(
            "127.0.0.0/8"):
        sys.exit(f"blackhole: {args.addr} is outside 127.0.0.0/8")

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.addr, args.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.addr, args.port))
    tcp.listen(128)
    for s in (udp, tcp):
        s.setblocking(False)

    running = True

    def stop(_sig, _frame):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tmp = args.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, args.pidfile)

    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "listen")
    held = []
    swallowed = 0
    while running:
        for key, _ in sel.select(timeout=0.5):
            sock = key.fileobj
            try:
                if key.data == "udp":
                    sock.recvfrom(65535)
                    swallowed += 1
                elif key.data == "listen":
                    conn, _ = sock.accept()
                    conn.setblocking(False)
                    if len(held) >= MAX_HELD:  # keep the oldest, drop one
                        old = held.pop(0)
                        sel.unregister(old)
                        old.close()
                    held.append(conn)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                else:
                    if not sock.recv(65535):  # peer closed: let it go
                        sel.unregister(sock)
                        held.remove(sock)
                        sock.close()
                    else:
                        swallowed += 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                if key.data == "conn":
                    sel.unregister(sock)
                    held.remove(sock)
                    sock.close()
    for conn in held:
        conn.close()
    try:
        if open(args.pidfile).read().strip() == str(os.getpid()):
            os.unlink(args.pidfile)
    except FileNotFoundError:
        pass
    print(f"blackhole {args.addr}: swallowed {swallowed} messages",
          flush=True)


if __name__ == "__main__":
    main()
