#!/usr/bin/env bash
# `make bench`: every row of ../shared/TARGETS.md measured over HTTP against the real stack (Benchmarks/e2e/bench.py).
# Brings the stack up the way `make up` does (release build, dev PostgreSQL and RabbitMQ), or reuses a running
# one; stops what it started. Results: a table on stdout and JSON under bench-results/ (git-ignored).
# Extra arguments go to bench.py (e.g. --runs 7, --only image,burst).
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

started=
if pid_alive "$GATEWAY_PID_FILE" "$BIN/mediaflow-gateway"; then
  log "reusing the running stack (gateway pid $(<"$GATEWAY_PID_FILE"))"
else
  scripts/app.sh up >/dev/null
  started=1
  trap 'scripts/app.sh down >/dev/null' EXIT
fi
# Every service answers its health check before the clock starts.
for svc in mediaflow-gateway mediaflow-image mediaflow-video mediaflow-audio; do
  url=http://$(probe_host "$svc"):$(service_port "$svc")/readyz
  ready=
  for _ in $(seq 1 300); do curl -fs "$url" >/dev/null && { ready=1; break; }; sleep 0.2; done
  [[ -n $ready ]] || die "$svc is not ready after 60 s ($url; logs: .local/dev/logs)"
done
API=http://$(probe_host):$(gateway_port)

mkdir -p bench-results
OUT=bench-results/bench-$(date -u +%Y%m%dT%H%M%SZ).json
TOKEN=$("$BIN/mediactl" token --user-id 990001 --username bench)
MANY_TOKEN=$("$BIN/mediactl" token --user-id 990002 --username many)
eval "$(scripts/services.sh dev env)"
log "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)${started:+, stack started for this run}"
python3 Benchmarks/e2e/bench.py --api "$API" --token "$TOKEN" \
  --gateway-pid "$(<"$GATEWAY_PID_FILE")" --work "$ROOT/.local/bench-inputs" --out "$OUT" \
  --database-url "$MEDIA_DATABASE_URL" --many-token "$MANY_TOKEN" "$@"
