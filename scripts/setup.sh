#!/usr/bin/env bash
# Idempotent set-up shared by `npm start`, `npm test` and the benchmarks:
#   - npm packages: `npm ci` when node_modules is missing or older than package-lock.json;
#   - Debian packages the chosen features need, when missing (as root or with sudo; else the exact command);
#   - the compiled CLI in dist/ (tsc) when a source, a tsconfig or package.json changed since the last build;
#   - the native SRT listener in build/native/ (scripts/build-native.sh) when its source changed.
# Every step that has work to do says so on one line before it starts (with the package names) and
# on one line when it is done; npm's and apt's own output goes to a log file, whose path and last lines
# are printed when a step fails. With --quiet nothing is printed when nothing needs doing.
# Usage: scripts/setup.sh [--quiet] [--with runtime,docker,browser,bench]
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=0
features="runtime"
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet) quiet=1 ;;
    --with) features="$features,$2"; shift ;;
    *) echo "setup: unknown option $1 (expected --quiet or --with FEATURES)" >&2; exit 1 ;;
  esac
  shift
done
say() { echo "setup: $*"; }
worked=0

# One log per run, created when a step first has work to do; removed when every step succeeded.
log=""
open_log() { [ -n "$log" ] || log=$(mktemp "${TMPDIR:-/tmp}/livestack-setup.XXXXXX.log"); }
policy_guard=""
finish() {
  local code=$?
  [ -z "$policy_guard" ] || $policy_guard rm -f /usr/sbin/policy-rc.d
  if [ -n "$log" ] && [ "$code" = 0 ]; then rm -f "$log"; fi
}
trap finish EXIT
# Run a step's command with its output in the log; on failure, say so with the log's last lines.
logged() {
  local what=$1; shift
  open_log
  echo "\$ $*" >>"$log"
  local code=0
  "$@" >>"$log" 2>&1 </dev/null || code=$?
  if [ "$code" != 0 ]; then
    echo "setup: $what failed (exit $code); the last lines of its output:" >&2
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    echo "setup: full output: $log" >&2
    exit "$code"
  fi
}
seconds_since() { echo $(( $(date +%s) - $1 )); }

# --- npm packages -------------------------------------------------------------------------------
stamp=node_modules/.livestack-lock
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  worked=1
  if [ ! -d node_modules ]; then why="node_modules is missing"
  elif [ -f "$stamp" ]; then why="package-lock.json changed since the last install"
  else why="node_modules was not installed by this script: it may not match package-lock.json"; fi
  say "installing npm packages with npm ci ($why)"
  started=$(date +%s)
  logged "npm ci" npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
  added=$(grep -oE 'added [0-9]+ packages?' "$log" | tail -n 1 || true)
  say "npm packages installed (${added:-done}) in $(seconds_since "$started") s"
fi

# --- Debian packages ----------------------------------------------------------------------------
need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need+=("$1"); }
# gcc, pkg-config and libsrt's headers build the SRT listener (ffmpeg already brings libsrt1.5-gnutls).
case ",$features," in *,runtime,*) want ffmpeg; want nginx; want libnginx-mod-rtmp; want gcc; want libc6-dev; want pkg-config; want libsrt-gnutls-dev ;; esac
case ",$features," in *,docker,*) want docker.io; want debootstrap ;; esac
case ",$features," in *,browser,*) want chromium ;; esac
case ",$features," in *,bench,*) want wrk; want hyperfine ;; esac
if [ ${#need[@]} -gt 0 ]; then
  worked=1
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="-"; fi
  if [ "$sudo" = "-" ]; then
    echo "setup: missing Debian packages: ${need[*]}" >&2
    echo "setup: install them with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  say "missing Debian packages: ${need[*]}"
  # The Debian nginx package starts a system nginx on port 80; livestack runs its own, so stop it from starting.
  $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  policy_guard="${sudo:-command}"
  say "refreshing the Debian package lists (apt-get update)"
  started=$(date +%s)
  logged "apt-get update" $sudo apt-get update -q
  say "installing ${need[*]} and their dependencies (apt-get install; a minute or two on a fresh machine)"
  logged "apt-get install ${need[*]}" $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  summary=$(grep -oE '[0-9]+ newly installed' "$log" | tail -n 1 || true)
  download=$(grep -oE 'Need to get [0-9.,]+ [kMG]?B' "$log" | tail -n 1 | sed 's/Need to get //' || true)
  say "Debian packages installed: ${need[*]} (${summary:-0 newly installed}${download:+, $download downloaded}) in $(seconds_since "$started") s"
fi

# --- compiled CLI -------------------------------------------------------------------------------
# tsc is incremental, but even a build with nothing to do takes seconds: skip it when no input is
# newer than the last build (dist/.tsbuildinfo is touched after every build, emitting or not).
needs_build() {
  [ -f dist/lib/cli/main.js ] && [ -f dist/.tsbuildinfo ] || return 0
  [ -n "$(find constructs lib examples package.json tsconfig.json tsconfig.build.json -newer dist/.tsbuildinfo -print -quit 2>/dev/null)" ]
}
if needs_build; then
  worked=1
  if [ -f dist/lib/cli/main.js ]; then say "building dist/ (tsc, incremental: sources changed)"; else say "building dist/ (tsc; the first build takes about a minute)"; fi
  started=$(date +%s)
  logged "tsc -p tsconfig.build.json" npx tsc -p tsconfig.build.json
  touch dist/.tsbuildinfo
  say "dist/ built in $(seconds_since "$started") s"
fi

# --- native SRT listener -------------------------------------------------------------------------
# The ingest's SRT front door is a small C program on Debian's libsrt (lib/dataplane/ingest/native).
if ! bash scripts/build-native.sh --check; then
  worked=1
  say "building the SRT listener (build/native/livestack-srt-listener: gcc on libsrt)"
  started=$(date +%s)
  logged "scripts/build-native.sh" bash scripts/build-native.sh
  say "SRT listener built in $(seconds_since "$started") s"
fi

if [ "$worked" = 0 ] && [ "$quiet" = 0 ]; then say "everything is in place (npm packages, Debian packages, dist/, the SRT listener)"; fi
