#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Honest side-by-side benchmark of ostrovd, Unbound, Knot Resolver and a trivial floor.

One command brings up a loopback lab (the real one from tests/lab/lab when it exists, or a
self-contained mini lab of two NSD instances on 127.53.200.x), starts each resolver pinned to
one core with taskset while dnsperf/resperf run pinned to the other, and measures:

* cache-hit CPU microseconds per answered query of the resolver process (utime+stime from
  /proc/PID/stat before and after) at a fixed offered rate (dnsperf -Q), with loss and the
  latency p50/p99/p99.9 computed from dnsperf -v per-query lines;
* peak cache-hit qps at <= 0.1 % loss (resperf ramp), beside the load generator's own CPU use,
  because one dnsperf/resperf process saturates its core before good resolvers do;
* cache-miss resolution of distinct lab names on a fresh resolver (empty cache): rate with
  zero SERVFAIL and CPU microseconds per resolved query;
* each with DNSSEC validation on and off, RSS after each run, and a two-worker variant.

Every figure is the median of --runs runs (default 3), printed with min and max, as a table
with each resolver's figure, ostrov/peer and x/floor ratios. The table, versions, machine and
the exact commands are appended to bench/RESULTS.md. `--smoke` runs every step for about a
second at a tiny rate to keep the harness from rotting (ctest `bench_smoke`); it asserts only
that the floor and each present peer answered some queries.

Network rule: every address used here is in 127.0.0.0/8; run() refuses anything else.
"""

import argparse
import atexit
import datetime
import ipaddress
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------------------------------
# Processes: everything started is registered and stopped by pid, always.

_started = []  # list of (description, Popen), newest last
_cleanups = []  # callables run at exit, newest first
_commands = {}  # kind -> first exact command line (for RESULTS.md)
_configs = {}  # resolver -> text of the first configuration generated for it
_verbose = False


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def debug(msg):
    if _verbose:
        log(msg)


def note_command(kind, argv, cwd=None):
    line = " ".join(shlex.quote(a) for a in argv)
    if cwd:
        line = "(cd %s && %s)" % (shlex.quote(cwd), line)
    _commands.setdefault(kind, line)
    debug(line)


def note_config(kind, path):
    if kind not in _configs:
        with open(path) as f:
            _configs[kind] = f.read()


def _check_loopback_args(argv):
    """Refuse to run a command that names a non-loopback IPv4/IPv6 address."""
    for a in argv:
        for tok in re.split(r"[@,=\s#]", str(a)):
            try:
                ip = ipaddress.ip_address(tok)
            except ValueError:
                continue
            if not ip.is_loopback:
                raise SystemExit("refusing to use non-loopback address %s" % ip)


def _die_with_parent():
    """In the child before exec: get SIGTERM if the harness itself is killed (ctest timeout,
    SIGKILL), so no daemon outlives it. Linux prctl(PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def start(kind, argv, log_path, cwd=None, env=None):
    """Start a long-running process in its own session; returns its Popen."""
    _check_loopback_args(argv)
    note_command(kind, argv, cwd)
    out = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=cwd, env=env, start_new_session=True,
                         preexec_fn=_die_with_parent)
    out.close()
    _started.append((kind, p))
    return p


def stop(p, timeout=10.0):
    """Stop one process we started: SIGTERM, wait with a deadline, then SIGKILL."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)
    for i, (_, q) in enumerate(_started):
        if q is p:
            del _started[i]
            break


def cleanup():
    while _started:
        stop(_started[-1][1])
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # cleanup must go on
            log("cleanup: %s" % e)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def run(kind, argv, cwd=None, timeout=600, check=True):
    """Run a short command to completion; returns CompletedProcess (text)."""
    _check_loopback_args(argv)
    note_command(kind, argv, cwd)
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (argv[0], r.returncode, r.stdout[-2000:]))
    return r


def free_port(preferred):
    """The preferred port if UDP and TCP are both free on 127.0.0.1, else a free one."""
    for port in [preferred] + [0] * 5:
        try:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", port))
            port = u.getsockname()[1]
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.bind(("127.0.0.1", port))
            t.close()
            u.close()
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


_nice = 0


def pin(cpus):
    """Prefix that pins a command to cpus (taskset) at the run's nice level. Both exec, so
    the pid we get is the program's own."""
    return (["nice", "-n", str(_nice)] if _nice else []) + ["taskset", "-c", cpus]


def cpu_ticks(pids):
    """utime+stime (all threads) of the processes, in clock ticks."""
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            # The command name may contain spaces: split after its closing parenthesis.
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def rss_mb(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024.0


def cpu_busy(cpus):
    """Busy jiffies (user, nice, system, irq, softirq, steal) of the listed CPUs so far."""
    want = {"cpu%d" % c for c in cpus}
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0] in want:
                v = [int(x) for x in parts[1:9]]
                busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy


def cpu_list(spec):
    """'0,1' or '0-1' -> [0, 1] (taskset -c syntax, the subset used here)."""
    out = []
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def wait_quiet(cpus, max_pct, timeout):
    """Wait until other processes leave the measurement cores (mostly) idle.

    The machine may be shared: a compiler on the resolver's core inflates every figure.
    Polls 1-second samples of /proc/stat until the busy share of the cores is below
    max_pct, or gives up after timeout seconds. Returns the last sample in percent."""
    deadline = time.time() + timeout
    while True:
        b0, t0 = cpu_busy(cpus), time.time()
        time.sleep(1.0)
        pct = 100.0 * (cpu_busy(cpus) - b0) / CLK_TCK / ((time.time() - t0) * len(cpus))
        if pct <= max_pct or time.time() > deadline:
            return pct
        debug("cores %s busy %.0f%% with other work; waiting" % (cpus, pct))


def pids_alive(pids):
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
    return True


# ---------------------------------------------------------------------------------------
# Labs: where names come from.


class Lab:
    """A running loopback hierarchy: root hints, trust anchor, and benchmark names."""

    kind = "?"
    hints = None  # path of root hints in zone-file syntax
    ta = None  # path of the trust anchor (DS or DNSKEY records)
    names = []  # [(qname, qtype)] distinct existing names for cache-miss runs
    ready = None  # (qname, qtype) a known NOERROR name, used for the readiness check
    hit = []  # [(qname, qtype)] names for cache-hit runs

    def root_servers(self):
        """{ns name: [addresses]} from the hints file."""
        ns, addrs = [], {}
        with open(self.hints) as f:
            for line in f:
                line = line.split(";", 1)[0].split()
                if len(line) < 3:
                    continue
                owner, rtype, data = line[0].lower(), line[-2].upper(), line[-1]
                if rtype == "NS" and owner == ".":
                    ns.append(data.lower())
                elif rtype in ("A", "AAAA"):
                    addrs.setdefault(owner, []).append(data)
        out = {n: addrs.get(n, []) for n in ns}
        for n, a in out.items():
            for x in a:
                if not ipaddress.ip_address(x).is_loopback:
                    raise SystemExit("root hint %s %s is not loopback" % (n, x))
        return out


def split_names(lab, names, n_hit):
    """Distinct names, one question each (A where the lab has it): ready, hit set, miss set.
    One type per name keeps every resolver's upstream work comparable (Unbound, for one,
    adds an A query when a name is first asked for AAAA)."""
    first = {}
    for q, t in names:
        if q not in first or (t.upper() == "A" and first[q].upper() != "A"):
            first[q] = t
    names = list(first.items())
    lab.ready = names[0]
    lab.hit = names[1:1 + n_hit]
    lab.names = names[1 + n_hit:]


class RealLab(Lab):
    """tests/lab/lab up DIR, from the lab helper's branch once merged."""

    kind = "tests/lab"

    def __init__(self, tool, d, n_hit):
        self.tool, self.dir = tool, d
        os.makedirs(d, exist_ok=True)
        _cleanups.append(self.down)
        # --prefix auto: another lab (another helper, a CI job) may hold 127.53.
        run("lab-up", [tool, "up", d, "--prefix", "auto"], timeout=900)
        self.hints = os.path.join(d, "root.hints")
        self.ta = os.path.join(d, "ta.ds")
        with open(os.path.join(d, "names.json")) as f:
            data = json.load(f)
        names = []
        self._collect(data, names)
        if len(names) < n_hit + 2:
            raise RuntimeError("names.json has only %d 'bench' names" % len(names))
        split_names(self, names, n_hit)

    def _collect(self, node, out):
        """Accept a list or dict of entries; take those of kind 'bench'."""
        if isinstance(node, list):
            for x in node:
                self._collect(x, out)
        elif isinstance(node, dict):
            kind = node.get("kind")
            if kind == "bench" or (isinstance(kind, list) and "bench" in kind):
                name = node.get("name") or node.get("qname") or node.get("owner")
                qtype = node.get("type") or node.get("qtype") or "A"
                if isinstance(name, str):
                    out.append((name if name.endswith(".") else name + ".", str(qtype)))
                    return
            for k, v in node.items():
                if isinstance(v, (list, dict)):
                    self._collect(v, out)

    def down(self):
        run("lab-down", [self.tool, "down", self.dir], check=False)


