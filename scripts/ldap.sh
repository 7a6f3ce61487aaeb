#!/usr/bin/env bash
# A throwaway OpenLDAP server for the tests: Debian's slapd on free loopback ports (ldap:// with StartTLS
# and ldaps://), in a temporary folder, with a test CA, the memberof and ppolicy overlays and a seeded
# directory (people, groups of three kinds, a user in 1,200 groups, an expired password, a locked account,
# a user the tests lock after login, a user who cannot read their own entry).
#
#   scripts/ldap.sh start    # installs slapd/ldap-utils if missing, starts it, prints the env file path
#   scripts/ldap.sh pause    # stops slapd, keeping its data (tests of an unreachable directory)
#   scripts/ldap.sh resume   # starts it again on the same ports
#   scripts/ldap.sh stop     # stops it and removes the folder
#
# The folder is $CAUSEWAY_LDAP_DIR, or a new one from mktemp (the other commands then find it through
# the sourced env file's CAUSEWAY_TEST_LDAP_DIR). The ports are picked free (scripts/ports.sh); if
# another program binds one first, start tries new ports; resume must keep the ports the tests know,
# so it waits for them a little and otherwise fails, naming the port and what holds it.
#
# The env file exports CAUSEWAY_TEST_LDAP_URL, _LDAPS_URL, _CA_FILE, _BASE, _ADMIN_DN, _ADMIN_PASSWORD,
# _READER_DN, _READER_PASSWORD, _LOG and _DIR.
set -euo pipefail
DIR=${CAUSEWAY_LDAP_DIR:-${CAUSEWAY_TEST_LDAP_DIR:-}}
# shellcheck source=scripts/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
# shellcheck source=scripts/pidfile.sh
source "$(dirname "${BASH_SOURCE[0]}")/pidfile.sh"
BASE="dc=causeway,dc=test"

# Starts slapd on the ports in $DIR/ports. Returns 0 when it answers, 3 when it exited because a port
# was taken (its log says so), and exits the script on any other failure.
run_slapd() {
  # shellcheck disable=SC1091
  source "$DIR/ports"
  local from pid
  touch "$DIR/slapd.log"
  from=$(( $(wc -l < "$DIR/slapd.log") + 1 ))
  # -d stats keeps slapd in the foreground and writes one line per operation (tests count BIND/SRCH).
  nohup /usr/sbin/slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$TLS_PORT/" -d stats \
    </dev/null >>"$DIR/slapd.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      if tail -n "+$from" "$DIR/slapd.log" | port_in_use; then return 3; fi
      break
    fi
    # (time-limited: whatever else holds a port might accept and never answer)
    timeout 2 ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base namingContexts >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  echo "slapd did not start:" >&2; tail -n "+$from" "$DIR/slapd.log" | tail -20 >&2; exit 1
}

# Who listens on a port (for the message when resume finds one of its ports taken).
holder() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -E 's/.*users:\(\((.*)\)\)/\1/' | head -1; }

stop_slapd() {
  stop_pidfile "$DIR/slapd.pid"
}

if [ "${1:-}" != start ] && [ -z "$DIR" ]; then
  echo "ldap.sh ${1:-}: set CAUSEWAY_LDAP_DIR (or source the env file that start printed)" >&2; exit 2
fi

