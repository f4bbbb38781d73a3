# Targets wrap go commands and scripts; see README.md.
GO ?= go
BIN := bin

.PHONY: all build setup test check bench demo image image-test matrix-test clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

# Installs the PostgreSQL server, openssl and the pinned S3 gateway when
# missing (Debian; see scripts/setup.sh).
setup:
	@scripts/setup.sh

# The packages with concurrency of their own run under the race detector
# (instead of plainly), alongside the plain run of the others. Tests that
# share nothing run in parallel; they mostly wait for servers and
# subprocesses, so more of them than the cores run at once.
RACE_PKGS := ./internal/iox/ ./internal/dumpstat/ ./internal/osslenc/ ./internal/monitor/ ./internal/s3stream/ ./internal/backup/

test: setup
	@all=$$($(GO) list ./...) && race=$$($(GO) list $(RACE_PKGS)) || exit 1; \
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS) & pid=$$!; \
	$(GO) test -count=1 -timeout 20m -parallel 4 $$(echo "$$all" | grep -v -x -F "$$race"); plain=$$?; \
	wait $$pid; raced=$$?; [ $$plain = 0 ] && [ $$raced = 0 ]

check:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	@tmp=$$(mktemp -d) && cp go.mod go.sum $$tmp/ && $(GO) mod tidy && \
	 if ! cmp -s go.mod $$tmp/go.mod || ! cmp -s go.sum $$tmp/go.sum; then \
	   diff -u $$tmp/go.mod go.mod; cp $$tmp/go.mod $$tmp/go.sum .; rm -rf $$tmp; \
	   echo "go mod tidy changes go.mod or go.sum: run it and commit the result"; exit 1; fi; rm -rf $$tmp

bench: setup build
	scripts/bench.sh

demo: setup
	$(GO) run ./scripts/demo

# The image, where a Docker engine runs (DOCKER=podman works too); the
# version is stamped into the binaries and the OCI label.
DOCKER ?= docker
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
image:
	$(DOCKER) build --build-arg VERSION=$(VERSION) -t iron-streaming-backup:$(VERSION) -t iron-streaming-backup .

# Builds the Dockerfile on this machine with podman and runs the image as
# IronIO, Kubernetes and a restore pipeline do (see scripts/image-test.sh).
image-test: setup
	scripts/image-test.sh

# The compatibility matrix: PostgreSQL 13, 15, 17 and 18 servers (Debian's
# packages, in podman containers made with debootstrap) with the host's
# clients, the image's and their own; the Versity gateway and MinIO. Prints
# the table and writes it to bin/matrix.md (see scripts/matrix-test.sh).
matrix-test: setup
	scripts/matrix-test.sh

clean:
	rm -rf $(BIN)
