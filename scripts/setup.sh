#!/usr/bin/env bash
# Installs everything ScoreMate needs to build and test, into the repository (.tools/,
# node_modules/). Idempotent: a second run takes about a second. Uses package registries only.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
say() { echo "setup: $*" >&2; }

need() { command -v "$1" >/dev/null 2>&1; }
need cargo || { echo "setup: cargo is required (rustup)" >&2; exit 1; }
need node || { echo "setup: node (>= 20) is required" >&2; exit 1; }

# 1. wasm32 standard library: rustup first, Debian's build-std route as the fallback.
if ! rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null | xargs -r test -d; then
  say "adding the wasm32-unknown-unknown target"
  if ! rustup target add wasm32-unknown-unknown >&2; then
    say "rustup could not fetch wasm32 std; falling back to Debian's rust-web toolchain"
    apt-get install -y rustc-web cargo-web rust-web-src lld-22 >&2
    cat >"$ROOT/.tools/fallback.env" <<'ENV'
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
ENV
  fi
fi

# 2. worker-build and wasm-bindgen-cli at pinned versions, into .tools/.
mkdir -p .tools
if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION"
  cargo install --locked --quiet --root .tools worker-build --version "$WORKER_BUILD_VERSION" >&2
fi
if [ "$("$WASM_BINDGEN_BIN" --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Without --locked: its lockfile pins a yanked webpki-roots.
  cargo install --quiet --root .tools wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
fi

# 3. s3s-fs: an independent S3-compatible server that verifies SigV4, for the presign cross-check.
if [ "$(.tools/bin/s3s-fs --version 2>/dev/null | awk '{print $NF}')" != "$S3S_FS_VERSION" ]; then
  say "installing s3s-fs $S3S_FS_VERSION (test tool)"
  cargo install --locked --quiet --root .tools s3s-fs --version "$S3S_FS_VERSION" --features binary >&2
fi

# 4. npm packages (wrangler, miniflare, binaryen), exactly as package-lock.json pins them.
if ! cmp -s package-lock.json node_modules/.setup-lock 2>/dev/null; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
  cp package-lock.json node_modules/.setup-lock
fi
say "ready"
