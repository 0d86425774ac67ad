#!/usr/bin/env bash
# make test: install what is missing, build, install the extension, start a
# throwaway cluster, run pg_regress + isolation, then the gateway suites.
# SANITIZE=1 runs the gateway suites against an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-deps.sh
bash test/browser/install.sh
# 019_browser.pl fails rather than skips when the browser is missing.
export PARLEY_BROWSER_REQUIRED=1

work=$(mktemp -d /tmp/parley-test.XXXXXX)
chmod 755 "$work"
cleanup() {
    declare -F cluster_stop >/dev/null && cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Build and test against a private copy of the PostgreSQL install
# (test/private-pg.sh): "make install" writes there, not into /usr, so runs
# of other checkouts on this machine (or make run) cannot swap the
# extension's files under this one.  PG_CONFIG=... make test uses the
# install named instead.
if [ -z "${PG_CONFIG:-}" ]; then
    PG_CONFIG=$(bash test/private-pg.sh "$work/pginst")
fi
export PG_CONFIG
. test/lib.sh

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" build
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

# Files generated from api/ and committed (docs tables, gateway-role.sql)
# are current, and the released proxy scripts come out as released.
failed=0
echo "== generated files"
make -s PG_CONFIG="$PG_CONFIG" check-generated || failed=1

echo "== cluster"
cluster_start "$work/pg"

echo "== pg_regress + isolation"
if ! make -s PG_CONFIG="$PG_CONFIG" installcheck; then
    for d in regression.diffs test/isolation/output_iso/regression.diffs; do
        [ -f "$d" ] && { echo "---- $d"; cat "$d"; }
    done
    failed=1
fi
echo "== schema docs"
bash test/make-docs.sh --check || failed=1
echo "== API table against the catalog"
bash test/api-catalog.sh || failed=1
cluster_stop

echo "== fuzz smoke"
bash test/fuzz/run.sh --smoke || failed=1

if [ -d test/tap ] && ls test/tap/*.pl >/dev/null 2>&1; then
    echo "== gateway (TAP)"
    bash test/run-tap.sh "$work" test/tap/ || failed=1
fi

# As root: make deb, dpkg -i, systemd-analyze verify, 040_packages.pl.
echo "== packages"
# (on the system install, which dpkg writes: not the private copy)
env -u PG_CONFIG bash test/package-test.sh || failed=1

exit $failed
