#!/usr/bin/env bash
# bench.sh — rawserve beside nginx, gnet, fasthttp, the seed post's loop and
# net/http, measured on this machine, in one command:
#
#     make bench          # full: 3 rounds of 4 s a run (about 16 minutes on 2 cores)
#     make bench-quick    # 1 round of 1 s a run (about 2 minutes), for development
#
# It writes docs/benchmarks.md (the tables, the machine, the command) and
# docs/benchmarks.png (ratios to net/http, a panel per scenario), and prints
# the first. In order:
#   1. install what is missing (wrk, nginx, strace, gnuplot; apt-get);
#   2. build rawserve (make build) and bench/: the reference servers, the
#      clients (idleconns, startup, fixedload, fairness) and the report;
#   3. start every server pinned to CPU 0 on a free 127.0.0.1 port and warm
#      it up; then run each scenario for every server in turn, A B C … A B C …,
#      ROUNDS times, with wrk pinned to CPU 1, recording wrk's output, the
#      CPU time the server used and the bytes of access log it wrote;
#   4. idle connections (RSS), start-up time, the serial model's fairness
#      (bench/cmd/fairness), system calls per request (under strace, and as
#      rawserve counts its own: -count-syscalls);
#   5. bench/cmd/report turns the raw files into the page; gnuplot draws.
#
# Every setting can be overridden from the environment: BENCH_DURATION (s a
# run), BENCH_ROUNDS, BENCH_IDLE_CONNS, BENCH_STARTUPS, BENCH_SYSCALL_REQUESTS,
# BENCH_SERVERS (ids, space-separated; nethttp-1 is always kept: it is the
# reference), BENCH_FLAGS_<ROW> (a rawserve row's flags: see rawserve_row
# below) and BENCH_KEEP=1 (keep the raw files, whose directory is printed).
#
# Rules it keeps: traffic only to 127.0.0.1; every load bounded in count or
# duration, and in time by `timeout`; every process it starts in the
# background is recorded and stopped by its PID, on exit too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

mode=${1:-full}
case $mode in
full) duration=4 rounds=3 idle_conns=10000 startups=50 syscall_requests=2000 warmup_requests=20000 ;;
quick) duration=1 rounds=1 idle_conns=2000 startups=10 syscall_requests=500 warmup_requests=2000 ;;
*) echo "usage: scripts/bench.sh [full|quick]" >&2; exit 2 ;;
esac
duration=${BENCH_DURATION:-$duration}
rounds=${BENCH_ROUNDS:-$rounds}
idle_conns=${BENCH_IDLE_CONNS:-$idle_conns}
startups=${BENCH_STARTUPS:-$startups}
syscall_requests=${BENCH_SYSCALL_REQUESTS:-$syscall_requests}

# Servers, in the order the tables show them: the headline first, each
# rawserve row beside the nginx row it is compared with, the reference
# (nethttp-1, to which every ratio is taken) last. BENCH_SERVERS may also
# name nethttp-n, gnet-n and nginx-return (see server_cmd).
all_servers="rawserve-dir nginx-file-log rawserve-uring rawserve-quiet nginx-file rawserve-cache rawserve-serial gnet-1 fasthttp seedpost nethttp-1"
read -r -a servers <<<"${BENCH_SERVERS:-$all_servers}"
[[ " ${servers[*]} " == *" nethttp-1 "* ]] || servers+=(nethttp-1)
for id in "${servers[@]}"; do
	[[ " $all_servers nethttp-n gnet-n nginx-return " == *" $id "* ]] ||
		{ echo "bench: no server $id; there are $all_servers nethttp-n gnet-n nginx-return" >&2; exit 2; }
done

