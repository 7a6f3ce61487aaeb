#!/usr/bin/env bash
# Benchmark: directory logins through Causeway against raw search-then-bind with libldap on the same
# slapd, and authenticated reads (which must cost zero directory operations), in one run on this machine.
# Not a test: it prints numbers and ratios. Needs wrk and gcc (Debian packages) and a release build.
#
#   scripts/benchmark-ldap.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-8}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
export CAUSEWAY_LDAP_DIR=$(mktemp -d /tmp/causeway-bench-ldap-XXXXXX)
source "$(bash scripts/ldap.sh start)"
swift build -c release --product causeway >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d /tmp/causeway-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; bash scripts/ldap.sh stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
gcc -O2 -o "$WORK/ldap_search_bind" scripts/bench/ldap_search_bind.c -lldap -llber -lpthread

mkdir -p "$WORK/Config" "$WORK/Connectors"
PORT=$(free_port)
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT }
app: { applicationId: bench }
logging: { level: warning }
metadataStore: { sqlite: ../data/metadata.sqlite }
connectorsDirectory: ../Connectors
identityProviders:
  - name: corp
    kind: ldap
    urls: [$CAUSEWAY_TEST_LDAP_URL]
    threads: $CONNS
    usernameAttribute: uid
    attributes: { department: departmentNumber, displayName: cn }
    bind:
      strategy: searchThenBind
      serviceDN: $CAUSEWAY_TEST_LDAP_READER_DN
      servicePassword: \${LDAP_READER_PASSWORD}
      baseDN: ou=people,$CAUSEWAY_TEST_LDAP_BASE
      filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
    groups:
      memberOfAttribute: memberOf
      roles: { admins: Admin, engineering: Engineer }
loginThrottle: { maxFailuresPerUser: 1000, maxFailuresPerAddress: 100000 }
YAML
cat > "$WORK/Connectors/bench.yaml" <<YAML
kind: sqlite
connection: { path: ../data/bench.sqlite, createMissingTables: true }
collections:
  Item:
    table: items
    fields: { name: { type: string }, score: { type: number } }
    permissions: { get: [authenticated], find: [authenticated], count: [authenticated], create: [], update: [], delete: [] }
    seed:
      - { name: "one", score: 1 }
      - { name: "two", score: 2 }
YAML
LDAP_READER_PASSWORD=$CAUSEWAY_TEST_LDAP_READER_PASSWORD "$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID=$!; PIDS+=($PID)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/parse/health" >/dev/null && break; sleep 0.1; done

TOKEN=$(curl -s -H "X-Parse-Application-Id: bench" -H "Content-Type: application/json" -d '{"username":"alice","password":"alice-secret"}' \
        "http://127.0.0.1:$PORT/parse/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionToken"])')
cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"alice","password":"alice-secret"}'
wrk.headers["X-Parse-Application-Id"] = "bench"
wrk.headers["Content-Type"] = "application/json"
LUA
directory_ops() { grep -cE " (BIND|SRCH) " "$CAUSEWAY_TEST_LDAP_LOG" || true; }
measure() {  # name args... → sets RPS CPU
  local before after out requests
  before=$(cpu_ticks "$PID")
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" "$@")
  after=$(cpu_ticks "$PID")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  RPS=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  CPU=$(python3 -c "print(f'{($after-$before)/$TICK*1e6/$requests:.1f}')")
  if echo "$out" | grep -q "Non-2xx"; then echo "WARNING: non-2xx responses: $(echo "$out" | grep Non-2xx)"; fi
}

echo "measuring ($DURATION s each, $CONNS connections / threads)"
RAW=$("$WORK/ldap_search_bind" "$CAUSEWAY_TEST_LDAP_URL" "ou=people,$CAUSEWAY_TEST_LDAP_BASE" "$CAUSEWAY_TEST_LDAP_READER_DN" \
      "$CAUSEWAY_TEST_LDAP_READER_PASSWORD" alice alice-secret "$CONNS" "$DURATION")
wrk -t2 -c"$CONNS" -d2s -s "$WORK/login.lua" "http://127.0.0.1:$PORT/parse/login" >/dev/null
measure -s "$WORK/login.lua" "http://127.0.0.1:$PORT/parse/login"; LOGIN_RPS=$RPS; LOGIN_CPU=$CPU
wrk -t2 -c"$CONNS" -d2s -H "X-Parse-Application-Id: bench" -H "X-Parse-Session-Token: $TOKEN" "http://127.0.0.1:$PORT/parse/classes/Item?limit=1" >/dev/null
sleep 0.5
OPS_BEFORE=$(directory_ops)
measure -H "X-Parse-Application-Id: bench" -H "X-Parse-Session-Token: $TOKEN" "http://127.0.0.1:$PORT/parse/classes/Item?limit=1"; GET_RPS=$RPS; GET_CPU=$CPU
sleep 0.5
OPS_AFTER=$(directory_ops)
GET_REQUESTS=$((GET_RPS * DURATION))

echo
echo "| run | per second | server CPU µs/request |"
echo "|---|---:|---:|"
echo "| raw search-then-bind with libldap (C, $CONNS threads) | $RAW | |"
echo "| Causeway POST /login (search, bind, groups, session) | $LOGIN_RPS | $LOGIN_CPU |"
echo "| Causeway authenticated GET /classes/Item | $GET_RPS | $GET_CPU |"
echo
echo "logins through Causeway / raw search-then-bind: $(python3 -c "print(f'{$LOGIN_RPS/$RAW*100:.0f}%')")"
echo "directory operations during ~$GET_REQUESTS authenticated GETs: $((OPS_AFTER - OPS_BEFORE))"
