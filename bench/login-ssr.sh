#!/usr/bin/env bash
# SSR throughput of the login page on loopback, against the release binary.
#   peak:        wrk, 2 threads, 32 connections, 20 s        (requests/s, latency percentiles)
#   fixed rate:  autocannon at RATE requests/s for 20 s      (p50/p99 at that rate)
# Usage: bench/login-ssr.sh [RATE]   (default 1000). Needs `wrk` (apt) and `npm ci --prefix bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${1:-1000}"
PORT=3999
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
[ -x target/release/flowdeck ] || cargo build --release -p server
[ -d bench/node_modules/autocannon ] || npm ci --prefix bench --no-audit --no-fund
DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" FLOWDECK_SECRET_KEY_FILE="$dir/key" FLOWDECK_ADDR="127.0.0.1:$PORT" \
  FLOWDECK_LOG=warn ./target/release/flowdeck serve &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
# The login page only renders once an account exists (before that it redirects to /setup).
curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/auth/setup" \
  --data 'name=Bench&email=bench@example.com&password=benchmark-password&workspace_name=Bench'
url="http://127.0.0.1:$PORT/login"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] || { echo "login page is not 200"; exit 1; }
echo "== peak (wrk -t2 -c32 -d20s)"
wrk -t2 -c32 -d20s --latency "$url" | sed -n '/Latency Distribution/,$p'
echo "== fixed rate: $RATE req/s for 20 s (autocannon)"
bench/node_modules/.bin/autocannon -c 32 -R "$RATE" -d 20 "$url" 2>&1 | sed -n '1,12p'
