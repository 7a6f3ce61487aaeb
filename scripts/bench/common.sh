# Helpers shared by the benchmark scripts (sourced, not run).

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# User + system CPU time of a process so far, in clock ticks (from /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# 100 × a / b as a whole percentage.
ratio() { python3 -c "print(f'{$1/$2*100:.0f}%')"; }

# The build needs OpenLDAP's headers.
bash "$(dirname "${BASH_SOURCE[0]}")/../build-deps.sh"
