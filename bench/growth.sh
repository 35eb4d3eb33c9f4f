#!/usr/bin/env bash
# Issue 17 growth benchmark, one run: does a library's size change what its owner's requests
# cost? Loads 300 200 scores straight into the local D1 file (examples/growth_data.rs, through
# the schema's triggers, so the search index is the Worker's): small@growth.test with 200,
# mid@growth.test with 10 000 (one of twenty), big@growth.test with 100 000. Then, with wrk
# -t2 -c10 for $DURATION after a 2 s warm-up, for each route the three users one after the
# other: the plain list, `ordering=title`, `tag=gig`, `query=etude` (a rare word),
# `query=no in` (words in every title) and `GET /v1/setlists` (they own none, 20 and 200 of
# 95 220), in $ROUNDS rounds. Prints req/s and p99 per user, route and round, their medians,
# and the ratios the issue's goals name (of the medians): list req/s at 100 000 over at 200,
# and each search's p99 over the plain list's.
#   bench/growth.sh     env: PORT=8787 DURATION=10s ROUNDS=3 SCALE=1 (divides every library) KEEP=0
# The data (≈ 0.5 GB) is deleted on exit, and the Worker stopped, unless KEEP=1.
set -euo pipefail
DURATION=${DURATION:-10s}
SCALE=${SCALE:-1} ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/common.sh"
given_state=${STATE:-}
trap 'cleanup; [ "$KEEP" = 1 ] || [ -n "$given_state" ] || rm -rf "$state"' EXIT

echo "# loading data" >&2
phc=$(cargo run --quiet --release --example hash_password -- "$PASSWORD")
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
db=$(find "$state" -path '*D1*' -name '*.sqlite' ! -name metadata.sqlite | head -1)
[ -n "$db" ] || { echo "growth: no local D1 file under $state" >&2; exit 1; }
cargo run --quiet --release --example growth_data -- "$db" "$phc" "$SCALE"
du -sh "$state" >&2
start_worker

declare -A token
for who in small mid big; do token[$who]=$(login "$who@growth.test"); done
results="$work/results"
echo "## growth (wrk -t2 -c10 -d$DURATION; Worker inspector off; libraries of 200 / 10 000 / 100 000 scores among 300 200 / $SCALE)"
for round in $(seq "$ROUNDS"); do
  echo "# round $round"
  for route in "list|v1/scores?limit=20" "ordering=title|v1/scores?limit=20&ordering=title" \
    "tag=gig|v1/scores?limit=20&tag=gig" "query=etude|v1/scores?limit=20&query=etude" \
    "query=no in|v1/scores?limit=20&query=no%20in" "setlists|v1/setlists"; do
    name=${route%%|*} path=${route#*|}
    for who in small mid big; do
      run "$who $name" "$base/$path" "${token[$who]}" | tee -a "$results"
    done
  done
done

# Medians over the rounds, and the goals' ratios of them.
node - "$results" <<'JS'
const lines = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n");
const ms = (t) => (t.endsWith("us") ? parseFloat(t) / 1000 : t.endsWith("ms") ? parseFloat(t) : parseFloat(t) * 1000);
const runs = {};
for (const l of lines) {
  const m = l.match(/^(\w+) (.+?)\s+([\d.]+) req\/s\s+p99 (\S+)\s+non-2xx (\d+)/);
  if (m) (runs[`${m[1]} ${m[2]}`] ??= []).push({ rps: +m[3], p99: ms(m[4]), bad: +m[5] });
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const r = {};
console.log("## medians");
for (const [k, v] of Object.entries(runs)) {
  r[k] = { rps: median(v.map((x) => x.rps)), p99: median(v.map((x) => x.p99)), bad: v.reduce((a, x) => a + x.bad, 0) };
  console.log(`${k.padEnd(22)} ${r[k].rps.toFixed(0).padStart(6)} req/s  p99 ${r[k].p99.toFixed(1)} ms`);
}
const f = (x) => x.toFixed(2);
console.log("## ratios (of the medians)");
console.log(`list req/s, 100 000 vs 200: ${f(r["big list"].rps / r["small list"].rps)} (goal >= 0.9)`);
for (const who of ["small", "mid", "big"]) {
  const base = r[`${who} list`];
  const p = (q) => f(r[`${who} ${q}`].p99 / base.p99);
  console.log(`${who}: p99 over the list's: query=etude ${p("query=etude")}, query=no in ${p("query=no in")} (goal <= 2); ordering=title ${p("ordering=title")}, tag=gig ${p("tag=gig")}, setlists ${p("setlists")}`);
}
const bad = Object.entries(r).filter(([, v]) => v.bad > 0).map(([k]) => k);
if (bad.length) console.log(`non-2xx answers in: ${bad.join(", ")}`);
JS
