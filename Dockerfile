# The image of iron-streaming-backup: the job, the filters and a pg_dump for
# every supported PostgreSQL server. Build it with 'docker build .'; see
# docs/scheduling.md ("The image") for the build arguments and what 'make image-test'
# checks.

# Build: static binaries, no cgo, the version stamped into them.
FROM golang:1.26-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/philips-labs/iron-streaming-backup/internal/cli.stamp=${VERSION}" \
      -o /out/ ./cmd/...

# Run: Debian 13 with the PostgreSQL clients, the job and the filters. No
# secret is in any layer: everything secret comes from the payload or the
# environment at run time.
FROM debian:trixie-slim
# Where the PostgreSQL clients come from:
#   pgdg    the PostgreSQL project's apt repository (the default): one client
#           for every major in PG_MAJORS, so that each server gets a pg_dump
#           of its own major (a newer pg_dump writes SQL an older server
#           rejects; an older one refuses a newer server). The repository is
#           added with the script and signing key that Debian's own
#           postgresql-common package ships, and apt checks every index
#           against that key; no key is fetched from anywhere else.
#   debian  Debian's own postgresql-client (17 only), for builders that
#           cannot reach the PostgreSQL repository.
ARG PG_CLIENT_SOURCE=pgdg
ARG PG_MAJORS="14 15 16 17 18"
RUN set -eu; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    case "$PG_CLIENT_SOURCE" in \
    pgdg) \
      apt-get install -y --no-install-recommends ca-certificates postgresql-common; \
      /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
      grep -q '^Signed-By: /usr/share/postgresql-common/pgdg/' /etc/apt/sources.list.d/pgdg.sources; \
      apt-cache policy | grep -q 'apt\.postgresql\.org/pub/repos/apt ' || { \
        echo "the PostgreSQL apt repository was not reached: build with --build-arg PG_CLIENT_SOURCE=debian where it cannot be" >&2; \
        exit 1; }; \
      pkgs=; for m in $PG_MAJORS; do pkgs="$pkgs postgresql-client-$m"; done; \
      apt-get install -y --no-install-recommends $pkgs; \
      for m in $PG_MAJORS; do test -x "/usr/lib/postgresql/$m/bin/pg_dump"; test -x "/usr/lib/postgresql/$m/bin/pg_dumpall"; done; \
      rm /etc/apt/sources.list.d/pgdg.sources; \
      apt-get purge -y --auto-remove postgresql-common ;; \
    debian) \
      apt-get install -y --no-install-recommends ca-certificates postgresql-client ;; \
    *) \
      echo "PG_CLIENT_SOURCE=$PG_CLIENT_SOURCE: use pgdg (the default) or debian" >&2; exit 1 ;; \
    esac; \
    for p in /usr/lib/postgresql/*/bin/pg_dump; do "$p" --version; "${p%/pg_dump}/pg_dumpall" --version; done; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log; \
    useradd --uid 10001 --user-group --no-log-init --create-home --home-dir /home/isbackup \
      --shell /usr/sbin/nologin --comment "iron-streaming-backup" isbackup

COPY --from=build /out/ /usr/local/bin/
COPY scripts/backup.sh /app/backup.sh

ARG VERSION=dev
LABEL org.opencontainers.image.title="iron-streaming-backup" \
      org.opencontainers.image.description="Streaming, compressed, encrypted PostgreSQL backups to S3" \
      org.opencontainers.image.source="https://github.com/philips-labs/iron-streaming-backup" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# A fixed uid (Kubernetes' runAsNonRoot needs a number); its HOME is
# /home/isbackup, the job's temporary files go to /tmp.
USER 10001:10001
# IronIO starts the image with PAYLOAD_FILE set; runner mode runs the
# payload's cmd (/app/backup.sh) with its env. Elsewhere (a Kubernetes
# CronJob, cron) run /app/backup.sh with the environment set directly.
ENTRYPOINT ["iron-streaming-backup", "runner"]
