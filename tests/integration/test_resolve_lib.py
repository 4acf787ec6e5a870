# SPDX-License-Identifier: BSD-2-Clause
"""Shared helpers of the lab integration tests (test_resolve*, test_cache*, test_diff*).

Not a test itself. It brings the loopback lab up in a fresh temporary
directory (and always down again), starts ostrovd and Unbound on the lab's
configuration, waits for them with deadlines (never a bare sleep), queries
them with dig in batch mode (`dig -f`: one process for hundreds of
questions), and turns answers into comparable sets: (owner, type, rdata)
with TTLs dropped and names compared without case.

Every address it talks to is in 127.0.0.0/8; the lab itself refuses anything
else.
"""

import fnmatch
import json
import random
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# OST_LAB: another checkout's lab script (only while tests/lab is not in this tree).
LAB = os.environ.get("OST_LAB") or os.path.join(ROOT, "tests", "lab", "lab")
SKIP = 77  # ctest SKIP_RETURN_CODE


def log(msg):
    print(msg, flush=True)


class Checks:
    """Count named checks; a failed one is printed and fails the test."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            log(f"FAIL: {what}")
        return ok

    def finish(self):
        log(f"{self.passed} checks passed, {len(self.failed)} failed")
        return 1 if self.failed else 0


def need_tools(*tools):
    """Exit with the skip code when the lab or a tool is missing."""
    if not os.path.exists(LAB):
        log(f"SKIP: no lab at {LAB} (tests/lab not merged yet)")
        sys.exit(SKIP)
    for t in tools:
        if not shutil.which(t) and not os.path.exists(t):
            log(f"SKIP: {t} not installed")
            sys.exit(SKIP)


_given_ports = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1, never one this
    process handed out before, and below the kernel's ephemeral range: a
    client whose random source port (dig binds with SO_REUSEPORT) equals the
    server's port would otherwise, now and then, receive its own query back
    (seen as a reply without QR, "NOERROR ad=True" with no answer)."""
    low = _ephemeral_low()
    rnd = random.Random()
    for _ in range(200):
        port = rnd.randrange(10000, max(10001, low))
        if port in _given_ports:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        _given_ports.add(port)
        return port
    raise RuntimeError("no free port")


def wait_for(pred, deadline_s, what, step=0.05):
    end = time.monotonic() + deadline_s
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            raise TimeoutError(f"{what}: not within {deadline_s}s")
        time.sleep(step)


