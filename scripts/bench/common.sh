# Helpers shared by the benchmark scripts (sourced, not run).

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# User + system CPU time of a process so far, in clock ticks (from /proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# 100 × a / b as a whole percentage.
ratio() { python3 -c "print(f'{$1/$2*100:.0f}%')"; }

# release_build [PRODUCT...]: the release build of causeway and of any other PRODUCT (causeway-baseline); BIN: the
# folder of the binaries. BENCH_NO_BUILD=1 uses the release build as it is.
release_build() {
  local product
  if [ -z "${BENCH_NO_BUILD:-}" ]; then
    for product in causeway "$@"; do swift build -c release --product "$product" >/dev/null; done
  fi
  BIN=$(swift build -c release --show-bin-path)
}

# Debian's wrk, installed when missing.
need_wrk() { command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }; }

# wrk_run NAME TICKS URL [HEADER...]: wrk against URL (with each HEADER given) and $CONNS connections, 2 s of
# warm-up then $DURATION s; sets RPS[NAME], LAT[NAME] (mean latency) and CPU[NAME]: CPU µs per request of the
# process whose clock ticks the command TICKS prints ("cpu_ticks PID", or a function summing several processes).
# The caller declares them: declare -A RPS CPU LAT
wrk_run() {
  local name=$1 ticks=$2 url=$3 before after out requests h
  shift 3
  local headers=()
  for h in "$@"; do [ -n "$h" ] && headers+=(-H "$h"); done
  wrk -t2 -c"$CONNS" -d2s "${headers[@]}" "$url" >/dev/null
  before=$($ticks)
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" "${headers[@]}" "$url")
  after=$($ticks)
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  LAT[$name]=$(echo "$out" | awk '/Latency/ {print $2}')
  CPU[$name]=$(python3 -c "print(f'{($after-$before)/$TICK*1e6/$requests:.1f}')")
  if echo "$out" | grep -q "Non-2xx"; then echo "WARNING: $name had non-2xx responses"; fi
}

# wrk_measure NAME URL: wrk_run against http://127.0.0.1:$PORT URL with header $H, CPU of server $PID.
wrk_measure() { wrk_run "$1" "cpu_ticks $PID" "http://127.0.0.1:$PORT$2" "$H"; }

# The build needs OpenLDAP's headers.
bash "$(dirname "${BASH_SOURCE[0]}")/../build-deps.sh"
