#!/usr/bin/env bash
# Issue 16 benchmark, one run, Worker started with the inspector off (bench/start-worker.cjs): a
# setlist book of 20 items of 10 pages made by the queue in workerd (time from the request to the
# book, workerd's memory) against `qpdf --empty --pages …` on the same files (needs qpdf and
# poppler-utils).
#   bench/books.sh        env: PORT=8787 ITEMS=20 PAGES=10 KEEP=0
set -euo pipefail
source "$(dirname "$0")/common.sh"
wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null
start_worker
echo "## setlist book (bench/books.mjs; Worker inspector off)"
node bench/books.mjs "$base" "${ITEMS:-20}" "${PAGES:-10}" "$(pgrep -g "$pg" -d, workerd)"
