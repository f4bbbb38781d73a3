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

check:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	@cp go.mod /tmp/isb-go.mod.bak && cp go.sum /tmp/isb-go.sum.bak && $(GO) mod tidy && \
	 if ! git diff --quiet -- go.mod go.sum; then git diff -- go.mod go.sum; cp /tmp/isb-go.mod.bak go.mod; cp /tmp/isb-go.sum.bak go.sum; echo "go mod tidy changes go.mod/go.sum"; exit 1; fi

bench: setup build
	scripts/bench.sh

demo: setup
	$(GO) run ./scripts/demo

image:
	docker build -t iron-streaming-backup .

clean:
	rm -rf $(BIN)
