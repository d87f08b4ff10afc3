#!/usr/bin/env bash
# The main job: run the demo stack (examples/basic) on the embedded local driver, in the foreground.
# It prints the ingest URL, where the stream key is, and the playback URLs; Ctrl-C tears it down.
# Extra arguments go to `livestack up` (e.g. `npm start -- --state-dir /tmp/demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
exec node bin/livestack up --app examples/basic/main.ts "$@"
