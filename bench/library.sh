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
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
PORT=${PORT:-8787} DURATION=${DURATION:-5s} N=${N:-300} KEEP=${KEEP:-0}
PEERS=${PEERS:-$ROOT/../shared/peers}
PASSWORD=Bench-pass-word-1
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
bash scripts/setup.sh
[ -f build/index_bg.wasm ] || bash scripts/build.sh
state=${STATE:-$(mktemp -d)}
work=$(mktemp -d)
cleanup() { [ "$KEEP" = 1 ] || kill -TERM -- -"$pg" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "# loading data" >&2
phc=$(cargo run --quiet --release --example hash_password -- "$PASSWORD")
seed=""
if [ -f "$PEERS/common/gen-data.mjs" ]; then
  node "$PEERS/common/gen-data.mjs" "$work/peers" >&2
  seed="$work/peers/seed.json"
fi
node bench/load-data.mjs "$work/load.sql" "$phc" $seed
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
wrangler d1 execute DB --local --persist-to "$state" --file "$work/load.sql" --yes >/dev/null

setsid node bench/start-worker.cjs "$PORT" "$state" >"$work/worker.log" 2>&1 &
pg=$!
base=http://127.0.0.1:$PORT
for _ in $(seq 120); do curl -sf -o /dev/null "$base/health" && break; sleep 0.25; done
login() { curl -sf -XPOST "$base/v1/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).access'; }
big=$(login big@example.test)
TOKEN_FILE=${TOKEN_FILE:-$ROOT/.cache/bench-token}
mkdir -p "$(dirname "$TOKEN_FILE")"
[ -n "$seed" ] && login user1@example.test >"$TOKEN_FILE"

echo "## list vs health (wrk -t2 -c10 -d$DURATION; Worker inspector off)"
run() {  # run NAME URL [TOKEN]
  local auth=(); [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  wrk -t2 -c10 -d2s "${auth[@]}" "$2" >/dev/null
  wrk -t2 -c10 -d"$DURATION" --latency "${auth[@]}" "$2" | awk -v n="$1" '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%-22s %10s req/s  p99 %-9s non-2xx %s\n", n, rps, p99, bad+0}'
}
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
