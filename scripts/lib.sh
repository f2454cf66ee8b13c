# Helpers shared by the scripts in this folder (sourced, not run).

log() { echo "[${LOG_TAG:-mediaflow}] $*"; }
die() { echo "[${LOG_TAG:-mediaflow}] error: $*" >&2; exit 1; }

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# True while a pid runs (an exited process nobody has reaped yet is a zombie, state Z).
running() { [[ -r /proc/$1/stat ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# True when the pid in file $1 runs and its command line contains $2 (guards against pid reuse).
pid_alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# Sends SIGTERM to pid $1, waits up to $2 seconds for it to end, then sends SIGKILL.
terminate() {
  local pid=$1 timeout=${2:-30} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    running "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not stop in ${timeout}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
