# rawserve as a container image: the static binary and nothing else, run as
# nobody (65534), healthy when `rawserve probe` gets a 2xx from /healthz.
#
# Two ways to build the same image:
#
#   With a registry (pulls golang:1.26, compiles inside it):
#       docker build -t rawserve:latest .            (or: make image)
#
#   Offline, from the binary `make build` left in bin/ (pulls nothing):
#       make build && docker build --target prebuilt -t rawserve:latest .
#                                                    (or: make image IMAGE_FROM=bin)
#
# Why a target and not an ARG: the `prebuilt` stage comes first and needs
# only the build context, and every builder — BuildKit and the legacy builder
# that Debian's docker.io 20.10 uses without buildx — stops at --target
# without touching the stages after it. The legacy builder does run every
# stage *before* the target, though, so a full `docker build .` without
# BuildKit needs bin/rawserve to exist too (run `make build` first); BuildKit
# (the default since Docker 23) skips the unused `prebuilt` stage.
# .dockerignore lets bin/rawserve into the context and nothing else of bin/.

# Everything the image says about itself, shared by both final images.
FROM scratch AS runtime
LABEL org.opencontainers.image.title="rawserve" \
      org.opencontainers.image.description="A static HTTP/1.1 server on raw Linux system calls, for integration tests" \
      org.opencontainers.image.source="https://github.com/rawserve/rawserve"
USER 65534:65534
EXPOSE 8080
# The image is a fixture for integration tests, whose clients are concurrent
# (test pools, browsers): it runs the epoll model, which never makes one
# client wait for another. -e RAWSERVE_MODEL=serial gives back the teaching
# model (the binary's own default).
ENV RAWSERVE_MODEL=epoll
# The probe asks http://$RAWSERVE_ADDR/healthz (127.0.0.1:8080 by default),
# so it follows a server moved with RAWSERVE_ADDR. The first check runs one
# interval after start, so a short interval is what makes the container
# healthy within a second (make docker-test measures it); a probe is a few
# system calls (connect, write, read), but the engine starts a process for
# each. --start-interval would be the clean fix, but it needs Docker
# Engine 25, and older engines and builders reject it; a long-lived
# container can take a longer interval at run time (see the README).
HEALTHCHECK --interval=500ms --timeout=2s --start-period=1s --retries=3 CMD ["/rawserve", "probe"]
ENTRYPOINT ["/rawserve"]

# Offline: the binary from the build context (make build).
FROM runtime AS prebuilt
COPY bin/rawserve /rawserve

# With a registry: compile in the Go image, module downloads cached in a layer.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /rawserve ./cmd/rawserve

# The default target.
FROM runtime
COPY --from=build /rawserve /rawserve
