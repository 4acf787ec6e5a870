# SPDX-License-Identifier: BSD-2-Clause
"""Python handle on a running loopback lab, for integration tests.

    import sys; sys.path.insert(0, "<repo>/tests/lab")
    from labrun import LabRun

    with LabRun() as lab:                 # `lab up` in a fresh temp dir
        lab.config                        # DIR/ostrov.yaml
        lab.servers_of("example.ru.")     # ["127.53.4.1", "127.53.4.2"]
        lab.cut("all-foreign", "blackhole")
        lab.restore("all-foreign")
        for n in lab.names(kind="nxdomain"): ...
    # `lab down` and the directory removed (kept if OST_LAB_KEEP is set)

Everything goes through the `lab` command, so tests exercise the same
contract as people do; addresses come from servers.json/zones.json because
`--prefix auto` may place the lab away from 127.53.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(HERE, "lab")


class LabRunError(Exception):
    """A `lab` command failed; the message has its stderr."""


class LabRun:
    """Context manager: a lab up for the duration of a `with` block."""

    def __init__(self, prefix="auto", port=None, unbound_port=None,
                 kresd_port=None, bench_names=None, keep=None):
        self.dir = None
        self.args = ["--prefix", prefix]
        for flag, value in (("--port", port), ("--unbound-port", unbound_port),
                            ("--kresd-port", kresd_port),
                            ("--bench-names", bench_names)):
            if value is not None:
                self.args += [flag, str(value)]
        self.keep = bool(os.environ.get("OST_LAB_KEEP")) if keep is None \
            else keep
        self.servers = self.zones = None
        self._names = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ostrov-lab-")
        try:
            self.run("up", *self.args)
        except BaseException:
            self.run("down", check=False)
            raise
        with open(self.path("servers.json")) as f:
            self.servers = json.load(f)
        with open(self.path("zones.json")) as f:
            self.zones = json.load(f)
        return self

    def __exit__(self, *exc):
        self.run("down", check=False)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def run(self, cmd, *args, check=True):
        res = subprocess.run([sys.executable, LAB, cmd, self.dir] +
                             list(args), capture_output=True, text=True,
                             timeout=180)
        if check and res.returncode != 0:
            raise LabRunError(f"lab {cmd} {' '.join(args)}: "
                              f"{res.stderr.strip()}")
        return res

    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def config(self):
        return self.path("ostrov.yaml")

    def servers_of(self, zone):
        zone = zone if zone.endswith(".") else zone + "."
        return list(self.zones[zone]["servers"])

    def names(self, kind=None, tag=None):
        if self._names is None:
            with open(self.path("names.json")) as f:
                self._names = json.load(f)
        return [n for n in self._names
                if (kind is None or n["kind"] == kind) and
                (tag is None or tag in n["tags"])]

    def cut(self, target, how):
        self.run("cut", target, how)

    def restore(self, target):
        self.run("restore", target)

    def resign(self, zone, serial=None, validity=None):
        args = [zone]
        if serial is not None:
            args += ["--serial", str(serial)]
        if validity is not None:
            args += ["--validity", str(validity)]
        self.run("resign", *args)
        with open(self.path("zones.json")) as f:
            self.zones = json.load(f)
        self._names = None

    def status(self):
        res = self.run("status", "--json", check=False)
        return json.loads(res.stdout)