# rawserve's rows, in one place: the label the tables show, then the flags
# beside -addr and -dir. rawserve-dir is the headline: what a fixture user
# runs, `rawserve -dir site`, with nothing added but the epoll model and
# its one loop (the model the comparison with nginx's one worker needs; the
# default is serial); its access log goes to a file, as nginx-file-log's
# does. rawserve-uring is the same with the uring model (issue #16), beside
# it. rawserve-quiet pairs with nginx-file, neither logging. A row that
# does not start (a flag this build does not take) is left out with a note.
# BENCH_FLAGS_<ID>, the id in capitals with _ for -, replaces a row's flags:
#   BENCH_FLAGS_RAWSERVE_QUIET='-model epoll -quiet -file-cache-size 0' make bench-quick
declare -A rawserve_label rawserve_flags
rawserve_row() { rawserve_label[$1]=$2 rawserve_flags[$1]=$3; }
rawserve_row rawserve-dir "rawserve -dir, default flags (epoll, 1 loop)" "-model epoll -loops 1"
rawserve_row rawserve-uring "rawserve -dir, default flags (uring, 1 loop)" "-model uring -loops 1"
rawserve_row rawserve-quiet "rawserve -quiet (epoll, 1 loop)" "-model epoll -loops 1 -quiet"
rawserve_row rawserve-cache "rawserve -quiet -file-cache-trust 1s (epoll, 1 loop)" "-model epoll -loops 1 -quiet -file-cache-trust 1s"
rawserve_row rawserve-serial "rawserve serial, -quiet" "-model serial -quiet"

# nginx's rows answer / with index.html from disk: `rewrite … break` maps
# / to the file in place, nginx's cheapest way there (open, fstat, writev,
# sendfile, close; the index module would stat the file first, and
# open_file_cache, off as by default, would serve what it saw up to a
# minute ago). nginx-file-log logs to a file with nginx's default
# buffering, which is none: a write(2) per request (rawserve gathers its
# lines into writes of 4 KiB). Set nginx_log_params="buffer=4k flush=1s" to
# batch nginx's too.
nginx_slash_file='location = / { rewrite ^ /index.html break; }'
nginx_slash_memory='location = / { default_type text/plain; return 200 "Hello, World!"; }'
nginx_log_params=""

# The exact command, for the page: the overrides that were set, then how
# the script was started.
command_line=
for v in BENCH_DURATION BENCH_ROUNDS BENCH_IDLE_CONNS BENCH_STARTUPS BENCH_SYSCALL_REQUESTS BENCH_SERVERS; do
	[ -z "${!v:-}" ] || command_line+="$v='${!v}' "
done
for id in "${!rawserve_flags[@]}"; do
	v=BENCH_FLAGS_$(tr 'a-z-' 'A-Z_' <<<"$id")
	[ -z "${!v:-}" ] || { rawserve_flags[$id]=${!v}; command_line+="$v='${!v}' "; }
done
command_line+=${BENCH_COMMAND:-scripts/bench.sh $mode}

# Scenarios, in the order the tables show them (see scenario_args).
scenarios=(ka-c1 ka-c64 close-c1 close-c64 pipeline file-1m file-100m)

# The servers whose system calls are counted, under strace (section 4c),
# and by their own counters, rawserve -count-syscalls (section 4d).
strace_servers=(rawserve-dir rawserve-uring nginx-file-log nginx-file nethttp-1)
counted_servers=(rawserve-dir rawserve-uring)

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }
# without WORD LIST... prints LIST without WORD.
without() {
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] || echo "$x"; done
}

# ---------------------------------------------------------------------------
# Processes: every background process is recorded in pids and stopped by PID.

work=$(mktemp -d)
out=$work/results # the raw measurements: the report's input
mkdir -p "$out/wrk" "$out/startup" "$out/logs" "$out/strace" "$work/access"
pids=()

# descendants PID prints PID and every process below it (nginx: master
# and worker; strace: the server it runs).
descendants() {
	local child
	echo "$1"
	for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		descendants "$child"
	done
}

# stop_pid PID sends SIGTERM to PID, waits up to 5 s for it, then sends
# SIGKILL to it and to whatever it had started that is still there.
stop_pid() {
	local pid=$1 tree p
	tree=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	for p in $tree; do kill -KILL "$p" 2>/dev/null || true; done
	wait "$pid" 2>/dev/null || true
	mapfile -t pids < <(without "$pid" "${pids[@]}")
}

