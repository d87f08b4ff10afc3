#!/usr/bin/env bash
# Idempotent set-up shared by `npm start`, `npm test` and the benchmarks:
#   - npm packages: `npm ci` when node_modules is missing or older than package-lock.json;
#   - Debian packages the chosen features need, when missing (as root or with sudo; else the exact command);
#   - the compiled CLI in dist/ (incremental tsc: a no-op when nothing changed).
# Usage: scripts/setup.sh [--quiet] [--with runtime,docker,browser,bench]
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
features="runtime"
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet) quiet=1 ;;
    --with) features="$features,$2"; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 1 ;;
  esac
  shift
done
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }

# --- npm packages -------------------------------------------------------------------------------
stamp=node_modules/.livestack-lock
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

# --- Debian packages ----------------------------------------------------------------------------
need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need+=("$1"); }
case ",$features," in *,runtime,*) want ffmpeg; want nginx; want libnginx-mod-rtmp ;; esac
case ",$features," in *,docker,*) want docker.io; want debootstrap ;; esac
case ",$features," in *,browser,*) want chromium ;; esac
case ",$features," in *,bench,*) want wrk; want hyperfine ;; esac
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="-"; fi
  if [ "$sudo" = "-" ]; then
    echo "setup: missing Debian packages: ${need[*]}" >&2
    echo "setup: install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${need[*]}"
  # The Debian nginx package starts a system nginx on port 80; livestack runs its own, so stop it from starting.
  $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- compiled CLI -------------------------------------------------------------------------------
say "building dist/ (incremental)"
npx tsc -p tsconfig.build.json
