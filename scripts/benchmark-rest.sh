#!/usr/bin/env bash
# Benchmark: an uncached GET by id through Causeway's REST connector against the same request sent straight
# to the upstream, in one run, with two upstreams: a small Python JSON API (scripts/bench/rest_upstream.py,
# one thread per connection) and causeway-baseline's bare Hummingbird route (`/file/N`, the same bytes),
# a far faster upstream that shows the connector's own ceiling. A third reference per upstream is
# causeway-baseline's `/proxy/…` (BASELINE_UPSTREAM): Hummingbird + AsyncHTTPClient passing the GET on with
# no Causeway code, the floor of any gateway built on these two libraries.
# Not a test: it prints numbers and ratios. Needs wrk (Debian package) and release builds.
#
#   scripts/benchmark-rest.sh [seconds-per-run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench/common.sh
DURATION=${1:-10}
CONNS=${2:-32}

need_wrk
release_build causeway-baseline
WORK=$(mktemp -d /tmp/causeway-bench-rest-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PORT_C=$(free_port); PORT_P=$(free_port); PORT_B=$(free_port); PORT_XP=$(free_port); PORT_XB=$(free_port)

python3 scripts/bench/rest_upstream.py "$PORT_P" & PID_P=$!; PIDS+=($PID_P)
python3 -c 'import json; print(json.dumps({"id": 7, "title": "ticket 7", "status": "open", "priority": 2, "created": 1700000420}), end="")' > "$WORK/7.json"
"$BIN/causeway-baseline" "$PORT_B" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" "$WORK/7.json" \
  >"$WORK/baseline.log" 2>&1 & PID_B=$!; PIDS+=($PID_B)
BASELINE_UPSTREAM="http://127.0.0.1:$PORT_P" "$BIN/causeway-baseline" "$PORT_XP" >"$WORK/proxy-python.log" 2>&1 & PID_XP=$!; PIDS+=($PID_XP)
BASELINE_UPSTREAM="http://127.0.0.1:$PORT_B" "$BIN/causeway-baseline" "$PORT_XB" >"$WORK/proxy-bare.log" 2>&1 & PID_XB=$!; PIDS+=($PID_XB)

mkdir -p "$WORK/Config" "$WORK/Connectors"
cat > "$WORK/Config/causeway.yaml" <<YAML
server: { port: $PORT_C }
app: { applicationId: bench }
logging: { level: warning }
metadataStore: { sqlite: ../data/metadata.sqlite }
connectorsDirectory: ../Connectors
YAML
for kind in python:$PORT_P:/tickets bare:$PORT_B:/file; do
  IFS=: read -r name port path <<<"$kind"
  cat > "$WORK/Connectors/$name.yaml" <<YAML
kind: rest
connection: { baseURL: "http://127.0.0.1:$port", maxConcurrency: 64 }
collections:
  $( [ "$name" = python ] && echo Ticket || echo Bare ):
    list: $path
    get: $path/{objectId}
    objectId: { column: id, type: integer }
    createdAt: created
    dateFormats: { createdAt: epochSeconds }
    fields: { title: { type: string }, status: { type: string }, priority: { type: number } }
YAML
done
"$BIN/causeway" serve --config "$WORK/Config/causeway.yaml" >"$WORK/causeway.log" 2>&1 & PID_C=$!; PIDS+=($PID_C)
# Up to 60 s: on a loaded machine the release binary takes a while to start its connectors.
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT_C/parse/health" >/dev/null && break; sleep 0.1; done
H="X-Parse-Application-Id: bench"
for url in "http://127.0.0.1:$PORT_C/parse/classes/Ticket/7" "http://127.0.0.1:$PORT_C/parse/classes/Bare/7" \
           "http://127.0.0.1:$PORT_XP/proxy/tickets/7" "http://127.0.0.1:$PORT_XB/proxy/file/7"; do
  curl -sf -H "$H" "$url" | grep '"title": *"ticket 7"' >/dev/null || { echo "$url does not answer the record:"; curl -s -H "$H" "$url"; cat "$WORK/causeway.log"; exit 1; }
done
[ -z "$(curl -s -D - -o /dev/null -H "$H" "http://127.0.0.1:$PORT_C/parse/classes/Ticket/7" | grep -i x-causeway-cache)" ] || { echo "answers are cached"; exit 1; }

declare -A RPS CPU LAT
run() { wrk_run "$1" "cpu_ticks $2" "$3" "${4:-}"; }  # name pid url [header]
# CPU per request: the process that answers wrk (the upstream for the direct runs, the proxy or Causeway
# for the others; the upstream's CPU in those runs is not counted in their figure).
echo "measuring ($DURATION s each, $CONNS connections)"
run python_direct $PID_P "http://127.0.0.1:$PORT_P/tickets/7"
run python_proxy $PID_XP "http://127.0.0.1:$PORT_XP/proxy/tickets/7"
run python_gateway $PID_C "http://127.0.0.1:$PORT_C/parse/classes/Ticket/7" "$H"
run bare_direct $PID_B "http://127.0.0.1:$PORT_B/file/7"
run bare_proxy $PID_XB "http://127.0.0.1:$PORT_XB/proxy/file/7"
run bare_gateway $PID_C "http://127.0.0.1:$PORT_C/parse/classes/Bare/7" "$H"

echo
echo "| run | requests/s | CPU µs/request (the answering process) |"
echo "|---|---:|---:|"
for n in python_direct python_proxy python_gateway bare_direct bare_proxy bare_gateway; do echo "| $n | ${RPS[$n]} | ${CPU[$n]} |"; done
echo
echo "gateway / Python upstream direct:      $(ratio "${RPS[python_gateway]}" "${RPS[python_direct]}")   (aim: 80%)"
echo "bare proxy / Python upstream direct:   $(ratio "${RPS[python_proxy]}" "${RPS[python_direct]}")   (Hummingbird + AsyncHTTPClient alone)"
echo "gateway / bare Hummingbird upstream:   $(ratio "${RPS[bare_gateway]}" "${RPS[bare_direct]}")"
echo "gateway / bare proxy (same upstream):  $(ratio "${RPS[bare_gateway]}" "${RPS[bare_proxy]}")"
