#!/usr/bin/env bash
# Installs OpenLDAP's headers (Debian: libldap2-dev) when missing: every build of the package needs them,
# because the LDAP identity provider links libldap. Used by serve.sh and the benchmark scripts.
set -euo pipefail
[ -f /usr/include/ldap.h ] && exit 0
echo "installing libldap2-dev (Debian package; the LDAP identity provider links libldap)" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libldap2-dev >&2
