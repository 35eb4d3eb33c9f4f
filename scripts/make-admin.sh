#!/usr/bin/env bash
# Promotes a registered user to admin in the LOCAL database (wrangler dev's .wrangler/state).
# usage: scripts/make-admin.sh EMAIL      (add --remote to act on the deployed D1)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
email=$(printf '%s' "${1:?usage: make-admin.sh EMAIL [--remote]}" | tr '[:upper:]' '[:lower:]' | xargs)
[[ $email =~ ^[a-z0-9._%+@-]+$ ]] || { echo "make-admin: unexpected characters in $email" >&2; exit 2; }
where=${2:---local}
D1_SHARDS=${D1_SHARDS:-DB}
# With users spread over several databases (README "Past one database") every copy of the account
# changes: D1_SHARDS="DB,DB_1" scripts/make-admin.sh EMAIL --remote
for binding in ${D1_SHARDS//,/ }; do
  wrangler d1 execute "$binding" "$where" --command "update users set role = 'admin', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where email = '$email'; select id, email, role from users where email = '$email';"
done
