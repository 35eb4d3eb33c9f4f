# Shared by the HTTP benchmarks (sourced): loads the benchmark data set into a fresh local D1,
# starts the built Worker with the inspector off, and times URLs with wrk.
#   env: PORT=8787 DURATION=5s KEEP=0 (KEEP=1 leaves the Worker running and its state) STATE=dir
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$ROOT"
PORT=${PORT:-8787} DURATION=${DURATION:-5s} KEEP=${KEEP:-0}
PEERS=${PEERS:-$ROOT/../shared/peers}
PASSWORD=Bench-pass-word-1
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
bash scripts/setup.sh
export SCOREMATE_BUILD=release # benchmarks measure what is deployed
bash scripts/build.sh # returns at once when build/ is up to date
state=${STATE:-$(mktemp -d)}
work=$(mktemp -d)
pg=""
# The local state goes too unless it was given (STATE) or the Worker stays up (KEEP=1): the data
# set is hundreds of MB, and a disk filled by earlier runs fails the next one.
cleanup() {
  [ "$KEEP" = 1 ] || { [ -n "$pg" ] && kill -TERM -- -"$pg" 2>/dev/null; } || true
  rm -rf "$work"
  if [ -z "${STATE:-}" ] && [ "$KEEP" != 1 ]; then
    for _ in $(seq 40); do kill -0 -- -"${pg:-0}" 2>/dev/null || break; sleep 0.25; done # workerd lets go
    rm -rf "$state"
  fi
}
trap cleanup EXIT
base=http://127.0.0.1:$PORT

# load_data [EXTRA_SQL_FILE]: the peers' data set when present, plus big@example.test's 1 000 scores.
load_data() {
  echo "# loading data" >&2
  local phc seed=""
  phc=$(cargo run --quiet --release --example hash_password -- "$PASSWORD")
  if [ -f "$PEERS/common/gen-data.mjs" ]; then
    node "$PEERS/common/gen-data.mjs" "$work/peers" >&2
    seed="$work/peers/seed.json"
  fi
  node bench/load-data.mjs "$work/load.sql" "$phc" $seed
  wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
  wrangler d1 execute DB --local --persist-to "$state" --file "$work/load.sql" --yes >/dev/null
  if [ -n "${1:-}" ]; then wrangler d1 execute DB --local --persist-to "$state" --file "$1" --yes >/dev/null; fi
  SEED=$seed
}

start_worker() {
  setsid node bench/start-worker.cjs "$PORT" "$state" >"$work/worker.log" 2>&1 &
  pg=$!
  # Two minutes: with the peers' data set and a busy machine, workerd can take over 30 s to
  # answer (a shorter wait made the scripts fail later, at login, with an empty reply).
  for _ in $(seq 480); do curl -sf -o /dev/null "$base/health" && return 0; sleep 0.25; done
  echo "bench: the Worker did not answer $base/health within 2 minutes (log: $work/worker.log)" >&2
  exit 1
}

login() { curl -sf -XPOST "$base/v1/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).access'; }

# run NAME URL [TOKEN]: 2 s warm-up, then wrk -t2 -c10 for $DURATION.
run() {
  local auth=(); [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  wrk -t2 -c10 -d2s "${auth[@]}" "$2" >/dev/null
  wrk -t2 -c10 -d"$DURATION" --latency "${auth[@]}" "$2" | awk -v n="$1" '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%-22s %10s req/s  p99 %-9s non-2xx %s\n", n, rps, p99, bad+0}'
}
