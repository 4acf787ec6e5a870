#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ostrovd's Prometheus endpoint against the loopback lab.

usage: test_metrics.py OSTROVD OSTROVCTL

1. `lab up`; ostrovd on the lab's ostrov.yaml plus `metrics-listen` on a
   free 127.0.0.1 port and `metrics-allow: ["127.0.0.1/32"]`.
2. Every scrape is parsed as Prometheus text format 0.0.4 (HELP and TYPE
   before each family, `name{labels} value` lines, no family twice, every
   name prefixed ostrov_, Content-Type version=0.0.4, Connection: close).
3. Counting: a name is resolved once and asked until the fast path answers
   it; then N queries over UDP and M over TCP for it, each reply checked
   (ID, NOERROR). Polling the endpoint with a deadline (each scrape asks the
   workers for their counters), queries_total must rise by exactly N (udp) and
   M (tcp), fastpath hits, answers{source="cache"}, responses{NOERROR} and
   the cache latency histogram's count by exactly N+M, misses not at all; an
   RD=0 query adds exactly one REFUSED. `ostrovctl stats --json` shows the
   same numbers (one snapshot function serves both).
4. 404 for another path, 405 (with Allow: GET) for POST, 400 for garbage;
   a client from 127.0.0.2 (outside metrics-allow) gets no response; a
   client that never finishes its request head is closed by the deadline;
   a client that half-closes after its request reads the whole page.
5. `ostrovctl drill start foreign-cut`: the drill families carry
   drill="foreign-cut" and the drill's id, count a cached answer, and
   drill_running drops to 0 after `drill stop`.
