#!/usr/bin/env bash
# Starts cosell on a free port with a throw-away SQLite database and drives its GraphQL
# subscriptions (/graphql/ws) with the graphql-ws client library, under node's test runner.
# Usage: .ci/ws/run.sh [path/to/cosell]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="${1:-target/debug/cosell}"
[ -x "$bin" ] || { echo "no cosell binary at $bin" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

if [ ! -d "$here/node_modules/graphql-ws" ] || [ ! -d "$here/node_modules/ws" ] \
   || [ ! -d "$here/node_modules/graphql" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

tmp="$(mktemp -d)"
secret="ws-client-secret-throwaway-0123456789abc"  # 40 chars, test only
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
COSELL_JWT_SECRET="$secret" "$bin" serve --listen "127.0.0.1:$port" \
  --database-url "sqlite://$tmp/ws.db" --log-format json >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
cleanup() {
  local rc=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -s "$tmp/server.err" ]; then
    echo "--- last lines of cosell's log ---" >&2
    tail -n 40 "$tmp/server.err" >&2
  fi
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
  echo "cosell did not answer on http://127.0.0.1:$port/healthz" >&2
  exit 2
fi

# The tests create the partners they need over HTTP and mint their tokens with `cosell token`.
COSELL_HTTP_URL="http://127.0.0.1:$port/graphql" \
COSELL_WS_URL="ws://127.0.0.1:$port/graphql/ws" \
COSELL_BIN="$bin" \
COSELL_JWT_SECRET="$secret" \
  node --test --test-reporter=spec "$here/client.test.mjs"
