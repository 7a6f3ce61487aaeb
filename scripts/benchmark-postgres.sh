#!/usr/bin/env bash
# Benchmark: Causeway's PostgreSQL connector against pgbench on the same table, and against a bare
# Hummingbird route (the framework's ceiling), all in one run on this machine. Not a test: it prints
# numbers and ratios. Needs wrk (Debian package) and a release build, which it makes.
#
#   scripts/benchmark-postgres.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-32}
ROWS=${BENCH_ROWS:-100000}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
swift build -c release --product causeway >/dev/null
swift build -c release --product causeway-baseline >/dev/null
BIN=$(swift build -c release --show-bin-path)

export CAUSEWAY_PG_DIR=$(mktemp -d /tmp/causeway-bench-pg-XXXXXX); chmod 755 "$CAUSEWAY_PG_DIR"
source "$(bash scripts/postgres.sh start)"
WORK=$(mktemp -d /tmp/causeway-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; bash scripts/postgres.sh stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
export PGPASSWORD=$CAUSEWAY_TEST_PG_PASSWORD
PSQL=("$CAUSEWAY_TEST_PG_BIN/psql" -h 127.0.0.1 -p "$CAUSEWAY_TEST_PG_PORT" -U causeway -d causeway_test -qAt)

echo "loading $ROWS rows"
"${PSQL[@]}" <<SQL
CREATE TABLE bench_items (id bigint PRIMARY KEY, name text NOT NULL, category text NOT NULL, score integer NOT NULL,
                          active boolean NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
INSERT INTO bench_items SELECT g, 'item ' || g, 'c-' || (g % 1000), (g::bigint * 7919 % 10000)::integer, g % 3 = 0,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
  FROM generate_series(1, $ROWS) AS g;
CREATE INDEX bench_items_category_score ON bench_items (category, score DESC, id);
VACUUM ANALYZE bench_items;
SQL
"$CAUSEWAY_TEST_PG_BIN/pgbench" -h 127.0.0.1 -p "$CAUSEWAY_TEST_PG_PORT" -U causeway -i -q -s 10 causeway_test >/dev/null 2>&1

mkdir -p "$WORK/Config" "$WORK/Connectors"
PORT_C=$(free_port)
PORT_B=$(free_port)
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT_C }
app: { applicationId: bench }
logging: { level: warning }
connectorsDirectory: ../Connectors
YAML
cat > "$WORK/Connectors/bench.yaml" <<YAML
kind: postgres
connection:
  host: 127.0.0.1
  port: $CAUSEWAY_TEST_PG_PORT
  database: causeway_test
  user: causeway
  password: \${PGPASSWORD}
  poolSize: $CONNS
collections:
  Item:
    table: bench_items
    objectId: { column: id, type: integer }
    createdAt: created_at
    updatedAt: updated_at
    fields:
      name: { type: string }
      category: { type: string }
      score: { type: number }
      active: { type: boolean }
YAML
"$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID_C=$!; PIDS+=($PID_C)
BASELINE_PG_PORT=$CAUSEWAY_TEST_PG_PORT BASELINE_PG_POOL=$CONNS "$BIN/causeway-baseline" "$PORT_B" >"$WORK/baseline.log" 2>&1 & PID_B=$!; PIDS+=($PID_B)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT_C/parse/health" >/dev/null && curl -sf "http://127.0.0.1:$PORT_B/object" >/dev/null && break; sleep 0.1; done

cat > "$WORK/byid.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/parse/classes/Item/" .. math.random(1, $ROWS), {["X-Parse-Application-Id"] = "bench"})
end
LUA
for route in pool conn future; do
  cat > "$WORK/raw-$route.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/pg/$route/" .. math.random(1, $ROWS))
end
LUA
done
cat > "$WORK/filter.lua" <<LUA
math.randomseed(43)
request = function()
  local w = '%7B%22category%22%3A%22c-' .. math.random(0, 999) .. '%22%2C%22score%22%3A%7B%22%24gte%22%3A5000%7D%7D'
  return wrk.format("GET", "/parse/classes/Item?where=" .. w .. "&order=-score&limit=10", {["X-Parse-Application-Id"] = "bench"})
end
LUA
cat > "$WORK/byid.sql" <<SQL
\set id random(1, $ROWS)
SELECT id, created_at, updated_at, active, category, name, score FROM bench_items WHERE id = :id;
SQL
cat > "$WORK/filter.sql" <<SQL
\set c random(0, 999)
SELECT id, created_at, updated_at, active, category, name, score FROM bench_items WHERE category = 'c-' || :c AND score >= 5000 ORDER BY score DESC, id LIMIT 10;
SQL

