#!/usr/bin/env bash
# Issue 5 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs):
# GET /v1/setlists/{id} for a 40-item setlist (with thumbnails to presign and 3 members) against
# GET /health, with wrk. D1 work per request is stated from the code path.
#   bench/setlists.sh        env: PORT=8787 DURATION=5s KEEP=0
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Every one of big@example.test's scores gets a thumbnail key, so each item is presigned.
echo "update scores set thumbnail_key = replace(object_key, '.pdf', '/thumb-320.png'), thumbnail_state = 'ok', pdf_info_state = 'ok';" >"$work/thumbs.sql"
load_data "$work/thumbs.sql"
start_worker
big=$(login big@example.test)
json() { curl -sf -XPOST "$base$1" -H "Authorization: Bearer $big" -H 'content-type: application/json' -d "$2"; }
id=$(json /v1/setlists '{"name":"Festival set","venue":"Main stage","event_date":"2026-07-14"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).setlist.id')
scores=$(curl -sf "$base/v1/scores?limit=40" -H "Authorization: Bearer $big" | node -pe 'JSON.parse(require("fs").readFileSync(0)).scores.map(s => s.id).join(" ")')
for s in $scores; do json "/v1/setlists/$id/items" "{\"score_id\":\"$s\",\"notes\":\"segue\"}" >/dev/null; done
for n in 1 2 3; do
  curl -sf -XPOST "$base/v1/auth/register" -H 'content-type: application/json' -d "{\"email\":\"band$n@example.test\",\"password\":\"$PASSWORD\",\"display_name\":\"Player $n\"}" >/dev/null
  json "/v1/setlists/$id/members" "{\"email\":\"band$n@example.test\",\"role\":\"viewer\"}" >/dev/null
done
items=$(curl -sf "$base/v1/setlists/$id" -H "Authorization: Bearer $big" | node -pe 'JSON.parse(require("fs").readFileSync(0)).setlist.items.length')
echo "## setlist vs health (wrk -t2 -c10 -d$DURATION; Worker inspector off)"
echo "setlist holds $items items and 3 members; D1 per request: 2 round trips (session check; one batch of head, items, history, members)"
run health "$base/health"
run "setlists/{id} (40)" "$base/v1/setlists/$id" "$big"
run "setlists?limit=20" "$base/v1/setlists?limit=20" "$big"
