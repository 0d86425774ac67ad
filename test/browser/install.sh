#!/usr/bin/env bash
# The browser suite's npm packages (puppeteer-core, pinned by
# package-lock.json) into test/browser/node_modules (gitignored), once:
# npm ci runs again only when package-lock.json changed.  make test calls
# it after test/install-deps.sh (which installs chromium and node).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.parley-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "browser: npm ci (puppeteer-core)"
# puppeteer-core downloads no browser: the suite drives Debian's chromium.
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" > "$stamp"
