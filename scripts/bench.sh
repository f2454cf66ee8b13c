#!/usr/bin/env bash
# `make bench`: every row of ../shared/TARGETS.md measured over HTTP against the real stack (Benchmarks/e2e/bench.py).
# Brings the stack up the way `make up` does (release build, dev PostgreSQL and RabbitMQ), or reuses a running
# one; stops what it started. Results: a table on stdout and JSON under bench-results/ (git-ignored).
# Extra arguments go to bench.py (e.g. --runs 7, --only image,burst), except --storage local|s3|local,s3.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOG_TAG=bench
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

BIN=${MEDIA_BIN_DIR:-$ROOT/.build/release}
GATEWAY_PID_FILE=$ROOT/.local/dev/run/mediaflow-gateway.pid
for tool in ffmpeg wrk curl python3 psql; do
  command -v "$tool" >/dev/null || die "$tool is missing (make deps installs it)"
done

# --storage local,s3 runs every row once per storage, one stack after the other, and prints them side by side.
# --video-replicas 1,3 runs the video burst row on a stack with each number of VideoServices, side by side.
STORAGES=local
REPLICAS=
ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --video-replicas) REPLICAS=${2:?--video-replicas needs counts, e.g. 1,3}; shift 2 ;;
    --storage) STORAGES=${2:?--storage needs local, s3 or local,s3}; shift 2 ;;
    --storage=*) STORAGES=${1#--storage=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
for storage in ${STORAGES//,/ }; do
  [[ $storage == local || $storage == s3 ]] || die "--storage takes local, s3 or both (local,s3), not $storage"
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench-results
OUTS=()
started=

stop_started() { if [[ -n $started ]]; then scripts/app.sh down >/dev/null; started=; fi; }
FAIRUSE_PIDS=()
stop_fairuse() {
  local pid
  for pid in "${FAIRUSE_PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  FAIRUSE_PIDS=()
}
trap 'stop_fairuse; stop_thumbor; stop_started' EXIT

# The fair-use rows (issue 28) compare two more Gateways on the stack's own servers and storage, started here with the
# running Gateway's environment: one with quotas and the rate limit on (limits high enough never to refuse the bench's
# uploads), one with both off. Same binary, same servers, measured alternately in one run.
start_fairuse_gateways() {
  local pid port label base
  pid=$(<"$GATEWAY_PID_FILE")
  local -a env_of_gateway=()
  mapfile -d '' env_of_gateway <"/proc/$pid/environ"
  FAIRUSE_ON= FAIRUSE_OFF=
  for label in on off; do
    [[ $label == on ]] && port=$(($(gateway_port) + 50)) || port=$(($(gateway_port) + 51))
    base=http://$(probe_host):$port
    if [[ $label == on ]]; then
      set -- MEDIA_UPLOAD_RATE=100000/s MEDIA_UPLOAD_BURST=100000 MEDIA_QUOTA_BYTES=$((1 << 50))
      FAIRUSE_ON=$base
    else
      set -- MEDIA_UPLOAD_RATE=off MEDIA_QUOTA_BYTES=off
      FAIRUSE_OFF=$base
    fi
    env -i "${env_of_gateway[@]}" MEDIA_HTTP_PORT="$port" MEDIA_PUBLIC_BASE_URL="$base" "$@" \
      "$BIN/mediaflow-gateway" >>"$ROOT/.local/dev/logs/bench-gateway-fairuse-$label.log" 2>&1 &
    FAIRUSE_PIDS+=($!)
    for _ in $(seq 1 300); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.2; done
    curl -fs "$base/readyz" >/dev/null || die "the fair-use $label Gateway is not ready (log: .local/dev/logs/bench-gateway-fairuse-$label.log)"
  done
}

# The transform rows' yardstick (issue 29): thumbor 7.8.0 from PyPI in the bench's own virtual environment, its file
# loader reading the bench's inputs. Started once per run, stopped at exit.
THUMBOR_PID=
THUMBOR=
start_thumbor() {
  local venv=$ROOT/.local/bench-venv port=$(($(gateway_port) + 60))
  if [[ ! -x $venv/bin/thumbor ]]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check thumbor==7.8.0 \
      || { log "thumbor could not be installed: the transform row runs without its yardstick"; return 0; }
  fi
  mkdir -p "$ROOT/.local/bench-inputs"
  cat >"$ROOT/.local/thumbor.conf" <<CONF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$ROOT/.local/bench-inputs'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
CONF
  "$venv/bin/thumbor" --port "$port" --conf "$ROOT/.local/thumbor.conf" -l warning \
    >>"$ROOT/.local/dev/logs/bench-thumbor.log" 2>&1 &
  THUMBOR_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && break; sleep 0.2; done
  curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && THUMBOR=http://127.0.0.1:$port \
    || log "thumbor did not start (log: .local/dev/logs/bench-thumbor.log)"
}
stop_thumbor() { if [[ -n $THUMBOR_PID ]]; then kill "$THUMBOR_PID" 2>/dev/null || true; wait "$THUMBOR_PID" 2>/dev/null || true; THUMBOR_PID=; fi; }

# One pass of bench.py against a stack storing on $1.
bench_pass() {
  local storage=$1 label=${2:-$1} out svc url ready
  if [[ $STORAGES == local && -z $REPLICAS ]] && pid_alive "$GATEWAY_PID_FILE" "$BIN/mediaflow-gateway"; then
    log "reusing the running stack (gateway pid $(<"$GATEWAY_PID_FILE"))"
  else
    pid_alive "$GATEWAY_PID_FILE" "$BIN/mediaflow-gateway" \
      && die "--storage $STORAGES / --video-replicas start their own stacks: stop the running one first (make down)"
    # s3: the dev S3 server (scripts/services.sh, moto with signatures checked) holds everything.
    if [[ $storage == s3 ]]; then export MEDIA_LOCAL_S3=1 MEDIA_STORAGE=''; else export MEDIA_LOCAL_S3=0; fi
    scripts/app.sh up >/dev/null
    started=1
  fi
  # Every service answers its health check before the clock starts.
  for svc in mediaflow-gateway mediaflow-image mediaflow-video mediaflow-audio; do
    url=http://$(probe_host "$svc"):$(service_port "$svc")/readyz
    ready=
    for _ in $(seq 1 300); do curl -fs "$url" >/dev/null && { ready=1; break; }; sleep 0.2; done
    [[ -n $ready ]] || die "$svc is not ready after 60 s ($url; logs: .local/dev/logs)"
  done
  API=http://$(probe_host):$(gateway_port)
  out=bench-results/bench-$STAMP-$label.json
  TOKEN=$("$BIN/mediactl" token --user-id 990001 --username bench)
  MANY_TOKEN=$("$BIN/mediactl" token --user-id 990002 --username many)
  STAFF_TOKEN=$("$BIN/mediactl" token --user-id 990003 --username bench-staff --staff)
  QUOTA_TOKEN=$("$BIN/mediactl" token --user-id 990004 --username bench-quota)
  FAIRUSE_TOKEN=$("$BIN/mediactl" token --user-id 990005 --username bench-fairuse)
  start_fairuse_gateways
  [[ -n $THUMBOR ]] || start_thumbor
  # The running Gateway's transform key (make up makes one), to sign /img/ URLs as an app's backend would.
  TRANSFORM_KEY=$(tr '\0' '\n' <"/proc/$(<"$GATEWAY_PID_FILE")/environ" | sed -n 's/^MEDIA_TRANSFORM_KEY=//p' | cut -d, -f1)
  eval "$(scripts/services.sh dev env)"
  # The scanning row (issue 30) runs ImageServices of its own beside a project-local clamd on the test signature.
  CLAMD_ARGS=()
  if scripts/services.sh dev clamd-start >/dev/null 2>&1; then
    CLAMD_ARGS=(--clamd "unix:$ROOT/.local/dev/clamav/clamd.sock" --image-pid-file "$ROOT/.local/dev/run/mediaflow-image.pid")
  else
    log "clamd could not be started: the scanning row is left out"
  fi
  # A build that just ended (make bench builds first) leaves the machine busy for a while after it (the first run of
  # this session's bench started at a load average of 2.25); wait, at most 90 s, for the one-minute load average to
  # fall below one core.
  for _ in $(seq 1 90); do awk '{exit !($1 < 1.0)}' /proc/loadavg && break; sleep 1; done
  log "storage $storage: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)${started:+, stack started for this run}"
  # bench.py exits 1 when a row misses its target: the other storage's pass and the comparison still run.
  python3 Benchmarks/e2e/bench.py --api "$API" --token "$TOKEN" \
    --gateway-pid "$(<"$GATEWAY_PID_FILE")" --work "$ROOT/.local/bench-inputs" --out "$out" \
    --database-url "$MEDIA_DATABASE_URL" --many-token "$MANY_TOKEN" --staff-token "$STAFF_TOKEN" \
    --fairuse-on "$FAIRUSE_ON" --fairuse-off "$FAIRUSE_OFF" --quota-token "$QUOTA_TOKEN" \
    --fairuse-token "$FAIRUSE_TOKEN" --transform-key "$TRANSFORM_KEY" --thumbor "$THUMBOR" "${CLAMD_ARGS[@]}" "${ARGS[@]}" || STATUS=$?
  stop_fairuse
  OUTS+=("$label=$out")
  if [[ $storage == s3 && -f $ROOT/.local/bench-inputs/big-97mb.mp4 ]]; then
    "$ROOT/.local/venv/bin/python3" Benchmarks/e2e/s3_ceiling.py --file "$ROOT/.local/bench-inputs/big-97mb.mp4" \
      || log "could not measure the S3 server's own upload speed"
  fi
  stop_started
}

STATUS=0
if [[ -n $REPLICAS ]]; then
  ARGS+=(--only videoburst)
  for n in ${REPLICAS//,/ }; do
    [[ $n =~ ^[1-9]$ ]] || die "--video-replicas takes counts from 1 to 9, not $n"
    export MEDIA_REPLICAS=video=$n
    bench_pass local "video-x$n"
    stop_started
  done
else
  for storage in ${STORAGES//,/ }; do bench_pass "$storage"; done
fi
if ((${#OUTS[@]} > 1)); then python3 Benchmarks/e2e/compare.py "${OUTS[@]}"; fi
exit "$STATUS"
