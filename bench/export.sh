#!/usr/bin/env bash
# Issue 16 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs): a
# library of N PDFs of SIZE_MIB MiB each (default 100 × 10 MiB, 1 GiB) loaded through the real
# upload flow, then one export written by the queue in workerd: time from the request to done,
# workerd's memory (resident, sampled every 10 ms, and the wasm heap's high mark the consumer
# logs), parts and archive size — against `zip -0 -q` of the same files on disk in the same run.
# Needs zip, unzip and python3; about 4 × N × SIZE_MIB MiB of free disk (the PDFs, workerd's R2,
# the archive downloaded, zip's archive). N=20 runs in about a minute for a quick look.
#   bench/export.sh        env: PORT=8787 N=100 SIZE_MIB=10 KEEP=0
set -euo pipefail
source "$(dirname "$0")/common.sh"
N=${N:-100} SIZE_MIB=${SIZE_MIB:-10}
# The library must fit the user's quota (1 GiB by default) with room to spare.
export BENCH_QUOTA_BYTES=$(( (N * SIZE_MIB + 64) * 1024 * 1024 ))
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
start_worker
echo "## library export (bench/export.mjs; Worker inspector off)"
node bench/export.mjs "$base" "$N" "$SIZE_MIB" "$(pgrep -g "$pg" -d, workerd)" "$work/worker.log" "$work"
