#!/usr/bin/env bash
# walkthrough.sh — reproduce a hand-captured trace of docs/walkthrough.md.
#
#   ./scripts/walkthrough.sh            list the scenarios
#   ./scripts/walkthrough.sh SCENARIO   run one
#
# Each scenario starts ./bin/rawserve under strace (on 127.0.0.1, port 0),
# drives the situation the walkthrough describes with curl, python3 or bash,
# stops the server with SIGTERM and prints the server's relevant lines.
# Thread ids, fds, ports, sizes and timings differ from the doc's: the shape
# is what reproduces. Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=(
	"dualstack     -addr :0: one IPv6 socket, IPV6_V6ONLY 0, an IPv4 client as ::ffff:127.0.0.1; getsockname"
	"queue         ss -ltn / ss -tn while one silent client holds the server and curl waits queued"
	"accept4-xsys  a small Go program using unix.Accept4: one getsockopt(SO_PROTOCOL) per accept"
	"spin          -wait spin: accept4 EAGAIN lines; strace -c counts for poll and spin; CPU without strace"
	"readwait      two URLs on one connection: write, then ppoll first, read after"
	"write         the demo page in one write(2)"
	"slowloris     a client sending a byte every 0.3 s: one byte per read, then EAGAIN"
	"sendfile      -dir: openat2, fstat, the head's write, sendfile of a 1 MiB file"
	"sendfile-eagain  a 64 MiB file to curl --limit-rate 64M: short sendfiles, EAGAIN, ppoll POLLOUT"
	"rst           two pipelined requests, client closes at once: EPIPE, SIGPIPE, close"
	"drain413      a 100 KB body answered with 413: shutdown, the drain's reads, close"
	"timeouts      -header-timeout 1s -idle-timeout 1s: silent client, slow client (408), silent kept-alive client"
	"emfile        soft RLIMIT_NOFILE lowered under a running server: accept4 EMFILE, sleeping ppolls, then served"
	"eintr         ppoll ERESTARTNOHAND / sendfile ERESTARTSYS, when a signal lands during a call (not every run)"
	"idle-flush    the access log written when ppoll times out after 100 ms"
	"runtime       the Go runtime's own calls: futex, nanosleep, SIGURG, start-up reads, no epoll"
	"three-serial  three clients at once, one request each (Connection: close), -model serial (docs/models.md)"
	"three-epoll   the same three clients against -model epoll (docs/models.md)"
	"three-keepalive  three keep-alive clients, two requests each, at once, against -model epoll (docs/models.md)"
)

