#!/usr/bin/env bash
# Benchmark: a find of 50 Bookings with one cross-connector include (Employee lives in another connector)
# against the two separate queries a client would otherwise send (the 50 bookings, then their employees
# with objectId $in […]), in one run on one server. No response cache, so the sources do the work.
# Not a test: it prints numbers. Needs wrk (Debian package) and a release build.
#
#   scripts/benchmark-federation.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-16}

need_wrk
release_build
WORK=$(mktemp -d /tmp/causeway-bench-fed-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(free_port)
MASTER=bench-master-key-0123

mkdir -p "$WORK/Config" "$WORK/Connectors"
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT }
app: { applicationId: bench, masterKey: $MASTER }
logging: { level: warning }
metadataStore: { sqlite: ../data/metadata.sqlite }
connectorsDirectory: ../Connectors
YAML
cat > "$WORK/Connectors/local.yaml" <<YAML
kind: sqlite
connection: { path: ../data/local.sqlite, createMissingTables: true }
collections:
  Booking:
    table: bookings
    createdAt: created_at
    updatedAt: updated_at
    fields: { room: { type: string }, employee: { type: pointer, targetClass: Employee } }
YAML
cat > "$WORK/Connectors/hr.yaml" <<YAML
kind: sqlite
connection: { path: ../data/hr.sqlite, createMissingTables: true }
collections:
  Employee:
    table: employees
    createdAt: created_at
    updatedAt: updated_at
    fields: { name: { type: string }, city: { type: string }, title: { type: string } }
YAML
"$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID=$!; PIDS+=($PID)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/parse/health" >/dev/null && break; sleep 0.1; done
H="X-Parse-Application-Id: bench"
BASE="http://127.0.0.1:$PORT/parse"
python3 - "$BASE" "$MASTER" > "$WORK/urls" <<'PY'
import json, sys, urllib.request, urllib.parse
base, master = sys.argv[1], sys.argv[2]
def post(cls, body):
    req = urllib.request.Request(f"{base}/classes/{cls}", json.dumps(body).encode(), method="POST",
                                 headers={"X-Parse-Application-Id": "bench", "X-Parse-Master-Key": master, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))["objectId"]
employees = [post("Employee", {"name": f"employee {i}", "city": f"city {i % 7}", "title": "engineer"}) for i in range(50)]
for i in range(200):
    post("Booking", {"room": f"R{i:03d}", "employee": {"__type": "Pointer", "className": "Employee", "objectId": employees[i % 50]}})
q = lambda d: urllib.parse.urlencode(d, quote_via=urllib.parse.quote)
print("/parse/classes/Booking?" + q({"limit": "50", "order": "room", "include": "employee"}))
print("/parse/classes/Booking?" + q({"limit": "50", "order": "room"}))
print("/parse/classes/Employee?" + q({"limit": "50", "where": json.dumps({"objectId": {"$in": employees}})}))
PY
INCLUDE=$(sed -n 1p "$WORK/urls"); BOOKINGS=$(sed -n 2p "$WORK/urls"); EMPLOYEES=$(sed -n 3p "$WORK/urls")
n=$(curl -s -H "$H" "http://127.0.0.1:$PORT$INCLUDE" | python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(sum(1 for o in r if o["employee"].get("__type")=="Object"))')
[ "$n" = 50 ] || { echo "the include answer does not hold 50 included employees ($n)"; exit 1; }

declare -A RPS CPU LAT
run() { wrk_measure "$@"; }  # name url
echo "measuring ($DURATION s each, $CONNS connections)"
run include "$INCLUDE"
run bookings "$BOOKINGS"
run employees "$EMPLOYEES"
echo
echo "| run | requests/s | mean latency | server CPU µs/request |"
echo "|---|---:|---:|---:|"
for n in include bookings employees; do echo "| $n | ${RPS[$n]} | ${LAT[$n]} | ${CPU[$n]} |"; done
echo
echo "CPU of the two separate queries: $(python3 -c "print(f'{${CPU[bookings]}+${CPU[employees]}:.1f}')") µs; with include: ${CPU[include]} µs"
