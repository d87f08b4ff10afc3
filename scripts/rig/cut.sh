#!/usr/bin/env bash
# Cuts a node of the multi-host test rig off, as a lost host: scripts/rig/restore.sh brings it back.
# Usage: scripts/rig/cut.sh N [--link | --power]
#   --link  (default) takes the node's veth link down: a network partition. Its daemon and containers keep
#           running, but nothing reaches them and they reach nothing.
#   --power kills everything the node runs at once (dockerd, containerd, shims, every container process,
#           by its cgroup), as a power cut; the data root stays, so restore.sh restarts the same host.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/rig/common.sh
id=${1:-}
mode=${2:---link}
case "$id" in [1-9]) ;; *) fail "usage: cut.sh N [--link | --power] (N = node number, got '${id}')" ;; esac
[ "$id" -le "$rig_nodes" ] || fail "node$id does not exist: the rig has $rig_nodes nodes"
require_root
take_lock

case "$mode" in
  --link)
    ip link show "$(node_veth "$id")" >/dev/null 2>&1 || fail "node$id has no link $(node_veth "$id"): is the rig up?"
    say "node$id: taking link $(node_veth "$id") down (network partition)"
    ip link set "$(node_veth "$id")" down
    ;;
  --power)
    [ -n "$(node_processes "$id")" ] || fail "node$id runs nothing: is the rig up?"
    say "node$id: power cut: killing every process of the node at once"
    killed=$(kill_node "$id")
    say "node$id: killed $killed process(es)"
    ;;
  *) fail "unknown mode $mode (expected --link or --power)" ;;
esac
