#!/usr/bin/env bash
# Idempotent Docker environment for the docker driver and its tests (CI runs it through the tests):
#   1. a Docker daemon: when none answers, dockerd is started in the background (log: $LIVESTACK_DOCKERD_LOG);
#   2. the base image $LIVESTACK_BASE_IMAGE (default livestack/base:bookworm-node20) when missing. No image
#      registry is reachable here, so it is built from Debian itself: debootstrap minbase + docker import,
#      plus this host's Node 20 (node and npm) and this host's CA bundle (where TLS to the npm registry is
#      intercepted by a proxy, `npm ci` in the image build needs the same trust as the host). Rebuilt only
#      when one of those changed (label livestack.base-inputs);
#   3. the runtime image livestack/runtime:<package.json version> from images/Dockerfile, rebuilt only when
#      its inputs changed (their hash is the image label livestack.inputs-hash).
# Usage: scripts/docker-env.sh [--daemon-only] [--no-compile]
#   --no-compile: dist/ is already compiled (jest's global setup does it), skip tsc.
# The last line of stdout is the runtime image name.
set -euo pipefail
cd "$(dirname "$0")/.."

daemon_only=0
compile=1
for option in "$@"; do
  case "$option" in
    --daemon-only) daemon_only=1 ;;
    --no-compile) compile=0 ;;
    *) echo "docker-env: unknown option $option (expected --daemon-only or --no-compile)" >&2; exit 1 ;;
  esac
done

say() { echo "docker-env: $*" >&2; }
fail() { say "$*"; exit 1; }

dockerd_log="${LIVESTACK_DOCKERD_LOG:-/var/log/livestack-dockerd.log}"
base_image="${LIVESTACK_BASE_IMAGE:-livestack/base:bookworm-node20}"
raw_base_image="livestack/base:bookworm"
version=$(node -p 'require("./package.json").version')
runtime_image="livestack/runtime:$version"

command -v docker >/dev/null || fail "the docker client is missing: install it with: apt-get install -y docker.io"

# Two test files or a user and a test may run this at once: one at a time.
exec 9>"${TMPDIR:-/tmp}/livestack-docker-env.lock"
flock -w 1800 9 || fail "another docker-env.sh has held its lock for 30 minutes"

# --- 1. the daemon ------------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "no Docker daemon answers and starting one needs root: start it (sudo systemctl start docker) or run as root"
  command -v dockerd >/dev/null || fail "dockerd is missing: install it with: apt-get install -y docker.io"
  say "starting dockerd (log: $dockerd_log)"
  mkdir -p "$(dirname "$dockerd_log")"
  # setsid: the daemon must outlive this script and the test process group that ran it; 9>&-: and must
  # not inherit (and hold forever) the lock.
  setsid dockerd >>"$dockerd_log" 2>&1 </dev/null 9>&- &
  dockerd_pid=$!
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$dockerd_log" >&2; fail "dockerd exited while starting (log above, full log: $dockerd_log)"; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -n 20 "$dockerd_log" >&2; fail "dockerd did not answer within 60 s (log: $dockerd_log)"; }
  say "dockerd is up"
