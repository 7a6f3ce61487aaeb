#!/usr/bin/env bash
# Installs the C libraries every build of the package links, when missing (Debian packages):
# OpenLDAP's libldap2-dev (the LDAP identity provider) and libpcre2-dev (the bounded `$regex` engine).
# Used by serve.sh, test.sh and the benchmark scripts.
set -euo pipefail
need=()
[ -f /usr/include/ldap.h ] || need+=(libldap2-dev)
[ -f /usr/include/pcre2.h ] || need+=(libpcre2-dev)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]} (Debian packages the build links)" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
