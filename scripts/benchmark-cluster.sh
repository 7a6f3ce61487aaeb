#!/usr/bin/env bash
# Benchmark (#15): the PostgreSQL metadata store against the embedded SQLite store, in one run on this
# machine: authenticated GETs (a session token on every request; sessions reused in memory, revocation by
# NOTIFY) and logins (PBKDF2, a session written, the shared failure counter cleared). Two gateways on the
# demo configuration that differ only in `metadataStore`; req/s from wrk and the gateway's CPU time per
# request from /proc/PID/stat. Not a test: it prints numbers and ratios. Needs wrk and a release build.
#
#   scripts/benchmark-cluster.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-16}

need_wrk
release_build   # BENCH_NO_BUILD=1: use the release build as it is

export CAUSEWAY_PG_DIR=$(mktemp -d /tmp/causeway-bench-pg-XXXXXX); chmod 755 "$CAUSEWAY_PG_DIR"
source "$(bash scripts/postgres.sh start)"
WORK=$(mktemp -d /tmp/causeway-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; bash scripts/postgres.sh stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
printf '%s' "$CAUSEWAY_TEST_PG_PASSWORD" > "$WORK/pg-password"

declare -A PORT PID
for store in sqlite postgres; do
  mkdir -p "$WORK/$store"
  cp -r Config Connectors "$WORK/$store/"
  PORT[$store]=$(free_port)
  if [ "$store" = postgres ]; then
    block="metadataStore:\n  postgres:\n    host: 127.0.0.1\n    port: $CAUSEWAY_TEST_PG_PORT\n    database: $CAUSEWAY_TEST_PG_DATABASE\n    user: $CAUSEWAY_TEST_PG_USER\n    password: \${file:$WORK/pg-password}\n    schema: causeway"
  else
    block="metadataStore:\n  sqlite: ../data/metadata.sqlite"
  fi
  python3 - "$WORK/$store/Config/causeway.yaml" "$block" <<'PY'
import re, sys
path, block = sys.argv[1], sys.argv[2].replace("\\n", "\n")
s = open(path).read()
s = re.sub(r"metadataStore:\n  sqlite: [^\n]*", block, s)
s = re.sub(r"liveQuery:.*", "", s, flags=re.S)   # not measured here
open(path, "w").write(s)
PY
  CAUSEWAY_PORT=${PORT[$store]} CAUSEWAY_LOG_LEVEL=warning "$BIN/causeway" serve --config "$WORK/$store/Config/causeway.yaml" >"$WORK/$store.log" 2>&1 &
  PID[$store]=$!; PIDS+=(${PID[$store]})
done
for store in sqlite postgres; do
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:${PORT[$store]}/parse/health/ready" >/dev/null && break; sleep 0.1; done
done

H='X-Parse-Application-Id: causeway-demo'
declare -A TOKEN
for store in sqlite postgres; do
  curl -sf -X POST "http://127.0.0.1:${PORT[$store]}/parse/users" -H "$H" -d '{"username":"bench","password":"correct horse"}' >/dev/null
  TOKEN[$store]=$(curl -sf -X POST "http://127.0.0.1:${PORT[$store]}/parse/login" -H "$H" -d '{"username":"bench","password":"correct horse"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionToken"])')
  ID=$(curl -sf -G "http://127.0.0.1:${PORT[$store]}/parse/classes/Workstation" -H "$H" --data-urlencode limit=1 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["objectId"])')
  cat > "$WORK/get-$store.lua" <<LUA
wrk.headers["X-Parse-Application-Id"] = "causeway-demo"
wrk.headers["X-Parse-Session-Token"] = "${TOKEN[$store]}"
wrk.path = "/parse/classes/Workstation/$ID"
LUA
done
cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/parse/login"
wrk.headers["X-Parse-Application-Id"] = "causeway-demo"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"correct horse"}'
LUA

# run NAME STORE SCRIPT CONNS: prints req/s, and CPU ms per request of that store's gateway.
declare -A RPS CPU
run() {
  local name=$1 store=$2 script=$3 conns=$4
  local before after out reqs
  before=$(cpu_ticks "${PID[$store]}")
  out=$(wrk -t2 -c"$conns" -d"${DURATION}s" -s "$script" "http://127.0.0.1:${PORT[$store]}")
  after=$(cpu_ticks "${PID[$store]}")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  if echo "$out" | grep -q "Non-2xx"; then echo "$name: non-2xx answers:"; echo "$out"; exit 1; fi
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  CPU[$name]=$(python3 -c "print(f'{($after-$before)*1000/$TICK/$reqs:.3f}')")
  printf '%-28s %10s req/s  %8s ms CPU/request  (%s requests)\n' "$name" "${RPS[$name]}" "${CPU[$name]}" "$reqs"
}

# Warm-up, then the pairs back to back.
wrk -t1 -c4 -d2s -s "$WORK/get-sqlite.lua" "http://127.0.0.1:${PORT[sqlite]}" >/dev/null
wrk -t1 -c4 -d2s -s "$WORK/get-postgres.lua" "http://127.0.0.1:${PORT[postgres]}" >/dev/null
echo "authenticated GET by id ($CONNS connections, ${DURATION}s each)"
run "GET sqlite store" sqlite "$WORK/get-sqlite.lua" "$CONNS"
run "GET postgres store" postgres "$WORK/get-postgres.lua" "$CONNS"
echo "login (4 connections, ${DURATION}s each)"
run "login sqlite store" sqlite "$WORK/login.lua" 4
run "login postgres store" postgres "$WORK/login.lua" 4
echo
echo "postgres/sqlite: GET req/s $(ratio "${RPS[GET postgres store]}" "${RPS[GET sqlite store]}"), CPU $(ratio "${CPU[GET postgres store]}" "${CPU[GET sqlite store]}");" \
     "login req/s $(ratio "${RPS[login postgres store]}" "${RPS[login sqlite store]}"), CPU $(ratio "${CPU[login postgres store]}" "${CPU[login sqlite store]}")"
