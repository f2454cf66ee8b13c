#!/usr/bin/env bash
# Runs the Mediaflow services (release build) against the dev PostgreSQL and RabbitMQ of scripts/services.sh.
#
#   scripts/app.sh run    in the foreground, output prefixed by service name; Ctrl-C stops everything it started
#   scripts/app.sh up     in the background (pid files in .local/dev/run, logs in .local/dev/logs)
#   scripts/app.sh down   stops what `up` started, then the servers
#
# Only the executables that exist in .build/release are started (MEDIA_BIN_DIR overrides the folder).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_SH=$ROOT/scripts/services.sh
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

service_env() {
  if [[ $1 == mediaflow-gateway ]]; then echo "MEDIA_HTTP_PORT=$HTTP_PORT"; else echo "MEDIA_OPS_PORT=$(service_port "$1")"; fi
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
  local svc port
  for svc in $(built_services); do
    port=$(service_port "$svc")
    port_open "$port" "$(probe_host "$svc")" && die "port $port ($svc) is in use; is \`make up\` running? (make down stops it)"
  done
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

stop_foreground() {
  [[ -n $STOPPING ]] && return 0
  STOPPING=1
  local i
  echo
  log "stopping services"
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do terminate "${PIDS[i]}" "$(stop_timeout "${SVCS[i]}")"; done
  "$SERVICES_SH" dev stop || true
}

# Prefixes each line with the service name. It ignores Ctrl-C so the service's last words still get through.
prefix() { trap '' INT TERM; exec sed -u "s/^/$(printf '%-8s|' "$1") /"; }   # runs in the >(...) subshell

cmd_run() {
  check_built
  check_ports_free
  "$SERVICES_SH" dev start
  eval "$("$SERVICES_SH" dev env)"
  trap 'stop_foreground; exit 130' INT TERM
  local svc name status=0
  for svc in $(built_services); do
    name=${svc#mediaflow-}
    # setsid: Ctrl-C reaches only this script, which stops the services with SIGTERM in reverse order.
    env "$(service_env "$svc")" setsid "$BIN/$svc" </dev/null > >(prefix "$name") 2>&1 &
    PIDS+=($!)
    NAMES+=("$name")
    SVCS+=("$svc")
  done
  if [[ ${NAMES[0]} == gateway ]] && ! wait_for_gateway "${PIDS[0]}"; then
    log "the gateway did not come up"
  else
    banner
  fi
  echo "  Ctrl-C stops everything."
  # Runs until Ctrl-C or until one service exits.
  wait -n "${PIDS[@]}" || status=$?
  log "a service exited (status $status); stopping the others"
  stop_foreground
  exit "$status"
}

# ---------------------------------------------------------------- up / down (background)

cmd_up() {
  check_built
  "$SERVICES_SH" dev start
  eval "$("$SERVICES_SH" dev env)"
  mkdir -p "$RUN" "$LOGS"
  local svc port gateway_pid=
  for svc in $(built_services); do
    if pid_alive "$RUN/$svc.pid" "$BIN/$svc"; then
      log "$svc already running (pid $(<"$RUN/$svc.pid"))"
    else
      port=$(service_port "$svc")
      port_open "$port" "$(probe_host "$svc")" && die "port $port ($svc) is in use by another process"
      env "$(service_env "$svc")" setsid "$BIN/$svc" </dev/null >>"$LOGS/$svc.log" 2>&1 &
      echo $! >"$RUN/$svc.pid"
      log "$svc started (pid $!, log $LOGS/$svc.log)"
    fi
    [[ $svc == mediaflow-gateway ]] && gateway_pid=$(<"$RUN/$svc.pid")
  done
  if [[ -n $gateway_pid ]] && ! wait_for_gateway "$gateway_pid"; then
    tail -n 20 "$LOGS/mediaflow-gateway.log" >&2 || true
    die "the gateway did not come up (log: $LOGS/mediaflow-gateway.log)"
  fi
  banner
  echo "  make down stops everything."
}

cmd_down() {
  local i svc
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    svc=${SERVICES[i]}
    if pid_alive "$RUN/$svc.pid" "$BIN/$svc"; then
      terminate "$(<"$RUN/$svc.pid")" "$(stop_timeout "$svc")"
      log "$svc stopped"
    fi
    rm -f "$RUN/$svc.pid"
  done
  "$SERVICES_SH" dev stop
}

case ${1:-} in
  run) cmd_run ;;
  up) cmd_up ;;
  down) cmd_down ;;
  *) echo "usage: $0 <run|up|down>" >&2; exit 2 ;;
esac
