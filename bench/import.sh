#!/usr/bin/env bash
# Issue 16 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs): a
# library import of N × MIB MiB PDFs (default 100 × 10 MiB = 1 GiB) — the archive made by
# Python's zipfile, uploaded through the upload flow, imported by the queue: wall time from the
# POST to done, workerd's memory, and the D1 statements the import ran. Needs python3 and about
# 3 × N × MIB MiB of free disk (the archive on disk, in local R2, and the copied files); the
# local state is removed at the end.
#   bench/import.sh        env: PORT=8787 N=100 MIB=10 KEEP=0
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ -n "${STATE:-}" ] || trap 'cleanup; [ "$KEEP" = 1 ] || rm -rf "$state"' EXIT
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
start_worker
echo "## import (bench/import.mjs; Worker inspector off)"
node bench/import.mjs "$base" "${N:-100}" "${MIB:-10}" "$work" "$state" "$(pgrep -g "$pg" -d, workerd)"
