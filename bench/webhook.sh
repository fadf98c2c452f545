#!/usr/bin/env bash
# Webhook trigger throughput on loopback, against the release binary: an active workflow
# (webhook → generate document) is called by wrk with POSTed JSON for 20 s; then the engine
# drains the queue and the script reports calls accepted per second, runs completed, and how long
# the engine took to finish them all.
# Usage: bench/webhook.sh [postgres://…]   (default: a SQLite file). Needs `wrk` (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=3998
dir=$(mktemp -d)
DB="${1:-sqlite://$dir/bench.db?mode=rwc}"
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
[ -x target/release/flowdeck ] || cargo build --release -p server
DATABASE_URL="$DB" FLOWDECK_SECRET_KEY_FILE="$dir/key" FLOWDECK_ENCRYPTION_KEY_FILE="$dir/enc" \
  FLOWDECK_ADDR="127.0.0.1:$PORT" FLOWDECK_LOG=warn FLOWDECK_RUNS_PER_MINUTE=100000000 FLOWDECK_RUNS_IN_FLIGHT=10000000 FLOWDECK_WEBHOOK_CALLS_PER_MINUTE=100000000 ./target/release/flowdeck serve &
pid=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
jar="$dir/cookies"
. bench/hook-workflow.sh "$base"
url="$base$path"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"id":0}' "$url")" = 202 ] \
  || { echo "the webhook does not answer 202"; exit 1; }
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id": 42, "customer": "bench"}'
LUA
echo "== webhook calls (wrk -t2 -c32 -d20s, POST JSON)"
start=$(date +%s.%N)
wrk -t2 -c32 -d20s --latency -s "$dir/post.lua" "$url" > "$dir/wrk.txt"
sed -n '/Latency Distribution/,$p' "$dir/wrk.txt"
accepted=$(awk '/requests in/ { print $1 }' "$dir/wrk.txt")
# The engine works through what was accepted; the workspace's run list says when it is done.
count() {
  curl -fs -b "$jar" "$base/api/engine/all" --data "workspace_id=$ws&status=$1&period=all" \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
while [ "$(count PENDING)" != 0 ] || [ "$(count RUNNING)" != 0 ]; do sleep 0.5; done
end=$(date +%s.%N)
echo "== all $accepted accepted runs finished $(python3 -c "print(round($end - $start - 20, 1))") s after the calls stopped:"
echo "   $(python3 -c "print(round($accepted / ($end - $start)))") runs/s from first call to last run's end"
echo "   failed runs: $(count FAILED) (lists show at most 100)"
