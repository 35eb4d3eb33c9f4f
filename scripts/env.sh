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
# Pinned tool versions. wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock.
WORKER_BUILD_VERSION=0.8.7
S3S_FS_VERSION=0.14.1
CARGO_DENY_VERSION=0.18.9
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
