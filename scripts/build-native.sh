#!/usr/bin/env bash
# Builds the data plane's native helper, livestack-srt-listener (the SRT front door of an ingest;
# lib/dataplane/ingest/native/srt-listener.c), into build/native/. Idempotent: rebuilt only when its
# source or this script is newer. Needs a C compiler, pkg-config and libsrt's headers (Debian: gcc
# libc6-dev pkg-config libsrt-gnutls-dev; scripts/setup.sh installs them). The runtime image builds it
# the same way (images/Dockerfile), and so does an installed package (node_modules/livestack ships the
# source and this script).
# Usage: scripts/build-native.sh [--check] [OUTPUT_DIR]   (--check: exit 1 when a build is needed, build nothing)
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/native}"
source="$root/lib/dataplane/ingest/native/srt-listener.c"
binary="$out/livestack-srt-listener"
[ -x "$binary" ] && [ "$binary" -nt "$source" ] && [ "$binary" -nt "$0" ] && exit 0
[ "$check" = 0 ] || exit 1
command -v cc >/dev/null || { echo "build-native: no C compiler (apt-get install gcc libc6-dev)" >&2; exit 1; }
pkg-config --exists srt || { echo "build-native: libsrt's headers are missing (apt-get install pkg-config libsrt-gnutls-dev)" >&2; exit 1; }
mkdir -p "$out"
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -o "$binary.tmp" "$source" \
  $(pkg-config --cflags --libs srt) -lpthread
mv "$binary.tmp" "$binary"
