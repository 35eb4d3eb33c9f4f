#!/usr/bin/env bash
# Builds the two Worker scripts of this crate (README "Two Worker scripts") into build/ with the
# repo-local tools, plus the static assets:
#   build/api/       cargo feature `api` (wrangler.toml): the HTTP API, the live rooms, the Cron
#                    sweep; no renderer.
#   build/consumer/  cargo feature `consumer` (wrangler.consumer.toml): the queue consumer, with
#                    the renderer (hayro) only it uses.
# usage: bash scripts/build.sh [api|consumer|both]   (both by default; each wrangler config's
#   [build] names its own script, so `wrangler deploy -c …` builds only what it uploads)
#   SCOREMATE_BUILD=release (default; what `wrangler deploy` runs): [profile.release] (LTO),
#     wasm-opt, and the names section stripped — minutes.
#   SCOREMATE_BUILD=fast (scripts/dev.sh, the tests): [profile.fast], no wasm-opt, names kept (for
#     stack traces) — seconds once warm. Same code, same opt-level; only whole-program size work
#     is skipped.
# Skips a script when its build/ folder was made by the same profile and is newer than every
# input, as make would; FORCE_BUILD=1 rebuilds anyway.
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
  # The renderer's standard fonts (src/media/fonts.rs), fetched by the consumer through its own
  # [assets] binding over this same folder (wrangler.consumer.toml says why it is shared).
  mkdir -p build/assets/fonts
  cp fonts/*.pfb fonts/LICENSE_FOXIT build/assets/fonts/
}
assets
profile=${SCOREMATE_BUILD:-release}
case $profile in
  release) flags=(--release) ;;
  fast) flags=(--profile fast --no-opt) ;;
  *) echo "build: SCOREMATE_BUILD must be release or fast, not $profile" >&2; exit 2 ;;
esac
# SCOREMATE_EXTRA_FEATURES adds cargo features (bench/phases.sh: bench-phases); the stamp records
# them, so the next ordinary build replaces such a build.
extra=${SCOREMATE_EXTRA_FEATURES:-}
stamp=$profile${extra:++$extra}
case ${1:-both} in
  api | consumer) scripts=("$1") ;;
  both) scripts=(api consumer) ;;
  *) echo "build: the script to build is api, consumer or both, not $1" >&2; exit 2 ;;
esac
# Whether build/$1 is this profile's build of the current sources.
fresh() {
  local out=build/$1
  [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$out/index_bg.wasm" ] && [ -f "$out/index.js" ] &&
    [ "$(cat "$out/.profile" 2>/dev/null)" = "$stamp" ] &&
    [ -z "$(find src Cargo.toml Cargo.lock scripts/build.sh -newer "$out/index_bg.wasm" -print -quit)" ]
}
todo=()
for script in "${scripts[@]}"; do
  if fresh "$script"; then echo "build: build/$script ($profile) is up to date" >&2; else todo+=("$script"); fi
done
# Both scripts link to the same target/…/scoremate.wasm, which worker-build then reads: `wrangler
# dev` runs the two configs' [build] commands at once, so one build at a time. An up-to-date build
# takes no lock: it never waits for another checkout's build in a shared target directory.
if [ ${#todo[@]} -gt 0 ]; then
  mkdir -p "$CARGO_TARGET_DIR"
  exec 9>"$CARGO_TARGET_DIR/.scoremate-build.lock"
  flock 9
fi
for script in "${todo[@]}"; do
  out=build/$script
  if fresh "$script"; then # built by the other [build] command while this one waited
    echo "build: $out ($profile) is up to date" >&2
    continue
  fi
  worker-build "${flags[@]}" --out-dir "$out" --no-default-features --features "$script${extra:+,$extra}"
  if [ "$profile" = release ]; then
    # worker-build keeps the names section (wasm-opt --debuginfo); a deployed script does without
    # it (docs/benchmarks.md "Cold start and bundle size"): panics still log their message and
    # location, only wasm stack frames lose their function names.
    wasm-opt "$out/index_bg.wasm" -o "$out/index_bg.wasm" --strip-debug \
      --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
      --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
  fi
  echo "$stamp" >"$out/.profile"
done
assets # in case a build cleared build/
