#!/usr/bin/env bash
# Issue 14 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs):
# fan-out of a live room — one leader and N followers (guests through a public link) on
# loopback; for each N the leader sends GOTOS `goto` frames one after another (the next when
# every follower has the previous), and the script reports p50/p99 from the leader's send to each
# follower's `state` frame and the frames per second the room delivered. Then the cost of the
# notice on a REST write: p50 of PATCH /v1/setlists/{id} with FOLLOWERS sockets in its room
# against the same PATCH on a setlist whose room nobody joined (same run).
#   bench/live.sh        env: PORT=8787 NS="10 50 200" GOTOS=50 KEEP=0
set -euo pipefail
PEERS=${PEERS:-/nonexistent} # big@example.test's library is enough
source "$(dirname "$0")/common.sh"
load_data
start_worker
big=$(login big@example.test)
node bench/live-fanout.mjs "$base" "$big" "${NS:-10 50 200}" "${GOTOS:-50}"
