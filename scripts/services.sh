#!/usr/bin/env bash
# Project-local PostgreSQL, RabbitMQ and (for tests, or dev with MEDIA_LOCAL_S3=1) an S3 server for one instance
# (dev or test). No Docker, no system services.
#
#   scripts/services.sh <dev|test|test2|hosts> <command>
#
# `hosts` is the servers' host of the cross-host test (scripts/netns-hosts.sh): it runs inside a network namespace,
# listens on every address there and trusts its own subnets; MEDIA_SERVICES_ADDRESS names it in `env`.
#
#   deps            apt-get install what is missing (apt-get update only when something is)
#   start | stop    the servers; start leaves a running instance alone, stop ends only what this instance started
#   status          what is running
#   env             export lines for MEDIA_DATABASE_URL, MEDIA_AMQP_URL, MEDIA_STORAGE (and the S3 server's)
#   pg-start | pg-stop | rabbitmq-start | rabbitmq-stop | s3-start | s3-stop    one server (fault-injection tests)
#   clean           stop, then delete the instance's data
#   rabbitmqctl ARGS...   rabbitmqctl against this instance's node (e.g. list_queues)
#
# Data lives under .local/<instance>/: pg/ (data, socket, log), rabbitmq/ (mnesia, log, home, config),
# run/ (pid files), logs/, storage/, s3/ (the S3 server's credentials and spilled objects). PostgreSQL runs as the `postgres` user when we are root; if that user cannot
# reach .local (e.g. the repo is under /root), pg/ is a symlink to /var/tmp/mediaflow-<hash>/<instance>.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
RMQ_BIN=/usr/lib/rabbitmq/bin   # not /usr/sbin/rabbitmqctl: that wrapper switches to the rabbitmq user and its HOME

usage() {
  echo "usage: $0 <dev|test|test2|hosts> <deps|start|stop|status|env|pg-start|pg-stop|rabbitmq-start|rabbitmq-stop|s3-start|s3-stop|clean|rabbitmqctl ...>" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
INSTANCE=$1 CMD=$2
shift 2
# Where the servers listen, and the address clients are given (`env`).
LISTEN=127.0.0.1 ADDRESS=127.0.0.1
case $INSTANCE in
  dev)  PG_PORT=54329 AMQP_PORT=56729 DIST_PORT=25729 EPMD_PORT=43729 S3_PORT=59329 ;;
  # The test servers listen below the kernel's ephemeral range (32768-60999): a port in it can be taken by any outgoing
  # connection of the moment (a test stream's cluster node once failed to boot with eaddrinuse on 56752 that way), and
  # below the tests' own free ports (20000-31999: Tests/EndToEndTests/Stack.swift, MEDIA_TEST_PORT_BASE), which a test
  # may take while one of these servers is stopped.
  test) PG_PORT=17339 AMQP_PORT=18739 DIST_PORT=19739 EPMD_PORT=16739 S3_PORT=15339 ;;
  # The test command's second stream (the suites that stop servers), on servers of its own (scripts/test.sh).
  test2) PG_PORT=17369 AMQP_PORT=18769 DIST_PORT=19769 EPMD_PORT=16769 S3_PORT=15369 ;;
  hosts)
    PG_PORT=17359 AMQP_PORT=18759 DIST_PORT=19759 EPMD_PORT=16759 S3_PORT=15359
    LISTEN=0.0.0.0 ADDRESS=${MEDIA_SERVICES_ADDRESS:-127.0.0.1}
    # Every address: only ever inside a namespace of the test's own, never on the machine's network.
    if [[ $CMD != env && $CMD != clean && -z $(ip netns identify $$ 2>/dev/null) ]]; then
      echo "$0 hosts: run inside a network namespace (scripts/netns-hosts.sh)" >&2
      exit 2
    fi
    ;;
  *) usage ;;
esac