class NoLab:
    """No lab at all: only the mirror steps run (--resolvers '' or --steps mirror,bigzone)."""

    kind = "none (mirror steps only)"
    names, hit = [], []


class MiniLab(Lab):
    """Two NSD instances: a signed root on 127.53.200.N and a signed 'bench.' zone with
    n_names names on 127.53.200.N+1 (one instance per level, so the root address can never
    answer a name below a delegation). Used until tests/lab/ is merged, and by --smoke."""

    kind = "mini (bench/run.py, NSD)"

    def __init__(self, d, n_names, n_hit, signed_tld=True, nsd_timeout=20):
        """signed_tld False: 'bench.' is unsigned and its delegation has no DS (an insecure
        zone: no signing, so a million names are up in seconds, and every validating
        resolver caches the same unsigned RRsets)."""
        self.dir = d
        self.nsd_timeout = nsd_timeout
        os.makedirs(d, exist_ok=True)
        self.root_ip, self.tld_ip = self._pick_addresses()
        keys = os.path.join(d, "keys")
        os.makedirs(keys)
        # Signing tools write files into their working directory: keep them in keys/.
        rksk = self._keygen(keys, ".", True)
        rzsk = self._keygen(keys, ".", False)
        bksk = self._keygen(keys, "bench.", True)
        bzsk = self._keygen(keys, "bench.", False)
        bench_ds = run("ldns-key2ds", ["ldns-key2ds", "-n", "-2", bksk + ".key"],
                       cwd=keys).stdout
        root_ds = run("ldns-key2ds", ["ldns-key2ds", "-n", "-2", rksk + ".key"],
                      cwd=keys).stdout
        soa = "1 3600 900 604800 86400"
        with open(os.path.join(keys, "root.zone"), "w") as f:
            f.write(". 86400 IN SOA a.root-servers.mini. hostmaster.mini. %s\n" % soa)
            f.write(". 518400 IN NS a.root-servers.mini.\n")
            f.write("a.root-servers.mini. 518400 IN A %s\n" % self.root_ip)
            f.write("bench. 172800 IN NS ns.bench.\n")
            f.write("ns.bench. 172800 IN A %s\n" % self.tld_ip)
            if signed_tld:
                f.write(bench_ds)
        width = max(5, len(str(max(n_names - 1, 0))))
        names = ["h%0*d.bench." % (width, i) for i in range(n_names)]
        with open(os.path.join(keys, "bench.zone"), "w") as f:
            f.write("bench. 86400 IN SOA ns.bench. hostmaster.bench. %s\n" % soa)
            f.write("bench. 86400 IN NS ns.bench.\n")
            f.write("ns.bench. 86400 IN A %s\n" % self.tld_ip)
            for i, n in enumerate(names):
                f.write("%s 86400 IN A 127.%d.%d.%d\n" % (n, (i >> 16) & 255, (i >> 8) & 255,
                                                            i & 255))
        for zone, origin, k in (("root.zone", ".", (rksk, rzsk)),
                                ("bench.zone", "bench.", (bksk, bzsk))):
            if origin == "bench." and not signed_tld:
                shutil.copyfile(os.path.join(keys, zone), os.path.join(keys, zone + ".signed"))
                continue
            run("ldns-signzone", ["ldns-signzone", "-o", origin, zone] + list(k), cwd=keys)
        self.hints = os.path.join(d, "root.hints")
        with open(self.hints, "w") as f:
            f.write(". 3600000 NS a.root-servers.mini.\n")
            f.write("a.root-servers.mini. 3600000 A %s\n" % self.root_ip)
        self.ta = os.path.join(d, "ta.ds")
        with open(self.ta, "w") as f:
            f.write(root_ds)
        for name, ip, zone, origin in (("root", self.root_ip, "root.zone.signed", "."),
                                       ("bench", self.tld_ip, "bench.zone.signed", "bench.")):
            self._nsd(name, ip, os.path.join(keys, zone), origin)
        split_names(self, [(n, "A") for n in names], n_hit)
        self._wait_nsd()

    @staticmethod
    def _pick_addresses():
        """First pair 127.53.200.(2k+1, 2k+2) whose port 53 is free (parallel runs)."""
        for k in range(0, 120):
            pair = ("127.53.200.%d" % (2 * k + 1), "127.53.200.%d" % (2 * k + 2))
            try:
                socks = []
                for ip in pair:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socks.append(s)
                    s.bind((ip, 53))
                for s in socks:
                    s.close()
                return pair
            except OSError:
                for s in socks:
                    s.close()
        raise RuntimeError("no free 127.53.200.x address pair on port 53")

    @staticmethod
    def _keygen(keys, origin, ksk):
        argv = ["ldns-keygen", "-a", "ECDSAP256SHA256"] + (["-k"] if ksk else []) + [origin]
        return run("ldns-keygen", argv, cwd=keys).stdout.strip().splitlines()[-1]

    def _nsd(self, name, ip, zonefile, origin):
        d = os.path.join(self.dir, "nsd-" + name)
        os.makedirs(d)
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write("""server:
  ip-address: %(ip)s
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "%(d)s"
  pidfile: "%(d)s/nsd.pid"
  database: ""
  zonelistfile: "%(d)s/zone.list"
  xfrdfile: "%(d)s/xfrd.state"
  xfrdir: "%(d)s"
  logfile: "%(d)s/nsd.log"
  server-count: 1
  verbosity: 0
  hide-version: yes
remote-control:
  control-enable: no
zone:
  name: "%(origin)s"
  zonefile: "%(zone)s"
""" % {"ip": ip, "d": d, "origin": origin, "zone": zonefile})
        start("nsd", ["nsd", "-d", "-c", conf], os.path.join(d, "stdout.log"))

    def _wait_nsd(self):
        deadline = time.time() + self.nsd_timeout
        checks = (
            (self.root_ip, ".", "SOA", "NOERROR"),
            (self.tld_ip, self.ready[0], "A", "NOERROR"),
            # The root address must refer, not answer, a name below 'bench.'.
            (self.root_ip, self.ready[0], "A", "NOERROR-referral"),
        )
        for ip, q, t, want in checks:
            while True:
                st, flags, answers = dig(ip, 53, q, t, norec=True)
                got = st
                if st == "NOERROR" and "aa" not in flags and answers == 0:
                    got = "NOERROR-referral"
                if got == want:
                    break
                if time.time() > deadline:
                    raise RuntimeError("mini lab: %s %s @%s gave %s, want %s" %
                                       (q, t, ip, got, want))
                time.sleep(0.1)


def dig(ip, port, qname, qtype, norec=False, timeout=2):
    """(rcode, flags, answer count) of one query, or ('TIMEOUT', [], 0)."""
    argv = ["dig", "@" + ip, "-p", str(port), "+tries=1", "+time=%d" % timeout, "+noall",
            "+comments", qname, qtype]
    if norec:
        argv.append("+norec")
    r = run("dig", argv, check=False, timeout=timeout + 5)
    m = re.search(r"status: (\w+)", r.stdout)
    f = re.search(r"flags: ([\w ]*);.*ANSWER: (\d+)", r.stdout)
    if not m:
        return "TIMEOUT", [], 0
    return m.group(1), (f.group(1).split() if f else []), (int(f.group(2)) if f else 0)


# ---------------------------------------------------------------------------------------
# Resolvers.


class Resolver:
    """A resolver under test. start() returns the list of pids to measure (all workers)."""

    name = "?"
    validates = True  # has a validation on/off distinction

    def __init__(self, port, work):
        self.port, self.work, self.procs = port, work, []

    def available(self):
        """None if it can run, else the reason it is skipped."""
        return None

    def version(self):
        return "?"

    def stop(self):
        for p in reversed(self.procs):
            stop(p)
        self.procs = []

    def pids(self):
        return [p.pid for p in self.procs]

    def wait_ready(self, lab, validation, deadline_s):
        """Poll the known lab name until NOERROR (and AD when validating) or deadline."""
        deadline = time.time() + deadline_s
        qname, qtype = lab.ready
        last = "no answer"
        while time.time() < deadline:
            if not pids_alive(self.pids()):
                return "exited (see %s)" % self.work
            st, flags, n = dig("127.0.0.1", self.port, qname, qtype)
            last = "%s flags=%s answers=%d" % (st, ",".join(flags), n)
            if st == "NOERROR" and n > 0 and (not validation or "ad" in flags
                                              or not self.validates):
                return None
            time.sleep(0.2)
        return "not ready: %s %s -> %s" % (qname, qtype, last)


class Floor(Resolver):
    name = "floor"
    validates = False

    def __init__(self, port, work, binary):
        super().__init__(port, work)
        self.binary = binary

    def available(self):
        return None if self.binary else "no floor binary and no C compiler"

    def version(self):
        return "bench/floor.c (recvmmsg/sendmmsg x64)"

    def start(self, lab, workers, validation, cpus, tag):
        self.procs = [start("floor", pin(cpus) + [self.binary, "-a", "127.0.0.1",
                                      "-p", str(self.port), "-t", str(workers)],
                            os.path.join(self.work, "floor.log"))]

    def wait_ready(self, lab, validation, deadline_s):
        deadline = time.time() + deadline_s
        while time.time() < deadline:
            if dig("127.0.0.1", self.port, lab.ready[0], "A")[0] == "NOERROR":
                return None
            time.sleep(0.1)
        return "floor does not answer"


