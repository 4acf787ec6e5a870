# SPDX-License-Identifier: BSD-2-Clause
"""Start, stop, cut and restore the lab's server processes, by pid file only.

Every process the lab starts is found again through a pid file in DIR/run and
is only signalled after /proc/PID/cmdline proves it is ours (it names our
config or pid file), so a recycled pid is never hit. Nothing is ever killed
by process name. NSD daemonizes itself and gets reparented to init, which may
never reap it here: a zombie counts as stopped. Waits are polls with a
deadline, never bare sleeps.
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import dnsq

HERE = os.path.dirname(os.path.abspath(__file__))
# NSD lives in /usr/sbin, which a non-root PATH may lack.
NSD = shutil.which("nsd") or shutil.which("nsd", path="/usr/sbin:/sbin") \
    or "nsd"
STOP_DEADLINE = 5.0
START_DEADLINE = 15.0


class LabError(Exception):
    """A lab operation failed; the message says what and where to look."""


# --- /proc helpers ---------------------------------------------------------

def proc_state(pid):
    """Return the one-letter state of pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may contain spaces.
    rest = data[data.rfind(")") + 2:].split()
    return rest[0] if rest else None


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(data[data.rfind(")") + 2:].split()[1])


def alive(pid):
    """True if pid exists and is not a zombie (or dead)."""
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def owned(pid, marker):
    """True if pid is alive and its command line contains marker."""
    return alive(pid) and marker in cmdline(pid)


