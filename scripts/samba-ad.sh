#!/usr/bin/env bash
# A throwaway Active Directory for the tests: a Samba 4 AD domain controller (Debian's `samba`) provisioned
# in a temporary folder for CORP.EXAMPLE.COM (NetBIOS domain CORP), serving only LDAP, only on loopback.
#
#   scripts/samba-ad.sh start   # installs samba/ldb-tools if missing, provisions, seeds, starts; prints the env file path
#   scripts/samba-ad.sh stop    # stops it (by the pid it recorded) and removes the folder
#
# Active Directory's LDAP ports are fixed: 389 (ldap://) and 636 (ldaps://, a test CA's certificate for
# 127.0.0.1 and causewaydc.corp.example.com, deliberately not for "localhost"). If anything already
# listens on either, start fails naming it and touches nothing (so only one such DC runs on a machine).
#
# The folder is $CAUSEWAY_AD_DIR, or a new one from mktemp (stop finds it through the sourced env file's
# CAUSEWAY_TEST_AD_DIR). Seeded under OU=Causeway (see the LDIF below): alice (Engineering ⊂ Staff,
# App Admins), bob (Sales), erin (tests disable and re-enable her), dora (disabled), lou (locked by two
# failed binds under a fine-grained password policy), exa (accountExpires in the past), max (pwdLastSet=0:
# must change the password), pat (in 1,100 groups), 1,100 users under OU=Bulk (AD's MaxPageSize is 1000),
# and a service account. Every seeded password is $CAUSEWAY_TEST_AD_USER_PASSWORD.
#
# The env file exports CAUSEWAY_TEST_AD_URL, _LDAPS_URL, _CA_FILE, _OTHER_CA_FILE, _BASE, _REALM, _DOMAIN,
# _ADMIN_DN, _ADMIN_PASSWORD, _SERVICE_DN, _SERVICE_PASSWORD, _USER_PASSWORD and _DIR.
set -euo pipefail
DIR=${CAUSEWAY_AD_DIR:-${CAUSEWAY_TEST_AD_DIR:-}}
# shellcheck source=scripts/pidfile.sh
source "$(dirname "${BASH_SOURCE[0]}")/pidfile.sh"
REALM=CORP.EXAMPLE.COM
DOMAIN=CORP
BASE="DC=corp,DC=example,DC=com"
OU="OU=Causeway,$BASE"

stop_samba() {
  stop_pidfile "$DIR/run/samba.pid"
  # The samba master ends its own children (one process per service and worker); wait until the ports are free.
  for _ in $(seq 50); do [ -z "$(listeners)" ] && break; sleep 0.1; done
}

# Who listens on 389 or 636 (TCP), one line each, empty when nobody does.
listeners() { ss -Hltnp '( sport = :389 or sport = :636 )' 2>/dev/null || true; }

if [ "${1:-}" != start ] && [ -z "$DIR" ]; then
  echo "samba-ad.sh ${1:-}: set CAUSEWAY_AD_DIR (or source the env file that start printed)" >&2; exit 2
fi

