#!/usr/bin/env bash
# demo.sh — the five-minute classroom demo (make demo).
#
# Runs rawserve under strace, sends it three requests with curl — the demo
# page, then two requests on one kept-alive connection — stops it with
# SIGTERM, and prints the server's own system calls, in order, each with a
# one-line note. The Go runtime's calls (futex, nanosleep, signals, its
# start-up reads) are filtered out: only calls on the listener, the waker,
# the accepted sockets and stdout/stderr remain.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in strace curl; do
	command -v "$tool" >/dev/null || { echo "demo: needs $tool (apt-get install $tool)" >&2; exit 1; }
done
[ -x bin/rawserve ] || make -s build

work=$(mktemp -d)
tracer=
cleanup() {
	[ -n "$tracer" ] && kill "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

strace -f -qq -o "$work/trace" -e trace=socket,setsockopt,bind,listen,accept4,read,write,ppoll,shutdown,close,eventfd2 \
	./bin/rawserve -addr 127.0.0.1:0 -ready-file "$work/ready" -quiet 2>"$work/stderr" &
tracer=$!
for ((i = 0; i < 100; i++)); do [ -s "$work/ready" ] && break; sleep 0.05; done
[ -s "$work/ready" ] || { cat "$work/stderr" >&2; echo "demo: rawserve did not start" >&2; exit 1; }
addr=$(cat "$work/ready")

sleep 0.2
curl -s -o /dev/null "http://$addr/"
sleep 0.2
curl -s -o /dev/null "http://$addr/healthz" -o /dev/null "http://$addr/healthz" # one connection, two requests
sleep 0.3

server=$(cat "/proc/$tracer/task/$tracer/children")
kill -TERM "$server"
wait "$tracer" || true
tracer=

# Join strace's split calls, keep the server's, and annotate them.
awk -v addr="$addr" '
function note(s) { printf "%-96s  # %s\n", substr(line, 1, 96), s }
/<unfinished \.\.\.>$/ { sub(/ <unfinished \.\.\.>$/, ""); pend[$1] = $0; next }
/<\.\.\. [a-z0-9_]+ resumed>/ { pid = $1; sub(/^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed>/, ""); $0 = pend[pid] $0 }
{
	sub(/^[0-9]+ +/, ""); line = $0
	if (line ~ /^eventfd2/)                        { match(line, /= [0-9]+/); wake = substr(line, RSTART + 2, RLENGTH - 2); note("the waker: SIGTERM writes here to end any wait"); next }
	if (line ~ /^socket\(AF_INET/)                 { match(line, /= [0-9]+$/); lfd = substr(line, RSTART + 2); note("the listener, nonblocking and close-on-exec from birth"); next }
	if (lfd == "") next
	if (line ~ "^setsockopt\\(" lfd ", SOL_TCP") { note("TCP_NODELAY: a small body is not held back for an ACK"); next }
	if (line ~ "^setsockopt\\(" lfd ",")           { note("SO_REUSEADDR: restart without waiting out TIME_WAIT"); next }
	if (line ~ "^bind\\(" lfd ",")                 { note("the address: " addr); next }
	if (line ~ "^listen\\(" lfd ",")               { note("the kernel now queues finished handshakes (the backlog)"); next }
	if (line ~ "^accept4\\(" lfd ",.*EAGAIN")      { note("no connection queued: the kernel says \"not now\""); next }
	if (line ~ "^accept4\\(" lfd ",")              { match(line, /= [0-9]+$/); c = substr(line, RSTART + 2); conn[c] = 1; note("a connection: fd " c ", on the listener'"'"'s own port"); next }
	if (line ~ "^ppoll\\(\\[\\{fd=" lfd ",")       { note(index(line, "fd=" wake ",") ? "sleep until a client, or SIGTERM" : "sleep until a client"); next }
	if (line ~ /^ppoll\(\[\{fd=[0-9]+,/) {
		match(line, /fd=[0-9]+/); f = substr(line, RSTART + 3, RLENGTH - 3)
		if (f in conn) { note(line ~ /Timeout/ ? "quiet for a moment" : "sleep until the client sends (keep-alive)"); next }
	}
	if (line ~ /^(read|write|shutdown|close)\([0-9]+,?/) {
		match(line, /\([0-9]+/); f = substr(line, RSTART + 1, RLENGTH - 1)
		if (f == wake && line ~ /^write/) { note("SIGTERM arrived: wake the server"); next }
		if (f == lfd && line ~ /^close/)  { note("stop listening"); next }
		if (f == wake && line ~ /^close/) { note("done"); next }
		if (f == "2" && line ~ /^write/)  { note("a line on stderr"); next }
		if (!(f in conn)) next
		if (line ~ /^read.*EAGAIN/)       { note("the request has not arrived yet"); next }
		if (line ~ /^read.*= 0$/)         { note(f in shut ? "the drain: EOF, the client has closed too" : "EOF: the client closed its side"); next }
		if (line ~ /^read/)               { note("the request, as sent: read returns what has arrived, it does not wait for FIN"); next }
		if (line ~ /^write/)              { note("the whole response in one write"); next }
		if (line ~ /^shutdown/)           { shut[f] = 1; note("our FIN, after the last byte; then drain what the client still sends"); next }
		if (line ~ /^close/)              { delete conn[f]; delete shut[f]; note("closed politely: no unread bytes, so no RST"); next }
	}
}' "$work/trace"
