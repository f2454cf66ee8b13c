#!/usr/bin/env bash
# Runs the whole test suite against a fresh test instance of PostgreSQL, RabbitMQ and S3 (scripts/services.sh test),
# which is stopped afterwards whatever happens. Extra arguments go to `swift test` (e.g. --filter GatewayTests).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_SH=$ROOT/scripts/services.sh
cd "$ROOT"
LOG_TAG=test
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# Fixtures (Pillow) and the contract fuzzer (Schemathesis) come from the test's own Python environment.
ensure_test_venv "$ROOT"

CLUSTER_SH=$ROOT/scripts/rabbitmq-cluster.sh
trap '"$SERVICES_SH" test stop || true; "$CLUSTER_SH" test stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM

"$SERVICES_SH" test clean >/dev/null   # fresh data: no queues or rows left over from an earlier run
"$SERVICES_SH" test start
eval "$("$SERVICES_SH" test env)"
export MEDIA_TEST_DATABASE_URL=$MEDIA_DATABASE_URL
export MEDIA_TEST_AMQP_URL=$MEDIA_AMQP_URL
# Fault-injection tests append a command: "$MEDIA_TEST_RABBITMQ_CTL rabbitmq-stop", "$MEDIA_TEST_PG_CTL pg-start", ...
export MEDIA_TEST_RABBITMQ_CTL="$SERVICES_SH test"
export MEDIA_TEST_PG_CTL="$SERVICES_SH test"
# The test PostgreSQL speaks TLS too; its CA lets a test connect with sslmode=verify-full.
export MEDIA_TEST_PG_CA="$ROOT/.local/test/pg/tls/ca.pem"
MEDIA_TEST_BIN_DIR=$(swift build --show-bin-path)
export MEDIA_TEST_BIN_DIR

# A three-node RabbitMQ cluster for the node-loss test (BrokerClusterEndToEndTests), fresh each run; it boots while the
# tests build.
"$CLUSTER_SH" test clean >/dev/null 2>&1 || true
"$CLUSTER_SH" test start >"$ROOT/.local/test/cluster-start.log" 2>&1 &
cluster_pid=$!
swift build --build-tests
if wait "$cluster_pid"; then
  eval "$("$CLUSTER_SH" test env | sed 's/MEDIA_AMQP_URL=/MEDIA_TEST_CLUSTER_AMQP_URL=/; /QUEUE_TYPE/d')"
  export MEDIA_TEST_CLUSTER_CTL="$CLUSTER_SH test"
  log "RabbitMQ cluster: $MEDIA_TEST_CLUSTER_AMQP_URL"
else
  cat "$ROOT/.local/test/cluster-start.log" >&2
  die "the RabbitMQ cluster did not start"
fi
status=0
# Serial: some suites stop and restart the test servers, which must not hit another suite mid-flight. Line-buffered
# output, so a log cut short shows the test that was running; a run that hangs is stopped after 40 minutes (the whole
# suite takes about 7).
timeout --signal=INT --kill-after=60 2400 stdbuf -oL -eL swift test --skip-build --no-parallel "$@" || status=$?
[[ $status -ne 124 ]] || log "swift test did not finish in 40 minutes: stopped (the last test started is in the log above)"
log "swift test exited with status $status"
# The S3 pass and the contract check run with the whole suite only (not when `scripts/test.sh --filter X` picks some).
if [[ $# -eq 0 ]]; then
  # The end-to-end pipelines and fault checks again, every stack storing in a bucket of the test S3 server.
  s3=0
  # Again from the servers: the S3 server's keys are made at its start, and a suite may have restarted it.
  eval "$("$SERVICES_SH" test env)"
  MEDIA_TEST_E2E_STORAGE=s3 timeout --signal=INT --kill-after=60 1200 stdbuf -oL -eL swift test --skip-build --no-parallel \
    --filter 'EndToEndTests\.(ImagePipeline|VideoPipeline|AudioPipeline|FaultTolerance|ResumableUpload)EndToEndTests' || s3=$?
  log "end-to-end on S3 storage exited with status $s3"
  [[ $status -ne 0 ]] || status=$s3
  contract=0
  Tests/Contract/schemathesis.sh || contract=$?
  log "schemathesis exited with status $contract"
  [[ $status -ne 0 ]] || status=$contract
fi
exit "$status"
