#!/usr/bin/env bash
# The main job: run the demo stack (examples/basic) on the embedded local driver, in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet
exec node bin/livestack synth --app examples/basic/main.ts "$@"
