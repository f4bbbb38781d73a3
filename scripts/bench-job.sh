#!/usr/bin/env bash
# Times the backup job against the original image's pipeline
# (pg_dump | gzip | openssl enc | aws s3 cp) and against pg_dump > /dev/null
# on the same generated database (~1.5 GB plain dump) and the same local S3
# gateway, in one run; see scripts/jobbench. Extra arguments go to
# jobbench: -scale N, -text-mb N, -runs N, -levels.
#
# Needs the AWS CLI (one that honours AWS_ENDPOINT_URL: 1.29+ or 2.13+).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! aws --version >/dev/null 2>&1; then
	echo "bench-job: error: the AWS CLI (aws) is needed to time the original pipeline" >&2
	echo "bench-job: hint: install aws-cli 1.29+ or 2.13+, which honour AWS_ENDPOINT_URL" >&2
	exit 1
fi
scripts/setup.sh
exec go run ./scripts/jobbench "$@"
