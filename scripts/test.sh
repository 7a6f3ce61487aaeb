#!/usr/bin/env bash
# Runs every test: unit and integration tests (swift test), then an end-to-end smoke test of the
# real `causeway` binary on the embedded demo. Installs what the tests need when it is missing.
# Usage: scripts/test.sh            (from anywhere; CI calls it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# --- prerequisites -----------------------------------------------------------------------------
need_apt=()
command -v swift >/dev/null || { echo "swift is not on PATH (expected the Swift 6 toolchain)"; exit 1; }
command -v python3 >/dev/null || need_apt+=(python3)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# --- servers the integration tests talk to -------------------------------------------------------
log "starting PostgreSQL for the integration tests (scripts/postgres.sh)"
export CAUSEWAY_PG_DIR=${CAUSEWAY_PG_DIR:-$(mktemp -d /tmp/causeway-pg-XXXXXX)}
chmod 755 "$CAUSEWAY_PG_DIR"
pg_env=$(bash scripts/postgres.sh start)
trap 'if [ -n "${test_session:-}" ]; then end_session "$test_session"; fi
      bash scripts/postgres.sh stop >/dev/null 2>&1 || true; bash scripts/ldap.sh stop >/dev/null 2>&1 || true
      if [ -n "${CAUSEWAY_AD_DIR:-}" ]; then bash scripts/samba-ad.sh stop >/dev/null 2>&1 || true; fi' EXIT
# shellcheck disable=SC1090
source "$pg_env"
echo "PostgreSQL $("$CAUSEWAY_TEST_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$CAUSEWAY_TEST_PG_PORT"

# slapd also brings libldap2-dev, which the build needs.
log "starting OpenLDAP slapd for the directory tests (scripts/ldap.sh)"
export CAUSEWAY_LDAP_DIR=${CAUSEWAY_LDAP_DIR:-$(mktemp -d /tmp/causeway-ldap-XXXXXX)}
ldap_env=$(bash scripts/ldap.sh start)
# shellcheck disable=SC1090
source "$ldap_env"
echo "slapd $(/usr/sbin/slapd -VV 2>&1 | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -1) on $CAUSEWAY_TEST_LDAP_URL and $CAUSEWAY_TEST_LDAPS_URL"

# Active Directory's ports are fixed (389/636): samba-ad.sh refuses to start when something holds them.
log "starting a Samba Active Directory domain controller for the directory tests (scripts/samba-ad.sh)"
export CAUSEWAY_AD_DIR=${CAUSEWAY_AD_DIR:-$(mktemp -d /tmp/causeway-ad-XXXXXX)}
ad_env=$(bash scripts/samba-ad.sh start)
# shellcheck disable=SC1090
source "$ad_env"
echo "Samba $(samba -V | awk '{print $2}') AD DC for $CAUSEWAY_TEST_AD_REALM on $CAUSEWAY_TEST_AD_URL and $CAUSEWAY_TEST_AD_LDAPS_URL"

# --- build and unit/integration tests ------------------------------------------------------------
log "building (first build takes a few minutes)"
bash scripts/build-deps.sh
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" | tail -5 || true
swift build --build-tests >/dev/null

