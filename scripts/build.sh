#!/usr/bin/env bash
# Builds the Worker (wasm + JS shim) into build/ with the repo-local tools.
#   SCOREMATE_BUILD=release (default; what `wrangler deploy` runs): [profile.release] (LTO) and
#     wasm-opt — minutes.
#   SCOREMATE_BUILD=fast (scripts/dev.sh, the tests): [profile.fast], no wasm-opt — seconds once
#     warm. Same code, same opt-level; only whole-program size work is skipped.
# Skips the build when build/ was made by the same profile and is newer than every input, as
# make would; FORCE_BUILD=1 rebuilds anyway.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f .tools/fallback.env ] && source .tools/fallback.env
# Static assets ([assets] in wrangler.toml): Swagger UI from the pinned npm package plus our page.
assets() {
  mkdir -p build/assets/docs
  local dist=node_modules/swagger-ui-dist
  cp "$dist/swagger-ui.css" "$dist/swagger-ui-bundle.js" "$dist/favicon-32x32.png" \
    docs-ui/index.html docs-ui/init.js docs-ui/live.html docs-ui/live.js docs-ui/live.css \
    build/assets/docs/
}
assets
profile=${SCOREMATE_BUILD:-release}
case $profile in
  release) flags=(--release) ;;
  fast) flags=(--profile fast --no-opt) ;;
  *) echo "build: SCOREMATE_BUILD must be release or fast, not $profile" >&2; exit 2 ;;
esac
out=build/index_bg.wasm stamp=build/.profile
if [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$out" ] && [ -f build/index.js ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$profile" ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer "$out" -print -quit)" ]; then
  echo "build: $out ($profile) is up to date" >&2
  exit 0
fi
worker-build "${flags[@]}" "$@"
echo "$profile" >"$stamp"
assets # in case the build cleared build/
