#!/usr/bin/env bash
# Benchmark: directory logins through Causeway against raw search-then-bind with libldap on the same
# slapd, and authenticated reads (which must cost zero directory operations), in one run on this machine.
# Not a test: it prints numbers and ratios. Needs wrk and gcc (Debian packages) and a release build.
#
#   scripts/benchmark-ldap.sh [seconds-per-run] [connections]
#
# Then, when Active Directory's ports (389/636) are free (only one Samba AD DC can run on a machine) and
# CAUSEWAY_BENCH_AD is not 0: a Samba AD DC (scripts/samba-ad.sh) and the median login latency (one
# connection, wrk --latency) of alice (3 groups, one nested) and pat (1,100 groups) with flat groups
# (memberOf + (member={dn}) search), nested through tokenGroups, and nested through the in-chain rule.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-8}

need_wrk
export CAUSEWAY_LDAP_DIR=$(mktemp -d /tmp/causeway-bench-ldap-XXXXXX)
source "$(bash scripts/ldap.sh start)"
release_build
WORK=$(mktemp -d /tmp/causeway-bench-XXXXXX)
PIDS=()
AD_STARTED=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/ldap.sh stop >/dev/null 2>&1 || true
  if [ -n "$AD_STARTED" ]; then bash scripts/samba-ad.sh stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
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

# ---- Active Directory: flat vs nested groups (median login latency) ----
if [ "${CAUSEWAY_BENCH_AD:-1}" = 0 ]; then exit 0; fi
if [ -n "$(ss -Hltn '( sport = :389 or sport = :636 )' 2>/dev/null)" ]; then
  echo; echo "Active Directory part skipped: something listens on 389/636 (only one Samba AD DC per machine)"; exit 0
fi
export CAUSEWAY_AD_DIR=$(mktemp -d /tmp/causeway-bench-ad-XXXXXX)
AD_STARTED=1
source "$(bash scripts/samba-ad.sh start)"
AD_OU="OU=Causeway,$CAUSEWAY_TEST_AD_BASE"
ad_server() {  # name, groups YAML → starts causeway, sets AD_PORT AD_PID
  local dir="$WORK/ad-$1"; mkdir -p "$dir/Config" "$dir/Connectors"
  AD_PORT=$(free_port)
  cat > "$dir/Config/causeway.yaml" <<YAML
server: { port: $AD_PORT }
app: { applicationId: bench }
logging: { level: warning }
metadataStore: { sqlite: ../data/metadata.sqlite }
connectorsDirectory: ../Connectors
identityProviders:
  - name: ad
    kind: ldap
    urls: [$CAUSEWAY_TEST_AD_URL]
    threads: $CONNS
    usernameAttribute: sAMAccountName
    idAttribute: objectGUID
    attributes: { department: department }
    bind:
      strategy: searchThenBind
      serviceDN: "$CAUSEWAY_TEST_AD_SERVICE_DN"
      servicePassword: \${AD_SERVICE_PASSWORD}
      baseDN: "$AD_OU"
      filter: "(&(objectClass=user)(sAMAccountName={username}))"
    groups:
      memberOfAttribute: memberOf
      search: { baseDN: "OU=Groups,$AD_OU", filter: "(member={dn})" }
      pageSize: 1000
      roles: { "CN=App Admins,OU=Groups,$AD_OU": Admin, engineering: Engineer, staff: Staff }
      unmappedGroups: cn
$2
loginThrottle: { maxFailuresPerUser: 1000, maxFailuresPerAddress: 100000 }
YAML
  AD_SERVICE_PASSWORD=$CAUSEWAY_TEST_AD_SERVICE_PASSWORD "$BIN/causeway" serve --config "$dir/Config/causeway.yaml" >"$dir/causeway.log" 2>&1 & AD_PID=$!; PIDS+=($AD_PID)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$AD_PORT/parse/health" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$AD_PORT/parse/health" >/dev/null || { echo "causeway ($1) did not start:"; cat "$dir/causeway.log"; exit 1; }
}
ad_login_lua() {  # user → lua file
  cat > "$WORK/ad-$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"username":"$1","password":"$CAUSEWAY_TEST_AD_USER_PASSWORD"}'
wrk.headers["X-Parse-Application-Id"] = "bench"
wrk.headers["Content-Type"] = "application/json"
LUA
}
ad_login_lua alice; ad_login_lua pat
declare -A MEDIAN ADCPU
ad_measure() {  # case user → MEDIAN[case/user] (ms), ADCPU[case/user] (µs per login)
  local out before after requests
  wrk -t1 -c1 -d2s -s "$WORK/ad-$2.lua" "http://127.0.0.1:$AD_PORT/parse/login" >/dev/null
  before=$(cpu_ticks "$AD_PID")
  out=$(wrk -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/ad-$2.lua" "http://127.0.0.1:$AD_PORT/parse/login")
  after=$(cpu_ticks "$AD_PID")
  if echo "$out" | grep -q "Non-2xx"; then echo "WARNING ($1, $2): non-2xx responses: $(echo "$out" | grep Non-2xx)"; fi
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  MEDIAN[$1/$2]=$(echo "$out" | awk '$1 == "50%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.1f", v }')
  ADCPU[$1/$2]=$(python3 -c "print(f'{($after-$before)/$TICK*1e6/$requests:.0f}')")
  echo "  $1 $2: median ${MEDIAN[$1/$2]} ms, $requests logins, ${ADCPU[$1/$2]} µs Causeway CPU per login"
}
echo; echo "Active Directory (Samba $(samba --version | awk '{print $2}')), one connection, $DURATION s each"
ad_server flat "";                                                             ad_measure flat alice; ad_measure flat pat; kill "$AD_PID"
ad_server tokenGroups "      nested: true";                                   ad_measure tokenGroups alice; ad_measure tokenGroups pat; kill "$AD_PID"
ad_server inChain "      nested: true
      nestedMethod: inChain";                                                  ad_measure inChain alice; ad_measure inChain pat; kill "$AD_PID"
echo
echo "| AD login (searchThenBind) | alice median ms | alice CPU µs | pat (1,100 groups) median ms | pat CPU µs |"
echo "|---|---:|---:|---:|---:|"
for c in flat tokenGroups inChain; do
  echo "| $c | ${MEDIAN[$c/alice]} | ${ADCPU[$c/alice]} | ${MEDIAN[$c/pat]} | ${ADCPU[$c/pat]} |"
done
echo
echo "nested (tokenGroups) / flat median: alice $(python3 -c "print(f'{${MEDIAN[tokenGroups/alice]}/${MEDIAN[flat/alice]}:.2f}×')"), pat $(python3 -c "print(f'{${MEDIAN[tokenGroups/pat]}/${MEDIAN[flat/pat]}:.2f}×')")"
echo "nested (in-chain) / flat median: alice $(python3 -c "print(f'{${MEDIAN[inChain/alice]}/${MEDIAN[flat/alice]}:.2f}×')"), pat $(python3 -c "print(f'{${MEDIAN[inChain/pat]}/${MEDIAN[flat/pat]}:.2f}×')")"
