#!/usr/bin/env bash
# docker-test.sh — the container image, tested in a Docker engine of its own.
#
# Starts a throwaway dockerd (its own data root, exec root, pidfile and
# socket under a fresh temp dir; no bridge, no iptables), builds
# rawserve:latest offline from bin/rawserve (make image IMAGE_FROM=bin), and
# checks that:
#   - the image holds exactly one file, /rawserve;
#   - a container run with --network host, RAWSERVE_ADDR on a free loopback
#     port (the probe follows it) and a read-only bind mount as
#     RAWSERVE_DIR turns healthy through the image's own HEALTHCHECK
#     (rawserve probe), within 1.2 s of docker run;
#   - it runs the model it should: epoll by default (the image's
#     ENV RAWSERVE_MODEL=epoll), serial with -e RAWSERVE_MODEL=serial;
#   - it serves the mounted file, byte for byte;
#   - `docker stop` takes under 1 s and the exit status is 0;
# once with the image's default, once with the override. Then it removes the
# container, stops its dockerd by PID and deletes its state. Talks to
# 127.0.0.1 only; pulls nothing.
#
# From the repository root (or: make docker-test):
#     ./scripts/docker-test.sh
#
# No engine: when dockerd is missing it installs Debian's docker.io (as
# root); when that fails or dockerd cannot start here, it prints one line,
# "docker-test: skipped: <reason>", and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=rawserve:latest
START_TIMEOUT=30  # seconds for dockerd to answer
HEALTH_TIMEOUT=30 # seconds for the container to turn healthy at all
HEALTHY_LIMIT_MS=1200 # and how soon it must (the HEALTHCHECK runs every 500 ms)
STOP_LIMIT_MS=1000

skip() { echo "docker-test: skipped: $*"; exit 0; }
die() { echo "docker-test: FAIL: $*" >&2; exit 1; }
log() { echo "docker-test: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

command -v curl >/dev/null || die "curl is not installed"

# --- the engine -----------------------------------------------------------

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		skip "dockerd is not installed, and installing docker.io needs root and apt-get"
	fi
	log "installing docker.io with apt-get"
	# Keep the package from starting a system dockerd of its own: without a
	# policy-rc.d, invoke-rc.d would run /etc/init.d/docker start.
	policy=/usr/sbin/policy-rc.d made_policy=''
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
	fi
	apt_log=$(mktemp)
	ok=1
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } >"$apt_log" 2>&1 || ok=
	[ -z "$made_policy" ] || rm -f "$policy"
	reason=$(grep -m1 -E '^(E|W): ' "$apt_log" || tail -n1 "$apt_log")
	rm -f "$apt_log"
	[ -n "$ok" ] || skip "apt-get install docker.io failed: $reason"
	command -v dockerd >/dev/null || skip "docker.io installed no dockerd"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rawserve-docker.XXXXXX")
dockerd_pid='' cid=''

# stop_dockerd sends SIGTERM to the dockerd this script started, by the PID
# in its pidfile (or the one $! gave, if it died before writing it), waits
# up to 20 s, then SIGKILL; then the containerd it supervised, likewise.
stop_pid() { # pid name
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	echo "docker-test: $2 (PID $pid) ignored SIGTERM for 20 s: SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
}
stop_dockerd() {
	[ -n "$dockerd_pid" ] || return 0
	local pid ctrd
	pid=$(cat "$tmp/docker.pid" 2>/dev/null || true)
	ctrd=$(cat "$tmp/exec/containerd/containerd.pid" 2>/dev/null || true)
	[ -n "$pid" ] && [ "$pid" = "$dockerd_pid" ] || pid=$dockerd_pid
	stop_pid "$pid" dockerd
	wait "$dockerd_pid" 2>/dev/null || true
	[ -z "$ctrd" ] || stop_pid "$ctrd" containerd
	dockerd_pid=
}

