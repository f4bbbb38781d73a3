# Build: static binaries, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/...

# Run: Debian's newest PostgreSQL client for the base (pg_dump must be at
# least the server's major version), our filters and the job, no secrets.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home backup
COPY --from=build /out/ /usr/local/bin/
COPY scripts/backup.sh /app/backup.sh
USER backup
ENTRYPOINT ["/app/backup.sh"]
