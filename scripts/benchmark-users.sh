#!/usr/bin/env bash
# Benchmark: queries on _User among 20,000 users in the embedded SQLite metadata store, in one run: a lookup
# by username and the newest ten users (both run in the store since GET /users pushes conditions, sorting and
# paging down), against a condition on a directory attribute (department), which is evaluated in the gateway
# over every user, as every GET /users query was before. Reference: the bare health route. req/s from wrk and
# the gateway's CPU time per request from /proc/PID/stat. Not a test: it prints numbers and ratios.
#
#   scripts/benchmark-users.sh [seconds-per-run] [connections] [users]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-16}
USERS=${3:-20000}

need_wrk
release_build   # BENCH_NO_BUILD=1: use the release build as it is

WORK=$(mktemp -d /tmp/causeway-bench-users-XXXXXX)
cp -r Config Connectors "$WORK/"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
KEY="bench-master-key-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PORT=$(free_port)
CAUSEWAY_PORT=$PORT CAUSEWAY_MASTER_KEY=$KEY CAUSEWAY_LOG_LEVEL=warning "$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/gateway.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/parse/health/ready" >/dev/null && break; sleep 0.1; done

# The users, written straight into the store the gateway created (WAL: the gateway keeps running).
sqlite3 "$WORK/data/metadata.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS)
INSERT INTO causeway_users (object_id, username, email, provider, attributes, roles, roles_refreshed_at, created_at, updated_at)
SELECT printf('b%09d', i), 'user' || i, 'user' || i || '@example.com', 'local', json_object('department', 'D' || (i % 10)), '[]', 0,
       1700000000000 + i, 1700000000000 + i FROM n;
SQL
echo "$(sqlite3 "$WORK/data/metadata.sqlite" 'SELECT count(*) FROM causeway_users') users"

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
declare -A RPS CPU LAT
# measure NAME PATH: wrk_run with the master key; prints req/s and the gateway's CPU µs per request.
measure() {
  wrk_run "$1" "cpu_ticks $PID" "http://127.0.0.1:$PORT$2" "X-Parse-Application-Id: causeway-demo" "X-Parse-Master-Key: $KEY"
  printf '%-34s %8s req/s  %8s µs CPU/request\n' "$1" "${RPS[$1]}" "${CPU[$1]}"
}

# Each answer checked once before it is measured.
curl -sf -H 'X-Parse-Application-Id: causeway-demo' -H "X-Parse-Master-Key: $KEY" \
  "http://127.0.0.1:$PORT/parse/users?where=$(enc '{"username":"user12345"}')" | grep -q '"username":"user12345"'
echo "$CONNS connections, ${DURATION}s each"
measure "bare route (/parse/health/live)" "/parse/health/live"
measure "username lookup (store)" "/parse/users?where=$(enc '{"username":"user12345"}')"
measure "newest 10 (store)" "/parse/users?order=-createdAt&limit=10"
measure "department, limit 10 (in memory)" "/parse/users?where=$(enc '{"department":"D3"}')&limit=10"
echo
memory=${CPU[department, limit 10 (in memory)]} lookup=${CPU[username lookup (store)]} bare=${CPU[bare route (/parse/health/live)]}
python3 -c "print(f'the in-memory path costs {$memory/$lookup:.0f}x the CPU of a username lookup; a lookup costs {$lookup/$bare:.1f}x the bare route')"