cleanup() {
	local pid
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "raw files kept in $out"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# 1. Tools.

export PATH=$PATH:/usr/sbin # where nginx lives
apt_updated=
# need COMMAND PACKAGE installs PACKAGE with apt-get when COMMAND is missing.
need() {
	command -v "$1" >/dev/null && return 0
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "$1 is missing: install the $2 package"
	log "installing $2"
	if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
	# RUNLEVEL=1: the package's own service (nginx on port 80) is not started.
	RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need nginx nginx
need strace strace
need gnuplot gnuplot-nox
need ab apache2-utils
need curl curl
need taskset util-linux

cores=$(nproc)
[ "$cores" -ge 2 ] || die "needs 2 CPUs (server on CPU 0, wrk on CPU 1); this machine has $cores"
# Room for the idle connections: the soft limit up to the hard one (a Go
# program does this itself; nginx and wrk do not).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
[ "$nofile" != unlimited ] || nofile=1048576
if [ "$idle_conns" -gt $((nofile - 100)) ]; then
	idle_conns=$((nofile - 100))
	log "only $nofile file descriptors: $idle_conns idle connections"
fi

# ---------------------------------------------------------------------------
# 2. Build.

log "building rawserve and bench/"
if ! make -s build >&2; then
	[ -x bin/rawserve ] || die "make build failed"
	build_failed=1 # noted below, once the notes file exists
fi
bin=$work/bin
(cd bench && go build -o "$bin/" ./servers/... ./cmd/...)

# The files every server serves: index.html is the 13-byte body (rawserve
# and nginx answer GET / with it, from disk), then a 1 MiB and a 100 MiB file.
www=$work/www
mkdir -p "$www"
printf 'Hello, World!' >"$www/index.html"
head -c $((1 << 20)) /dev/urandom >"$www/1mib.bin"
head -c $((100 << 20)) /dev/urandom >"$www/100mib.bin"
chmod -R a+rX "$work" # nginx's worker runs as nobody

notes=$out/notes.txt
: >"$notes"
note() { echo "$*" >>"$notes"; log "$*"; }
[ -z "${build_failed:-}" ] || note "make build failed: rawserve is the bin/rawserve that was already there ($(./bin/rawserve -version 2>&1))."

# label ID is what the tables call a server.
label() {
	case $1 in
	rawserve-*) echo "${rawserve_label[$1]}" ;;
	nginx-file) echo "nginx, file from disk" ;;
	nginx-file-log) echo "nginx, file from disk, logging to a file" ;;
	nginx-return) echo "nginx, / from memory (return 200)" ;;
	nethttp-1) echo "net/http (GOMAXPROCS=1)" ;;
	nethttp-n) echo "net/http (GOMAXPROCS=$cores)" ;;
	seedpost) echo "seed post's loop (net)" ;;
	fasthttp) echo "fasthttp" ;;
	gnet-1) echo "gnet (1 loop)" ;;
	gnet-n) echo "gnet ($cores loops, GOMAXPROCS=$cores)" ;;
	*) echo "$1" ;;
	esac
}

# Every server's standard output goes to access/ID.log, truncated after
# each run: rawserve-dir's access log, and the file nginx-file-log's
# access_log names (the others write nothing there).
access_log() { echo "$work/access/$1.log"; }

# nginx_conf ID sets slash and access, the two lines of nginx.conf.in that
# tell nginx's rows apart.
nginx_conf() {
	slash=$nginx_slash_file access=off
	case $1 in
	nginx-return) slash=$nginx_slash_memory ;;
	nginx-file-log) access="$(access_log "$1")${nginx_log_params:+ $nginx_log_params}" ;;
	esac
}

