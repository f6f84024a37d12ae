#!/usr/bin/env bash
# Opens /graphiql in a real headless Chromium (Debian's package) against cosell on a free port,
# with every host but 127.0.0.1 unreachable, and checks that it asks for the token first, loads
# the schema once the token is accepted, lists `Query` in its docs and runs a query.
# Usage: .ci/graphiql/run.sh [path/to/cosell]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
source .ci/lib.sh
bin="${1:-target/debug/cosell}"
[ -x "$bin" ] || { echo "no cosell binary at $bin" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "installing Debian's chromium for the GraphiQL check"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

npm_ready "$here" playwright-core
secret="graphiql-check-secret-throwaway-0123456789"  # test only
start_cosell "$bin" "$secret"
token="$(COSELL_JWT_SECRET="$secret" "$bin" token --vendor --ttl 10m)"

COSELL_BASE="http://127.0.0.1:$port" COSELL_TOKEN="$token" CHROMIUM="$chromium" \
  node "$here/check.mjs"