usage() {
	echo "usage: $0 SCENARIO"
	echo "scenarios:"
	printf '  %s\n' "${scenarios[@]}"
}
[ $# -eq 1 ] || { usage; [ $# -eq 0 ] && exit 0 || exit 2; }
scenario=$1

for tool in strace curl python3; do
	command -v "$tool" >/dev/null || { echo "walkthrough: needs $tool" >&2; exit 1; }
done
make -s build

work=$(mktemp -d)
tracer=
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$tracer" ]; then
		kill "$tracer" 2>/dev/null || true
		wait "$tracer" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# start TRACESET [STRACE-OPTS...] -- [RAWSERVE-FLAGS...]: rawserve under
# strace; sets addr, port and server (rawserve's pid). ADDR overrides -addr.
start() {
	local set=$1; shift
	local sopts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sopts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	rm -f "$work/ready" "$work/trace"
	strace -f -qq "${sopts[@]}" -o "$work/trace" -e trace="$set" \
		./bin/rawserve -addr "${ADDR:-127.0.0.1:0}" -ready-file "$work/ready" "$@" \
		>"$work/stdout" 2>"$work/stderr" &
	tracer=$!
	local i
	for ((i = 0; i < 200; i++)); do [ -s "$work/ready" ] && break; sleep 0.05; done
	[ -s "$work/ready" ] || { cat "$work/stderr" >&2; echo "walkthrough: rawserve did not start" >&2; exit 1; }
	addr=$(cat "$work/ready")
	port=${addr##*:}
	server=$(cat "/proc/$tracer/task/$tracer/children")
	server=${server%% *}
}

# stop: SIGTERM to rawserve, then wait (bounded) for strace to finish.
stop() {
	kill -TERM "$server" 2>/dev/null || true
	local i
	for ((i = 0; i < 200; i++)); do kill -0 "$tracer" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$tracer" 2>/dev/null && { kill -KILL "$server" 2>/dev/null || true; }
	wait "$tracer" || true
	tracer=
}

# joined: the trace with strace's split calls (unfinished/resumed) joined.
joined() {
	awk '
/<unfinished \.\.\.>$/ { sub(/ <unfinished \.\.\.>$/, ""); pend[$1] = $0; next }
/<\.\.\. [a-z0-9_]+ resumed>/ { pid = $1; sub(/^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed>/, ""); $0 = pend[pid] $0 }
{ print }' "$work/trace"
}

# conns: the fds accept4 returned, one per line.
conns() { joined | sed -n 's/.*accept4(.*) = \([0-9][0-9]*\)$/\1/p' | sort -un; }

# onconn CALLS: from the first accept4 on, the lines of those calls (a|b|c)
# made on an accepted connection's fd (ppoll: its first fd).
onconn() {
	joined | awk -v calls="$1" '
	/accept4\(.*\) = [0-9]+$/ { match($0, /= [0-9]+$/); conn[substr($0, RSTART + 2)] = 1; next }
	{
		line = $0; sub(/^[0-9]+ +/, "", line)
		if (!match(line, /^[a-z0-9_]+\(/)) next
		call = substr(line, 1, RLENGTH - 1)
		if (call !~ "^(" calls ")$") next
		if (call == "ppoll") { if (!match(line, /fd=[0-9]+/)) next; f = substr(line, RSTART + 3, RLENGTH - 3) }
		else { if (!match(line, /\([0-9]+/)) next; f = substr(line, RSTART + 1, RLENGTH - 1) }
		if (f in conn) print
	}'
}

# waitpid PID SECONDS: wait for a helper (curl, python3), bounded.
waitpid() {
	local p=$1 i
	for ((i = 0; i < $2 * 20; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	kill "$p" 2>/dev/null || true
	wait "$p" || true
}

hdr() { printf '\n## %s\n' "$*"; }

# three: three clients connect at once and each sends one request with
# Connection: close; the server's calls from the first accept4 on.
three() {
	start accept4,read,write,shutdown,close,ppoll,epoll_pwait,epoll_ctl -- -quiet "$@"
	sleep 0.3
	python3 -c '
import socket, sys
port = int(sys.argv[1])
cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
for i, c in enumerate(cs):
    c.sendall(b"GET /healthz?client=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
for c in cs:
    c.settimeout(5)
    while c.recv(4096):
        pass
    c.close()
' "$port"
	sleep 0.2
	stop
	hdr "three clients at once against rawserve $*"
	joined | awk '!on && /accept4\(/ { on = 1; if (prev ~ /(epoll_pwait|ppoll)\(/) print prev } on { print } { prev = $0 }' | grep -E ' (accept4|read|write|shutdown|close|ppoll|epoll_pwait|epoll_ctl)\(' | grep -vE '(read|write)\([0-2],' | sed 's/^[0-9]* *//'
}

case $scenario in
three-keepalive)
	start accept4,read,write,shutdown,close,epoll_pwait,epoll_ctl -- -quiet -model epoll
	sleep 0.3
	python3 -c '
import socket, sys, time
port = int(sys.argv[1])
cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
def ask(path):
    for c in cs:
        c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
    for c in cs:
        c.settimeout(5)
        got = b""
        while not got.endswith(b"ok\n"):
            got += c.recv(4096)
ask(b"/healthz?round=1")
time.sleep(0.1)
ask(b"/healthz?round=2")
for c in cs:
    c.close()
' "$port"
	sleep 0.2
	stop
	hdr "three keep-alive clients, two requests each, against rawserve -model epoll"
	joined | awk '!on && /accept4\(/ { on = 1; if (prev ~ /epoll_pwait\(/) print prev } on { print } { prev = $0 }' | grep -E ' (accept4|read|write|shutdown|close|epoll_pwait|epoll_ctl)\(' | grep -vE '(read|write)\([0-2],' | sed 's/^[0-9]* *//'
	;;
three-serial) three -model serial ;;
three-epoll) three -model epoll ;;
dualstack)
	ADDR=:0 start socket,setsockopt,bind,getsockname,accept4 --
	curl -s -o /dev/null "http://127.0.0.1:$port/healthz"
	sleep 0.2
	stop
	hdr "rawserve -addr :0 (ready file said $addr); curl http://127.0.0.1:$port/healthz"
	joined | grep -E 'socket\(AF_INET6|setsockopt|bind\(|getsockname|accept4\(.*= [0-9]+$'
	;;
queue)
	start accept4,read,close -- -quiet
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(2.5)
s.close()' "$port" "$work/held" &
	holder=$!; pids+=("$holder")
	for ((i = 0; i < 200; i++)); do [ -e "$work/held" ] && break; sleep 0.05; done
	sleep 0.2
	curl -s -o /dev/null -w 'curl: %{http_code} after %{time_total}s\n' "http://$addr/" >"$work/curl" &
	c=$!; pids+=("$c")
	sleep 0.5
	hdr "one silent client holds the server; curl is queued behind it"
	echo "\$ ss -ltn \"sport = :$port\""
	ss -ltn "sport = :$port"
	echo "\$ ss -tn \"( sport = :$port or dport = :$port )\""
	ss -tn "( sport = :$port or dport = :$port )"
	waitpid "$holder" 10; waitpid "$c" 10
	cat "$work/curl"
	stop
	;;
accept4-xsys)
	command -v go >/dev/null || { echo "walkthrough: accept4-xsys needs go" >&2; exit 1; }
	ver=$(awk '$1 == "require" && $2 == "golang.org/x/sys" { print $3 } $1 == "golang.org/x/sys" { print $2 }' go.mod | head -1)
	mkdir "$work/xsys"
	grep '^golang.org/x/sys ' go.sum >"$work/xsys/go.sum"
	printf 'module xsysdemo\n\ngo 1.21\n\nrequire golang.org/x/sys %s\n' "$ver" >"$work/xsys/go.mod"
	cat >"$work/xsys/main.go" <<'GO'
// Accept one connection with unix.Accept4, as x/sys offers it.
package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		panic(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		panic(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet4).Port
	os.WriteFile(os.Args[1]+".tmp", []byte(strconv.Itoa(port)), 0o644)
	os.Rename(os.Args[1]+".tmp", os.Args[1])
	nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
	if err != nil {
		panic(err)
	}
	unix.Close(nfd)
}
GO
	(cd "$work/xsys" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o demo .) || {
		echo "walkthrough: could not build the x/sys demo (golang.org/x/sys $ver must be in the module cache or reachable)" >&2; exit 1; }
	strace -f -qq -o "$work/trace" -e trace=accept4,getsockopt "$work/xsys/demo" "$work/ready" &
	tracer=$!
	for ((i = 0; i < 200; i++)); do [ -s "$work/ready" ] && break; sleep 0.05; done
	[ -s "$work/ready" ] || { echo "walkthrough: the x/sys demo did not start" >&2; exit 1; }
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$(cat "$work/ready")"
	for ((i = 0; i < 100; i++)); do kill -0 "$tracer" 2>/dev/null || break; sleep 0.05; done
	wait "$tracer" || true
	tracer=
	hdr "unix.Accept4 on a listener, one client"
	joined | grep -E 'accept4\(|getsockopt\('
	;;
spin)
	start accept4 -- -quiet -wait spin
	sleep 1
	stop
	hdr "-wait spin, one idle second: accept4 retried at once"
	joined | grep -m 2 'accept4(.*EAGAIN' || true
	echo "accept4 EAGAIN in this second, under strace: $(grep -c 'accept4(.*EAGAIN' "$work/trace" || true)"
	for mode in poll spin; do
		start all -c -- -quiet -wait "$mode"
		sleep 1
		stop
		hdr "strace -f -c, -wait $mode, one idle second, no client (calls column; errors column for accept4)"
		grep -E '^ *(%|-----)| (accept4|ppoll|futex|nanosleep|total)$' "$work/trace"
	done
	hdr "without strace: CPU after one idle second (clock ticks, utime+stime; /proc/PID/stat)"
	for mode in poll spin; do
		./bin/rawserve -addr 127.0.0.1:0 -ready-file "$work/ready.$mode" -quiet -wait "$mode" >/dev/null 2>&1 &
		p=$!; pids+=("$p")
		for ((i = 0; i < 200; i++)); do [ -s "$work/ready.$mode" ] && break; sleep 0.05; done
		sleep 1
		echo "-wait $mode: $(awk '{ print $14 + $15 }' "/proc/$p/stat") ticks"
		kill -TERM "$p"; waitpid "$p" 5
	done
	;;
