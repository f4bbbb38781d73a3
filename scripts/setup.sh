#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
#   - PostgreSQL server and client programs (Debian's postgresql package),
#     openssl, gzip, zstd and age: the reference tools the tests compare
#     against;
#   - the Prometheus Pushgateway (Debian's prometheus-pushgateway), which
#     the monitoring tests push to and scrape;
#   - the Versity S3 gateway at a pinned version, built with 'go install'
#     into .tools/bin (git-ignored);
#   - the upstream age and age-keygen of the version in go.mod, into
#     .tools/age-<version>: Debian's age predates post-quantum keys.
# Idempotent: does nothing when everything is there. As root it installs
# missing Debian packages itself; otherwise it prints the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSITYGW_VERSION=v1.8.0 # keep in step with testenv.VersityVersion

pkgs=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || pkgs+=(postgresql)
command -v psql >/dev/null || pkgs+=(postgresql-client)
command -v openssl >/dev/null || pkgs+=(openssl)
command -v gzip >/dev/null || pkgs+=(gzip)
command -v zstd >/dev/null || pkgs+=(zstd)
[ -x /usr/bin/prometheus-pushgateway ] || command -v pushgateway >/dev/null || pkgs+=(prometheus-pushgateway)
command -v age >/dev/null || pkgs+=(age)
if ((${#pkgs[@]})); then
	if [ "$(id -u)" = 0 ]; then
		echo "setup: installing ${pkgs[*]}" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	else
		echo "setup: error: missing Debian packages: ${pkgs[*]}" >&2
		echo "setup: hint: run: sudo apt-get install -y ${pkgs[*]}" >&2
		exit 1
	fi
fi

bin=$PWD/.tools/bin
stamp=$PWD/.tools/versitygw.version
if [ ! -x "$bin/versitygw" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$VERSITYGW_VERSION" ]; then
	echo "setup: building the Versity S3 gateway $VERSITYGW_VERSION into .tools/bin (about two minutes, once)" >&2
	mkdir -p "$bin"
	GOBIN=$bin CGO_ENABLED=0 go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
	echo "$VERSITYGW_VERSION" >"$stamp"
fi

# The age CLI of the library the job links, for the post-quantum keys
# Debian's older age cannot make or read.
AGE_VERSION=$(go list -m -f '{{.Version}}' filippo.io/age)
agebin=$PWD/.tools/age-$AGE_VERSION
if [ ! -x "$agebin/age" ] || [ ! -x "$agebin/age-keygen" ]; then
	echo "setup: building age $AGE_VERSION into .tools/age-$AGE_VERSION" >&2
	GOBIN=$agebin CGO_ENABLED=0 go install "filippo.io/age/cmd/age@$AGE_VERSION" "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
fi
