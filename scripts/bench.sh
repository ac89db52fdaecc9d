#!/usr/bin/env bash
# bench.sh — rawserve beside net/http, the seed post's loop, fasthttp, gnet
# and nginx, measured on this machine, in one command:
#
#     make bench          # full: 3 rounds of 4 s a run (about 15 minutes on 2 cores)
#     make bench-quick    # 1 round of 1 s a run (under 2 minutes), for development
#
# It writes docs/benchmarks.md (the tables, the machine, the command) and
# docs/benchmarks.png (req/s per server and scenario), and prints the first.
# In order:
#   1. install what is missing (wrk, nginx, strace, gnuplot; apt-get);
#   2. build rawserve (make build) and bench/: the reference servers, the
#      clients (idleconns, startup, fixedload) and the report;
#   3. start every server pinned to CPU 0 on a free 127.0.0.1 port and warm
#      it up; then run each scenario for every server in turn, A B C … A B C …,
#      ROUNDS times, with wrk pinned to CPU 1, recording wrk's output and the
#      CPU time the server used;
#   4. idle connections (RSS), start-up time, the serial model's fairness
#      (bench/cmd/fairness), system calls per request;
#   5. bench/cmd/report turns the raw files into the page; gnuplot draws.
#
# Every setting can be overridden from the environment: BENCH_DURATION (s a
# run), BENCH_ROUNDS, BENCH_IDLE_CONNS, BENCH_STARTUPS, BENCH_SYSCALL_REQUESTS,
# BENCH_SERVERS (ids, space-separated; nethttp-1 is always kept: it is the
# reference) and BENCH_KEEP=1 (keep the raw files, whose directory is printed).
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
# The exact command, for the page: the overrides that were set, then how
# the script was started.
command_line=
for v in BENCH_DURATION BENCH_ROUNDS BENCH_IDLE_CONNS BENCH_STARTUPS BENCH_SYSCALL_REQUESTS BENCH_SERVERS; do
	[ -z "${!v:-}" ] || command_line+="$v='${!v}' "
done
command_line+=${BENCH_COMMAND:-scripts/bench.sh $mode}

# Servers, in the order the tables show them. nethttp-1 is the reference
# every ratio is taken to.
all_servers="nethttp-1 nethttp-n seedpost fasthttp gnet-1 gnet-n nginx rawserve-serial rawserve-epoll rawserve-epoll-cache"
read -r -a servers <<<"${BENCH_SERVERS:-$all_servers}"
[[ " ${servers[*]} " == *" nethttp-1 "* ]] || servers=(nethttp-1 "${servers[@]}")

# Scenarios, in the order the tables show them (see scenario_args).
scenarios=(ka-c1 ka-c64 close-c1 close-c64 pipeline file-1m file-100m)

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
mkdir -p "$out/wrk" "$out/startup" "$out/logs"
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
# answers GET / with it), then a 1 MiB and a 100 MiB file.
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

# rawserve's models: -model serial is today's default, so without the flag
# it is still what runs; -model epoll is skipped when this build lacks it.
serial_flags=(-model serial)
if ! ./bin/rawserve -model serial -version >/dev/null 2>&1; then
	serial_flags=()
	note "rawserve serial: this build has no -model flag; run with its default (serial)."
fi
if [[ " ${servers[*]} " == *" rawserve-epoll "* ]] && ! ./bin/rawserve -model epoll -loops 1 -version >/dev/null 2>&1; then
	mapfile -t servers < <(without rawserve-epoll "${servers[@]}")
	mapfile -t servers < <(without rawserve-epoll-cache "${servers[@]}")
	note "rawserve epoll: skipped: \`rawserve -model epoll -loops 1\` is a usage error in this build ($(./bin/rawserve -model epoll -loops 1 -version 2>&1 | head -n 1))."
fi

