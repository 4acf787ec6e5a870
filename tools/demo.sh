#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The README's main job: build ostrovd (release preset), bring the loopback
# lab up in a fresh temporary directory, start ostrovd on the lab's
# ostrov.yaml, wait until it answers, and show it resolving lab names
# (national, foreign, NXDOMAIN, CNAME chain across zones, a cache hit), and
# still answering once every lab server is cut off (cache, serve-stale). Then
# it keeps running until Ctrl-C, or stops at once with --once (for scripts
# and CI). Either way a trap stops ostrovd and tears the lab down.
#
#   tools/demo.sh [--once] [--port PORT] [--no-build]
#
# Needs root (the lab binds 127.53.x.x:53, or the next free 127.N prefix) and the packages of
# tools/install-deps.sh. Every address used is in 127.0.0.0/8.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
ONCE=0
BUILD=1
PORT=5353
while [ $# -gt 0 ]; do
	case "$1" in
	--once) ONCE=1 ;;
	--no-build) BUILD=0 ;;
	--port)
		PORT="$2"
		shift
		;;
	-h | --help)
		sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

LAB="${OST_LAB:-$REPO/tests/lab/lab}"
OSTROVD="$REPO/build/release/server/ostrovd"
if [ ! -x "$LAB" ]; then
	echo "demo: the loopback lab ($LAB) is missing" >&2
	exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$BUILD" = 1 ]; then
	say "building ostrovd (release preset)"
	cmake --preset release >/dev/null
	cmake --build --preset release -j"$(nproc)" --target ostrovd | tail -n 1
fi

WORK=$(mktemp -d /tmp/ostrov-demo.XXXXXX)
LABDIR="$WORK/lab"
PID=""
cleanup() {
	trap - EXIT INT TERM
	say "stopping"
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		# ostrovd cancels what is in flight and flushes the cache; give it 10 s.
		for _ in $(seq 100); do
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
		wait "$PID" 2>/dev/null || true
		echo "ostrovd stopped"
	fi
	"$LAB" down "$LABDIR" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "bringing the lab up in $LABDIR"
"$LAB" up "$LABDIR" --prefix auto --port "$PORT"

say "starting ostrovd"
"$OSTROVD" -c "$LABDIR/ostrov.yaml" >"$WORK/ostrovd.log" 2>&1 &
PID=$!
# Poll with a deadline: an RD=0 query is answered (REFUSED) at once, with no
# upstream traffic, as soon as the listeners are up.
deadline=$((SECONDS + 15))
until dig @127.0.0.1 -p "$PORT" +norec +time=1 +tries=1 . NS 2>/dev/null | grep -q 'status:'; do
	if ! kill -0 "$PID" 2>/dev/null; then
		echo "demo: ostrovd exited; its log:" >&2
		cat "$WORK/ostrovd.log" >&2
		exit 1
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "demo: ostrovd does not answer within 15 s; its log:" >&2
		cat "$WORK/ostrovd.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "ostrovd (pid $PID) listens on 127.0.0.1@$PORT (UDP and TCP); log: $WORK/ostrovd.log"
echo "config: $LABDIR/ostrov.yaml; lab root servers (root hints):" \
	"$(awk '$4 == "A" { print $5 }' "$LABDIR/root.hints" | paste -sd ' ')"

ask() {
	local what="$1"
	shift
	say "$what: dig @127.0.0.1 -p $PORT $*"
	dig @127.0.0.1 -p "$PORT" +time=5 +tries=1 +noall +comments +answer +authority "$@" |
		grep -v '^;; \(Got answer\|OPT PSEUDOSECTION\)' | grep -v '^\(; EDNS\|$\)' || true
}

ask "a national name" www.example.ru A
ask "a national IDN zone (пример.рф)" www.xn--e1afmkfd.xn--p1ai A
ask "a foreign name" www.example.com TXT
ask "NXDOMAIN" nosuch.example.ru A
ask "a CNAME chain across three zones" chain.example.com A
ask "out-of-bailiwick name servers (example.org served by hoster.ru)" www.example.org AAAA
ask "the same name again: a cache hit (TTL counts down, no upstream query)" www.example.ru A
ask "over TCP" +tcp www.example.su A
ask "a name with a 2 s TTL" short.example.ru A

say "cutting every lab server off (tests/lab/lab cut all refuse): an island"
"$LAB" cut "$LABDIR" all refuse
# short.example.ru's TTL (2 s) must run out for the stale answer below.
sleep 2
ask "cut off: a cached name is still answered from the LMDB cache" www.example.ru A
ask "cut off: an expired name is served stale (EDE 3, RFC 8767)" short.example.ru A
say "restoring the lab servers"
"$LAB" restore "$LABDIR" all

kill -USR1 "$PID"
for _ in $(seq 50); do
	grep -q 'msg="stats"' "$WORK/ostrovd.log" && break
	sleep 0.1
done
say "ostrovd statistics (SIGUSR1)"
grep 'msg="stats"' "$WORK/ostrovd.log" | tail -n 1 | tr ' ' '\n' | grep -E \
	'^(worker|udp_queries|tcp_queries|hits|misses|queries_sent|cache_entries)=' | paste -sd ' '

# TODO(resilience): when the failover state machine and drills land, run an
# isolation drill here: `tests/lab/lab cut "$LABDIR" all-foreign blackhole`,
# show ostrovd moving normal -> degraded -> isolated and national names still
# answering, then `lab restore` and the way back through recovering.

if [ "$ONCE" = 1 ]; then
	exit 0
fi
say "ostrovd keeps running: try  dig @127.0.0.1 -p $PORT www.example.ru  (Ctrl-C stops it and the lab)"
wait "$PID"
