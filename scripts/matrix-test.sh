#!/usr/bin/env bash
# make matrix-test: the compatibility matrix (scripts/matrix says what each
# cell checks). Every PostgreSQL server runs in a podman container made
# here from Debian's own packages of the suite that carries it:
#   13  bullseye      15  bookworm      17  trixie      18  forky
# debootstrap --variant=minbase --include=postgresql-<major> <suite>, once,
# imported as localhost/isb-matrix-postgres:<major> (podman's image store
# keeps them; the tarballs are cached in .tools/matrix; remove both, e.g.
# podman rmi localhost/isb-matrix-postgres:13, to take a suite's newer
# point release). DEBIAN_MIRROR replaces deb.debian.org (a suite that has
# moved to archive.debian.org, as bullseye will). The job runs with
# the host's clients, in the image 'make image-test' builds (built here if
# missing), and inside each server's container with that suite's clients.
# The stores are the Versity S3 gateway (scripts/setup.sh) and MinIO, built
# with 'go install' at a pinned version into .tools/bin.
#
# Writes bin/matrix.md and prints it. As root it installs podman, runc
# and debootstrap when missing (scripts/podman.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# A MinIO release has no semantic version tag the Go module proxy serves,
# so it is pinned by its commit's pseudo-version (2026-02-12).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

cache=$PWD/.tools/matrix
mkdir -p "$cache"
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0))s"; }
say() { echo "matrix-test: $*" >&2; }

. scripts/podman.sh

# The server images: one debootstrap each (about three minutes, once; they
# run at the same time, as they mostly wait for the mirror).
declare -A suites=([13]=bullseye [15]=bookworm [17]=trixie [18]=forky)
majors=(13 15 17 18)
tarball() { echo "$cache/postgresql-$1-${suites[$1]}.tar"; }
make_tarball() {
	local major=$1 suite=${suites[$1]} root=$cache/rootfs-$1 out
	out=$(tarball "$major")
	rm -rf "$root"
	# A debootstrap older than the suite has no script of its name; the
	# unstable one serves every suite after bookworm.
	local script=/usr/share/debootstrap/scripts/$suite
	[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
	debootstrap --variant=minbase --include="postgresql-$major" "$suite" "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" "$script" \
		>"$cache/debootstrap-$major.log" 2>&1 || return 1
	# The package's own cluster is not used; apt's lists are not needed.
	rm -rf "$root/var/lib/postgresql/$major/main" "$root/etc/postgresql/$major/main" \
		"$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
	tar --numeric-owner -C "$root" -cf "$out.tmp" . && mv "$out.tmp" "$out" && rm -rf "$root"
}
declare -A making=()
for major in "${majors[@]}"; do
	"${podman[@]}" image exists "localhost/isb-matrix-postgres:$major" && continue
	[ -s "$(tarball "$major")" ] && continue
	say "making localhost/isb-matrix-postgres:$major: debootstrap --variant=minbase --include=postgresql-$major ${suites[$major]}"
	make_tarball "$major" &
	making[$major]=$!
done
for major in "${!making[@]}"; do
	wait "${making[$major]}" || { for p in "${making[@]}"; do pkill -P "$p"; kill "$p"; done 2>/dev/null; tail -20 "$cache/debootstrap-$major.log" >&2; say "error: debootstrap for PostgreSQL $major failed; its log is $cache/debootstrap-$major.log"; exit 1; }
done
for major in "${majors[@]}"; do
	name=localhost/isb-matrix-postgres:$major
	"${podman[@]}" image exists "$name" && continue
	"${podman[@]}" import -q --change "ENV PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"$(tarball "$major")" "$name" >/dev/null
	say "imported $name ($(elapsed))"
done

bin=$PWD/.tools/bin
stamp=$PWD/.tools/minio.version
if [ ! -x "$bin/minio" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$MINIO_VERSION" ]; then
	say "building MinIO $MINIO_VERSION into .tools/bin (several minutes, once)"
	mkdir -p "$bin"
	GOBIN=$bin CGO_ENABLED=0 go install "github.com/minio/minio@$MINIO_VERSION"
	echo "$MINIO_VERSION" >"$stamp"
fi

image=${IMAGE:-iron-streaming-backup:image-test}
IMAGE=$image IMAGE_TEST_BUILD_ONLY=1 scripts/image-test.sh

CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/...
status=0
servers=
for major in "${majors[@]}"; do servers+=${servers:+,}$major:${suites[$major]}; done
go run ./scripts/matrix -image "$image" -engine "${podman[*]}" -bin "$PWD/bin" -servers "$servers" \
	-minio "$bin/minio" -minio-version "$MINIO_VERSION" -out bin/matrix.md || status=$?
say "done in $(elapsed)"
exit "$status"
