#!/usr/bin/env bash
# Issue 12 benchmark: does an attack on the public surface slow the library down for everyone?
# In one run, with the Worker started with the inspector off (bench/start-worker.cjs):
#  1. GET /v1/scores?limit=20 for a user with 1 000 scores under wrk, alone;
#  2. the same while bench/attack.mjs uploads hostile PDFs (decompression bombs …) at 2 a second,
#     asks for their page images, and calls a public link's routes 50 times a second from
#     rotating addresses (FLOOD=1: as fast as ATTACKERS connections can instead);
#  3. the list's req/s and p99 in both, alternating for ROUNDS rounds, their ratio (goal: ≥ 0.8×),
#     what the attack got back, workerd's resident memory before and at its peak (VmHWM), and
#     the Worker's own wasm memory (logged by every task).
#   bench/attack.sh        env: PORT=8787 DURATION=10s ROUNDS=3 UPLOAD_RATE=2 LINK_RATE=50 FLOOD=0 ATTACKERS=8
set -euo pipefail
DURATION=${DURATION:-10s} ROUNDS=${ROUNDS:-3}
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

if [ "${FLOOD:-0}" = 1 ]; then what="a flood from $ATTACKERS connections"; else what="${UPLOAD_RATE:-2} hostile uploads/s, ${LINK_RATE:-50} public-link requests/s"; fi
pid=$(workerd_pid)
rss_calm=$(mem "$pid" VmRSS)
echo "# setting up the attacker (paused): $what" >&2
ready="$work/attack.ready"
# The attacker runs at a lower priority: on a 2-core machine its own client CPU would otherwise
# be counted against the server. It reports how long it fired and what came back.
nice -n 10 node bench/attack.mjs "$base" "$ready" "$ATTACKERS" >"$work/attack.out" 2>"$work/attack.err" &
attacker=$!
for _ in $(seq 240); do [ -s "$ready" ] && break; sleep 0.25; done
[ -s "$ready" ] || { echo "attack: set-up failed" >&2; cat "$work/attack.err" >&2; exit 1; }

echo "## GET /v1/scores?limit=20 (1 000 scores), wrk -t2 -c10 -d$DURATION, inspector off; $ROUNDS rounds of calm then attack"
calm=() hot=()
for round in $(seq "$ROUNDS"); do
  read -r rps p99 bad < <(measure)
  printf '%-26s %10s req/s  p99 %-9s non-2xx %s\n' "round $round, alone" "$rps" "$p99" "$bad"
  calm+=("$rps")
  kill -USR1 "$attacker"
  sleep 2 # the first bombs reach the queue
  read -r rps p99 bad < <(measure)
  kill -USR2 "$attacker"
  printf '%-26s %10s req/s  p99 %-9s non-2xx %s\n' "round $round, under attack" "$rps" "$p99" "$bad"
  hot+=("$rps")
done
kill -TERM "$attacker"; wait "$attacker" 2>/dev/null || true
rss_peak=$(mem "$pid" VmHWM)

echo "attack: $what"
node -e '
  const half = process.argv.indexOf("--");
  const median = (xs) => { const s = xs.map(Number).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const calm = process.argv.slice(1, half), hot = process.argv.slice(half + 1);
  const ratios = calm.map((c, i) => (Number(hot[i]) / Number(c)).toFixed(2));
  console.log(`ratio under attack, per round: ${ratios.join(" ")}; medians ${median(hot)} / ${median(calm)} = ${(median(hot) / median(calm)).toFixed(2)}x (goal >= 0.80x)`);
' "${calm[@]}" -- "${hot[@]}"
echo "attacker: $(cat "$work/attack.out")"
echo "workerd resident memory: ${rss_calm} MiB before the attack, peak ${rss_peak} MiB (VmHWM, whole process: every isolate, D1, R2 and queue simulators)"
max_wasm=$(grep -o '"wasm_memory_mib":[0-9]*' "$work/worker.log" | cut -d: -f2 | sort -n | tail -1)
if [ -n "$max_wasm" ]; then
  echo "the Worker's wasm linear memory: at most ${max_wasm} MiB after any task (the isolate limit is 128 MB)"
else
  echo "the Worker's wasm linear memory: not in its log (no task ran?)"
fi
