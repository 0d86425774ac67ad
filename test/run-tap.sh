#!/usr/bin/env bash
# Run TAP suites of the gateway as the postgres user, against the built
# parleyd (gateway/san/parleyd with SANITIZE=1; under memcheck with
# VALGRIND=1).  make test calls it for test/tap/; by hand, after a build
# and "make install", for some suites only:
#
#   bash test/run-tap.sh "" test/tap/007_events.pl test/tap/008_events_direct.pl
#
# The first argument is a work directory (made and removed when empty).
#
# Every answer the suites receive through ParleyTest::req is recorded
# (PARLEY_RECORD_RESPONSES) and, after the suites, validated against the
# OpenAPI document by test/openapi-check.sh (OPENAPI_CHECK=0 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

work=${1:-}
shift
if [ -z "$work" ]; then
    work=$(mktemp -d /tmp/parley-tap.XXXXXX)
    chmod 755 "$work"
    trap 'rm -rf "$work"' EXIT
fi
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
tar --exclude=./.git --exclude=./.run --exclude=./dist --exclude=./test/node/node_modules \
    --exclude=./clients/ts/generated -cf - . | tar -C "$work/src" -xf -
parleyd=$work/src/${parleyd#"$PWD"/}
responses=$work/tap/responses.jsonl
: >"$responses"
chown -R postgres: "$work/tap" "$work/src"
status=0
if ! as_pg env PATH="$PGBIN:$PATH" TESTDIR="$work/tap" PARLEYD="$parleyd" PARLEYD_WRAPPER="$wrapper" \
    PARLEY_RECORD_RESPONSES="$responses" \
    PARLEY_SRC="$work/src" PG_CONFIG="$PG_CONFIG" \
    bash -c 'cd "$PARLEY_SRC" && prove --ext=.pl -I "$0" -I test/tap "$@"' \
        "$("$PG_CONFIG" --pgxs | sed 's|/src/makefiles/pgxs.mk||')/src/test/perl" "$@"; then
    # (|| true: under pipefail, head closing the pipe early must not end
    # the script before the OpenAPI check below)
    find "$work/tap" -name '*.log' -size -2M 2>/dev/null | head -20 | while read -r f; do
        echo "---- $f (tail)"; tail -30 "$f"
    done || true
    status=1
fi
if [ "${OPENAPI_CHECK:-1}" = 1 ]; then
    bash test/openapi-check.sh "$responses" || status=1
fi
exit $status