# server_cmd ID PORT [idle] sets envs (environment) and argv (command line)
# that start server ID on 127.0.0.1:PORT. Under taskset -c 0, Go's default
# GOMAXPROCS is 1 (it counts the CPUs the process may use), so the -n rows
# set it to the machine's core count, as an unpinned server would have.
# "idle" is for the idle-connection test: rawserve's idle timeout would
# close the connections being counted.
server_cmd() {
	local id=$1 addr=127.0.0.1:$2 flags
	envs=()
	case $id in
	nethttp-1) envs=(GOMAXPROCS=1); argv=("$bin/nethttp" -addr "$addr" -dir "$www") ;;
	nethttp-n) envs=(GOMAXPROCS="$cores"); argv=("$bin/nethttp" -addr "$addr" -dir "$www") ;;
	seedpost) argv=("$bin/seedpost" -addr "$addr" -dir "$www") ;;
	fasthttp) argv=("$bin/fasthttp" -addr "$addr" -dir "$www") ;;
	gnet-1) argv=("$bin/gnet" -addr "$addr" -dir "$www" -loops 1) ;;
	gnet-n) envs=(GOMAXPROCS="$cores"); argv=("$bin/gnet" -addr "$addr" -dir "$www" -loops "$cores") ;;
	nginx-*)
		local dir=$work/nginx-$2
		mkdir -p "$dir"
		nginx_conf "$id"
		sed -e "s|@DIR@|$dir|g; s|@WWW@|$www|g; s|@PORT@|$2|g; s|@NOFILE@|$nofile|g" \
			-e "s|@ACCESS_LOG@|$access|; s|@SLASH@|$slash|" bench/nginx/nginx.conf.in >"$dir/nginx.conf"
		argv=(nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf") ;;
	rawserve-*)
		read -r -a flags <<<"${rawserve_flags[$id]}"
		argv=("$repo/bin/rawserve" "${flags[@]}" -addr "$addr" -dir "$www") ;;
	*) die "no server $id" ;;
	esac
	if [ "${3:-}" = idle ] && [[ $id == rawserve-* ]]; then argv+=(-idle-timeout 10m); fi
}

# shown_cmd ID prints the command line the page shows for server ID, its
# paths as DIR (the files served), TMP (nginx's own) and PORT; then a tab
# and, for nginx, the lines of its configuration that make the row.
shown_cmd() {
	local id=$1 line
	server_cmd "$id" PORT
	line="${envs[*]} ${argv[*]}"
	line=${line# }
	line=${line//$work\/nginx-PORT/TMP}
	line=${line//$www/DIR}
	line=${line//$bin\//}
	printf '%s' "${line//$repo\//}"
	if [[ $id == nginx-* ]]; then
		nginx_conf "$id"
		printf '\taccess_log %s; %s' "${access/$(access_log "$id")/FILE}" "$slash"
	fi
}

# wait_ready PORT PID waits up to 10 s for GET / to answer 200; it fails
# at once if PID has exited.
wait_ready() {
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1/" || true)" = 200 ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

declare -A port pid_of
# start_server ID [idle] starts server ID pinned to CPU 0 on a free port
# and waits until it answers; sets port[ID] and pid_of[ID]. When it does
# not start, it says why: the first line the server printed this time.
start_server() {
	local id=$1 p pid log=$out/logs/$1.log size
	p=$("$bin/freeport")
	server_cmd "$id" "$p" "${2:-}"
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	env "${envs[@]}" taskset -c 0 "${argv[@]}" >>"$(access_log "$id")" 2>>"$log" &
	pid=$!
	pids+=("$pid")
	if ! wait_ready "$p" "$pid"; then
		stop_pid "$pid"
		why=$(tail -c +$((size + 1)) "$log" | head -n 1)
		why=${why:-no answer to GET / within 10 s}
		return 1
	fi
	port[$id]=$p pid_of[$id]=$pid
}

# cpu_ticks PID prints the CPU time (user + system, in clock ticks) used
# so far by PID and every process below it.
cpu_ticks() {
	local total=0 p stat f
	for p in $(descendants "$1"); do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		read -r -a f <<<"${stat##*) }" # the fields after "(comm) "
		total=$((total + f[11] + f[12])) # utime and stime: fields 14 and 15
	done
	echo "$total"
}

# rss_kib PID prints VmRSS of PID and every process below it, in KiB.
rss_kib() {
	local total=0 p kib
	for p in $(descendants "$1"); do
		kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		total=$((total + ${kib:-0}))
	done
	echo "$total"
}

# ---------------------------------------------------------------------------
# 3. Throughput: every scenario for every server, interleaved.

# scenario_args ID sets the scenario's label, kind ("hello" or "file"),
# wrk options (wopts), URL path and arguments for its Lua script.
scenario_args() {
	wopts=() path=/ script_args=() kind=hello
	case $1 in
	ka-c1) scenario_label="keep-alive, 1 conn"; wopts=(-c1) ;;
	ka-c64) scenario_label="keep-alive, 64 conns"; wopts=(-c64) ;;
	close-c1) scenario_label="Connection: close, 1 conn"; wopts=(-c1 -H 'Connection: close') ;;
	close-c64) scenario_label="Connection: close, 64 conns"; wopts=(-c64 -H 'Connection: close') ;;
	pipeline) scenario_label="pipelined, 64 conns × 16"; wopts=(-c64 -s bench/wrk/pipeline.lua); script_args=(-- 16) ;;
	file-1m) scenario_label="1 MiB file, 1 conn"; kind="file"; path=/1mib.bin; wopts=(-c1 --timeout 10s) ;;
	file-100m) scenario_label="100 MiB file, 1 conn"; kind="file"; path=/100mib.bin; wopts=(-c1 --timeout 10s) ;;
	esac
}

