#!/usr/bin/env bash
# models.sh — what waiting saves (make models): the same workload against
# rawserve -wait poll, -wait spin and -model epoll, each under `strace -f -c`,
# and the CPU time each used (from /proc/PID/stat). Prints a Markdown table.
#
# The workload: 1 s idle, 200 requests on one kept-alive connection, 200
# `Connection: close` requests, 1 s idle. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null && command -v curl >/dev/null || { echo "models: needs strace and curl" >&2; exit 1; }
[ -x bin/rawserve ] || make -s build
work=$(mktemp -d)
tracer=
cleanup() { [ -n "$tracer" ] && kill "$tracer" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

run() { # $1: name, then rawserve's flags
	local name=$1; shift
	rm -f "$work/ready"
	strace -f -c -o "$work/$name.count" ./bin/rawserve -addr 127.0.0.1:0 -quiet "$@" -ready-file "$work/ready" 2>/dev/null &
	tracer=$!
	for ((i = 0; i < 100; i++)); do [ -s "$work/ready" ] && break; sleep 0.05; done
	local addr server
	addr=$(cat "$work/ready")
	server=$(tr -d " " < "/proc/$tracer/task/$tracer/children")
	sleep 1
	curl -s -o /dev/null --max-time 60 "http://$addr/healthz?[1-200]"
	curl -s -o /dev/null --max-time 60 -H 'Connection: close' "http://$addr/healthz?[1-200]"
	sleep 1
	# utime + stime, in clock ticks, just before the end
	read -r -a stat < "/proc/$server/stat"
	echo $((stat[13] + stat[14])) > "$work/$name.ticks"
	kill -TERM "$server"
	wait "$tracer" || true
	tracer=
}
run poll -wait poll
run spin -wait spin
run epoll -model epoll

count() { # $1: strategy, $2: syscall
	# strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
	awk -v s="$2" '$NF == s { printf "%s%s\n", $4, (NF == 6 ? " (" $5 " failed)" : ""); found=1 } END { if (!found) print 0 }' "$work/$1.count" | head -1
}
hz=$(getconf CLK_TCK)
cpu() { awk -v t="$(cat "$work/$1.ticks")" -v hz="$hz" 'BEGIN { printf "%.2f s", t / hz }'; }
echo "| system call | serial, -wait poll | serial, -wait spin | -model epoll |"
echo "|---|---:|---:|---:|"
for sc in accept4 read write ppoll epoll_pwait epoll_ctl shutdown close; do
	echo "| $sc | $(count poll $sc) | $(count spin $sc) | $(count epoll $sc) |"
done
echo "| **CPU time used** (user + system) | $(cpu poll) | $(cpu spin) | $(cpu epoll) |"
echo
echo "Measured $(date -u '+%Y-%m-%d') on $(nproc) cores, Linux $(uname -r), under strace (which slows every call)."
