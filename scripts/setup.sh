#!/usr/bin/env bash
# Installs everything ScoreMate needs to build (and, with --test, to test). Compiled tools are
# installed once per machine into a versioned cache (TOOLS_HOME, default ~/.cache/scoremate-tools,
# one folder per tool and version, as `cargo install` would) and linked into .tools/bin, so a
# second clone reuses them. Idempotent: a second run takes about a second. Package registries only.
# usage: scripts/setup.sh [--test]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
say() { echo "setup: $*" >&2; }
for_tests=0; [ "${1:-}" = --test ] && for_tests=1

need() { command -v "$1" >/dev/null 2>&1; }
need cargo || { echo "setup: cargo is required (rustup)" >&2; exit 1; }
need node || { echo "setup: node (>= 20) is required" >&2; exit 1; }
mkdir -p .tools/bin "$TOOLS_HOME"

# 1. The pinned toolchain (rust-toolchain.toml: compiler, rustfmt, clippy, the wasm32 standard
#    library) through rustup; Debian's build-std route as the fallback.
if need rustup && ! rustup toolchain install >&2; then
  say "rustup could not install the toolchain of rust-toolchain.toml"
fi
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

# install CRATE VERSION BIN [cargo install flags…]: once per machine, then linked into .tools/bin.
install() {
  local crate=$1 version=$2 bin=$3; shift 3
  local dir="$TOOLS_HOME/$crate-$version"
  if [ ! -x "$dir/bin/$bin" ]; then
    say "installing $crate $version into $dir (once per machine)"
    cargo install --quiet --root "$dir.partial" "$crate" --version "$version" "$@" >&2
    rm -rf "$dir" && mv "$dir.partial" "$dir"
  fi
  ln -sfn "$dir/bin/$bin" ".tools/bin/$bin"
}

# 2. worker-build and wasm-bindgen-cli at pinned versions.
install worker-build "$WORKER_BUILD_VERSION" worker-build --locked
# Without --locked: its lockfile pins a yanked webpki-roots.
install wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

# 3. Test-only tools: s3s-fs (an independent S3-compatible server that verifies SigV4),
#    cargo-deny (dependency licenses, bans and sources) and Schemathesis (pinned, in a venv made once per machine by scripts/schemathesis.sh).
if [ $for_tests = 1 ]; then
  install s3s-fs "$S3S_FS_VERSION" s3s-fs --locked --features binary
  install cargo-deny "$CARGO_DENY_VERSION" cargo-deny --locked
  bash scripts/schemathesis.sh --version >/dev/null
fi

# 4. npm packages (wrangler, miniflare, binaryen), exactly as package-lock.json pins them.
if ! cmp -s package-lock.json node_modules/.setup-lock 2>/dev/null; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
  cp package-lock.json node_modules/.setup-lock
fi
say "ready"
