#!/bin/sh
# Runs a livestack container's command as the unprivileged `livestack` user.
# As root (the default), first make the storage root writable by that user: a named volume that was not
# empty when first mounted (or was created by another tool) keeps root ownership, and the workloads write
# keys, secrets and segments there. Only the root folder is changed: what is inside belongs to whoever
# wrote it (the runtime's control files stay root-owned and readable).
set -eu
storage="${LIVESTACK_STORAGE_DIR:-/var/lib/livestack}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$storage"
  [ "$(stat -c %U "$storage")" = livestack ] || chown livestack:livestack "$storage"
  exec setpriv --reuid=livestack --regid=livestack --init-groups -- "$@"
fi
exec "$@"
