#!/usr/bin/env bash
# Times s3put and s3get against the AWS CLI on the same local Versity S3
# gateway and the same generated stream (2 GiB by default):
#   s3put  vs  aws s3 cp - s3://BUCKET/KEY
#   s3get  vs  aws s3 cp s3://BUCKET/KEY -      (both to /dev/null)
# Each pair runs BENCH_RUNS times, alternating; the median wall time gives
# the throughput. Peak RSS comes from /usr/bin/time -v, and the gateway's
# CPU seconds are shown because on a small machine it is the bottleneck.
#
# Settings (environment): BENCH_SIZE (bytes, default 2147483648),
# BENCH_RUNS (default 3), S3PUT_FLAGS, S3GET_FLAGS (extra flags, default
# none: the default settings are what is measured).
#
# Needs the AWS CLI and GNU time. As root it installs Debian's awscli and
# time packages when missing; otherwise it prints the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

size=${BENCH_SIZE:-2147483648}
runs=${BENCH_RUNS:-3}

# An aws on PATH may be a shim (pyenv) that does not run; prefer Debian's.
aws_cmd=""
for a in /usr/bin/aws "$(command -v aws || true)"; do
	if [ -n "$a" ] && [ -x "$a" ] && "$a" --version >/dev/null 2>&1; then
		aws_cmd=$a
		break
	fi
done
pkgs=()
[ -n "$aws_cmd" ] || pkgs+=(awscli)
/usr/bin/time -v true >/dev/null 2>&1 || pkgs+=(time)
if ((${#pkgs[@]})); then
	if [ "$(id -u)" = 0 ]; then
		echo "bench-s3: installing ${pkgs[*]}" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
		[ -n "$aws_cmd" ] || aws_cmd=/usr/bin/aws
	else
		echo "bench-s3: error: missing Debian packages: ${pkgs[*]}" >&2
		echo "bench-s3: hint: run: sudo apt-get install -y ${pkgs[*]}" >&2
		exit 1
	fi
fi
scripts/setup.sh

work=$(mktemp -d)
server_pid=""
cleanup() {
	exec 3>&- 2>/dev/null || true # closing the pipe stops the gateway
	[ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "bench-s3: building" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/bin/" ./cmd/s3put ./cmd/s3get ./scripts/s3bench
bin=$work/bin

mkfifo "$work/stop"
"$bin/s3bench" serve bench <"$work/stop" >"$work/env" &
server_pid=$!
exec 3>"$work/stop"
for _ in $(seq 100); do
	grep -q S3_SERVER_PID "$work/env" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || { echo "bench-s3: error: the gateway did not start" >&2; exit 1; }
	sleep 0.2
done
# shellcheck disable=SC1091
source "$work/env"
export S3_PATH_STYLE=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""

# measure NAME CMD...: runs CMD with the generated stream on stdin (for
# uploads) or stdout to /dev/null (downloads) under GNU time; appends
# "wall rss server-cpu" to $work/NAME.
measure() {
	local name=$1 dir=$2
	shift 2
	local c0 c1
	c0=$("$bin/s3bench" cpu "$S3_SERVER_PID")
	if [ "$dir" = up ]; then
		"$bin/s3bench" gen "$size" | /usr/bin/time -v -o "$work/time" "$@" >/dev/null
	else
		/usr/bin/time -v -o "$work/time" "$@" >/dev/null </dev/null
	fi
	c1=$("$bin/s3bench" cpu "$S3_SERVER_PID")
	awk -v c0="$c0" -v c1="$c1" '
		/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + t[i] }
		/Maximum resident set size/ { rss = $NF }
		END { printf "%.2f %d %.2f\n", w, rss, c1 - c0 }' "$work/time" >>"$work/$name"
}

echo "bench-s3: $runs runs of $size bytes; aws is $aws_cmd ($("$aws_cmd" --version 2>&1 | cut -d' ' -f1))" >&2
for i in $(seq "$runs"); do
	echo "bench-s3: run $i" >&2
	# shellcheck disable=SC2086
	measure s3put up "$bin/s3put" -q ${S3PUT_FLAGS:-} "s3://bench/s3put-$i"
	measure aws-put up "$aws_cmd" s3 cp --only-show-errors - "s3://bench/aws-$i"
	# shellcheck disable=SC2086
	measure s3get down "$bin/s3get" -q ${S3GET_FLAGS:-} "s3://bench/s3put-$i"
	measure aws-get down "$aws_cmd" s3 cp --only-show-errors "s3://bench/aws-$i" -
	"$aws_cmd" s3 rm --only-show-errors --recursive s3://bench/ >/dev/null
done

# median NAME COLUMN
median() { sort -n -k"$2" "$work/$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
max() { sort -n -k"$2" "$work/$1" | tail -1 | awk -v k="$2" '{ print $k }'; }
row() {
	local w rss cpu
	w=$(median "$1" 1)
	rss=$(max "$1" 2)
	cpu=$(median "$1" 3)
	awk -v n="$1" -v w="$w" -v rss="$rss" -v cpu="$cpu" -v s="$size" \
		'BEGIN { printf "%-8s %8.2f s %9.1f MiB/s %9.1f MiB %10.1f s\n", n, w, s / w / 1048576, rss / 1024, cpu }'
}
ratio() {
	awk -v a="$(median "$2" 1)" -v b="$(median "$1" 1)" -v n="$3" 'BEGIN { printf "%s: %.2fx the AWS CLI'"'"'s throughput\n", n, a / b }'
}
echo
printf "%-8s %10s %15s %13s %12s\n" tool "median" throughput "peak RSS" "server CPU"
row s3put
row aws-put
row s3get
row aws-get
echo
ratio s3put aws-put "s3put"
ratio s3get aws-get "s3get"
