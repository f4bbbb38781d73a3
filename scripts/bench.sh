#!/usr/bin/env bash
# Runs every benchmark script (scripts/bench-*.sh) in turn. Each one times
# our tool against the reference tool on the same data in the same run and
# prints throughput, ratio and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
found=0
for b in scripts/bench-*.sh; do
	[ -e "$b" ] || continue
	found=1
	echo "== $b"
	bash "$b"
done
if [ "$found" = 0 ]; then
	echo "bench: error: no benchmark scripts yet" >&2
	exit 1
fi
