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

need_wrk
release_build causeway-baseline

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
-- Issue 14: a nullable score (every tenth row has none) with an ordinary index, tags, and a NOT NULL rank.
CREATE TABLE bench_scores (id bigint PRIMARY KEY, score integer, rank integer NOT NULL, name text NOT NULL,
                           tags text[] NOT NULL DEFAULT '{}');
INSERT INTO bench_scores SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE (g::bigint * 7919 % 50000)::integer END,
       (g::bigint * 31 % 100003)::integer, 'score ' || g, ARRAY['t' || (g % 7), 'u' || (g % 13)]
  FROM generate_series(1, $ROWS) AS g;
CREATE INDEX bench_scores_score ON bench_scores (score);
CREATE INDEX bench_scores_rank ON bench_scores (rank);
VACUUM ANALYZE bench_scores;
SQL
"$CAUSEWAY_TEST_PG_BIN/pgbench" -h 127.0.0.1 -p "$CAUSEWAY_TEST_PG_PORT" -U causeway -i -q -s 10 causeway_test >/dev/null 2>&1

mkdir -p "$WORK/Config" "$WORK/Connectors"
PORT_C=$(free_port)
PORT_B=$(free_port)
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT_C }
app: { applicationId: bench, masterKey: bench-master }
logging: { level: notice }
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
  Score:
    table: bench_scores
    objectId: { column: id, type: integer }
    indexHints: [score, rank]
    fields:
      score: { type: number }
      rank: { type: number }
      name: { type: string }
      tags: { type: array }
YAML
# The same table through a connector that never uses keyset paging (OFFSET for every skip), to compare.
cat > "$WORK/Connectors/bench-offset.yaml" <<YAML
kind: postgres
keysetSkipThreshold: 2000000000
connection:
  host: 127.0.0.1
  port: $CAUSEWAY_TEST_PG_PORT
  database: causeway_test
  user: causeway
  password: \${PGPASSWORD}
  poolSize: $CONNS
collections:
  ScoreOffset:
    table: bench_scores
    objectId: { column: id, type: integer }
    fields:
      score: { type: number }
      rank: { type: number }
      name: { type: string }
      tags: { type: array }
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
# Issue 14: score >= X and tags contains T, order -score (nullable, plain index), limit 20.
cat > "$WORK/sorted.lua" <<LUA
math.randomseed(44)
request = function()
  local w = '%7B%22score%22%3A%7B%22%24gte%22%3A' .. math.random(25000, 49000) .. '%7D%2C%22tags%22%3A%22t' .. math.random(0, 6) .. '%22%7D'
  return wrk.format("GET", "/parse/classes/Score?where=" .. w .. "&order=-score&limit=20", {["X-Parse-Application-Id"] = "bench"})
end
LUA
# Deep pages: order -rank (NOT NULL, indexed), skip 40,000..60,000, limit 20: keyset (Score) vs OFFSET (ScoreOffset).
for class in Score ScoreOffset; do
  cat > "$WORK/deep-$class.lua" <<LUA
math.randomseed(45)
request = function()
  return wrk.format("GET", "/parse/classes/$class?order=-rank&limit=20&skip=" .. math.random(40000, 60000), {["X-Parse-Application-Id"] = "bench"})
