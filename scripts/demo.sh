#!/usr/bin/env bash
# The demo: on a fresh machine, set up Docker, build the platform's images from
# Debian, build the sample project's image, check the platform and deploy the
# sample project's test instance. A second run reuses every image and finds the
# instance up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
bash scripts/ensure-env.sh

export ODP_DIR="${ODP_DIR:-examples/platform}"
# The example project's secrets are encrypted with this demo passphrase.
export ODP_PASSPHRASE="${ODP_PASSPHRASE:-odp-demo}"
odp() { node bin/odp.js "$@"; }

echo "== odp images build   (platform images from Debian, and the sample project's image)"
odp images build --project examples/odoo-project/odoo=camptocamp/neomedical_odoo:latest
echo
echo "== odp check"
odp check
echo
echo "== odp deploy neomedical test"
odp deploy neomedical test
echo
echo "== odp status neomedical"
odp status neomedical
url=$(odp status neomedical --json | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const odoo = s.instances.find((i) => i.instance === "test").services.find((x) => x.name === "odoo");
  console.log(`http://127.0.0.1:${odoo.ports["80"]}/`);')
echo
echo "The test instance answers through its nginx sidecar:"
echo "  curl ${url}web/health   →  $(curl -s "${url}web/health")"
echo "  curl ${url}web/version  →  $(curl -s "${url}web/version")"
echo "Look further: odp logs neomedical test [nginx|db|redis] -f    odp deploy neomedical test --dry-run"
echo "Remove it:    odp destroy neomedical test --yes"
