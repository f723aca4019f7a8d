#!/usr/bin/env bash
# The whole test suite: build, type-check, lint, then every test (unit, integration, crash, bad input).
# Needs only Node 20 and npm for now; later suites that start real servers install them here.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ]; then npm ci; fi
echo "› build";      npm run --silent build
echo "› typecheck";  npx tsc -p tsconfig.json --noEmit
echo "› lint";       npx biome check .
echo "› tests";      npx vitest run "$@"
