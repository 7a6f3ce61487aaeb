#!/usr/bin/env bash
# LiveQuery over WebSocket against the real binary ($1): see livequery_client.py.
set -euo pipefail
binary="$1"
here="$(cd "$(dirname "$0")" && pwd)"
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-pip >/dev/null; }
if ! python3 -c "import websockets.asyncio.client" 2>/dev/null; then
    python3 -m pip install -q "websockets>=14" 2>/dev/null || python3 -m pip install -q --break-system-packages "websockets>=14"
fi
exec python3 "$here/livequery_client.py" "$binary"
