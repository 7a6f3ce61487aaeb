#!/usr/bin/env bash
# Benchmark: sub-queries on two classes in one PostgreSQL database, pushed down as one statement (semi-join)
# against the two-step path (the inner find, then an $in / $nin list on the outer class), in one run on one server.
# The two-step reference reads the same tables through a second connector that logs in as another PostgreSQL user
# (a connector never assumes another user sees the same rows, so it is not handed the sub-query). No response cache.
# Not a test: it prints numbers. Needs wrk (Debian package) and a release build.
#
#   scripts/benchmark-subquery.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-16}

need_wrk
release_build
source "$(bash scripts/postgres.sh start)"
WORK=$(mktemp -d /tmp/causeway-bench-subquery-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; bash scripts/postgres.sh stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
export PGPASSWORD=$CAUSEWAY_TEST_PG_PASSWORD
PSQL=("$CAUSEWAY_TEST_PG_BIN/psql" -h 127.0.0.1 -p "$CAUSEWAY_TEST_PG_PORT" -U causeway -d causeway_test -qAt)
"${PSQL[@]}" <<SQL
CREATE ROLE causeway_other LOGIN PASSWORD '$PGPASSWORD';
CREATE TABLE employees (id text PRIMARY KEY, name text NOT NULL, city text NOT NULL);
INSERT INTO employees SELECT 'e' || i, 'employee ' || i, 'city ' || (i % 20) FROM generate_series(1, 2000) AS i;
CREATE TABLE bookings (id text PRIMARY KEY, room text NOT NULL, employee_id text);
INSERT INTO bookings SELECT 'b' || i, 'R' || lpad(i::text, 6, '0'), 'e' || (1 + (i * 7919) % 2000) FROM generate_series(1, 100000) AS i;
CREATE INDEX ON bookings (employee_id);
CREATE INDEX ON bookings (room COLLATE "C");
GRANT SELECT ON employees, bookings TO causeway_other;
ANALYZE;
SQL

PORT=$(free_port)
MASTER=bench-master-key-0123
mkdir -p "$WORK/Config" "$WORK/Connectors"
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT }
app: { applicationId: bench, masterKey: $MASTER }
logging: { level: notice }
connectorsDirectory: ../Connectors
YAML
connector() {  # file user booking-class employee-class
  cat > "$WORK/Connectors/$1.yaml" <<YAML
kind: postgres
connection:
  host: 127.0.0.1
  port: $CAUSEWAY_TEST_PG_PORT
  database: causeway_test
  user: $2
  password: \${PGPASSWORD}
  poolSize: $CONNS
collections:
$3
YAML
}
connector joined causeway "  Booking:
    table: bookings
    objectId: { column: id, type: string }
    fields: { room: { type: string }, employee: { type: pointer, targetClass: Employee, column: employee_id } }
  Employee:
    table: employees
    objectId: { column: id, type: string }
    fields: { name: { type: string }, city: { type: string } }
  BookingB:
    table: bookings
    objectId: { column: id, type: string }
    fields: { room: { type: string }, employee: { type: pointer, targetClass: EmployeeB, column: employee_id } }"
connector other causeway_other "  EmployeeB:
    table: employees
    objectId: { column: id, type: string }
    fields: { name: { type: string }, city: { type: string } }"
"$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID=$!; PIDS+=($PID)
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/parse/health" >/dev/null && break; sleep 0.1; done
H="X-Parse-Application-Id: bench"

url() {  # class operator inner-class inner-where-json
  python3 -c 'import json, sys, urllib.parse as u
cls, op, inner, w = sys.argv[1:]
where = {"employee": {op: {"className": inner, "where": json.loads(w)}}}
print(f"/parse/classes/{cls}?" + u.urlencode({"where": json.dumps(where), "order": "room", "limit": "50"}, quote_via=u.quote))' "$@"
}
IN_ONE=$(url Booking '$inQuery' Employee '{"city":"city 3"}');        IN_TWO=$(url BookingB '$inQuery' EmployeeB '{"city":"city 3"}')
NOTIN_ONE=$(url Booking '$notInQuery' Employee '{"city":"city 3"}');  NOTIN_TWO=$(url BookingB '$notInQuery' EmployeeB '{"city":"city 3"}')

# Same answers, and the statements each path runs (X-Causeway-Explain with the master key logs them).
for pair in "$IN_ONE $IN_TWO" "$NOTIN_ONE $NOTIN_TWO"; do
  set -- $pair
  a=$(curl -s -H "$H" "http://127.0.0.1:$PORT$1" | python3 -c 'import json,sys; print([o["objectId"] for o in json.load(sys.stdin)["results"]])')
  b=$(curl -s -H "$H" "http://127.0.0.1:$PORT$2" | python3 -c 'import json,sys; print([o["objectId"] for o in json.load(sys.stdin)["results"]])')
  [ "$a" = "$b" ] && [ "$a" != "[]" ] || { echo "the two paths answer differently: $a / $b"; exit 1; }
  for u in "$1" "$2"; do curl -s -o /dev/null -H "$H" -H "X-Parse-Master-Key: $MASTER" -H "X-Causeway-Explain: 1" "http://127.0.0.1:$PORT$u"; done
done
one=$(grep -c 'IN (SELECT\|NOT EXISTS (SELECT' "$WORK/causeway.log" || true)
[ "$one" -ge 2 ] || { echo "no pushed-down statement in the log"; cat "$WORK/causeway.log"; exit 1; }

declare -A RPS CPU LAT
run() { wrk_measure "$@"; }  # name url
echo "measuring ($DURATION s each, $CONNS connections)"
run "inQuery, one statement" "$IN_ONE"
run "inQuery, two steps" "$IN_TWO"
run "notInQuery, one statement" "$NOTIN_ONE"
run "notInQuery, two steps" "$NOTIN_TWO"
echo
echo "| run | requests/s | mean latency | server CPU µs/request |"
echo "|---|---:|---:|---:|"
for n in "inQuery, one statement" "inQuery, two steps" "notInQuery, one statement" "notInQuery, two steps"; do
  echo "| $n | ${RPS[$n]} | ${LAT[$n]} | ${CPU[$n]} |"
done
