#!/usr/bin/env bash
# make image-test: builds the real Dockerfile on this machine and runs the
# image the ways users do (scripts/imagetest says what it checks).
#
# The build machine has no Docker engine and reaches no container registry,
# only Debian's package mirror and the Go module proxy. So the image is
# built with podman (runtime runc, cgroupfs), from base images made here and
# given the names the Dockerfile's FROM lines use:
#   debian:trixie-slim   debootstrap --variant=minbase trixie, trimmed as the
#                        slim image is (no documentation, man pages, locales)
#   golang:1.26-trixie   that base with this machine's Go toolchain
#                        (/usr/local/go) and CA bundle
# and with PG_CLIENT_SOURCE=debian, as the PostgreSQL project's repository
# is out of reach. The Dockerfile itself is used unchanged. The bases are
# cached in .tools/image (git-ignored) and in podman's image store; remove
# both (podman rmi debian:trixie-slim golang:1.26-trixie) to make them anew.
#
# IMAGE_TEST_BUILD_ONLY=1 builds the image and stops there (make
# matrix-test runs the image so).
#
# As root it installs podman, runc and debootstrap when missing
# (scripts/podman.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-iron-streaming-backup:image-test}
cache=$PWD/.tools/image
mkdir -p "$cache"
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0))s"; }
say() { echo "image-test: $*" >&2; }

. scripts/podman.sh

# The Debian base: debootstrap once into the cache, then import.
if ! "${podman[@]}" image exists docker.io/library/debian:trixie-slim; then
	tarball=$cache/trixie-minbase.tar
	if [ ! -s "$tarball" ]; then
		say "making debian:trixie-slim: debootstrap --variant=minbase trixie (about a minute, once)"
		rm -rf "$cache/rootfs"
		debootstrap --variant=minbase trixie "$cache/rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
			{ tail -20 "$cache/debootstrap.log" >&2; exit 1; }
		# As the slim image: dpkg keeps no documentation, man pages or
		# locales, and no apt lists are left.
		cat >"$cache/rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/groff/*
EOF
		(cd "$cache/rootfs" && find usr/share/doc -type f ! -name copyright -delete &&
			rm -rf usr/share/man/* usr/share/info/* usr/share/lintian/* usr/share/groff/* \
				var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/log/*.log &&
			find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +)
		tar --numeric-owner -C "$cache/rootfs" -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$cache/rootfs"
	fi
	"${podman[@]}" import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$tarball" docker.io/library/debian:trixie-slim >/dev/null
	say "imported debian:trixie-slim ($(elapsed))"
fi

# The Go base: the Debian base, this machine's Go and its CA bundle (the
# Go module proxy may be reached through a proxy that this machine trusts).
if ! "${podman[@]}" image exists docker.io/library/golang:1.26-trixie; then
	goroot=$(go env GOROOT)
	say "making golang:1.26-trixie from $goroot ($(go env GOVERSION))"
	ctx=$cache/golang-context
	rm -rf "$ctx" && mkdir -p "$ctx"
	cp -al "$goroot" "$ctx/go" 2>/dev/null || cp -a "$goroot" "$ctx/go"
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
	cat >"$ctx/Containerfile" <<'EOF'
FROM debian:trixie-slim
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY go /usr/local/go
ENV GOPATH=/go GOTOOLCHAIN=local PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
	"${podman[@]}" build --pull=never -t docker.io/library/golang:1.26-trixie "$ctx" >"$cache/golang.log" 2>&1 ||
		{ tail -20 "$cache/golang.log" >&2; exit 1; }
	rm -rf "$ctx"
	say "made golang:1.26-trixie ($(elapsed))"
fi

# A canary in the build context, outside what the image needs: the test
# fails if its text reaches any layer.
canary=$cache/context-canary.key
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/canary-/' >"$canary"

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
old=$("${podman[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
say "building $image from the Dockerfile (PG_CLIENT_SOURCE=debian, VERSION=$version)"
b0=$(date +%s)
# No build-time volumes (podman build -v): podman adds their mount points
# to every stage, the final one included, which the layer check rejects.
if ! "${podman[@]}" build --pull=never --network host \
	--build-arg PG_CLIENT_SOURCE=debian --build-arg VERSION="$version" \
	-t "$image" . >"$cache/build.log" 2>&1; then
	tail -30 "$cache/build.log" >&2
	say "error: the build failed; the whole log is in $cache/build.log"
	exit 1
fi
say "built $image in $(($(date +%s) - b0))s"
new=$("${podman[@]}" image inspect --format '{{.Id}}' "$image")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	"${podman[@]}" rmi "$old" >/dev/null 2>&1 || true
fi

if [ "${IMAGE_TEST_BUILD_ONLY:-}" = 1 ]; then
	rm -f "$canary"
	exit 0
fi

status=0
go run ./scripts/imagetest -image "$image" -engine "${podman[*]}" -canary-file "$canary" || status=$?
rm -f "$canary"
say "done in $(elapsed)"
exit "$status"
