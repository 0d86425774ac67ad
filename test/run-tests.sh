#!/usr/bin/env bash
# make test: install what is missing, build, install the extension, start a
# throwaway cluster, run pg_regress + isolation, then the gateway suites.
# SANITIZE=1 runs the gateway suites against an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

bash test/install-deps.sh

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" build
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

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

failed=0
echo "== pg_regress + isolation"
if ! make -s PG_CONFIG="$PG_CONFIG" installcheck; then
    for d in regression.diffs test/isolation/output_iso/regression.diffs; do
        [ -f "$d" ] && { echo "---- $d"; cat "$d"; }
    done
    failed=1
fi
echo "== schema docs"
bash test/make-docs.sh --check || failed=1
cluster_stop

echo "== fuzz smoke"
bash test/fuzz/run.sh --smoke || failed=1

if [ -d test/tap ] && ls test/tap/*.pl >/dev/null 2>&1; then
    echo "== gateway (TAP)"
    parleyd=$PWD/gateway/parleyd
    if [ "${SANITIZE:-0}" = 1 ]; then
        make -s -C gateway SANITIZE=1 PG_CONFIG="$PG_CONFIG"
        parleyd=$PWD/gateway/san/parleyd
    fi
    # VALGRIND=1: every parleyd the TAP suites start runs under memcheck; a
    # definite leak or a memory error makes it exit 99 (not 0) on SIGTERM.
    wrapper=
    if [ "${VALGRIND:-0}" = 1 ]; then
        wrapper="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=99 --child-silent-after-fork=yes"
    fi
    # The TAP suites run as the postgres user, who may not be able to read
    # a checkout under /root: give them a copy of the tree they can read.
    mkdir -p "$work/tap" "$work/src"
    tar --exclude=./.git --exclude=./.run -cf - . | tar -C "$work/src" -xf -
    parleyd=$work/src/${parleyd#"$PWD"/}
    chown -R postgres: "$work/tap" "$work/src"
    if ! as_pg env PATH="$PGBIN:$PATH" TESTDIR="$work/tap" PARLEYD="$parleyd" PARLEYD_WRAPPER="$wrapper" \
        PARLEY_SRC="$work/src" PG_CONFIG="$PG_CONFIG" \
        bash -c 'cd "$PARLEY_SRC" && prove --ext=.pl -I "$1" -I test/tap test/tap/' _ \
            "$("$PG_CONFIG" --pgxs | sed 's|/src/makefiles/pgxs.mk||')/src/test/perl"; then
        find "$work/tap" -name '*.log' -newer "$work/pg" -size -2M 2>/dev/null | head -20 | while read -r f; do
            echo "---- $f (tail)"; tail -30 "$f"
        done
        failed=1
    fi
fi

exit $failed
