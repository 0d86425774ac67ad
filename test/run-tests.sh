#!/usr/bin/env bash
# make test: install what is missing, build, install the extension, start a
# throwaway cluster, run pg_regress + isolation, then the gateway suites.
# SANITIZE=1 runs the gateway suites against an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

bash test/install-deps.sh
bash test/browser/install.sh
# 019_browser.pl fails rather than skips when the browser is missing.
export PARLEY_BROWSER_REQUIRED=1

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" build
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

# Files generated from api/ and committed (docs tables, gateway-role.sql)
# are current, and the released proxy scripts come out as released.
failed=0
echo "== generated files"
make -s PG_CONFIG="$PG_CONFIG" check-generated || failed=1

work=$(mktemp -d /tmp/parley-test.XXXXXX)
chmod 755 "$work"
cleanup() {
    cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
bash test/package-test.sh || failed=1

exit $failed
