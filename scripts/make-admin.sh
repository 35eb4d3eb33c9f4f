#!/usr/bin/env bash
# Promotes a registered user to admin in the LOCAL database (wrangler dev's .wrangler/state).
# usage: scripts/make-admin.sh EMAIL      (add --remote to act on the deployed D1)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
email=$(printf '%s' "${1:?usage: make-admin.sh EMAIL [--remote]}" | tr '[:upper:]' '[:lower:]' | xargs)
[[ $email =~ ^[a-z0-9._%+@-]+$ ]] || { echo "make-admin: unexpected characters in $email" >&2; exit 2; }
where=${2:---local}
wrangler d1 execute DB "$where" --command "update users set role = 'admin', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where email = '$email'; select id, email, role from users where email = '$email';"
