#!/usr/bin/env bash
# The whole suite: set-up, a strict type-check of everything (examples included), the unit tier (no
# processes, seconds), then the integration tier (real ffmpeg, nginx, Docker, Chromium; minutes) in two
# concurrent lanes and a quiet one after them. `npm test -- PATTERN` runs the matching suites in one lane; LIVESTACK_LANES=1, all in one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with docker,browser,bench
echo "test: type-checking (tsc --noEmit)"
npx tsc -p tsconfig.json --noEmit
echo "test: unit tier (npm run test:unit)"
LIVESTACK_TIER=unit npx jest "$@"
echo "test: integration tier (processes, ffmpeg, nginx, Docker, Chromium)"
if [ "$#" -gt 0 ] || [ "${LIVESTACK_LANES:-2}" = 1 ]; then
  # Arguments pick suites or tests: one lane, in order.
  LIVESTACK_TIER=integration npx jest --runInBand "$@"
  exit
fi
# Two lanes at once (see jest.config.js): the engines lane (Docker, Swarm, the examples' fixed ports)
# and the host lane (every other suite, on free ports). Most suites wait on real time, so two lanes
# take about half as long on two cores. Each line says its lane; each lane ends with its own summary.
# setup.sh built dist/ above: the lanes must not both rebuild it at once.
export LIVESTACK_DIST_READY=1
pids=()
for lane in engines host; do
  ( LIVESTACK_TIER=integration LIVESTACK_LANE=$lane npx jest --runInBand 2>&1 | sed -u "s/^/[$lane] /"; exit "${PIPESTATUS[0]}" ) &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
# Then the suites that hold the origin to timing targets, with the machine to themselves (jest.config.js).
echo "test: quiet lane (timing targets, alone)"
( LIVESTACK_TIER=integration LIVESTACK_LANE=quiet npx jest --runInBand 2>&1 | sed -u "s/^/[quiet] /"; exit "${PIPESTATUS[0]}" ) || status=1
[ "$status" = 0 ] && echo "test: every integration lane passed" || echo "test: an integration lane failed (search the output for [engines], [host] or [quiet] FAIL)"
exit "$status"
