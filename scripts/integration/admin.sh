#!/usr/bin/env bash
# The admin page in a real headless browser: Debian's chromium and chromium-driver, driven from Python
# selenium (PyPI). Installs what is missing, then runs admin_test.py against the causeway binary ($1).
# Last line: "integration admin: N passed".
set -euo pipefail
binary=${1:?usage: admin.sh path/to/causeway}
here=$(cd "$(dirname "$0")" && pwd)
suite=admin; source "$here/lib.bash"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi
pip_install selenium selenium

exec python3 "$here/admin_test.py" "$binary"