fi
[ "$daemon_only" = 1 ] && { echo "docker"; exit 0; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# --- 2. the base image --------------------------------------------------------------------------
host_ca_bundle=/etc/ssl/certs/ca-certificates.crt
local_base=0
[ "$base_image" = "livestack/base:bookworm-node20" ] && local_base=1
if [ "$local_base" = 1 ]; then
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  base_inputs=$(
    {
      sha256sum "$node_bin"
      cat "$npm_dir/package.json" 2>/dev/null || true
      if [ -f "$host_ca_bundle" ]; then sha256sum "$host_ca_bundle"; fi
    } | sha256sum | cut -c1-16
  )
  current_base=$(docker image inspect -f '{{index .Config.Labels "livestack.base-inputs"}}' "$base_image" 2>/dev/null || true)
  [ "$current_base" = "$base_inputs" ] || build_base=1
elif ! image_exists "$base_image"; then
  fail "base image $base_image is missing: pull or build it, or unset LIVESTACK_BASE_IMAGE to build livestack/base:bookworm-node20 here"
fi
if [ "${build_base:-0}" = 1 ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" = 20 ] || fail "the base image carries this host's node, which must be Node 20 (found $(node --version))"
  [ -f "$npm_dir/package.json" ] || fail "cannot find npm's package folder (looked at $npm_dir)"
  work=$(mktemp -d /var/tmp/livestack-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  if ! image_exists "$raw_base_image"; then
    command -v debootstrap >/dev/null || fail "debootstrap is missing: install it with: apt-get install -y debootstrap"
    [ "$(id -u)" = 0 ] || fail "debootstrap needs root"
    say "building $raw_base_image with debootstrap (a few minutes, once)"
    debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
    # Same apt sources as the official Debian images (security and point-release updates).
    cat >"$work/rootfs/etc/apt/sources.list" <<'SOURCES'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"*.log
    tar -C "$work/rootfs" -c . | docker import --change 'CMD ["bash"]' - "$raw_base_image" >/dev/null
    rm -rf "$work/rootfs"
  fi
  say "adding Node $(node --version) to $raw_base_image as $base_image"
  mkdir -p "$work/context"
  cp "$node_bin" "$work/context/node"
  cp -a "$npm_dir" "$work/context/npm"
  # Node reads NODE_EXTRA_CA_CERTS on top of its own roots; a separate path survives the image's later
  # installation of Debian's ca-certificates, which rewrites /etc/ssl/certs.
  trust=""
  if [ -f "$host_ca_bundle" ]; then
    cp "$host_ca_bundle" "$work/context/host-ca.crt"
    trust=$'COPY host-ca.crt /usr/local/share/livestack/host-ca.crt\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/livestack/host-ca.crt'
  fi
  cat >"$work/context/Dockerfile" <<DOCKERFILE
FROM $raw_base_image
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
$trust
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
LABEL livestack.base-inputs=$base_inputs
CMD ["node"]
DOCKERFILE
  docker build -q --force-rm -t "$base_image" "$work/context" >/dev/null
  rm -rf "$work"
  trap - EXIT
fi

# --- 3. the runtime image -----------------------------------------------------------------------
# Type errors are the type-check's business (npm test); tsc still emits, and the image takes what it emitted.
if [ "$compile" = 1 ]; then
  npx tsc -p tsconfig.build.json >&2 || say "tsc reported errors (above); building the image from what it emitted"
fi
[ -f dist/lib/cli/main.js ] || fail "dist/lib/cli/main.js is missing after tsc: the image would have no CLI"
# Everything the image copies (see .dockerignore) plus the base image id: a change of any rebuilds.
inputs_hash=$(
  {
    docker image inspect -f '{{.Id}}' "$base_image"
    find images bin dist lib/dataplane/ingest/native -type f ! -name '.tsbuildinfo*' ! -path images/package-lock.packed.json -print0 | sort -z | xargs -0 sha256sum
    sha256sum package.json package-lock.json .dockerignore scripts/build-native.sh
  } | sha256sum | cut -c1-16
)
current=$(docker image inspect -f '{{index .Config.Labels "livestack.inputs-hash"}}' "$runtime_image" 2>/dev/null || true)
if [ "$current" != "$inputs_hash" ]; then
  say "building $runtime_image (inputs $inputs_hash)"
  docker build -q --force-rm \
    --build-arg "BASE_IMAGE=$base_image" \
    --label "livestack.inputs-hash=$inputs_hash" \
    -t "$runtime_image" -f images/Dockerfile . >/dev/null
  # The previous build of this tag is now dangling; drop it unless a container still uses it.
  docker image prune -f --filter "label=livestack.inputs-hash" >/dev/null
fi
echo "$runtime_image"
