#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: Debian's postgresql, on a free loopback port, in a
# temporary folder, with TLS (a test CA signs a certificate for 127.0.0.1 / localhost).
#
#   scripts/postgres.sh start   # installs postgresql if missing, starts it, prints the env file path
#   scripts/postgres.sh stop    # stops it and removes the folder
#
# The folder is $CAUSEWAY_PG_DIR, or a new one from mktemp (stop then finds it through the sourced
# env file's CAUSEWAY_TEST_PG_DIR). The port is picked free (scripts/ports.sh); if another program
# binds it first, the server is started again on another port.
#
# The env file exports CAUSEWAY_TEST_PG_HOST, _PORT, _USER, _PASSWORD, _DATABASE, _CA_FILE and _DIR.
set -euo pipefail
# The folder: CAUSEWAY_PG_DIR, else (stop) the one a sourced env file names, else (start) a new mktemp folder.
DIR=${CAUSEWAY_PG_DIR:-${CAUSEWAY_TEST_PG_DIR:-}}
# shellcheck source=scripts/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

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
  if [ -z "$DIR" ]; then
    DIR=$(mktemp -d /tmp/causeway-pg-XXXXXX)
  elif [ -f "$DIR/data/postmaster.pid" ]; then
    CAUSEWAY_PG_DIR=$DIR bash "$0" stop >&2 || true
  fi
  # Emptied, not removed and re-created: the folder may come from the caller's mktemp.
  mkdir -p "$DIR"; find "$DIR" -mindepth 1 -delete; chmod 755 "$DIR"
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
include 'port.conf'
unix_socket_directories = '$DIR'
ssl = on
ssl_cert_file = '$DIR/server.crt'
ssl_key_file = '$DIR/server.key'
max_connections = 1000
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
CONF
  # The port is free when picked but not reserved: if the server finds it taken, start again on another.
  for attempt in $(seq "$START_ATTEMPTS"); do
    PORT=$(pick_port)
    echo "port = $PORT" > "$DIR/data/port.conf"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR/data/port.conf"; fi
    rm -f "$DIR/server.log"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >"$DIR/pg_ctl.log" 2>&1 && break
    if port_in_use "$DIR/server.log" && [ "$attempt" -lt "$START_ATTEMPTS" ]; then
      echo "postgres.sh: port $PORT was taken before PostgreSQL bound it; trying another port" >&2
      continue
    fi
    cat "$DIR/pg_ctl.log" "$DIR/server.log" >&2; exit 1
  done
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
  [ -n "$DIR" ] || { echo "postgres.sh stop: set CAUSEWAY_PG_DIR (or source the env file that start printed)" >&2; exit 2; }
  BIN=$(find_bin)
  if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
