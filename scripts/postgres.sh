#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: Debian's postgresql, on a free loopback port, in a
# temporary folder, with TLS (a test CA signs a certificate for 127.0.0.1 / localhost).
#
#   scripts/postgres.sh start   # installs postgresql if missing, starts it, prints the env file path
#   scripts/postgres.sh stop    # stops it and removes the folder
#
# The env file exports CAUSEWAY_TEST_PG_HOST, _PORT, _USER, _PASSWORD, _DATABASE, _CA_FILE and _DIR.
set -euo pipefail
DIR=${CAUSEWAY_PG_DIR:-/tmp/causeway-test-postgres}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

case "${1:-}" in
start)
  BIN=$(find_bin)
  if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "installing postgresql (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql postgresql-contrib openssl >&2
    BIN=$(find_bin)
  fi
  command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }
  if [ -f "$DIR/postmaster.pid.copy" ] || [ -f "$DIR/data/postmaster.pid" ]; then "$0" stop >&2 || true; fi
  rm -rf "$DIR"; mkdir -p "$DIR"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  PASSWORD="causeway-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$PASSWORD" > "$DIR/pwfile"
  # TLS: a CA and a server certificate valid for 127.0.0.1 and localhost.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Causeway Test CA" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$DIR/server.key" -out "$DIR/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$DIR/san.ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -days 2 \
    -extfile "$DIR/san.ext" -out "$DIR/server.crt" >/dev/null 2>&1
  chmod 600 "$DIR/server.key"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$DIR"; fi
  as_owner "$BIN/initdb" -D "$DIR/data" -U causeway --pwfile="$DIR/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
ssl = on
ssl_cert_file = '$DIR/server.crt'
ssl_key_file = '$DIR/server.key'
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
CONF
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  PGPASSWORD="$PASSWORD" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U causeway -d postgres -qAt -c "CREATE DATABASE causeway_test" >/dev/null
  cat > "$DIR/env" <<ENV
export CAUSEWAY_TEST_PG_HOST=127.0.0.1
export CAUSEWAY_TEST_PG_PORT=$PORT
export CAUSEWAY_TEST_PG_USER=causeway
export CAUSEWAY_TEST_PG_PASSWORD=$PASSWORD
export CAUSEWAY_TEST_PG_DATABASE=causeway_test
export CAUSEWAY_TEST_PG_CA_FILE=$DIR/ca.crt
export CAUSEWAY_TEST_PG_DIR=$DIR
export CAUSEWAY_TEST_PG_BIN=$BIN
ENV
  chmod 644 "$DIR/env"
  echo "$DIR/env"
  ;;
stop)
  BIN=$(find_bin)
  if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
