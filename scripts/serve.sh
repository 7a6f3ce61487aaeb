#!/usr/bin/env bash
# Runs the gateway (README's first command). The build needs OpenLDAP's headers (Debian: libldap2-dev),
# installed here when missing; nothing else: the embedded demo needs no PostgreSQL or directory.
#   scripts/serve.sh [causeway arguments]     e.g. scripts/serve.sh check
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/include/ldap.h ]; then
  echo "installing libldap2-dev (Debian package; the LDAP identity provider links libldap)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libldap2-dev >&2
fi
exec swift run causeway "$@"
