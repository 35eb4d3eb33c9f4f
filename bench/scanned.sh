#!/usr/bin/env bash
# Issue 17 benchmark: the thumbnail of a scanned page through the scan fast path (the image
# decoded and resized with `image`, src/media/scan.rs) against hayro rendering the same page and
# `pdftoppm -scale-to-x 320 -png`, in one run. The pages come from
# `examples/bench_scanned.rs make` (A4 at 300 dpi grey JPEG, 200 dpi colour JPEG, 200 dpi grey
# Flate); each has a `-hayro` twin with an empty `BT ET` after the image, which leaves the
# picture unchanged but is no longer a plain scan, so the Worker renders it with hayro. In
# workerd the time is the consumer's own `duration_ms` of the `thumbnail` task (median of N
# redeliveries, bench/processing-workerd.mjs); natively, in-process means of N.
#   bench/scanned.sh        env: N=10 (iterations)
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
N=${N:-10}
command -v pdftoppm >/dev/null || { echo "bench: needs poppler-utils" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo build --quiet --release --example bench_scanned
"$CARGO_TARGET_DIR"/release/examples/bench_scanned make "$work"
files=("$work"/*.pdf)
echo "## ScoreMate native (release, mean of $N): fast path vs hayro on the same file"
"$CARGO_TARGET_DIR"/release/examples/bench_scanned "$N" "$work"/scan-{grey-300dpi,rgb-200dpi,flate-200dpi}.pdf
echo "## pdftoppm -scale-to-x 320 -scale-to-y -1 -png (mean of $N, includes process start)"
for f in "$work"/scan-{grey-300dpi,rgb-200dpi,flate-200dpi}.pdf; do
  t0=$(date +%s%N)
  for _ in $(seq "$N"); do pdftoppm -f 1 -l 1 -scale-to-x 320 -scale-to-y -1 -png "$f" "$work/out" >/dev/null; done
  t1=$(date +%s%N)
  printf '%-28s %8.2f ms\n' "$(basename "$f")" "$(echo "($t1-$t0)/$N/1000000" | bc -l)"
done
echo "## ScoreMate in workerd (built wasm Worker, Miniflare; median of $N redeliveries, ms)"
if [ "${SKIP_BUILD:-}" != 1 ]; then
  SCOREMATE_BUILD=release bash scripts/build.sh >/dev/null # benchmarks measure what is deployed
fi
node bench/processing-workerd.mjs "$N" "${files[@]}"
