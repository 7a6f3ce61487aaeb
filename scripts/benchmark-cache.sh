#!/usr/bin/env bash
# Benchmark: cached reads through Causeway against two references returning the same bytes, in one run:
# a bare Hummingbird route (the framework's ceiling) and nginx serving the body from a file.
# Not a test: it prints numbers and ratios. Needs wrk and nginx (Debian packages) and release builds.
#
#   scripts/benchmark-cache.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-32}

for tool in wrk nginx; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool; }
done
release_build causeway-baseline
WORK=$(mktemp -d /tmp/causeway-bench-cache-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT_C=$(free_port); PORT_B=$(free_port); PORT_N=$(free_port)

mkdir -p "$WORK/Config" "$WORK/Connectors" "$WORK/www"
chmod 755 "$WORK" "$WORK/www"   # nginx workers run as www-data
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT_C }
app: { applicationId: bench }
logging: { level: warning }
metadataStore: { sqlite: ../data/metadata.sqlite }
connectorsDirectory: ../Connectors
YAML
{
  echo "kind: sqlite"
  echo "connection: { path: ../data/bench.sqlite, createMissingTables: true }"
  echo "cache: { ttlSeconds: 3600, maxBytes: 64MiB }"
  echo "collections:"
  echo "  Item:"
  echo "    table: items"
  echo "    createdAt: created_at"
  echo "    updatedAt: updated_at"
  echo "    fields: { name: { type: string }, category: { type: string }, score: { type: number }, active: { type: boolean } }"
  echo "    seed:"
  for i in $(seq 1 200); do echo "      - { name: \"item $i\", category: \"c-$((i % 20))\", score: $((i * 37 % 1000)), active: $([ $((i % 3)) = 0 ] && echo true || echo false) }"; done
} > "$WORK/Connectors/bench.yaml"
"$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID_C=$!; PIDS+=($PID_C)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT_C/parse/health" >/dev/null && break; sleep 0.1; done
H="X-Parse-Application-Id: bench"
ID=$(curl -s -H "$H" "http://127.0.0.1:$PORT_C/parse/classes/Item?limit=1&order=name" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["objectId"])')
BYID="/parse/classes/Item/$ID"
FIND='/parse/classes/Item?where=%7B%22category%22%3A%22c-7%22%7D&order=-score&limit=10'
curl -s -H "$H" "http://127.0.0.1:$PORT_C$BYID" > "$WORK/www/byid.json"
curl -s -H "$H" "http://127.0.0.1:$PORT_C$FIND" > "$WORK/www/find.json"
[ "$(curl -s -D - -o /dev/null -H "$H" "http://127.0.0.1:$PORT_C$FIND" | grep -i x-causeway-cache | tr -d '\r')" = "X-Causeway-Cache: hit" ] || { echo "find is not served from the cache"; exit 1; }

"$BIN/causeway-baseline" "$PORT_B" "$WORK/www/byid.json" "$WORK/www/find.json" >"$WORK/baseline.log" 2>&1 & PID_B=$!; PIDS+=($PID_B)
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$PORT_N; root $WORK/www; }
}
CONF
/usr/sbin/nginx -c "$WORK/nginx.conf"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT_B/file/0" >/dev/null && curl -sf "http://127.0.0.1:$PORT_N/byid.json" >/dev/null && break; sleep 0.1; done
for url in "http://127.0.0.1:$PORT_B/file/1" "http://127.0.0.1:$PORT_N/find.json"; do
  curl -s "$url" > "$WORK/check.json"
  cmp -s "$WORK/check.json" "$WORK/www/find.json" || { echo "$url does not answer the same bytes:"; head -c 300 "$WORK/check.json"; echo; head -c 300 "$WORK/www/find.json"; exit 1; }
done

nginx_ticks() { local t=0; for p in $(pgrep -f "nginx: (master|worker)" ); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
declare -A RPS CPU LAT
run() { wrk_run "$@"; }  # name ticks-command url [header]
echo "measuring ($DURATION s each, $CONNS connections); by-id body $(wc -c < "$WORK/www/byid.json") bytes, find body $(wc -c < "$WORK/www/find.json") bytes"
run nginx_byid nginx_ticks "http://127.0.0.1:$PORT_N/byid.json"
run bare_byid "cpu_ticks $PID_B" "http://127.0.0.1:$PORT_B/file/0"
run causeway_byid "cpu_ticks $PID_C" "http://127.0.0.1:$PORT_C$BYID" "$H"
run nginx_find nginx_ticks "http://127.0.0.1:$PORT_N/find.json"
run bare_find "cpu_ticks $PID_B" "http://127.0.0.1:$PORT_B/file/1"
if [ -n "${BENCH_PERF:-}" ]; then  # profile the cached find: BENCH_PERF=/tmp/perf.data
  perf record -F 999 -g -p "$PID_C" -o "$BENCH_PERF" -- sleep $((DURATION + 1)) >/dev/null 2>&1 &
fi
run causeway_find "cpu_ticks $PID_C" "http://127.0.0.1:$PORT_C$FIND" "$H"

echo
echo "| run | requests/s | server CPU µs/request |"
echo "|---|---:|---:|"
for n in nginx_byid bare_byid causeway_byid nginx_find bare_find causeway_find; do echo "| $n | ${RPS[$n]} | ${CPU[$n]} |"; done
echo
echo "cached by-id GET / bare route: $(ratio "${RPS[causeway_byid]}" "${RPS[bare_byid]}")   (aim: 80%)"
echo "cached find / bare route:      $(ratio "${RPS[causeway_find]}" "${RPS[bare_find]}")   (aim: 80%)"
echo "bare route / nginx (by-id):    $(ratio "${RPS[bare_byid]}" "${RPS[nginx_byid]}")"
echo "cached by-id GET / nginx:      $(ratio "${RPS[causeway_byid]}" "${RPS[nginx_byid]}")"
echo "cached find / nginx:           $(ratio "${RPS[causeway_find]}" "${RPS[nginx_find]}")"
