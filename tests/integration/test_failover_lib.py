# SPDX-License-Identifier: BSD-2-Clause
"""Shared helpers of the failover and drill lab tests (test_failover.py,
test_drill.py, tools/demo.sh).

Not a test itself. The lab writes an ostrovd config without a `resilience:`
section, so `resilience_section()` builds one from the lab's servers.json:
probe targets for every foreign TLD server (asked "ZONE NS") and every
national TLD server ("ZONE SOA"); the root is probed from the root hints by
ostrovd itself; and the drill's destination map (root, foreign TLD, other
foreign, national) by address, so a `foreign-cut` drill cuts exactly the
servers `lab cut DIR all-foreign` plus `root` would. `ctl()` runs ostrovctl
against the lab's control socket.

Usage as a script: test_failover_lib.py LABDIR [FAILOVER-KEY=VALUE ...] >> CONFIG
"""

import json
import os
import subprocess
import sys

NATIONAL_TLDS = ("ru.", "xn--p1ai.", "su.")


def resilience_section(servers, failover=None, probes=None, drill=None):
    """YAML text of a `resilience:` section for a lab whose servers.json is
    @servers; @failover, @probes, @drill: extra key -> value settings."""
    def q(items):
        return "[" + ", ".join(f'"{x}"' for x in items) + "]"
    foreign, national = [], []
    dest = {"dest-root": [], "dest-foreign-tld": [], "dest-foreign": [],
            "dest-national": []}
    for addr, s in sorted(servers.items()):
        groups = s.get("groups") or [s.get("group")]
        port = s.get("port", 53)
        if "root" in groups:
            dest["dest-root"].append(addr + "/32")
        elif "foreign-tld" in groups:
            dest["dest-foreign-tld"].append(addr + "/32")
            foreign += [f"{addr}@{port} {z}" for z in s["zones"]]
        elif "national-tld" in groups:
            dest["dest-national"].append(addr + "/32")
            national += [f"{addr}@{port} {z}" for z in s["zones"]]
        elif "national-sld" in groups:
            dest["dest-national"].append(addr + "/32")
        else:
            dest["dest-foreign"].append(addr + "/32")
    out = ["resilience:", "  national-zones: [ru, xn--p1ai, su]"]
    out.append("  failover:")
    for k, v in (failover or {}).items():
        out.append(f"    {k}: {v}")
    if not failover:
        out[-1] += " {}"
    out.append("  probes:")
    for k, v in (probes or {}).items():
        out.append(f"    {k}: {v}")
    out.append(f"    foreign: {q(foreign)}")
    out.append(f"    national: {q(national)}")
    out.append("  drill:")
    for k, v in dest.items():
        if v:
            out.append(f"    {k}: {q(v)}")
    for k, v in (drill or {}).items():
        out.append(f"    {k}: {v}")
    return "\n".join(out) + "\n"


def write_config(labdir, failover=None, probes=None, drill=None, name="ostrov-res.yaml",
                 base=None):
    """@base (default: the lab's ostrov.yaml) plus a resilience section, as a new file."""
    with open(os.path.join(labdir, "servers.json")) as f:
        servers = json.load(f)
    with open(base or os.path.join(labdir, "ostrov.yaml")) as f:
        text = f.read()
    path = os.path.join(labdir, name)
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n" + resilience_section(servers, failover, probes, drill))
    return path


def control_socket(config_path):
    with open(config_path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("control-socket:"):
                return s.split(":", 1)[1].strip()
    return None


def ctl(ostrovctl, sock, *args, timeout=10):
    """Run ostrovctl; return (exit code, stdout, stderr)."""
    r = subprocess.run([ostrovctl, "-s", sock, *args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def ctl_json(ostrovctl, sock, *args):
    """ostrovctl ... --json: the JSON body after the OK line, or None."""
    rc, out, err = ctl(ostrovctl, sock, *args, "--json")
    if rc != 0:
        return None
    body = out.split("\n", 1)[1] if out.startswith("OK") else out
    try:
        return json.loads(body)
    except ValueError:
        return None


if __name__ == "__main__":
    # test_failover_lib.py LABDIR [FAILOVER-KEY=VALUE ...]
    if len(sys.argv) < 2 or any("=" not in a for a in sys.argv[2:]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(os.path.join(sys.argv[1], "servers.json")) as f:
        fo = dict(a.split("=", 1) for a in sys.argv[2:])
        sys.stdout.write(resilience_section(json.load(f), failover=fo))
