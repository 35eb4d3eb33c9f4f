#!/usr/bin/env bash
# Issue 17 goal 1: where the time of GET /v1/scores?limit=20 goes in workerd. workerd's clock does
# not move while a request computes, so each phase is timed by leaving it out: a release build of
# the API script with the `bench-phases` feature (src/shell/phases.rs) is started through wrangler
# as the peers are (bench/peers.sh), once per set of skipped phases, and timed with wrk; a phase
# costs the difference of 1/rps. The sets run round-robin ($ROUNDS rounds); compare within a run.
#   L log line, R rate-limit binding, S D1 session, D the D1 statement and the body (cached),
#   1 the statement replaced by `select 1`.
#   bench/phases.sh    env: ROUNDS=2 DURATION=8s SETS="- L R S 1 D DL DLRS"
# The next ordinary build replaces the instrumented one (scripts/build.sh stamps the features).
set -euo pipefail
source "$(dirname "$0")/common.sh"
export SCOREMATE_EXTRA_FEATURES=bench-phases
bash scripts/build.sh api
load_data
results=$work/phases
for round in $(seq "${ROUNDS:-2}"); do
  for set in ${SETS:-- L R S 1 D DL DLRS}; do
    BENCH_SKIP=${set#-} BENCH_VIA=wrangler start_worker
    token=$(login user1@example.test)
    curl -sf -o /dev/null "$base/v1/scores?limit=20" -H "Authorization: Bearer $token" # keeps the body
    run "$set" "$base/v1/scores?limit=20" "$token" | tee -a "$results"
    kill -TERM -- -"$pg" 2>/dev/null; wait "$pg" 2>/dev/null || true; pg=""
  done
done
node - "$results" <<'JS'
const lines = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n");
const runs = {};
for (const l of lines) { const m = l.match(/^(\S+)\s+([\d.]+) req\/s/); if (m) (runs[m[1]] ??= []).push(+m[2]); }
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const ms = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, 1000 / median(v)]));
console.log("## per request (ms = 1000 / median req/s), and what each skipped set saves");
for (const [k, v] of Object.entries(ms)) console.log(`${k.padEnd(6)} ${v.toFixed(3)} ms  saves ${(ms["-"] - v).toFixed(3)} ms`);
JS