readwait)
	start accept4,read,write,ppoll -- -quiet
	curl -s -o /dev/null "http://$addr/" -o /dev/null "http://$addr/healthz"
	sleep 0.2
	stop
	hdr "curl / and /healthz on one connection: after the first response, ppoll first, read after"
	onconn 'read|write|ppoll' | sed -n '/write(/{p;n;p;n;p;q}' || true
	;;
write)
	start accept4,write -- -quiet
	curl -s -o /dev/null "http://$addr/"
	sleep 0.2
	stop
	hdr "curl /: the head and the demo page in one write"
	onconn write
	;;
slowloris)
	start accept4,read,ppoll -- -quiet
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for b in b"GET /":
    s.send(bytes([b])); time.sleep(0.3)
s.close()' "$port"
	sleep 0.2
	stop
	hdr "a client sending \"GET /\" a byte every 0.3 s, then closing"
	onconn 'read|ppoll'
	;;
sendfile)
	mkdir "$work/www"
	head -c 1048576 /dev/zero >"$work/www/big.bin"
	start accept4,openat2,fstat,write,sendfile,close -- -quiet -dir "$work/www"
	curl -s -o /dev/null "http://$addr/big.bin"
	sleep 0.2
	stop
	hdr "-dir with a 1 MiB big.bin; curl /big.bin"
	joined | awk -v c="$(conns | head -1)" '
	/openat2\(.*"big\.bin"/ { match($0, /= [0-9]+$/); f = substr($0, RSTART + 2); on = 1 }
	on && ($0 ~ /openat2\(/ || $0 ~ "fstat\\(" f "," || $0 ~ "write\\(" c "," || $0 ~ "sendfile\\(" c "," || $0 ~ "close\\(" f "\\)") { print }
	on && $0 ~ "close\\(" f "\\)" { exit }' || true
	;;
sendfile-eagain)
	mkdir "$work/www"
	head -c 67108864 /dev/zero >"$work/www/big.bin"
	start accept4,sendfile,ppoll -- -quiet -dir "$work/www"
	curl -s -o /dev/null --limit-rate 64M -w 'curl: %{size_download} bytes in %{time_total}s\n' "http://$addr/big.bin"
	sleep 0.2
	stop
	hdr "a 64 MiB file to curl --limit-rate 64M: short sendfiles, then EAGAIN and a wait for POLLOUT"
	onconn 'sendfile|ppoll' | awk '{ print } /EAGAIN/ { e = 1; next } e { exit }' || true
	echo "in all: $(onconn sendfile | wc -l) sendfile calls, $(onconn sendfile | grep -c EAGAIN || true) EAGAIN, $(onconn ppoll | grep -c POLLOUT || true) POLLOUT waits"
	;;
rst)
	start accept4,read,write,close -- -log-healthz
	# A first, silent client holds the serial server for 0.3 s, so that the
	# second has sent its two requests and closed before the server reads
	# them: its first response then meets a closed socket (RST), every time.
	python3 -c '
