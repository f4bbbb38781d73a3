# Targets wrap go commands and scripts; see README.md.
GO ?= go
BIN := bin

.PHONY: all build setup test check bench demo image clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

# Installs the PostgreSQL server, openssl and the pinned S3 gateway when
# missing (Debian; see scripts/setup.sh).
setup:
	@scripts/setup.sh

test: setup
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./internal/iox/ ./internal/dumpstat/ ./internal/osslenc/

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

image:
	docker build -t iron-streaming-backup .

clean:
	rm -rf $(BIN)
