#!/usr/bin/env bash
# Issue 17 goal 8: the library list with users spread over two D1 databases (docs/scaling.md,
# src/domain/shard.rs) against one database, in one run. Both databases hold the benchmark data
# set; big@example.test's ids carry virtual shard 00 (the first database either way) and
# far@example.test's carry ff (the second database when there are two), so the list is timed for
# a user served by each. Rounds alternate one and two databases (ROUNDS=2: 1,2,1,2). The API
# script runs alone through wrangler, as in bench/library.sh and the peers. BEFORE=<git revision>
# adds that revision's build (one database, as it was) to every round, over the same data;
# BEFORE=<folder> uses a checkout already built there (`scripts/build.sh api`, release).
#   bench/shards.sh        env: PORT=8787 DURATION=5s ROUNDS=2 BEFORE=
set -euo pipefail
ROUNDS=${ROUNDS:-2}
source "$(dirname "$0")/common.sh"
LOAD_FAR=1 load_data
node -e 'import(process.argv[1]).then((h) => h.applyMigrations(process.argv[2], "DB_1"))' \
  "$ROOT/tests/e2e/harness.mjs" "$state" >/dev/null
wrangler d1 execute DB_1 --local --persist-to "$state" -c "$state/DB_1.toml" --file "$work/load.sql" --yes >/dev/null

before=${BEFORE:-}
if [ -n "$before" ] && [ ! -d "$before" ]; then
  echo "# building $BEFORE" >&2
  git worktree add --detach "$work/before" "$BEFORE" >/dev/null 2>&1
  ln -s "$ROOT/node_modules" "$work/before/node_modules"
  ln -s "$ROOT/.tools" "$work/before/.tools"
  cp "$ROOT/.dev.vars" "$work/before/.dev.vars"
  (cd "$work/before" && SCOREMATE_BUILD=release bash scripts/build.sh api >/dev/null 2>&1)
  trap 'cleanup; git -C "$ROOT" worktree remove --force "$work/before" 2>/dev/null || true' EXIT
  before=$work/before
fi

stop_worker() { kill -TERM -- -"$pg" 2>/dev/null || true; wait "$pg" 2>/dev/null || true; pg=""; }

echo "## GET /v1/scores?limit=20 (wrk -t2 -c10 -d$DURATION), one database vs two"
for round in $(seq "$ROUNDS"); do
  if [ -n "$before" ]; then
    BENCH_ROOT=$before BENCH_VIA=wrangler setsid node bench/start-worker.cjs "$PORT" "$state" >"$work/worker.log" 2>&1 &
    pg=$!
    for _ in $(seq 480); do curl -sf -o /dev/null "$base/health" && break; sleep 0.25; done
    big=$(login big@example.test)
    far=$(login far@example.test)
    run "r$round before big" "$base/v1/scores?limit=20" "$big"
    run "r$round before far" "$base/v1/scores?limit=20" "$far"
    stop_worker
  fi
  for shards in 1 2; do
    BENCH_VIA=wrangler BENCH_SHARDS=$shards start_worker
    big=$(login big@example.test)
    far=$(login far@example.test)
    run "r$round db=$shards big(00)" "$base/v1/scores?limit=20" "$big"
    run "r$round db=$shards far(ff)" "$base/v1/scores?limit=20" "$far"
    stop_worker
  done
done