class Unbound(Resolver):
    name = "unbound"
    msg_cache, rrset_cache = "256m", "512m"
    control_port = None  # set: remote control on 127.0.0.1@port without certificates

    def available(self):
        return None if shutil.which("unbound") else "unbound not installed"

    def version(self):
        r = run("version", ["unbound", "-V"], check=False)
        return r.stdout.splitlines()[0].replace("Version", "Unbound").strip()

    def start(self, lab, workers, validation, cpus, tag):
        d = os.path.join(self.work, "unbound-" + tag)
        os.makedirs(d)
        conf = os.path.join(d, "unbound.conf")
        with open(conf, "w") as f:
            f.write("""server:
  num-threads: %(workers)d
  interface: 127.0.0.1@%(port)d
  port: %(port)d
  so-reuseport: yes
  do-ip6: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  root-hints: "%(hints)s"
  trust-anchor-file: "%(ta)s"
  module-config: "%(modules)s"
  chroot: ""
  username: ""
  directory: "%(d)s"
  pidfile: "%(d)s/unbound.pid"
  logfile: "%(d)s/unbound.log"
  use-syslog: no
  verbosity: 0
  msg-cache-size: %(msg)s
  rrset-cache-size: %(rrset)s
  key-cache-size: 64m
  num-queries-per-thread: 4096
  outgoing-range: 8192
  so-rcvbuf: 4m
  so-sndbuf: 4m
remote-control:
%(control)s
""" % {"workers": workers, "port": self.port, "hints": lab.hints, "ta": lab.ta, "d": d,
                "modules": "validator iterator" if validation else "iterator",
                "msg": self.msg_cache, "rrset": self.rrset_cache,
                "control": "  control-enable: no" if not self.control_port else
                "  control-enable: yes\n  control-interface: 127.0.0.1\n"
                "  control-port: %d\n  control-use-cert: no" % self.control_port})
        if self.control_port:  # cache counts and memory need extended statistics
            with open(conf) as f:
                text = f.read()
            with open(conf, "w") as f:
                f.write(text.replace("  verbosity: 0\n",
                                     "  verbosity: 0\n  extended-statistics: yes\n"))
        self.conf = conf
        note_config("unbound", conf)
        run("unbound-checkconf", ["unbound-checkconf", conf])
        self.procs = [start("unbound", pin(cpus) + ["unbound", "-d", "-c", conf],
                            os.path.join(d, "stdout.log"))]


class Kresd(Resolver):
    """Knot Resolver 5.x: one process per worker sharing one LMDB cache (SO_REUSEPORT)."""

    name = "kresd"
    cache_mb = 1024

    def available(self):
        return None if shutil.which("kresd") else "kresd not installed"

    def version(self):
        return run("version", ["kresd", "--version"], check=False).stdout.strip()

    def start(self, lab, workers, validation, cpus, tag):
        d = os.path.join(self.work, "kresd-" + tag)
        os.makedirs(os.path.join(d, "cache"))
        hints = ", ".join("['%s'] = {%s}" % (n, ", ".join("'%s'" % a for a in addrs))
                          for n, addrs in lab.root_servers().items())
        ta = ("trust_anchors.add_file('%s', true) -- read-only: never bootstrap or update"
              % lab.ta) if validation else "-- validation off: no trust anchor at all"
        conf = os.path.join(d, "config.lua")
        with open(conf, "w") as f:
            f.write("""-- generated by bench/run.py
log_level('warning')
net.ipv6 = false
net.listen('127.0.0.1', %(port)d, { kind = 'dns' })
cache.open(%(mb)d * MB, 'lmdb://%(d)s/cache')
-- no outside queries: the default root TA and its helpers go, lab hints come in
trust_anchors.remove('.')
modules.unload('ta_signal_query')
modules.unload('detect_time_skew')
modules.unload('detect_time_jump')
%(ta)s
modules.load('hints > iterate')
hints.root({ %(hints)s })
-- lab name servers are on loopback, which kresd skips unless ALLOW_LOCAL is set
policy.add(policy.all(policy.FLAGS({'ALLOW_LOCAL'})))
""" % {"port": self.port, "d": d, "ta": ta, "hints": hints, "mb": self.cache_mb})
        self.cache_dir = os.path.join(d, "cache")
        note_config("kresd", conf)
        self.procs = []
        for i in range(workers):
            wd = os.path.join(d, "w%d" % i)
            os.makedirs(wd)
            self.procs.append(start("kresd", pin(cpus) + ["kresd", "-n", "-q", "-c",
                                              conf, wd], os.path.join(wd, "stdout.log")))


class Ostrovd(Resolver):
    """ostrovd with a config in the shared YAML contract (TEAM.md)."""

    name = "ostrovd"
    cache_size = "1024M"

    # Extra lines of the server section ("  key: value\n"), for A/B runs (bench/coalesce_ab.py).
    extra_server = ""

    def __init__(self, port, work, binary):
        super().__init__(port, work)
        self.binary = binary

    def available(self):
        if not self.binary:
            return "ostrovd binary not built yet (looked in build/*/server/ostrovd)"
        return None

    def version(self):
        r = run("version", [self.binary, "--version"], check=False)
        v = r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else ""
        g = run("git", ["git", "-C", REPO, "describe", "--always", "--dirty"], check=False)
        build = os.path.basename(os.path.dirname(os.path.dirname(self.binary)))
        return "%s (git %s, build %s)" % (v or "ostrovd", g.stdout.strip(), build)

    def start(self, lab, workers, validation, cpus, tag):
        d = os.path.join(self.work, "ostrovd-" + tag)
        os.makedirs(os.path.join(d, "cache"))
        conf = os.path.join(d, "ostrov.yaml")
        with open(conf, "w") as f:
            f.write("""# generated by bench/run.py
server:
  listen: ["127.0.0.1@%(port)d"]
  workers: %(workers)d
  log-level: warn
  control-socket: %(d)s/control.sock
%(extra)saccess:
  allow: ["127.0.0.0/8"]
  deny-action: refuse
resolver:
  root-hints-file: %(hints)s
  trust-anchor-file: %(ta)s
  upstream-allow: ["127.0.0.0/8"]
  upstream-port: 53
  validation: %(val)s
cache:
  path: %(d)s/cache
  size: %(size)s
""" % {"port": self.port, "workers": workers, "d": d, "hints": lab.hints, "ta": lab.ta,
                "val": "yes" if validation else "no", "extra": self.extra_server,
                "size": self.cache_size})
        self.cache_dir = os.path.join(d, "cache")
        self.control = os.path.join(d, "control.sock")
        note_config("ostrovd", conf)
        chk = run("ostrovd-check", [self.binary, "-c", conf, "--check-config"], check=False)
        if chk.returncode != 0:
            raise RuntimeError("ostrovd --check-config: " + chk.stdout.strip()[-300:])
        self.procs = [start("ostrovd", pin(cpus) + [self.binary, "-c", conf],
                            os.path.join(d, "stdout.log"))]


# ---------------------------------------------------------------------------------------
# Load generation and parsing.


def write_queries(path, names):
    with open(path, "w") as f:
        for q, t in names:
            f.write("%s %s\n" % (q, t))


def parse_dnsperf(text):
    """The summary numbers of a dnsperf/resperf run."""
    out = {"rcodes": {}}
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"),
                     ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"),
                     ("runtime", r"Run time \(s\):\s+([\d.]+)"),
                     ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("max_qps", r"Maximum throughput:\s+([\d.]+)"),
                     ("lost_at_max", r"Lost at that point:\s+([\d.]+)%")):
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1))
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        for code, n in re.findall(r"([A-Z]+) (\d+) \(", m.group(1)):
            out["rcodes"][code] = int(n)
    if "completed" not in out:
        raise RuntimeError("cannot parse dnsperf output:\n" + text[-1500:])
    return out


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


