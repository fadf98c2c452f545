#!/usr/bin/env bash
# Live-stream latency across instances: two release binaries on one PostgreSQL database. A
# webhook call through instance A starts a run (webhook → document); a browser's stream on
# instance B (`/api/stream`) receives the run's `workflow.completed` activity, which A recorded
# and PostgreSQL's NOTIFY carried to B. Reports p50 / p95 / max from the call's answer on A to
# the event on B, over N changes (default 1,000), one at a time.
# Usage: bench/stream.sh [postgres://…] [N]   (default: the local test database; the bench works
# in a schema of its own, `bench_stream`, dropped first).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_DB="${1:-postgres://postgres@127.0.0.1:5432/test}"
N="${2:-1000}"
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
[ -x target/release/flowdeck ] || cargo build --release -p server
psql "$BASE_DB" -qc "DROP SCHEMA IF EXISTS bench_stream CASCADE; CREATE SCHEMA bench_stream"
DB="$BASE_DB?options=-c%20search_path%3Dbench_stream"
start() {
  DATABASE_URL="$DB" FLOWDECK_SECRET_KEY_FILE="$dir/key" FLOWDECK_ENCRYPTION_KEY_FILE="$dir/enc" \
    FLOWDECK_ADDR="127.0.0.1:$1" FLOWDECK_LOG=warn FLOWDECK_RUNS_PER_MINUTE=100000000 \
    FLOWDECK_WEBHOOK_CALLS_PER_MINUTE=100000000 ./target/release/flowdeck serve &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.2; done
  echo "instance on $1 did not start"; exit 1
}
start 3996
start 3997
a="http://127.0.0.1:3996"
b="http://127.0.0.1:3997"
jar="$dir/cookies"
. bench/hook-workflow.sh "$a"
echo "== $N changes through instance A (webhook calls), received on instance B's /api/stream"
python3 - "$jar" "$b" "$ws" "$a$path" "$N" <<'PY'
import http.client, json, sys, threading, time, urllib.parse, urllib.request
jar, b, ws, hook, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
cookie = "; ".join(f"{f[5]}={f[6]}" for f in (l.rstrip("\n").split("\t") for l in open(jar))
                   if len(f) == 7 and (not f[0].startswith("#") or f[0].startswith("#HttpOnly_")))
received, ready = {}, threading.Event()
def listen():
    host = urllib.parse.urlparse(b)
    conn = http.client.HTTPConnection(host.hostname, host.port)
    conn.request("GET", f"/api/stream?workspace={ws}", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    res = conn.getresponse()
    assert res.status == 200, res.status
    name = ""
    while True:
        line = res.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:") and name == "ready":
            ready.set()
        elif line.startswith("data:") and name == "activity":
            data = json.loads(line[5:])
            if data["name"] == "workflow.completed":
                received[data["payload"]["execution_id"]] = time.perf_counter()
threading.Thread(target=listen, daemon=True).start()
assert ready.wait(10), "the stream on B did not open"
sent = {}
for i in range(n):
    req = urllib.request.Request(hook, data=json.dumps({"id": i}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as res:
        run = json.load(res)["execution_id"]
    sent[run] = time.perf_counter()
    # One change at a time: the next call once this one arrived (or after 2 s).
    deadline = time.perf_counter() + 2
    while run not in received and time.perf_counter() < deadline:
        time.sleep(0.0005)
lat = sorted((received[r] - t) * 1000 for r, t in sent.items() if r in received)
missing = len(sent) - len(lat)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"   received {len(lat)} of {len(sent)} (missing {missing})")
print(f"   p50 {pick(0.50):.1f} ms   p95 {pick(0.95):.1f} ms   max {lat[-1]:.1f} ms")
PY
