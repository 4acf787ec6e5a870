#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The README's main job: build ostrovd (release preset), bring the loopback
# lab up in a fresh temporary directory, start ostrovd on the lab's
# ostrov.yaml, wait until it answers, and show it resolving lab names
# (national, foreign, NXDOMAIN, CNAME chain across zones, a cache hit), and
# still answering once every lab server is cut off (cache, serve-stale), and
# an isolation drill (`ostrovctl drill start foreign-cut`): the failover state
# machine goes NORMAL -> DEGRADED -> ISOLATED on its own while national names
# still resolve and cached foreign names are answered, then `drill report`.
# Then it keeps running until Ctrl-C, or stops at once with --once (for scripts
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
OSTROVCTL="$REPO/build/release/control/ostrovctl"
if [ ! -x "$LAB" ]; then
	echo "demo: the loopback lab ($LAB) is missing" >&2
	exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$BUILD" = 1 ]; then
	say "building ostrovd (release preset)"
	cmake --preset release >/dev/null
	cmake --build --preset release -j"$(nproc)" --target ostrovd ostrovctl | tail -n 1
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

# The lab's config plus a resilience: section built from its servers.json:
# probes of the foreign and national TLD servers, the drill's address map.
# Detection keeps its defaults; the recovery hysteresis is shortened (3
# evaluations of 2 s instead of 30 and 60) so the demo shows the way back.
CONF="$LABDIR/ostrov-demo.yaml"
cp "$LABDIR/ostrov.yaml" "$CONF"
python3 "$REPO/tests/integration/test_failover_lib.py" "$LABDIR" reachable-evals=3 \
	recovered-evals=3 >>"$CONF"
SOCK=$(awk '$1 == "control-socket:" { print $2 }' "$CONF")

say "starting ostrovd"
"$OSTROVD" -c "$CONF" >"$WORK/ostrovd.log" 2>&1 &
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
echo "config: $CONF; control socket: $SOCK; lab root servers (root hints):" \
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

ctl() {
	echo "\$ ostrovctl $*"
	"$OSTROVCTL" -s "$SOCK" "$@" || true
}
state() {
	"$OSTROVCTL" -s "$SOCK" status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["failover"]["state"])' || true
}

say "an isolation drill: ostrovd acts as if root and foreign servers were unreachable"
echo "(the lab servers all stay up; the drill cuts them inside ostrovd's transport)"
ask "before the drill: warm a foreign name" www.example.net A
ctl drill start foreign-cut --duration 120
ask "drill running: a national name never asked before (national servers still reachable)" \
	mail.example.ru A
ask "drill running: a cached foreign name" www.example.com TXT
# Poll with a deadline: the machine needs about 20 s (default settings) to decide.
deadline=$((SECONDS + 40))
last=""
while [ "$SECONDS" -lt "$deadline" ]; do
	s=$(state)
	if [ "$s" != "$last" ]; then
		echo "failover state: $s (t=$((SECONDS - deadline + 40)) s into the drill)"
		last=$s
	fi
	[ "$s" = ISOLATED ] && break
	sleep 0.5
done
say "ostrovctl status"
ctl status
ask "ISOLATED: a national name" www.example.su A
ask "ISOLATED: a cached foreign name" www.example.net A
ask "ISOLATED: a foreign name never seen (SERVFAIL + EDE 22 at once, no timeouts)" \
	nowhere.example.com A
say "ISOLATED: a burst of 60 questions (cached foreign and national names, dig -f)"
BATCH="$WORK/burst.txt"
for _ in $(seq 10); do
	printf '%s\n' "www.example.com TXT" "www.example.net A" "chain.example.com A" \
		"www.example.ru A" "mail.example.ru A" "www.example.su A"
done >"$BATCH"
dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 -f "$BATCH" | grep -o 'status: [A-Z]*' | sort | uniq -c
say "stopping the drill; the machine recovers on its own (ISOLATED -> RECOVERING -> NORMAL)"
ctl drill stop
deadline=$((SECONDS + 60))
last=""
while [ "$SECONDS" -lt "$deadline" ]; do
	s=$(state)
	if [ "$s" != "$last" ]; then
		echo "failover state: $s (t=$((SECONDS - deadline + 60)) s after the stop)"
		last=$s
	fi
	[ "$s" = NORMAL ] && break
	sleep 0.5
done
say "the drill report"
ctl drill report

if [ "$ONCE" = 1 ]; then
	exit 0
fi
say "ostrovd keeps running: try  dig @127.0.0.1 -p $PORT www.example.ru  (Ctrl-C stops it and the lab)"
wait "$PID"
