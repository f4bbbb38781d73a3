# Build: static binaries, no cgo.
FROM golang:1.26-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/...

# Run: the newest PostgreSQL client Debian 13 offers (pg_dump must be at
# least the server's major version), the filters and the job. No secret is
# in any layer: everything secret comes from the payload at run time.
FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home backup
COPY --from=build /out/ /usr/local/bin/
COPY scripts/backup.sh /app/backup.sh
USER 10001
# IronIO starts the image with PAYLOAD_FILE set; runner mode runs the
# payload's cmd (/app/backup.sh) with its env. Elsewhere (a Kubernetes
# CronJob, cron) run /app/backup.sh with the environment set directly.
ENTRYPOINT ["iron-streaming-backup", "runner"]
