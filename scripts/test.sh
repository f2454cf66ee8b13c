#!/usr/bin/env bash
# Runs the whole test suite against fresh test instances of PostgreSQL, RabbitMQ and S3 (scripts/services.sh test and
# test2), which are stopped afterwards whatever happens. Extra arguments pick tests: `scripts/test.sh --filter X`
# runs the matching tests on the `test` instance only (swift-testing's --filter / --skip).
#
# The whole suite runs as two streams at once, each serial and each on servers of its own, so that a suite that stops
# and restarts its servers (the fault, broker and cross-host tests) never hits another mid-flight:
#   A (servers `test`):  every other suite, then the contract check (Schemathesis);
#   B (servers `test2`): the suites in STREAM_B, then the end-to-end pipelines again with every stack on S3.
# While the code builds, the servers start, the RabbitMQ cluster boots and the Python environment is made.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES_SH=$ROOT/scripts/services.sh
CLUSTER_SH=$ROOT/scripts/rabbitmq-cluster.sh
cd "$ROOT"
LOG_TAG=test
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# The suites of stream B: those that stop servers, and the longest end-to-end ones, plus enough others to even the two
# streams (a fresh clone's run on this machine had A 365 s + Schemathesis 72 s against B 327 s + the S3 pass 82 s).
STREAM_B='EndToEndTests\.(CrossHost|Operations|FaultTolerance|BrokerCluster|JobSafety|VideoPipeline|FairUse)EndToEndTests|EndToEndTests\.(ComposeFileTests|PlaceholderBrowserTests)|MessagingTests\.RabbitMQBrokerTests|IntegrationTests\.(BrokerPathTests|S3PartChecksumTests)'
# The end-to-end suites run a second time with every stack storing in the test S3 server: the pipelines and the faults
# whose subject is storage. Left out: the fault tests of a database or broker outage (storage plays no part in what
# they check; 33 s) and the two-VideoService replica test (its subject is a killed replica; 26 s): the video
# pipeline's files go through the same storage code as the image and audio pipelines' and the 60 MB tus upload's.
S3_PASS='EndToEndTests\.(ImagePipeline|AudioPipeline|FaultTolerance|ResumableUpload)EndToEndTests'
S3_PASS_SKIP='FaultToleranceEndToEndTests\/(databaseOutage|brokerOutage)'
# A stream that runs longer than this is stopped (the whole suite takes about 6 minutes).
STREAM_TIMEOUT=1800

started=$(date +%s)
declare -A phase_seconds=()
phase_start() { eval "phase_started_$1=\$(date +%s)"; }
phase_end() { local var="phase_started_$1"; phase_seconds[$1]=$(($(date +%s) - ${!var})); }