def descendants(pid):
    """All live descendants of pid (scanning /proc once)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = proc_ppid(int(entry))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def wait_gone(pids, deadline):
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return not any(alive(p) for p in pids)


def stop_by_pidfile(pidfile, marker):
    """Stop the process named by pidfile (and its descendants) if it is ours.

    SIGTERM, wait with a deadline, then SIGKILL. Returns True if something
    was stopped, False if nothing of ours was running. Raises LabError if a
    process survives SIGKILL.
    """
    return stop_many([(pidfile, marker)]) == 1


def stop_many(targets):
    """Stop several (pidfile, marker) processes at once; return how many.

    All get SIGTERM first, then one shared deadline, then SIGKILL for the
    survivors (each still checked against its marker), so stopping 32
    servers costs one wait instead of 32.
    """
    families = []
    for pidfile, marker in targets:
        pid = read_pid(pidfile)
        if pid is None or not owned(pid, marker):
            _unlink(pidfile)
            continue
        family = [pid] + [c for c in descendants(pid) if marker in cmdline(c)]
        families.append((pidfile, marker, family))
        _signal(pid, signal.SIGTERM)
    everyone = [p for _, _, fam in families for p in fam]
    if not wait_gone(everyone, time.monotonic() + STOP_DEADLINE):
        for _, marker, family in families:
            for p in family:
                if owned(p, marker):
                    _signal(p, signal.SIGKILL)
        if not wait_gone(everyone, time.monotonic() + STOP_DEADLINE):
            left = [p for p in everyone if alive(p)]
            raise LabError(f"processes {left} survive SIGKILL")
    for pidfile, _, _ in families:
        _unlink(pidfile)
    return len(families)


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --- the lab directory -----------------------------------------------------

class Lab:
    """A generated lab directory: servers.json plus run-time state."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        path = os.path.join(self.root, "servers.json")
        try:
            with open(path) as f:
                self.servers = json.load(f)
        except FileNotFoundError as e:
            raise LabError(f"{path}: no lab here (run `lab up` first)") from e
        except (OSError, ValueError) as e:
            raise LabError(f"{path}: unreadable ({e})") from e
        self.run = os.path.join(self.root, "run")
        self._lock = None

    def lock(self):
        """Serialise state changes (cut/restore/down) on DIR/run/lock."""
        os.makedirs(self.run, exist_ok=True)
        self._lock = open(os.path.join(self.run, "lock"), "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def mode_file(self, addr):
        return os.path.join(self.run, f"{addr}.mode")

    def mode(self, addr):
        try:
            with open(self.mode_file(addr)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return "down"

    def set_mode(self, addr, mode):
        tmp = self.mode_file(addr) + ".tmp"
        with open(tmp, "w") as f:
            f.write(mode + "\n")
        os.replace(tmp, self.mode_file(addr))

    def resolve_target(self, target):
        """Map an address, group, alias or zone name to a list of addresses."""
        import lab_model
        if target in self.servers:
            return [target]
        groups = lab_model.GROUP_ALIASES.get(target, {target})
        addrs = [a for a, s in self.servers.items()
                 if groups & set(s["groups"])]
        if not addrs:
            zone = target if target.endswith(".") else target + "."
            addrs = [a for a, s in self.servers.items() if zone in s["zones"]]
        if not addrs:
            raise LabError(f"unknown target {target!r}: not an address, "
                           "group or zone of this lab")
        return sorted(addrs, key=addr_key)

    # NSD ---------------------------------------------------------------

    def nsd_pid(self, addr):
        s = self.servers[addr]
        pid = read_pid(s["pidfile"])
        return pid if pid is not None and owned(pid, s["conf"]) else None

    def start_nsd(self, addrs):
        """Start NSD on each address and wait until each answers its zones."""
        procs = []
        for addr in addrs:
            s = self.servers[addr]
            if self.nsd_pid(addr):
                continue
            # NSD forks into the background and the parent exits; its
            # early errors (config, bind) go to stderr before that.
            with open(s["log"], "ab") as log:
                procs.append((addr, subprocess.Popen(
                    [NSD, "-c", s["conf"]], stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, close_fds=True)))
        for addr, p in procs:
            try:
                p.wait(timeout=START_DEADLINE)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.returncode != 0:
                raise LabError(f"nsd for {addr} failed to start "
                               f"({p.returncode}) {self._log_tail(addr)}")
        for addr in addrs:
            self.wait_ready(addr)
            self.set_mode(addr, "up")

    def wait_ready(self, addr, deadline=START_DEADLINE):
        """Poll until NSD on addr serves every zone with AA, or fail."""
        s = self.servers[addr]
        end = time.monotonic() + deadline
        pending = list(s["zones"])
        last = ""
        while pending and time.monotonic() < end:
            try:
                r = dnsq.query(addr, pending[0], "SOA", timeout=0.2)
                if r.aa and r.rcode == "NOERROR" and r.ancount >= 1:
                    pending.pop(0)
                    continue
                last = repr(r)
            except dnsq.QueryError as e:
                last = str(e)
            time.sleep(0.02)
        if pending:
            raise LabError(f"{addr} does not serve {pending[0]} after "
                           f"{deadline}s ({last}) {self._log_tail(addr)}")

    def _log_tail(self, addr):
        try:
            with open(self.servers[addr]["log"]) as f:
                lines = f.readlines()[-5:]
        except FileNotFoundError:
            return ""
        return "; log: " + " | ".join(l.strip() for l in lines)

    def reload(self, zone, serial, deadline=START_DEADLINE):
        """SIGHUP the servers of zone; wait until all serve `serial`."""
        addrs = [a for a, s in self.servers.items() if zone in s["zones"]]
        for addr in addrs:
            pid = self.nsd_pid(addr)
            if pid is None:
                continue  # cut: it loads the new file when restored
            os.kill(pid, signal.SIGHUP)
        end = time.monotonic() + deadline
        for addr in addrs:
            if self.nsd_pid(addr) is None:
                continue
            got = None
            while time.monotonic() < end:
                try:
                    got = dnsq.soa_serial(dnsq.query(addr, zone, "SOA",
                                                     timeout=0.3))
                    if got == serial:
                        break
                except dnsq.QueryError:
                    pass
                time.sleep(0.02)
            if got != serial:
                raise LabError(f"{addr} still serves {zone} serial {got}, "
                               f"not {serial} {self._log_tail(addr)}")
        return addrs

    # swallowers --------------------------------------------------------

    def bh_pid(self, addr):
        s = self.servers[addr]
        pid = read_pid(s["blackhole_pidfile"])
        return pid if pid is not None and \
            owned(pid, s["blackhole_pidfile"]) else None

    def start_blackholes(self, addrs):
        """Start a swallower on each address; wait for every pid file."""
        procs = []
        for addr in addrs:
            s = self.servers[addr]
            if self.bh_pid(addr):
                continue
            with open(s["blackhole_log"], "ab") as log:
                procs.append((addr, log.name, subprocess.Popen(
                    [sys.executable, os.path.join(HERE, "blackhole.py"),
                     "--addr", addr, "--port", str(s["port"]),
                     "--pidfile", s["blackhole_pidfile"]],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True, close_fds=True)))
        end = time.monotonic() + START_DEADLINE
        for addr, logpath, p in procs:
            pidfile = self.servers[addr]["blackhole_pidfile"]
            while time.monotonic() < end and p.poll() is None and \
                    read_pid(pidfile) != p.pid:
                time.sleep(0.02)
            if read_pid(pidfile) == p.pid and p.poll() is None:
                continue
            for _, _, q in procs:  # one failed: take them all back
                if q.poll() is None:
                    q.kill()
                    q.wait()
            with open(logpath) as f:
                tail = f.read()[-400:]
            raise LabError(f"blackhole for {addr} did not start: {tail}")

    # commands ----------------------------------------------------------

    def require_up(self):
        """cut/restore/resign only make sense on a lab that is up."""
        if all(self.mode(a) == "down" for a in self.servers):
            raise LabError(f"the lab in {self.root} is down")

    def cut(self, addrs, how):
        if how not in ("refuse", "blackhole"):
            raise LabError(f"unknown cut mode {how!r} (refuse|blackhole)")
        self.require_up()
        stop_many([(self.servers[a]["pidfile"], self.servers[a]["conf"])
                   for a in addrs])
        if how == "refuse":
            stop_many([(self.servers[a]["blackhole_pidfile"],
                        self.servers[a]["blackhole_pidfile"]) for a in addrs])
        if how == "blackhole":
            self.start_blackholes(addrs)
        for addr in addrs:
            self.set_mode(addr, how)

    def restore(self, addrs):
        self.require_up()
        stop_many([(self.servers[a]["blackhole_pidfile"],
                    self.servers[a]["blackhole_pidfile"]) for a in addrs])
        self.start_nsd(addrs)

    def down(self):
        """Stop everything; idempotent. Returns the number of processes."""
        targets = []
        for addr in sorted(self.servers, key=addr_key):
            s = self.servers[addr]
            targets.append((s["blackhole_pidfile"], s["blackhole_pidfile"]))
            targets.append((s["pidfile"], s["conf"]))
        # An Unbound started on DIR/unbound.conf writes this pid file; its
        # command line may name the config by a relative path.
        targets.append((os.path.join(self.run, "unbound.pid"), "unbound"))
        # kresd writes no pid file; tests that start it record one here.
        targets.append((os.path.join(self.run, "kresd.pid"), "kresd"))
        stopped = stop_many(targets)
        for addr in self.servers:
            if os.path.exists(self.mode_file(addr)):
                self.set_mode(addr, "down")
        return stopped

    def status(self):
        out = {}
        for addr in sorted(self.servers, key=addr_key):
            s = self.servers[addr]
            mode = self.mode(addr)
            nsd, bh = self.nsd_pid(addr), self.bh_pid(addr)
            ok = {"up": nsd and not bh, "refuse": not nsd and not bh,
                  "blackhole": bh and not nsd,
                  "down": not nsd and not bh}.get(mode, False)
            out[addr] = {"host": s["host"], "group": s["group"],
                         "zones": s["zones"], "mode": mode, "nsd_pid": nsd,
                         "blackhole_pid": bh, "consistent": bool(ok)}
        return out


def addr_key(addr):
    return tuple(int(x) for x in addr.split("."))
