#!/usr/bin/env bash
# Contract fuzzing: Schemathesis (every phase: examples, coverage, fuzzing, stateful; every check) against a real
# Gateway built by the test command, on the test instance's PostgreSQL and RabbitMQ, driven only through what
# /api/schema/ declares. Any finding fails the run. Called by scripts/test.sh after `swift test`; needs its
# environment (MEDIA_TEST_BIN_DIR, the test servers' MEDIA_DATABASE_URL / MEDIA_AMQP_URL, the venv on PATH).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOG_TAG=schemathesis
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

BIN=${MEDIA_TEST_BIN_DIR:?MEDIA_TEST_BIN_DIR is not set (run through scripts/test.sh)}
WORK=$ROOT/.local/test/schemathesis
rm -rf "$WORK"
mkdir -p "$WORK/storage"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MEDIA_HTTP_HOST=127.0.0.1 MEDIA_HTTP_PORT=$PORT MEDIA_PUBLIC_BASE_URL=http://127.0.0.1:$PORT
export MEDIA_JWT_SECRET=schemathesis-secret-schemathesis-secret MEDIA_STORAGE=local:$WORK/storage
export MEDIA_LOG_LEVEL=${MEDIA_LOG_LEVEL:-notice}
# Transforms on (SPEC §12): transform-url answers what a deployment answers, not 501 transforms_disabled.
export MEDIA_TRANSFORM_KEY=schemathesis-transform-key

"$BIN/mediaflow-gateway" >"$WORK/gateway.log" 2>&1 &
gateway=$!
trap 'terminate "$gateway" 10; wait "$gateway" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  running "$gateway" || { cat "$WORK/gateway.log" >&2; die "the gateway exited"; }
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || die "the gateway is not ready (log: $WORK/gateway.log)"

export SCHEMATHESIS_TOKEN
# A staff member's token, so the staff routes are exercised too (a user's is refused there with 403, as documented).
SCHEMATHESIS_TOKEN=$("$BIN/mediactl" token --user-id 880001 --username contract --staff)
status=0
# Run from this folder so Schemathesis finds schemathesis.toml here; its state (.hypothesis) stays in $WORK.
(cd "$WORK" && st --config-file "$HERE/schemathesis.toml" run "http://127.0.0.1:$PORT/api/schema/" \
  --url "http://127.0.0.1:$PORT" \
  --report-junit-path "$WORK/junit.xml" "$@") || status=$?
if [[ $status -ne 0 ]]; then
  log "schemathesis found problems (exit $status); gateway log: $WORK/gateway.log"
else
  log "schemathesis found nothing"
fi
exit "$status"
