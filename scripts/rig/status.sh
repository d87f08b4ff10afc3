#!/usr/bin/env bash
# What the multi-host test rig is doing: per node its namespace, link, address, daemon, swarm state and
# images; then the swarm's view of its nodes. Reads only; needs no lock.
# Exit code: 0 every node is up and Ready, 3 the rig is partly up (or a node is cut off), 4 no rig at all.
# Usage: scripts/rig/status.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/rig/common.sh
[ "$(id -u)" = 0 ] || fail "reading network namespaces and daemon sockets needs root"

up=0
present=0
for id in $(node_ids); do
  ns=$(node_netns "$id")
  line="node$id"
  if [ -e "/var/run/netns/$ns" ]; then line+=" netns=$ns"; present=1; else line+=" netns=missing"; fi
  link=$(ip -br link show "$(node_veth "$id")" 2>/dev/null | awk '{print $2}')
  line+=" link=${link:-missing} address=$(node_address "$id")"
  pid=$(daemon_pid "$id")
  if [ -n "$pid" ]; then
    present=1
    if daemon_answers "$id"; then
      swarm=$(ndocker "$id" info --format '{{.Swarm.LocalNodeState}}/{{if .Swarm.ControlAvailable}}manager{{else}}worker{{end}}' 2>/dev/null)
      line+=" dockerd=$pid swarm=$swarm containers=$(ndocker "$id" ps -q | wc -l)"
      line+=" images=$(ndocker "$id" image ls --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' | paste -sd, -)"
      [ "$link" = UP ] && [ "${swarm%%/*}" = active ] && up=$((up + 1))
    else
      line+=" dockerd=$pid(not answering)"
    fi
  else
    line+=" dockerd=stopped"
  fi
  echo "$line"
done
[ -e "/run/lsrig/n1.sock" ] && daemon_answers 1 && ndocker 1 node ls --format 'swarm: {{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>/dev/null
if iptables -C FORWARD -i "$rig_bridge" -o "$rig_bridge" -j ACCEPT 2>/dev/null; then echo "iptables: FORWARD $rig_bridge accepted"; fi
[ -d "$rig_shared" ] && echo "shared: $rig_shared"

if [ "$up" = "$rig_nodes" ]; then exit 0; fi
if [ "$present" = 1 ]; then exit 3; fi
exit 4
