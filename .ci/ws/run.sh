#!/usr/bin/env bash
# Starts cosell on a free port with a throw-away SQLite database and drives its GraphQL
# subscriptions with the client libraries integrators use, under node's test runner: graphql-ws
# on /graphql/ws, and graphql-sse (Server-Sent Events) on /graphql.
# Usage: .ci/ws/run.sh [path/to/cosell]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
source .ci/lib.sh
bin="${1:-target/debug/cosell}"
[ -x "$bin" ] || { echo "no cosell binary at $bin" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

npm_ready "$here" graphql-ws graphql-sse ws graphql
secret="ws-client-secret-throwaway-0123456789abc"  # 40 chars, test only
start_cosell "$bin" "$secret"

# The tests create the partners they need over HTTP and mint their tokens with `cosell token`.
COSELL_HTTP_URL="http://127.0.0.1:$port/graphql" \
COSELL_WS_URL="ws://127.0.0.1:$port/graphql/ws" \
COSELL_BIN="$bin" \
COSELL_JWT_SECRET="$secret" \
  node --test --test-reporter=spec "$here/client.test.mjs"
COSELL_HTTP_URL="http://127.0.0.1:$port/graphql" \
COSELL_WS_URL="ws://127.0.0.1:$port/graphql/ws" \
COSELL_BIN="$bin" \
COSELL_JWT_SECRET="$secret" \
  node --test --test-reporter=spec "$here/sse.test.mjs"