class Gen:
    """dnsperf/resperf pinned to a core, with the measured resolver's CPU around each run."""

    def __init__(self, cpus, port, res_cpus):
        self.cpus, self.port, self.res_cpus = cpus, port, cpu_list(res_cpus)

    def _base(self, tool):
        # -b 4096: 4 MB socket buffers. With the default (~208 KB, a few hundred datagrams)
        # the generator drops answers whenever the scheduler pauses it for a few ms, and
        # that loss would be charged to the resolver.
        return pin(self.cpus) + [tool, "-s", "127.0.0.1", "-p", str(self.port), "-b", "4096"]

    def dnsperf(self, kind, qfile, pids, extra, per_query=False, timeout=600):
        argv = self._base("dnsperf") + ["-d", qfile] + extra + (["-v"] if per_query else [])
        _check_loopback_args(argv)
        note_command(kind, argv)
        cores = sorted(set(cpu_list(self.cpus)) | set(self.res_cpus))
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = cpu_ticks(pids)
        b0, w0 = cpu_busy(cores), time.time()
        lat, rest = [], []
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             preexec_fn=_die_with_parent)
        _started.append((kind, p))
        try:
            for line in p.stdout:
                if line.startswith("> "):
                    parts = line.split()
                    try:
                        lat.append(float(parts[-1]))
                    except ValueError:
                        pass
                else:
                    rest.append(line)
            p.wait(timeout)
        finally:
            stop(p)
        t1 = cpu_ticks(pids)
        b1, w1 = cpu_busy(cores), time.time()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = parse_dnsperf("".join(rest))
        res["cpu_s"] = (t1 - t0) / CLK_TCK
        res["gen_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        # CPU used on the measurement cores by anything but the resolver and the generator.
        other = (b1 - b0) / CLK_TCK - res["cpu_s"] - res["gen_cpu_s"]
        res["other_pct"] = max(0.0, 100.0 * other / ((w1 - w0) * len(cores)))
        lat.sort()
        res["lat"] = lat
        return res

    def resperf(self, kind, qfile, pids, max_qps, ramp_s, plot):
        argv = self._base("resperf") + ["-d", qfile, "-m", str(max_qps), "-r", str(ramp_s),
                                        "-L", "0.1", "-R", "-t", "2", "-P", plot]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = run(kind, argv, timeout=ramp_s + 120)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = parse_dnsperf(r.stdout)
        res["gen_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return res


# ---------------------------------------------------------------------------------------
# The measurement plan.

FIGURES = [
    # key, label, unit, lower is better
    ("hit_cpu", "cache-hit CPU per query @%(rate)s qps", "us", True),
    ("hit_p50", "cache-hit latency p50 @%(rate)s qps", "us", True),
    ("hit_p99", "cache-hit latency p99 @%(rate)s qps", "us", True),
    ("hit_p999", "cache-hit latency p99.9 @%(rate)s qps", "us", True),
    ("hit_sent", "  offered rate dnsperf achieved", "qps", None),
    ("hit_lost", "cache-hit lost queries @%(rate)s qps", "q", None),
    ("hit_other", "  other processes' CPU on the cores during it", "%", None),
    ("peak_qps", "peak cache-hit qps (resperf, <=0.1%% loss)", "qps", False),
    ("miss_rate", "cache-miss resolutions per second", "qps", False),
    ("miss_cpu", "cache-miss CPU per resolved query", "us", True),
    ("miss_servfail", "cache-miss SERVFAIL + lost", "q", None),
    ("rss", "RSS after run", "MB", True),
]


# Figures where a multiple of the floor means something (the floor does no DNS work).
FLOOR_RATIO = {"hit_cpu", "hit_p50", "hit_p99", "hit_p999", "peak_qps"}


class Bench:
    def __init__(self, args, lab, work):
        self.args, self.lab, self.work = args, lab, work
        self.results = {}  # (resolver, mode, key) -> [values]
        self.mirror = {}  # tool -> {"wall": [s], "cpu": [s]}
        self.bigzone = {}  # tool -> {"wall": [s], "cpu": [s]} on the generated zone
        self.rss, self.rss_detail = {}, {}  # step rss1m: resolver -> {figure: value}
        self.quiet_ok, self.busy_waits = True, 0
        self.notes = []
        self.hitfile = os.path.join(work, "hit.txt")
        self.missfile = os.path.join(work, "miss.txt")
        write_queries(self.hitfile, lab.hit)
        write_queries(self.missfile, lab.names[:args.miss_names])

    def add(self, res, mode, key, value):
        self.results.setdefault((res.name, mode, key), []).append(value)

    def note(self, msg):
        log(msg)
        self.notes.append(msg)

    def modes(self, res):
        m = []
        for w in self.args.workers:
            if res.validates:
                for v in self.args.validation:
                    if w == 1 or v in self.args.two_worker_validation:
                        m.append((w, v))
            else:
                m.append((w, None))
        return m

    def measure(self, res):
        why = res.available()
        if why:
            self.note("%s: skipped: %s" % (res.name, why))
            return False
        for workers, val in self.modes(res):
            mode = "%dw %s" % (workers, {True: "val", False: "noval", None: "-"}[val])
            for i in range(self.args.runs):
                tag = "%dw-%s-%d" % (workers, {True: "val", False: "noval", None: "x"}[val], i)
                try:
                    ok = self.one_run(res, workers, bool(val), mode, tag)
                except Exception as e:
                    res.stop()
                    self.note("%s %s run %d: failed: %s" % (res.name, mode, i + 1, e))
                    ok = False
                if not ok:
                    if res.name == "floor" or not self.any_result(res):
                        return False
                    break
        return True

    def any_result(self, res):
        return any(k[0] == res.name for k in self.results)

    def start_ready(self, res, workers, val, tag):
        cpus = self.args.resolver_cpus if workers == 1 else self.args.all_cpus
        res.start(self.lab, workers, val, cpus, tag)
        why = res.wait_ready(self.lab, val, self.args.ready_timeout)
        if why:
            res.stop()
            self.note("%s (%s): skipped: readiness check failed: %s" % (res.name, tag, why))
            return False
        return True

    def one_run(self, res, workers, val, mode, tag):
        a = self.args
        gen = Gen(a.gen_cpus if workers == 1 else a.all_cpus, res.port,
                  a.resolver_cpus if workers == 1 else a.all_cpus)
        cores = sorted(set(cpu_list(a.all_cpus)))
        log("%s %s run %d" % (res.name, mode, int(tag.rsplit("-", 1)[1]) + 1))
        if not self.start_ready(res, workers, val, tag):
            return False
        try:
            # 1. Cache miss: distinct names on an empty cache (only the readiness name and
            # its delegation chain are cached). Halve the window until no SERVFAIL/loss.
            if res.name != "floor" and "miss" in a.steps and workers == 1:
                self.quiet(cores)
                window = a.miss_window
                while True:
                    r = gen.dnsperf("dnsperf-miss", self.missfile, res.pids(),
                                    ["-n", "1", "-q", str(window), "-t", "5"])
                    bad = r["rcodes"].get("SERVFAIL", 0) + int(r["lost"])
                    if bad == 0 or window <= 10:
                        break
                    self.note("%s %s: cache-miss window %d gave %d SERVFAIL+lost; retrying at "
                              "%d on a fresh resolver" % (res.name, mode, window, bad,
                                                          window // 4))
                    window //= 4
                    res.stop()
                    if not self.start_ready(res, workers, val, tag + "-w%d" % window):
                        return False
                ok = r["rcodes"].get("NOERROR", 0)
                self.add(res, mode, "miss_rate", ok / r["runtime"] if r["runtime"] else 0)
                self.add(res, mode, "miss_cpu", r["cpu_s"] * 1e6 / ok if ok else float("nan"))
                self.add(res, mode, "miss_servfail", bad)
            # 2. Cache hit at a fixed offered rate: warm once, check, then measure.
            if "hit" in a.steps:
                self.quiet(cores)
                w = gen.dnsperf("dnsperf-warm", self.hitfile, res.pids(),
                                ["-n", "2", "-q", "20", "-t", "5"])
                if w["rcodes"].get("NOERROR", 0) == 0:
                    raise RuntimeError("warm-up got no NOERROR: %s" % w["rcodes"])
                if w["rcodes"].get("NOERROR", 0) < w["completed"]:
                    self.note("%s %s: warm-up rcodes %s" % (res.name, mode, w["rcodes"]))
                r = gen.dnsperf("dnsperf-hit", self.hitfile, res.pids(),
                                ["-l", str(a.duration), "-Q", str(a.rate), "-q",
                                 str(a.hit_window), "-t", "2"], per_query=True)
                ok = r["completed"]
                if ok == 0:
                    raise RuntimeError("no answers at fixed rate")
                self.add(res, mode, "hit_cpu", r["cpu_s"] * 1e6 / ok)
                self.add(res, mode, "hit_lost", r["lost"])
                self.add(res, mode, "hit_sent", r["sent"] / r["runtime"] if r["runtime"] else 0)
                self.add(res, mode, "hit_other", r["other_pct"])
                if r["lat"]:
                    for key, p in (("hit_p50", 50), ("hit_p99", 99), ("hit_p999", 99.9)):
                        self.add(res, mode, key, percentile(r["lat"], p) * 1e6)
                noerr = r["rcodes"].get("NOERROR", 0)
                if noerr < ok:
                    self.note("%s %s: fixed-rate rcodes %s" % (res.name, mode, r["rcodes"]))
            # 3. Peak cache-hit qps at <= 0.1 % loss.
            if "peak" in a.steps:
                self.quiet(cores)
                r = gen.resperf("resperf-peak", self.hitfile, res.pids(), a.peak_max,
                                a.duration, os.path.join(self.work, "resperf-%s-%s.gnuplot"
                                                         % (res.name, tag)))
                self.add(res, mode, "peak_qps", r.get("max_qps", 0.0))
            self.add(res, mode, "rss", rss_mb(res.pids()))
            if not pids_alive(res.pids()):
                raise RuntimeError("resolver died during the run")
        finally:
            res.stop()
        return True

    def quiet(self, cores):
        """Wait for quiet cores; after a wait that timed out, the next one is short (the
        machine is busy for good, and the other-load figure of each run says how much)."""
        if self.args.quiet_timeout <= 0:
            return
        budget = self.args.quiet_timeout if self.quiet_ok else min(3, self.args.quiet_timeout)
        pct = wait_quiet(cores, self.args.max_other_load, budget)
        self.quiet_ok = pct <= self.args.max_other_load
        if not self.quiet_ok:
            self.busy_waits += 1
            log("cores %s %.0f%% busy with other work; measuring anyway"
                % (",".join(map(str, cores)), pct))

    # -- output --------------------------------------------------------------------------

    def table(self):
        rate = "{:,}".format(self.args.rate).replace(",", " ")
        order = ["floor", "ostrovd", "unbound", "kresd"]
        rows = []
        for key, label, unit, lower in FIGURES:
            for w in sorted(self.args.workers):
                floor_mode = "%dw -" % w
                flv = self.med("floor", floor_mode, key)
                for mode in (floor_mode, "%dw val" % w, "%dw noval" % w):
                    osv = self.med("ostrovd", mode, key)
                    for r in order:
                        vals = self.results.get((r, mode, key))
                        if not vals:
                            continue
                        med = statistics.median(vals)
                        if lower is None:
                            osv = flv = None
                        if key not in FLOOR_RATIO:
                            flv = None
                        ratio_o = "" if osv is None or r == "ostrovd" or not med else \
                            "%.2f" % (osv / med)
                        ratio_f = "" if flv is None or r == "floor" or not flv else \
                            "%.2f" % (med / flv)
                        rows.append((label % {"rate": rate}, unit, mode, r, fmt(med),
                                     fmt(min(vals)), fmt(max(vals)), len(vals), ratio_o,
                                     ratio_f))
        return rows

    def med(self, r, mode, key):
        v = self.results.get((r, mode, key))
        return statistics.median(v) if v else None

    def targets(self):
        out = []
        mode = "1w val"
        o = self.med("ostrovd", mode, "hit_cpu")
        for peer, lim in (("unbound", 0.67), ("kresd", 0.5), ("floor", 1.25)):
            p = self.med(peer, "1w -" if peer == "floor" else mode, "hit_cpu")
            if o is None or p is None:
                verdict = "n/a (ostrovd or %s not measured)" % peer
            else:
                verdict = "%.2fx: %s" % (o / p, "met" if o / p <= lim else "NOT met")
            out.append("cache-hit CPU/query ostrovd <= %.2fx %s: %s" % (lim, peer, verdict))
        return out


def fmt(v):
    if v is None or v != v:
        return "nan"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    return "%.2f" % v


def render(rows, markdown):
    head = ("figure", "unit", "mode", "resolver", "median", "min", "max", "n", "ostrov/x",
            "x/floor")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            lines.append("| " + " | ".join(str(x) for x in r) + " |")
        return "\n".join(lines)
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(str(x).ljust(w[i]) if i < 4 else str(x).rjust(w[i])
                       for i, x in enumerate(r)) for r in [head] + rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Mirror figures: whole-zone import + verification of the 2021 root zone.

MIRROR_DIR = "/work/shared/testdata/zonemd/44-root-zone"
MIRROR_TIME = (1612137600, "20210201000000")  # inside its signatures' validity window


def timed(kind, argv, cpus, timeout=900):
    """(wall s, CPU s, CompletedProcess) of one pinned command (TimeoutExpired after
    timeout s)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = run(kind, pin(cpus) + argv, check=False, timeout=timeout)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), r


def mirror_bench(a, work, bench):
    """ostrov's mirror import (bench/mirror: parse, DNSSEC + ZONEMD verification, LMDB store)
    beside ldns-verify-zone -ZZ (parse + verification) on the same file, same core."""
    zone = os.path.join(a.mirror_dir, "root.zone.hashed")
    keys = sorted(os.path.join(a.mirror_dir, "Keys", f)
                  for f in os.listdir(os.path.join(a.mirror_dir, "Keys")) if f.endswith(".ds"))
    tools = []
    if shutil.which("ldns-verify-zone"):
        argv = ["ldns-verify-zone", "-ZZ", "-V", "1", "-t", MIRROR_TIME[1]]
        for k in keys:
            argv += ["-k", k]
        tools.append(("ldns-verify-zone -ZZ", lambda i: argv + [zone]))
    else:
        bench.note("mirror: ldns-verify-zone not installed")
    mirror = find_binary("bench/mirror", a.mirror)
    if mirror:
        tools.append(("ostrov mirror import", lambda i: [
            mirror, "-z", ".", "-f", zone, "-t", str(MIRROR_TIME[0]), "-d",
            os.path.join(work, "mirror-store-%d" % i)] + sum((["-k", k] for k in keys), [])))
    else:
        bench.note("mirror: ostrov side skipped: bench/mirror not built (needs zones/ merged)")
    for name, mk in tools:
        for i in range(a.runs):
            bench.quiet(cpu_list(a.all_cpus))
            wall, cpu, r = timed("mirror-" + name.split()[0], mk(i), a.resolver_cpus)
            if r.returncode != 0:
                bench.note("mirror: %s failed (%d): %s" % (name, r.returncode,
                                                           r.stdout.strip()[-300:]))
                break
            bench.mirror.setdefault(name, {}).setdefault("wall", []).append(wall)
            bench.mirror[name].setdefault("cpu", []).append(cpu)


# ---------------------------------------------------------------------------------------
# Mirror figures: a generated 1,000,000-record signed zone (bench/gen_big_zone.py).


def bigzone_bench(a, work, bench):
    """bench/mirror on the generated zone (records per second of import + full verification +
    LMDB commit) beside ldns-verify-zone -ZZ on the same file, same core. The zone is made
    once by gen_big_zone.py and cached under /tmp."""
    gen = os.path.join(HERE, "gen_big_zone.py")
    argv = [sys.executable, gen, "--records", str(a.big_records), "--shape", a.big_shape,
            "--alg", str(a.big_alg)]
    if a.big_dir:
        argv += ["--dir", a.big_dir]
    log("big zone: generating or reusing a %d-record signed zone (shape %s, algorithm %d)" %
        (a.big_records, a.big_shape, a.big_alg))
    r = run("gen-big-zone", argv, check=False, timeout=3600)
    if r.returncode != 0:
        bench.note("big zone: gen_big_zone.py failed (%d): %s" % (r.returncode,
                                                                   r.stdout.strip()[-300:]))
        return
    d = r.stdout.strip().splitlines()[-1]
    with open(os.path.join(d, "params.json")) as f:
        params = json.load(f)
    zone, records = params["zone"], params["records"]
    bench.big_records = records
    bench.big_label = "%s, algorithm %d" % (a.big_shape, a.big_alg)
    bench.big_cores = "1 core" if a.big_threads == 1 else \
        "%d cores" % len(cpu_list(a.all_cpus))
    signed = os.path.join(d, "zone.signed")
    anchor = os.path.join(d, "anchor.ds")
    tools = []
    mirror = find_binary("bench/mirror", a.mirror)
    if mirror:
        tools.append(("ostrov mirror import", lambda i: [
            mirror, "-z", zone, "-f", signed, "-t", str(params["verify_time"]), "-d",
            os.path.join(work, "big-store-%d" % i), "-k", anchor, "-j", str(a.big_threads)]))
    else:
        bench.note("big zone: ostrov side skipped: bench/mirror not built")
    if shutil.which("ldns-verify-zone"):
        tools.append(("ldns-verify-zone -ZZ", lambda i: [
            "ldns-verify-zone", "-ZZ", "-V", "1", "-t", params["verify_time_ldns"], "-k",
            anchor, signed]))
    for name, mk in tools:
        for i in range(a.runs):
            bench.quiet(cpu_list(a.all_cpus))
            try:
                # the import's verify threads get every core; ldns is serial
                cpus = a.all_cpus if name.startswith("ostrov") and a.big_threads != 1 \
                    else a.resolver_cpus
                wall, cpu, r = timed("big-" + name.split()[0], mk(i), cpus, a.big_timeout)
            except subprocess.TimeoutExpired:
                bench.note("big zone: %s did not finish within %d s" % (name, a.big_timeout))
                break
            shutil.rmtree(os.path.join(work, "big-store-%d" % i), ignore_errors=True)
            if r.returncode != 0:
                bench.note("big zone: %s failed (%d): %s" % (name, r.returncode,
                                                             r.stdout.strip()[-300:]))
                break
            bench.bigzone.setdefault(name, {}).setdefault("wall", []).append(wall)
            bench.bigzone[name].setdefault("cpu", []).append(cpu)


def bigzone_rows(bench):
    """Records per second (wall and CPU) of each tool on the generated zone; ostrov/x on the
    ldns-verify-zone rows is ostrov's rate over ldns's (above 1: ostrov is faster)."""
    rows = []
    n = getattr(bench, "big_records", 0)
    ost = bench.bigzone.get("ostrov mirror import")
    label = "%s-RR signed zone (%s) import+verify" % ("{:,}".format(n),
                                                       getattr(bench, "big_label", "?"))
    for key, what in (("wall", "wall"), ("cpu", "CPU")):
        for name, figs in bench.bigzone.items():
            rates = [n / t for t in figs[key] if t > 0]
            if not rates:
                continue
            med = statistics.median(rates)
            ratio = "%.2f" % (statistics.median(n / t for t in ost[key]) / med) \
                if ost and name != "ostrov mirror import" else ""
            cores = getattr(bench, "big_cores", "1 core") if name == "ostrov mirror import" \
                else "1 core"
            rows.append(("%s, %s" % (label, what), "RR/s", cores, name, "%.0f" % med,
                         "%.0f" % min(rates), "%.0f" % max(rates), len(rates), ratio, ""))
        for name, figs in bench.bigzone.items():
            vals = figs[key]
            cores = getattr(bench, "big_cores", "1 core") if name == "ostrov mirror import" \
                else "1 core"
            rows.append(("%s %s time" % (label, what), "s", cores, name,
                         "%.2f" % statistics.median(vals), "%.2f" % min(vals),
                         "%.2f" % max(vals), len(vals), "", ""))
    return rows


def mirror_rows(bench):
    """Rows for the table; ostrov/x on the ldns-verify-zone row is ostrov's time over it."""
    rows = []
    ost = bench.mirror.get("ostrov mirror import")
    for key, label in (("wall", "root zone 2021 import+verify wall"),
                       ("cpu", "root zone 2021 import+verify CPU")):
        for name, figs in bench.mirror.items():
            vals = figs[key]
            med = statistics.median(vals)
            ratio = "%.2f" % (statistics.median(ost[key]) / med) if ost and med and \
                name != "ostrov mirror import" else ""
            rows.append((label, "s", "1 core", name, "%.3f" % med, "%.3f" % min(vals),
                         "%.3f" % max(vals), len(vals), ratio, ""))
    return rows


# ---------------------------------------------------------------------------------------
# Memory with a million cached names (step rss1m).


def mem_kb(pids):
    """Memory of the processes in kB: /proc/PID/status (VmRSS = RssAnon + RssFile + RssShmem,
    VmHWM its peak) and /proc/PID/smaps_rollup (Pss: shared pages divided among the processes
    mapping them)."""
    out = {}
    for pid in pids:
        for path, keys in (("status", ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")),
                           ("smaps_rollup", ("Pss", "Pss_Anon", "Pss_File"))):
            try:
                with open("/proc/%d/%s" % (pid, path)) as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        if k in keys:
                            out[k] = out.get(k, 0) + int(v.split()[0])
            except FileNotFoundError:
                pass
    return out


def ostrovd_stats(res):
    """ostrovctl stats --json of a running ostrovd, or {}."""
    ctl = find_binary("control/ostrovctl", None)
    if not ctl:
        return {}
    r = run("ostrovctl", [ctl, "-s", res.control, "stats", "--json"], check=False, timeout=20)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def unbound_stats(res):
    """unbound-control stats_noreset of a running Unbound (remote control on), or {}."""
    r = run("unbound-control", ["unbound-control", "-c", res.conf, "stats_noreset"],
            check=False, timeout=20)
    out = {}
    for line in r.stdout.splitlines():
        k, eq, v = line.partition("=")
        if eq:
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def ostrov_cache_census(cache_dir):
    """Entries of a stopped ostrovd's cache by (type, tag), from mdb_dump of the 'entries'
    database: a key ends with the type (2 octets, big-endian) and the tag (enum
    ost_cache_tag: 0 RRset, 1 negative, 2 whole answer, 3 failure)."""
    if not shutil.which("mdb_dump"):
        return {}
    argv = ["mdb_dump", "-s", "entries", cache_dir]
    note_command("mdb_dump", argv)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    counts, body, is_key = {}, False, True
    for line in p.stdout:
        if not body:
            body = line.startswith("HEADER=END")
            continue
        if line.startswith("DATA=END"):
            break
        if is_key:
            k = line.strip()
            if len(k) >= 6:
                key = (int(k[-6:-2], 16), int(k[-2:], 16))
                counts[key] = counts.get(key, 0) + 1
        is_key = not is_key
    p.wait(600)
    return counts


def mdb_stat(path, extra):
    if not shutil.which("mdb_stat"):
        return ""
    return run("mdb_stat", ["mdb_stat"] + extra + [path], check=False, timeout=600).stdout


def lmdb_used_mb(stat_text):
    """Pages in use (the high-water mark, free pages included) x page size, from mdb_stat -e."""
    pages = re.search(r"Number of pages used: (\d+)", stat_text)
    psz = re.search(r"Page size: (\d+)", stat_text)
    return int(pages.group(1)) * int(psz.group(1)) / 1048576.0 if pages and psz else None


def file_mb(path):
    """(apparent size, allocated size) of a file in MB, or (0, 0)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return 0.0, 0.0
    return st.st_size / 1048576.0, st.st_blocks * 512 / 1048576.0


def settle(probe, timeout=60):
    """Poll probe() once a second until two samples in a row are equal (the resolver has
    written what it was fed) or timeout; returns the last sample."""
    last, deadline = probe(), time.time() + timeout
    while time.time() < deadline:
        time.sleep(1.0)
        cur = probe()
        if cur == last:
            return cur
        last = cur
    return last


RSS_FIGURES = [
    # key, label, unit, ratio ostrov/x
    ("fed_ok", "names fed once, answered NOERROR", "q", False),
    ("fed_bad", "  SERVFAIL + lost while feeding", "q", False),
    ("fed_rate", "  feed rate (dnsperf -n 1)", "qps", False),
    ("fed_cpu", "  resolver CPU per name fed", "us", True),
    ("rrsets", "A RRsets of fed names cached", "n", False),
    ("rrsets_all", "RRsets cached, all", "n", False),
    ("answers", "whole answers cached (msg)", "n", False),
    ("entries", "cache entries, all kinds", "n", False),
    ("rss0", "VmRSS before feeding", "MB", True),
    ("VmRSS", "VmRSS after feeding", "MB", True),
    ("RssAnon", "  RssAnon (heap)", "MB", True),
    ("RssFile", "  RssFile (mapped files: LMDB map, libraries)", "MB", True),
    ("Pss", "Pss (smaps_rollup)", "MB", True),
    ("VmHWM", "VmHWM (peak RSS)", "MB", True),
    ("own_mem", "cache memory by the resolver's own count", "MB", True),
    ("lmdb", "LMDB pages in use (mdb_stat)", "MB", True),
]


def rss_bench(a, work, bench, make):
    """Step rss1m: each resolver, fresh and alone, is fed every name of an unsigned zone
    once; then its memory and the number of RRsets it holds are read, so the comparison is
    for the same content. Caches are sized so nothing is evicted (the counts show it)."""
    n = a.rss_names
    log("rss: mini lab with an unsigned zone of %d names (NSD loads it in ~%d s)"
        % (n, max(1, n // 100000)))
    lab = MiniLab(os.path.join(work, "rss-lab"), n + 1, 0, signed_tld=False,
                  nsd_timeout=max(60, n // 5000))
    qfile = os.path.join(work, "rss-names.txt")
    names = list(lab.names)
    if a.rss_order == "shuffled":
        # Traffic does not arrive in key order. Fed sorted, every B-tree page split leaves
        # a half-full page behind that no later key lands in (LMDB splits in the middle),
        # which is the worst case for ostrovd and Knot Resolver and no case for Unbound's
        # hash tables. Fixed seed: every resolver gets the same order.
        import random
        random.Random(4).shuffle(names)
    write_queries(qfile, names)
    bench.rss_names = len(lab.names)
    cores = cpu_list(a.all_cpus)
    for name in a.resolvers:
        if name == "floor":
            continue
        res = make(name)
        why = res.available()
        if why:
            bench.note("rss: %s skipped: %s" % (name, why))
            continue
        if name == "ostrovd":
            res.cache_size = a.rss_ostrovd_cache
        elif name == "unbound":
            res.msg_cache = res.rrset_cache = a.rss_unbound_cache
            res.control_port = free_port(8953)
        elif name == "kresd":
            res.cache_mb = int(a.rss_ostrovd_cache.rstrip("MmGg")) * (
                1024 if a.rss_ostrovd_cache[-1] in "Gg" else 1)
        bench.quiet(cores)
        log("rss: %s: feeding %d names" % (name, len(lab.names)))
        res.start(lab, 1, True, a.resolver_cpus, "rss")
        why = res.wait_ready(lab, False, a.ready_timeout)  # 'bench.' is insecure: no AD
        if why:
            res.stop()
            bench.note("rss: %s skipped: %s" % (name, why))
            continue
        out, detail = {}, []
        try:
            out["rss0"] = mem_kb(res.pids()).get("VmRSS", 0) / 1024.0
            gen = Gen(a.gen_cpus, res.port, a.resolver_cpus)
            r = gen.dnsperf("dnsperf-rss-feed", qfile, res.pids(),
                            ["-n", "1", "-q", str(a.rss_window), "-t", "5"],
                            timeout=max(600, n // 500))
            ok = r["rcodes"].get("NOERROR", 0)
            out["fed_ok"] = ok
            out["fed_bad"] = r["rcodes"].get("SERVFAIL", 0) + int(r["lost"])
            out["fed_rate"] = ok / r["runtime"] if r["runtime"] else 0
            out["fed_cpu"] = r["cpu_s"] * 1e6 / ok if ok else float("nan")
            if name == "ostrovd":
                st = settle(lambda: ostrovd_stats(res).get("cache_entries"))
                st = ostrovd_stats(res)
                out["entries"] = st.get("cache_entries", float("nan"))
                detail.append("ostrovctl stats: " + ", ".join(
                    "%s=%s" % (k, v) for k, v in sorted(st.items()) if k.startswith("cache")))
                if st.get("cache_evictions") or st.get("cache_write_dropped"):
                    bench.note("rss: ostrovd evicted %s / dropped %s entries: raise "
                               "--rss-ostrovd-cache" % (st.get("cache_evictions"),
                                                        st.get("cache_write_dropped")))
            elif name == "unbound":
                st = settle(lambda: unbound_stats(res).get("rrset.cache.count"))
                st = unbound_stats(res)
                out["rrsets_all"] = st.get("rrset.cache.count", float("nan"))
                out["answers"] = st.get("msg.cache.count", float("nan"))
                out["own_mem"] = (st.get("mem.cache.rrset", 0) +
                                  st.get("mem.cache.message", 0)) / 1048576.0
                detail.append("unbound-control stats_noreset: " + ", ".join(
                    "%s=%d" % (k, v) for k, v in sorted(st.items())
                    if k.startswith(("mem.", "rrset.", "msg.", "infra.", "key."))))
            else:
                settle(lambda: mem_kb(res.pids()).get("VmRSS"), 10)
            m = mem_kb(res.pids())
            for k in ("VmRSS", "RssAnon", "RssFile", "Pss", "VmHWM"):
                if k in m:
                    out[k] = m[k] / 1024.0
            detail.append("/proc memory kB: " + ", ".join("%s=%d" % kv for kv in
                                                         sorted(m.items())))
            if not pids_alive(res.pids()):
                raise RuntimeError("resolver died during the run")
        except Exception as e:
            bench.note("rss: %s failed: %s" % (name, e))
            res.stop()
            continue
        res.stop()
        if name == "ostrovd":
            c = ostrov_cache_census(res.cache_dir)
            if c:
                out["rrsets"] = c.get((1, 0), 0)
                out["rrsets_all"] = sum(v for (t, tag), v in c.items() if tag == 0)
                out["answers"] = sum(v for (t, tag), v in c.items() if tag == 2)
                detail.append("entries by (type, tag): " + ", ".join(
                    "%d/%d=%d" % (t, tag, v) for (t, tag), v in sorted(c.items())))
            t = mdb_stat(res.cache_dir, ["-e", "-f", "-a"])
            out["lmdb"] = lmdb_used_mb(t)
            detail.append("data.mdb size %.1f MB, %.1f MB allocated" %
                          file_mb(os.path.join(res.cache_dir, "data.mdb")))
            detail.append("mdb_stat -e -f -a:\n" + t.strip())
        elif name == "kresd":
            t = mdb_stat(res.cache_dir, ["-e", "-f"])
            out["lmdb"] = lmdb_used_mb(t)
            m = re.search(r"Status of Main DB.*?Entries: (\d+)", t, re.S)
            if m:
                out["entries"] = int(m.group(1))
            detail.append("data.mdb size %.1f MB, %.1f MB allocated" %
                          file_mb(os.path.join(res.cache_dir, "data.mdb")))
            detail.append("mdb_stat -e -f:\n" + t.strip())
        bench.rss[name] = out
        bench.rss_detail[name] = detail
        log("rss: %s: %s" % (name, ", ".join("%s=%s" % (k, fmt(v))
                                               for k, v in out.items())))


def rss_rows(bench):
    rows = []
    if not bench.rss:
        return rows
    order = [r for r in ("ostrovd", "unbound", "kresd") if r in bench.rss]
    o = bench.rss.get("ostrovd", {})
    n = "{:,}".format(getattr(bench, "rss_names", 0))
    for key, label, unit, ratio in RSS_FIGURES:
        for r in order:
            v = bench.rss[r].get(key)
            if v is None:
                continue
            ro = ""
            if ratio and r != "ostrovd" and o.get(key) and v:
                ro = "%.2f" % (o[key] / v)
            rows.append(("%s [%s names]" % (label, n), unit, "1w val", r, fmt(v), "", "", 1,
                         ro, ""))
    return rows


# ---------------------------------------------------------------------------------------
# Binaries, machine facts, main.


def find_binary(rel, explicit):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for b in ("release", "relwithdebinfo", "debug", "asan"):
        p = os.path.join(REPO, "build", b, rel)
        if os.access(p, os.X_OK):
            return p
    return None


def build_floor(work):
    """The floor from the CMake build, or compiled here with -O2 if not built yet."""
    # An optimised build only: a -O0 floor would flatter every resolver.
    for b in ("release", "relwithdebinfo"):
        p = os.path.join(REPO, "build", b, "bench", "floor")
        if os.access(p, os.X_OK):
            return p
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None
    out = os.path.join(work, "floor")
    run("cc-floor", [cc, "-O2", "-D_GNU_SOURCE", "-std=c11", "-pthread",
                     os.path.join(HERE, "floor.c"), "-o", out])
    return out


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release, "load": load}


def tool_version(argv, pat=None):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    if pat:
        m = re.search(pat, out)
        return m.group(0) if m else "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true",
                    help="~1 s per step at a tiny rate; checks the harness only")
    ap.add_argument("--resolvers", default="floor,ostrovd,unbound,kresd")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--rate", type=int, default=40000, help="fixed offered qps for cache hits")
    ap.add_argument("--peak-max", type=int, default=300000, help="resperf -m ramp target")
    ap.add_argument("--workers", default="1,2", help="worker counts to measure")
    ap.add_argument("--validation", default="on,off")
    ap.add_argument("--steps", default="miss,hit,peak,mirror,bigzone",
                    help="bigzone: the generated 1M-record zone (slow the first time: "
                    "generation and signing, cached under /tmp); rss1m (not run by default, "
                    "minutes per resolver): memory after feeding --rss-names names")
    ap.add_argument("--no-bigzone", action="store_true", help="leave out the bigzone step")
    ap.add_argument("--big-records", type=int, default=1000000,
                    help="RRs of the generated signed zone (bigzone step)")
    ap.add_argument("--big-shape", choices=("dense", "tld"), default="dense",
                    help="bigzone: dense (every delegation signed) or tld (NSEC3 opt-out, "
                    "DS for 1 in 10, as national TLDs)")
    ap.add_argument("--big-alg", type=int, choices=(8, 13), default=13,
                    help="bigzone: 13 ECDSA P-256, 8 RSASHA256")
    ap.add_argument("--big-threads", type=int, default=0,
                    help="bigzone: verify threads of the import (0: one per core, as ostrovd)")
    ap.add_argument("--big-dir", help="cache directory of the generated zone "
                    "(default /tmp/ostrov-bigzone-RECORDS)")
    ap.add_argument("--big-timeout", type=int, default=900,
                    help="seconds each bigzone import or ldns-verify-zone may take")
    ap.add_argument("--mirror-dir", default=MIRROR_DIR,
                    help="zonemd test case with root.zone.hashed and Keys/*.ds")
    ap.add_argument("--mirror", help="path of bench/mirror (default build/*/bench/mirror)")
    ap.add_argument("--miss-names", type=int, default=10000)
    ap.add_argument("--miss-window", type=int, default=200,
                    help="dnsperf -q outstanding queries in cache-miss runs")
    ap.add_argument("--hit-names", type=int, default=100)
    ap.add_argument("--hit-window", type=int, default=500,
                    help="dnsperf -q (outstanding queries) at the fixed rate: it bounds the "
                    "bursts a stalled generator sends, which resolvers with default socket "
                    "buffers (kresd) drop")
    ap.add_argument("--rss-names", type=int, default=1000000,
                    help="names of the unsigned zone each resolver is fed once (step rss1m)")
    ap.add_argument("--rss-order", choices=("shuffled", "sorted"), default="shuffled",
                    help="order the rss1m names are fed in (sorted: canonical order, the "
                    "B-tree's worst case)")
    ap.add_argument("--rss-window", type=int, default=200,
                    help="dnsperf -q while feeding the rss1m names")
    ap.add_argument("--rss-ostrovd-cache", default="4G",
                    help="ostrovd cache.size (and Knot Resolver's cache) for rss1m: no eviction")
    ap.add_argument("--rss-unbound-cache", default="2g",
                    help="Unbound msg-cache-size and rrset-cache-size for rss1m: no eviction")
    ap.add_argument("--lab", choices=("auto", "real", "mini"), default="auto")
    ap.add_argument("--mini-names", type=int, default=10000)
    ap.add_argument("--ostrovd", help="path of ostrovd (default build/*/server/ostrovd)")
    ap.add_argument("--floor", help="path of the floor binary (default build/*/bench/floor)")
    ap.add_argument("--resolver-cpus", default="1")
    ap.add_argument("--gen-cpus", default="0")
    ap.add_argument("--all-cpus", default="0,1")
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"),
                    help="file the results are appended to ('' for none)")
    ap.add_argument("--max-other-load", type=float, default=15,
                    help="wait before each run until other work uses < this %% of the cores")
    ap.add_argument("--quiet-timeout", type=float, default=15,
                    help="seconds to wait for quiet cores before measuring anyway")
    ap.add_argument("--nice", type=int, default=-10,
                    help="nice level of resolvers and generator (0: unchanged); on a shared "
                    "machine this keeps other work from preempting the measurement")
    ap.add_argument("--two-worker-validation", default="on",
                    help="validation modes measured with two workers (on, off or on,off)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.smoke:
        a.runs, a.duration, a.rate, a.peak_max = 1, 1, 2000, 20000
        a.miss_names, a.mini_names, a.hit_names, a.miss_window = 150, 200, 20, 50
        a.workers, a.validation, a.lab, a.ready_timeout = "1", "on", "mini", 15
        a.quiet_timeout, a.nice = 0, 0
        a.steps = "miss,hit,peak"
        if a.results == os.path.join(HERE, "RESULTS.md"):
            a.results = ""
    a.workers = [int(x) for x in a.workers.split(",") if x]
    a.validation = [{"on": True, "off": False}[x] for x in a.validation.split(",") if x]
    a.two_worker_validation = [{"on": True, "off": False}[x]
                               for x in a.two_worker_validation.split(",") if x]
    a.steps = set(a.steps.split(","))
    if a.no_bigzone:
        a.steps.discard("bigzone")
    a.resolvers = [x for x in a.resolvers.split(",") if x]
    return a


def main(argv):
    global _verbose, _nice
    a = parse_args(argv)
    _verbose, _nice = a.verbose, a.nice
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    atexit.register(cleanup)
    missing = [t for t in ("dnsperf", "resperf", "dig", "taskset", "nsd", "ldns-keygen",
                           "ldns-signzone", "ldns-key2ds") if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        why = "missing %s" % ", ".join(missing) if missing else "not root (NSD binds port 53)"
        print("bench: cannot run: %s" % why)
        return 77 if a.smoke else 2
    work = tempfile.mkdtemp(prefix="ostrov-bench-")
    if not a.keep:
        _cleanups.insert(0, lambda: shutil.rmtree(work, ignore_errors=True))
    log("work dir %s" % work)
    started = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    mach["git"] = git_describe()

    lab_tool = os.path.join(REPO, "tests", "lab", "lab")
    lab = None
    if not a.resolvers or not a.steps & {"miss", "hit", "peak"}:
        lab = NoLab()  # mirror figures only: no name servers needed
    elif a.lab in ("auto", "real") and os.access(lab_tool, os.X_OK):
        try:
            lab = RealLab(lab_tool, os.path.join(work, "lab"), a.hit_names)
        except Exception as e:
            if a.lab == "real":
                raise
            log("tests/lab failed (%s); using the mini lab" % e)
    elif a.lab == "real":
        raise SystemExit("tests/lab/lab not found")
    if lab is None:
        lab = MiniLab(os.path.join(work, "mini"), a.mini_names, a.hit_names)
    log("lab: %s, %d cache-miss names, %d cache-hit names" %
        (lab.kind, min(len(lab.names), a.miss_names), len(lab.hit)))

    ports = {"ostrovd": 5301, "unbound": 5302, "kresd": 5303, "floor": 5304}
    classes = {
        "floor": lambda p: Floor(p, work, a.floor or build_floor(work)),
        "ostrovd": lambda p: Ostrovd(p, work, find_binary("server/ostrovd", a.ostrovd)),
        "unbound": lambda p: Unbound(p, work),
        "kresd": lambda p: Kresd(p, work),
    }
    bench = Bench(a, lab, work)
    measured, versions = [], {}
    for name in a.resolvers:
        res = classes[name](free_port(ports[name]))
        if res.available() is None:
            versions[name] = res.version()
        if isinstance(lab, NoLab):
            continue
        if bench.measure(res):
            measured.append(name)

    if "rss1m" in a.steps:
        rss_bench(a, work, bench, lambda n: classes[n](free_port(ports[n])))
    if "mirror" in a.steps:
        mirror_bench(a, work, bench)
    if "bigzone" in a.steps:
        bigzone_bench(a, work, bench)
    if bench.busy_waits:
        bench.note("%d measured steps started while other work kept the cores more than %d%% "
                   "busy (see the 'other processes' CPU' rows)" % (bench.busy_waits,
                                                                  a.max_other_load))
    rows = bench.table() + rss_rows(bench) + mirror_rows(bench) + bigzone_rows(bench)
    print()
    print(render(rows, False) if rows else "(no results)")
    print()
    for t in bench.targets():
        print(t)
    for n in bench.notes:
        print("note: " + n)

    versions["dnsperf"] = tool_version(["dnsperf", "-h"], r"Version [\d.]+")
    versions["nsd"] = tool_version(["nsd", "-v"])
    if a.results:
        append_results(a, argv, started, mach, versions, lab, bench, rows)
        log("appended to %s" % a.results)

    if a.smoke:
        # The harness works if the floor and every present peer answered something.
        want = [n for n in a.resolvers if n != "ostrovd"]
        failed = [n for n in want if n not in measured or not any(
            k[0] == n and k[2] in ("hit_cpu", "miss_rate") for k in bench.results)]
        failed = [n for n in failed
                  if not (n != "floor" and classes[n](0).available() is not None)]
        print("smoke: %s" % ("ok" if not failed else "FAILED: " + ", ".join(failed)))
        print("smoke: ostrovd %s" % ("measured" if "ostrovd" in measured else "skipped"))
        return 1 if failed else 0
    return 0


def git_describe():
    return subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout


def append_results(a, argv, started, mach, versions, lab, bench, rows):
    git = mach["git"]
    with open("/proc/loadavg") as f:
        load_after = " ".join(f.read().split()[:3])
    lines = [
        "",
        "## %s (git %s)" % (started.strftime("%Y-%m-%d %H:%M UTC"), git.strip()),
        "",
        "- machine: nproc %d, CPU %s, kernel %s; load average before %s, after %s"
        % (mach["nproc"], mach["cpu"], mach["kernel"], mach["load"], load_after),
        "- versions: " + "; ".join("%s: %s" % (k, v) for k, v in sorted(versions.items())),
    ]
    if not isinstance(lab, NoLab):
        lines += [
            "- lab: %s; %d cache-miss names, %d cache-hit names" %
            (lab.kind, min(len(lab.names), a.miss_names), len(lab.hit)),
            "- plan: %d runs of %d s; fixed rate %d qps; resolver on CPU %s, generator on CPU "
            "%s (two-worker runs: both on %s); nice %d" % (a.runs, a.duration, a.rate,
                                                           a.resolver_cpus, a.gen_cpus,
                                                           a.all_cpus, a.nice)]
    lines += ["- command: `bench/run.py %s`" % " ".join(shlex.quote(x) for x in argv)]
    if "rss1m" in a.steps:
        lines += [
            "- rss1m: a mini lab (NSD) with an unsigned `bench.` zone of %d A names (no DS in "
            "the signed root: provably insecure), fed once each in %s order with `dnsperf -n 1 -q %d`, one worker, "
            "validation on; ostrovd cache.size %s, Unbound msg-cache-size and "
            "rrset-cache-size %s each, Knot Resolver cache %s; memory read after the resolver "
            "has written what it was fed (its counters stopped moving)"
            % (getattr(bench, "rss_names", a.rss_names), a.rss_order, a.rss_window,
               a.rss_ostrovd_cache, a.rss_unbound_cache, a.rss_ostrovd_cache)]
    lines += [
        "",
        render(rows, True) if rows else "(no results)",
        "",
    ]
    if any(k[2] == "hit_cpu" for k in bench.results):
        lines += ["- " + t for t in bench.targets()]
    lines += ["- note: " + n for n in bench.notes]
    lines += ["", "Exact commands (first of each kind; temp paths vary):", "", "```"]
    lines += ["%s: %s" % (k, v) for k, v in _commands.items() if k not in ("dig", "version")]
    lines += ["```", ""]
    for kind, text in bench.rss_detail.items():
        lines += ["<details><summary>rss1m: %s, raw figures</summary>" % kind, "", "```",
                  "\n".join(text), "```", "", "</details>", ""]
    for kind, text in _configs.items():
        lines += ["<details><summary>generated config: %s (its first run)</summary>" % kind, "", "```",
                  text.rstrip(), "```", "", "</details>", ""]
    with open(a.results, "a") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
