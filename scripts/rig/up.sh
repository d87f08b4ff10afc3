#!/usr/bin/env bash
# Brings up the multi-host test rig (idempotent: what is already up is kept, what is stale is replaced):
# LIVESTACK_RIG_NODES (default 3) Docker daemons, each a "host" of its own, joined into one swarm.
#   - network: a bridge lsrig0 (10.77.0.1/24) in the root namespace; node N gets a network namespace
#     lsrig-nN with a veth pair onto the bridge and the address 10.77.0.(10+N)/24;
#   - daemon: dockerd started with nsenter --net (not `ip netns exec`, which remounts /sys and hides the
#     cgroup hierarchy from dockerd) in its own UTS namespace (hostname nodeN), with its own data root,
#     exec root, pid file, socket (/run/lsrig/nN.sock) and parent cgroup; iptables stays on inside the node
#     (host-mode published ports need it);
#   - swarm: node 1 inits, the others join once it answers (a node started before the swarm existed never
#     joined the overlay gossip), all as managers: three managers keep a quorum with one host lost, so the
#     control plane survives the loss of any one host (workloads run on managers too); nodes carry the
#     label livestack.rig.node=nodeN;
#     DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: there is no registry, so a task must not try to pull its image
#     first (each attempt waited for a DNS timeout);
#   - images: LIVESTACK_RIG_IMAGES (default livestack/runtime:<version>) are loaded into every node with
#     docker save | docker load, skipped where the node already has the same image id;
#   - shared storage: $LIVESTACK_RIG_ROOT/shared, one host directory every node's containers can bind-mount
#     at the same path (the rig's stand-in for NFS/EFS: one filesystem, so hard links work).
# This kernel has no IPVS: the routing mesh and service VIPs do not work on the rig. Publish ports in
# host mode and use endpoint_mode dnsrr.
# Usage: scripts/rig/up.sh            (then scripts/rig/status.sh; scripts/rig/down.sh removes everything)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/rig/common.sh
require_root
take_lock

version=$(node -p 'require("./package.json").version' 2>/dev/null || echo 0.1.0)
images=${LIVESTACK_RIG_IMAGES:-livestack/runtime:$version}
for image in $images; do
  docker image inspect "$image" >/dev/null 2>&1 || fail "image $image is not on the host's Docker: build it first (bash scripts/docker-env.sh)"
done

mkdir -p "$rig_run" "$rig_root" "$rig_logs" "$rig_images_cache"
# The shared directory: world-writable with the sticky bit, as /tmp, since workloads run as their own users.
mkdir -p "$rig_shared" && chmod 1777 "$rig_shared"
[ -f "$rig_root/daemon.json" ] || echo '{}' >"$rig_root/daemon.json"

# --- network: bridge, forwarding, namespaces, veth pairs --------------------------------------------
if ! ip link show "$rig_bridge" >/dev/null 2>&1; then
  say "creating bridge $rig_bridge ($rig_gateway/24)"
  ip link add "$rig_bridge" type bridge
fi
# (Captured first: `ip ... | grep -q` fails under pipefail when grep exits before ip has written all.)
addresses=$(ip -o addr show dev "$rig_bridge")
[[ "$addresses" == *" $rig_gateway/24 "* ]] || ip addr add "$rig_gateway/24" dev "$rig_bridge"
ip link set "$rig_bridge" up
# The host's dockerd sets FORWARD to DROP, and bridged traffic goes through it (br_netfilter).
if ! iptables -C FORWARD -i "$rig_bridge" -o "$rig_bridge" -j ACCEPT 2>/dev/null; then
  say "accepting forwarded traffic between the nodes (iptables FORWARD -i $rig_bridge -o $rig_bridge)"
  iptables -I FORWARD -i "$rig_bridge" -o "$rig_bridge" -j ACCEPT
fi

for id in $(node_ids); do
  ns=$(node_netns "$id")
  veth=$(node_veth "$id")
  address=$(node_address "$id")
  if [ ! -e "/var/run/netns/$ns" ]; then
    say "creating network namespace $ns"
    ip netns add "$ns"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1; then
    say "connecting $ns to $rig_bridge (veth $veth, $address/24)"
    # A stale peer left inside the namespace by a crashed run would block the new one's name.
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$rig_bridge"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  addresses=$(ip -n "$ns" -o addr show dev eth0)
  [[ "$addresses" == *" $address/24 "* ]] || ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  # No default route: the nodes reach each other and the root namespace (10.77.0.1) only. A lookup or
  # pull towards the internet then fails at once instead of waiting for a DNS timeout.
  ip -n "$ns" route del default 2>/dev/null || true
