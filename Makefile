# rawserve — the two commands a newcomer needs: `make run` and `make test`.
GO      ?= go
BIN     ?= bin/rawserve
ARGS    ?=
FUZZTIME ?= 60s

# A static, stripped binary: no cgo, no build paths, no symbol tables; the
# commit it was built from is stamped in (rawserve -version).
export CGO_ENABLED = 0
BUILDFLAGS = -trimpath -buildvcs=auto -ldflags='-s -w'

.PHONY: all build run test check vet fmt fuzz bench syscalls clean

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
       http1:FuzzParseRange http1:FuzzParseHTTPDate \
       static:FuzzCleanPath sock:FuzzParseAddr
fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) ./internal/$${t%%:*}/; \
	done

# Go microbenchmarks (parser, response writer), with allocations.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/...

# Regenerate docs/syscalls.md: strace -c over a fixed number of requests.
syscalls: build
	./scripts/syscalls.sh > docs/syscalls.md

clean:
	rm -rf bin