# run_wrk SCENARIO ID ROUND runs wrk once against a running server and
# appends a line to runs.tsv: the server's CPU ticks meanwhile, whether it
# was still alive after, the bytes it added to its access log (which is
# then emptied, so that the disk holds one run's log at most), and the CPU
# time wrk used, in milliseconds (bash's time: user and system) — near the
# run's whole duration, the rate is the client's limit, not the server's.
run_wrk() {
	local sc=$1 id=$2 round=$3 ticks0 ticks1 alive=ok rate logged client
	local file=$out/wrk/$sc.$id.$round.txt accesslog TIMEFORMAT='%3U %3S'
	accesslog=$(access_log "$id")
	scenario_args "$sc"
	ticks0=$(cpu_ticks "${pid_of[$id]}")
	client=$( { time timeout $((duration + 30)) taskset -c 1 wrk -t1 -d"${duration}s" "${wopts[@]}" \
		"http://127.0.0.1:${port[$id]}$path" "${script_args[@]}" >"$file" 2>&1; } 2>&1 || true)
	client=$(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$client")
	ticks1=$(cpu_ticks "${pid_of[$id]}")
	kill -0 "${pid_of[$id]}" 2>/dev/null || alive=died
	logged=$(stat -c %s "$accesslog" 2>/dev/null || echo 0)
	: >"$accesslog"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$id" "$round" $((ticks1 - ticks0)) "$alive" "$logged" "$client" >>"$out/runs.tsv"
	rate=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
	log "  $sc $id: ${rate:-no result} req/s$(grep -qE 'Socket errors|Non-2xx' "$file" && echo ' (errors)' || true)"
}

for id in "${servers[@]}"; do printf '%s\t%s\t%s\n' "$id" "$(label "$id")" "$(shown_cmd "$id")"; done >"$out/servers.tsv"
for sc in "${scenarios[@]}"; do
	scenario_args "$sc"
	printf '%s\t%s\t%s\n' "$sc" "$scenario_label" "$kind"
done >"$out/scenarios.tsv"

log "starting the servers, each pinned to CPU 0, and warming them up"
running=()
for id in "${servers[@]}"; do
	if ! start_server "$id"; then
		[ "$id" != nethttp-1 ] || die "the reference, net/http, did not start: $why"
		note "$(label "$id"): did not start, left out: $why"
		continue
	fi
	timeout 60 taskset -c 1 "$bin/fixedload" -addr "127.0.0.1:${port[$id]}" -n "$warmup_requests" -timeout 50s >/dev/null ||
		note "$(label "$id"): the warm-up did not get 200 for all $warmup_requests requests"
	: >"$(access_log "$id")"
	running+=("$id")
done

for round in $(seq "$rounds"); do
	for sc in "${scenarios[@]}"; do
		log "round $round of $rounds: $sc"
		for id in "${running[@]}"; do
			[ -n "${pid_of[$id]:-}" ] || continue
			run_wrk "$sc" "$id" "$round"
			if ! kill -0 "${pid_of[$id]}" 2>/dev/null; then
				note "$(label "$id"): died during $sc, round $round: $(tail -n 1 "$out/logs/$id.log")"
				unset "pid_of[$id]"
			fi
		done
	done
done
for id in "${running[@]}"; do
	[ -z "${pid_of[$id]:-}" ] || stop_pid "${pid_of[$id]}"
	unset "pid_of[$id]"
done

# ---------------------------------------------------------------------------
# 4a. Idle keep-alive connections: what each costs in RSS. The serial
# servers hold one connection at a time, so they cannot hold these.

log "idle connections: $idle_conns per server (at ${SECONDS} s)"
for id in "${running[@]}"; do
	case $id in rawserve-serial | seedpost) continue ;; esac
	start_server "$id" idle || { note "$(label "$id"): did not start for the idle test: $why"; continue; }
	sleep 0.5
	rss_before=$(rss_kib "${pid_of[$id]}")
	: >"$out/logs/idle-$id.txt" # there before the loop below reads it
	taskset -c 1 "$bin/idleconns" -addr "127.0.0.1:${port[$id]}" -n "$idle_conns" -timeout 3m \
		>"$out/logs/idle-$id.txt" 2>&1 &
	client=$!
	pids+=("$client")
	for _ in $(seq 1200); do # 2 minutes
		grep -q '^ready' "$out/logs/idle-$id.txt" && break
		kill -0 "$client" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	rss_after=$(rss_kib "${pid_of[$id]}")
	ready=$(grep '^ready' "$out/logs/idle-$id.txt" || true)
	stop_pid "$client"
	stop_pid "${pid_of[$id]}"
	: >"$(access_log "$id")"
	if [ -z "$ready" ]; then
		note "$(label "$id"): the idle-connection client never got ready: $(tail -n 1 "$out/logs/idle-$id.txt")"
		continue
	fi
	opened=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$ready")
	failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$ready")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$idle_conns" "$opened" "$failed" "$rss_before" "$rss_after" >>"$out/idle.tsv"
	log "  $id: $opened connections, RSS $rss_before → $rss_after KiB"