done

# --- daemons --------------------------------------------------------------------------------------
started=" "
start_daemon() {
  local id=$1 pid
  # Once per run: a daemon this run started may not answer yet, and must not be restarted for it.
  case "$started" in *" $id "*) return 0 ;; esac
  started="$started$id "
  pid=$(daemon_pid "$id")
  if [ -n "$pid" ]; then
    daemon_answers "$id" && return 0
    say "node$id: dockerd $pid does not answer; restarting it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  # A crashed daemon may leave its containerd, shims and containers running: a restarted host runs none.
  local killed
  killed=$(kill_node "$id")
  [ "$killed" = 0 ] || say "node$id: killed $killed process(es) its previous daemon left running"
  # A crashed run leaves pid files behind, whose pids the system may have given to other processes since:
  # dockerd would refuse to start over its own, and wait for a containerd that is not one over containerd's.
  rm -f "$(node_pidfile "$id")" "$(node_socket "$id")" "$(node_exec_root "$id")/containerd/containerd.pid"
  mkdir -p "$(node_exec_root "$id")" "$(node_data_root "$id")"
  say "node$id: starting dockerd in $(node_netns "$id") (data root $(node_data_root "$id"), socket $(node_socket "$id"), log $(node_log "$id"))"
  # setsid: the daemon outlives this script and the test's process group. The wrapper closes every
  # inherited descriptor above 2: a daemon must not hold this script's lock, nor a lock its caller took
  # (`flock /tmp/livestack-heavy.lock npx jest ...` leaves that lock's descriptor open in its children).
  nsenter --net="/var/run/netns/$(node_netns "$id")" unshare --uts \
    bash -c 'for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; hostname "$0" && exec "$@"' "node$id" \
    setsid env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd \
      --config-file "$rig_root/daemon.json" \
      --data-root "$(node_data_root "$id")" \
      --exec-root "$(node_exec_root "$id")" \
      --pidfile "$(node_pidfile "$id")" \
      -H "unix://$(node_socket "$id")" \
      --cgroup-parent "/$(node_cgroup "$id")" \
      --default-address-pool "base=172.30.0.0/16,size=24" \
      --label "livestack.rig.node=node$id" \
      >"$(node_log "$id")" 2>&1 </dev/null &
}

wait_daemon() {
  local id=$1
  for _ in $(seq 1 120); do
    daemon_answers "$id" && return 0
    sleep 0.25
  done
  tail -n 20 "$(node_log "$id")" >&2
  fail "node$id: dockerd did not answer on $(node_socket "$id") within 30 s (log above: $(node_log "$id"))"
}

# A swarm control call, retried for up to 20 s: a manager that comes back may force an election (its term
# moved on while it was cut off), and calls made meanwhile fail with "node lost leader status".
control_call() {
  local try
  for try in $(seq 1 40); do
    "$@" 2>/dev/null && return 0
    sleep 0.5
  done
  "$@"
}

swarm_state() { ndocker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

# Waits until node 1 answers for the swarm's control plane: a restarted manager needs a raft leader first
# (after every host lost power, that takes the others' daemons back too).
wait_control() {
  for _ in $(seq 1 240); do
    ndocker 1 node ls -q >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  ndocker 1 node ls >&2 || true
  fail "node1: the swarm's control plane did not answer within 60 s (no raft quorum?)"
}

start_daemon 1
wait_daemon 1
if [ "$(swarm_state 1)" = inactive ]; then
  say "node1: initialising the swarm (manager, advertising $(node_address 1))"
  ndocker 1 swarm init --advertise-addr "$(node_address 1)" --listen-addr "$(node_address 1):2377" \
    --default-addr-pool "$rig_address_pool" >/dev/null
else
  # An existing swarm (restored hosts, or up run twice): its managers need each other for a quorum.
  for id in $(node_ids); do [ "$id" = 1 ] || start_daemon "$id"; done
fi
wait_control
control_call ndocker 1 swarm update --dispatcher-heartbeat "$rig_heartbeat" >/dev/null
token=$(control_call ndocker 1 swarm join-token -q manager)
members=$(control_call ndocker 1 node ls -q)

for id in $(node_ids); do [ "$id" = 1 ] || start_daemon "$id"; done
for id in $(node_ids); do
  [ "$id" = 1 ] && continue
  wait_daemon "$id"
  # A member already (restored after a cut, or up run twice): keep it, it reconnects by itself.
  case " $(echo $members) " in *" $(ndocker "$id" info --format '{{.Swarm.NodeID}}') "*) continue ;; esac
  # In another swarm (a crashed run's manager data root was replaced) or half-joined: start over.
  [ "$(swarm_state "$id")" = inactive ] || ndocker "$id" swarm leave --force >/dev/null 2>&1 || true
  say "node$id: joining the swarm as a manager ($(node_address "$id"))"
  ndocker "$id" swarm join --token "$token" --advertise-addr "$(node_address "$id")" --listen-addr "$(node_address "$id"):2377" \
    "$(node_address 1):2377" >/dev/null
