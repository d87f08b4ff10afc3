#!/usr/bin/env bash
# The whole suite: set-up, a strict type-check of everything (examples included), the unit tier (no
# processes, seconds), then the integration tier (real ffmpeg, nginx, Docker, Chromium; minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with docker,browser,bench
echo "test: type-checking (tsc --noEmit)"
npx tsc -p tsconfig.json --noEmit
echo "test: unit tier (npm run test:unit)"
LIVESTACK_TIER=unit npx jest "$@"
echo "test: integration tier (processes, ffmpeg, nginx, Docker, Chromium)"
LIVESTACK_TIER=integration npx jest --runInBand "$@"
