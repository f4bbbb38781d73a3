#!/bin/sh
# /app/backup.sh in the image: the command of existing IronIO payloads
# ({"cmd": ["/app/backup.sh"]} or ["/app/backup.sh", "PREFIX"]). It runs the
# backup job with the payload's environment and passes its exit status on.
exec iron-streaming-backup "$@"
