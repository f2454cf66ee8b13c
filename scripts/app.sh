#!/usr/bin/env bash
# Runs the Mediaflow services (release build) against the dev PostgreSQL and RabbitMQ of scripts/services.sh.
#
#   scripts/app.sh run    in the foreground, output prefixed by service name; Ctrl-C stops everything it started
#   scripts/app.sh up     in the background (pid files in .local/dev/run, logs in .local/dev/logs)
#   scripts/app.sh down   stops what `up` started, then the servers
#   scripts/app.sh status what `up` started: each instance's pid, port and log
#
# Only the executables that exist in .build/release are started (MEDIA_BIN_DIR overrides the folder). Every instance
# runs under scripts/supervise.sh: one that dies is started again (after 1 s, then 2, 4, ... up to 30 s while it keeps
# dying young), and the restart is logged.
# MEDIA_REPLICAS=video=3,image=2,gateway=2 starts that many instances of a service (default one each). Replica N > 1 of
# a service is named <service>.N (its pid file and log say so); Gateways listen on consecutive ports from
# MEDIA_HTTP_PORT, and replica N of a worker serves health and metrics on its ops port + 10 × (N - 1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_SH=$ROOT/scripts/services.sh
SUPERVISE=$ROOT/scripts/supervise.sh
BIN=${MEDIA_BIN_DIR:-$ROOT/.build/release}
RUN=$ROOT/.local/dev/run
LOGS=$ROOT/.local/dev/logs
SERVICES=(mediaflow-gateway mediaflow-image mediaflow-video mediaflow-audio mediaflow-janitor)
LOG_TAG=app
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# Every MEDIA_* variable the caller set reaches the services unchanged (they inherit this environment); the ports
# below are the only ones this script chooses, and it takes them from MEDIA_HTTP_PORT / MEDIA_OPS_PORT when set.
HTTP_PORT=$(gateway_port)
API_URL=$(api_url)
# Transforms on request (SPEC §12) need a key: a development run makes a random one unless one is given, and the
# banner prints it so an app's backend can sign /img/ URLs with it.
if [[ -z ${MEDIA_TRANSFORM_KEY:-} ]]; then
  MEDIA_TRANSFORM_KEY=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  export MEDIA_TRANSFORM_KEY
fi

# How long a service may take to stop on SIGTERM before it is killed: a processor drains first (jobs in hand may run
# for MEDIA_DRAIN_TIMEOUT: video 10m, the others 30s by default), so give it that and a margin.
stop_timeout() {
  local drain
  case $1 in
    mediaflow-video) drain=${MEDIA_DRAIN_TIMEOUT:-10m} ;;
    mediaflow-image | mediaflow-audio) drain=${MEDIA_DRAIN_TIMEOUT:-30s} ;;
    *) drain=0 ;;
  esac
  echo $(($(seconds_of "$drain") + 30))
}

# Seconds of a duration as the services read it (500ms, 90s, 30m, 6h, 7d; a bare number is seconds).
seconds_of() {
  local value=${1%[smhd]} unit=${1##*[0-9]}
  [[ $1 == *ms ]] && { echo 1; return; }
  [[ $value =~ ^[0-9]+$ ]] || { echo 60; return; }
  case $unit in
    m) echo $((value * 60)) ;;
    h) echo $((value * 3600)) ;;
    d) echo $((value * 86400)) ;;
    *) echo "$value" ;;
  esac
}

