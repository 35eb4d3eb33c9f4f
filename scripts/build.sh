#!/usr/bin/env bash
# Builds the Worker (release wasm + JS shim) into build/ with the repo-local tools.
# Skips the build (mostly wasm-opt, minutes) when build/ is newer than every input, as make
# would; FORCE_BUILD=1 rebuilds anyway.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f .tools/fallback.env ] && source .tools/fallback.env
# Static assets ([assets] in wrangler.toml): Swagger UI from the pinned npm package plus our page.
assets() {
  mkdir -p build/assets/docs
  local dist=node_modules/swagger-ui-dist
  cp "$dist/swagger-ui.css" "$dist/swagger-ui-bundle.js" "$dist/favicon-32x32.png" \
    docs-ui/index.html docs-ui/init.js build/assets/docs/
}
assets
out=build/index_bg.wasm
if [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$out" ] && [ -f build/index.js ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer "$out" -print -quit)" ]; then
  echo "build: $out is up to date" >&2
  exit 0
fi
worker-build --release "$@"
assets # in case the build cleared build/