class Lab:
    """`lab up` in a fresh temp dir; `lab down` and removal in close()."""

    def __init__(self, port, unbound_port=None, bench_names=20, keep=False):
        self.dir = tempfile.mkdtemp(prefix="ostrov-lab-")
        self.port = port
        self.unbound_port = unbound_port or free_port()
        self.keep = keep or bool(os.environ.get("OST_KEEP_LAB"))
        # --prefix auto: another lab on this machine (another test, a
        # benchmark) pushes ours to the next free 127.N.0.0/16.
        args = [LAB, "up", self.dir, "--prefix", "auto", "--port", str(port),
                "--unbound-port", str(self.unbound_port), "--bench-names",
                str(bench_names)]
        # Even so, every prefix may be busy for a while: retry until a
        # deadline instead of failing at once.
        end = time.monotonic() + 60
        while True:
            r = subprocess.run(args, capture_output=True, text=True)
            if r.returncode == 0:
                break
            if "is another lab up" in r.stderr and time.monotonic() < end:
                shutil.rmtree(self.dir, ignore_errors=True)
                os.makedirs(self.dir)
                time.sleep(1)
                continue
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"lab up failed: {r.stdout}{r.stderr}")
        log(r.stdout.strip())
        with open(self.file("names.json")) as f:
            self.names = json.load(f)
        with open(self.file("servers.json")) as f:
            self.servers = json.load(f)

    def file(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args):
        r = subprocess.run([LAB, *args[:1], self.dir, *args[1:]],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"lab {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout

    def cut(self, target, how):
        log(self.run("cut", target, how).strip())

    def restore(self, target):
        log(self.run("restore", target).strip())

    def config(self, cache_dir=None, extra=None):
        """The lab's ostrov.yaml, optionally with another cache directory."""
        with open(self.file("ostrov.yaml")) as f:
            text = f.read()
        if cache_dir:
            text = re.sub(r"(?m)^(\s*path:\s*).*$", r"\g<1>" + cache_dir, text)
        for k, v in (extra or {}).items():
            text = re.sub(rf"(?m)^(\s*{k}:\s*).*$", r"\g<1>" + v, text)
        path = self.file(f"ostrov-{len(os.listdir(self.dir))}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def close(self, failed=False):
        """Tear down; after a failure (or an exception in flight) first show
        the tail of every daemon log, since the directory goes away."""
        if failed or sys.exc_info()[0] is not None:
            for name in sorted(os.listdir(self.dir)):
                if name.endswith(".log") and ("ostrovd" in name or "unbound" in name):
                    with open(self.file(name), errors="replace") as f:
                        lines = f.readlines()[-25:]
                    log(f"--- {name} (last {len(lines)} lines)\n" + "".join(lines))
        subprocess.run([LAB, "down", self.dir], capture_output=True, text=True)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def build_query(qname, qtype_num, rd=True, qid=0x4242):
    """A plain query (no EDNS) for readiness probes and floods."""
    out = b""
    for label in qname.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return struct.pack("!HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 0, 0) + \
        out + b"\0" + struct.pack("!HH", qtype_num, 1)


def udp_ask(port, wire, timeout=0.5):
    """Send one datagram to 127.0.0.1:port; return the reply or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(wire, ("127.0.0.1", port))
            return s.recv(65535)
        except OSError:
            return None


class Daemon:
    """A DNS server process we started, stopped by its pid only."""

    def __init__(self, argv, port, logpath, name):
        self.argv = argv
        self.port = port
        self.logpath = logpath
        self.name = name
        self.proc = None

    def start(self, deadline_s=10):
        logf = open(self.logpath, "a")
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        # RD=0 is answered (REFUSED) at once without upstream traffic.
        probe = build_query("example.ru.", 1, rd=False)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"log: {self.tail()}")
            return udp_ask(self.port, probe, 0.2) is not None
        t0 = time.monotonic()
        wait_for(up, deadline_s, f"{self.name} answering on {self.port}")
        return time.monotonic() - t0

    def send_signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop; return the exit code (negative: killed by a signal)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def tail(self, n=20):
        try:
            with open(self.logpath) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stats(self, workers=1, deadline_s=5):
        """SIGUSR1, then the newest stats line of each worker as a dict."""
        def count():
            return self.tail(100000).count('msg="stats"')
        before = count()
        self.send_signal(signal.SIGUSR1)
        wait_for(lambda: count() >= before + workers, deadline_s,
                 f"{self.name} stats lines of {workers} worker(s)")
        lines = [ln for ln in self.tail(100000).splitlines() if 'msg="stats"' in ln]
        out = {}
        for ln in lines:
            d = dict(kv.split("=", 1) for kv in ln.split() if "=" in kv)
            out[d.get("worker")] = d
        return out


def ostrovd(binary, config, port, logpath):
    return Daemon([binary, "-c", config], port, logpath, "ostrovd")


def unbound(lab):
    with open(lab.file("unbound.conf")) as f:
        conf = f.read()
    # Lab-only configuration; we refuse to start anything else.
    assert "do-not-query-localhost: no" in conf and "root-hints:" in conf
    return Daemon(["unbound", "-d", "-c", lab.file("unbound.conf")], lab.unbound_port,
                  lab.file("unbound-stdout.log"), "unbound")


# --- answers ----------------------------------------------------------------

NAME_TYPES = {"CNAME", "NS", "MX", "SOA", "PTR", "DNAME", "SRV"}


def norm_rr(text):
    """'owner ttl IN type rdata...' -> (owner, type, rdata); TTL dropped,
    names lowercased (RFC 4343), TXT and other data kept as written."""
    f = text.split(None, 4)
    if len(f) < 5:
        f = f + [""] * (5 - len(f))
    owner, _ttl, _cls, rtype, rdata = f
    rdata = " ".join(rdata.split())
    if rtype in NAME_TYPES:
        rdata = rdata.lower()
    if rtype == "AAAA":
        rdata = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, rdata))
    return (owner.lower(), rtype, rdata)


def norm_set(rrs, keep_rrsig=False):
    return frozenset(norm_rr(r) for r in rrs if keep_rrsig or r.split()[3] != "RRSIG")


def dig_batch(port, questions, tcp=False, timeout=5, extra=()):
    """Ask (qname, qtype) pairs with one dig process; return one
    {"rcode", "answers"} per question (rcode "TIMEOUT" when none came)."""
    with tempfile.NamedTemporaryFile("w", suffix=".dig", delete=False) as f:
        for qn, qt in questions:
            f.write(f"{qn} {qt}\n")
        batch = f.name
    try:
        argv = ["dig", "@127.0.0.1", "-p", str(port), "-f", batch, "+nocmd", "+noall",
                "+comments", "+question", "+answer", f"+time={timeout}", "+tries=1",
                "+retry=0", *extra]
        if tcp:
            argv.append("+tcp")
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout * len(questions) + 30)
    finally:
        os.unlink(batch)
    out = []
    cur = None
    section = None
    for line in r.stdout.splitlines():
        if line.startswith(";; Got answer:"):
            cur = {"rcode": None, "answers": [], "question": None, "flags": set(),
                   "ede": None}
            out.append(cur)
            section = None
        elif "no servers could be reached" in line:
            out.append({"rcode": "TIMEOUT", "answers": [], "question": None,
                        "flags": set(), "ede": None})
            cur = None
        elif cur is None:
            continue
        elif line.startswith(";; ->>HEADER<<-"):
            m = re.search(r"status: (\w+)", line)
            cur["rcode"] = m.group(1) if m else "?"
        elif line.startswith(";; flags:"):
            cur["flags"] = set(line.split(";")[2].split(":", 1)[1].split())
        elif line.startswith("; EDE:"):
            m = re.match(r"; EDE: (\d+)", line)
            cur["ede"] = int(m.group(1)) if m else None
        elif line.startswith(";; QUESTION SECTION"):
            section = "q"
        elif line.startswith(";; ANSWER SECTION"):
            section = "an"
        elif line.startswith(";;") or not line.strip():
            if line.startswith(";;"):
                section = None
        elif section == "q" and line.startswith(";"):
            cur["question"] = line[1:].split()
        elif section == "an":
            cur["answers"].append(line)
    if len(out) != len(questions):
        raise RuntimeError(f"dig gave {len(out)} replies for {len(questions)} questions: "
                           f"{r.stderr[-500:]}")
    for (qn, qt), a in zip(questions, out):
        if a["question"] and a["question"][0].lower() != qn.lower():
            raise RuntimeError(f"dig reply order: asked {qn}, got {a['question']}")
    return out


def known_differences(path):
    """diff_known.txt: '[DO=1] QNAME-PATTERN QTYPE-PATTERN reason...' per line;
    a rule that starts with DO=1 applies only to the DO=1 pass."""
    rules = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                only = None
                if line.upper().startswith("DO="):
                    only, line = line.split(None, 1)
                    only = only.upper()
                qn, qt, reason = (line.split(None, 2) + [""])[:3]
                rules.append((only, qn.lower(), qt.upper(), reason))
    return rules


def known_reason(rules, qname, qtype, label=None):
    for only, qn, qt, reason in rules:
        if only and only != label:
            continue
        if fnmatch.fnmatchcase(qname.lower(), qn) and fnmatch.fnmatchcase(qtype, qt):
            return reason or "listed"
    return None