import socket, sys, time
addr = ("127.0.0.1", int(sys.argv[1]))
h = socket.create_connection(addr); time.sleep(0.1)
s = socket.create_connection(addr)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
s.close()
time.sleep(0.2); h.close()' "$port"
	sleep 0.3
	stop
	hdr "two pipelined requests, then the client closes at once"
	onconn 'read|write|close' | sed -n '/GET \/healthz/,$p'
	grep -E -- '--- SIGPIPE' "$work/trace" || echo "(no SIGPIPE this run: the second write came before the RST)"
	hdr "access log (stdout)"
	cat "$work/stdout"
	;;
drain413)
	start accept4,read,write,shutdown,close -- -quiet
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = b"\0" * 100000
s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.shutdown(socket.SHUT_WR)
print("client got:", s.recv(4096).split(b"\r\n")[0].decode())
s.close()' "$port"
	sleep 0.2
	stop
	hdr "a 100 KB body: 413, then shutdown and the drain"
	onconn 'read|write|shutdown|close'
	;;
timeouts)
	start accept4,read,write,ppoll,shutdown,close -- -quiet -header-timeout 1s -idle-timeout 1s
	python3 -c '
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
print("silent client:    got %r" % s.recv(4096)); s.close()
s = socket.create_connection(("127.0.0.1", port))
time.sleep(0.6)
try:
    for b in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n":
        s.send(bytes([b])); time.sleep(0.1)
except OSError as e:
    print("slow client:      send failed:", e)
print("slow client:      got", s.recv(4096).split(b"\r\n")[0]); s.close()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096); t = time.monotonic()
r = s.recv(4096)
print("kept-alive client: next recv %r %.2f s after the response" % (r, time.monotonic() - t)); s.close()
' "$port"
	sleep 0.2
	stop
	hdr "the server's side, all three connections"
	onconn 'read|write|ppoll|shutdown|close'
	;;
