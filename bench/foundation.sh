#!/usr/bin/env bash
# Issue 2 benchmark: bundle size (raw, gzip), cost of one login (Argon2id verification) in
# workerd, and GET /v1/me throughput relative to GET /health in the same run.
#   bench/foundation.sh            (env: DURATION=5s PORT=8797 LOGINS=20)
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
DURATION=${DURATION:-5s} PORT=${PORT:-8797} LOGINS=${LOGINS:-20}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
export SCOREMATE_BUILD=release # benchmarks measure what is deployed
bash scripts/build.sh
state=$(mktemp -d)
trap 'kill -TERM -- -$pg 2>/dev/null || true; rm -rf "$state"' EXIT

echo "## bundles (the two Worker scripts)"
for script in api consumer; do
  raw=$(stat -c %s build/$script/index_bg.wasm); gz=$(gzip -9 -c build/$script/index_bg.wasm | wc -c)
  js=$(stat -c %s build/$script/index.js); jsgz=$(gzip -9 -c build/$script/index.js | wc -c)
  printf '%s: wasm raw %d B (%.0f KiB), gzip %d B (%.0f KiB); shim js %d B, gzip %d B\n' "$script" "$raw" "$((raw/1024))" "$gz" "$((gz/1024))" "$js" "$jsgz"
done

wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
setsid node bench/start-worker.cjs "$PORT" "$state" >"$state/worker.log" 2>&1 &
pg=$!
base=http://127.0.0.1:$PORT
for _ in $(seq 120); do curl -sf -o /dev/null "$base/health" && break; sleep 0.25; done
post() { curl -s -XPOST "$base$1" -H 'content-type: application/json' -d "$2"; }
post /v1/auth/register '{"email":"bench@example.com","password":"Bench-pass-word-1","display_name":"Bench"}' >/dev/null
token=$(post /v1/auth/login '{"email":"bench@example.com","password":"Bench-pass-word-1"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access')

echo "## login (sequential, $LOGINS each; Argon2id m=19MiB t=2 p=1 dominates)"
time_logins() {  # time_logins EMAIL -> mean ms per login
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$LOGINS"); do post /v1/auth/login "{\"email\":\"$1\",\"password\":\"Bench-pass-word-1\"}" >/dev/null; done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / LOGINS / 1000000 ))
}
ok=$(time_logins bench@example.com); unknown=$(time_logins ghost@example.com)
health_ms=$( { t0=$(date +%s%N); for _ in $(seq "$LOGINS"); do curl -s -o /dev/null "$base/health"; done; t1=$(date +%s%N); echo $(( (t1 - t0) / LOGINS / 1000000 )); } )
echo "login (known email) ${ok} ms/request; login (unknown email) ${unknown} ms/request; GET /health ${health_ms} ms/request (curl overhead)"

echo "## throughput (wrk -t2 -c10 -d$DURATION, inspector off)"
run() {  # run NAME URL [TOKEN]
  local auth=(); [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  wrk -t2 -c10 -d2s "${auth[@]}" "$2" >/dev/null
  wrk -t2 -c10 -d"$DURATION" --latency "${auth[@]}" "$2" | awk -v n="$1" '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%-10s %10s req/s  p99 %s  non-2xx %s\n", n, rps, p99, bad+0}'
}
run health "$base/health"
run me "$base/v1/me" "$token"
