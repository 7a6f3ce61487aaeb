#!/usr/bin/env bash
# LiveQuery fed by PostgreSQL triggers, end to end (#17): the real binary installs its triggers
# (causeway live-triggers --apply), serves a PostgreSQL collection, and Python `websockets` clients see rows
# that plain SQL inserts, updates and deletes; a row deleted with SQL reaches exactly the subscribers who saw it.
# Needs the CAUSEWAY_TEST_PG_* server of scripts/postgres.sh (it makes a database of its own and drops it).
# Usage: scripts/integration/livequery_triggers.sh path/to/causeway
set -euo pipefail
binary="${1:?usage: $0 path/to/causeway}"
here="$(cd "$(dirname "$0")" && pwd)"
suite=livequery_triggers; source "$here/lib.bash"
pip_install websockets.asyncio.client "websockets>=14"
exec python3 "$here/livequery_triggers.py" "$binary"
