#!/usr/bin/env bash
# LiveQuery over WebSocket against the real binary ($1): see livequery_client.py.
set -euo pipefail
binary="$1"
here="$(cd "$(dirname "$0")" && pwd)"
suite=livequery; source "$here/lib.bash"
pip_install websockets.asyncio.client "websockets>=14"
exec python3 "$here/livequery_client.py" "$binary"
