#!/usr/bin/env bash
# Issue 12 benchmark: does an attack on the public surface slow the library down for everyone?
# In one run, with the Worker started with the inspector off (bench/start-worker.cjs):
#  1. GET /v1/scores?limit=20 for a user with 1 000 scores under wrk, alone;
#  2. the same while bench/attack.mjs uploads hostile PDFs (decompression bombs …), asks for their
#     page images, and hammers a public link's routes from many addresses;
#  3. the list's req/s and p99 in both, their ratio (goal: ≥ 0.8×), what the attack got back, and
#     workerd's resident memory: before, and its peak (VmHWM) by the end.
#   bench/attack.sh        env: PORT=8787 DURATION=10s ATTACKERS=8
set -euo pipefail
DURATION=${DURATION:-10s}
# The public-link limits of wrangler.toml stay on: they are part of what is measured.
export BENCH_LINK_LIMITS=keep
source "$(dirname "$0")/common.sh"
ATTACKERS=${ATTACKERS:-8}
load_data
start_worker
big=$(login big@example.test)

# workerd's process (the Worker's isolates live in it) and its memory, in MiB.
workerd_pid() { pgrep -g "$pg" -f 'workerd serve' | head -1; }
mem() { awk -v k="$2" '$1 == k":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

measure() { # NAME → "rps p99"
  wrk -t2 -c10 -d2s -H "Authorization: Bearer $big" "$base/v1/scores?limit=20" >/dev/null
  wrk -t2 -c10 -d"$DURATION" --latency -H "Authorization: Bearer $big" "$base/v1/scores?limit=20" |
    awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %d\n", rps, p99, bad+0}'
}

pid=$(workerd_pid)
echo "## GET /v1/scores?limit=20 (1 000 scores), wrk -t2 -c10 -d$DURATION, inspector off"
read -r calm_rps calm_p99 calm_bad < <(measure)
rss_calm=$(mem "$pid" VmRSS)

echo "# starting the attack ($ATTACKERS concurrent attackers)" >&2
ready="$work/attack.ready"
node bench/attack.mjs "$base" "$ready" "$ATTACKERS" >"$work/attack.out" 2>"$work/attack.err" &
attacker=$!
for _ in $(seq 240); do [ -s "$ready" ] && break; sleep 0.25; done
[ -s "$ready" ] || { echo "attack: set-up failed" >&2; cat "$work/attack.err" >&2; exit 1; }
sleep 2 # let the first bombs reach the queue
read -r hot_rps hot_p99 hot_bad < <(measure)
kill -TERM "$attacker"; wait "$attacker" 2>/dev/null || true
rss_peak=$(mem "$pid" VmHWM)

printf '%-34s %10s req/s  p99 %-9s non-2xx %s\n' "list, alone" "$calm_rps" "$calm_p99" "$calm_bad"
printf '%-34s %10s req/s  p99 %-9s non-2xx %s\n' "list, under attack" "$hot_rps" "$hot_p99" "$hot_bad"
node -e 'const [a, b] = process.argv.slice(1).map(Number); console.log(`ratio under attack: ${(b / a).toFixed(2)}x (goal >= 0.80x)`)' "$calm_rps" "$hot_rps"
echo "attack: $(cat "$work/attack.out")"
echo "workerd resident memory: ${rss_calm} MiB before the attack, peak ${rss_peak} MiB (VmHWM, whole process: every isolate, D1, R2 and queue simulators)"
