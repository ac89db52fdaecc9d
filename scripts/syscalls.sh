#!/usr/bin/env bash
# syscalls.sh — what one request costs in system calls, measured.
#
# Runs ./bin/rawserve under `strace -f -c` once per scenario, drives a fixed
# number of requests at it with curl over loopback, stops it with SIGTERM
# and prints the counts as Markdown. From the repository root, after
# `make build`:
#
#     ./scripts/syscalls.sh > docs/syscalls.md        (or: make syscalls)
#
# N=200 ./scripts/syscalls.sh changes the number of requests per scenario.
# Needs strace and curl. Talks to 127.0.0.1 only.
set -euo pipefail

N=${N:-1000}
BIN=./bin/rawserve
STEP_TIMEOUT=${STEP_TIMEOUT:-120} # seconds any one curl run may take

die() { echo "syscalls.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN not found: run make build first"
command -v strace >/dev/null || die "strace is not installed"
command -v curl >/dev/null || die "curl is not installed"
case $N in '' | *[!0-9]* | 0) die "N must be a positive integer, not '$N'" ;; esac

work=$(mktemp -d)
strace_pid= server_pid=

# stop_server sends SIGTERM to rawserve itself (strace's child: rawserve
# shuts down cleanly, then strace writes its summary and exits) and waits,
# boundedly, for strace to finish. Used both normally and from the trap.
stop_server() {
	[ -n "$strace_pid" ] || return 0
	if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
	for _ in $(seq 100); do # 10 s
		kill -0 "$strace_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$strace_pid" 2>/dev/null; then
		echo "syscalls.sh: strace did not exit; killing it" >&2
		if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
		kill -KILL "$strace_pid" 2>/dev/null || true
	fi
	wait "$strace_pid" 2>/dev/null || true
	strace_pid= server_pid=
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME ARGS... starts rawserve on a port the kernel picks
# (-addr 127.0.0.1:0, so no port can be taken already) under strace -f -c,
# and sets port, strace_pid and server_pid.
start_server() {
	local name=$1
	shift
	: >"$work/$name.err"
	strace -f -c -o "$work/$name.strace" "$BIN" -addr 127.0.0.1:0 -quiet "$@" \
		>/dev/null 2>"$work/$name.err" &
	strace_pid=$!
	port=
	for _ in $(seq 100); do # 10 s
		port=$(sed -n 's/^rawserve: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/$name.err")
		[ -n "$port" ] && break
		kill -0 "$strace_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] || die "$name: rawserve did not start: $(cat "$work/$name.err")"
	# rawserve is strace's only child.
	server_pid=$(cat "/proc/$strace_pid/task/$strace_pid/children" 2>/dev/null || true)
	server_pid=${server_pid%% *}
	[ -n "$server_pid" ] || die "$name: cannot find rawserve's pid under strace $strace_pid"
}

# drive NAME CURL-ARGS... runs one curl over URLs globbed to N requests and
# checks every answer was 200. Sets conns to the connections curl opened.
drive() {
	local name=$1
	shift
	timeout "$STEP_TIMEOUT" curl -s --max-time 10 -o /dev/null \
		-w '%{http_code} %{num_connects}\n' "$@" >"$work/$name.curl" ||
		die "$name: curl failed or timed out"
	local ok
	ok=$(awk '$1 == 200' "$work/$name.curl" | wc -l)
	[ "$ok" -eq "$N" ] || die "$name: $ok of $N requests answered 200"
	conns=$(awk '{ n += $2 } END { print n + 0 }' "$work/$name.curl")
}

# The rows shown, in order; everything else is summed into "other".
rows="accept4 read write sendfile ppoll epoll_pwait epoll_ctl shutdown close openat2 openat fstat newfstatat setsockopt getsockopt getsockname"

# table FILE [BASE] prints strace -c's counts from FILE as a Markdown table.
# strace -c's format: % time, seconds, usecs/call, calls, [errors], syscall;
# the errors column is blank when there were none. With BASE (the counts of
# a start/stop run without requests) a last column shows (calls − base) / N.
table() {
	awk -v n="$N" -v rows="$rows" -v base="${2:-}" '
		function parse(file, calls, errs,    line, f, k) {
			while ((getline line < file) > 0) {
				k = split(line, f, " ")
				if (k < 5 || f[1] !~ /^[0-9.]+$/ || f[k] == "total") continue
				calls[f[k]] = f[4]
				errs[f[k]] = (k == 6) ? f[5] : 0
			}
			close(file)
		}
		BEGIN {
			parse(ARGV[1], c, e)
			if (base != "") parse(base, bc, be)
			nr = split(rows, r, " ")
			for (i = 1; i <= nr; i++) shown[r[i]] = 1
			if (base != "") {
				print "| system call | calls | of which errors | per request | per request, less start/stop |"
				print "|---|--:|--:|--:|--:|"
			} else {
				print "| system call | calls | of which errors | per request |"
				print "|---|--:|--:|--:|"
			}
			for (i = 1; i <= nr; i++) # every row, 0 included: a 0 is a finding too
				row(r[i], c[r[i]] + 0, e[r[i]] + 0, bc[r[i]] + 0)
			oc = 0; oe = 0; ob = 0
			for (s in c) if (!(s in shown)) { oc += c[s]; oe += e[s] }
			for (s in bc) if (!(s in shown)) ob += bc[s]
			row("other (Go runtime: futex, nanosleep, …)", oc, oe, ob)
			exit
		}
		function row(name, calls, errs, b) {
			if (base != "")
				printf "| %s | %d | %d | %.3f | %.3f |\n", name, calls, errs, calls / n, (calls - b) / n
			else
				printf "| %s | %d | %d | %.3f |\n", name, calls, errs, calls / n
		}' "$1"
}

# count FILE SYSCALL [errors] prints strace -c's calls (or errors) for one
# system call, 0 if it was never made.
count() {
	awk -v want="$2" -v col="${3:-calls}" '
		NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF == want {
			v = (col == "calls") ? $4 : ((NF == 6) ? $5 : 0)
		}
		END { print v + 0 }' "$1"
}

# per SCENARIO SYSCALL [errors]: per request, less the start/stop run.
per() {
	awk -v a="$(count "$work/$1.strace" "$2" "${3:-calls}")" \
		-v b="$(count "$work/idle.strace" "$2" "${3:-calls}")" -v n="$N" \
		'BEGIN { printf "%.3f", (a - b) / n }'
}

# sum2 A B prints A + B with three decimals.
sum2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }

# total SYSCALL: calls summed over all four runs.
total() {
	local t=0 f
	for f in idle keepalive close file epoll; do
		t=$((t + $(count "$work/$f.strace" "$1")))
	done
	echo "$t"
}

# Scenario 0: start and stop, no requests — what every run pays once.
start_server idle
sleep 0.5
stop_server

# Scenario 1: keep-alive. One curl, N URLs: curl reuses one connection.
start_server keepalive
drive keepalive "http://127.0.0.1:$port/healthz?[1-$N]"
conns_keepalive=$conns
stop_server

# Scenario 2: Connection: close. The same N URLs, a connection each.
start_server close
drive close -H 'Connection: close' "http://127.0.0.1:$port/healthz?[1-$N]"
conns_close=$conns
stop_server

# Scenario 3: a 1 MiB file from a -dir over keep-alive: openat2, fstat,
# write (the head), sendfile (the body), close (the file).
mkdir "$work/www"
head -c 1048576 /dev/zero >"$work/www/1mib.bin"
start_server file -dir "$work/www"
drive file "http://127.0.0.1:$port/1mib.bin?[1-$N]"
conns_file=$conns
stop_server

# Scenario 4: keep-alive again, against the epoll model: epoll_pwait
# instead of ppoll, and no accept4 EAGAIN wait before the first client.
start_server epoll -model epoll
drive epoll "http://127.0.0.1:$port/healthz?[1-$N]"
conns_epoll=$conns
stop_server

# The intro, with the measured figures in it, filled to 78 columns.
intro=$(cat <<EOF
This page counts, with \`strace -c\`, the system calls rawserve makes to
serve $N requests in each of four scenarios, and divides by $N; the figures
in this paragraph subtract a run that served nothing. The expectation, per
request: on a kept-alive connection one read, one write and at most one wait
(ppoll); with \`Connection: close\`, one each of accept4, read, write,
shutdown and close, plus waits and the drain read that collects the client's
FIN ([walkthrough](walkthrough.md#closing)). Keep-alive measured read
$(per keepalive read), write $(per keepalive write) and ppoll $(per keepalive ppoll): what exceeds 1
comes from the single connection's accept (an accept4 that says EAGAIN, then
a ppoll) and its close (the EOF read, the drain read), and from any ppoll a
signal interrupted, which is retried (the errors column). Connection: close
measured accept4 $(per close accept4), read $(per close read), write $(per close write),
shutdown $(per close shutdown), close $(per close close) and ppoll $(per close ppoll): the accept4
calls beyond one ($(per close accept4 errors)) and the reads beyond two
($(per close read errors)) said EAGAIN, because the next client or its FIN had not
arrived yet, and each EAGAIN leads to one ppoll (their sum:
$(sum2 "$(per close accept4 errors)" "$(per close read errors)")), so those three figures follow timing, which strace itself
slows, not the code. The 1 MiB file adds openat2 $(per file openat2) (one of them
OpenRoot's probe at start-up), fstat $(per file fstat), sendfile $(per file sendfile) (more
than 1 when a call came back short and the loop sent the rest, or a signal
interrupted one and the kernel restarted it) and a close
for the file, and no read or write of the file's bytes. The epoll model
on the same keep-alive connection measured read $(per epoll read), write
$(per epoll write) and epoll_pwait $(per epoll epoll_pwait): one wait per request,
since one client's next request comes only after its response; with many
connections one epoll_pwait serves many requests ([models.md](models.md)).
getsockopt was called $(total getsockopt) times in all five runs together;
setsockopt twice per run (SO_REUSEADDR, TCP_NODELAY; the epoll model adds
SO_REUSEPORT) and getsockname once, at start-up.
EOF
)

cat <<EOF
<!-- Generated by scripts/syscalls.sh (make syscalls): edit the script, not this file. -->
# System calls per request

$(printf '%s\n' "$intro" | fmt -w 78)

## Measurements

- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- kernel: \`uname -r\` = $(uname -r)
- $(strace -V | head -n 1); $(curl --version | head -n 1 | cut -d' ' -f1-2)
- N = $N requests per scenario, from one \`curl\` process per scenario
- each run: \`strace -f -c -o FILE ./bin/rawserve -addr 127.0.0.1:0 -quiet [-dir DIR]\`,
  stopped with SIGTERM sent to rawserve (not to strace)

strace -c counts every thread of the process: the serving goroutine's calls
and the Go runtime's (futex, nanosleep, rt_sigaction, mmap, …), start-up and
shutdown included. "per request" is calls ÷ N; "less start/stop" first
subtracts the counts of the first run, which started and stopped rawserve
with no request at all. "errors" are calls that returned -1: EAGAIN for
accept4 and read; for ppoll, EINTR (a signal handler ran; \`Poller.ppoll\`
retries with the time left); for sendfile, EAGAIN (send buffer full: a ppoll
for POLLOUT follows) or a call a signal interrupted and the kernel restarted
by itself (ERESTARTSYS: strace counts it, the server never sees it).

### Start and stop, no requests

The one-time cost in every run: the Go runtime's start-up reads, the
backlog read from /proc/sys/net/core/somaxconn, the listener, one accept4
that says EAGAIN and the ppoll that SIGTERM ends.

$(table "$work/idle.strace")

### Keep-alive: GET /healthz, $N requests on $conns_keepalive connection(s)

\`curl "http://127.0.0.1:PORT/healthz?[1-$N]"\`

$(table "$work/keepalive.strace" "$work/idle.strace")

### Connection: close — GET /healthz, $N requests on $conns_close connections

\`curl -H 'Connection: close' "http://127.0.0.1:PORT/healthz?[1-$N]"\`

$(table "$work/close.strace" "$work/idle.strace")

### A 1 MiB file over keep-alive (sendfile), $N requests on $conns_file connection(s)

\`rawserve -dir DIR\`, \`curl "http://127.0.0.1:PORT/1mib.bin?[1-$N]"\`

$(table "$work/file.strace" "$work/idle.strace")

### The epoll model: keep-alive, $N requests on $conns_epoll connection(s)

\`rawserve -model epoll\`, \`curl "http://127.0.0.1:PORT/healthz?[1-$N]"\`

$(table "$work/epoll.strace" "$work/idle.strace")
EOF