case "${1:-}" in
start)
  if [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null || [ ! -f /usr/include/ldap.h ]; then
    echo "installing slapd, ldap-utils and libldap2-dev (Debian packages)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slapd ldap-utils libldap2-dev openssl >&2
  fi
  # A slapd the package may have started is left alone: ours has its own folder and ports.
  if [ -z "$DIR" ]; then DIR=$(mktemp -d /tmp/causeway-ldap-XXXXXX); else stop_slapd 2>/dev/null || true; fi
  # Emptied, not removed and re-created: the folder may come from the caller's mktemp.
  mkdir -p "$DIR"; find "$DIR" -mindepth 1 -delete; mkdir "$DIR/db"
  ADMIN_PW="admin-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  READER_PW="reader-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Causeway LDAP Test CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$DIR/server.key" -out "$DIR/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$DIR/san.ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -days 2 -extfile "$DIR/san.ext" \
    -out "$DIR/server.crt" >/dev/null 2>&1
  # A second CA that signed nothing: connecting with it must fail verification.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" -keyout "$DIR/other-ca.key" -out "$DIR/other-ca.crt" >/dev/null 2>&1
  chmod 600 "$DIR/server.key"
  cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
# Like Active Directory's MaxPageSize: at most 500 entries per answer, any number through paged results.
sizelimit 500
TLSCACertificateFile $DIR/ca.crt
TLSCertificateFile $DIR/server.crt
TLSCertificateKeyFile $DIR/server.key
database mdb
maxsize 268435456
suffix "$BASE"
rootdn "cn=admin,$BASE"
rootpw $ADMIN_PW
directory $DIR/db
index objectClass eq
index uid,memberUid,member,uniqueMember,cn eq
overlay memberof
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$BASE"
ppolicy_use_lockout
limits users size.soft=500 size.hard=500 size.pr=500 size.prtotal=unlimited
access to attrs=userPassword by self write by anonymous auth by * none
# hana's entry is hidden from hana herself (as 389 and hardened OpenLDAP setups do): only the reader sees it.
access to dn.exact="uid=hana,ou=people,$BASE" by dn.exact="cn=reader,$BASE" read by * none
access to * by users read by * none
CONF
  for attempt in $(seq "$START_ATTEMPTS"); do
    PORT=$(pick_port); TLS_PORT=$(pick_port)
    [ "$PORT" != "$TLS_PORT" ] || continue
    printf 'PORT=%s\nTLS_PORT=%s\n' "$PORT" "$TLS_PORT" > "$DIR/ports"
    status=0; run_slapd || status=$?
    [ "$status" = 0 ] && break
    if [ "$attempt" = "$START_ATTEMPTS" ]; then
      echo "slapd did not start: ports taken on each of $START_ATTEMPTS attempts:" >&2; tail -20 "$DIR/slapd.log" >&2; exit 1
    fi
    echo "ldap.sh: port $PORT or $TLS_PORT was taken before slapd bound it; trying other ports" >&2
  done
  SEED="$DIR/seed.ldif"
  cat > "$SEED" <<LDIF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: causeway
o: Causeway Test

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: ou=policies,$BASE
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$BASE
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMaxAge: 0
pwdLockout: TRUE
pwdMaxFailure: 1000

dn: cn=expiring,ou=policies,$BASE
objectClass: device
objectClass: pwdPolicy
cn: expiring
pwdAttribute: userPassword
pwdMaxAge: 1
pwdGraceAuthNLimit: 0

dn: cn=lockout,ou=policies,$BASE
objectClass: device
objectClass: pwdPolicy
cn: lockout
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 2
pwdLockoutDuration: 0

dn: cn=reader,$BASE
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: $READER_PW

dn: uid=alice,ou=people,$BASE
objectClass: inetOrgPerson
objectClass: posixAccount
uid: alice
cn: Alice Able
sn: Able
mail: alice@causeway.test
departmentNumber: Engineering
uidNumber: 1001
gidNumber: 1001
homeDirectory: /home/alice
userPassword: alice-secret

dn: uid=bob,ou=people,$BASE
objectClass: inetOrgPerson
objectClass: posixAccount
uid: bob
cn: Bob Baker
sn: Baker
mail: bob@causeway.test
departmentNumber: Sales
uidNumber: 1002
gidNumber: 1002
homeDirectory: /home/bob
userPassword: bob-secret

dn: uid=carol,ou=people,$BASE
objectClass: inetOrgPerson
uid: carol
cn: Carol Expired
sn: Expired
userPassword: carol-secret
pwdPolicySubentry: cn=expiring,ou=policies,$BASE

dn: uid=dave,ou=people,$BASE
objectClass: inetOrgPerson
uid: dave
cn: Dave Locked
sn: Locked
userPassword: dave-secret
pwdPolicySubentry: cn=lockout,ou=policies,$BASE

dn: uid=eve,ou=people,$BASE
objectClass: inetOrgPerson
uid: eve
cn: Eve Later
sn: Later
userPassword: eve-secret

dn: uid=hana,ou=people,$BASE
objectClass: inetOrgPerson
uid: hana
cn: Hana Hidden
sn: Hidden
departmentNumber: Research
userPassword: hana-secret

dn: uid=pat,ou=people,$BASE
objectClass: inetOrgPerson
uid: pat
cn: Pat Many
sn: Many
userPassword: pat-secret

dn: cn=o'neil\2C jr,ou=people,$BASE
objectClass: inetOrgPerson
uid: o'neil, jr
cn: o'neil, jr
sn: Oneil
userPassword: oneil-secret

dn: cn=engineering,ou=groups,$BASE
objectClass: groupOfNames
cn: engineering
member: uid=alice,ou=people,$BASE

dn: cn=admins,ou=groups,$BASE
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,$BASE

dn: cn=sales,ou=groups,$BASE
objectClass: groupOfUniqueNames
cn: sales
uniqueMember: uid=bob,ou=people,$BASE

dn: cn=vpn,ou=groups,$BASE
objectClass: posixGroup
cn: vpn
gidNumber: 5000
memberUid: bob
memberUid: alice

LDIF
  for i in $(seq -w 1 1200); do
    printf 'dn: cn=team-%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: team-%s\nmember: uid=pat,ou=people,%s\n\n' "$i" "$BASE" "$i" "$BASE" >> "$SEED"
  done
  ldapadd -x -H "ldap://127.0.0.1:$PORT" -D "cn=admin,$BASE" -w "$ADMIN_PW" -f "$SEED" >"$DIR/seed.log" 2>&1 || { cat "$DIR/seed.log" >&2; exit 1; }
  cat > "$DIR/env" <<ENV
export CAUSEWAY_TEST_LDAP_URL=ldap://127.0.0.1:$PORT
export CAUSEWAY_TEST_LDAPS_URL=ldaps://127.0.0.1:$TLS_PORT
export CAUSEWAY_TEST_LDAP_CA_FILE=$DIR/ca.crt
export CAUSEWAY_TEST_LDAP_OTHER_CA_FILE=$DIR/other-ca.crt
export CAUSEWAY_TEST_LDAP_BASE=$BASE
export CAUSEWAY_TEST_LDAP_ADMIN_DN=cn=admin,$BASE
export CAUSEWAY_TEST_LDAP_ADMIN_PASSWORD=$ADMIN_PW
export CAUSEWAY_TEST_LDAP_READER_DN=cn=reader,$BASE
export CAUSEWAY_TEST_LDAP_READER_PASSWORD=$READER_PW
export CAUSEWAY_TEST_LDAP_LOG=$DIR/slapd.log
export CAUSEWAY_TEST_LDAP_DIR=$DIR
ENV
  chmod 644 "$DIR/env"
  echo "$DIR/env"
  ;;
pause)
  stop_slapd
  ;;
resume)
  # The tests know these ports, so they cannot change. If one was taken while slapd was paused, wait for
  # it a little (up to 5 tries), then fail with a clear message.
  for attempt in $(seq "$START_ATTEMPTS"); do
    status=0; run_slapd || status=$?
    [ "$status" = 0 ] && break
    # shellcheck disable=SC1091
    source "$DIR/ports"
    if [ "$attempt" = "$START_ATTEMPTS" ]; then
      echo "ldap.sh resume: slapd cannot listen again on 127.0.0.1:$PORT / $TLS_PORT: taken while it was paused" \
           "(by: $(holder "$PORT") $(holder "$TLS_PORT")); the directory stays down" >&2
      exit 1
    fi
    echo "ldap.sh resume: port $PORT or $TLS_PORT is taken; retrying in 1 s" >&2
    sleep 1
  done
  ;;
stop)
  stop_slapd
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|pause|resume|stop" >&2; exit 2
  ;;
esac
