#!/usr/bin/env bash
# Command 1: set up, build, migrate local D1 and serve ScoreMate on http://127.0.0.1:8787
# (workerd through `wrangler dev`, with local D1, R2 and Queues under .wrangler/state): both
# Worker scripts in one session (README "Two Worker scripts"), the API answering on the port and
# the queue consumer beside it, sharing the local state.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# The fast profile without wasm-opt (scripts/build.sh): seconds to serve again after an edit.
# `wrangler deploy` (without this variable) builds the release profile.
export SCOREMATE_BUILD=${SCOREMATE_BUILD:-fast}
bash scripts/setup.sh
bash scripts/build.sh   # wrangler needs build/assets before it starts; its own [build] runs then skip
wrangler d1 migrations apply DB --local
# wrangler runs each config's [build] command (scripts/build.sh api|consumer) before serving, and
# again on changes. The first config is the one served on the port.
exec wrangler dev -c wrangler.toml -c wrangler.consumer.toml --ip 127.0.0.1 --port "${PORT:-8787}" "$@"
