#!/usr/bin/env bash
# A throwaway OpenLDAP server for the tests: Debian's slapd on free loopback ports (ldap:// with StartTLS
# and ldaps://), in a temporary folder, with a test CA, the memberof and ppolicy overlays and a seeded
# directory (people, groups of three kinds, a user in 1,200 groups, an expired password, a locked account).
#
#   scripts/ldap.sh start    # installs slapd/ldap-utils if missing, starts it, prints the env file path
#   scripts/ldap.sh pause    # stops slapd, keeping its data (tests of an unreachable directory)
#   scripts/ldap.sh resume   # starts it again on the same ports
#   scripts/ldap.sh stop     # stops it and removes the folder
#
# The env file exports CAUSEWAY_TEST_LDAP_URL, _LDAPS_URL, _CA_FILE, _BASE, _ADMIN_DN, _ADMIN_PASSWORD,
# _READER_DN, _READER_PASSWORD, _LOG and _DIR.
set -euo pipefail
DIR=${CAUSEWAY_LDAP_DIR:-/tmp/causeway-test-ldap}
BASE="dc=causeway,dc=test"

run_slapd() {
  # shellcheck disable=SC1091
  source "$DIR/ports"
  # -d stats keeps slapd in the foreground and writes one line per operation (tests count BIND/SRCH).
  nohup /usr/sbin/slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$TLS_PORT/" -d stats \
    </dev/null >>"$DIR/slapd.log" 2>&1 &
  for _ in $(seq 100); do
    ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base namingContexts >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "slapd did not start:" >&2; tail -20 "$DIR/slapd.log" >&2; exit 1
}

stop_slapd() {
  if [ -f "$DIR/slapd.pid" ]; then
    local pid; pid=$(cat "$DIR/slapd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/slapd.pid"
  fi
}

case "${1:-}" in
start)
  if [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null || [ ! -f /usr/include/ldap.h ]; then
    echo "installing slapd, ldap-utils and libldap2-dev (Debian packages)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slapd ldap-utils libldap2-dev openssl >&2
  fi
  # The package may start a system slapd; the tests use their own.
  if command -v service >/dev/null && pgrep -x slapd >/dev/null && [ ! -f "$DIR/slapd.pid" ]; then service slapd stop >/dev/null 2>&1 || true; fi
  stop_slapd 2>/dev/null || true
  rm -rf "$DIR"; mkdir -p "$DIR/db"
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  printf 'PORT=%s\nTLS_PORT=%s\n' "$(free_port)" "$(free_port)" > "$DIR/ports"
  # shellcheck disable=SC1091
  source "$DIR/ports"
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
access to * by users read by * none
CONF
  run_slapd
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
  run_slapd
  ;;
stop)
  stop_slapd
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|pause|resume|stop" >&2; exit 2
  ;;
esac
