#!/usr/bin/env bash
# Issue 15 benchmark (parts), one run, Worker started with the inspector off
# (bench/start-worker.cjs): GET /v1/setlists/{id} read by a member assigned a part, for a 40-item
# setlist whose every score has 4 parts (2 uploaded with thumbnails to presign, 2 page ranges) —
# each item carrying the member's part — against a 40-item setlist of scores without parts
# (today's view), in the same run, same member, same data set. Criterion: p50 ≤ 1.2× today's.
#   bench/parts.sh        env: PORT=8787 DURATION=5s KEEP=0
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Every score gets a thumbnail (each item is presigned); the scores of the second 40 get parts.
cat >"$work/parts.sql" <<'SQL'
update scores set thumbnail_key = replace(object_key, '.pdf', '/thumb-320.png'), thumbnail_state = 'ok', pdf_info_state = 'ok', pages = coalesce(pages, 4);
insert into score_parts (id, score_id, user_id, name, source, first_page, last_page, upload_id, object_key, size_bytes,
  content_hash, pages, thumbnail_key, pdf_info_state, thumbnail_state, created_at, updated_at)
select 'prt_' || lower(hex(randomblob(16))), s.id, s.user_id, n.name, n.source,
  case when n.source = 'pages' then n.k else null end, case when n.source = 'pages' then n.k else null end,
  case when n.source = 'upload' then 'upl_' || lower(hex(randomblob(16))) end,
  case when n.source = 'upload' then 'u/' || s.user_id || '/s/part-' || s.id || '-' || n.k || '.pdf' end,
  case when n.source = 'upload' then 1000 else 0 end,
  case when n.source = 'upload' then lower(hex(randomblob(32))) end,
  case when n.source = 'upload' then 2 end,
  case when n.source = 'upload' then 'u/' || s.user_id || '/s/part-' || s.id || '-' || n.k || '/thumb-320.png' end,
  'ok', 'ok', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
from (select s.* from scores s join users u on u.id = s.user_id where u.email = 'big@example.test'
      order by s.updated_at desc, s.id desc limit 40 offset 40) s
cross join (select 'Trumpet 1' as name, 'upload' as source, 1 as k union all select 'Alto Sax', 'upload', 2
            union all select 'Bass', 'pages', 3 union all select 'Drums', 'pages', 4) n;
SQL
load_data "$work/parts.sql"
start_worker
big=$(login big@example.test)
json() { curl -sf -X"$1" "$base$2" -H "Authorization: Bearer $big" -H 'content-type: application/json' -d "$3"; }
field() { node -pe "JSON.parse(require('fs').readFileSync(0)).$1"; }
curl -sf -XPOST "$base/v1/auth/register" -H 'content-type: application/json' -d "{\"email\":\"sax@example.test\",\"password\":\"$PASSWORD\",\"display_name\":\"Sax\"}" >/dev/null
sax=$(login sax@example.test)
sax_id=$(curl -sf "$base/v1/me" -H "Authorization: Bearer $sax" | field user.id)
curl -sf -XPOST "$base/v1/auth/register" -H 'content-type: application/json' -d "{\"email\":\"bass@example.test\",\"password\":\"$PASSWORD\",\"display_name\":\"Bass\"}" >/dev/null
bass=$(login bass@example.test)
bass_id=$(curl -sf "$base/v1/me" -H "Authorization: Bearer $bass" | field user.id)
all=$(curl -sf "$base/v1/scores?limit=80" -H "Authorization: Bearer $big" | node -pe 'JSON.parse(require("fs").readFileSync(0)).scores.map(s => s.id).join(" ")')
plain=$(echo "$all" | tr ' ' '\n' | head -40)
parted=$(echo "$all" | tr ' ' '\n' | tail -n +41 | head -40)
setlist() { # NAME SCORES: a setlist of the scores with sax@ (playing Alto Sax) and 2 more members
  local id
  id=$(json POST /v1/setlists "{\"name\":\"$1\"}" | field setlist.id)
  for s in $2; do json POST "/v1/setlists/$id/items" "{\"score_id\":\"$s\",\"notes\":\"segue\"}" >/dev/null; done
  for n in 1 2; do
    curl -sf -XPOST "$base/v1/auth/register" -H 'content-type: application/json' -d "{\"email\":\"$1-$n@example.test\",\"password\":\"$PASSWORD\",\"display_name\":\"P$n\"}" >/dev/null || true
    json POST "/v1/setlists/$id/members" "{\"email\":\"$1-$n@example.test\",\"role\":\"viewer\"}" >/dev/null
  done
  json POST "/v1/setlists/$id/members" '{"email":"sax@example.test","role":"viewer"}' >/dev/null
  json PATCH "/v1/setlists/$id/members/$sax_id" '{"part":"alto sax"}' >/dev/null
  json POST "/v1/setlists/$id/members" '{"email":"bass@example.test","role":"viewer"}' >/dev/null
  json PATCH "/v1/setlists/$id/members/$bass_id" '{"part":"BASS"}' >/dev/null
  echo "$id"
}
today=$(setlist today "$plain")
parts=$(setlist parts "$parted")
check() { curl -sf "$base/v1/setlists/$1" -H "Authorization: Bearer $sax" | node -pe 'const s = JSON.parse(require("fs").readFileSync(0)).setlist; `${s.items.length} items, ${s.items.filter(i => i.part).length} with the reader'"'"'s part`'; }
echo "## setlist view with parts vs without (wrk -t2 -c10 -d$DURATION; Worker inspector off; read by a member playing Alto Sax)"
echo "without parts: $(check "$today"); with parts: $(check "$parts") (4 parts per score, 2 with thumbnails)"
echo "bass@ reads: $(curl -sf "$base/v1/setlists/$parts" -H "Authorization: Bearer $bass" | node -pe 'JSON.parse(require("fs").readFileSync(0)).setlist.items.filter(i => i.part && i.part.source === "pages").length') items with a pages part"
echo "D1 per request: 2 round trips either way (session check; one batch of head, items with parts, history, members)"
# runp NAME URL TOKEN: like run, with p50.
runp() {
  wrk -t2 -c10 -d2s -H "Authorization: Bearer $3" "$2" >/dev/null
  wrk -t2 -c10 -d"$DURATION" --latency -H "Authorization: Bearer $3" "$2" | awk -v n="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%-28s %10s req/s  p50 %-9s p99 %-9s non-2xx %s\n", n, rps, p50, p99, bad+0}'
}
# Alternating rounds, so drift on the machine falls on both sides alike. "uploaded part": each
# item carries an uploaded part with its own thumbnail to presign; "pages part": a range, no
# thumbnail of its own (the SQL and JSON cost without the extra presign).
for round in 1 2 3; do
  runp "today (no parts) #$round" "$base/v1/setlists/$today" "$sax"
  runp "uploaded part #$round" "$base/v1/setlists/$parts" "$sax"
  runp "pages part #$round" "$base/v1/setlists/$parts" "$bass"
done
