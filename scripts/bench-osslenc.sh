#!/usr/bin/env bash
# bench-osslenc.sh compares osslenc with "openssl enc -aes-256-cbc" on the
# same pseudo-random input: encryption and decryption throughput (best of
# RUNS runs, output to /dev/null) and the peak RSS of osslenc.
#
#	scripts/bench-osslenc.sh            # 512 MiB, 3 runs
#	SIZE_MIB=64 RUNS=5 scripts/bench-osslenc.sh
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-512}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."

command -v openssl >/dev/null || { echo "bench-osslenc: openssl not found" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 700 "$tmp"
trap 'rm -rf "$tmp"' EXIT

CGO_ENABLED=0 go build -trimpath -o "$tmp/osslenc" ./cmd/osslenc
openssl rand -hex 32 > "$tmp/key"
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$tmp/in"
"$tmp/osslenc" -e -pass "file:$tmp/key" -in "$tmp/in" -out "$tmp/in.enc"
export OPENSSL_CONF=/dev/null

enc_ossl=("$tmp/osslenc" -e -pass "file:$tmp/key" -in "$tmp/in" -out /dev/null)
enc_ssl=(openssl enc -e -aes-256-cbc -pass "file:$tmp/key" -in "$tmp/in" -out /dev/null)
dec_ossl=("$tmp/osslenc" -d -pass "file:$tmp/key" -in "$tmp/in.enc" -out /dev/null)
dec_ssl=(openssl enc -d -aes-256-cbc -pass "file:$tmp/key" -in "$tmp/in.enc" -out /dev/null)

# elapsed CMD...: the wall time of one run, in nanoseconds.
elapsed() {
	local s e
	s=$(date +%s%N)
	"$@" 2>/dev/null
	e=$(date +%s%N)
	echo $((e - s))
}

run() {
	case $1 in
	enc_ossl) "${enc_ossl[@]}" ;;
	enc_ssl) "${enc_ssl[@]}" ;;
	dec_ossl) "${dec_ossl[@]}" ;;
	dec_ssl) "${dec_ssl[@]}" ;;
	esac
}

# One untimed round to settle the page cache, then RUNS rounds that take
# turns, so that other load on the machine hits both tools alike.
cases=(enc_ossl enc_ssl dec_ossl dec_ssl)
declare -A best
for c in "${cases[@]}"; do run "$c" 2>/dev/null; done
for ((i = 0; i < RUNS; i++)); do
	for c in "${cases[@]}"; do
		t=$(elapsed run "$c")
		if [[ -z ${best[$c]:-} || $t -lt ${best[$c]} ]]; then best[$c]=$t; fi
	done
done

bytes=$(stat -c %s "$tmp/in")
mbps() { awk -v b="$bytes" -v ns="$1" 'BEGIN { printf "%.0f", b / ns * 1e3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

# Peak RSS of osslenc, from /usr/bin/time -v or else from Go's rusage.
rss() {
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }'
	else
		cat > "$tmp/rss.go" <<'GO'
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
}
GO
		go run "$tmp/rss.go" "$@"
	fi
}
rss_e=$(rss "${enc_ossl[@]}")
rss_d=$(rss "${dec_ossl[@]}")

printf 'input: %d MiB of pseudo-random data, best of %d runs, %s\n' "$SIZE_MIB" "$RUNS" "$(openssl version)"
printf '%-8s %12s %12s %18s\n' "" "osslenc" "openssl" "osslenc/openssl"
printf '%-8s %7s MB/s %7s MB/s %18s\n' encrypt "$(mbps "${best[enc_ossl]}")" "$(mbps "${best[enc_ssl]}")" "$(ratio "${best[enc_ossl]}" "${best[enc_ssl]}")"
printf '%-8s %7s MB/s %7s MB/s %18s\n' decrypt "$(mbps "${best[dec_ossl]}")" "$(mbps "${best[dec_ssl]}")" "$(ratio "${best[dec_ossl]}" "${best[dec_ssl]}")"
printf 'osslenc peak RSS: encrypt %s KiB, decrypt %s KiB\n' "$rss_e" "$rss_d"