DIR=$ROOT/.local/$INSTANCE
RUN=$DIR/run
LOGS=$DIR/logs
STORAGE=$DIR/storage
RMQ_DIR=$DIR/rabbitmq
S3_DIR=$DIR/s3
S3_BUCKET=mediaflow
NODE=mediaflow-$INSTANCE@localhost
# The test instance always has an S3 server (the storage tests and the S3 end-to-end run need one); the dev
# instance when asked: MEDIA_LOCAL_S3=1 make run.
if [[ $INSTANCE != dev || ${MEDIA_LOCAL_S3:-0} == 1 ]]; then WANT_S3=1; else WANT_S3=0; fi
# clamd (SPEC §13): the test instances always run one (the scanning tests use it); dev with MEDIA_LOCAL_CLAMD=1.
CLAMD_DIR=$DIR/clamav
if [[ $INSTANCE == test* || ${MEDIA_LOCAL_CLAMD:-0} == 1 ]]; then WANT_CLAMD=1; else WANT_CLAMD=0; fi

LOG_TAG=$INSTANCE
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# Runs a command as root (apt) or as the PostgreSQL owner.
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
# (cd /: our working directory may be unreadable to postgres.)
as_pg() { if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# ---------------------------------------------------------------- deps

APT_PACKAGES=(rabbitmq-server librabbitmq-dev libvips-dev libavformat-dev libavcodec-dev libswscale-dev
  libswresample-dev libavutil-dev ffmpeg libvips-tools wrk pkg-config curl openssl
  chromium chromium-driver fonts-dejavu-core iproute2 clamav-daemon clamav)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

cmd_deps() {
  local missing=() pkg python
  for pkg in "${APT_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
  [[ -x $PG_BIN/initdb ]] || missing+=(postgresql-15)
  # The test command makes a Python virtual environment (scripts/lib.sh ensure_test_venv); Debian's python3 needs
  # python3-venv for that. Another python3 (pyenv) carries venv itself.
  python=$(command -v python3 || true)
  if [[ -z $python || $(readlink -f "$python") == /usr/bin/python3* ]]; then
    installed python3-venv || missing+=(python3 python3-venv)
  fi
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
  fi
  command -v swift >/dev/null || log "warning: swift is not on PATH (https://www.swift.org/install/linux/)"
  log "dependencies ok"
}

# ---------------------------------------------------------------- PostgreSQL

# Where PostgreSQL's files live: .local/<instance>/pg, or the /var/tmp directory it links to.
pg_root() {
  local link=$DIR/pg
  if [[ -L $link ]]; then readlink -f "$link"; return; fi
  if [[ -d $link ]]; then echo "$link"; return; fi
  # First use: can the postgres user reach .local/<instance>, and is the socket path short enough (107 bytes)?
  mkdir -p "$DIR"
  local sock="$link/socket/.s.PGSQL.$PG_PORT"
  if [[ ${#sock} -lt 100 ]] && as_pg test -x "$DIR"; then
    echo "$link"
  else
    local hash
    hash=$(printf %s "$ROOT" | sha1sum | cut -c1-10)
    mkdir -p "/var/tmp/mediaflow-$hash"
    ln -s "/var/tmp/mediaflow-$hash/$INSTANCE" "$link"
    echo "/var/tmp/mediaflow-$hash/$INSTANCE"
  fi
}

pg_ctl() { as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" "$@"; }
pg_running() { [[ -f $PG_ROOT/data/postmaster.pid ]] && pg_ctl status >/dev/null 2>&1; }

pg_init() {
  [[ -f $PG_ROOT/data/PG_VERSION ]] && return 0
  log "initdb in $PG_ROOT"
  mkdir -p "$PG_ROOT"
  rm -rf "${PG_ROOT:?}/data"
  mkdir -p "$PG_ROOT/socket"
  if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$PG_ROOT"; fi
  chmod 700 "$PG_ROOT"
  as_pg "$PG_BIN/initdb" -D "$PG_ROOT/data" -U mediaflow --auth=trust -E UTF8 --no-locale >"$PG_ROOT/initdb.log" 2>&1 \
    || { cat "$PG_ROOT/initdb.log" >&2; die "initdb failed"; }
  pg_make_certificates
  {
    echo "# mediaflow ($INSTANCE)"
    echo "listen_addresses = '$LISTEN'"
    echo "port = $PG_PORT"
    echo "unix_socket_directories = '$PG_ROOT/socket'"
    echo "max_connections = 200"
    # TLS as well as plain TCP, so `sslmode=require` / `verify-full` can be used and tested against this server.
    echo "ssl = on"
    echo "ssl_cert_file = '$PG_ROOT/tls/server.pem'"
    echo "ssl_key_file = '$PG_ROOT/tls/server.key'"
    if [[ $INSTANCE != dev ]]; then
      # Throwaway data: trade durability for speed.
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } | as_pg tee -a "$PG_ROOT/data/postgresql.conf" >/dev/null
  if [[ $LISTEN != 127.0.0.1 ]]; then
    # The other hosts of the namespace network (samenet: the subnets this host is on).
    echo "host all all samenet trust" | as_pg tee -a "$PG_ROOT/data/pg_hba.conf" >/dev/null
  fi
}

# A private CA and a server certificate for 127.0.0.1 / localhost, made once per instance: clients verify the
# server with `sslmode=verify-full&sslrootcert=<pg>/tls/ca.pem` (`scripts/services.sh <instance> env` names it).
pg_make_certificates() {
  local tls=$PG_ROOT/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mediaflow-$INSTANCE-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1 || die "openssl could not make the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" \
    >/dev/null 2>&1 || die "openssl could not make the server key"
  printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$tls/san.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
    -extfile "$tls/san.ext" -out "$tls/server.pem" >/dev/null 2>&1 || die "openssl could not sign the server certificate"
  chmod 600 "$tls/server.key" "$tls/ca.key"
  chmod 644 "$tls/ca.pem"
  if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$tls"; fi
}

cmd_pg_start() {
  local t0
  t0=$(now)
  PG_ROOT=$(pg_root)
  if pg_running; then log "postgres already running (port $PG_PORT)"; return 0; fi
  pg_init
  mkdir -p "$LOGS"
  ln -sfn "$PG_ROOT/postgres.log" "$LOGS/postgres.log"
  pg_ctl -w -t 60 -l "$PG_ROOT/postgres.log" -o "-p $PG_PORT" start >/dev/null \
    || { tail -n 20 "$PG_ROOT/postgres.log" >&2; die "postgres did not start (log: $PG_ROOT/postgres.log)"; }
  local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U mediaflow -d postgres -Atq)
  if [[ -z $("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'mediaflow'") ]]; then
    "${psql[@]}" -c "CREATE DATABASE mediaflow"
  fi
  log "postgres started on 127.0.0.1:$PG_PORT in $(since "$t0")"
}

cmd_pg_stop() {
  local t0
  t0=$(now)
  PG_ROOT=$(pg_root)
  if ! pg_running; then log "postgres not running"; return 0; fi
  pg_ctl -m fast -w -t 60 stop >/dev/null
  log "postgres stopped in $(since "$t0")"
}

# ---------------------------------------------------------------- RabbitMQ

rmq_env() {
  export HOME=$RMQ_DIR/home   # the Erlang cookie (server and rabbitmqctl must share it)
  export RABBITMQ_NODENAME=$NODE
  export RABBITMQ_NODE_IP_ADDRESS=$LISTEN
  export RABBITMQ_NODE_PORT=$AMQP_PORT
  export RABBITMQ_DIST_PORT=$DIST_PORT
  export ERL_EPMD_PORT=$EPMD_PORT
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_PID_FILE=$RUN/rabbitmq.pid
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
  export RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf   # ignore /etc/rabbitmq/rabbitmq-env.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmqctl() { (rmq_env; cd "$RMQ_DIR" && "$RMQ_BIN/rabbitmqctl" -n "$NODE" "$@"); }
rmq_running() { pid_alive "$RUN/rabbitmq.pid" "-home $RMQ_DIR/home"; }   # beam.smp of this instance

rmq_init() {
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log" "$RUN" "$LOGS"
  if [[ ! -s $RMQ_DIR/home/.erlang.cookie ]]; then
    (umask 077; head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$RMQ_DIR/home/.erlang.cookie")
    chmod 400 "$RMQ_DIR/home/.erlang.cookie"
  fi
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  [[ -f $RMQ_DIR/advanced.config ]] || echo '[].' >"$RMQ_DIR/advanced.config"
  # default_user is created on the node's first boot (empty database), which makes user set-up idempotent.
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# generated by scripts/services.sh ($INSTANCE)
listeners.tcp.default = $LISTEN:$AMQP_PORT
loopback_users = none
default_user = mediaflow
default_pass = mediaflow
default_vhost = /
default_permissions.configure = .*
default_permissions.write = .*
default_permissions.read = .*
# 2 h: a long video job holds its message unacked while it works
consumer_timeout = 7200000
log.file.level = info
log.console = false
EOF
}

epmd_start() {
  if pid_alive "$RUN/epmd.pid" "epmd -port $EPMD_PORT"; then return 0; fi
  port_open "$EPMD_PORT" && die "port $EPMD_PORT (epmd) is in use by another process"
  setsid epmd -port "$EPMD_PORT" -address 127.0.0.1 </dev/null >>"$LOGS/epmd.log" 2>&1 &
  echo $! >"$RUN/epmd.pid"
}

cmd_rabbitmq_start() {
  local t0 i
  t0=$(now)
  if rmq_running; then log "rabbitmq already running (port $AMQP_PORT)"; return 0; fi
  rm -f "$RUN/rabbitmq.pid" "$RUN/rabbitmq-wrapper.pid"
  port_open "$AMQP_PORT" && die "port $AMQP_PORT (AMQP) is in use by another process"
  rmq_init
  epmd_start
  (
    rmq_env
    cd "$RMQ_DIR"
    setsid "$RMQ_BIN/rabbitmq-server" </dev/null >>"$LOGS/rabbitmq.log" 2>&1 &
    echo $! >"$RUN/rabbitmq-wrapper.pid"
  )
  # Ready when the AMQP listener accepts connections: RabbitMQ opens it as the last boot step.
  for ((i = 0; i < 1200; i++)); do
    port_open "$AMQP_PORT" && rmq_running && break
    # The process, not its name: right after the fork it has not exec'd rabbitmq-server yet.
    running "$(<"$RUN/rabbitmq-wrapper.pid")" \
      || { tail -n 30 "$LOGS/rabbitmq.log" >&2; die "rabbitmq exited during boot (logs: $LOGS/rabbitmq.log, $RMQ_DIR/log)"; }
    sleep 0.1
  done
  port_open "$AMQP_PORT" || die "rabbitmq not ready after 120s (logs: $LOGS/rabbitmq.log, $RMQ_DIR/log)"
  log "rabbitmq started on 127.0.0.1:$AMQP_PORT (node $NODE) in $(since "$t0")"
}

cmd_rabbitmq_stop() {
  local t0
  t0=$(now)
  if rmq_running; then
    # The VM shuts down cleanly on SIGTERM (faster than `rabbitmqctl stop`, which boots a CLI node first);
    # the rabbitmq-server wrapper script exits with it.
    terminate "$(<"$RUN/rabbitmq.pid")" 60
    log "rabbitmq stopped in $(since "$t0")"
  else
    log "rabbitmq not running"
  fi
  if pid_alive "$RUN/rabbitmq-wrapper.pid" rabbitmq-server; then terminate "$(<"$RUN/rabbitmq-wrapper.pid")" 10; fi
  rm -f "$RUN/rabbitmq.pid" "$RUN/rabbitmq-wrapper.pid"
}

# epmd outlives rabbitmq-stop (a quick restart reuses it); `stop` ends it.
epmd_stop() {
  if pid_alive "$RUN/epmd.pid" "epmd -port $EPMD_PORT"; then terminate "$(<"$RUN/epmd.pid")" 5; fi
  rm -f "$RUN/epmd.pid"
}

# ---------------------------------------------------------------- S3 (moto)

# moto's server from the project's Python environment (scripts/requirements-test.txt), with request authentication
# on: INITIAL_NO_AUTH_ACTION_COUNT lets the bootstrap's first three requests through unsigned (an IAM user, its
# policy, its key), and every later request must be signed with that key; a wrong secret is refused. Objects live in
# the server's memory, large ones spilled to files under s3/; a restart starts from an empty bucket and new keys (`scripts/services.sh test env` prints them again).
s3_running() { pid_alive "$RUN/s3.pid" moto_server; }

cmd_s3_start() {
  local t0 i keys
  t0=$(now)
  if s3_running && [[ -s $S3_DIR/credentials ]]; then log "s3 already running (port $S3_PORT)"; return 0; fi
  port_open "$S3_PORT" && die "port $S3_PORT (S3) is in use by another process"
  ensure_test_venv "$ROOT"
  rm -rf "$S3_DIR"
  mkdir -p "$S3_DIR/tmp" "$RUN" "$LOGS"
  (
    cd "$S3_DIR"
    INITIAL_NO_AUTH_ACTION_COUNT=3 TMPDIR=$S3_DIR/tmp setsid "$ROOT/.local/venv/bin/moto_server" -H "$LISTEN" -p "$S3_PORT" \
      </dev/null >>"$LOGS/s3.log" 2>&1 &
    echo $! >"$RUN/s3.pid"
  )
  for ((i = 0; i < 300; i++)); do
    port_open "$S3_PORT" && break
    # The process, not its name: right after the fork it has not exec'd moto_server yet.
    running "$(<"$RUN/s3.pid")" || { tail -n 20 "$LOGS/s3.log" >&2; die "the S3 server exited during start (log: $LOGS/s3.log)"; }
    sleep 0.1
  done
  port_open "$S3_PORT" || die "the S3 server did not listen within 30s (log: $LOGS/s3.log)"
  keys=$("$ROOT/.local/venv/bin/python3" "$ROOT/scripts/s3-bootstrap.py" "http://127.0.0.1:$S3_PORT" "$S3_BUCKET") \
    || die "could not make the S3 server's user and bucket (log: $LOGS/s3.log)"
  (umask 077; echo "$keys" >"$S3_DIR/credentials")
  log "s3 started on 127.0.0.1:$S3_PORT (bucket $S3_BUCKET, signed requests only) in $(since "$t0")"
}

cmd_s3_stop() {
  if s3_running; then terminate "$(<"$RUN/s3.pid")" 10; log "s3 stopped"; fi
  rm -f "$RUN/s3.pid"
}

s3_url() { echo "s3://$S3_BUCKET?endpoint=http://$ADDRESS:$S3_PORT&region=us-east-1&path_style=true"; }

# ---------------------------------------------------------------- clamd

# A project-local clamd (Debian's clamav-daemon binary, never its system service): its socket, configuration and
# signature folder under .local/<instance>/clamav. This machine has no signature download, so the folder starts with
# the project's own database: the EICAR test string as a custom signature (Mediaflow.Test.Eicar). A deployment points
# clamd at its real databases instead (README: Malware scanning); tests add signatures of their own (sigtool).
clamd_running() { [[ -f $RUN/clamd.pid ]] && running "$(<"$RUN/clamd.pid")"; }

cmd_clamd_start() {
  local t0 i eicar
  t0=$(now)
  if clamd_running && [[ -S $CLAMD_DIR/clamd.sock ]]; then log "clamd already running ($CLAMD_DIR/clamd.sock)"; return 0; fi
  command -v clamd >/dev/null || die "clamd is missing (scripts/services.sh $INSTANCE deps installs clamav-daemon)"
  mkdir -p "$CLAMD_DIR/db" "$CLAMD_DIR/tmp" "$RUN" "$LOGS"
  rm -f "$CLAMD_DIR/clamd.sock"
  # The EICAR anti-malware test file (eicar.org), written here as hex so that no file of the project carries it whole.
  eicar=58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a
  echo "Mediaflow.Test.Eicar:0:*:$eicar" >"$CLAMD_DIR/db/mediaflow-test.ndb"
  # ScanImageFuzzyHash off: clamd decodes every picture to hash it for fuzzy image signatures (none in the test
  # database), 0.5 s of a 12 MP JPEG against 0.08 s for the rest of its scan (measured with the bench's photo).
  cat >"$CLAMD_DIR/clamd.conf" <<CONF
LocalSocket $CLAMD_DIR/clamd.sock
DatabaseDirectory $CLAMD_DIR/db
TemporaryDirectory $CLAMD_DIR/tmp
Foreground yes
LogTime yes
StreamMaxLength ${MEDIA_CLAMD_STREAM_MAX:-150M}
MaxFileSize ${MEDIA_CLAMD_STREAM_MAX:-150M}
MaxScanSize 400M
ScanImageFuzzyHash no
CONF
  (
    setsid clamd -c "$CLAMD_DIR/clamd.conf" </dev/null >>"$LOGS/clamd.log" 2>&1 &
    echo $! >"$RUN/clamd.pid"
  )
  for ((i = 0; i < 300; i++)); do
    [[ -S $CLAMD_DIR/clamd.sock ]] && break
    running "$(<"$RUN/clamd.pid")" || { tail -n 20 "$LOGS/clamd.log" >&2; die "clamd exited during start (log: $LOGS/clamd.log)"; }
    sleep 0.1
  done
  [[ -S $CLAMD_DIR/clamd.sock ]] || die "clamd did not open its socket within 30s (log: $LOGS/clamd.log)"
  log "clamd started on $CLAMD_DIR/clamd.sock in $(since "$t0")"
}

cmd_clamd_stop() {
  if clamd_running; then terminate "$(<"$RUN/clamd.pid")" 10; log "clamd stopped"; fi
  rm -f "$RUN/clamd.pid" "$CLAMD_DIR/clamd.sock"
}

# ---------------------------------------------------------------- all

# The dev instance's lines keep what the caller already set (`MEDIA_STORAGE=local:/srv/media make run` is honoured);
# the test instance's always point at the test servers, so a developer's shell can never aim the suite elsewhere.
# With an S3 server, its URL and keys come as MEDIA_LOCAL_S3_URL / _ACCESS_KEY / _SECRET_KEY; the dev instance with
# MEDIA_LOCAL_S3=1 also stores there (MEDIA_STORAGE and MEDIA_S3_*), the test instance leaves that to each test.
cmd_env() {
  local name value access='' secret='' names=(MEDIA_DATABASE_URL MEDIA_AMQP_URL MEDIA_STORAGE)
  if ((WANT_S3)) && [[ -s $S3_DIR/credentials ]]; then
    read -r access secret <"$S3_DIR/credentials"
    printf 'export MEDIA_LOCAL_S3_URL=%q MEDIA_LOCAL_S3_ACCESS_KEY=%q MEDIA_LOCAL_S3_SECRET_KEY=%q\n' "$(s3_url)" "$access" "$secret"
    if [[ $INSTANCE != test* ]]; then names+=(MEDIA_S3_ACCESS_KEY MEDIA_S3_SECRET_KEY); fi
  fi
  # The project's clamd: the test instances leave it to each test (MEDIA_LOCAL_CLAMD), dev scans with it.
  if ((WANT_CLAMD)); then
    printf 'export MEDIA_LOCAL_CLAMD_SOCKET=%q MEDIA_LOCAL_CLAMD_DB=%q\n' "$CLAMD_DIR/clamd.sock" "$CLAMD_DIR/db"
    if [[ $INSTANCE == dev ]]; then names+=(MEDIA_CLAMD); fi
  fi
  for name in "${names[@]}"; do
    case $name in
      MEDIA_DATABASE_URL) value=postgres://mediaflow:mediaflow@$ADDRESS:$PG_PORT/mediaflow ;;
      MEDIA_AMQP_URL) value=amqp://mediaflow:mediaflow@$ADDRESS:$AMQP_PORT/ ;;
      MEDIA_STORAGE) if [[ -n $access && $INSTANCE != test* ]]; then value=$(s3_url); else value=local:$STORAGE; fi ;;
      MEDIA_S3_ACCESS_KEY) value=$access ;;
      MEDIA_S3_SECRET_KEY) value=$secret ;;
      MEDIA_CLAMD) value=unix:$CLAMD_DIR/clamd.sock ;;
    esac
    if [[ $INSTANCE == dev ]]; then
      printf 'export %s="${%s:-%s}"\n' "$name" "$name" "$value"
    else
      printf 'export %s=%q\n' "$name" "$value"
    fi
  done
}