# label ID is what the tables call a server.
label() {
	case $1 in
	nethttp-1) echo "net/http (GOMAXPROCS=1)" ;;
	nethttp-n) echo "net/http (GOMAXPROCS=$cores)" ;;
	seedpost) echo "seed post's loop (net)" ;;
	fasthttp) echo "fasthttp" ;;
	gnet-1) echo "gnet (1 loop)" ;;
	gnet-n) echo "gnet ($cores loops, GOMAXPROCS=$cores)" ;;
	nginx) echo "nginx (1 worker)" ;;
	rawserve-serial) echo "rawserve serial" ;;
	rawserve-epoll) echo "rawserve epoll (1 loop)" ;;
	rawserve-epoll-cache) echo "rawserve epoll (1 loop), -file-cache 1s" ;;
	esac
}

# server_cmd ID PORT [idle] sets envs (environment) and argv (command line)
# that start server ID on 127.0.0.1:PORT. Under taskset -c 0, Go's default
# GOMAXPROCS is 1 (it counts the CPUs the process may use), so the -n rows
# set it to the machine's core count, as an unpinned server would have.
# "idle" is for the idle-connection test: rawserve's 2 s idle timeout would
# close the connections being counted.
server_cmd() {
	local id=$1 addr=127.0.0.1:$2
	envs=()
	case $id in
	nethttp-1) envs=(GOMAXPROCS=1); argv=("$bin/nethttp" -addr "$addr" -dir "$www") ;;
	nethttp-n) envs=(GOMAXPROCS="$cores"); argv=("$bin/nethttp" -addr "$addr" -dir "$www") ;;
	seedpost) argv=("$bin/seedpost" -addr "$addr" -dir "$www") ;;
	fasthttp) argv=("$bin/fasthttp" -addr "$addr" -dir "$www") ;;
	gnet-1) argv=("$bin/gnet" -addr "$addr" -dir "$www" -loops 1) ;;
	gnet-n) envs=(GOMAXPROCS="$cores"); argv=("$bin/gnet" -addr "$addr" -dir "$www" -loops "$cores") ;;
	nginx)
		local dir=$work/nginx-$2
		mkdir -p "$dir"
		sed -e "s|@DIR@|$dir|g; s|@WWW@|$www|g; s|@PORT@|$2|g; s|@NOFILE@|$nofile|g" \
			bench/nginx/nginx.conf.in >"$dir/nginx.conf"
		argv=(nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf") ;;
	rawserve-serial) argv=("$repo/bin/rawserve" "${serial_flags[@]}" -addr "$addr" -dir "$www" -quiet) ;;
	rawserve-epoll) argv=("$repo/bin/rawserve" -model epoll -loops 1 -addr "$addr" -dir "$www" -quiet) ;;
	# Small files from memory, as nginx's open_file_cache would: the others
	# answer / from memory too. Shown beside the row without the cache.
	rawserve-epoll-cache) argv=("$repo/bin/rawserve" -model epoll -loops 1 -file-cache 1s -addr "$addr" -dir "$www" -quiet) ;;
	esac
	if [ "${3:-}" = idle ] && [[ $id == rawserve-* ]]; then argv+=(-idle-timeout 10m); fi
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
# and waits until it answers; sets port[ID] and pid_of[ID].
start_server() {
	local id=$1 p pid
	p=$("$bin/freeport")
	server_cmd "$id" "$p" "${2:-}"
	env "${envs[@]}" taskset -c 0 "${argv[@]}" >>"$out/logs/$id.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	if ! wait_ready "$p" "$pid"; then
		stop_pid "$pid"
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
# appends a line to runs.tsv: the server's CPU ticks meanwhile, and
# whether it was still alive after.
run_wrk() {
	local sc=$1 id=$2 round=$3 ticks0 ticks1 alive=ok rate
	local file=$out/wrk/$sc.$id.$round.txt
	scenario_args "$sc"
	ticks0=$(cpu_ticks "${pid_of[$id]}")
	timeout $((duration + 30)) taskset -c 1 wrk -t1 -d"${duration}s" "${wopts[@]}" \
		"http://127.0.0.1:${port[$id]}$path" "${script_args[@]}" >"$file" 2>&1 || true
	ticks1=$(cpu_ticks "${pid_of[$id]}")
	kill -0 "${pid_of[$id]}" 2>/dev/null || alive=died
	printf '%s\t%s\t%s\t%s\t%s\n' "$sc" "$id" "$round" $((ticks1 - ticks0)) "$alive" >>"$out/runs.tsv"
	rate=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
	log "  $sc $id: ${rate:-no result} req/s$(grep -qE 'Socket errors|Non-2xx' "$file" && echo ' (errors)' || true)"
}

for id in "${servers[@]}"; do printf '%s\t%s\n' "$id" "$(label "$id")"; done >"$out/servers.tsv"
for sc in "${scenarios[@]}"; do
	scenario_args "$sc"
	printf '%s\t%s\t%s\n' "$sc" "$scenario_label" "$kind"
done >"$out/scenarios.tsv"

log "starting the servers, each pinned to CPU 0, and warming them up"
running=()
for id in "${servers[@]}"; do
	if ! start_server "$id"; then
		[ "$id" != nethttp-1 ] || die "the reference, net/http, did not start: $(tail -n 3 "$out/logs/$id.log")"
		note "$(label "$id"): did not start, left out: $(tail -n 1 "$out/logs/$id.log")"
		continue
	fi
	timeout 60 taskset -c 1 "$bin/fixedload" -addr "127.0.0.1:${port[$id]}" -n "$warmup_requests" -timeout 50s >/dev/null ||
		note "$(label "$id"): the warm-up did not get 200 for all $warmup_requests requests"
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
	start_server "$id" idle || { note "$(label "$id"): did not start for the idle test"; continue; }
	sleep 0.5
	rss_before=$(rss_kib "${pid_of[$id]}")
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
# fixedload sends exactly N keep-alive requests over C connections. A
# baseline run (start, readiness check, stop) is subtracted by the report.
# rawserve is asked for /healthz, which it answers from memory as net/http
# answers / (its / is a file: openat2, fstat, sendfile and close each time).

# strace_calls ID N C sets strace_total to the calls strace counted for
# server ID serving N requests over C connections (N = 0: the baseline).
# (It sets a variable rather than printing: in a $(…) subshell the
# processes it starts would escape the EXIT trap.)
strace_calls() {
	local id=$1 n=$2 c=$3 p spid server file=$work/strace.$1.$2.$3
	p=$("$bin/freeport")
	server_cmd "$id" "$p"
	env "${envs[@]}" taskset -c 0 strace -f -c -o "$file" "${argv[@]}" >>"$out/logs/strace-$id.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	wait_ready "$p" "$spid" || { stop_pid "$spid"; return 1; }
	if [ "$n" -gt 0 ]; then
		local path=/
		[[ $id != rawserve-* ]] || path=/healthz
		timeout 120 taskset -c 1 "$bin/fixedload" -addr "127.0.0.1:$p" -path "$path" -n "$n" -c "$c" -timeout 100s \
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
	strace_total=$(awk '$NF == "total" { print $4 }' "$file")
	[ -n "$strace_total" ]
}

log "system calls per request: $syscall_requests requests under strace (at ${SECONDS} s)"
for id in rawserve-serial rawserve-epoll nethttp-1; do
	[[ " ${running[*]} " == *" $id "* ]] || continue
	for c in 1 16; do
		strace_calls "$id" 0 "$c" && base=$strace_total &&
			strace_calls "$id" "$syscall_requests" "$c" && calls=$strace_total ||
			{ note "$(label "$id"): strace run failed (c=$c)"; continue; }
		printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$c" "$syscall_requests" "$calls" "$base" >>"$out/syscalls.tsv"
	done
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
	printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'command\t%s\n' "$command_line"
	printf 'mode\t%s\n' "$mode"
	printf 'duration\t%s\n' "$duration"
	printf 'rounds\t%s\n' "$rounds"
	printf 'clk_tck\t%s\n' "$(getconf CLK_TCK)"
} >"$out/meta.tsv"

"$bin/report" -in "$out" -plot-data "$out/plot.tsv" >docs/benchmarks.md
gnuplot -e "data='$out/plot.tsv'; out='docs/benchmarks.png'; servers=${#servers[@]}" bench/plot.gp
cat docs/benchmarks.md
log "wrote docs/benchmarks.md and docs/benchmarks.png in ${SECONDS} s"