end
LUA
done
cat > "$WORK/sorted.sql" <<SQL
\set x random(25000, 49000)
\set t random(0, 6)
SELECT id, name, rank, score, tags FROM bench_scores WHERE score >= :x AND ARRAY['t' || :t] <@ tags ORDER BY score DESC, id LIMIT 20;
SQL
cat > "$WORK/deep_offset.sql" <<SQL
\set s random(40000, 60000)
SELECT id, name, rank, score, tags FROM bench_scores ORDER BY rank DESC, id LIMIT 20 OFFSET :s;
SQL
cat > "$WORK/deep_keyset.sql" <<SQL
\set s random(40000, 60000)
WITH b AS MATERIALIZED (SELECT rank AS k0, id AS k1 FROM bench_scores ORDER BY rank DESC, id LIMIT 1 OFFSET :s)
SELECT id, name, rank, score, tags FROM bench_scores WHERE rank <= (SELECT k0 FROM b) AND (rank < (SELECT k0 FROM b) OR (rank = (SELECT k0 FROM b) AND id >= (SELECT k1 FROM b))) ORDER BY rank DESC, id LIMIT 20;
SQL
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
RUNS=${BENCH_RUNS:-baseline raw_pool raw_conn raw_future byid filter sorted deep_keyset deep_offset pgbench_S pgbench_byid pgbench_filter pgbench_sorted pgbench_deep_keyset pgbench_deep_offset}
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
measure sorted "$PID_C" "http://127.0.0.1:$PORT_C" "$WORK/sorted.lua"
measure deep_keyset "$PID_C" "http://127.0.0.1:$PORT_C" "$WORK/deep-Score.lua"
measure deep_offset "$PID_C" "http://127.0.0.1:$PORT_C" "$WORK/deep-ScoreOffset.lua"
measure pgbench_S
measure pgbench_byid "$WORK/byid.sql"
measure pgbench_filter "$WORK/filter.sql"
measure pgbench_sorted "$WORK/sorted.sql"
measure pgbench_deep_keyset "$WORK/deep_keyset.sql"
measure pgbench_deep_offset "$WORK/deep_offset.sql"

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
row sorted "Causeway sorted find (score >= X, tags contains T, order -score on a nullable indexed column, limit 20)"
row deep_keyset "Causeway deep page: order -rank, skip 40,000-60,000, limit 20 (keyset)"
row deep_offset "Causeway deep page: the same with OFFSET (keysetSkipThreshold off)"
row pgbench_S "pgbench -S -M prepared (pgbench_accounts, scale 10)"
row pgbench_byid "pgbench -M prepared, the by-id select on bench_items"
row pgbench_filter "pgbench -M prepared, the filtered select on bench_items"
row pgbench_sorted "pgbench -M prepared, the sorted select on bench_scores"
row pgbench_deep_keyset "pgbench -M prepared, the deep page as the keyset statement"
row pgbench_deep_offset "pgbench -M prepared, the deep page with OFFSET"
echo
share byid baseline "by-id GET / bare route:           " 60%
share byid pgbench_S "by-id GET / pgbench -S:           " 30%
share byid pgbench_byid "by-id GET / same select (pgbench):"
share raw_conn pgbench_byid "raw PostgresNIO / same select:    "
share filter pgbench_filter "filtered find / same select:      " 25%
share sorted pgbench_sorted "sorted find / same select:        " 25%
share deep_keyset deep_offset "deep page keyset / OFFSET:        "
share pgbench_deep_keyset pgbench_deep_offset "same SQL under pgbench, keyset / OFFSET:"

# The plans, before (Parse's NULL placement spelled out, as until issue 14) and after (what the gateway runs now).
if wanted sorted; then
  echo
  echo "EXPLAIN ANALYZE before: ORDER BY score DESC NULLS LAST"
  "${PSQL[@]}" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, name, rank, score, tags FROM bench_scores WHERE score >= 40000 AND ARRAY['t3'] <@ tags ORDER BY score DESC NULLS LAST, id LIMIT 20"
  echo "EXPLAIN ANALYZE after: the filter excludes NULL scores, so ORDER BY score DESC"
  "${PSQL[@]}" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, name, rank, score, tags FROM bench_scores WHERE score >= 40000 AND ARRAY['t3'] <@ tags ORDER BY score DESC, id LIMIT 20"
  echo "EXPLAIN ANALYZE deep page with OFFSET:"
  "${PSQL[@]}" -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, name, rank, score, tags FROM bench_scores ORDER BY rank DESC, id LIMIT 20 OFFSET 50000"
  echo "EXPLAIN ANALYZE deep page with the keyset condition (the gateway's statement, values inlined):"
  "${PSQL[@]}" -c "EXPLAIN (ANALYZE, COSTS OFF) WITH _cw_b AS MATERIALIZED (SELECT rank AS k0, id AS k1 FROM bench_scores ORDER BY rank DESC, id LIMIT 1 OFFSET 50000)
    SELECT id, name, rank, score, tags FROM bench_scores WHERE rank <= (SELECT k0 FROM _cw_b) AND (rank < (SELECT k0 FROM _cw_b) OR (rank = (SELECT k0 FROM _cw_b) AND id >= (SELECT k1 FROM _cw_b)))
    ORDER BY rank DESC, id LIMIT 20"
  echo "The gateway's own statements and plans (X-Causeway-Explain with the master key, logged at notice level):"
  LOGLINES=$(wc -l < "$WORK/causeway.log")
  for q in 'where=%7B%22score%22%3A%7B%22%24gte%22%3A40000%7D%2C%22tags%22%3A%22t3%22%7D&order=-score&limit=20' 'order=-score&limit=20' 'order=-rank&limit=20&skip=50000'; do
    curl -s -o /dev/null "http://127.0.0.1:$PORT_C/parse/classes/Score?$q" -H 'X-Parse-Application-Id: bench' -H 'X-Parse-Master-Key: bench-master' -H 'X-Causeway-Explain: 1'
  done
  sleep 0.5
  tail -n +"$((LOGLINES + 1))" "$WORK/causeway.log" | cut -c1-1500
fi
