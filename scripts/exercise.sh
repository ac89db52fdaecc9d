# exercise.sh — sourced by every exercise of docs/exercises.md:
#
#     . scripts/exercise.sh
#     serve -trace          # rawserve in the background, narrating into $trace
#     curl -s http://$addr/healthz
#     stop                  # SIGTERM, and wait for it to exit
#
# serve FLAGS... starts ./bin/rawserve with FLAGS on 127.0.0.1 and a port the
# kernel picks, and returns once listen(2) has succeeded (the ready file holds
# the address). It sets $pid (rawserve's process id), $addr (127.0.0.1:PORT),
# $trace (the file that gets rawserve's stderr: its start-up line, its errors
# and, with -trace, the narration of every call it makes) and $access (its
# stdout: the access log). Each serve has files of its own, in $ex, a fresh
# directory in /tmp.
#
# stop waits until rawserve has closed every connection (a client that has
# hung up is seen to, so the narration ends the same way every time; at most
# 2 s), then sends SIGTERM to $pid and waits for rawserve to exit.
#
# They are the README's fixture, in two functions.

[ -x bin/rawserve ] || make build
ex=$(mktemp -d)
n=0

serve() {
	n=$((n + 1))
	trace=$ex/$n.trace access=$ex/$n.access
	./bin/rawserve -addr 127.0.0.1:0 -ready-file "$ex/$n.ready" "$@" 2>"$trace" >"$access" &
	pid=$!
	for i in $(seq 200); do # at most 10 s
		[ -s "$ex/$n.ready" ] || ! kill -0 $pid 2>/dev/null && break
		sleep 0.05
	done
	addr=$(cat "$ex/$n.ready")
}

stop() {
	for i in $(seq 40); do # its sockets: the listener, and a connection still open
		[ "$(find /proc/$pid/fd -lname 'socket:*' 2>/dev/null | wc -l)" -le 1 ] && break
		sleep 0.05
	done
	kill -TERM $pid
	wait $pid
}
