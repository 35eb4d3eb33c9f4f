#!/usr/bin/env bash
# Command 2: set up and run every test: format, lints (native and wasm32), dependency policy,
# native unit, use-case and SQL tests, then the end-to-end suite against the built wasm Worker in
# workerd (Miniflare) with local D1, R2 and Queues. Exits non-zero if anything fails.
#   --quick: only format, native lints and native tests (no set-up beyond cargo; minutes).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
step() { printf '\n==> %s\n' "$*" >&2; }

if [ "${1:-}" = --quick ]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy (native)"
  cargo clippy --all-targets --locked -- -D warnings
  step "cargo test (native unit, use-case and SQL tests)"
  exec cargo test --locked
fi

step setup
bash scripts/setup.sh --test
[ -f .tools/fallback.env ] && source .tools/fallback.env

step "browser for the Swagger UI test"
# Debian's chromium unless CHROMIUM_BIN names another Chromium/Chrome (CI uses the runner's).
export CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM_BIN" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y chromium >&2 ||
    { $sudo apt-get update >&2 && $sudo apt-get install -y chromium >&2; }
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (native)"
cargo clippy --all-targets --locked -- -D warnings
step "cargo clippy (wasm32: both scripts together, then each on its own)"
cargo clippy --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown --locked --lib --no-default-features --features api -- -D warnings
cargo clippy --target wasm32-unknown-unknown --locked --lib --no-default-features --features consumer -- -D warnings
step "cargo deny (licenses, bans, sources; offline)"
cargo deny --offline --locked check licenses bans sources
step "cargo test (native unit, use-case and SQL tests)"
cargo test --locked
step "build the two Worker scripts"
# The fast profile (scripts/build.sh): the release code without LTO and wasm-opt.
SCOREMATE_BUILD=${SCOREMATE_BUILD:-fast} bash scripts/build.sh
step "end-to-end tests in workerd"
export E2E_TEMPLATE="$ROOT/.cache/e2e-template"
rm -rf "$E2E_TEMPLATE"
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/