instances=(test)
[[ $# -gt 0 ]] || instances=(test test2)
cleanup() {
  for instance in "${instances[@]}"; do "$SERVICES_SH" "$instance" stop >/dev/null 2>&1 || true; done
  "$CLUSTER_SH" test stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- set-up, beside the build
mkdir -p "$ROOT/.local"
# Beside the instances' folders, not in one: `services.sh test clean` removes .local/test whole.
setup_log=$ROOT/.local/test-setup.log
: >"$setup_log"
phase_start setup
pids=()
# Fixtures (Pillow) and the contract fuzzer (Schemathesis) come from the test's own Python environment.
(ensure_test_venv "$ROOT") >>"$setup_log" 2>&1 &
pids+=($!)
for instance in "${instances[@]}"; do
  # Fresh data: no queues or rows left over from an earlier run.
  ("$SERVICES_SH" "$instance" clean && "$SERVICES_SH" "$instance" start) >>"$setup_log" 2>&1 &
  pids+=($!)
done
# A three-node RabbitMQ cluster for the node-loss test (BrokerClusterEndToEndTests), fresh each run.
if [[ $# -eq 0 ]]; then
  ("$CLUSTER_SH" test clean && "$CLUSTER_SH" test start) >>"$setup_log" 2>&1 &
  pids+=($!)
fi

phase_start build
build_status=0
# No debug info: nothing here reads it (a debugger does, so a developer's own `swift build` keeps it), and it costs
# time in a fresh clone's build on 2 cores. Whole-module builds: one compiler job per module instead of batches that
# each parse and type-check the module's declarations again (with a separate job to emit its interface), which on
# 2 cores took 790 s of a fresh clone's build against 658 s whole-module, measured back to back on this machine.
# `-num-threads 2` keeps one object file per source file, as the index store that test discovery on Linux reads
# expects (the index store stays); incremental builds go (a developer's own `swift build` keeps them).
#
# No index store for C: SwiftPM's index-while-building costs about 10 % of each of the 772 BoringSSL files (two copies,
# swift-crypto's and swift-nio-ssl's), and nothing reads their index. Test discovery reads the Swift modules' index,
# so `--disable-index-store` (which drops it for both) is followed by the Swift compiler's own flag for the same
# folder; every suite is swift-testing, found at run time, so XCTest's discovery is off too. A fresh clone's build
# with and without: see the note of issue 30.
INDEX_STORE=$ROOT/.build/$(uname -m)-unknown-linux-gnu/debug/index/store
BUILD_FLAGS=(-debug-info-format none -Xswiftc -wmo -Xswiftc -num-threads -Xswiftc 2 -Xswiftc -disable-batch-mode
  --disable-index-store --disable-xctest -Xswiftc -index-store-path -Xswiftc "$INDEX_STORE")
# The driver remarks once per module that whole-module builds are not incremental: said once here instead.
swift build --build-tests "${BUILD_FLAGS[@]}" 2>&1 | sed -u '/^remark: Incremental compilation has been disabled/d' \
  || build_status=$?
phase_end build
setup_status=0
for pid in "${pids[@]}"; do wait "$pid" || setup_status=$?; done
phase_end setup
if [[ $setup_status -ne 0 ]]; then
  cat "$setup_log" >&2 || true
  die "setting up the test servers or the Python environment failed (above)"
fi
[[ $build_status -eq 0 ]] || die "the build failed"
ensure_test_venv "$ROOT"   # made above: this only puts it on PATH

MEDIA_TEST_BIN_DIR=$(swift build "${BUILD_FLAGS[@]}" --show-bin-path)
export MEDIA_TEST_BIN_DIR
TESTS_BINARY=$MEDIA_TEST_BIN_DIR/MediaflowPackageTests.xctest

# The environment of the tests on one instance's servers.
instance_env() {
  local instance=$1
  eval "$("$SERVICES_SH" "$instance" env)"
  export MEDIA_TEST_DATABASE_URL=$MEDIA_DATABASE_URL MEDIA_TEST_AMQP_URL=$MEDIA_AMQP_URL
  # Fault-injection tests append a command: "$MEDIA_TEST_RABBITMQ_CTL rabbitmq-stop", "$MEDIA_TEST_PG_CTL pg-start", ...
  export MEDIA_TEST_RABBITMQ_CTL="$SERVICES_SH $instance" MEDIA_TEST_PG_CTL="$SERVICES_SH $instance"
  # The test PostgreSQL speaks TLS too; its CA lets a test connect with sslmode=verify-full.
  export MEDIA_TEST_PG_CA=$ROOT/.local/$instance/pg/tls/ca.pem
  # Each stream's services listen on ports from a range of its own, below the kernel's ephemeral ports (Stack.freePort).
  case $instance in test2) export MEDIA_TEST_PORT_BASE=26000 ;; *) export MEDIA_TEST_PORT_BASE=20000 ;; esac
}

# swift-testing straight from the test bundle: two `swift test` at once would wait on each other's lock of .build.
# Serial within a stream; line-buffered, so a log cut short shows the test that was running.
run_tests() {
  NO_COLOR=1 timeout --signal=INT --kill-after=60 "$STREAM_TIMEOUT" \
    stdbuf -oL -eL "$TESTS_BINARY" --testing-library swift-testing --no-parallel "$@"
}

if [[ $# -gt 0 ]]; then
  instance_env test
  status=0
  run_tests "$@" || status=$?
  log "swift-testing exited with status $status"
  exit "$status"
fi

# Stream A: every suite not in B, then the contract check.
stream_a() {
  instance_env test
  local status=0 contract=0
  phase_start a_tests
  run_tests --skip "$STREAM_B" || status=$?
  phase_end a_tests
  log "A: tests exited with status $status (${phase_seconds[a_tests]}s)"
  phase_start contract
  Tests/Contract/schemathesis.sh || contract=$?
  phase_end contract
  log "A: schemathesis exited with status $contract (${phase_seconds[contract]}s)"
  [[ $status -ne 0 ]] || status=$contract
  return "$status"
}

# Stream B: the suites that stop servers (and the cluster test), then the S3 pass.
stream_b() {
  instance_env test2
  eval "$("$CLUSTER_SH" test env | sed 's/MEDIA_AMQP_URL=/MEDIA_TEST_CLUSTER_AMQP_URL=/; /QUEUE_TYPE/d')"
  export MEDIA_TEST_CLUSTER_CTL="$CLUSTER_SH test"
  local status=0 s3=0
  phase_start b_tests
  run_tests --filter "$STREAM_B" || status=$?
  phase_end b_tests
  log "B: tests exited with status $status (${phase_seconds[b_tests]}s)"
  # Again from the servers: the S3 server's keys are made at its start, and a suite may have restarted it.
  instance_env test2
  phase_start s3
  MEDIA_TEST_E2E_STORAGE=s3 run_tests --filter "$S3_PASS" --skip "$S3_PASS_SKIP" || s3=$?
  phase_end s3
  log "B: end-to-end on S3 storage exited with status $s3 (${phase_seconds[s3]}s)"
  [[ $status -ne 0 ]] || status=$s3
  return "$status"
}

# Each line of a stream carries its name, so the two read apart in one log.
(stream_a 2>&1 | sed -u 's/^/[A] /') &
a=$!
(stream_b 2>&1 | sed -u 's/^/[B] /') &
b=$!
status_a=0 status_b=0
wait "$a" || status_a=$?
wait "$b" || status_b=$?
log "set-up ${phase_seconds[setup]}s (build ${phase_seconds[build]}s); whole run $(($(date +%s) - started))s"
status=0
[[ $status_a -eq 0 && $status_b -eq 0 ]] || status=1
exit "$status"
