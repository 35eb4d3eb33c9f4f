# Shared environment for ScoreMate's scripts: repo-local tools first, wrangler kept offline.
# Sourced, not executed.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.tools/bin:$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false \
  CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true NPM_CONFIG_LOGLEVEL=error \
  NPM_CONFIG_UPDATE_NOTIFIER=false
export WASM_BINDGEN_BIN="$ROOT/.tools/bin/wasm-bindgen" ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" \
  WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
# Compiled tools are installed once per machine here (scripts/setup.sh) and linked into .tools/bin.
export TOOLS_HOME=${SCOREMATE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/scoremate-tools}
# One cargo target directory per machine, like the tools: a second clone compiles only the crate
# itself and reuses every dependency. CARGO_TARGET_DIR overrides it (CI's clean checkout has none).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TOOLS_HOME/target}
# Cargo names a path package's artifacts by its path *relative to the workspace*, so checkouts
# sharing the directory share the crate's own artifacts too, and cargo judges them fresh by the
# mtimes of the sources they list: a build here after a build in another checkout could take the
# other's crate as this one's. So the directory remembers which checkout built last, and a switch
# touches this checkout's sources, which makes cargo rebuild the crate (only the crate). Builds
# of two checkouts at the same moment still overwrite each other: run them one at a time, or give
# each its own CARGO_TARGET_DIR.
if [ "$(cat "$CARGO_TARGET_DIR/.scoremate-checkout" 2>/dev/null)" != "$ROOT" ]; then
  for d in src tests examples benches; do
    [ -d "$ROOT/$d" ] && find "$ROOT/$d" -type f -exec touch {} +
  done
  mkdir -p "$CARGO_TARGET_DIR" && echo "$ROOT" >"$CARGO_TARGET_DIR/.scoremate-checkout"
fi
# Pinned tool versions. wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock.
WORKER_BUILD_VERSION=0.8.7
S3S_FS_VERSION=0.14.1
CARGO_DENY_VERSION=0.18.9
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
