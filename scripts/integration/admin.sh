#!/usr/bin/env bash
# The admin page in a real headless browser: Debian's chromium and chromium-driver, driven from Python
# selenium (PyPI). Installs what is missing, then runs admin_test.py against the causeway binary ($1).
# Last line: "integration admin: N passed".
set -euo pipefail
binary=${1:?usage: admin.sh path/to/causeway}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "admin: installing chromium and chromium-driver" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver >&2
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
  echo "admin: installing selenium from PyPI" >&2
  python3 -m pip install -q selenium >&2 || python3 -m pip install -q --break-system-packages selenium >&2
fi

exec python3 "$here/admin_test.py" "$binary"
