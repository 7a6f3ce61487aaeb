# Loopback ports for the throwaway test servers (sourced by postgres.sh and ldap.sh, not run).
#
# pick_port prints a port that is free right now, chosen below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range), so the many connections the tests open never get it as their local
# port, not even while a server is paused. Nothing reserves it: another program may still bind it
# before the server does, so callers start the server, recognise a bind failure in its log
# (port_in_use) and try again with a new port (START_ATTEMPTS times).

START_ATTEMPTS=5

pick_port() {
  python3 - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
candidates = list(range(10000, low)) if low > 11000 else []
random.shuffle(candidates)
for port in candidates[:200] or [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
else:
    raise SystemExit("no free loopback port found")
PY
}

# True when the server log (or the part of it given on stdin) reports an address already in use.
port_in_use() {
  grep -qiE "address already in use|errno=98|could not bind" "$@"
}
