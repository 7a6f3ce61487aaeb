#!/usr/bin/env bash
# Runs the gateway (README's first command). The build needs OpenLDAP's headers (Debian: libldap2-dev),
# and PCRE2 (libpcre2-dev), installed here when missing; nothing else: the embedded demo needs no PostgreSQL or directory.
#   scripts/serve.sh [causeway arguments]     e.g. scripts/serve.sh check
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-deps.sh
exec swift run causeway "$@"
