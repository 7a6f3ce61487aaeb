#!/usr/bin/env bash
# LiveQuery fan-out: one write to N subscribers on one node (default 1000 subscribers, 50 writes).
# Not a test: it prints numbers. Needs Python websockets (installed when missing) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers="${1:-1000}"
writes="${2:-50}"
python3 -c "import websockets.asyncio.client" 2>/dev/null || python3 -m pip install -q "websockets>=14" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "websockets>=14"
swift build -c release --product causeway >/dev/null
BIN=$(swift build -c release --show-bin-path)
ulimit -n 65536 2>/dev/null || true
python3 scripts/bench/livequery_fanout.py "$BIN/causeway" "$subscribers" "$writes"
