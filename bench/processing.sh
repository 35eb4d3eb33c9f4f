#!/usr/bin/env bash
# Issue 4 benchmark: pdf_info and first-page thumbnail per file, against poppler's
# `pdfinfo` and `pdftoppm -r 36 -f 1 -l 1` on the same files in the same run, natively and in
# workerd (bench/processing-workerd.mjs), plus peak memory.
#   bench/processing.sh        env: N=20 (iterations)
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
N=${N:-20}
command -v pdfinfo >/dev/null && command -v pdftoppm >/dev/null || { echo "bench: needs poppler-utils" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp tests/fixtures/base.pdf "$work/small-3p.pdf"
cp tests/fixtures/scanned.pdf "$work/scanned-1p.pdf"
cp tests/fixtures/engraved.pdf "$work/engraved-1p.pdf"
node -e 'import("./tests/e2e/pdf.mjs").then(({makePdf}) => require("fs").writeFileSync(process.argv[1], makePdf({pages: 20, title: "Twenty"})))' "$work/text-20p.pdf"
# 100 MiB scans (20 pages of incompressible images): above the whole-file limit, so pdf_info
# reads them by ranges and the thumbnail is refused, as in the Worker.
cargo build --quiet --release --example bench_processing
"$CARGO_TARGET_DIR"/release/examples/bench_processing make-large "$work/scan-100m.pdf" 100 20
if command -v qpdf >/dev/null; then qpdf --object-streams=generate "$work/scan-100m.pdf" "$work/scan-100m-objstm.pdf"; fi
files=("$work"/*.pdf)
echo "## ScoreMate (native, release, mean of $N)"
cargo run --quiet --release --example bench_processing -- "$N" "${files[@]}"
echo "## poppler (mean of $N, includes process start)"
printf '%-28s %12s %14s\n' file pdfinfo_ms pdftoppm_r36_ms
for f in "${files[@]}"; do
  t0=$(date +%s%N); for _ in $(seq "$N"); do pdfinfo "$f" >/dev/null; done; t1=$(date +%s%N)
  for _ in $(seq "$N"); do pdftoppm -r 36 -f 1 -l 1 -png "$f" "$work/out" >/dev/null; done; t2=$(date +%s%N)
  printf '%-28s %12.2f %14.2f\n' "$(basename "$f")" "$(echo "($t1-$t0)/$N/1000000" | bc -l)" "$(echo "($t2-$t1)/$N/1000000" | bc -l)"
done
echo "## ScoreMate in workerd (built wasm Worker, Miniflare; median of $N redeliveries, ms)"
export SCOREMATE_BUILD=release # benchmarks measure what is deployed
bash scripts/build.sh >/dev/null
node bench/processing-workerd.mjs "$N" "${files[@]}"
echo "## peak memory (max RSS, one run each)"
for f in "${files[@]}"; do
  ours=$( { /usr/bin/time -f %M "$CARGO_TARGET_DIR"/release/examples/bench_processing 1 "$f" >/dev/null; } 2>&1 | tail -1)
  theirs=$( { /usr/bin/time -f %M pdftoppm -r 36 -f 1 -l 1 -png "$f" "$work/out" >/dev/null; } 2>&1 | tail -1)
  printf '%-28s scoremate %6s KiB   pdftoppm %6s KiB\n' "$(basename "$f")" "$ours" "$theirs"
done
