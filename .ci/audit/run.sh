#!/usr/bin/env bash
# Starts cosell on a free port with a throw-away SQLite database and runs the graphql-http
# server audits against it. Usage: .ci/audit/run.sh [path/to/cosell]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
source .ci/lib.sh
bin="${1:-target/debug/cosell}"
[ -x "$bin" ] || { echo "no cosell binary at $bin" >&2; exit 2; }

npm_ready "$here" graphql-http
secret="audit-secret-throwaway-0123456789abcdefg"  # 40 chars, test only
start_cosell "$bin" "$secret"
token="$(COSELL_JWT_SECRET="$secret" "$bin" token --vendor --role ADMIN --ttl 10m | tail -n 1)"
AUDIT_URL="http://127.0.0.1:$port/graphql" AUDIT_TOKEN="$token" node "$here/audit.mjs"