done

# Label the nodes; entries of nodes that were replaced (a worker that had to join again) are dropped.
live=()
for id in $(node_ids); do
  node_id=$(ndocker "$id" info --format '{{.Swarm.NodeID}}')
  live+=("$node_id")
  control_call ndocker 1 node update --label-add "livestack.rig.node=node$id" "$node_id" >/dev/null
done
for listed in $(control_call ndocker 1 node ls --format '{{.ID}}'); do
  case " ${live[*]} " in *" $listed "*) ;; *) ndocker 1 node demote "$listed" >/dev/null 2>&1 || true
     ndocker 1 node rm --force "$listed" >/dev/null 2>&1 || true ;; esac
done

# --- images ---------------------------------------------------------------------------------------
for image in $images; do
  image_id=$(docker image inspect -f '{{.Id}}' "$image")
  pending=()
  for id in $(node_ids); do
    [ "$(ndocker "$id" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)" = "$image_id" ] || pending+=("$id")
  done
  [ ${#pending[@]} = 0 ] && continue
  archive="$rig_images_cache/${image_id#sha256:}.tar"
  loads=()
  if [ -f "$archive" ]; then
    say "loading $image into node(s) ${pending[*]} from $archive"
    for id in "${pending[@]}"; do
      ndocker "$id" load -q -i "$archive" >/dev/null &
      loads+=($!)
    done
  else
    # Saved once and streamed into every node while it is cached (a fifo per node): loading waited for
    # the whole save before (~1 GB; 60 s and 35 s on a busy machine), now they overlap.
    say "saving $image (${image_id:7:12}) into node(s) ${pending[*]} and to $archive"
    rm -f "$rig_images_cache"/*.tar.partial "$rig_run"/load-*.fifo
    fifos=()
    for id in "${pending[@]}"; do
      fifo="$rig_run/load-n$id.fifo"
      mkfifo "$fifo"
      fifos+=("$fifo")
      ndocker "$id" load -q -i "$fifo" >/dev/null &
      loads+=($!)
    done
    docker save "$image" | tee "${fifos[@]}" >"$archive.partial" || fail "docker save of $image failed"
    rm -f "${fifos[@]}"
  fi
  for pid in "${loads[@]}"; do wait "$pid" || fail "docker load of $image into a node failed"; done
  [ -f "$archive.partial" ] && mv "$archive.partial" "$archive"
  # The archive is cached by image id and carries the tag it was saved under: another tag of the same
  # image (a test's pinned tag) must be set on each node after the load.
  for id in "${pending[@]}"; do ndocker "$id" tag "$image_id" "$image"; done
done
# Archives of images no longer wanted only take space.
for archive in "$rig_images_cache"/*.tar; do
  [ -e "$archive" ] || continue
  keep=0
  for image in $images; do
    [ "$(basename "$archive" .tar)" = "$(docker image inspect -f '{{.Id}}' "$image" | cut -d: -f2)" ] && keep=1
  done
  [ "$keep" = 1 ] || rm -f "$archive"
done

# --- ready ----------------------------------------------------------------------------------------
for _ in $(seq 1 120); do
  ready=$(ndocker 1 node ls --format '{{.Status}}' | grep -c '^Ready$' || true)
  [ "$ready" = "$rig_nodes" ] && break
  sleep 0.25
done
[ "$ready" = "$rig_nodes" ] || { ndocker 1 node ls >&2; fail "only $ready of $rig_nodes nodes are Ready"; }
say "up: $rig_nodes nodes Ready; shared directory $rig_shared"
# stdout, for scripts/rig/swarm-rig.ts and anyone scripting the rig: one line per node, then the shared directory.
for id in $(node_ids); do
  echo "node$id $(node_address "$id") unix://$(node_socket "$id")"
done
echo "shared $rig_shared"
