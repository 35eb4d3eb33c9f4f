#!/usr/bin/env bash
# Issue 17 goal 1: GET /v1/scores?limit=20 timed beside the peers (../shared/peers: hello,
# d1-floor, the Hono js-worker, DRF) in one run, on the peers' own data set (user1's 200 scores
# among 10 000). ScoreMate's API script is started exactly as the peers are (wrangler's
# unstable_startWorker, inspector off: bench/start-worker.cjs with BENCH_VIA=wrangler), on a
# release build. Prints the peers' table; compare ratios within the run only.
#   bench/peers.sh       env: ROUNDS=2 PORT=8787 (needs ../shared/peers and wrk)
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ -x "$PEERS/run.sh" ] || { echo "bench/peers.sh: needs the peers in $PEERS" >&2; exit 2; }
load_data
BENCH_VIA=wrangler start_worker
TOKEN_FILE=$work/token
login user1@example.test >"$TOKEN_FILE"
bytes=$(curl -sf "$base/v1/scores?limit=20" -H "Authorization: Bearer $(cat "$TOKEN_FILE")" | wc -c)
echo "# scoremate: GET /v1/scores?limit=20 answers $bytes bytes"
"$PEERS/run.sh" --no-inspector --rounds "${ROUNDS:-2}" \
  --target "scoremate=$base/v1/scores?limit=20" --token-cmd "cat $TOKEN_FILE"