done

# ---------------------------------------------------------------------------
# 4b. Start-up: exec to the first 200, $startups times a server. The
# startup client runs on CPU 1 and moves each server it starts to CPU 0.

log "start-up: $startups times a server (at ${SECONDS} s)"
for id in "${running[@]}"; do
	p=$("$bin/freeport")
	server_cmd "$id" "$p"
	if ! env "${envs[@]}" timeout 300 taskset -c 1 "$bin/startup" -n "$startups" -cpu 0 -addr "127.0.0.1:$p" -- "${argv[@]}" \
		>"$out/startup/$id.txt" 2>>"$out/logs/startup-$id.log"; then
		note "$(label "$id"): start-up measurement failed: $(tail -n 1 "$out/logs/startup-$id.log")"
	fi
done

# ---------------------------------------------------------------------------
# 4b'. Fairness: how long the serial model, with its default flags, keeps a
# client waiting behind another (issue #12). Server on CPU 0, clients on 1.

if [[ " ${running[*]} " == *" rawserve-serial "* ]]; then
	log "fairness: the serial model, default flags (at ${SECONDS} s)"
	if ! timeout 300 taskset -c 1 "$bin/fairness" -bin "$repo/bin/rawserve" -server-cpu 0 >"$out/fairness.tsv" 2>>"$out/logs/fairness.log"; then
		note "rawserve serial: the fairness measurement failed: $(tail -n 1 "$out/logs/fairness.log")"
	fi
fi

# ---------------------------------------------------------------------------
# 4c. System calls per request: strace -f -c around the server while
# fixedload sends exactly N keep-alive requests for / over C connections
# (rawserve and nginx serve index.html from disk, net/http answers from
# memory). A baseline run (start, readiness check, stop) is subtracted by
# the report, call by call.

# strace_calls ID N C leaves in strace/ID.cC.nN.txt the summary strace -c
# wrote for server ID serving N requests over C connections (N = 0: the
# baseline), and fails if there is none. (It writes a file rather than
# printing: in a $(…) subshell the processes it starts would escape the
# EXIT trap.)
strace_calls() {
	local id=$1 n=$2 c=$3 p spid server file=$out/strace/$1.c$3.n$2.txt
	p=$("$bin/freeport")
	server_cmd "$id" "$p"
	env "${envs[@]}" taskset -c 0 strace -f -c -o "$file" "${argv[@]}" \
		>>"$(access_log "$id")" 2>>"$out/logs/strace-$id.log" &
	spid=$!
	pids+=("$spid")
	wait_ready "$p" "$spid" || { stop_pid "$spid"; return 1; }
	if [ "$n" -gt 0 ]; then
		timeout 120 taskset -c 1 "$bin/fixedload" -addr "127.0.0.1:$p" -path / -n "$n" -c "$c" -timeout 100s \
			>>"$out/logs/strace-$id.log" 2>&1 || note "$(label "$id"): fixedload -n $n -c $c did not get 200 for every request"
	fi
	# SIGTERM to the server itself (strace's child): strace then writes its
	# summary and exits.
	server=$(cat "/proc/$spid/task/$spid/children" 2>/dev/null || true)
	[ -z "${server%% *}" ] || kill -TERM "${server%% *}" 2>/dev/null || true
	for _ in $(seq 100); do # 10 s for strace to write its summary and exit
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$spid"
	: >"$(access_log "$id")"
	grep -q ' total$' "$file"
}