# How many instances of service $1 MEDIA_REPLICAS asks for (`video=3,image=2`: names without the mediaflow- prefix).
replicas() {
  local name=${1#mediaflow-} entry count=1 list=${MEDIA_REPLICAS:-}
  for entry in ${list//,/ }; do
    if [[ ${entry%%=*} == "$name" ]]; then
      count=${entry#*=}
      [[ $count =~ ^[1-9][0-9]?$ ]] || die "MEDIA_REPLICAS: '$entry' is not <service>=<1..99>"
    fi
  done
  echo "$count"
}

check_replicas() {
  local entry name list=${MEDIA_REPLICAS:-}
  for entry in ${list//,/ }; do
    name=${entry%%=*}
    [[ " ${SERVICES[*]} " == *" mediaflow-$name "* ]] \
      || die "MEDIA_REPLICAS: unknown service '$name' (gateway, image, video, audio, janitor)"
  done
}

# Every instance to start, in start order, as "<service> <replica>" lines.
instances() {
  local svc n i
  for svc in $(built_services); do
    n=$(replicas "$svc")
    for ((i = 1; i <= n; i++)); do echo "$svc $i"; done
  done
}

# An instance's name: the service for the first replica, <service>.<N> for the others.
instance_name() { if [[ $2 -eq 1 ]]; then echo "$1"; else echo "$1.$2"; fi; }

# The port an instance listens on: Gateways on consecutive HTTP ports, workers 10 ops ports apart.
instance_port() {
  if [[ $1 == mediaflow-gateway ]]; then echo $(($(gateway_port) + $2 - 1)); else echo $(($(service_port "$1") + 10 * ($2 - 1))); fi
}

instance_env() {
  if [[ $1 == mediaflow-gateway ]]; then
    echo "MEDIA_HTTP_PORT=$(instance_port "$1" "$2")"
  else
    echo "MEDIA_OPS_PORT=$(instance_port "$1" "$2")"
  fi
}

# The services that were built, in start order.
built_services() {
  local svc
  for svc in "${SERVICES[@]}"; do [[ -x $BIN/$svc ]] && echo "$svc"; done
  return 0
}

check_built() {
  [[ -n $(built_services) ]] || die "no service executables in $BIN (run: make build)"
}

check_ports_free() {
  local svc i port
  while read -r svc i; do
    port=$(instance_port "$svc" "$i")
    port_open "$port" "$(probe_host "$svc")" \
      && die "port $port ($(instance_name "$svc" "$i")) is in use; is \`make up\` running? (make down stops it)"
  done < <(instances)
  return 0
}

# Waits up to 60 s for the gateway to accept connections; fails early if pid $1 exits.
wait_for_gateway() {
  local pid=$1 i
  for ((i = 0; i < 600; i++)); do
    port_open "$HTTP_PORT" "$(probe_host)" && return 0
    running "$pid" || return 1
    sleep 0.1
  done
  return 1
}

banner() {
  local token
  echo
  echo "  Mediaflow API: $API_URL"
  echo "  Storage:       ${MEDIA_STORAGE:-}"
  if [[ -x $BIN/mediactl ]] && token=$("$BIN/mediactl" token --user-id 1 --username dev 2>/dev/null); then
    echo "  Dev token:     $token"
    echo "  Transform key: ${MEDIA_TRANSFORM_KEY%%,*}  (signs /img/ URLs; see README, Images for the web)"
    echo "  Try:           curl -H \"Authorization: Bearer \$TOKEN\" $API_URL/api/media/"
  else
    echo "  (no dev token: $BIN/mediactl is missing or failed)"
  fi
  echo
}

# ---------------------------------------------------------------- run (foreground)

PIDS=()
NAMES=()
SVCS=()
STOPPING=

# Stops a supervised instance: its supervisor stops restarting and passes SIGTERM on; past the timeout both are killed.
stop_supervised() {
  local supervisor=$1 pidfile=$2 timeout=$3
  terminate "$supervisor" "$timeout"
  if [[ -s $pidfile ]] && running "$(<"$pidfile")"; then kill -KILL "$(<"$pidfile")" 2>/dev/null || true; fi
}

stop_foreground() {
  [[ -n $STOPPING ]] && return 0
  STOPPING=1
  local i
  echo
  log "stopping services"
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_supervised "${PIDS[i]}" "$RUN/fg-${NAMES[i]}.pid" "$(stop_timeout "${SVCS[i]}")"
    rm -f "$RUN/fg-${NAMES[i]}.pid"
  done
  "$SERVICES_SH" dev stop || true
}

# Prefixes each line with the service name. It ignores Ctrl-C so the service's last words still get through.
prefix() { trap '' INT TERM; exec sed -u "s/^/$(printf '%-8s|' "$1") /"; }   # runs in the >(...) subshell

cmd_run() {
  check_built
  check_replicas
  check_ports_free
  "$SERVICES_SH" dev start
  eval "$("$SERVICES_SH" dev env)"
  trap 'stop_foreground; exit 130' INT TERM
  mkdir -p "$RUN"
  local svc i name status=0
  while read -r svc i; do
    name=$(instance_name "${svc#mediaflow-}" "$i")
    # setsid: Ctrl-C reaches only this script, which stops the services with SIGTERM in reverse order.
    env "$(instance_env "$svc" "$i")" setsid "$SUPERVISE" "$name" "$RUN/fg-$name.pid" -- "$BIN/$svc" \
      </dev/null > >(prefix "$name") 2>&1 &
    PIDS+=($!)
    NAMES+=("$name")
    SVCS+=("$svc")
  done < <(instances)
  if [[ ${NAMES[0]} == gateway ]] && ! wait_for_gateway "${PIDS[0]}"; then
    log "the gateway did not come up"
  else
    banner
  fi
  echo "  Ctrl-C stops everything."
  # Runs until Ctrl-C: a service that dies is started again by its supervisor (said in its output).
  wait -n "${PIDS[@]}" || status=$?
  log "a supervisor exited (status $status); stopping the others"
  stop_foreground
  exit "$status"
}

# ---------------------------------------------------------------- up / down (background)

cmd_up() {
  check_built
  check_replicas
  "$SERVICES_SH" dev start
  eval "$("$SERVICES_SH" dev env)"
  mkdir -p "$RUN" "$LOGS"
  local svc i n name port gateway_pid=
  while read -r svc i; do
    name=$(instance_name "$svc" "$i")
    if pid_alive "$RUN/$name.supervisor.pid" "$SUPERVISE"; then
      log "$name already running (pid $(<"$RUN/$name.pid"))"
    else
      port=$(instance_port "$svc" "$i")
      port_open "$port" "$(probe_host "$svc")" && die "port $port ($name) is in use by another process"
      rm -f "$RUN/$name.pid"
      env "$(instance_env "$svc" "$i")" setsid "$SUPERVISE" "$name" "$RUN/$name.pid" -- "$BIN/$svc" \
        </dev/null >>"$LOGS/$name.log" 2>&1 &
      echo $! >"$RUN/$name.supervisor.pid"
      for ((n = 0; n < 50; n++)); do [[ -s $RUN/$name.pid ]] && break; sleep 0.1; done
      log "$name started (pid $(cat "$RUN/$name.pid" 2>/dev/null), port $port, log $LOGS/$name.log; restarted if it dies)"
    fi
    [[ $name == mediaflow-gateway ]] && gateway_pid=$(<"$RUN/$name.pid")
  done < <(instances)
  if [[ -n $gateway_pid ]] && ! wait_for_gateway "$gateway_pid"; then
    tail -n 20 "$LOGS/mediaflow-gateway.log" >&2 || true
    die "the gateway did not come up (log: $LOGS/mediaflow-gateway.log)"
  fi
  banner
  echo "  make down stops everything."
}

# The pid files of every instance `up` started (whatever MEDIA_REPLICAS says now), replicas before the first; each
# has a supervisor's pid file beside it (<name>.supervisor.pid).
instance_pid_files() {
  local svc
  for svc in "$@"; do
    find "$RUN" -maxdepth 1 -name "$svc.*.pid" ! -name '*.supervisor.pid' -printf '%f\n' 2>/dev/null \
      | sort -t. -k2,2nr | sed "s|^|$RUN/|"
    [[ -e $RUN/$svc.pid ]] && echo "$RUN/$svc.pid"
  done
  return 0
}

cmd_down() {
  local i j svc file name
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    svc=${SERVICES[i]}
    # Replicas of one service stop together (a processor drains for up to MEDIA_DRAIN_TIMEOUT).
    local pids=() names=()
    for file in $(instance_pid_files "$svc"); do
      name=$(basename "$file" .pid)
      # The supervisor first (it passes SIGTERM on and restarts nothing), else the service itself.
      if pid_alive "$RUN/$name.supervisor.pid" "$SUPERVISE"; then
        kill -TERM "$(<"$RUN/$name.supervisor.pid")" 2>/dev/null || true
        pids+=("$(<"$RUN/$name.supervisor.pid")")
        names+=("$name")
      elif pid_alive "$file" "$BIN/$svc"; then
        kill -TERM "$(<"$file")" 2>/dev/null || true
        pids+=("$(<"$file")")
        names+=("$name")
      fi
    done
    for ((j = 0; j < ${#pids[@]}; j++)); do
      stop_supervised "${pids[j]}" "$RUN/${names[j]}.pid" "$(stop_timeout "$svc")"
      rm -f "$RUN/${names[j]}.pid" "$RUN/${names[j]}.supervisor.pid"
      log "${names[j]} stopped"
    done
  done
  "$SERVICES_SH" dev stop
}

cmd_status() {
  local svc file name pid port state
  for svc in "${SERVICES[@]}"; do
    for file in $(instance_pid_files "$svc" | tac); do
      name=$(basename "$file" .pid)
      pid=$(<"$file")
      if pid_alive "$file" "$BIN/$svc"; then state=running; else state=stopped; fi
      port=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^MEDIA_\(HTTP\|OPS\)_PORT=//p' | tail -n 1)
      log "$(printf '%-22s %-8s pid %-8s port %-6s log %s' "$name" "$state" "$pid" "${port:--}" "$LOGS/$name.log")"
    done
  done
  return 0
}

case ${1:-} in
  run) cmd_run ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 <run|up|down|status>" >&2; exit 2 ;;
esac