Exit 0 on success, 1 on failure, 77 when the lab is not there.
"""

import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_resolve_lib as L  # noqa: E402

N_UDP = 40
N_TCP = 12
NAME, QTYPE = "www.example.ru.", 1
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|'
                    r'\\[\\"n])*",?)*\})? (\S+)$')


def parse_exposition(text):
    """Text format 0.0.4 -> {series: value}; raises ValueError on a bad line."""
    out = {}
    families = []
    cur = None
    typed = False
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in families or not name.startswith("ostrov_"):
                raise ValueError(f"family twice or unprefixed: {line}")
            families.append(name)
            cur, typed = name, False
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            if name != cur or typed or typ not in ("counter", "gauge", "histogram"):
                raise ValueError(f"bad TYPE line: {line}")
            typed = True
        else:
            m = SAMPLE.match(line)
            if not m or not typed:
                raise ValueError(f"bad sample line: {line!r}")
            name = m.group(1)
            if name != cur and name not in (cur + "_bucket", cur + "_sum", cur + "_count"):
                raise ValueError(f"sample outside its family {cur}: {line}")
            key = name + (m.group(2) or "")
            if key in out:
                raise ValueError(f"series twice: {key}")
            out[key] = float(m.group(3))
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    return out


class Scraper:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/metrics"

    def raw(self):
        with urllib.request.urlopen(self.url, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()

    def __call__(self):
        status, headers, body = self.raw()
        if status != 200:
            raise RuntimeError(f"scrape status {status}")
        return parse_exposition(body)


def udp_query(port, qid):
    wire = L.build_query(NAME, QTYPE, qid=qid)
    r = L.udp_ask(port, wire, 2)
    return r


def tcp_query(port, qid):
    wire = L.build_query(NAME, QTYPE, qid=qid)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        hdr = b""
        while len(hdr) < 2:
            b = s.recv(2 - len(hdr))
            if not b:
                return None
            hdr += b
        n = struct.unpack("!H", hdr)[0]
        body = b""
        while len(body) < n:
            b = s.recv(n - len(body))
            if not b:
                return None
            body += b
        return body


def ok_reply(r, qid):
    return r is not None and len(r) >= 12 and struct.unpack("!H", r[:2])[0] == qid and \
        (r[3] & 0x0f) == 0 and struct.unpack("!H", r[6:8])[0] >= 1


def raw_http(port, data, source="127.0.0.1", timeout=10, half_close=False):
    """Send raw bytes (then shut our side down when half_close); return
    everything read until the server closes (or b"" after a reset)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        out = b""
        try:
            if data:
                s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except ConnectionResetError:
            pass
        return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, ctl = (os.path.abspath(a) for a in sys.argv[1:])
    L.need_tools("nsd", binary, ctl)
    check = L.Checks()
    lab = L.Lab(L.free_port(), bench_names=0)
    d = None
    failed = True
    try:
        mport = L.free_port()
        with open(lab.file("ostrov.yaml")) as f:
            text = f.read()
        sock = re.search(r"(?m)^\s*control-socket:\s*(\S+)", text).group(1)
        text = text.replace("server:\n", f'server:\n  metrics-listen: "127.0.0.1@{mport}"\n'
                            '  metrics-allow: ["127.0.0.1/32"]\n', 1)
        conf = lab.file("ostrov-metrics.yaml")
        with open(conf, "w") as f:
            f.write(text)
        d = L.ostrovd(binary, conf, lab.port, lab.file("ostrovd.log"))
        d.start()
        scrape = Scraper(mport)

        # 2. The page itself.
        def up():
            try:
                return scrape.raw()
            except OSError:
                return None
        status, headers, body = L.wait_for(up, 10, "metrics endpoint up")
        check(status == 200, f"GET /metrics is 200 (got {status})")
        ctype = headers.get("Content-Type", "")
        check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
              f"Content-Type text/plain; version=0.0.4 (got {ctype!r})")
        check(headers.get("Connection", "").lower() == "close", "Connection: close")
        try:
            m0 = parse_exposition(body)
            check(True, "exposition parses")
        except ValueError as e:
            check(False, f"exposition parses: {e}")
            return check.finish()
        for fam in ("ostrov_queries_total", "ostrov_responses_total", "ostrov_answers_total",
                    "ostrov_cache_entries", "ostrov_resolver_state",
                    "ostrov_client_latency_seconds_count", "ostrov_validation_total"):
            check(any(k == fam or k.startswith(fam + "{") for k in m0), f"family {fam} present")

        # 3. Warm the name into the fast path (counted, not measured).
        sent_udp = 0
        qid = 1000
        r = udp_query(lab.port, qid)
        sent_udp += 1
        check(ok_reply(r, qid), f"{NAME} resolves")
        hits0 = scrape().get("ostrov_fastpath_hits_total", 0)

        def warm():
            nonlocal sent_udp, qid
            qid += 1
            udp_query(lab.port, qid)
            sent_udp += 1
            return scrape()["ostrov_fastpath_hits_total"] > hits0
        L.wait_for(warm, 10, "the name answered by the fast path")

        base_udp = m0['ostrov_queries_total{transport="udp"}']

        def settled():
            m = scrape()
            return m if m['ostrov_queries_total{transport="udp"}'] >= base_udp + sent_udp \
                else None
        m1 = L.wait_for(settled, 5, "warm-up queries published")
        got = m1['ostrov_queries_total{transport="udp"}'] - base_udp
        check(got == sent_udp, f"udp queries rose by exactly the {sent_udp} warm-up queries "
              f"(got {got})")

        # The measured burst.
        bad = 0
        for i in range(N_UDP):
            qid += 1
            bad += not ok_reply(udp_query(lab.port, qid), qid)
        for i in range(N_TCP):
            qid += 1
            bad += not ok_reply(tcp_query(lab.port, qid), qid)
        check(bad == 0, f"{N_UDP + N_TCP} cached answers, {bad} bad")

        def published():
            m = scrape()
            done = (m['ostrov_queries_total{transport="udp"}'] >=
                    m1['ostrov_queries_total{transport="udp"}'] + N_UDP and
                    m['ostrov_queries_total{transport="tcp"}'] >=
                    m1['ostrov_queries_total{transport="tcp"}'] + N_TCP)
            return m if done else None
        m2 = L.wait_for(published, 5, "burst published")

        def rise(key):
            return m2.get(key, 0) - m1.get(key, 0)
        n = N_UDP + N_TCP
        for key, want in (('ostrov_queries_total{transport="udp"}', N_UDP),
                          ('ostrov_queries_total{transport="tcp"}', N_TCP),
                          ("ostrov_fastpath_hits_total", n),
                          ("ostrov_fastpath_misses_total", 0),
                          ('ostrov_answers_total{source="cache"}', n),
                          ('ostrov_responses_total{rcode="NOERROR"}', n),
                          ('ostrov_responses_total{rcode="SERVFAIL"}', 0),
                          ('ostrov_validation_total{result="secure"}', n),
                          ('ostrov_client_latency_seconds_count{source="cache"}', n)):
            check(rise(key) == want, f"{key} rose by {want} (got {rise(key)})")
        inf = 'ostrov_client_latency_seconds_bucket{source="cache",le="+Inf"}'
        check(m2[inf] == m2['ostrov_client_latency_seconds_count{source="cache"}'],
              "+Inf bucket equals the histogram count")

        # RD=0: one REFUSED, counted as a query.
        r = L.udp_ask(lab.port, L.build_query(NAME, QTYPE, rd=False, qid=7), 2)
        check(r is not None and (r[3] & 0x0f) == 5, "RD=0 answered REFUSED")

        def refused():
            m = scrape()
            return m if m['ostrov_queries_total{transport="udp"}'] > \
                m2['ostrov_queries_total{transport="udp"}'] else None
        m3 = L.wait_for(refused, 5, "RD=0 query published")
        for key, want in (('ostrov_responses_total{rcode="REFUSED"}', 1),
                          ("ostrov_norec_refused_total", 1),
                          ('ostrov_queries_total{transport="udp"}', 1)):
            got = m3[key] - m2[key]
            check(got == want, f"RD=0: {key} rose by {want} (got {got})")

        # ostrovctl stats and /metrics: the same snapshot, nothing moving now.
        r = subprocess.run([ctl, "-s", sock, "stats", "--json"], capture_output=True,
                           text=True, timeout=10)
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        m4 = scrape()
        for skey, mkey in (("udp_queries", 'ostrov_queries_total{transport="udp"}'),
                           ("tcp_queries", 'ostrov_queries_total{transport="tcp"}'),
                           ("hits", "ostrov_fastpath_hits_total"),
                           ("misses", "ostrov_fastpath_misses_total"),
                           ("norec_refused", "ostrov_norec_refused_total"),
                           ("cache_entries", "ostrov_cache_entries")):
            check(st.get(skey) == m4.get(mkey),
                  f"ostrovctl stats {skey}={st.get(skey)} equals {mkey}={m4.get(mkey)}")

        # 4. Errors and refusals.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{mport}/", timeout=5)
            check(False, "GET / is 404 (got 200)")
        except urllib.error.HTTPError as e:
            check(e.code == 404, f"GET / is 404 (got {e.code})")
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{mport}/metrics", data=b"", method="POST"), timeout=5)
            check(False, "POST /metrics is 405 (got 200)")
        except urllib.error.HTTPError as e:
            check(e.code == 405 and e.headers.get("Allow") == "GET",
                  f"POST /metrics is 405 with Allow: GET (got {e.code}, {e.headers.get('Allow')})")
        out = raw_http(mport, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        check(out.startswith(b"HTTP/1.1 400 "), f"garbage gets 400 (got {out[:40]!r})")
        out = raw_http(mport, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.2")
        check(out == b"", f"client 127.0.0.2 outside metrics-allow gets nothing ({out[:40]!r})")
        t0 = time.monotonic()
        out = raw_http(mport, b"GET /metr", timeout=15)
        took = time.monotonic() - t0
        check(out == b"" and took < 12,
              f"an unfinished request head is closed by the deadline ({took:.1f} s)")
        # A client that half-closes after its request still gets the whole page.
        out = raw_http(mport, b"GET /metrics HTTP/1.0\r\n\r\n", half_close=True)
        head, _, body = out.partition(b"\r\n\r\n")
        clen = re.search(rb"(?mi)^Content-Length: (\d+)", head)
        check(out.startswith(b"HTTP/1.1 200 ") and clen and int(clen.group(1)) == len(body)
              and len(body) > 1000,
              f"half-closed client reads the whole response ({len(body)} body bytes)")
        # Still serving after all that.
        status, _, _ = scrape.raw()
        check(status == 200, "still serving /metrics")

        # 5. A drill: its families appear labelled with the profile and its id.
        r = subprocess.run([ctl, "-s", sock, "drill", "start", "foreign-cut", "--duration",
                            "60"], capture_output=True, text=True, timeout=10)
        check(r.returncode == 0, f"drill start ({r.stderr.strip()})")
        m5 = scrape()
        running = [k for k, v in m5.items()
                   if k.startswith('ostrov_drill_running{drill="foreign-cut",drill_id="')
                   and v == 1]
        check(len(running) == 1, f"drill_running with drill=\"foreign-cut\" is 1 ({running})")
        qid += 1
        check(ok_reply(udp_query(lab.port, qid), qid), "cached name answered during the drill")
        drill_id = running[0].split('drill_id="')[1].split('"')[0] if running else "?"
        key = (f'ostrov_drill_answers_by_source_total{{drill="foreign-cut",'
               f'drill_id="{drill_id}",source="cache"}}')
        got = L.wait_for(lambda: scrape().get(key, 0) >= 1 or None, 5,
                         "the drill's cache answer published")
        check(got, f"{key} counts the answer")
        r = subprocess.run([ctl, "-s", sock, "drill", "stop"], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 0, f"drill stop ({r.stderr.strip()})")
        key = f'ostrov_drill_running{{drill="foreign-cut",drill_id="{drill_id}"}}'
        check(scrape().get(key) == 0, "drill_running 0 after drill stop")

        # 6. A reload that changes metrics-allow: reported as needing a restart,
        # and the running allow-list stays.
        with open(conf, "w") as f:
            f.write(text.replace('metrics-allow: ["127.0.0.1/32"]',
                                 'metrics-allow: ["127.0.0.1/32", "127.0.0.2/32"]'))
        r = subprocess.run([ctl, "-s", sock, "reload", "--json"], capture_output=True,
                           text=True, timeout=10)
        rj = json.loads(r.stdout) if r.returncode == 0 else {}
        check("server.metrics-allow" in rj.get("needs_restart", []),
              f"reload: server.metrics-allow needs a restart ({r.stdout.strip()})")
        out = raw_http(mport, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.2")
        check(out == b"", "after the reload 127.0.0.2 is still refused (running value kept)")
        failed = bool(check.failed)
        return check.finish()
    finally:
        if d:
            rc = d.stop()
            check(rc == 0, f"ostrovd exits 0 on SIGTERM (got {rc})")
        lab.close(failed)


if __name__ == "__main__":
    sys.exit(main())