log "system calls per request: $syscall_requests requests under strace (at ${SECONDS} s)"
for id in "${strace_servers[@]}"; do
	[[ " ${running[*]} " == *" $id "* ]] || continue
	for c in 1 16; do
		strace_calls "$id" 0 "$c" && strace_calls "$id" "$syscall_requests" "$c" ||
			{ note "$(label "$id"): strace run failed (c=$c)"; continue; }
		printf '%s\t%s\t%s\n' "$id" "$c" "$syscall_requests" >>"$out/syscalls.tsv"
	done
done

# ---------------------------------------------------------------------------
# 4d. System calls per request, counted by rawserve itself
# (-count-syscalls: every call at the seam, every thread, at full speed —
# strace slows the server down, and a slowed server finds more waiting at
# each wake, so it makes fewer calls per request than at full speed).
# wrk loads it as in the keep-alive, 64 connections runs; the stop line
# says how many calls of each kind the server made in all (start-up and
# stop included: a few dozen) and how many requests it answered.

log "system calls per request, rawserve's own counters: wrk, 64 connections, $duration s (at ${SECONDS} s)"
mkdir -p "$out/counts"
for id in "${counted_servers[@]}"; do
	[[ " ${running[*]} " == *" $id "* ]] || continue
	p=$("$bin/freeport")
	server_cmd "$id" "$p"
	counts=$out/counts/$id.c64.txt
	env "${envs[@]}" taskset -c 0 "${argv[@]}" -count-syscalls >>"$(access_log "$id")" 2>"$counts" &
	cpid=$!
	pids+=("$cpid")
	if wait_ready "$p" "$cpid"; then
		timeout $((duration + 30)) taskset -c 1 wrk -t1 -c64 -d"${duration}s" "http://127.0.0.1:$p/" \
			>>"$out/logs/counts-$id.log" 2>&1 || note "$(label "$id"): wrk failed while counting"
	fi
	stop_pid "$cpid"
	: >"$(access_log "$id")"
	if grep -q ' system calls for ' "$counts"; then
		printf '%s\t%s\n' "$id" 64 >>"$out/counts.tsv"
	else
		note "$(label "$id"): no count of its system calls: $(head -n 1 "$counts")"
	fi
done

# ---------------------------------------------------------------------------
# 5. The page and the plot.

{
	printf 'cpu\t%s\n' "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	printf 'cores\t%s\n' "$cores"
	printf 'kernel\t%s\n' "$(uname -srm)"
	printf 'go\t%s\n' "$(go version)"
	printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
	printf 'nginx\t%s\n' "$(nginx -v 2>&1 | head -n 1)"
	printf 'rawserve\t%s\n' "$(./bin/rawserve -version 2>&1 | head -n 1)"
	printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'command\t%s\n' "$command_line"
	printf 'mode\t%s\n' "$mode"
	printf 'duration\t%s\n' "$duration"
	printf 'rounds\t%s\n' "$rounds"
	printf 'clk_tck\t%s\n' "$(getconf CLK_TCK)"
	printf 'seconds\t%s\n' "$SECONDS"
} >"$out/meta.tsv"

"$bin/report" -in "$out" -plot-data "$out/plot.tsv" >docs/benchmarks.md
gnuplot -e "data='$out/plot.tsv'; out='docs/benchmarks.png'" bench/plot.gp
cat docs/benchmarks.md
log "wrote docs/benchmarks.md and docs/benchmarks.png in ${SECONDS} s"