declare -A RPS CPU
run_wrk() {  # name pid url [script]
  local name=$1 pid=$2 url=$3 script=${4:-}
  wrk -t2 -c"$CONNS" -d2s ${script:+-s "$script"} "$url" >"$WORK/warmup-$name.log" 2>&1 || { echo "wrk failed for $name:"; cat "$WORK/warmup-$name.log"; tail -20 "$WORK/causeway.log"; exit 1; }   # warm-up
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" ${script:+-s "$script"} "$url")
  after=$(cpu_ticks "$pid")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  CPU[$name]=$(python3 -c "print(f'{($after-$before)/$TICK*1e6/$requests:.1f}')")
  if echo "$out" | grep -q "Non-2xx"; then echo "WARNING: $name had non-2xx responses: $(echo "$out" | grep Non-2xx)"; fi
}
run_pgbench() {  # name [script]
  local name=$1 script=${2:-}
  local out mode=(-S)
  [ -n "$script" ] && mode=(-f "$script")
  out=$("$CAUSEWAY_TEST_PG_BIN/pgbench" -h 127.0.0.1 -p "$CAUSEWAY_TEST_PG_PORT" -U causeway -n -M prepared -c "$CONNS" -j 2 -T "$DURATION" \
        "${mode[@]}" causeway_test 2>/dev/null)
  RPS[$name]=$(echo "$out" | awk -F'= ' '/^tps/ {printf "%.0f", $2}')
}

# BENCH_RUNS limits the runs (names as below, space-separated); BENCH_PERF=name:/tmp/perf.data profiles one run.
RUNS=${BENCH_RUNS:-baseline raw_pool raw_conn raw_future byid filter pgbench_S pgbench_byid pgbench_filter}
wanted() { [[ " $RUNS " == *" $1 "* ]]; }
measure() {  # name, then run_wrk's or run_pgbench's arguments
  local name=$1; shift
  wanted "$name" || return 0
  local perf_pid=""
  if [[ "${BENCH_PERF:-}" == "$name:"* ]]; then
    perf record -F 999 -g -p "$1" -o "${BENCH_PERF#*:}" -- sleep 8 >/dev/null 2>&1 & perf_pid=$!
  fi
  if [[ "$name" == pgbench_* ]]; then run_pgbench "$name" "$@"; else run_wrk "$name" "$@"; fi
  [ -n "$perf_pid" ] && wait "$perf_pid" || true
}

echo "measuring ($DURATION s each, $CONNS connections): $RUNS"
measure baseline "$PID_B" "http://127.0.0.1:$PORT_B/object"
measure raw_pool "$PID_B" "http://127.0.0.1:$PORT_B" "$WORK/raw-pool.lua"
measure raw_conn "$PID_B" "http://127.0.0.1:$PORT_B" "$WORK/raw-conn.lua"
measure raw_future "$PID_B" "http://127.0.0.1:$PORT_B" "$WORK/raw-future.lua"
measure byid "$PID_C" "http://127.0.0.1:$PORT_C" "$WORK/byid.lua"
measure filter "$PID_C" "http://127.0.0.1:$PORT_C" "$WORK/filter.lua"
measure pgbench_S
measure pgbench_byid "$WORK/byid.sql"
measure pgbench_filter "$WORK/filter.sql"

row() { wanted "$1" && echo "| $2 | ${RPS[$1]} | ${CPU[$1]:-} |" || true; }
share() { wanted "$1" && wanted "$2" && echo "$3 $(ratio "${RPS[$1]}" "${RPS[$2]}")${4:+   (aim: $4)}" || true; }
echo
echo "| run | requests/s | server CPU µs/request |"
echo "|---|---:|---:|"
row baseline "bare Hummingbird route (no database)"
row raw_pool "Hummingbird + PostgresNIO by-id select, pooled client (no Causeway code)"
row raw_conn "Hummingbird + PostgresNIO by-id select, shared connections (no Causeway code)"
row raw_future "Hummingbird + PostgresNIO by-id select, shared connections, EventLoopFuture API (no Causeway code)"
row byid "Causeway GET by id"
row filter "Causeway filtered find (category + score, order, limit 10)"
row pgbench_S "pgbench -S -M prepared (pgbench_accounts, scale 10)"
row pgbench_byid "pgbench -M prepared, the by-id select on bench_items"
row pgbench_filter "pgbench -M prepared, the filtered select on bench_items"
echo
share byid baseline "by-id GET / bare route:           " 60%
share byid pgbench_S "by-id GET / pgbench -S:           " 30%
share byid pgbench_byid "by-id GET / same select (pgbench):"
share raw_conn pgbench_byid "raw PostgresNIO / same select:    "
share filter pgbench_filter "filtered find / same select:      " 25%
