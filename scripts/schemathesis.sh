#!/usr/bin/env bash
# Runs Schemathesis (pinned, with every dependency, in tests/schemathesis/requirements.txt) with
# the arguments given, e.g.
#   bash scripts/schemathesis.sh run http://127.0.0.1:8787/openapi.json --checks all -H 'Authorization: Bearer …'
# The venv is made once per machine in TOOLS_HOME (like scripts/setup.sh's tools), named after the
# hash of the requirements and the Python version, so a changed pin makes a new one and a second
# run reuses it (about a second). Packages come from PyPI only, by pip.
# Env: PYTHON (default python3, >= 3.10).
set -euo pipefail
source "$(dirname "$0")/env.sh"
say() { echo "schemathesis.sh: $*" >&2; }

python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || { say "$python is required"; exit 1; }
req="$ROOT/tests/schemathesis/requirements.txt"
hash=$({ cat "$req"; "$python" -c 'import sys; print(sys.implementation.name, sys.version_info[:2])'; } |
  sha256sum | cut -c1-16)
venv="$TOOLS_HOME/schemathesis-venv-$hash"

if [ ! -f "$venv/.complete" ]; then
  mkdir -p "$TOOLS_HOME"
  # One installer at a time (two test runs may start together); venvs cannot be moved once made,
  # so it is built in place and marked complete last.
  exec 9>"$venv.lock"
  flock 9
  if [ ! -f "$venv/.complete" ]; then
    say "installing Schemathesis into $venv (once per machine)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
      "$venv/bin/python" -m pip install --quiet --no-cache-dir --only-binary=:all: -r "$req" >&2
    # Nothing but the pins: fail now rather than test with a different set.
    "$venv/bin/python" -m pip check >/dev/null
    touch "$venv/.complete"
  fi
  exec 9>&-
fi

exec "$venv/bin/schemathesis" "$@"
