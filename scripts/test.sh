#!/usr/bin/env bash
# The whole suite: set-up, a strict type-check of everything (examples included), then jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with docker,browser,bench
echo "test: type-checking (tsc --noEmit)"
npx tsc -p tsconfig.json --noEmit
echo "test: running jest"
npx jest --runInBand "$@"