case "${1:-}" in
start)
  if ! command -v samba >/dev/null || ! command -v samba-tool >/dev/null || ! command -v ldapmodify >/dev/null || ! command -v ss >/dev/null; then
    echo "installing samba, ldap-utils and iproute2 (Debian packages)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends samba samba-dsdb-modules samba-vfs-modules \
      ldb-tools ldap-utils openssl iproute2 >&2
  fi
  # The package may have started daemons of its own (smbd, nmbd): they are left alone; they do not use 389/636.
  taken=$(listeners)
  if [ -n "$taken" ]; then
    echo "samba-ad.sh: Active Directory's LDAP ports 389/636 are already in use (AD cannot move them); not starting. Held by:" >&2
    echo "$taken" | sed -E 's/^/  /' >&2
    exit 1
  fi
  if [ -z "$DIR" ]; then DIR=$(mktemp -d /tmp/causeway-ad-XXXXXX); else stop_samba 2>/dev/null || true; fi
  mkdir -p "$DIR"; find "$DIR" -mindepth 1 -delete
  started=$SECONDS
  rand() { head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  # AD's default password policy wants three character classes.
  ADMIN_PW="Admin-$(rand)-1!"
  SERVICE_PW="Service-$(rand)-1!"
  USER_PW="User-$(rand)-1!"

  samba-tool domain provision --use-rfc2307 --realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE \
    --targetdir="$DIR" --host-name=causewaydc --adminpass="$ADMIN_PW" \
    --option="interfaces = lo" --option="bind interfaces only = yes" >"$DIR/provision.log" 2>&1 \
    || { echo "samba-tool domain provision failed:" >&2; tail -20 "$DIR/provision.log" >&2; exit 1; }

  # TLS with a test CA (the certificate Samba generates names only the host, and lives a year).
  T="$DIR/tls"; mkdir -p "$T"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Causeway AD Test CA" -keyout "$T/ca.key" -out "$T/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=causewaydc.corp.example.com" -keyout "$T/server.key" -out "$T/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:causewaydc.corp.example.com\n' > "$T/san.ext"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/san.ext" \
    -out "$T/server.crt" >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" -keyout "$T/other-ca.key" -out "$T/other-ca.crt" >/dev/null 2>&1
  chmod 600 "$T/server.key" "$T/ca.key" "$T/other-ca.key"

  # Only the LDAP service, only on loopback, logs and pid file in the folder; simple binds without TLS
  # allowed (the tests also use ldap://), shares dropped.
  conf="$DIR/etc/smb.conf"
  python3 - "$conf" "$DIR" <<'PY'
import re, sys
path, d = sys.argv[1], sys.argv[2]
text = open(path).read().split("[homes]")[0]
text = re.sub(r"\n\s*server services = [^\n]*", "\n\tserver services = ldap", text)
text = re.sub(r"\n\s*log file = [^\n]*", "", text)
text = text.rstrip() + f"""
\tlog file = {d}/log/samba.log
\tpid directory = {d}/run
\tldap server require strong auth = no
\ttls enabled = yes
\ttls keyfile = {d}/tls/server.key
\ttls certfile = {d}/tls/server.crt
\ttls cafile = {d}/tls/ca.crt
"""
open(path, "w").write(text)
PY
  mkdir -p "$DIR/run" "$DIR/log"
  provisioned=$((SECONDS - started))

  nohup samba -s "$conf" -i -d 1 </dev/null >"$DIR/samba.out" 2>&1 &
  pid=$!
  ready=""
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if timeout 2 ldapsearch -x -H ldap://127.0.0.1 -b "" -s base dnsHostName >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  if [ -z "$ready" ]; then
    kill "$pid" 2>/dev/null || true
    echo "samba did not start:" >&2; tail -20 "$DIR/samba.out" >&2; exit 1
  fi
  # -i keeps samba in the foreground, so $pid is the master (it also writes run/samba.pid).
  echo "$pid" > "$DIR/run/samba.pid"
  # From here on, a failed seed stops the server it started.
  seeded=""
  trap '[ -n "$seeded" ] || stop_samba' EXIT

  ADMIN_DN="CN=Administrator,CN=Users,$BASE"
  modify() { ldapmodify -x -H ldap://127.0.0.1 -D "$ADMIN_DN" -w "$ADMIN_PW" "$@"; }
  S=(-s "$conf")
  {
    modify -a <<LDIF
dn: $OU
objectClass: organizationalUnit

dn: OU=People,$OU
objectClass: organizationalUnit

dn: OU=Groups,$OU
objectClass: organizationalUnit

dn: OU=Services,$OU
objectClass: organizationalUnit

dn: OU=Bulk,$OU
objectClass: organizationalUnit
LDIF
    samba-tool user add svc-causeway "$SERVICE_PW" --userou="OU=Services,OU=Causeway" "${S[@]}"
    samba-tool user add alice "$USER_PW" --userou="OU=People,OU=Causeway" --given-name=Alice --surname=Able \
      --mail-address=alice@corp.example.com --department=Engineering "${S[@]}"
    samba-tool user add bob "$USER_PW" --userou="OU=People,OU=Causeway" --given-name=Bob --surname=Baker \
      --mail-address=bob@corp.example.com --department=Sales "${S[@]}"
    for u in erin dora lou exa max pat; do samba-tool user add "$u" "$USER_PW" --userou="OU=People,OU=Causeway" "${S[@]}"; done
    for g in Staff Engineering "App Admins" Sales; do samba-tool group add "$g" --groupou="OU=Groups,OU=Causeway" "${S[@]}"; done
    samba-tool group addmembers Engineering alice,erin "${S[@]}"
    samba-tool group addmembers Staff Engineering "${S[@]}"
    samba-tool group addmembers "App Admins" alice "${S[@]}"
    samba-tool group addmembers Sales bob "${S[@]}"
    samba-tool user disable dora "${S[@]}"
    # lou locks after two failures (a fine-grained policy just for lou; the domain's threshold stays 0).
    samba-tool domain passwordsettings pso create lockout-pso 1 --account-lockout-threshold=2 --account-lockout-duration=0 \
      --reset-account-lockout-after=30 "${S[@]}"
    samba-tool domain passwordsettings pso apply lockout-pso lou "${S[@]}"
    # exa expired on 1970-01-01 (accountExpires is a FILETIME); max must change the password (pwdLastSet=0).
    modify <<LDIF
dn: CN=exa,OU=People,$OU
changetype: modify
replace: accountExpires
accountExpires: 116444736000000000

dn: CN=max,OU=People,$OU
changetype: modify
replace: pwdLastSet
pwdLastSet: 0
LDIF
  } >"$DIR/seed.log" 2>&1 || { echo "seeding the AD failed:" >&2; tail -20 "$DIR/seed.log" >&2; exit 1; }
  for _ in 1 2; do ldapwhoami -x -H ldap://127.0.0.1 -D "lou@corp.example.com" -w "wrong-$USER_PW" >/dev/null 2>&1 || true; done
  locked=$(ldapwhoami -x -H ldap://127.0.0.1 -D "lou@corp.example.com" -w "$USER_PW" 2>&1 || true)
  case "$locked" in *"data 775"*) ;; *) echo "seeding the AD failed: lou did not lock after two failed binds: $locked" >&2; exit 1 ;; esac
  BULK="$DIR/bulk.ldif"
  python3 - "$OU" >"$BULK" <<'PY'
import sys
ou = sys.argv[1]
for i in range(1, 1101):
    print(f"dn: CN=bulk{i:04d},OU=Bulk,{ou}\nobjectClass: user\nsAMAccountName: bulk{i:04d}\n")
for i in range(1, 1101):
    print(f"dn: CN=team-{i:04d},OU=Groups,{ou}\nobjectClass: group\nsAMAccountName: team-{i:04d}\nmember: CN=pat,OU=People,{ou}\n")
PY
  modify -a -f "$BULK" >"$DIR/bulk.log" 2>&1 || { echo "seeding the AD's bulk entries failed:" >&2; tail -5 "$DIR/bulk.log" >&2; exit 1; }
  rm -f "$BULK" "$DIR/bulk.log"

  cat > "$DIR/env" <<ENV
export CAUSEWAY_TEST_AD_URL=ldap://127.0.0.1:389
export CAUSEWAY_TEST_AD_LDAPS_URL=ldaps://127.0.0.1:636
export CAUSEWAY_TEST_AD_CA_FILE=$T/ca.crt
export CAUSEWAY_TEST_AD_OTHER_CA_FILE=$T/other-ca.crt
export CAUSEWAY_TEST_AD_BASE=$BASE
export CAUSEWAY_TEST_AD_REALM=$REALM
export CAUSEWAY_TEST_AD_DOMAIN=$DOMAIN
export CAUSEWAY_TEST_AD_ADMIN_DN='$ADMIN_DN'
export CAUSEWAY_TEST_AD_ADMIN_PASSWORD='$ADMIN_PW'
export CAUSEWAY_TEST_AD_SERVICE_DN='CN=svc-causeway,OU=Services,$OU'
export CAUSEWAY_TEST_AD_SERVICE_PASSWORD='$SERVICE_PW'
export CAUSEWAY_TEST_AD_USER_PASSWORD='$USER_PW'
export CAUSEWAY_TEST_AD_DIR=$DIR
ENV
  chmod 644 "$DIR/env"
  seeded=1
  echo "samba-ad.sh: provisioned in ${provisioned}s, started and seeded in $((SECONDS - started))s" >&2
  echo "$DIR/env"
  ;;
stop)
  stop_samba
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2
  ;;
esac
