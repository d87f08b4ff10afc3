# Shared by the rig's scripts (sourced, not run): names, addresses and paths of the multi-host test rig.
# Every name the rig creates starts with "lsrig", so teardown finds exactly what the rig made.
#
# Environment (all optional):
#   LIVESTACK_RIG_NODES   how many nodes (Docker hosts), 1-9                      default 3
#   LIVESTACK_RIG_ROOT    data roots of the nodes and the shared directory       default /var/lib/livestack-rig
#   LIVESTACK_RIG_IMAGES  space-separated images loaded into every node          default livestack/runtime:<package.json version>
#   LIVESTACK_RIG_HEARTBEAT  swarm dispatcher heartbeat: a node is marked down after about three missed
#                         beats, so this bounds how fast a lost host's tasks move    default 5s (Docker's own)

rig_nodes="${LIVESTACK_RIG_NODES:-3}"
rig_root="${LIVESTACK_RIG_ROOT:-/var/lib/livestack-rig}"
case "$rig_nodes" in [1-9]) ;; *) echo "rig: LIVESTACK_RIG_NODES must be 1-9, got '$rig_nodes'" >&2; exit 1 ;; esac
# down.sh removes this folder: refuse anything but an absolute path at least two levels deep.
case "$rig_root" in /*/*) ;; *) echo "rig: LIVESTACK_RIG_ROOT must be an absolute path two or more levels deep, got '$rig_root'" >&2; exit 1 ;; esac
case "$rig_root" in *..*) echo "rig: LIVESTACK_RIG_ROOT must not contain '..', got '$rig_root'" >&2; exit 1 ;; esac

rig_heartbeat="${LIVESTACK_RIG_HEARTBEAT:-5s}"
[[ "$rig_heartbeat" =~ ^[0-9]+(ms|s|m)$ ]] || { echo "rig: LIVESTACK_RIG_HEARTBEAT must be a duration such as 5s or 500ms, got '$rig_heartbeat'" >&2; exit 1; }

rig_bridge=lsrig0
rig_subnet_prefix=10.77.0
rig_gateway="$rig_subnet_prefix.1"
# Swarm's overlay networks get their subnets from here, away from the rig's own 10.77.0.0/24.
rig_address_pool=10.78.0.0/16
# Sockets, pid files and exec roots: short paths (a unix socket path holds at most 107 bytes).
rig_run=/run/lsrig
rig_shared="$rig_root/shared"
rig_images_cache="$rig_root/image-cache"
rig_logs=/var/log/livestack-rig
rig_lock=/run/lsrig.lock

node_ids() { seq 1 "$rig_nodes"; }
node_name() { echo "node$1"; }
node_netns() { echo "lsrig-n$1"; }
node_veth() { echo "lsrig-n$1"; }
node_address() { echo "$rig_subnet_prefix.$((10 + $1))"; }
node_socket() { echo "$rig_run/n$1.sock"; }
node_pidfile() { echo "$rig_run/n$1.pid"; }
node_exec_root() { echo "$rig_run/n$1"; }
node_data_root() { echo "$rig_root/n$1"; }
node_log() { echo "$rig_logs/n$1.log"; }
# Every container of a node lives below this cgroup: a power cut kills exactly them.
node_cgroup() { echo "lsrig-n$1"; }

ndocker() { local id=$1; shift; docker -H "unix://$(node_socket "$id")" "$@"; }

rig_started=$(date +%s.%N)
# Each line says how long the operation has been running: where the time goes shows in any log.
say() { echo "rig [$(awk -v a="$rig_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }')]: $*" >&2; }
fail() { say "error: $*"; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || fail "the rig creates network namespaces, a bridge and Docker daemons: it needs root"
  local missing=()
  for command in ip nsenter unshare iptables dockerd docker flock; do
    command -v "$command" >/dev/null || missing+=("$command")
  done
  [ ${#missing[@]} = 0 ] || fail "missing commands: ${missing[*]} (apt-get install -y iproute2 util-linux iptables docker.io)"
}

# One rig operation at a time (up, down, cut, restore).
take_lock() {
  mkdir -p "$(dirname "$rig_lock")"
  exec 8>"$rig_lock"
  flock -w 300 8 || fail "another rig operation has held $rig_lock for 5 minutes"
}

# The pid in a node's pid file when that process is alive and is a dockerd; nothing otherwise.
daemon_pid() {
  local pidfile pid
  pidfile=$(node_pidfile "$1")
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  local args
  args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ "$args" == *"dockerd "*"--exec-root $(node_exec_root "$1") "* ]] && echo "$pid"
  return 0
}

daemon_answers() { ndocker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Pids of every process started for a node: its dockerd, containerd and shims (an argument of theirs is
# the node's exec root or a path below it), and whatever runs in the node's containers (its cgroup).
node_processes() {
  local id=$1 exec_root cgroup
  exec_root=$(node_exec_root "$id")
  # -z: one NUL-terminated argument per record, so ^ and $ anchor on whole arguments.
  grep -lsz -e "^$exec_root\$" -e "^$exec_root/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
  for cgroup in /sys/fs/cgroup/pids/"$(node_cgroup "$id")" /sys/fs/cgroup/unified/"$(node_cgroup "$id")" /sys/fs/cgroup/"$(node_cgroup "$id")"; do
    [ -d "$cgroup" ] && find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

# Kills every process of a node at once (frozen first, so none reacts to another's death before it dies
# itself) and waits until they are gone. Prints how many it killed.
kill_node() {
  local id=$1 pids
  pids=$(node_processes "$id" | sort -u)
  [ -n "$pids" ] || { echo 0; return 0; }
  kill -STOP $pids 2>/dev/null || true
  kill -KILL $pids 2>/dev/null || true
  # A process in uninterruptible sleep (D: a write to a busy disk) dies only when that returns: 30 s.
  for _ in $(seq 1 120); do
    [ -z "$(node_processes "$id")" ] && break
    kill -KILL $(node_processes "$id") 2>/dev/null || true
    sleep 0.25
  done
  local left
  left=$(node_processes "$id" | sort -u)
  [ -z "$left" ] || fail "node$id: processes survived SIGKILL for 30 s: $(for pid in $left; do echo "$pid $(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null) $(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-120);"; done)"
  echo "$pids" | wc -w
}

