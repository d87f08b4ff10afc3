#!/usr/bin/env bash
# Tears the multi-host test rig down, whatever state it is in (a half-failed up, a crashed run, a node cut
# off): services, containers, daemons and everything they started, mounts below the data and exec roots,
# network namespaces, veth pairs, the bridge, the iptables rule, the data roots and the shared directory.
# Idempotent: on a machine without a rig it only says so.
# Usage: scripts/rig/down.sh [--keep-image-cache]
#   --keep-image-cache: keep the saved image archives ($LIVESTACK_RIG_ROOT/image-cache), so the next up
#                       only has to docker load (the rig's suites keep it between runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/rig/common.sh
keep_cache=0
for option in "$@"; do
  case "$option" in
    --keep-image-cache) keep_cache=1 ;;
    *) fail "unknown option $option (expected --keep-image-cache)" ;;
  esac
done
require_root
take_lock

# Nodes are found by what exists, not only by LIVESTACK_RIG_NODES: a crashed run may have used more.
found_ids() {
  {
    node_ids
    ls /var/run/netns 2>/dev/null | sed -n 's/^lsrig-n\([1-9]\)$/\1/p'
    ls "$rig_run" 2>/dev/null | sed -n 's/^n\([1-9]\)\(\.pid\|\.sock\)\?$/\1/p'
    ls "$rig_root" 2>/dev/null | sed -n 's/^n\([1-9]\)$/\1/p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: lsrig-n\([1-9]\)[@:].*/\1/p'
  } | sort -u
}
ids=$(found_ids)

# 1-3. Every node loses power at once (its daemon, containerd, shims and container processes killed
#    together, unmounted below): the rig is thrown away, so nothing needs the graceful stop it had
#    (services removed, then containers, then each daemon stopped and waited for).
for id in $ids; do
  killed=$(kill_node "$id")
  [ "$killed" = 0 ] || say "node$id: killed $killed process(es) (dockerd, containerd, shims, container processes)"
done

for base in "$rig_run" "$rig_root"; do
  mounts=$(awk -v base="$base/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  if [ -n "$mounts" ]; then
    say "unmounting $(echo "$mounts" | wc -l) mount(s) below $base"
    for mount in $mounts; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done
  fi
done

# 4. Cgroups the daemons made for their containers.
for id in $ids; do
  for cgroup in $(find /sys/fs/cgroup -maxdepth 2 -type d -name "$(node_cgroup "$id")" 2>/dev/null); do
    find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
done

# 5. Network: namespaces (their veth peers go with them), veths, bridge, iptables rule.
for id in $ids; do
  ns=$(node_netns "$id")
  if [ -e "/var/run/netns/$ns" ]; then
    say "deleting network namespace $ns"
    ip netns delete "$ns" 2>/dev/null || { umount "/var/run/netns/$ns" 2>/dev/null || true; rm -f "/var/run/netns/$ns"; }
  fi
  if ip link show "$(node_veth "$id")" >/dev/null 2>&1; then
    say "deleting veth $(node_veth "$id")"
    # The kernel removes the root end once the namespace's end goes, which can happen between the check and here.
    ip link delete "$(node_veth "$id")" 2>/dev/null || ! ip link show "$(node_veth "$id")" >/dev/null 2>&1
  fi
done
if ip link show "$rig_bridge" >/dev/null 2>&1; then
  say "deleting bridge $rig_bridge"
  ip link delete "$rig_bridge"
fi
while iptables -C FORWARD -i "$rig_bridge" -o "$rig_bridge" -j ACCEPT 2>/dev/null; do
  say "deleting iptables rule FORWARD -i $rig_bridge -o $rig_bridge -j ACCEPT"
  iptables -D FORWARD -i "$rig_bridge" -o "$rig_bridge" -j ACCEPT
done

# 6. Files: data roots, exec roots, sockets, pid files, the shared directory.
if [ -d "$rig_root" ]; then
  if [ "$keep_cache" = 1 ]; then
    find "$rig_root" -mindepth 1 -maxdepth 1 ! -name "$(basename "$rig_images_cache")" -exec rm -rf {} +
    say "removed the data roots and the shared directory below $rig_root (kept the image cache)"
  else
    rm -rf "$rig_root"
    say "removed $rig_root"
  fi
fi
rm -rf "$rig_run"
say "down: no rig namespace, daemon, veth, bridge or iptables rule left"
