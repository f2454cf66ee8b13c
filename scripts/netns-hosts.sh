#!/usr/bin/env bash
# Test hosts on one machine: network namespaces joined by veth pairs to a bridge, each with an address this script
# assigns in 10.231.77.0/24. Nothing but TCP between them (the files they write are the test's to read); no route out
# of them, no address on the machine's own network. Needs root (ip netns).
#
#   scripts/netns-hosts.sh up NAME HOST...     make namespaces NAME-HOST (the first HOST holds the bridge and .1,
#                                              the others .2, .3, ... in order); prints HOST=ADDRESS lines
#   scripts/netns-hosts.sh down NAME           SIGKILL every process left in NAME-*, delete the namespaces
#   scripts/netns-hosts.sh kill NAME HOST      SIGKILL every process of one host (a machine lost)
#   scripts/netns-hosts.sh pids NAME HOST      the processes running in one host
#   scripts/netns-hosts.sh exec NAME HOST CMD...   run a command on a host
set -euo pipefail

SUBNET=10.231.77

usage() {
  echo "usage: $0 up NAME HOST... | down NAME | kill NAME HOST | pids NAME HOST | exec NAME HOST CMD..." >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
CMD=$1 NAME=$2
shift 2
[[ $NAME =~ ^[a-z][a-z0-9]{0,5}$ ]] || { echo "$0: NAME must be 1-6 lowercase letters or digits (interface names are short)" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$0: needs root (ip netns)" >&2; exit 2; }

namespaces() { ip netns list | awk '{print $1}' | grep -E "^$NAME-" || true; }

cmd_down() {
  local ns pid
  for ns in $(namespaces); do
    for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for ns in $(namespaces); do
    # A killed process's sockets close asynchronously; deleting waits for nothing, retry briefly if busy.
    ip netns del "$ns" 2>/dev/null || { sleep 0.5; ip netns del "$ns" || echo "$0: namespace $ns not deleted" >&2; }
  done
}

cmd_up() {
  [[ $# -ge 2 ]] || usage
  cmd_down   # what an earlier run left behind
  local hub=$NAME-$1 n=1 host ns
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" addr add "$SUBNET.1/24" dev br0
  ip -n "$hub" link set br0 up
  echo "$1=$SUBNET.1"
  shift
  for host in "$@"; do
    n=$((n + 1))
    ns=$NAME-$host
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # eth0 in the host, its peer on the hub's bridge.
    ip link add "$NAME-p$n" netns "$hub" type veth peer name eth0 netns "$ns"
    ip -n "$hub" link set "$NAME-p$n" master br0
    ip -n "$hub" link set "$NAME-p$n" up
    ip -n "$ns" addr add "$SUBNET.$n/24" dev eth0
    ip -n "$ns" link set eth0 up
    echo "$host=$SUBNET.$n"
  done
}

case $CMD in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  kill)
    [[ $# -eq 1 ]] || usage
    for pid in $(ip netns pids "$NAME-$1"); do kill -9 "$pid" 2>/dev/null || true; done
    ;;
  pids) [[ $# -eq 1 ]] || usage; ip netns pids "$NAME-$1" ;;
  exec) [[ $# -ge 2 ]] || usage; host=$1; shift; exec ip netns exec "$NAME-$host" "$@" ;;
  *) usage ;;
esac
