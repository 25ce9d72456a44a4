#!/usr/bin/env bash
# The demo: on a fresh machine, set up Docker, build the platform's images from
# Debian, and deploy the sample project's test instance. A second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/main.js ] || npm run --silent build
bash scripts/ensure-env.sh

export ODP_DIR="${ODP_DIR:-examples/platform}"
# The example project's secrets are encrypted with this demo passphrase (see examples/README.md).
export ODP_PASSPHRASE="${ODP_PASSPHRASE:-odp-demo}"
odp() { node bin/odp.js "$@"; }

odp check
odp render neomedical prod --format rancher | head -40
