#!/usr/bin/env bash
# Runs a service and starts it again when it exits, as compose's `restart: unless-stopped` does: the README's run
# forms (make run, make up) start every service through this.
#
#   scripts/supervise.sh NAME PIDFILE -- COMMAND [ARGS...]
#
# The service's pid is written to PIDFILE at each start. An exit is logged with its status and how long the service
# ran, and the next start waits 1 s, then 2, 4, ... up to 30 s while it keeps dying young; a run of a minute or more
# resets the wait. SIGTERM (or SIGINT) stops supervising: the service gets SIGTERM, is waited for, and this exits.
set -u
name=$1 pidfile=$2
shift 2
[[ ${1:-} == -- ]] && shift
stopping=0 child=0
on_stop() {
  stopping=1
  if ((child > 0)); then kill -TERM "$child" 2>/dev/null; fi
}
trap on_stop TERM INT
say() { echo "[supervise] $name: $*" >&2; }
delay=1
while :; do
  started=$SECONDS
  "$@" </dev/null &
  child=$!
  echo "$child" >"$pidfile"
  # `wait` returns early when a trap runs: wait again until the service itself has ended.
  status=0
  while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=0
  ((stopping)) && exit 0
  ran=$((SECONDS - started))
  ((ran >= 60)) && delay=1
  say "exited (status $status) after ${ran}s; starting it again in ${delay}s"
  sleep "$delay" &
  wait $! 2>/dev/null
  ((stopping)) && exit 0
  delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
