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

# --- build and unit/integration tests ------------------------------------------------------------
log "building (first build takes a few minutes)"
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" | tail -5 || true
swift build --build-tests >/dev/null

log "swift test"
out=$(mktemp)
set +e
swift test 2>&1 | tee "$out" | grep -E "✘|error:|Test run with|passed after|failed after" | grep -vE "^✔ Test [a-zA-Z]" 
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "swift test failed (exit $status); full output: $out"
  grep -E "✘" "$out" | head -50
  exit "$status"
fi
swift_tests=$(grep -Eo "Test run with [0-9]+ tests" "$out" | grep -Eo "[0-9]+" | tail -1)
if [ -z "$swift_tests" ] || [ "$swift_tests" -eq 0 ]; then echo "swift test ran no test"; exit 1; fi

# --- end-to-end smoke test of the real binary ---------------------------------------------------
log "smoke test: causeway check + serve on the embedded demo"
smoke=$(python3 scripts/smoke_test.py "$(swift build --show-bin-path)/causeway")
echo "$smoke"
smoke_passed=$(echo "$smoke" | grep -Eo "^smoke: [0-9]+ passed" | grep -Eo "[0-9]+")

echo
echo "$((swift_tests + smoke_passed)) passed, 0 failed"
