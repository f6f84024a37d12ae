#!/usr/bin/env bash
# Starts cosell on a free port with a throw-away SQLite database and runs the graphql-http
# server audits against it. Usage: .ci/audit/run.sh [path/to/cosell]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="${1:-target/debug/cosell}"
[ -x "$bin" ] || { echo "no cosell binary at $bin" >&2; exit 2; }

if [ ! -d "$here/node_modules/graphql-http" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

tmp="$(mktemp -d)"
secret="audit-secret-throwaway-0123456789abcdefg"  # 40 chars, test only
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
COSELL_JWT_SECRET="$secret" "$bin" serve --listen "127.0.0.1:$port" \
  --database-url "sqlite://$tmp/audit.db" --log-format json >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
cleanup() {
  local rc=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

up=""
for _ in $(seq 1 100); do
  kill -0 "$server" 2>/dev/null || break
  if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "cosell did not answer on http://127.0.0.1:$port/healthz; its stderr:" >&2
  tail -n 30 "$tmp/server.err" >&2
  exit 2
fi
token="$(COSELL_JWT_SECRET="$secret" "$bin" token --vendor --role ADMIN --ttl 10m | tail -n 1)"
AUDIT_URL="http://127.0.0.1:$port/graphql" AUDIT_TOKEN="$token" node "$here/audit.mjs"
