# Ends a server the scripts started, by the pid in its pid file (sourced by ldap.sh and samba-ad.sh, not
# run): SIGTERM, up to 10 s for it to exit, then SIGKILL; the pid file is removed. Never by name.
stop_pidfile() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}
