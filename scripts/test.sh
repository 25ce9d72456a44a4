#!/usr/bin/env bash
# The whole test suite, as README's test command runs it: static checks, unit
# tests (pure core, seconds), integration tests (real gpg, docker-compose) and
# end-to-end tests (a real Docker engine). On a fresh machine it installs and
# starts what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/ensure-env.sh

echo "== static checks"
npx tsc -p tsconfig.json --noEmit
npx eslint .
npm run --silent lint:deps
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npm run --silent build

files() { find "$@" -name '*.test.ts' 2>/dev/null | sort; }
echo "== tests"
# One run of node's test runner over every file, so its closing lines count them all.
# shellcheck disable=SC2046
node --import tsx --test --test-concurrency=1 $(files test/unit test/integration test/e2e)