cmd_start() {
  mkdir -p "$RUN" "$LOGS" "$STORAGE"
  cmd_pg_start
  cmd_rabbitmq_start
  if ((WANT_S3)); then cmd_s3_start; fi
  if ((WANT_CLAMD)); then cmd_clamd_start; fi
}

cmd_stop() {
  cmd_clamd_stop
  cmd_s3_stop
  cmd_rabbitmq_stop
  epmd_stop
  cmd_pg_stop
}

cmd_status() {
  PG_ROOT=$(pg_root)
  if pg_running; then log "postgres: running on 127.0.0.1:$PG_PORT (data $PG_ROOT/data)"; else log "postgres: stopped"; fi
  if rmq_running; then
    log "rabbitmq: running on 127.0.0.1:$AMQP_PORT, node $NODE, pid $(<"$RUN/rabbitmq.pid")"
  else
    log "rabbitmq: stopped"
  fi
  if pid_alive "$RUN/epmd.pid" "epmd -port $EPMD_PORT"; then log "epmd: running on 127.0.0.1:$EPMD_PORT, pid $(<"$RUN/epmd.pid")"; fi
  if s3_running; then log "s3: running on 127.0.0.1:$S3_PORT, bucket $S3_BUCKET, pid $(<"$RUN/s3.pid")"; fi
}

cmd_clean() {
  cmd_stop
  local target
  if [[ -L $DIR/pg ]]; then
    target=$(readlink -f "$DIR/pg")
    if [[ $target == /var/tmp/mediaflow-* ]]; then rm -rf "$target"; rmdir "$(dirname "$target")" 2>/dev/null || true; fi
  fi
  rm -rf "$DIR"
  log "removed $DIR"
}

case $CMD in
  deps) cmd_deps ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  pg-start) cmd_pg_start ;;
  pg-stop) cmd_pg_stop ;;
  rabbitmq-start) cmd_rabbitmq_start ;;
  rabbitmq-stop) cmd_rabbitmq_stop ;;
  s3-start) cmd_s3_start ;;
  s3-stop) cmd_s3_stop ;;
  clamd-start) cmd_clamd_start ;;
  clamd-stop) cmd_clamd_stop ;;
  rabbitmqctl) rabbitmqctl "$@" ;;
  clean) cmd_clean ;;
  *) usage ;;
esac
