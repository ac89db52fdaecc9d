# rawserve — the two commands a newcomer needs: `make run` and `make test`.
GO      ?= go
BIN     ?= bin/rawserve
ARGS    ?=
FUZZTIME ?= 60s

# A static, stripped binary: no cgo, no build paths, no symbol tables; the
# commit it was built from is stamped in (rawserve -version).
export CGO_ENABLED = 0
BUILDFLAGS = -trimpath -buildvcs=auto -ldflags='-s -w'

.PHONY: all build run test check vet fmt fuzz bench bench-quick soak syscalls demo docs models compare clean

all: build

build:
	$(GO) build $(BUILDFLAGS) -o $(BIN) ./cmd/rawserve

# make run ARGS='-addr 127.0.0.1:9000 -dir ./docs'
run: build
	./$(BIN) $(ARGS)

# The whole suite, as CI runs it: formatting, vet, then every test with the
# race detector (which needs cgo, so it is switched back on here).
test: check
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 8m ./...

check: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
# The seed corpora live in each package's testdata/fuzz/.
FUZZ = http1:FuzzParse http1:FuzzOracleNetHTTP http1:FuzzChunked \
       http1:FuzzParseRange http1:FuzzParseHTTPDate http1:FuzzScan \
       static:FuzzCleanPath sock:FuzzParseAddr serve:FuzzEpollConn serve:FuzzUringConn \
       httpconn:FuzzConn httpconn:FuzzFaultCuts faults:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) ./internal/$${t%%:*}/; \
	done

# rawserve beside nginx, gnet, fasthttp, the seed post's loop and net/http
# (scripts/bench.sh, bench/README.md), headed by `rawserve -dir` with default
# flags against nginx serving the same file from disk: writes
# docs/benchmarks.md and docs/benchmarks.png, in about 16 minutes on 2
# cores. Then the Go
# microbenchmarks: parser and response writer (with allocations), and exec to
# first 200 against net/http's hello server (BenchmarkStartup, as a ratio).
bench:
	BENCH_COMMAND='make bench' ./scripts/bench.sh full
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/...
	$(GO) test -run='^$$' -bench=Startup -benchtime=50x ./cmd/rawserve/

# The same harness in about 2 minutes (one round of 1 s runs, fewer idle
# connections and start-ups): for development; its numbers are noisy.
bench-quick:
	BENCH_COMMAND='make bench-quick' ./scripts/bench.sh quick

# Five minutes of hostile load against every model — slowloris, non-readers,
# floods of paths, smuggling, a big listing, an access log nobody reads, a
# directory replaced under the server — checking after each phase that no
# answer was wrong or lost and that descriptors and memory came back
# (bench/cmd/soak). About 7 minutes in all, so not part of make test;
# docs/reliability.md explains each phase and gets the table of this run.
# SOAKTIME=30s for a shorter run (each phase keeps its minimum).
SOAKTIME ?= 5m
soak: build
	cd bench && $(GO) run ./cmd/soak -bin ../$(BIN) -duration $(SOAKTIME) -o ../docs/reliability.md

# The five-minute classroom demo: rawserve under strace, three requests,
# the server's own system calls annotated (needs strace); then a second act
# with a file, a head in two pieces, a 408 and a reset mid-response; and a
# third with the first act's requests through io_uring (-model uring).
# tools/rawtrace runs this and the next ones, and the walkthrough's
# scenarios: go run ./tools/rawtrace walkthrough lists them.
RAWTRACE = $(GO) run ./tools/rawtrace -bin $(BIN)
demo: build
	$(RAWTRACE) demo

# Regenerate the transcripts embedded in docs/ (<!-- transcript: NAME -->)
# from a real run under strace, and draw docs/diagrams/*.svg from their
# Graphviz sources (apt-get install graphviz); make test fails when either
# drifts.
docs: build
	CGO_ENABLED=1 $(GO) test -count=1 -run '^(TestDocsTranscripts|TestDiagrams)$$' ./cmd/rawserve/ -update

# What waiting saves: the same workload with -wait poll, -wait spin and
# -model epoll, under strace -c (the table in docs/models.md).
models: build
	$(RAWTRACE) models

# The post rawserve grew from, "Building a Single Threaded Web Server in
# Golang": its loop on Go's net (bench/servers/seedpost) and rawserve's serial
# model serve the same three requests under strace, step by step, with what
# differs noted under each step.
compare: build
	$(RAWTRACE) compare

# Regenerate docs/syscalls.md: strace -c over a fixed number of requests.
syscalls: build
	$(RAWTRACE) syscalls -o docs/syscalls.md

clean:
	rm -rf bin

# The container image rawserve:latest (see Dockerfile). IMAGE_FROM=source
# compiles inside golang:1.26 and needs a registry to pull it from;
# IMAGE_FROM=bin packs the binary `make build` makes and pulls nothing.
IMAGE      ?= rawserve:latest
IMAGE_FROM ?= source
DOCKER     ?= docker

.PHONY: image docker-test

image:
ifeq ($(IMAGE_FROM),bin)
	$(MAKE) build
	$(DOCKER) build --target prebuilt -t $(IMAGE) .
else ifeq ($(IMAGE_FROM),source)
	$(DOCKER) build -t $(IMAGE) .
else
	$(error IMAGE_FROM must be source or bin, not '$(IMAGE_FROM)')
endif

# Builds the image offline in a throwaway dockerd of its own and checks it:
# one file, healthy, serves a bind-mounted directory, stops within 1 s with
# status 0. Prints "docker-test: skipped: <reason>" and succeeds when no
# engine can be installed or started here.
docker-test: build
	./scripts/docker-test.sh
