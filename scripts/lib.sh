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

# True when something accepts TCP connections on ${2:-127.0.0.1}:$1.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# ---------------------------------------------------------------- where the services listen (SPEC §5)
# The run command takes these from the caller's environment, with the services' own defaults.
gateway_host() { echo "${MEDIA_HTTP_HOST:-127.0.0.1}"; }
gateway_port() { echo "${MEDIA_HTTP_PORT:-8080}"; }
api_url() { local base=${MEDIA_PUBLIC_BASE_URL:-http://$(gateway_host):$(gateway_port)}; echo "${base%/}"; }

# A worker's ops (health/metrics) port: MEDIA_OPS_PORT (default 9101) for the image service, then one up each.
service_port() {
  local base=${MEDIA_OPS_PORT:-9101}
  case $1 in
    mediaflow-gateway) gateway_port ;;
    mediaflow-image) echo "$base" ;;
    mediaflow-video) echo $((base + 1)) ;;
    mediaflow-audio) echo $((base + 2)) ;;
    mediaflow-janitor) echo $((base + 3)) ;;
  esac
}

# Where to knock to see whether a service listens: its host, or loopback when it listens on every address.
probe_host() {
  local host
  if [[ ${1:-mediaflow-gateway} == mediaflow-gateway ]]; then host=$(gateway_host); else host=${MEDIA_OPS_HOST:-127.0.0.1}; fi
  case $host in 0.0.0.0 | :: | "[::]") echo 127.0.0.1 ;; *) echo "$host" ;; esac
}

# ---------------------------------------------------------------- Python for tests
# The test command's Python: a virtual environment in .local/venv with scripts/requirements-test.txt, made again
# when that file changes. Nothing is installed system-wide. Puts the venv first on PATH.
# The test command asks for it from several set-up jobs at once (the S3 server of each instance, the venv job):
# one makes it under a lock while the others wait, instead of each deleting what another is making.
ensure_test_venv() {
  local root=$1 venv=$1/.local/venv req=$1/scripts/requirements-test.txt stamp lock
  stamp=$(sha1sum "$req" | cut -c1-40)
  mkdir -p "$root/.local"
  exec {lock}>"$root/.local/venv.lock"
  flock "$lock"
  if [[ ! -x $venv/bin/python3 || $(cat "$venv/.requirements" 2>/dev/null) != "$stamp" ]]; then
    log "making the test Python environment ($venv)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" || die "pip install -r $req failed"
    echo "$stamp" >"$venv/.requirements"
  fi
  exec {lock}>&-
  export PATH=$venv/bin:$PATH
}
