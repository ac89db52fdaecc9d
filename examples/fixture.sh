#!/usr/bin/env bash
# fixture.sh — rawserve as a fixture in an integration test, without Docker.
#
# Starts bin/rawserve on a port the kernel picks (-addr 127.0.0.1:0), in the
# epoll model (a test's clients are usually concurrent), waits
# for -ready-file to appear (it holds the address, written once listen(2)
# has succeeded), runs the checks with curl, then stops the server with
# SIGTERM by its PID and asserts a clean exit (status 0, ready file gone).
# From the repository root: ./examples/fixture.sh
set -euo pipefail
cd "$(dirname "$0")/.."

make -s build # the binary of this tree (quick when it is up to date)
work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

./bin/rawserve -model epoll -addr 127.0.0.1:0 -dir examples/site -quiet -ready-file "$work/ready" 2>"$work/stderr" &
pid=$!

for ((i = 0; i < 100; i++)); do # up to 5 s
	[ -s "$work/ready" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/stderr" >&2; echo "fixture: rawserve exited at start" >&2; exit 1; }
	sleep 0.05
done
[ -s "$work/ready" ] || { echo "fixture: no ready file after 5 s" >&2; exit 1; }
addr=$(cat "$work/ready")
echo "fixture: rawserve (PID $pid) listening on $addr"

# The test itself: anything that talks to http://$addr.
curl -fsS --max-time 5 "http://$addr/healthz" >/dev/null
curl -fsS --max-time 5 "http://$addr/index.html" | cmp -s - examples/site/index.html ||
	{ echo "fixture: /index.html differs from examples/site/index.html" >&2; exit 1; }
echo "fixture: GET /healthz and /index.html ok"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || { cat "$work/stderr" >&2; echo "fixture: rawserve exited $status after SIGTERM, want 0" >&2; exit 1; }
[ ! -e "$work/ready" ] || { echo "fixture: ready file left behind" >&2; exit 1; }
echo "fixture: rawserve stopped cleanly (exit 0)"
