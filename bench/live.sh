#!/usr/bin/env bash
# Issue 14 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs):
# fan-out of a live room — one leader and N followers (guests through a public link) on
# loopback; for each N the leader sends GOTOS `goto` frames one after another (the next when
# every follower has the previous), and the script reports p50/p99 from the leader's send to each
# follower's `state` frame and the frames per second the room delivered. Then the cost of the
# notice on a REST write: p50 of PATCH /v1/setlists/{id} with FOLLOWERS sockets in its room
# against the same PATCH on a setlist whose room was never opened, which sends no notice (same
# run). And an idle room of 200 sockets: workerd's resident memory before and after, and 1 000
# pings answered by the room's auto-response without running its handlers (the admin figures
# of GET /v1/admin/live/{id}; the benchmark user is made an admin for it).
#   bench/live.sh        env: PORT=8787 NS="10 50 200" GOTOS=50 KEEP=0
set -euo pipefail
PEERS=${PEERS:-/nonexistent} # big@example.test's library is enough
source "$(dirname "$0")/common.sh"
echo "update users set role = 'admin' where email = 'big@example.test';" >"$work/admin.sql"
load_data "$work/admin.sql"
start_worker
big=$(login big@example.test)
node bench/live-fanout.mjs "$base" "$big" "${NS:-10 50 200}" "${GOTOS:-50}" "$(pgrep -g "$pg" -d, workerd)"
