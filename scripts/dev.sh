#!/usr/bin/env bash
# Command 1: set up, build, migrate local D1 and serve ScoreMate on http://127.0.0.1:8787
# (workerd through `wrangler dev`, with local D1, R2 and Queues under .wrangler/state).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# The fast profile without wasm-opt (scripts/build.sh): seconds to serve again after an edit.
# `wrangler deploy` (without this variable) builds the release profile.
export SCOREMATE_BUILD=${SCOREMATE_BUILD:-fast}
bash scripts/setup.sh
bash scripts/build.sh   # wrangler needs build/assets before it starts; its own [build] run then skips
wrangler d1 migrations apply DB --local
# wrangler runs the [build] command (scripts/build.sh) before serving, and again on changes.
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" "$@"
