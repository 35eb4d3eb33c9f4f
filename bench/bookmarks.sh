#!/usr/bin/env bash
# Issue 15 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs):
# POST /v1/scores/{id}/bookmarks/import of a 2 000-line CSV index (bench/bookmarks.mjs): time per
# request and D1 statements used. The statement count is the use case's own figure
# (`service::bookmarks::Imported::statements`: 1 read + ⌈lines / IMPORT_CHUNK⌉ inserts in one
# batch, asserted in tests/service_bookmarks.rs) plus the shell's session check. Then pages
# 120-129 of a 300-page, ~20 MB songbook extracted by the queue in workerd (time, memory) against
# `qpdf --empty --pages` on the same file (needs qpdf and poppler-utils).
#   bench/bookmarks.sh        env: PORT=8787 N=2000 RUNS=5 KEEP=0
set -euo pipefail
N=${N:-2000} RUNS=${RUNS:-5}
source "$(dirname "$0")/common.sh"
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
start_worker
echo "## bookmark index import (bench/bookmarks.mjs; Worker inspector off)"
node bench/bookmarks.mjs "$base" "$N" "$RUNS" "$(pgrep -g "$pg" -d, workerd)"
