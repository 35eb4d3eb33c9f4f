#!/usr/bin/env bash
# Builds the Worker (release wasm + JS shim) into build/ with the repo-local tools.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f .tools/fallback.env ] && source .tools/fallback.env
exec worker-build --release "$@"