emfile)
	start accept4,ppoll -- -quiet
	hard=$(prlimit --pid "$server" --nofile --noheadings --output HARD)
	lowest=0
	while [ -e "/proc/$server/fd/$lowest" ]; do lowest=$((lowest + 1)); done
	prlimit --pid "$server" --nofile="$lowest:$hard"
	echo "soft RLIMIT_NOFILE lowered to $lowest (the lowest free fd)"
	curl -s -o /dev/null -w 'curl: %{http_code} after %{time_total}s\n' "http://$addr/" >"$work/curl" &
	c=$!; pids+=("$c")
	sleep 1.5
	prlimit --pid "$server" --nofile="$hard:$hard"
	echo "raised again after 1.5 s"
	waitpid "$c" 10
	cat "$work/curl"
	stop
	hdr "accept4 EMFILE, then ppoll on the waker alone, until the limit is raised"
	joined | grep -E 'accept4\(.*EMFILE|ppoll\(\[\{fd=[0-9]+, events=POLLIN\}\], 1,|accept4\(.*= [0-9]+$' | grep -v 'ERESTART' | awk '!/EMFILE/ || !e++' || true
	hdr "stderr"
	cat "$work/stderr"
	;;
eintr)
	# A signal landing during a call is luck; this makes the luck: a Python
	# helper sends SIGURG (the signal the Go runtime uses to preempt, and
	# handles with SA_RESTART) with tgkill(2) to whichever server thread is
	# in ppoll or sendfile at that moment (/proc/PID/task/TID/syscall).
	[ "$(uname -m)" = x86_64 ] || { echo "walkthrough: eintr knows x86_64 syscall numbers only" >&2; exit 1; }
	mkdir "$work/www"
	head -c 16777216 /dev/zero >"$work/www/big.bin"
	start ppoll,sendfile -- -quiet -dir "$work/www"
	python3 -c '
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid, until = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
PPOLL, SENDFILE, TGKILL = 271, 40, 234
while time.monotonic() < until:
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            nr = open("/proc/%d/task/%s/syscall" % (pid, tid)).read().split()[0]
        except (OSError, IndexError):
            continue
        if nr in (str(PPOLL), str(SENDFILE)):
            libc.syscall(TGKILL, pid, int(tid), signal.SIGURG)
    time.sleep(0.002)' "$server" 3 &
	kicker=$!; pids+=("$kicker")
	for ((i = 0; i < 20; i++)); do curl -s -o /dev/null --limit-rate 200M "http://$addr/big.bin"; done
	waitpid "$kicker" 10
	stop
	hdr "SIGURG sent to the server thread in ppoll or sendfile, during 20 downloads of a 16 MiB file"
	joined | grep -m 2 'ppoll.*ERESTARTNOHAND' || true
	joined | grep -m 2 'sendfile.*ERESTARTSYS' || true
	joined | awk '/sendfile.*ERESTARTSYS/ { t = $1; next } t != "" && $1 == t && /sendfile\(/ { print "restarted: " $0; exit }' || true
	echo "ppoll ERESTARTNOHAND: $(joined | grep -c 'ppoll.*ERESTARTNOHAND' || true), sendfile ERESTARTSYS: $(joined | grep -c 'sendfile.*ERESTARTSYS' || true)"
	;;
idle-flush)
	start accept4,ppoll,write --
	curl -s -o /dev/null "http://$addr/"
	sleep 0.4
	stop
	hdr "after the response: the listener's ppoll capped at 100 ms times out, the log is written to fd 1"
	joined | grep -E 'ppoll\(\[\{fd=[0-9]+, events=POLLIN\}, \{fd=[0-9]+, events=POLLIN\}\], 2, |write\(1,' | grep -v -E "ppoll\(\[\{fd=($(conns | paste -sd'|')),"  | grep -A 2 -m 1 'Timeout' || true

	;;
runtime)
	start openat,futex,nanosleep,rt_sigreturn,epoll_create1,epoll_create,epoll_ctl,epoll_pwait,epoll_wait --
	for ((i = 0; i < 300; i++)); do curl -s -o /dev/null "http://$addr/"; done
	stop
	hdr "one line of each kind from the Go runtime (raw, unjoined)"
	grep -m 1 ' nanosleep(' "$work/trace" || true
	grep -m 1 ' futex(.*FUTEX_WAIT' "$work/trace" || true
	grep -m 1 -- '--- SIGURG' "$work/trace" || echo "(no SIGURG this run)"
	grep -m 1 ' rt_sigreturn(' "$work/trace" || true
	hdr "the runtime's start-up reads"
	grep ' openat(' "$work/trace" | grep -v somaxconn || true
	echo "epoll_* calls: $(grep -c ' epoll_' "$work/trace" || true)"
	echo "threads that made a call: $(awk '{ print $1 }' "$work/trace" | sort -u | wc -l)"
	;;
*)
	usage >&2
	exit 2
	;;
esac
