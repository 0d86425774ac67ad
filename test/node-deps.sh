#!/usr/bin/env bash
# The npm packages of the OpenAPI checks and make clients (test/node/
# package.json, exact versions in package-lock.json), installed into
# test/node/node_modules (gitignored) with "npm ci".  Idempotent: does
# nothing when node_modules is newer than the lock file.
set -euo pipefail
cd "$(dirname "$0")/node"
if ! command -v npm >/dev/null; then
    echo "node-deps: npm is missing (test/install-deps.sh installs nodejs and npm)" >&2
    exit 1
fi
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    exit 0
fi
echo "node-deps: npm ci in test/node"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
touch node_modules/.package-lock.json
