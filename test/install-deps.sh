#!/usr/bin/env bash
# Install the Debian packages parley needs to build and test, once.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

packages=(
    build-essential
    postgresql-15 postgresql-server-dev-15 postgresql-client-15
    libevent-dev libcjson-dev libssl-dev libpq-dev libicu-dev
    node-llhttp
    libipc-run-perl
    clang libclang-rt-14-dev valgrind
    pgbouncer wrk
    postgresql-15-plproxy postgresql-15-cron
    debhelper dpkg-dev fakeroot postgresql-server-dev-all systemd
    nodejs chromium fonts-dejavu-core
)
# npm (the OpenAPI checks, make clients: test/node-deps.sh): Debian's own
# package, unless the installed nodejs brings npm with it (NodeSource's).
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a default cluster on 5432; parley's scripts never use it.