# Two runs: the PostgreSQL integration suites in a process of their own (Docs/testing.md). Each run
# normally takes well under a minute. One still running after CAUSEWAY_TEST_TIMEOUT seconds (5 minutes)
# has stalled: it is ended, the tests that started but never finished are listed, and the command fails.
#
# swift test runs in a session of its own (setsid), because it starts the test binary in a process
# group of its own: ending the session's processes, by their ids, ends exactly what this run started.
TEST_TIMEOUT=${CAUSEWAY_TEST_TIMEOUT:-300}
test_session=""
end_session() {  # sid: TERM, then after 10 s KILL, every process still in the session
  local sid=$1 pids _
  for signal in TERM KILL; do
    pids=$(ps -s "$sid" -o pid= | tr -d ' ' | tr '\n' ' ') || true
    [ -n "${pids// /}" ] || return 0
    # shellcheck disable=SC2086
    kill -"$signal" $pids 2>/dev/null || true
    for _ in $(seq 100); do [ -n "$(ps -s "$sid" -o pid= || true)" ] || return 0; sleep 0.1; done
  done
}
swift_tests=0
run_tests() {
  local label=$1; shift
  local out sidfile pid progress status deadline
  log "swift test ($label)"
  out=$(mktemp /tmp/causeway-swift-test-XXXXXX.log)
  sidfile=$(mktemp /tmp/causeway-swift-test-XXXXXX.sid)
  setsid --wait bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$sidfile" swift test --skip-build "$@" >"$out" 2>&1 </dev/null &
  pid=$!
  tail -n +1 -F --pid="$pid" "$out" 2>/dev/null | grep --line-buffered -E "✘|error:|Test run with|Suite .* (passed|failed) after" &
  progress=$!
  for _ in $(seq 50); do [ -s "$sidfile" ] && break; sleep 0.1; done
  test_session=$(cat "$sidfile"); test_session=${test_session:-$pid}; rm -f "$sidfile"
  deadline=$((SECONDS + TEST_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    end_session "$test_session"
    wait "$pid" || true
    wait "$progress" || true
    echo "swift test ($label) STALLED: no result after $TEST_TIMEOUT s; full output: $out"
    echo "tests that started but did not finish:"
    comm -23 <(grep -oE "Test [A-Za-z0-9_]+\\(.*\\) started" "$out" | sed 's/ started//' | sort -u) \
             <(grep -oE "Test [A-Za-z0-9_]+\\(.*\\) (passed|failed)" "$out" | sed -E 's/ (passed|failed)//' | sort -u) | sed 's/^/  /'
    exit 1
  fi
  status=0; wait "$pid" || status=$?
  end_session "$test_session"  # a test binary that outlived swift test
  test_session=""
  wait "$progress" || true
  if [ "$status" -ne 0 ]; then
    echo "swift test ($label) failed (exit $status); full output: $out"
    grep -E "✘" "$out" | head -50
    exit "$status"
  fi
  n=$(grep -Eo "Test run with [0-9]+ tests" "$out" | grep -Eo "[0-9]+" | tail -1)
  if [ -z "$n" ] || [ "$n" -eq 0 ]; then echo "swift test ($label) ran no test"; exit 1; fi
  swift_tests=$((swift_tests + n))
  rm -f "$out"
}
run_tests "core, SQLite, HTTP, REST, LDAP" --skip CausewayPostgresTests
run_tests "PostgreSQL integration" --filter CausewayPostgresTests

# --- end-to-end smoke test of the real binary ---------------------------------------------------
log "smoke test: causeway check + serve on the embedded demo"
smoke=$(python3 scripts/smoke_test.py "$(swift build --show-bin-path)/causeway")
echo "$smoke"
smoke_passed=$(echo "$smoke" | grep -Eo "^smoke: [0-9]+ passed" | grep -Eo "[0-9]+")

# --- integration suites driven from outside the process (scripts/integration/*.sh) ----------------
# Each suite gets the causeway binary as its argument and the servers' CAUSEWAY_TEST_* variables; it
# starts what else it needs (by pid, in mktemp folders), ends it, exits non-zero on any failure and
# prints "integration NAME: N passed" as its last line. A suite that prints no count fails the run.
integration_passed=0
bin_path=$(swift build --show-bin-path)
for suite in scripts/integration/*.sh; do
  [ -e "$suite" ] || continue
  name=$(basename "$suite" .sh)
  log "integration: $name"
  out=$(mktemp /tmp/causeway-integration-XXXXXX.log)
  if ! bash "$suite" "$bin_path/causeway" 2>&1 | tee "$out"; then
    echo "integration suite $name failed; full output: $out"; exit 1
  fi
  n=$(tail -1 "$out" | grep -Eo "^integration [A-Za-z0-9_-]+: [0-9]+ passed" | grep -Eo "[0-9]+ passed$" | grep -Eo "^[0-9]+") || true
  if [ -z "$n" ] || [ "$n" -eq 0 ]; then echo "integration suite $name printed no count of passed checks"; exit 1; fi
  integration_passed=$((integration_passed + n))
  rm -f "$out"
done

echo
echo "$((swift_tests + smoke_passed + integration_passed)) passed, 0 failed"
