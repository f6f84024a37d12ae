# Shared by the CI checks that drive a real cosell server from Node.js.
# Usage: source .ci/lib.sh; npm_ready DIR PKG...; start_cosell BIN SECRET
# start_cosell sets $port and $tmp, starts the server on a throw-away SQLite database, stops it
# on exit (printing its log when the check failed) and waits until /healthz answers.

# Installs DIR's locked packages unless every named one is there.
npm_ready() {
  local dir="$1"; shift
  for pkg in "$@"; do
    if [ ! -d "$dir/node_modules/$pkg" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      return
    fi
  done
}

start_cosell() {
  local bin="$1" secret="$2"
  tmp="$(mktemp -d)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  COSELL_JWT_SECRET="$secret" "$bin" serve --listen "127.0.0.1:$port" \
    --database-url "sqlite://$tmp/cosell.db" --log-format json >"$tmp/server.out" 2>"$tmp/server.err" &
  server=$!
  trap stop_cosell EXIT
  local up=""
  for _ in $(seq 1 100); do
    kill -0 "$server" 2>/dev/null || break
    if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "cosell did not answer on http://127.0.0.1:$port/healthz" >&2
    exit 2
  fi
}

stop_cosell() {
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
