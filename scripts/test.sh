#!/usr/bin/env bash
# The whole test suite: build, type-check, lint, then every test (unit, integration, crash, bad input).
# The integration suites start real sshd, nginx, HAProxy, PostgreSQL and Prometheus on loopback;
# ensure-system-packages.sh installs them first (as root) or says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ]; then npm ci; fi
bash scripts/ensure-system-packages.sh test
echo "› build";      npm run --silent build
echo "› typecheck";  npx tsc -p tsconfig.json --noEmit
echo "› lint";       npx biome check .
echo "› tests";      npx vitest run "$@"
