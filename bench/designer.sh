#!/usr/bin/env bash
# Designer benchmarks (open 500 nodes, drag on 1,000 nodes / 1,500 edges, save 500 nodes) in
# Debian's Chromium against the release binary and bundle on loopback. See bench/designer.mjs.
# Usage: bench/designer.sh   (needs `make bundle`, chromium, and `npm ci --prefix end2end`)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=3998
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
[ -x target/release/flowdeck ] || cargo build --release -p server
[ -f target/site/pkg/version ] || cargo xtask build
DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" FLOWDECK_SECRET_KEY_FILE="$dir/key" FLOWDECK_ADDR="127.0.0.1:$PORT" \
  FLOWDECK_LOG=warn ./target/release/flowdeck serve &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
node bench/designer.mjs "http://127.0.0.1:$PORT"
