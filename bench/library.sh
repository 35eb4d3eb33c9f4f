#!/usr/bin/env bash
# Issue 3 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs):
#  - GET /v1/scores?limit=20 for a user with 1 000 scores x 3 tags, against GET /health (wrk);
#  - D1 round trips per list request (counted from the code path: one batch);
#  - POST /v1/uploads and POST /v1/scores req/s (bench/drive.mjs, 10 concurrent clients).
# With PEERS=../shared/peers (default when present) it also loads the peers' data set, so that
# `$PEERS/run.sh --no-inspector --target scoremate=… --token-cmd 'cat $TOKEN_FILE'` can be run
# against this same Worker (KEEP=1 leaves it running for that).
#   bench/library.sh        env: PORT=8787 DURATION=5s N=300 KEEP=0
set -euo pipefail
N=${N:-300}
source "$(dirname "$0")/common.sh"
load_data
# The API script alone, through wrangler as the peers are (nothing here needs the consumer); the
# Miniflare-direct path shows p99 stalls (docs/benchmarks.md, "Growth").
BENCH_VIA=wrangler start_worker
big=$(login big@example.test)
TOKEN_FILE=${TOKEN_FILE:-$ROOT/.cache/bench-token}
mkdir -p "$(dirname "$TOKEN_FILE")"
[ -n "$SEED" ] && login user1@example.test >"$TOKEN_FILE"

echo "## list vs health (wrk -t2 -c10 -d$DURATION; Worker inspector off)"
count=$(curl -sf "$base/v1/scores?limit=20" -H "Authorization: Bearer $big" | node -pe 'JSON.parse(require("fs").readFileSync(0)).scores.length')
echo "first page holds $count scores; D1 round trips per list request: 1 (session check + page query in one batch)"
run health "$base/health"
run "scores?limit=20" "$base/v1/scores?limit=20" "$big"
run "scores?tag=gig&query" "$base/v1/scores?limit=20&tag=gig&query=etude" "$big"

echo "## writes (bench/drive.mjs, $N requests, 10 concurrent)"
curl -sf -XPOST "$base/v1/auth/register" -H 'content-type: application/json' -d "{\"email\":\"writer@example.test\",\"password\":\"$PASSWORD\",\"display_name\":\"W\"}" >/dev/null
node bench/drive.mjs "$base" writer@example.test "$PASSWORD" "$N" 10
if [ "$KEEP" = 1 ]; then
  echo "# Worker left running on $base (process group $pg); token for user1 in $TOKEN_FILE" >&2
fi