cleanup() {
	if [ -n "$cid" ]; then
		docker rm -f "$cid" >/dev/null 2>&1 || true
	fi
	stop_dockerd
	# Whatever dockerd left mounted beneath its state dir, deepest first,
	# so that rm removes files and not what a mount covers.
	awk -v p="$tmp/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DOCKER_HOST="unix://$tmp/docker.sock" DOCKER_CONFIG="$tmp/config"
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

dockerd --data-root "$tmp/data" --exec-root "$tmp/exec" --pidfile "$tmp/docker.pid" \
	-H "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false \
	>"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!

# dockerd_error: the first line of the log that says why it stopped, with
# logrus' framing taken off (time="..." level=fatal msg="...").
dockerd_error() {
	local line
	line=$(grep -m1 -E 'level=(fatal|panic)|^failed to start daemon' "$tmp/dockerd.log" ||
		grep -m1 'level=error' "$tmp/dockerd.log" || grep -v '^\s*$' "$tmp/dockerd.log" | tail -n1 || true)
	line=$(printf '%s' "$line" | sed -E 's/^time="[^"]*" level=[a-z]+ msg="(.*)"$/\1/; s/\\"/"/g')
	printf '%s' "${line:-no output}"
}

deadline=$(($(now_ms) + START_TIMEOUT * 1000))
until docker version --format '{{.Server.Version}}' >"$tmp/server-version" 2>/dev/null; do
	if ! kill -0 "$dockerd_pid" 2>/dev/null; then
		wait "$dockerd_pid" 2>/dev/null || true
		dockerd_pid=
		skip "dockerd exited at start: $(dockerd_error)"
	fi
	if [ "$(now_ms)" -ge "$deadline" ]; then
		reason=$(dockerd_error)
		skip "dockerd did not answer within ${START_TIMEOUT} s: $reason"
	fi
	sleep 0.3
done
log "dockerd $(cat "$tmp/server-version") up (PID $dockerd_pid, state in $tmp)"

# --- the image ------------------------------------------------------------

# Without buildx the client falls back to the legacy builder; say so, so a
# DOCKER_BUILDKIT=1 in the environment does not make it refuse instead.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
if ! make -s image IMAGE_FROM=bin IMAGE="$IMAGE" >"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log" >&2
	die "make image IMAGE_FROM=bin failed"
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
[ "$user" = 65534:65534 ] || die "image user is '$user', want 65534:65534"

# Exactly one file: list every layer of `docker save` (legacy or OCI layout:
# manifest.json names the layer tars either way).
mkdir "$tmp/saved"
docker save "$IMAGE" | tar -x -C "$tmp/saved"
layers=$(sed -E 's/.*"Layers":\[([^]]*)\].*/\1/' "$tmp/saved/manifest.json" | tr ',' '\n' | tr -d '"')
[ -n "$layers" ] || die "no layers in docker save's manifest.json"
files=$(for l in $layers; do tar -tf "$tmp/saved/$l"; done | sed 's|^\./||' | grep -v '/$' | grep -v '^$' || true)
if [ "$files" != rawserve ]; then
	die "the image should hold exactly one file, rawserve; it holds: $(printf "%s " $files)"
fi
log "image $IMAGE: $size bytes, $(echo "$layers" | wc -w) layer, one file (/rawserve), user $user"

# --- a container ----------------------------------------------------------

# A loopback port nobody listens on (connect refused). The container uses
# the host's network, so this is the port it binds.
port=
for ((i = 0; i < 50; i++)); do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		port=$p
		break
	fi
done
[ -n "$port" ] || die "found no free loopback port"

site="$tmp/site"
mkdir "$site"
head -c 100000 /dev/urandom | od -An -tx1 >"$site/hello.txt" # text, ~300 KB
chmod 755 "$site"
chmod 644 "$site/hello.txt" # the container runs as nobody

# run_model MODEL [RAWSERVE_MODEL]: the container — with RAWSERVE_MODEL set
# to the second argument if there is one, else the image's default — from
# start to docker stop; it must run MODEL. Sets healthy_ms and stop_s.
run_model() {
	local model=$1 override=${2:-} started deadline state t0 stop_ms code
	local env=(-e RAWSERVE_ADDR="127.0.0.1:$port" -e RAWSERVE_DIR=/srv)
	[ -z "$override" ] || env+=(-e RAWSERVE_MODEL="$override")
	started=$(now_ms)
	cid=$(docker run -d --name "rawserve-docker-test-$$-$model" --network host \
		"${env[@]}" -v "$site:/srv:ro" "$IMAGE")

	deadline=$((started + HEALTH_TIMEOUT * 1000))
	while :; do
		state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$cid")
		case $state in
		"running healthy") break ;;
		running\ starting) ;;
		*)
			docker logs "$cid" >&2 || true
			docker inspect -f '{{json .State.Health}}' "$cid" >&2 || true
			die "$model: container is '$state', want running and healthy"
			;;
		esac
		if [ "$(now_ms)" -ge "$deadline" ]; then
			docker logs "$cid" >&2 || true
			docker inspect -f '{{json .State.Health}}' "$cid" >&2 || true
			die "$model: container not healthy within ${HEALTH_TIMEOUT} s"
		fi
		sleep 0.05
	done
	healthy_ms=$(($(now_ms) - started))
	log "$model: container healthy after $((healthy_ms / 1000)).$(printf %03d $((healthy_ms % 1000))) s on 127.0.0.1:$port"
	[ "$healthy_ms" -le "$HEALTHY_LIMIT_MS" ] ||
		die "$model: healthy only after $healthy_ms ms, want at most $HEALTHY_LIMIT_MS ms"
	# The start-up line names the model: "listening on … (epoll, 1 loop(s))".
	docker logs "$cid" 2>&1 | grep -q "listening on .*($model," ||
		die "$model: the container runs another model: $(docker logs "$cid" 2>&1 | head -n1)"

	curl -fsS --max-time 10 -o "$tmp/got" "http://127.0.0.1:$port/hello.txt" ||
		die "$model: GET /hello.txt failed"
	cmp -s "$site/hello.txt" "$tmp/got" || die "$model: GET /hello.txt: the body differs from the mounted file"
	log "$model: GET /hello.txt: $(wc -c <"$tmp/got") bytes, identical to the mounted file"

	t0=$(now_ms)
	docker stop -t 10 "$cid" >/dev/null
	stop_ms=$(($(now_ms) - t0))
	code=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
	stop_s="$((stop_ms / 1000)).$(printf %03d $((stop_ms % 1000))) s"
	if [ "$code" != 0 ] || [ "$stop_ms" -ge "$STOP_LIMIT_MS" ]; then
		docker logs "$cid" >&2 || true
		die "$model: docker stop took $stop_s and the exit status is $code; want under 1 s and 0"
	fi
	docker rm "$cid" >/dev/null
	cid=
}

# Both models, as PID 1: the image's default (epoll), then the teaching
# model on request; each turns healthy, serves the file, and stops.
run_model epoll
epoll_healthy_ms=$healthy_ms epoll_stop_s=$stop_s
run_model serial serial

stop_dockerd
log "ok: image $size bytes, one file; epoll by default and serial on request, each healthy, serving and stopped with exit 0 (epoll: healthy in $((epoll_healthy_ms / 1000)).$(printf %03d $((epoll_healthy_ms % 1000))) s, docker stop $epoll_stop_s)"
