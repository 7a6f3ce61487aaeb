#!/usr/bin/env bash
# Two real gateway processes on one PostgreSQL behind haproxy (#15): a session made on node A works on B,
# a logout on A is refused on B within 1 s, a write on A removes B's cached answer within 1 s, failed logins
# spread over both nodes hit one shared limit, a node killed with SIGKILL during a stream of writes through
# haproxy loses no acknowledged write while the other keeps serving, and the killed node restarts and
# rejoins; SIGTERM fails readiness at once and the node exits cleanly after draining.
# Needs the CAUSEWAY_TEST_PG_* server of scripts/postgres.sh (it makes a database of its own and drops it).
# Usage: scripts/integration/cluster.sh path/to/causeway
set -euo pipefail
binary="${1:?usage: $0 path/to/causeway}"
here="$(cd "$(dirname "$0")" && pwd)"
suite=cluster; source "$here/lib.bash"

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    apt_install haproxy
fi

exec python3 "$here/cluster_check.py" "$binary"
