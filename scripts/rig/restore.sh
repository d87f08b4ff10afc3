#!/usr/bin/env bash
# Brings a node cut off by scripts/rig/cut.sh back: its link up, its daemon restarted on the same data
# root (it rejoins the swarm as the same node). up.sh is idempotent and does exactly that for any node
# that is not up, so this is up.sh with a word about which node it restores.
# Usage: scripts/rig/restore.sh N
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/rig/common.sh
id=${1:-}
case "$id" in [1-9]) ;; *) fail "usage: restore.sh N (N = node number, got '${id}')" ;; esac
say "node$id: restoring (link up, daemon restarted if it is not running)"
exec bash scripts/rig/up.sh
