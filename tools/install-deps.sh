#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Install every Debian 12 package ostrov needs to build, test and benchmark.
# DNS server packages are installed with /usr/sbin/policy-rc.d answering
# "exit 101", so Debian never starts a daemon with its default,
# internet-facing configuration. Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (or with sudo)" >&2
	exit 1
fi

# Keep Debian from starting nsd, unbound or kresd with their default configs.
if ! grep -qx 'exit 101' /usr/sbin/policy-rc.d 2>/dev/null; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi

PKGS=(
	# build
	build-essential cmake pkg-config clang clang-format git
	# libraries ostrov links
	libldns-dev libuv1-dev liblmdb-dev libssl-dev libyaml-dev libcmocka-dev
	# tools: zone signing and checking, LMDB inspection, dig
	ldnsutils lmdb-utils dnsutils python3 procps iproute2
	# the lab's authoritative servers and the peers we compare with
	nsd unbound knot-resolver
	# benchmarks
	dnsperf
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PKGS[@]}"; do
	case "$p" in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# No daemon from those packages may be left running (policy-rc.d should have
# prevented it; this is belt and braces, by pid file, never by name).
for pidfile in /run/nsd/nsd.pid /run/unbound.pid /run/knot-resolver/kresd.pid; do
	[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
done
echo "install-deps: all packages present"
