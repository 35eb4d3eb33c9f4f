#!/usr/bin/env bash
# Builds the Worker (release wasm + JS shim) into build/ with the repo-local tools.
# Skips the build (mostly wasm-opt, minutes) when build/ is newer than every input, as make
# would; FORCE_BUILD=1 rebuilds anyway.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f .tools/fallback.env ] && source .tools/fallback.env
out=build/index_bg.wasm
if [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$out" ] && [ -f build/index.js ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer "$out" -print -quit)" ]; then
  echo "build: $out is up to date" >&2
  exit 0
fi
exec worker-build --release "$@"
