#!/usr/bin/env bash
# Hot reload under load: wrk runs against the causeway binary ($1) while a connector file changes, one is
# added and SIGHUP is sent; then an invalid file and SIGHUP again. Installs wrk when missing.
# Last line: "integration reload: N passed".
set -euo pipefail
binary=${1:?usage: reload.sh path/to/causeway}
here=$(cd "$(dirname "$0")" && pwd)
suite=reload; source "$here/lib.bash"
command -v wrk >/dev/null || apt_install wrk
exec python3 "$here/reload_test.py" "$binary"
